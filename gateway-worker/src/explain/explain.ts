/**
 * The decision trace behind `POST /.weft/api/v1/explain` (README, Admin API): what the gateway would do
 * with one request against the snapshot it serves, step by step in the order of the pipeline
 * (sanitize ▸ normalize ▸ authenticate ▸ route ▸ authorize ▸ fault ▸ split ▸ balance, plus the
 * settings the attempts run under). Every decision is the stage's own, from the function the stage
 * executes: request.ts (sanitize, normalize), identity.ts (authenticate), route.ts (decideRoute),
 * authorization.ts (decideAuthorization), destinations.ts (split and balance inputs) and
 * settings.ts (fault, timeouts, retries, limits). This module assembles them into data, and a few
 * lines of text for the CLI. Pure: no I/O, no clock, no randomness.
 */
import type { MeshErrorCode } from "@weft/sdk";
import type { Caller } from "../policy/authorize.js";
import { alwaysHits, faultAbort } from "../routing/fault.js";
import type { RouteMatch } from "../routing/lookup.js";
import { noRouteError } from "../routing/lookup.js";
import type { Snapshot } from "../routing/snapshot.js";
import { authorizationStep, type AuthorizationView } from "./authorization.js";
import { destinationLabel, destinationsStep, type DestinationView, type LiveView } from "./destinations.js";
import { callerFrom, callerLabel, callerView, type CallerView } from "./identity.js";
import { prepareRequest, type ExplainInput, type Parsed, type PreparedRequest } from "./request.js";
import { routeStep, type RouteView } from "./route.js";
import { settingsLines, settingsView, type SettingsView } from "./settings.js";
import { rolloutStep, type RolloutStepView } from "./rollout.js";

export type { AuthorizationDecisionView, AuthorizationView, IdentityCheck } from "./authorization.js";
export type { BalancerView, DestinationView, EndpointStatus, EndpointView, LiveView } from "./destinations.js";
export { callerFrom, type CallerView } from "./identity.js";
export { parseExplainBody, prepareRequest, type ExplainedRequest, type ExplainInput, type Parsed, type PreparedRequest, type Refusal } from "./request.js";
export { describeMiss, type MatchedRuleView, type RouteView, type RuleRef, type RuleTraceView } from "./route.js";
export type { ServiceSettingsView, SettingsView } from "./settings.js";

/** Where the explained request ends up. `forward`: it is sent to a destination, whose answer decides the status. */
export type Verdict = "forward" | "refused" | "no_route" | "unauthenticated" | "forbidden" | "fault";

export interface Explanation {
  readonly configVersion: number;
  readonly request: {
    readonly method: string;
    readonly host: string;
    /** The normalized path (what routing and policy match). */
    readonly path: string;
    readonly query: string;
    readonly caller: CallerView;
  };
  readonly outcome: {
    readonly verdict: Verdict;
    /** The mesh's own answer, when the mesh answers; null when the destination does. */
    readonly status: number | null;
    readonly code: MeshErrorCode | null;
    readonly message: string;
  };
  /** Null when the request is refused before routing. */
  readonly route: RouteView | null;
  /** Null when no rule matched (or before routing). */
  readonly authorization: AuthorizationView | null;
  /** The rule's weighted destinations, with their pools; empty when no rule matched. */
  readonly destinations: readonly DestinationView[];
  /** The rollout that sets the rule's weights (or sends its header matches to the canary), if one does. */
  readonly rollout: RolloutStepView | null;
  readonly settings: SettingsView | null;
  /** What the trace assumes or leaves out (dropped headers, unknown caller, random draws). */
  readonly notes: readonly string[];
  /** One line per step, for people (`weft explain`). */
  readonly summary: readonly string[];
}

/**
 * The decision trace for one prepared request from `caller`, against `snapshot`, with this
 * isolate's health view. Nothing is sent anywhere.
 */
