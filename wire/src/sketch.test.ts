import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LatencySketch } from "./sketch.js";

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

describe("latency sketch", () => {
  it("answers every quantile within 1% of the true value, for any set of latencies", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const sketch = new LatencySketch();
        for (const value of values) sketch.add(value);
        const truth = exactQuantile([...values].sort((a, b) => a - b), q);
        expect(Math.abs(sketch.quantile(q) - truth)).toBeLessThanOrEqual(truth * 0.01 + 1e-9);
      }),
    );
  });

  it("merged sketches answer as one sketch of all values would", () => {
    const a = new LatencySketch();
    const b = new LatencySketch();
    const all = new LatencySketch();
    for (let i = 1; i <= 1000; i++) {
      (i % 2 ? a : b).add(i * 1.7);
      all.add(i * 1.7);
    }
    const merged = LatencySketch.fromJSON(a.toJSON());
    merged.merge(b.toJSON());
    for (const q of [0.5, 0.9, 0.95, 0.99]) expect(merged.quantile(q)).toBe(all.quantile(q));
    expect(merged.count).toBe(1000);
    expect(merged.sum).toBeCloseTo(all.sum, 6);
  });

  it("counts zeros and answers NaN when empty", () => {
    const sketch = new LatencySketch();
    expect(sketch.quantile(0.5)).toBeNaN();
    sketch.add(0);
    sketch.add(-3);
    sketch.add(10);
    expect(sketch.zeroCount).toBe(2);
    expect(sketch.quantile(0.5)).toBe(0);
    expect(sketch.quantile(1)).toBe(10);
  });

  it("refuses to merge sketches of different accuracy", () => {
    expect(() => new LatencySketch(0.01).merge(new LatencySketch(0.02))).toThrow(RangeError);
  });
});
