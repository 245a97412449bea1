import { describe, expect, it } from "vitest";
import { LeaseBucket } from "../../../control-durable/src/lease-bucket.js";
import { GlobalLimiter, LEASES_PER_SECOND, leaseSize, type Admission, type LeaseAnswer, type LeaseFn } from "./global-limit.js";

const quiet = { log: () => undefined };

/** A stand-in for the `RateLimiter` objects: the real bucket per key, on a clock the test moves. */
function fakeObjects(clock: { now: number }) {
  const buckets = new Map<string, LeaseBucket>();
  const calls: Array<{ isolate: number; at: number; key: string; want: number; granted: number }> = [];
  const leaseFor =
    (isolate: number): LeaseFn =>
    async (key, want, ratePerSecond, burst) => {
      let bucket = buckets.get(key);
      if (!bucket) buckets.set(key, (bucket = new LeaseBucket()));
      const answer = bucket.lease(clock.now, want, ratePerSecond, burst);
      calls.push({ isolate, at: clock.now, key, want, granted: answer.granted });
      return answer;
    };
  return { calls, leaseFor };
}

/** A lease call that answers when the test says so. */
function heldLease() {
  const calls: Array<{ want: number; answer: (a: LeaseAnswer) => void; fail: (e: Error) => void }> = [];
  const lease: LeaseFn = (_key, want) =>
    new Promise<LeaseAnswer>((answer, fail) => {
      calls.push({ want, answer, fail });
    });
  return { calls, lease };
}

const admitted = (results: Admission[]) => results.filter((r) => r.admitted).length;

/**
 * `isolates` gateways sharing one object, each offered `perMs` concurrent requests every
 * millisecond for `seconds` of simulated time (far above any rate tested here).
 */
async function overload(rate: number, burst: number, options: { isolates?: number; perMs?: number; seconds?: number } = {}) {
  const { isolates = 2, perMs = 2, seconds = 5 } = options;
  const clock = { now: 0 };
  const objects = fakeObjects(clock);
  const limiters = Array.from({ length: isolates }, (_, i) => new GlobalLimiter(objects.leaseFor(i), { now: () => clock.now, ...quiet }));
  let admits = 0;
  let requests = 0;
  for (clock.now = 0; clock.now < seconds * 1000; clock.now++) {
    const batch = limiters.flatMap((limiter) => Array.from({ length: perMs }, () => limiter.admit("orders", rate, burst)));
    requests += batch.length;
    admits += admitted(await Promise.all(batch));
  }
  return { admits, requests, calls: objects.calls, limiters };
}

