import { describe, expect, it } from "vitest";
import { pickWeighted, withCumulativeWeights } from "./split.js";

const entries = withCumulativeWeights([
  { name: "v1", weight: 90 },
  { name: "v2", weight: 10 },
]);

describe("weighted pick", () => {
  it.each([
    [0, "v1"],
    [0.5, "v1"],
    [0.8999, "v1"],
    [0.9, "v2"],
    [0.9999999, "v2"],
    [1, "v2"],
    [-1, "v1"],
  ])("maps random %s to %s", (random, expected) => {
    expect(pickWeighted(entries, random).name).toBe(expected);
  });

  it("gives every entry exactly its share over evenly spaced draws", () => {
    const many = withCumulativeWeights([1, 2, 3, 4].map((weight) => ({ weight })));
    const counts = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const picked = pickWeighted(many, (i + 0.5) / 1000).weight;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    expect([...counts.entries()].sort()).toEqual([[1, 100], [2, 200], [3, 300], [4, 400]]);
  });

  it("refuses an empty list", () => {
    expect(() => pickWeighted([], 0.5)).toThrow(RangeError);
  });
});
