/**
 * The rollout step of an explanation: which rollout sets the matched rule's weights (the rules a
 * rollout moves, as the control plane decides them) and where it is, so an
 * operator reading a split like 75/25 knows it is a rollout's step and not a typo, and which
 * `weft rollout` command moves it.
 */
import { isCanaryMatchRule, isRolloutControlled } from "@weft/sdk/config";
import type { RolloutView } from "../../../wire/src/rollouts.js";
import type { CompiledRule } from "../routing/snapshot.js";

export interface RolloutStepView {
  readonly name: string;
  readonly phase: string;
  /** 1-based; 0 before the first step. */
  readonly step: number;
  readonly steps: number;
  readonly canaryWeight: number;
  /** "weights": the rule's split is the rollout's; "match": the rule sends the rollout's header matches to the canary. */
  readonly sets: "weights" | "match";
}

export function rolloutStep(rule: CompiledRule, rollouts: readonly RolloutView[]): { view: RolloutStepView | null; lines: string[] } {
  const target = rule.destinations[0]?.service;
  const rollout = rollouts.find((candidate) => candidate.target === target);
  if (!rollout) return { view: null, lines: [] };
  const match = isCanaryMatchRule({ name: rule.ruleName }) && rule.destinations.every((d) => d.service === rollout.target && d.subset === rollout.canary);
  if (!match && !isRolloutControlled(rule, rollout)) return { view: null, lines: [] };
  const { state } = rollout;
  const step = Math.min(state.step + 1, rollout.steps.length);
  const view: RolloutStepView = { name: rollout.name, phase: state.phase, step, steps: rollout.steps.length, canaryWeight: state.canaryWeight, sets: match ? "match" : "weights" };
  // A finished rollout holds its weights; which step it ended at says nothing about them.
  const moving = state.phase !== "Succeeded" && state.phase !== "Failed" && state.step >= 0 && state.step < rollout.steps.length;
  const where = `${state.phase}${moving ? `, step ${step} of ${rollout.steps.length} (${rollout.steps[state.step]})` : state.reason !== undefined ? `: ${state.reason}` : ""}`;
  const what = match ? `sends the header matches of rollout ${rollout.name} to ${rollout.canary}` : `weights set by rollout ${rollout.name}: ${rollout.stable} ${100 - state.canaryWeight}%, ${rollout.canary} ${state.canaryWeight}%`;
  return { view, lines: [`rollout: ${what} (${where}; weft rollout status ${rollout.name})`] };
}