describe("global rate limit (isolate side)", () => {
  describe.each([
    { rate: 100, burst: 200 },
    { rate: 1_000, burst: 1_000 },
    { rate: 30, burst: 30 },
    { rate: 7, burst: 3 },
  ])("under $rate/s, burst $burst", ({ rate, burst }) => {
    it("admits about burst + 5 s × rate across two isolates, never more", async () => {
      const { admits, requests } = await overload(rate, burst);
      const ideal = burst + 5 * rate;
      expect(requests).toBeGreaterThan(3 * ideal);
      expect(admits).toBeLessThanOrEqual(ideal + 2 * leaseSize(rate));
      expect(admits).toBeGreaterThanOrEqual(0.95 * ideal);
    });

    it("makes about rate ÷ lease size lease calls per second per isolate, not one per request", async () => {
      const { calls, requests } = await overload(rate, burst);
      expect(calls.length).toBeLessThan(requests / 50);
      // After the opening burst, each isolate asks at most about once per lease's worth of time.
      const ceiling = Math.min(LEASES_PER_SECOND, rate / leaseSize(rate));
      for (const isolate of [0, 1]) {
        for (let second = 1; second < 5; second++) {
          const inSecond = calls.filter((c) => c.isolate === isolate && c.at >= second * 1000 && c.at < (second + 1) * 1000).length;
          expect(inSecond, `isolate ${isolate}, second ${second}`).toBeLessThanOrEqual(ceiling * 1.1 + 1);
        }
      }
    });
  });

  it("holds the limit across ten isolates at about 20 lease calls per second each", async () => {
    const { admits, calls } = await overload(100, 200, { isolates: 10 });
    expect(admits).toBeLessThanOrEqual(700);
    expect(admits).toBeGreaterThanOrEqual(0.95 * 700);
    // The object's load grows with isolates (≈ 20/s each), not with the 20,000 requests/s offered.
    expect(calls.length / 5).toBeLessThanOrEqual(10 * LEASES_PER_SECOND * 1.1 + 10);
  });

  it("asks once per lease size of requests when traffic stays under the limit", async () => {
    const clock = { now: 0 };
    const objects = fakeObjects(clock);
    const limiter = new GlobalLimiter(objects.leaseFor(0), { now: () => clock.now, ...quiet });
    const results: Admission[] = [];
    // 50 requests/s against 100/s: every one admitted, a lease of 5 per 5 requests.
    for (clock.now = 0; clock.now < 10_000; clock.now += 20) results.push(await limiter.admit("orders", 100, 200));
    expect(admitted(results)).toBe(500);
    expect(objects.calls.length).toBe(100);
    expect(objects.calls.every((c) => c.want === 5 && c.granted === 5)).toBe(true);
  });

  it("spends leased tokens without I/O and forgets them when the lease runs out", async () => {
    const clock = { now: 0 };
    const objects = fakeObjects(clock);
    const limiter = new GlobalLimiter(objects.leaseFor(0), { now: () => clock.now, ...quiet });
    expect(await limiter.admit("orders", 100, 200)).toEqual({ admitted: true });
    for (let i = 0; i < 4; i++) await limiter.admit("orders", 100, 200);
    expect(objects.calls).toHaveLength(1);
    await limiter.admit("orders", 100, 200);
    expect(objects.calls).toHaveLength(2);
    // Four tokens of the second lease are left; after its 1 s they are gone, and a new lease is due.
    clock.now = 1_000;
    await limiter.admit("orders", 100, 200);
    expect(objects.calls).toHaveLength(3);
  });

  it("keeps keys apart", async () => {
    const clock = { now: 0 };
    const objects = fakeObjects(clock);
    const limiter = new GlobalLimiter(objects.leaseFor(0), { now: () => clock.now, ...quiet });
    for (let i = 0; i < 3; i++) expect(await limiter.admit("frontend->orders", 1, 3)).toEqual({ admitted: true });
    expect((await limiter.admit("frontend->orders", 1, 3)).admitted).toBe(false);
    expect(await limiter.admit("cart->orders", 1, 3)).toEqual({ admitted: true });
  });

  it("refuses locally, with Retry-After, until the emptied bucket has refilled by a lease", async () => {
    const clock = { now: 0 };
    const objects = fakeObjects(clock);
    const limiter = new GlobalLimiter(objects.leaseFor(0), { now: () => clock.now, ...quiet });
    const first = await Promise.all(Array.from({ length: 10 }, () => limiter.admit("orders", 100, 10)));
    expect(admitted(first)).toBe(10);
    const callsAfterBurst = objects.calls.length;
    expect(await limiter.admit("orders", 100, 10)).toEqual({ admitted: false, retryAfterMs: 50 });
    clock.now = 30;
    for (let i = 0; i < 1_000; i++) expect(await limiter.admit("orders", 100, 10)).toEqual({ admitted: false, retryAfterMs: 20 });
    expect(objects.calls.length).toBe(callsAfterBurst);
    clock.now = 50;
    expect(await limiter.admit("orders", 100, 10)).toEqual({ admitted: true });
    expect(objects.calls.length).toBe(callsAfterBurst + 1);
  });

  describe("when the object cannot be reached", () => {
    function failing() {
      const clock = { now: 0 };
      const logs: Array<Record<string, unknown>> = [];
      let calls = 0;
      let down = true;
      const objects = fakeObjects(clock);
      const healthy = objects.leaseFor(0);
      const lease: LeaseFn = (key, want, ratePerSecond, burst) => {
        calls++;
        return down ? Promise.reject(new Error("Durable Object reset")) : healthy(key, want, ratePerSecond, burst);
      };
      const limiter = new GlobalLimiter(lease, { now: () => clock.now, log: (entry) => logs.push(entry) });
      return { clock, logs, limiter, calls: () => calls, recover: () => (down = false) };
    }

    it("fails open to a local bucket of the same rate and burst, logged once", async () => {
      const { clock, logs, limiter, calls } = failing();
      const results: Admission[] = [];
      // 2 requests/ms for 2 s against 100/s, burst 20: the local bucket's 20 + 200.
      for (clock.now = 0; clock.now < 2_000; clock.now++) results.push(...(await Promise.all([limiter.admit("orders", 100, 20), limiter.admit("orders", 100, 20)])));
      expect(admitted(results)).toBeGreaterThanOrEqual(218);
      expect(admitted(results)).toBeLessThanOrEqual(220);
      expect(results.find((r) => !r.admitted)).toMatchObject({ retryAfterMs: expect.any(Number) });
      expect(limiter.degraded).toBe(true);
      // One try per second while it stays down, not one per request.
      expect(calls()).toBe(2);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ level: "warn", key: "orders" });
    });

    it("goes back to leases once the object answers again", async () => {
      const { clock, logs, limiter, calls, recover } = failing();
      await limiter.admit("orders", 100, 20);
      recover();
      clock.now = 999;
      await limiter.admit("orders", 100, 20);
      expect(calls()).toBe(1);
      clock.now = 1_000;
      expect(await limiter.admit("orders", 100, 20)).toEqual({ admitted: true });
      expect(calls()).toBe(2);
      expect(limiter.degraded).toBe(false);
      expect(logs.map((l) => l.level)).toEqual(["warn", "info"]);
    });

    it("treats a lease that does not answer in time as failed", async () => {
      const held = heldLease();
      const limiter = new GlobalLimiter(held.lease, { leaseTimeoutMs: 5, ...quiet });
      expect(await limiter.admit("orders", 100, 20)).toEqual({ admitted: true });
      expect(limiter.leaseFailures).toBe(1);
      expect(limiter.degraded).toBe(true);
    });

    it("treats a malformed answer as failed rather than as tokens", async () => {
      const limiter = new GlobalLimiter(async () => ({ granted: 1e9, retryAfterMs: 0, leaseMs: 1_000 }), { now: () => 0, ...quiet });
      const results = await Promise.all(Array.from({ length: 30 }, () => limiter.admit("orders", 10, 20)));
      expect(admitted(results)).toBe(20);
      expect(limiter.leaseFailures).toBe(1);
    });
  });

  describe("single flight", () => {
    it("lets 100 concurrent requests wait on one lease call", async () => {
      const held = heldLease();
      const limiter = new GlobalLimiter(held.lease, { now: () => 0, ...quiet });
      // 2,000/s: a lease is 100 tokens, enough for all of them.
      const pending = Promise.all(Array.from({ length: 100 }, () => limiter.admit("orders", 2_000, 4_000)));
      await Promise.resolve();
      expect(held.calls).toHaveLength(1);
      expect(held.calls[0]?.want).toBe(100);
      held.calls[0]?.answer({ granted: 100, retryAfterMs: 0, leaseMs: 1_000 });
      expect(admitted(await pending)).toBe(100);
      expect(held.calls).toHaveLength(1);
    });

    it("serves the requests a full lease left waiting with one more lease sized to them", async () => {
      const clock = { now: 0 };
      const objects = fakeObjects(clock);
      const limiter = new GlobalLimiter(objects.leaseFor(0), { now: () => clock.now, ...quiet });
      const results = await Promise.all(Array.from({ length: 100 }, () => limiter.admit("orders", 100, 200)));
      expect(admitted(results)).toBe(100);
      expect(objects.calls.map((c) => [c.want, c.granted])).toEqual([
        [5, 5],
        [95, 95],
      ]);
    });

    it("refuses the rest without more calls once the global bucket runs dry", async () => {
      const clock = { now: 0 };
      const objects = fakeObjects(clock);
      const limiter = new GlobalLimiter(objects.leaseFor(0), { now: () => clock.now, ...quiet });
      const results = await Promise.all(Array.from({ length: 100 }, () => limiter.admit("orders", 100, 10)));
      expect(admitted(results)).toBe(10);
      expect(objects.calls.map((c) => [c.want, c.granted])).toEqual([
        [5, 5],
        [10, 5],
      ]);
    });
  });

  it("refuses settings no bucket could hold", async () => {
    const limiter = new GlobalLimiter(async () => ({ granted: 1, retryAfterMs: 0, leaseMs: 1_000 }), quiet);
    await expect(limiter.admit("orders", 0, 10)).rejects.toThrow(RangeError);
    await expect(limiter.admit("orders", 10, 0)).rejects.toThrow(RangeError);
  });

  it("sizes leases at about 50 ms of the rate, at least one token", () => {
    expect([1, 19, 20, 21, 100, 1_000, 1_000_000].map(leaseSize)).toEqual([1, 1, 1, 2, 5, 50, 50_000]);
  });
});
