import { describe, expect, it } from "vitest";
import { BucketMap, TokenBucket } from "./token-bucket.js";

function takeUntilRefused(bucket: TokenBucket, now: number): number {
  let admitted = 0;
  while (bucket.take(now).admitted) admitted++;
  return admitted;
}

describe("token bucket", () => {
  it("starts full, so a burst passes at once", () => {
    expect(takeUntilRefused(new TokenBucket(50, 20, 0), 0)).toBe(20);
  });

  it("admits burst plus rate × time under sustained overload", () => {
    const rate = 50;
    const burst = 20;
    const bucket = new TokenBucket(rate, burst, 0);
    let admitted = 0;
    // 1000 requests/s for 5 s of simulated time, one every millisecond.
    for (let now = 0; now < 5_000; now++) if (bucket.take(now).admitted) admitted++;
    const expected = burst + 5 * rate;
    expect(Math.abs(admitted - expected)).toBeLessThanOrEqual(expected * 0.01);
  });

  it.each([
    [50, 0, 20],
    [50, 10, 10],
    [50, 19.5, 1],
    [4, 0, 250],
    [1_000, 0, 1],
    [3, 0, 334],
  ])("at %s/s with %s ms of refill since emptying, asks the caller to wait %s ms", (rate, elapsedMs, retryAfterMs) => {
    const bucket = new TokenBucket(rate, 1, 0);
    bucket.take(0);
    expect(bucket.take(elapsedMs)).toEqual({ admitted: false, retryAfterMs });
  });

  it("has a token once retryAfterMs has passed", () => {
    const bucket = new TokenBucket(3, 1, 0);
    bucket.take(0);
    const refused = bucket.take(100);
    expect(refused.admitted).toBe(false);
    if (refused.admitted) return;
    expect(bucket.take(100 + refused.retryAfterMs - 1).admitted).toBe(false);
    expect(bucket.take(100 + refused.retryAfterMs).admitted).toBe(true);
  });

  it("never holds more than burst tokens, however long it sits idle", () => {
    const bucket = new TokenBucket(50, 20, 0);
    expect(bucket.tokens(3_600_000)).toBe(20);
  });

  it("mints nothing when the clock steps back", () => {
    const bucket = new TokenBucket(50, 20, 1_000);
    takeUntilRefused(bucket, 1_000);
    bucket.tokens(500);
    expect(bucket.tokens(1_000)).toBe(0);
  });

  it("refuses forever, without a finite wait, at rate zero", () => {
    const bucket = new TokenBucket(0, 1, 0);
    bucket.take(0);
    expect(bucket.take(1_000_000)).toEqual({ admitted: false, retryAfterMs: Number.POSITIVE_INFINITY });
  });
});

describe("buckets by key", () => {
  it("keeps one bucket per key", () => {
    const buckets = new BucketMap(10);
    takeUntilRefused(buckets.get("caller-a", 50, 5, 0), 0);
    expect(buckets.get("caller-a", 50, 5, 0).take(0).admitted).toBe(false);
    expect(buckets.get("caller-b", 50, 5, 0).take(0).admitted).toBe(true);
  });

  it("replaces a key's bucket when its rate or burst changes", () => {
    const buckets = new BucketMap(10);
    const old = buckets.get("caller-a", 50, 5, 0);
    expect(buckets.get("caller-a", 50, 5, 0)).toBe(old);
    const fresh = buckets.get("caller-a", 100, 5, 0);
    expect(fresh).not.toBe(old);
    expect(fresh.ratePerSecond).toBe(100);
    expect(buckets.get("caller-a", 100, 8, 0).burst).toBe(8);
    expect(buckets.size).toBe(1);
  });

  it("caps the number of keys, evicting the least recently used", () => {
    const buckets = new BucketMap(3);
    takeUntilRefused(buckets.get("a", 50, 5, 0), 0);
    takeUntilRefused(buckets.get("b", 50, 5, 0), 0);
    buckets.get("c", 50, 5, 0);
    buckets.get("a", 50, 5, 0);
    buckets.get("d", 50, 5, 0);
    expect(buckets.size).toBe(3);
    // "a" was used again, so it kept its drained bucket; "b" was least recent and comes back full.
    expect(buckets.get("a", 50, 5, 0).take(0).admitted).toBe(false);
    expect(takeUntilRefused(buckets.get("b", 50, 5, 0), 0)).toBe(5);
  });

  it("stays within its cap under a flood of distinct callers", () => {
    const buckets = new BucketMap(100);
    for (let i = 0; i < 10_000; i++) buckets.get(`caller-${i}`, 50, 5, i);
    expect(buckets.size).toBe(100);
  });
});
