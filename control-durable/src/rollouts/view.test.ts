import { describe, expect, it } from "vitest";
import { RolloutSpec } from "@weft/sdk/config";
import { rolloutView } from "./view.js";

const T0 = Date.parse("2026-12-01T00:00:00Z");

describe("a rollout as operators read it", () => {
  it("gives times as ISO strings, rates in percent, the plan in the document's words and when it next moves", () => {
    const spec = RolloutSpec.parse({ target: "orders", stable: "v1", canary: "v2", steps: [{ setWeight: 10 }, { pause: { duration: "5m" } }, { pause: {} }, { setWeight: 100 }], analysis: { interval: "1m", successRate: { minRelativeToStable: -1 } } });
    const view = rolloutView({
      name: "orders-v2",
      spec,
      state: { phase: "Progressing", step: 0, canaryWeight: 10, failedChecks: 1, lastCheckAt: T0 },
      checks: [{ at: T0, outcome: "failed", canaryRequests: 120, successRate: 0.96667, stableSuccessRate: 1, p99Ms: 12.345, findings: ["success rate 96.67% below 99%"] }],
    });
    expect(view).toEqual({
      name: "orders-v2",
      target: "orders",
      stable: "v1",
      canary: "v2",
      strategy: "Canary",
      state: { phase: "Progressing", step: 0, canaryWeight: 10, failedChecks: 1, lastCheckAt: "2026-12-01T00:00:00.000Z" },
      steps: ["setWeight 10", "pause 5m", "pause", "setWeight 100"],
      nextCheckAt: "2026-12-01T00:01:00.000Z",
      analysis: { interval: "1m", threshold: 1, minRequests: 20, successRateMin: 99, successRateMinRelativeToStable: -1, latencyP99Max: "500ms" },
      checks: [{ at: "2026-12-01T00:00:00.000Z", outcome: "failed", canaryRequests: 120, successRate: 96.67, stableSuccessRate: 100, p99Ms: 12.3, findings: ["success rate 96.67% below 99%"] }],
    });
  });

  it("has no next check once finished or paused, and names BlueGreen's checks", () => {
    const spec = RolloutSpec.parse({ target: "orders", stable: "v1", canary: "v2", strategy: "BlueGreen", analysis: { iterations: 2 }, match: [{ headers: { "x-canary": { exact: "1" } } }] });
    const failed = rolloutView({ name: "bg", spec, state: { phase: "Failed", step: 1, canaryWeight: 0, failedChecks: 1, lastCheckAt: T0, reason: "aborted by admin:cli" }, checks: [] });
    expect([failed.steps, failed.nextCheckAt, failed.state.reason]).toEqual([["check", "check"], null, "aborted by admin:cli"]);
    const paused = rolloutView({ name: "bg", spec, state: { phase: "Paused", step: 0, canaryWeight: 0, failedChecks: 0, lastCheckAt: T0 }, checks: [] });
    expect(paused.nextCheckAt).toBeNull();
    const mirrored = RolloutSpec.parse({ target: "orders", stable: "v1", canary: "v2", strategy: "BlueGreen", analysis: { iterations: 2, mirror: true, mirrorWeight: 50 } });
    const checking = rolloutView({ name: "bg", spec: mirrored, state: { phase: "Progressing", step: 0, canaryWeight: 0, mirrorPercent: 50, failedChecks: 0, lastCheckAt: T0 }, checks: [] });
    expect([checking.steps, checking.state.mirrorPercent]).toEqual([["check on mirror 50%", "check on mirror 50%"], 50]);
    const canary = RolloutSpec.parse({ target: "orders", stable: "v1", canary: "v2", steps: [{ setWeight: 50 }], analysis: { mirror: true } });
    expect(rolloutView({ name: "c", spec: canary, state: { phase: "Initialized", step: -1, canaryWeight: 0, failedChecks: 0, lastCheckAt: T0 }, checks: [] }).steps).toEqual(["mirror 100%", "setWeight 50"]);
  });
});
