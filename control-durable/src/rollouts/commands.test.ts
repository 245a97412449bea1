import { describe, expect, it } from "vitest";
import { applyRolloutCommand } from "./commands.js";
import { decideRolloutStep, initialRolloutState, type IntervalMetrics, type RolloutPlan, type RolloutState } from "./decide-step.js";

const MINUTE = 60_000;
const T0 = Date.parse("2026-12-01T00:00:00Z");
const analysis = { intervalMs: MINUTE, threshold: 1, minRequests: 10, successRateMin: 0.99, latencyP99MaxMs: 500 };
const plan: RolloutPlan = { steps: [{ kind: "weight", weight: 10 }, { kind: "pause" }, { kind: "weight", weight: 50 }, { kind: "weight", weight: 100 }], analysis };
const healthy: IntervalMetrics = { canary: { requests: 100, successRate: 1, p99Ms: 20 }, stable: { requests: 900, successRate: 1, p99Ms: 20 } };
const progressing: RolloutState = { phase: "Progressing", step: 0, canaryWeight: 10, failedChecks: 0, lastCheckAt: T0 };

function decided(result: ReturnType<typeof applyRolloutCommand>) {
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result.decision;
}

describe("an operator's command to a rollout", () => {
  it("pauses it where it is, and resume continues from the paused step with a fresh interval", () => {
    const paused = decided(applyRolloutCommand(progressing, { kind: "pause", reason: "a config apply changed orders (actor admin)" }, plan, T0 + 30_000));
    expect([paused.state.phase, paused.state.canaryWeight, paused.state.reason, paused.action.kind]).toEqual(["Paused", 10, "a config apply changed orders (actor admin)", "none"]);
    // Paused: the alarms decide nothing, however healthy the canary.
    expect(decideRolloutStep(paused.state, healthy, plan, T0 + 10 * MINUTE).action).toEqual({ kind: "none" });
    const resumed = decided(applyRolloutCommand(paused.state, { kind: "resume" }, plan, T0 + 10 * MINUTE));
    expect(resumed.state).toEqual({ phase: "Progressing", step: 0, canaryWeight: 10, failedChecks: 0, lastCheckAt: T0 + 10 * MINUTE });
    // The step's weight again: an operator's apply while paused may have set others.
    expect(resumed.action).toEqual({ kind: "set-weight", weight: 10 });
    expect(decideRolloutStep(resumed.state, healthy, plan, T0 + 10 * MINUTE + 1).action).toEqual({ kind: "none" });
    expect(decideRolloutStep(resumed.state, healthy, plan, T0 + 11 * MINUTE).state.phase).toBe("Paused"); // the plan's own open pause
  });

  it("resumes past an open pause step into the next weight", () => {
    const atPause = decideRolloutStep(progressing, healthy, plan, T0 + MINUTE).state;
    expect([atPause.phase, atPause.step]).toEqual(["Paused", 1]);
    const resumed = decided(applyRolloutCommand(atPause, { kind: "resume" }, plan, T0 + 5 * MINUTE));
    expect([resumed.state.phase, resumed.state.step, resumed.action]).toEqual(["Progressing", 2, { kind: "set-weight", weight: 50 }]);
  });

  it("starts a rollout paused before it started at its next alarm", () => {
    const paused = decided(applyRolloutCommand(initialRolloutState(T0), { kind: "pause", reason: "held" }, plan, T0));
    const resumed = decided(applyRolloutCommand(paused.state, { kind: "resume" }, plan, T0 + MINUTE));
    expect(resumed.state.phase).toBe("Initialized");
    expect(decideRolloutStep(resumed.state, undefined, plan, T0 + MINUTE).action).toEqual({ kind: "set-weight", weight: 10 });
  });

  it("ends the copies to the canary when it promotes or aborts, and keeps them when it resumes", () => {
    const mirroring: RolloutState = { ...progressing, canaryWeight: 0, mirrorPercent: 100 };
    expect(decided(applyRolloutCommand(mirroring, { kind: "abort", reason: "aborted" }, plan, T0)).state.mirrorPercent).toBeUndefined();
    expect(decided(applyRolloutCommand(mirroring, { kind: "promote" }, plan, T0)).state.mirrorPercent).toBeUndefined();
    const paused = decided(applyRolloutCommand(mirroring, { kind: "pause", reason: "held" }, plan, T0)).state;
    expect(decided(applyRolloutCommand(paused, { kind: "resume" }, plan, T0 + MINUTE)).action).toEqual({ kind: "set-weight", weight: 0, mirrorPercent: 100 });
  });

  it("promotes at once, or aborts back to stable, from any unfinished phase", () => {
    expect(decided(applyRolloutCommand(progressing, { kind: "promote" }, plan, T0))).toMatchObject({ state: { phase: "Succeeded", canaryWeight: 100 }, action: { kind: "promote" } });
    expect(decided(applyRolloutCommand(progressing, { kind: "abort", reason: "aborted by admin" }, plan, T0))).toMatchObject({ state: { phase: "Failed", canaryWeight: 0, reason: "aborted by admin" }, action: { kind: "roll-back" } });
  });

  it.each<[string, RolloutState, Parameters<typeof applyRolloutCommand>[1], RegExp]>([
    ["resume when not paused", progressing, { kind: "resume" }, /is Progressing, not paused/],
    ["pause when paused", { ...progressing, phase: "Paused", reason: "held" }, { kind: "pause", reason: "again" }, /already paused \(held\)/],
    ["promote when failed", { ...progressing, phase: "Failed" }, { kind: "promote" }, /has failed/],
    ["abort when succeeded", { ...progressing, phase: "Succeeded" }, { kind: "abort", reason: "x" }, /has succeeded/],
  ])("refuses to %s, changing nothing", (_name, state, command, reason) => {
    const result = applyRolloutCommand(state, command, plan, T0);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
