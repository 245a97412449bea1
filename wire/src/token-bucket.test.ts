import { describe, expect, it } from "vitest";
import { msUntilWholeToken, refill } from "./token-bucket.js";

describe("token-bucket arithmetic", () => {
  it("adds rate × elapsed time, capped at the burst", () => {
    expect(refill({ tokens: 0, at: 1_000 }, 1_500, 4, 10)).toEqual({ tokens: 2, at: 1_500 });
    expect(refill({ tokens: 9, at: 1_000 }, 3_000, 4, 10)).toEqual({ tokens: 10, at: 3_000 });
  });

  it("adds nothing and keeps its reference point when the clock steps back or stands still", () => {
    const level = { tokens: 0.5, at: 2_000 };
    expect(refill(level, 1_000, 4, 10)).toEqual(level);
    expect(refill(level, 2_000, 4, 10)).toEqual(level);
    // Catching up later counts from the original point, not from the earlier reading.
    expect(refill(refill(level, 1_000, 4, 10), 2_250, 4, 10)).toEqual({ tokens: 1.5, at: 2_250 });
  });

  it("says how long until a whole token, rounded up to whole ms", () => {
    expect(msUntilWholeToken(0, 4)).toBe(250);
    expect(msUntilWholeToken(0.5, 3)).toBe(167);
    expect(msUntilWholeToken(0.999_999, 1)).toBe(1);
  });

  it("a wait of that long is enough: refilling by it reaches a whole token", () => {
    for (const [tokens, rate] of [[0, 3], [0.3, 7], [0.9, 0.5], [0.123, 1_000]] as const) {
      const wait = msUntilWholeToken(tokens, rate);
      expect(refill({ tokens, at: 0 }, wait, rate, 10).tokens).toBeGreaterThanOrEqual(1 - 1e-9);
    }
  });
});
