import { describe, expect, it } from "vitest";
import { runRouteLookupBench } from "./route-lookup.js";

describe("route lookup benchmark", () => {
  it("measures every size and finds lookup cost flat from 10 to 10,000 rules", () => {
    // Small counts: a smoke test of the harness plus a loose bound (5×, the bench itself shows ≈ 1×).
    const result = runRouteLookupBench({ sizes: [10, 100, 1_000, 10_000], lookups: 20_000, runs: 3 });
    expect(result.rows.map((row) => row.rules)).toEqual([10, 100, 1_000, 10_000]);
    for (const row of result.rows) {
      expect(row.nsPerLookup).toBeGreaterThan(0);
      expect(Number.isFinite(row.nsPerLookup)).toBe(true);
    }
    const small = result.rows[0]?.nsPerLookup ?? Number.NaN;
    const large = result.rows[3]?.nsPerLookup ?? Number.NaN;
    expect(large).toBeLessThan(5 * small);
  }, 10_000);
});
