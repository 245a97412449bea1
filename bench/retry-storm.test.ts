import { describe, expect, it } from "vitest";
import { SHIPPED, simulateFleet } from "./retry-storm.js";

describe("the retry budget across a fleet, against a destination that fails every attempt", () => {
  it("holds one isolate to 1 + ratio + its floor's share: ~1.2× once its traffic dwarfs the floor", () => {
    expect(simulateFleet({ ...SHIPPED, isolates: 1, totalRps: 10_000, seconds: 30 }).loadFactor).toBeLessThanOrEqual(1.21);
    // 100 req/s: the floor (10/s) adds 0.1 per request.
    expect(simulateFleet({ ...SHIPPED, isolates: 1, totalRps: 100, seconds: 30 }).loadFactor).toBeCloseTo(1.3, 1);
  });

  it("shares one floor across the fleet once each isolate knows the fleet-wide rate: ~1.2× at 1,000 isolates whatever the traffic", () => {
    for (const totalRps of [100, 1_000, 10_000, 100_000]) {
      const outcome = simulateFleet({ ...SHIPPED, isolates: 1_000, totalRps, seconds: 30, fleetRateKnown: true });
      expect(outcome.loadFactor, `${totalRps} req/s`).toBeLessThanOrEqual(1.22);
    }
  });

  it("without the fleet rate (before the first flush, or with telemetry off), adds every isolate's floor, capped only by the attempts", () => {
    const seconds = 30;
    for (const [isolates, totalRps] of [
      [100, 10_000],
      [1_000, 10_000],
      [1_000, 1_000],
    ] as const) {
      const outcome = simulateFleet({ ...SHIPPED, isolates, totalRps, seconds });
      // Each isolate's budget: ratio × its requests + minPerSecond × the time (the budget's guarantee), never more than attempts allow.
      const perIsolateBound = Math.min((SHIPPED.attempts - 1) * (totalRps / isolates), SHIPPED.budget.ratio * (totalRps / isolates) + SHIPPED.budget.minPerSecond);
      expect(outcome.retries).toBeLessThanOrEqual(Math.ceil(isolates * perIsolateBound * seconds));
      expect(outcome.loadFactor, `${isolates} isolates, ${totalRps} req/s`).toBeCloseTo(1 + perIsolateBound / (totalRps / isolates), 1);
    }
  });
});
