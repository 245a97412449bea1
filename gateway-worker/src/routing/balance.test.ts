import { describe, expect, it } from "vitest";
import { pickEndpoint } from "./balance.js";
import { withCumulativeWeights } from "./split.js";
import type { CompiledEndpoint, EndpointPool } from "./snapshot.js";

function poolOf(weights: number[]): EndpointPool {
  const endpoints = withCumulativeWeights(
    weights.map((weight, i): Omit<CompiledEndpoint, "cumulativeWeight"> => ({ id: `s/v1/${i}`, subset: "v1", target: { kind: "binding", binding: `B${i}` }, locality: undefined, weight })),
  );
  return { key: "s/v1", endpoints, totalWeight: endpoints.at(-1)?.cumulativeWeight ?? 0 };
}

describe("endpoint balancing", () => {
  it("round robin visits endpoints in proportion to their weights, in turn", () => {
    const pool = poolOf([1, 2, 1]);
    const counters = new Map<string, number>();
    const picks = Array.from({ length: 8 }, () => pickEndpoint(pool, "ROUND_ROBIN", counters, 0)?.id);
    expect(picks).toEqual(["s/v1/0", "s/v1/1", "s/v1/1", "s/v1/2", "s/v1/0", "s/v1/1", "s/v1/1", "s/v1/2"]);
  });

  it("random follows the random number it is given", () => {
    const pool = poolOf([1, 1]);
    expect(pickEndpoint(pool, "RANDOM", new Map(), 0.1)?.id).toBe("s/v1/0");
    expect(pickEndpoint(pool, "RANDOM", new Map(), 0.9)?.id).toBe("s/v1/1");
  });

  it("answers nothing for an empty pool", () => {
    expect(pickEndpoint(poolOf([]), "ROUND_ROBIN", new Map(), 0)).toBeUndefined();
  });
});
