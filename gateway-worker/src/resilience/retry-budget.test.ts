import { describe, expect, it } from "vitest";
import { RetryBudget, type RetryBudgetSettings } from "./retry-budget.js";

const DEFAULTS: RetryBudgetSettings = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };

function withdrawUntilRefused(budget: RetryBudget, now: number): number {
  let granted = 0;
  while (budget.tryWithdraw(now)) granted++;
  return granted;
}

/** Small seeded PRNG (mulberry32) so the flaky simulation is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Simulation {
  offered: number;
  upstreamCalls: number;
  retriesWanted: number;
  retriesGranted: number;
  succeeded: number;
}

/** Offers `perSecond` requests for `seconds`, each trying up to `attempts` times, withdrawing before each retry. */
function simulate(settings: RetryBudgetSettings, perSecond: number, seconds: number, attempts: number, attemptFails: () => boolean, start = 1_700_000_000_000): Simulation {
  const budget = new RetryBudget(settings, start);
  const result: Simulation = { offered: 0, upstreamCalls: 0, retriesWanted: 0, retriesGranted: 0, succeeded: 0 };
  const gapMs = 1_000 / perSecond;
  for (let i = 0; i < perSecond * seconds; i++) {
    const now = start + i * gapMs;
    result.offered++;
    budget.recordRequest(now);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        result.retriesWanted++;
        if (!budget.tryWithdraw(now)) break;
        result.retriesGranted++;
      }
      result.upstreamCalls++;
      if (!attemptFails()) {
        result.succeeded++;
        break;
      }
    }
  }
  return result;
}

describe("retry budget", () => {
  it("lets a fresh budget with no traffic spend one second of floor", () => {
    const budget = new RetryBudget(DEFAULTS, 0);
    expect(withdrawUntilRefused(budget, 0)).toBe(10);
  });

  it.each([
    [500, 10],
    [1_000, 10],
    [5_000, 50],
    [9_000, 90],
    [30_000, 95],
  ])("accrues the floor with age: %s ms after creation an idle budget allows %s retries", (age, expected) => {
    // At 30 s the counted buckets cover 9.5 s (the window's oldest bucket is partly past), hence 95.
    const budget = new RetryBudget(DEFAULTS, 500);
    expect(withdrawUntilRefused(budget, 500 + age)).toBe(expected);
  });

  it("allows ratio × requests on top of the floor", () => {
    const budget = new RetryBudget(DEFAULTS, 0);
    for (let i = 0; i < 100; i++) budget.recordRequest(0);
    expect(withdrawUntilRefused(budget, 0)).toBe(20 + 10);
  });

  it("reports the counts in the window and the allowance", () => {
    const budget = new RetryBudget(DEFAULTS, 0);
    for (let i = 0; i < 50; i++) budget.recordRequest(2_000);
    budget.tryWithdraw(2_000);
    expect(budget.view(2_000)).toEqual({ requests: 50, retries: 1, allowance: 50 * 0.2 + 20 });
  });

  it("forgets requests and retries once they leave the window", () => {
    const budget = new RetryBudget(DEFAULTS, 20_000);
    for (let i = 0; i < 100; i++) budget.recordRequest(20_000);
    withdrawUntilRefused(budget, 20_000);
    expect(budget.tryWithdraw(20_500)).toBe(false);
    expect(budget.view(30_000)).toMatchObject({ requests: 0, retries: 0 });
    expect(withdrawUntilRefused(budget, 30_000)).toBe(90);
  });

  it("slides bucket by bucket rather than resetting all at once", () => {
    const budget = new RetryBudget(DEFAULTS, 0);
    budget.recordRequest(20_000);
    budget.recordRequest(25_000);
    expect(budget.view(29_999).requests).toBe(2);
    expect(budget.view(30_000).requests).toBe(1);
    expect(budget.view(35_000).requests).toBe(0);
  });

  it("applies a new ratio at once", () => {
    const budget = new RetryBudget(DEFAULTS, 0);
    for (let i = 0; i < 100; i++) budget.recordRequest(0);
    budget.updateSettings({ ...DEFAULTS, ratio: 1 });
    expect(withdrawUntilRefused(budget, 0)).toBe(100 + 10);
  });

  it("keeps its counts when the window changes, so a config push cannot reset the budget", () => {
    const budget = new RetryBudget(DEFAULTS, 20_000);
    for (let i = 0; i < 100; i++) budget.recordRequest(20_000);
    withdrawUntilRefused(budget, 20_000);
    budget.updateSettings({ ...DEFAULTS, windowMs: 5_000 });
    expect(budget.view(20_000)).toMatchObject({ requests: 100, retries: 30 });
    expect(budget.tryWithdraw(20_000)).toBe(false);
    expect(budget.view(25_000)).toMatchObject({ requests: 0, retries: 0 });
  });

  // Starts off the bucket grid as well as on it: the bound must not depend on when the budget was made.
  it.each([1_700_000_000_000, 123_456_789, 999])("keeps a 100%% failing upstream under 1.2× its offered load plus the floor (clock starting at %s)", (start) => {
    const seconds = 60;
    const run = simulate(DEFAULTS, 200, seconds, 3, () => true, start);
    expect(run.offered).toBe(12_000);
    expect(run.upstreamCalls).toBeLessThanOrEqual((1 + 0.2) * run.offered + 10 * seconds);
    expect(run.upstreamCalls).toBeLessThan(1.3 * run.offered);
    // Without the budget it would be 3 × offered; the budget must still grant what it promises.
    expect(run.upstreamCalls).toBeGreaterThan(1.2 * run.offered);
    expect(run.succeeded).toBe(0);
  });

  it("allows almost every retry for a 20% flaky upstream with enough traffic", () => {
    const random = seededRandom(42);
    const run = simulate(DEFAULTS, 100, 60, 3, () => random() < 0.2);
    // Wanted ≈ 24% of requests; the budget allows 20% + 10/s = 30% at 100 requests/s.
    expect(run.retriesGranted / run.retriesWanted).toBeGreaterThan(0.99);
    expect(run.succeeded / run.offered).toBeGreaterThan(0.99);
  });
});

