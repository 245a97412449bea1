/** A rollout record as operators read it (wire/src/rollouts.ts `RolloutView`). */
import { formatDuration } from "@weft/sdk/config";
import type { RolloutView } from "../../../wire/src/rollouts.js";
import { dueAt, type RolloutRecord } from "./engine.js";
import { rolloutPlan } from "./plan.js";
import type { PlannedStep } from "./decide-step.js";

export function rolloutView(record: RolloutRecord): RolloutView {
  const { spec, state } = record;
  const plan = rolloutPlan(spec);
  const relative = spec.analysis.successRate.minRelativeToStable;
  const due = dueAt(record);
  return {
    name: record.name,
    target: spec.target,
    stable: spec.stable,
    canary: spec.canary,
    strategy: spec.strategy,
    state: {
      phase: state.phase,
      step: state.step,
      canaryWeight: state.canaryWeight,
      ...(state.mirrorPercent !== undefined ? { mirrorPercent: state.mirrorPercent } : {}),
      failedChecks: state.failedChecks,
      ...(state.reason !== undefined ? { reason: state.reason } : {}),
      lastCheckAt: new Date(state.lastCheckAt).toISOString(),
      ...(state.pauseUntil !== undefined ? { pauseUntil: new Date(state.pauseUntil).toISOString() } : {}),
    },
    steps: plan.steps.map((step) => stepWords(step, spec.strategy)),
    nextCheckAt: due === undefined ? null : new Date(due).toISOString(),
    analysis: {
      interval: formatDuration(spec.analysis.interval),
      threshold: spec.analysis.threshold,
      minRequests: spec.analysis.minRequests,
      successRateMin: spec.analysis.successRate.min,
      ...(relative !== undefined ? { successRateMinRelativeToStable: relative } : {}),
      latencyP99Max: formatDuration(spec.analysis.latencyP99.max),
    },
    checks: record.checks.map((check) => ({
      at: new Date(check.at).toISOString(),
      outcome: check.outcome,
      canaryRequests: check.canaryRequests,
      successRate: asPercent(check.successRate),
      stableSuccessRate: asPercent(check.stableSuccessRate),
      p99Ms: check.p99Ms === null ? null : Math.round(check.p99Ms * 10) / 10,
      findings: check.findings,
    })),
  };
}

function stepWords(step: PlannedStep, strategy: RolloutView["strategy"]): string {
  if (step.kind === "pause") return step.durationMs === undefined ? "pause" : `pause ${formatDuration(step.durationMs)}`;
  if (step.mirrorPercent !== undefined) return `${strategy === "BlueGreen" ? "check on " : ""}mirror ${step.mirrorPercent}%`;
  return strategy === "BlueGreen" ? "check" : `setWeight ${step.weight}`;
}

function asPercent(share: number | null): number | null {
  return share === null ? null : Math.round(share * 10_000) / 100;
}
