/**
 * The token bucket behind a global rate limit, as a pure decision: the `RateLimiter` Durable
 * Object calls it with `Date.now()`, tests call it with a made-up clock, and the gateway reuses it
 * as its local (per-isolate) bucket when the object cannot be reached.
 *
 * Gateways take tokens in leases (many at a time) rather than one per request, so the object sees
 * a lease call per ~50 ms of the rate per busy isolate, not a call per request (docs/rate-limits.md).
 * The refill arithmetic is shared with the gateway's local bucket (wire/src/token-bucket.ts).
 */
import { msUntilWholeToken, refill } from "../../wire/src/token-bucket.js";

/** What a gateway asks for: the limit's settings as it knows them, and how many tokens it wants. */
export interface LeaseRequest {
  /** Sustained rate, tokens per second (> 0). */
  ratePerSecond: number;
  /** Bucket size in tokens (≥ 1); the bucket starts full. */
  burst: number;
  /** Tokens wanted (≥ 1, whole). */
  want: number;
  /** The object reads its own clock; a caller cannot pass one. */
  now?: never;
}

/** The answer to a lease. */
export interface LeaseGrant {
  /** Tokens taken from the bucket for the caller: min(want, whole tokens available). */
  granted: number;
  /**
   * Ms until the bucket next holds a whole token, 0 while it still holds one. With nothing granted
   * it says when to ask again; with a grant that emptied the bucket it spares the caller a lease
   * call that could only be refused.
   */
  retryAfterMs: number;
  /** How long the caller may spend the granted tokens; unspent ones are lost (admits less, never more). */
  leaseMs: number;
}

/** How long leased tokens stay spendable. Long next to a lease's ~50 ms of rate; short enough to bound any drift. */
export const DEFAULT_LEASE_MS = 1_000;

/** Absorbs float drift in the refill so that exactly-due tokens count as whole. */
const EPSILON = 1e-9;

export class LeaseBucket {
  private tokens = 0;
  private updatedAt = 0;
  private ratePerSecond = Number.NaN;
  private burst = Number.NaN;

  constructor(private readonly leaseMs: number = DEFAULT_LEASE_MS) {}

  /**
   * Takes up to `want` whole tokens at `now` (ms) under (`ratePerSecond`, `burst`).
   *
   * The first call starts the bucket full. When the settings change (a config rollout), the bucket
   * takes the new ones but keeps its tokens, capped at the new burst, rather than starting full
   * again: while old- and new-config gateways alternate, a refill per change would lift the limit.
   */
  lease(now: number, want: number, ratePerSecond: number, burst: number): LeaseGrant {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be a finite number above 0, got ${ratePerSecond}`);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`burst must be a finite number of at least 1, got ${burst}`);
    if (!(Number.isSafeInteger(want) && want >= 1)) throw new RangeError(`want must be a whole number of at least 1, got ${want}`);
    if (!Number.isFinite(now)) throw new RangeError(`now must be a finite time in ms, got ${now}`);

    if (Number.isNaN(this.ratePerSecond)) {
      this.tokens = burst;
      this.updatedAt = now;
    } else {
      this.refill(now);
      if (ratePerSecond !== this.ratePerSecond || burst !== this.burst) this.tokens = Math.min(this.tokens, burst);
    }
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;

    const granted = Math.min(want, Math.floor(this.tokens + EPSILON));
    if (granted > 0) this.tokens = Math.max(0, this.tokens - granted);
    return { granted, retryAfterMs: this.msUntilWholeToken(), leaseMs: this.leaseMs };
  }

  /** Whole tokens the bucket would hold at `now` (for status and tests); 0 before the first lease. */
  available(now: number): number {
    if (Number.isNaN(this.ratePerSecond)) return 0;
    this.refill(now);
    return Math.floor(this.tokens + EPSILON);
  }

  private msUntilWholeToken(): number {
    if (this.tokens + EPSILON >= 1) return 0;
    return Math.max(1, msUntilWholeToken(this.tokens, this.ratePerSecond));
  }

  private refill(now: number): void {
    const level = refill({ tokens: this.tokens, at: this.updatedAt }, now, this.ratePerSecond, this.burst);
    this.tokens = level.tokens;
    this.updatedAt = level.at;
  }
}
