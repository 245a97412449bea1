import { describe, expect, it } from "vitest";
import { RolloutSpec } from "./schema.js";

const base = { target: "orders", stable: "v1", canary: "v2" };

/** Each issue as "path: message". */
function problems(input: unknown): string[] {
  const result = RolloutSpec.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("the Rollout spec", () => {
  it("fills Flagger's defaults into the analysis", () => {
    const spec = RolloutSpec.parse({ ...base, steps: [{ setWeight: 10 }, { pause: { duration: "5m" } }, { setWeight: 50 }, { pause: {} }, { setWeight: 100 }] });
    expect(spec.strategy).toBe("Canary");
    expect(spec.analysis).toEqual({ interval: 60_000, threshold: 1, minRequests: 20, iterations: 5, successRate: { min: 99 }, latencyP99: { max: 500 }, mirror: false, mirrorWeight: 100 });
    expect(spec.steps).toEqual([{ setWeight: 10 }, { pause: { duration: 300_000 } }, { setWeight: 50 }, { pause: {} }, { setWeight: 100 }]);
  });

  it("takes Flagger's stepWeight/maxWeight, relative success rates and header matches", () => {
    const spec = RolloutSpec.parse({
      ...base,
      stepWeight: 10,
      maxWeight: 50,
      analysis: { interval: "30s", threshold: 2, successRate: { min: 95, minRelativeToStable: -1 }, latencyP99: { max: "250ms" } },
      match: [{ headers: { "X-Canary": { exact: "1" } } }],
    });
    expect([spec.stepWeight, spec.maxWeight, spec.analysis.interval, spec.analysis.successRate, spec.analysis.latencyP99.max]).toEqual([10, 50, 30_000, { min: 95, minRelativeToStable: -1 }, 250]);
    expect(spec.match).toEqual([{ headers: { "x-canary": { exact: "1" } } }]);
  });

  it.each<[string, object, string[]]>([
    ["stable == canary", { ...base, canary: "v1", steps: [{ setWeight: 50 }] }, ["canary: stable and canary must be different subsets"]],
    ["weights not increasing", { ...base, steps: [{ setWeight: 20 }, { setWeight: 20 }, { pause: {} }, { setWeight: 10 }] }, ["steps.1.setWeight: weights must increase: 20 follows 20", "steps.3.setWeight: weights must increase: 10 follows 20"]],
    ["maxWeight not a multiple of stepWeight", { ...base, stepWeight: 20, maxWeight: 50 }, ["maxWeight: maxWeight 50 must be a multiple of stepWeight 20, or the last step would overshoot it"]],
    ["stepWeight that does not divide 100, without maxWeight", { ...base, stepWeight: 30 }, ["maxWeight: maxWeight (default 100) must be a multiple of stepWeight 30, or the last step would overshoot it"]],
    ["maxWeight without stepWeight", { ...base, maxWeight: 50 }, ["steps: a Canary rollout needs steps, or stepWeight (with maxWeight)", "stepWeight: maxWeight needs stepWeight"]],
    ["no steps at all", { ...base }, ["steps: a Canary rollout needs steps, or stepWeight (with maxWeight)"]],
    ["both ways of stepping", { ...base, steps: [{ setWeight: 50 }], stepWeight: 10 }, ["stepWeight: give either steps or stepWeight/maxWeight, not both"]],
    ["steps on blue/green", { ...base, strategy: "BlueGreen", steps: [{ setWeight: 50 }], analysis: { mirror: true } }, ["steps: a BlueGreen rollout switches once: it takes no steps, stepWeight or maxWeight"]],
    ["blue/green with no traffic to check", { ...base, strategy: "BlueGreen" }, ["analysis.mirror: a BlueGreen rollout checks the canary before switching, on mirrored or header-matched traffic: set analysis.mirror: true or give match"]],
    ["a mirror weight of 0", { ...base, steps: [{ setWeight: 50 }], analysis: { mirror: true, mirrorWeight: 0 } }, ["analysis.mirrorWeight: mirrorWeight must be more than 0"]],
    ["interval under 10s", { ...base, steps: [{ setWeight: 50 }], analysis: { interval: "5s" } }, ["analysis.interval: analysis.interval must be at least 10s"]],
    ["threshold 0", { ...base, steps: [{ setWeight: 50 }], analysis: { threshold: 0 } }, ["analysis.threshold: threshold must be at least 1"]],
    ["a weight over 100", { ...base, steps: [{ setWeight: 120 }] }, ["steps.0.setWeight: setWeight must be 1..100"]],
    ["a relative bound above 0", { ...base, steps: [{ setWeight: 50 }], analysis: { successRate: { minRelativeToStable: 1 } } }, ["analysis.successRate.minRelativeToStable: successRate.minRelativeToStable must be -100..0"]],
    ["an unknown strategy", { ...base, strategy: "Linear", steps: [{ setWeight: 50 }] }, ["strategy: strategy must be Canary or BlueGreen"]],
    ["an unknown field", { ...base, steps: [{ setWeight: 50 }], canaryWeight: 5 }, [': Unrecognized key: "canaryWeight"']],
  ])("refuses %s, naming the field", (_name, input, expected) => {
    expect(problems(input)).toEqual(expected);
  });
});
