import { describe, expect, it } from "vitest";
import { decideRolloutStep, initialRolloutState, judgeInterval, type IntervalMetrics, type RolloutPlan, type RolloutState } from "./decide-step.js";

const MINUTE = 60_000;
const T0 = Date.parse("2026-12-01T00:00:00Z");
const analysis = { intervalMs: MINUTE, threshold: 2, minRequests: 50, successRateMin: 0.99, latencyP99MaxMs: 500 };
const canaryPlan: RolloutPlan = { steps: [10, 25, 50, 100].map((weight) => ({ kind: "weight" as const, weight })), analysis };

const healthy: IntervalMetrics = { canary: { requests: 400, successRate: 1, p99Ms: 40 }, stable: { requests: 3600, successRate: 1, p99Ms: 35 } };
const failing: IntervalMetrics = { canary: { requests: 400, successRate: 0.8, p99Ms: 40 }, stable: healthy.stable };
const quiet: IntervalMetrics = { canary: { requests: 12, successRate: 1, p99Ms: 40 }, stable: healthy.stable };

/** Runs one decision per interval from the start, as the engine's alarms would, and records weights and phases. */
function run(plan: RolloutPlan, intervals: readonly IntervalMetrics[]) {
  let state: RolloutState = initialRolloutState(T0);
  const first = decideRolloutStep(state, undefined, plan, T0);
  state = first.state;
  const timeline = [{ phase: state.phase, weight: state.canaryWeight, action: first.action.kind }];
  intervals.forEach((metrics, i) => {
    const decision = decideRolloutStep(state, metrics, plan, T0 + (i + 1) * MINUTE);
    state = decision.state;
    timeline.push({ phase: state.phase, weight: state.canaryWeight, action: decision.action.kind });
  });
  return { state, timeline };
}

describe("a rollout's step at each interval", () => {
  it("takes a healthy canary through 10 → 25 → 50 → 100 and promotes it after 4 intervals", () => {
    const { state, timeline } = run(canaryPlan, [healthy, healthy, healthy, healthy]);
    expect(timeline).toEqual([
      { phase: "Progressing", weight: 10, action: "set-weight" },
      { phase: "Progressing", weight: 25, action: "set-weight" },
      { phase: "Progressing", weight: 50, action: "set-weight" },
      { phase: "Progressing", weight: 100, action: "set-weight" },
      { phase: "Succeeded", weight: 100, action: "promote" },
    ]);
    expect(state.reason).toMatch(/promoted/);
  });

  it("rolls a canary failing 20% back after exactly `threshold` failed checks, saying what it measured", () => {
    const { state, timeline } = run(canaryPlan, [failing, failing, healthy]);
    expect(timeline.map((t) => [t.phase, t.weight, t.action])).toEqual([
      ["Progressing", 10, "set-weight"],
      ["Progressing", 10, "none"],
      ["Failed", 0, "roll-back"],
      ["Failed", 0, "none"],
    ]);
    expect(state.failedChecks).toBe(2);
    expect(state.reason).toBe("rolled back after 2 failed checks: success rate 80% below 99%");
  });

  it("never advances on too little traffic, however long it lasts", () => {
    const { state, timeline } = run(canaryPlan, Array.from({ length: 10 }, () => quiet));
    expect(timeline.slice(1).every((t) => t.weight === 10 && t.action === "none" && t.phase === "Progressing")).toBe(true);
    expect(state.failedChecks).toBe(0);
  });

  it("counts failed checks across passing ones, as Flagger does", () => {
    const { timeline } = run(canaryPlan, [failing, healthy, failing]);
    expect(timeline.map((t) => t.action)).toEqual(["set-weight", "none", "set-weight", "roll-back"]);
  });

  it("decides nothing when the same alarm arrives twice, or early", () => {
    const started = decideRolloutStep(initialRolloutState(T0), undefined, canaryPlan, T0).state;
    const once = decideRolloutStep(started, healthy, canaryPlan, T0 + MINUTE);
    expect(once.action).toEqual({ kind: "set-weight", weight: 25 });
    const twice = decideRolloutStep(once.state, healthy, canaryPlan, T0 + MINUTE + 5);
    expect(twice).toEqual({ state: once.state, action: { kind: "none" } });
    const early = decideRolloutStep(once.state, healthy, canaryPlan, T0 + MINUTE + MINUTE - 1);
    expect(early.action).toEqual({ kind: "none" });
  });

  it("holds at a timed pause, then goes on to the next weight; stops at an open pause", () => {
    const plan: RolloutPlan = { steps: [{ kind: "weight", weight: 20 }, { kind: "pause", durationMs: 5 * MINUTE }, { kind: "weight", weight: 60 }, { kind: "pause" }, { kind: "weight", weight: 100 }], analysis };
    let state = decideRolloutStep(initialRolloutState(T0), undefined, plan, T0).state;
    state = decideRolloutStep(state, healthy, plan, T0 + MINUTE).state; // check passed: into the timed pause
    expect([state.phase, state.canaryWeight, state.pauseUntil]).toEqual(["Progressing", 20, T0 + 6 * MINUTE]);
    expect(decideRolloutStep(state, healthy, plan, T0 + 3 * MINUTE).action).toEqual({ kind: "none" });
    const resumed = decideRolloutStep(state, healthy, plan, T0 + 6 * MINUTE);
    expect(resumed.action).toEqual({ kind: "set-weight", weight: 60 });
    const open = decideRolloutStep(resumed.state, healthy, plan, T0 + 7 * MINUTE);
    expect([open.state.phase, open.state.canaryWeight, open.state.reason]).toEqual(["Paused", 60, "paused at step 4 until resumed"]);
    expect(decideRolloutStep(open.state, healthy, plan, T0 + 60 * MINUTE).action).toEqual({ kind: "none" });
  });

  it.each(["Paused", "Succeeded", "Failed", "Promoting"] as const)("leaves a %s rollout alone", (phase) => {
    const state: RolloutState = { phase, step: 1, canaryWeight: 25, failedChecks: 0, lastCheckAt: T0 };
    expect(decideRolloutStep(state, failing, canaryPlan, T0 + 10 * MINUTE)).toEqual({ state, action: { kind: "none" } });
  });
});

