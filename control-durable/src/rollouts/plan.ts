/**
 * A Rollout spec as the engine runs it (docs/rollouts.md): the steps in order, whichever way the
 * document wrote them, and the analysis bounds as fractions and milliseconds.
 */
import type { RolloutSpecConfig } from "@weft/sdk/config";
import type { PlannedStep, RolloutPlan } from "./decide-step.js";

export function rolloutPlan(spec: RolloutSpecConfig): RolloutPlan {
  const { analysis } = spec;
  const relative = analysis.successRate.minRelativeToStable;
  return {
    steps: plannedSteps(spec),
    analysis: {
      intervalMs: analysis.interval,
      threshold: analysis.threshold,
      minRequests: analysis.minRequests,
      successRateMin: analysis.successRate.min / 100,
      ...(relative !== undefined ? { maxSuccessRateBelowStable: -relative / 100 } : {}),
      latencyP99MaxMs: analysis.latencyP99.max,
    },
  };
}

function plannedSteps(spec: RolloutSpecConfig): PlannedStep[] {
  // Copies of the target's requests reach the canary while its weight is 0 (analysis.mirror).
  const mirrored: PlannedStep = { kind: "weight", weight: 0, ...(spec.analysis.mirror ? { mirrorPercent: spec.analysis.mirrorWeight } : {}) };
  // Blue/green: the canary subset gets only mirrored (or matched) traffic while `iterations` checks
  // pass at weight 0; passing the last one switches everything to it.
  if (spec.strategy === "BlueGreen") return Array.from({ length: spec.analysis.iterations }, () => mirrored);
  return [...(spec.analysis.mirror ? [mirrored] : []), ...canarySteps(spec)];
}

function canarySteps(spec: RolloutSpecConfig): PlannedStep[] {
  if (spec.steps) {
    return spec.steps.map((step): PlannedStep => {
      if ("setWeight" in step) return { kind: "weight", weight: step.setWeight };
      return step.pause.duration === undefined ? { kind: "pause" } : { kind: "pause", durationMs: step.pause.duration };
    });
  }
  // Flagger's stepWeight up to maxWeight (the schema makes maxWeight a multiple of stepWeight).
  const stepWeight = spec.stepWeight ?? 100;
  const maxWeight = spec.maxWeight ?? 100;
  return Array.from({ length: maxWeight / stepWeight }, (_, i) => ({ kind: "weight", weight: stepWeight * (i + 1) }));
}
