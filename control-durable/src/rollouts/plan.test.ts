import { describe, expect, it } from "vitest";
import { RolloutSpec } from "@weft/sdk/config";
import { rolloutPlan } from "./plan.js";

const base = { target: "orders", stable: "v1", canary: "v2" };

describe("a Rollout spec as the engine runs it", () => {
  it.each<[string, object, unknown[]]>([
    ["Argo steps", { steps: [{ setWeight: 10 }, { pause: { duration: "2m" } }, { setWeight: 60 }, { pause: {} }] }, [{ kind: "weight", weight: 10 }, { kind: "pause", durationMs: 120_000 }, { kind: "weight", weight: 60 }, { kind: "pause" }]],
    ["Flagger's stepWeight up to maxWeight", { stepWeight: 10, maxWeight: 30 }, [10, 20, 30].map((weight) => ({ kind: "weight", weight }))],
    ["stepWeight up to 100 by default", { stepWeight: 25 }, [25, 50, 75, 100].map((weight) => ({ kind: "weight", weight }))],
    ["blue/green: checks at weight 0 on header-matched traffic, then the switch", { strategy: "BlueGreen", analysis: { iterations: 3 }, match: [{ headers: { "x-canary": { exact: "1" } } }] }, [0, 0, 0].map((weight) => ({ kind: "weight", weight }))],
    ["blue/green on mirrored traffic", { strategy: "BlueGreen", analysis: { iterations: 2, mirror: true, mirrorWeight: 50 } }, [0, 0].map((weight) => ({ kind: "weight", weight, mirrorPercent: 50 }))],
    ["a canary that mirrors first", { steps: [{ setWeight: 20 }], analysis: { mirror: true } }, [{ kind: "weight", weight: 0, mirrorPercent: 100 }, { kind: "weight", weight: 20 }]],
  ])("%s", (_name, spec, steps) => {
    expect(rolloutPlan(RolloutSpec.parse({ ...base, ...spec })).steps).toEqual(steps);
  });

  it("turns the analysis into fractions and milliseconds", () => {
    const plan = rolloutPlan(RolloutSpec.parse({ ...base, stepWeight: 50, analysis: { interval: "30s", threshold: 2, minRequests: 100, successRate: { min: 99.5, minRelativeToStable: -1 }, latencyP99: { max: "1s" } } }));
    expect(plan.analysis).toEqual({ intervalMs: 30_000, threshold: 2, minRequests: 100, successRateMin: 0.995, maxSuccessRateBelowStable: 0.01, latencyP99MaxMs: 1000 });
    expect(rolloutPlan(RolloutSpec.parse({ ...base, stepWeight: 50 })).analysis).toEqual({ intervalMs: 60_000, threshold: 1, minRequests: 20, successRateMin: 0.99, latencyP99MaxMs: 500 });
  });
});
