import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LEASE_MS, LeaseBucket, type LeaseGrant } from "./lease-bucket.js";

/** One step of a table: a lease at `at` ms under (rate, burst), and what it must answer. */
interface Step {
  at: number;
  want: number;
  rate?: number;
  burst?: number;
  expect: Partial<LeaseGrant>;
}

function run(steps: Step[]): void {
  const bucket = new LeaseBucket();
  for (const [i, step] of steps.entries()) {
    const grant = bucket.lease(step.at, step.want, step.rate ?? 10, step.burst ?? 20);
    expect(grant, `step ${i} (t=${step.at}, want ${step.want})`).toMatchObject(step.expect);
  }
}

describe("lease bucket (the global limit's token bucket)", () => {
  const cases: Array<{ name: string; steps: Step[] }> = [
    {
      name: "starts full and grants up to the burst at once",
      steps: [
        { at: 0, want: 5, expect: { granted: 5, retryAfterMs: 0 } },
        { at: 0, want: 100, expect: { granted: 15 } },
      ],
    },
    {
      name: "grants nothing when empty and says when the next whole token is due",
      steps: [
        { at: 0, want: 20, expect: { granted: 20 } },
        { at: 0, want: 1, expect: { granted: 0, retryAfterMs: 100 } },
        { at: 40, want: 1, expect: { granted: 0, retryAfterMs: 60 } },
        { at: 100, want: 1, expect: { granted: 1 } },
      ],
    },
    {
      name: "says when the next token is due along with a grant that empties the bucket",
      steps: [
        { at: 0, want: 19, expect: { granted: 19, retryAfterMs: 0 } },
        { at: 30, want: 5, expect: { granted: 1, retryAfterMs: 70 } },
        { at: 100, want: 1, expect: { granted: 1, retryAfterMs: 100 } },
      ],
    },
    {
      name: "refills at the rate and grants only whole tokens",
      steps: [
        { at: 0, want: 20, expect: { granted: 20 } },
        { at: 250, want: 10, expect: { granted: 2 } },
        { at: 300, want: 10, expect: { granted: 1 } },
      ],
    },
    {
      name: "never holds more than the burst after a quiet spell",
      steps: [
        { at: 0, want: 20, expect: { granted: 20 } },
        { at: 3_600_000, want: 1_000, expect: { granted: 20 } },
      ],
    },
    {
      name: "keeps its tokens, capped at the new burst, when the settings change",
      steps: [
        { at: 0, want: 17, expect: { granted: 17 } },
        { at: 0, want: 10, burst: 2, expect: { granted: 2 } },
        { at: 0, want: 10, burst: 50, expect: { granted: 0 } },
        // The second before the change accrued at the old rate; the next one at the new.
        { at: 1_000, want: 100, rate: 30, burst: 50, expect: { granted: 10 } },
        { at: 2_000, want: 100, rate: 30, burst: 50, expect: { granted: 30 } },
      ],
    },
    {
      name: "is not refilled by gateways on old and new settings taking turns",
      steps: [
        { at: 0, want: 20, expect: { granted: 20 } },
        { at: 1, want: 20, burst: 30, expect: { granted: 0 } },
        { at: 2, want: 20, burst: 20, expect: { granted: 0 } },
        { at: 3, want: 20, burst: 30, expect: { granted: 0 } },
      ],
    },
    {
      name: "adds nothing when the clock steps back",
      steps: [
        { at: 1_000, want: 20, expect: { granted: 20 } },
        { at: 500, want: 1, expect: { granted: 0 } },
        { at: 1_100, want: 5, expect: { granted: 1 } },
      ],
    },
    {
      name: "refills exactly-due tokens despite float drift (rate 3/s in thirds of a second)",
      steps: [
        { at: 0, want: 3, rate: 3, burst: 3, expect: { granted: 3 } },
        { at: 1_000 / 3, want: 1, rate: 3, burst: 3, expect: { granted: 1 } },
        { at: 2_000 / 3, want: 1, rate: 3, burst: 3, expect: { granted: 1 } },
        { at: 1_000, want: 1, rate: 3, burst: 3, expect: { granted: 1 } },
      ],
    },
  ];

  for (const { name, steps } of cases) it(name, () => run(steps));

  it("lets the caller spend a grant for the lease time", () => {
    expect(new LeaseBucket().lease(0, 1, 10, 20).leaseMs).toBe(DEFAULT_LEASE_MS);
    expect(new LeaseBucket(250).lease(0, 1, 10, 20).leaseMs).toBe(250);
  });

  it.each([
    { name: "a rate of 0", want: 1, rate: 0, burst: 1 },
    { name: "a negative rate", want: 1, rate: -5, burst: 1 },
    { name: "a rate that is not a number", want: 1, rate: Number.NaN, burst: 1 },
    { name: "a burst under 1", want: 1, rate: 10, burst: 0.5 },
    { name: "an infinite burst", want: 1, rate: 10, burst: Number.POSITIVE_INFINITY },
    { name: "wanting nothing", want: 0, rate: 10, burst: 1 },
    { name: "wanting part of a token", want: 1.5, rate: 10, burst: 1 },
  ])("refuses $name", ({ want, rate, burst }) => {
    expect(() => new LeaseBucket().lease(0, want, rate, burst)).toThrow(RangeError);
  });

  it("never grants more than burst + rate × elapsed over any run of leases", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 5_000, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 200 }), want: fc.integer({ min: 1, max: 1_000 }) }), { maxLength: 200 }),
        (rate, burst, leases) => {
          const bucket = new LeaseBucket();
          let now = 0;
          let granted = 0;
          for (const { dt, want } of leases) {
            now += dt;
            const grant = bucket.lease(now, want, rate, burst);
            expect(grant.granted).toBeLessThanOrEqual(want);
            // Nothing granted always comes with a time to come back.
            if (grant.granted === 0) expect(grant.retryAfterMs).toBeGreaterThan(0);
            granted += grant.granted;
          }
          expect(granted).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-6);
        },
      ),
    );
  });
});