describe("the floor across a fleet", () => {
  const settings = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };
  const T0 = 1_700_000_000_000;
  /** A budget 20 s old that has seen `perSecond` requests a second for the last window. */
  function busyBudget(perSecond: number): RetryBudget {
    const budget = new RetryBudget(settings, T0);
    for (let ms = 10_000; ms < 20_000; ms += 100) for (let i = 0; i < perSecond / 10; i++) budget.recordRequest(T0 + ms);
    return budget;
  }

  it("gives an isolate only its share of the floor once it knows the destination's fleet-wide rate", () => {
    const alone = busyBudget(10);
    const now = T0 + 20_000;
    // Alone (or not told): ratio × the window's 90 requests + 10/s over the window's 9 s.
    const { requests, allowance } = alone.view(now);
    expect([requests, allowance]).toEqual([90, 0.2 * 90 + 10 * 9]);
    // One of 100 isolates with the same traffic (fleet: 1,000 req/s, this one 10): a hundredth of the floor.
    const shared = busyBudget(10);
    shared.noteFleetRate(1_000, now);
    expect(shared.view(now).allowance).toBeCloseTo(0.2 * 90 + (10 * 9) / 100, 6);
  });

  it("goes back to the whole floor when the fleet rate is a minute old, or says nothing", () => {
    const budget = busyBudget(10);
    budget.noteFleetRate(1_000, T0 + 20_000 - 61_000);
    expect(budget.view(T0 + 20_000).allowance).toBe(0.2 * 90 + 10 * 9);
    budget.noteFleetRate(0, T0 + 20_000);
    expect(budget.view(T0 + 20_000).allowance).toBe(0.2 * 90 + 10 * 9);
    // A fleet rate below this isolate's own (a stale or partial count) never raises the floor past the whole.
    budget.noteFleetRate(1, T0 + 20_000);
    expect(budget.view(T0 + 20_000).allowance).toBe(0.2 * 90 + 10 * 9);
  });
});