export function explainRequest(snapshot: Snapshot, prepared: PreparedRequest, caller: Caller, live: LiveView | undefined): Explanation {
  const { request, refusal } = prepared;
  const notes: string[] = [];
  const summary: string[] = [];
  if (prepared.droppedHeaders.length > 0) {
    notes.push(`dropped by the gateway before routing: ${prepared.droppedHeaders.join(", ")} (the caller's identity comes from "from", not from an Authorization header)`);
  }
  if (caller.authenticated) {
    notes.push(`assumes ${caller.service} presents a valid SVID (${caller.spiffeId})`);
    if (!snapshot.services.has(caller.service)) notes.push(`${caller.service} is not a Service in config version ${snapshot.version}`);
  }
  const base = {
    configVersion: snapshot.version,
    request: { method: request.method, host: request.host, path: request.path, query: request.search, caller: callerView(caller) },
  };
  const unrouted = { authorization: null, destinations: [], rollout: null, settings: null, notes, summary } as const;
  summary.push(`request: ${request.method} ${request.host}${request.path}${request.search} as ${callerLabel(caller)} (config version ${snapshot.version})`);

  // sanitize ▸ normalize ▸ authenticate
  if (refusal) {
    summary.push(`refused by the ${refusal.stage} stage before routing: ${refusal.status} ${refusal.code}: ${refusal.message}`);
    return { ...base, outcome: { verdict: "refused", status: refusal.status, code: refusal.code, message: refusal.message }, route: null, ...unrouted };
  }

  // route
  const routed = routeStep(snapshot, request);
  summary.push(...routed.lines);
  notes.push(...routed.notes);
  const decision = routed.decision;
  if (decision.kind === "no-route") {
    const error = noRouteError(decision, request);
    summary.push(`outcome: ${error.status} ${error.code}: ${error.message}`);
    return { ...base, outcome: { verdict: "no_route", status: error.status, code: error.code, message: error.message }, route: routed.view, ...unrouted };
  }
  const route = decision.route;
  const rule = route.rule;

  // authorize, on the path the destination receives
  const authorized = authorizationStep(snapshot, rule, caller, request.method, decision.upstreamPath);
  summary.push(authorized.line);

  // split ▸ balance
  const destinations = destinationsStep(snapshot, rule, request, caller, live);
  summary.push(...destinations.lines);
  notes.push(...destinations.notes);
  const rollout = rolloutStep(rule, live?.rollouts ?? []);
  summary.push(...rollout.lines);

  // fault, mirror and what the attempts run under
  const settings = settingsView(snapshot, route, request, caller);
  summary.push(...settingsLines(settings));
  if (rule.mirror) notes.push(`mirroring is a random draw per request (${rule.mirror.percent}%)`);

  const outcome = outcomeOf(authorized.refusal, settings, destinations.views, route);
  if (outcome.verdict === "forward" && destinations.views.length > 1) notes.push("which destination a request reaches is a random draw by the split's weights");
  summary.push(`outcome: ${outcome.status === null ? "" : `${outcome.status} ${outcome.code ?? ""}: `}${outcome.message}`);
  return { ...base, outcome, route: routed.view, authorization: authorized.view, destinations: destinations.views, rollout: rollout.view, settings, notes, summary };
}

/** The whole explain step from a validated body: the caller, the facts, the trace. */
export function explain(snapshot: Snapshot, input: ExplainInput, live: LiveView | undefined): Parsed<Explanation> {
  const caller = callerFrom(snapshot, input.from);
  if (!caller.ok) return caller;
  return { ok: true, value: explainRequest(snapshot, prepareRequest(input, caller.value), caller.value, live) };
}

/** The first stage after routing that answers by itself, in pipeline order (authorize, then fault); else the request is forwarded. */
function outcomeOf(refusal: ReturnType<typeof authorizationStep>["refusal"], settings: SettingsView, destinations: readonly DestinationView[], route: RouteMatch): Explanation["outcome"] {
  if (refusal) return { verdict: refusal.code === "unauthenticated" ? "unauthenticated" : "forbidden", status: refusal.status, code: refusal.code, message: refusal.message };
  const fault = settings.fault;
  if (fault?.applies && fault.abort && alwaysHits(fault.abort.percent)) {
    const error = faultAbort(route.rule, fault.abort.status);
    return { verdict: "fault", status: error.status, code: error.code, message: error.message };
  }
  const targets = destinations.filter((d) => d.weight > 0).map((d) => `${destinationLabel(d)} (${d.percent}%)`);
  const maybeFault = fault?.applies && fault.abort && fault.abort.percent > 0 ? `; ${fault.abort.percent}% of such requests get an injected ${fault.abort.status}` : "";
  return { verdict: "forward", status: null, code: null, message: `forwarded to ${targets.join(" or ")}${maybeFault}` };
}
