/**
 * What a rollout does at each analysis interval: the pure decision the rollout engine executes
 * (docs/rollouts.md). Given the rollout's state, the interval's golden metrics of the canary and
 * stable subsets, the plan compiled from its `Rollout` document and the time, it says whether to
 * wait, move the canary's weight, roll back, or promote, and what the check found. The engine
 * writes the config version that carries a new weight and stores the state; nothing here reads a
 * clock or storage, so every path is a table test.
 *
 * Semantics follow Flagger and Argo Rollouts: a check passes when the canary's success rate and p99
 * latency are within bounds; with fewer than `minRequests` canary requests in the interval it is
 * inconclusive (it neither passes nor fails, and never advances a step); failed checks accumulate and
 * `threshold` of them roll the canary back in one version.
 */

export type RolloutPhase = "Initialized" | "Progressing" | "Paused" | "Promoting" | "Succeeded" | "Failed";

/**
 * One step of a canary plan: send `weight` percent to the canary (and, at weight 0, copies of
 * `mirrorPercent` percent of the target's requests), or wait (for a time, or for `resume`).
 */
export type PlannedStep = { readonly kind: "weight"; readonly weight: number; readonly mirrorPercent?: number } | { readonly kind: "pause"; readonly durationMs?: number };

export interface RolloutAnalysis {
  readonly intervalMs: number;
  /** Failed checks that roll the canary back. */
  readonly threshold: number;
  /** Canary requests an interval needs before its check counts. */
  readonly minRequests: number;
  /** Lowest acceptable canary success rate, 0..1. */
  readonly successRateMin: number;
  /** When set: the canary's success rate may trail the stable's by at most this much (e.g. 0.01). */
  readonly maxSuccessRateBelowStable?: number;
  /** Highest acceptable canary p99 latency. */
  readonly latencyP99MaxMs: number;
}

/** A Rollout document compiled for the engine: the steps in order and how each interval is judged. */
export interface RolloutPlan {
  readonly steps: readonly PlannedStep[];
  readonly analysis: RolloutAnalysis;
}

export interface RolloutState {
  readonly phase: RolloutPhase;
  /** Index in the plan of the step in effect (-1 before the first). */
  readonly step: number;
  /** Percent of the target's traffic the canary receives now. */
  readonly canaryWeight: number;
  /** Percent of the target's requests copied to the canary now (analysis.mirror); absent: none. */
  readonly mirrorPercent?: number;
  readonly failedChecks: number;
  /** When the last check (or the start) happened: the next one is due an interval later. */
  readonly lastCheckAt: number;
  /** End of a timed pause step. */
  readonly pauseUntil?: number;
  /** Why the rollout is paused, failed or done, in words for `weft rollout status`. */
  readonly reason?: string;
}

/** One subset's golden metrics over the interval just ended. */
export interface SubsetMetrics {
  readonly requests: number;
  /** Share of answers that were not 5xx; null without requests. */
  readonly successRate: number | null;
  readonly p99Ms: number | null;
}

export interface IntervalMetrics {
  readonly canary: SubsetMetrics;
  readonly stable: SubsetMetrics;
}

/** What one interval's check found, with the values measured against the bounds. */
export interface CheckResult {
  readonly at: number;
  readonly outcome: "passed" | "failed" | "inconclusive";
  readonly canaryRequests: number;
  readonly successRate: number | null;
  readonly stableSuccessRate: number | null;
  readonly p99Ms: number | null;
  /** Each bound the canary missed, or why the check did not count. */
  readonly findings: readonly string[];
}

export type RolloutAction =
  /** Nothing to write: not due, paused, inconclusive, or a failed check under the threshold. */
  | { readonly kind: "none" }
  /** Write a config version giving the canary `weight` percent (and copies of `mirrorPercent` percent). */
  | { readonly kind: "set-weight"; readonly weight: number; readonly mirrorPercent?: number }
  /** Write a config version sending everything back to stable. */
  | { readonly kind: "roll-back" }
  /** Write the promoted config (every request to the canary). */
  | { readonly kind: "promote" };

export interface RolloutDecision {
  readonly state: RolloutState;
  readonly action: RolloutAction;
  readonly check?: CheckResult;
}

const NONE: RolloutAction = { kind: "none" };

/** The state of a rollout that has not started: all traffic on stable. */
export function initialRolloutState(now: number): RolloutState {
  return { phase: "Initialized", step: -1, canaryWeight: 0, failedChecks: 0, lastCheckAt: now };
}

