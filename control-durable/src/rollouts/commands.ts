/**
 * What an operator's command does to a rollout (`weft rollout pause|resume|promote|abort`, and the
 * pause the control plane itself applies when a manual config apply touches the rollout's target):
 * pure, like the interval decision (decide-step.ts), so the engine only stores the state and writes
 * the config version the action asks for. A command that makes no sense in the rollout's phase is
 * refused with the reason, and changes nothing.
 */
import { enterStep, withoutMirror, type RolloutDecision, type RolloutPlan, type RolloutState } from "./decide-step.js";

export type RolloutCommand =
  | { readonly kind: "pause"; readonly reason: string }
  | { readonly kind: "resume" }
  | { readonly kind: "promote" }
  | { readonly kind: "abort"; readonly reason: string };

export type CommandResult = { readonly ok: true; readonly decision: RolloutDecision } | { readonly ok: false; readonly reason: string };

const FINISHED = new Set(["Succeeded", "Failed"]);

export function applyRolloutCommand(state: RolloutState, command: RolloutCommand, plan: RolloutPlan, now: number): CommandResult {
  if (FINISHED.has(state.phase)) return { ok: false, reason: `the rollout has ${state.phase === "Succeeded" ? "succeeded" : "failed"}; a new one starts when its Rollout document is applied again` };
  switch (command.kind) {
    case "pause":
      if (state.phase === "Paused") return { ok: false, reason: `the rollout is already paused (${state.reason ?? "no reason given"})` };
      // A timed pause step keeps its end time; the rollout just stops moving until resumed.
      return { ok: true, decision: { state: { ...state, phase: "Paused", reason: command.reason }, action: { kind: "none" } } };
    case "resume":
      return resume(state, plan, now);
    case "promote":
      return { ok: true, decision: { state: { ...withoutMirror(state), phase: "Succeeded", canaryWeight: 100, step: plan.steps.length, reason: "promoted by an operator" }, action: { kind: "promote" } } };
    case "abort":
      return { ok: true, decision: { state: { ...withoutMirror(state), phase: "Failed", canaryWeight: 0, reason: command.reason }, action: { kind: "roll-back" } } };
  }
}

/**
 * Resuming goes on from where the rollout stopped: at an open pause step it enters the next step;
 * otherwise the current step carries on at its weight (a timed pause keeps its end time), its next
 * check a whole interval away so that traffic from before the pause does not decide it. A rollout paused before
 * it started starts at its next alarm.
 */
function resume(state: RolloutState, plan: RolloutPlan, now: number): CommandResult {
  if (state.phase !== "Paused") return { ok: false, reason: `the rollout is ${state.phase}, not paused` };
  const { reason: _reason, ...rest } = state;
  if (state.step < 0) return { ok: true, decision: { state: { ...rest, phase: "Initialized", lastCheckAt: now }, action: { kind: "none" } } };
  const current = plan.steps[state.step];
  if (current?.kind === "pause" && current.durationMs === undefined) return { ok: true, decision: enterStep(rest, plan, state.step + 1, now, "resumed") };
  // The step's weight is written again: an operator's apply that paused the rollout may have set
  // others (a version with the same weights is no change).
  const mirror = state.mirrorPercent !== undefined ? { mirrorPercent: state.mirrorPercent } : {};
  return { ok: true, decision: { state: { ...rest, phase: "Progressing", lastCheckAt: now }, action: { kind: "set-weight", weight: state.canaryWeight, ...mirror } } };
}
