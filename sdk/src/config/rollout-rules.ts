/**
 * Which route rules a Rollout moves (docs/rollouts.md#which-rules-a-rollout-moves), shared by the
 * control plane that rewrites them, the validator that checks a rollout against its routes and the
 * gateway's explain that names the rollout behind a split. Plain data in, so it works on documents
 * as written and on compiled rules alike.
 */

/** The name of the rule a rollout's header matches get (after the moved rule's own name, if any). */
export const CANARY_MATCH_RULE = "canary match";

/** What the predicates need of a rollout: its target and its two subsets. */
export interface RolloutSubsets {
  readonly target: string;
  readonly stable: string;
  readonly canary: string;
}

/**
 * Whether a rollout moves this rule's traffic: every destination is the target (stable, canary or
 * whole), and not all of them the canary (a rule that only reaches the canary is an operator's
 * opt-in, or the rollout's own header-match rule).
 */
export function isRolloutControlled(rule: { readonly destinations: readonly { readonly service: string; readonly subset?: string | undefined }[] }, rollout: RolloutSubsets): boolean {
  const { destinations } = rule;
  return (
    destinations.every((d) => d.service === rollout.target && (d.subset === undefined || d.subset === rollout.stable || d.subset === rollout.canary)) &&
    !destinations.every((d) => d.subset === rollout.canary)
  );
}

/** Whether a rule is the one a rollout made for its header matches. */
export function isCanaryMatchRule(rule: { readonly name?: string | undefined }): boolean {
  return rule.name === CANARY_MATCH_RULE || rule.name?.endsWith(` (${CANARY_MATCH_RULE})`) === true;
}
