import { describe, expect, it } from "vitest";
import type { RolloutView } from "../../../wire/src/rollouts.js";
import { ORDERS_ROLLOUT_VIEW } from "../../../wire/src/rollouts.fixture.js";
import type { CompiledRule } from "../routing/snapshot.js";
import { rolloutStep, type RolloutStepView } from "./rollout.js";

const rollout = ORDERS_ROLLOUT_VIEW;

function rule(name: string | undefined, destinations: [string, string | undefined, number][]): CompiledRule {
  return { ruleName: name, destinations: destinations.map(([service, subset, weight]) => ({ service, subset, weight })) } as unknown as CompiledRule;
}

describe("which rollout set a rule's weights", () => {
  it.each<[string, CompiledRule, string[], RolloutStepView["sets"] | null]>([
    ["the split it moves", rule("split", [["orders", "v1", 75], ["orders", "v2", 25]]), ["rollout: weights set by rollout orders-v2: v1 75%, v2 25% (Progressing, step 2 of 3 (setWeight 25); weft rollout status orders-v2)"], "weights"],
    ["its header-match rule", rule("split (canary match)", [["orders", "v2", 100]]), ["rollout: sends the header matches of rollout orders-v2 to v2 (Progressing, step 2 of 3 (setWeight 25); weft rollout status orders-v2)"], "match"],
    ["an operator's canary-only rule", rule("canary-opt-in", [["orders", "v2", 100]]), [], null],
    ["a rule that also sends elsewhere", rule(undefined, [["orders", "v1", 50], ["catalog", undefined, 50]]), [], null],
    ["another service's rule", rule(undefined, [["catalog", undefined, 100]]), [], null],
  ])("%s", (_name, compiled, lines, sets) => {
    const step = rolloutStep(compiled, [rollout]);
    expect(step.lines).toEqual(lines);
    expect(step.view?.sets ?? null).toBe(sets);
  });
});

it("says how a finished rollout ended instead of the step it ended at", () => {
  const failed: RolloutView = { ...rollout, state: { ...rollout.state, phase: "Failed", canaryWeight: 0, reason: "aborted by admin:cli" } };
  expect(rolloutStep(rule("split", [["orders", "v1", 100]]), [failed]).lines).toEqual(["rollout: weights set by rollout orders-v2: v1 100%, v2 0% (Failed: aborted by admin:cli; weft rollout status orders-v2)"]);
});
