/**
 * The token-bucket arithmetic both rate limits use: the gateway's local bucket
 * (gateway-worker/src/resilience/token-bucket.ts) and the `RateLimiter` Durable Object's lease
 * bucket (control-durable/src/lease-bucket.ts). Their policies differ (one token per request vs
 * leases; a fresh bucket vs kept tokens on a config change), but a limit's refill and its
 * "when is the next token" must be the same number in both, so they are computed here only.
 * Times are ms, rates tokens per second.
 */

/** A bucket's fill: `tokens` (fractional) as of `at` (ms). */
export interface BucketLevel {
  readonly tokens: number;
  readonly at: number;
}

/**
 * The level at `now`: `tokens` plus what `ratePerSecond` added since `at`, capped at `burst`.
 * A clock that steps back (`now` ≤ `at`) adds nothing and keeps `at`, so time already counted is
 * never counted twice when the clock catches up.
 */
export function refill(level: BucketLevel, now: number, ratePerSecond: number, burst: number): BucketLevel {
  if (!(now > level.at)) return level;
  return { tokens: Math.min(burst, level.tokens + ((now - level.at) * ratePerSecond) / 1000), at: now };
}

/**
 * Ms until a bucket holding `tokens` (< 1) holds a whole token, rounded up to whole ms so that a
 * caller who waits that long finds one. `ratePerSecond` must be above 0.
 */
export function msUntilWholeToken(tokens: number, ratePerSecond: number): number {
  return Math.ceil(((1 - tokens) * 1000) / ratePerSecond);
}