describe("judging one interval", () => {
  const at = T0;
  it.each<[string, IntervalMetrics, Partial<typeof analysis> & { maxSuccessRateBelowStable?: number }, "passed" | "failed" | "inconclusive", string[]]>([
    ["healthy", healthy, {}, "passed", []],
    ["too few requests", quiet, {}, "inconclusive", ["12 canary requests in the interval; a check needs 50"]],
    ["no requests at all", { canary: { requests: 0, successRate: null, p99Ms: null }, stable: healthy.stable }, { minRequests: 0 }, "inconclusive", ["0 canary requests in the interval; a check needs 0"]],
    ["low success rate", failing, {}, "failed", ["success rate 80% below 99%"]],
    ["slow", { canary: { requests: 400, successRate: 1, p99Ms: 812.4 }, stable: healthy.stable }, {}, "failed", ["p99 812 ms above 500 ms"]],
    ["both", { canary: { requests: 400, successRate: 0.985, p99Ms: 900 }, stable: healthy.stable }, {}, "failed", ["success rate 98.5% below 99%", "p99 900 ms above 500 ms"]],
    [
      "trailing stable by more than allowed",
      { canary: { requests: 400, successRate: 0.97, p99Ms: 40 }, stable: { requests: 4000, successRate: 0.995, p99Ms: 40 } },
      { successRateMin: 0.9, maxSuccessRateBelowStable: 0.01 },
      "failed",
      ["success rate 97% more than 1% below stable's 99.5%"],
    ],
    ["trailing stable within the allowance", { canary: { requests: 400, successRate: 0.99, p99Ms: 40 }, stable: { requests: 4000, successRate: 0.995, p99Ms: 40 } }, { successRateMin: 0.9, maxSuccessRateBelowStable: 0.01 }, "passed", []],
  ])("%s", (_name, metrics, overrides, outcome, findings) => {
    const result = judgeInterval(metrics, { ...analysis, ...overrides }, at);
    expect([result.outcome, result.findings]).toEqual([outcome, findings]);
    expect(result.canaryRequests).toBe(metrics.canary.requests);
  });

  it("mirrors first when the plan says so: copies at weight 0, then weights without copies; a rollback ends the copies", () => {
    const mirrorPlan: RolloutPlan = { steps: [{ kind: "weight", weight: 0, mirrorPercent: 100 }, { kind: "weight", weight: 20 }], analysis };
    const start = decideRolloutStep(initialRolloutState(T0), undefined, mirrorPlan, T0);
    expect([start.action, start.state.mirrorPercent, start.state.canaryWeight]).toEqual([{ kind: "set-weight", weight: 0, mirrorPercent: 100 }, 100, 0]);
    const moved = decideRolloutStep(start.state, healthy, mirrorPlan, T0 + MINUTE);
    expect([moved.action, moved.state.mirrorPercent, moved.state.canaryWeight]).toEqual([{ kind: "set-weight", weight: 20 }, undefined, 20]);
    const failedOnce = decideRolloutStep(start.state, failing, mirrorPlan, T0 + MINUTE);
    const rolledBack = decideRolloutStep(failedOnce.state, failing, mirrorPlan, T0 + 2 * MINUTE);
    expect([rolledBack.action, rolledBack.state.phase, rolledBack.state.mirrorPercent]).toEqual([{ kind: "roll-back" }, "Failed", undefined]);
  });
});
