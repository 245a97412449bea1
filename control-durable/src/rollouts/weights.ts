/**
 * The routes as a rollout's weight makes them (docs/rollouts.md): every rule that sends all its
 * traffic to the rollout's target service (to its stable or canary subset, or to the service as a
 * whole) is rewritten to split between the two subsets by the canary's weight. A weight of 0 or 100
 * leaves one destination, since a route weight is 1..100. The rollout's header matches go first, as
 * a rule of their own ("… (canary match)") that always reaches the canary. Rules that also send to
 * other services, and rules that send only to the canary (an operator's opt-in, say), are the
 * operator's and stay as they are. Rewriting rewritten routes gives what rewriting the originals
 * gives, so the rollout can move the weights of the current config step after step. Pure: the
 * engine applies what this returns as a config version, so it works on documents as written (the
 * input form the apply validates), not on their normalized form.
 */
import { CANARY_MATCH_RULE, isCanaryMatchRule, isRolloutControlled, type ConfigDocInput, type RolloutSpecConfig } from "@weft/sdk/config";
import type { StoredDocument } from "./inputs.js";
import type { CanaryRouting } from "./engine.js";

/** What a rollout needs to know to rewrite routes: its target and subsets, and its header matches. */
export type RolloutRouting = Pick<RolloutSpecConfig, "target" | "stable" | "canary" | "match">;

/** A Route document as written. */
export type RouteDocInput = Extract<ConfigDocInput, { kind: "Route" }>;
type HttpRuleInput = RouteDocInput["spec"]["http"][number];
type RequestMatchInput = NonNullable<HttpRuleInput["match"]>[number];
type RouteDestinationInput = HttpRuleInput["destinations"][number];

/**
 * With `mirrorPercent`, each moved rule also copies that share of its requests to the canary (the
 * rollout's mirror phase); without it, a copy to the canary that the rollout set is taken off
 * again, and any other mirror is the operator's and stays.
 */
export function routesAtWeight(routes: readonly RouteDocInput[], rollout: RolloutRouting, canaryWeight: number, mirrorPercent?: number): RouteDocInput[] {
  return routes.map((route) => {
    if (!route.spec.http.some((rule) => isRolloutControlled(rule, rollout) || isCanaryMatchRule(rule))) return route;
    const http = route.spec.http.flatMap((rule): HttpRuleInput[] => {
      // Made by an earlier weight: made again below, beside the rule it belongs to.
      if (isCanaryMatchRule(rule)) return [];
      if (!isRolloutControlled(rule, rollout)) return [rule];
      const split: HttpRuleInput = withCanaryMirror({ ...rule, destinations: splitDestinations(rollout, canaryWeight) }, rollout, mirrorPercent);
      const matched = canaryMatchRule(rule, rollout);
      return matched && canaryWeight < 100 ? [matched, split] : [split];
    });
    return { ...route, spec: { ...route.spec, http } };
  });
}

function withCanaryMirror(rule: HttpRuleInput, rollout: RolloutRouting, mirrorPercent: number | undefined): HttpRuleInput {
  if (mirrorPercent !== undefined) return { ...rule, mirror: { service: rollout.target, subset: rollout.canary, percent: mirrorPercent } };
  const { mirror, ...rest } = rule;
  return mirror !== undefined && mirror.service === rollout.target && mirror.subset === rollout.canary ? rest : rule;
}

function splitDestinations(rollout: RolloutRouting, canaryWeight: number): RouteDestinationInput[] {
  const stable = { service: rollout.target, subset: rollout.stable };
  const canary = { service: rollout.target, subset: rollout.canary };
  if (canaryWeight <= 0) return [stable];
  if (canaryWeight >= 100) return [canary];
  return [
    { ...stable, weight: 100 - canaryWeight },
    { ...canary, weight: canaryWeight },
  ];
}

/**
 * The rule that sends the rollout's matched requests to the canary: the rule's own conditions, each
 * combined with each of the rollout's header matches (a request must meet both).
 */
function canaryMatchRule(rule: HttpRuleInput, rollout: RolloutRouting): HttpRuleInput | undefined {
  if (!rollout.match) return undefined;
  const own: readonly RequestMatchInput[] = rule.match ?? [{}];
  const match = own.flatMap((condition) => (rollout.match ?? []).map((extra): RequestMatchInput => ({ ...condition, headers: { ...condition.headers, ...extra.headers } })));
  const { name, ...rest } = rule;
  const suffix = ` (${CANARY_MATCH_RULE})`;
  return {
    ...rest,
    name: name !== undefined ? `${name.slice(0, 128 - suffix.length)}${suffix}` : CANARY_MATCH_RULE,
    match,
    destinations: [{ service: rollout.target, subset: rollout.canary }],
  };
}

/** A whole document set with the target's routes as `routing` makes them; the other documents as they are. */
export function documentsAtWeight<D extends StoredDocument>(documents: readonly D[], rollout: RolloutRouting, routing: CanaryRouting): D[] {
  const routes = documents.filter((doc): doc is D & RouteDocInput => doc.kind === "Route");
  const moved = new Map<D, D>(routesAtWeight(routes, rollout, routing.canaryWeight, routing.mirrorPercent).map((route, i) => [routes[i] as D, route as unknown as D]));
  return documents.map((doc) => moved.get(doc) ?? doc);
}
