/**
 * Local (per-isolate) rate limiting, Envoy's local_ratelimit filter: a token bucket refilled at
 * `ratePerSecond` up to `burst`, so short bursts pass and the long-run rate is capped. Refill is
 * computed from elapsed time on each call (no timers), which keeps it pure and cheap; the refill
 * arithmetic is the global limit's too (wire/src/token-bucket.ts).
 */
import { msUntilWholeToken, refill } from "../../../wire/src/token-bucket.js";

export type TakeResult = { admitted: true } | { admitted: false; retryAfterMs: number };

export class TokenBucket {
  private available: number;
  private refilledAt: number;

  /** Starts full (burst tokens). */
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.available = burst;
    this.refilledAt = now;
  }

  /**
   * Spends one token, or says how long until one is there: rounded up to whole ms, so a caller
   * who waits that long finds a token. Infinity when the bucket can never hold a whole token
   * (rate 0 or burst < 1).
   */
  take(now: number): TakeResult {
    const tokens = this.tokens(now);
    if (tokens >= 1) {
      this.available = tokens - 1;
      return { admitted: true };
    }
    if (this.ratePerSecond <= 0 || this.burst < 1) return { admitted: false, retryAfterMs: Number.POSITIVE_INFINITY };
    return { admitted: false, retryAfterMs: msUntilWholeToken(tokens, this.ratePerSecond) };
  }

  tokens(now: number): number {
    const level = refill({ tokens: this.available, at: this.refilledAt }, now, this.ratePerSecond, this.burst);
    this.available = level.tokens;
    this.refilledAt = level.at;
    return this.available;
  }
}

/**
 * Buckets by key with a size cap (least recently used evicted), so per-caller limits cannot grow
 * memory without bound. An evicted key comes back with a full bucket: the cap trades a little
 * accuracy for callers nobody has heard from in a while against a hard memory bound.
 */
export class BucketMap {
  /** Map iteration order is insertion order: re-inserting on use keeps the least recent first. */
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly maxKeys: number) {}

  /** The key's bucket; a fresh one when the key is new or its rate or burst changed (a config update). */
  get(key: string, ratePerSecond: number, burst: number, now: number): TokenBucket {
    const existing = this.buckets.get(key);
    this.buckets.delete(key);
    const bucket = existing && existing.ratePerSecond === ratePerSecond && existing.burst === burst ? existing : new TokenBucket(ratePerSecond, burst, now);
    this.buckets.set(key, bucket);
    for (const oldest of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break;
      this.buckets.delete(oldest);
    }
    return bucket;
  }

  get size(): number {
    return this.buckets.size;
  }
}