/** Whether an interval's metrics pass the analysis; inconclusive below `minRequests`. */
export function judgeInterval(metrics: IntervalMetrics, analysis: RolloutAnalysis, at: number): CheckResult {
  const { canary, stable } = metrics;
  const base = { at, canaryRequests: canary.requests, successRate: canary.successRate, stableSuccessRate: stable.successRate, p99Ms: canary.p99Ms };
  if (canary.requests < analysis.minRequests || canary.successRate === null) {
    return { ...base, outcome: "inconclusive", findings: [`${canary.requests} canary requests in the interval; a check needs ${analysis.minRequests}`] };
  }
  const findings: string[] = [];
  if (canary.successRate < analysis.successRateMin) findings.push(`success rate ${percent(canary.successRate)} below ${percent(analysis.successRateMin)}`);
  const slack = analysis.maxSuccessRateBelowStable;
  if (slack !== undefined && stable.successRate !== null && canary.successRate < stable.successRate - slack) {
    findings.push(`success rate ${percent(canary.successRate)} more than ${percent(slack)} below stable's ${percent(stable.successRate)}`);
  }
  if (canary.p99Ms !== null && canary.p99Ms > analysis.latencyP99MaxMs) findings.push(`p99 ${Math.round(canary.p99Ms)} ms above ${analysis.latencyP99MaxMs} ms`);
  return { ...base, outcome: findings.length === 0 ? "passed" : "failed", findings };
}

/**
 * The rollout's next move at `now`. Only Initialized and Progressing rollouts move by themselves;
 * a check is due an interval after the last one, so an alarm delivered twice (or early) decides
 * nothing the second time.
 */
export function decideRolloutStep(state: RolloutState, metrics: IntervalMetrics | undefined, plan: RolloutPlan, now: number): RolloutDecision {
  if (state.phase === "Initialized") return enterStep(state, plan, 0, now, "started");
  if (state.phase !== "Progressing") return { state, action: NONE };
  if (state.pauseUntil !== undefined) {
    if (now < state.pauseUntil) return { state, action: NONE };
    return enterStep(state, plan, state.step + 1, now, "pause ended");
  }
  if (now - state.lastCheckAt < plan.analysis.intervalMs) return { state, action: NONE };
  if (!metrics) return { state, action: NONE };

  const check = judgeInterval(metrics, plan.analysis, now);
  if (check.outcome === "inconclusive") return { state: { ...state, lastCheckAt: now }, action: NONE, check };
  if (check.outcome === "failed") {
    const failedChecks = state.failedChecks + 1;
    if (failedChecks >= plan.analysis.threshold) {
      const reason = `rolled back after ${failedChecks} failed check${failedChecks === 1 ? "" : "s"}: ${check.findings.join("; ")}`;
      return { state: { ...withoutMirror(state), phase: "Failed", canaryWeight: 0, failedChecks, lastCheckAt: now, reason }, action: { kind: "roll-back" }, check };
    }
    return { state: { ...state, failedChecks, lastCheckAt: now }, action: NONE, check };
  }
  const decision = enterStep(state, plan, state.step + 1, now, "check passed");
  return { ...decision, check };
}

/** Moves to step `index` (or promotes past the last one); `why` goes into a promotion's reason. */
export function enterStep(state: RolloutState, plan: RolloutPlan, index: number, now: number, why: string): RolloutDecision {
  const step = plan.steps[index];
  const base: RolloutState = { phase: "Progressing", step: index, canaryWeight: state.canaryWeight, failedChecks: state.failedChecks, lastCheckAt: now };
  if (!step) return { state: { ...base, phase: "Succeeded", step: plan.steps.length, canaryWeight: 100, reason: `promoted: ${why} at the last step` }, action: { kind: "promote" } };
  if (step.kind === "pause") {
    // A pause holds the routing as it is, copies included.
    const held: RolloutState = state.mirrorPercent !== undefined ? { ...base, mirrorPercent: state.mirrorPercent } : base;
    if (step.durationMs === undefined) return { state: { ...held, phase: "Paused", reason: `paused at step ${index + 1} until resumed` }, action: NONE };
    return { state: { ...held, pauseUntil: now + step.durationMs }, action: NONE };
  }
  const mirror = step.mirrorPercent !== undefined ? { mirrorPercent: step.mirrorPercent } : {};
  const moved: RolloutState = { ...base, canaryWeight: step.weight, ...mirror };
  if (step.weight === state.canaryWeight && step.mirrorPercent === state.mirrorPercent) return { state: moved, action: NONE };
  return { state: moved, action: { kind: "set-weight", weight: step.weight, ...mirror } };
}

/** The state with no copies going to the canary (a rollback or a promotion ends mirroring). */
export function withoutMirror(state: RolloutState): RolloutState {
  const { mirrorPercent: _mirror, ...rest } = state;
  return rest;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}
