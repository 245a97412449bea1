/**
 * Linkerd's retry budget, one per destination: retries may add at most `ratio` of the original
 * requests plus a small per-second floor, so a failing upstream sees at most ~(1 + ratio)× its
 * offered load instead of `attempts`× (a retry storm). Per-attempt limits alone cannot do this:
 * three attempts each is harmless for one flaky request and triples the load during an outage.
 *
 * Counts live in a sliding window of 10 buckets (a fixed ring, so memory is O(1)); a bucket whose
 * time has passed is zeroed when its slot is next touched.
 *
 * A retry is allowed when retriesInWindow + 1 <= ratio × requestsInWindow + minPerSecond × floorSpan,
 * where floorSpan = max(age, 1 s) while the budget is younger than the window: the floor accrues with
 * the budget's age, and a fresh budget may retry at once. Once older, floorSpan is the time the
 * counted buckets actually cover (0.9 to 1 × windowMs, not windowMs: retries age out of the ring
 * after as little as 9 buckets, so 10 buckets' worth would leak ~11% more), less whatever part of
 * the first second's advance is still due.
 *
 * Guarantee, by induction over consecutive windows: over the first T seconds of a budget's life,
 *   retries <= ratio × requests + minPerSecond × max(T, 1 s).
 * A budget that sat idle has one window of floor saved up, so over a run of T seconds starting
 * later the bound is ratio × requests + minPerSecond × (T + windowMs).
 *
 * Every gateway isolate keeps its own budget, so a fleet of N isolates would otherwise spend N
 * floors: the same traffic spread over 1,000 isolates could triple a failing destination's load
 * (docs/reliability.md#retry-storms-at-fleet-scale). Once the isolate knows the destination's
 * fleet-wide request rate (the telemetry object answers it with every flush), its floor is scaled
 * by its own share of that rate, so the whole fleet shares about one floor. Without a rate, or with
 * one over a minute old, the isolate keeps the whole floor.
 */

export interface RetryBudgetSettings {
  /** Retries allowed per original request (default 0.2). */
  ratio: number;
  /** Retries allowed per second regardless of traffic, so low-volume callers can still retry (default 10). */
  minPerSecond: number;
  /** Sliding window, ms (default 10_000). */
  windowMs: number;
}

const BUCKETS = 10;
/** A fleet rate older than this is ignored (the isolate keeps its whole floor). */
export const FLEET_RATE_TTL_MS = 60_000;

interface Bucket {
  /** floor(time / bucketMs) of the counts in this slot. */
  index: number;
  requests: number;
  retries: number;
}

export class RetryBudget {
  private settings: RetryBudgetSettings;
  private bucketMs: number;
  private readonly ring: Bucket[] = Array.from({ length: BUCKETS }, () => ({ index: Number.NEGATIVE_INFINITY, requests: 0, retries: 0 }));
  /** The destination's fleet-wide request rate, and when it was learned. */
  private fleet: { rps: number; at: number } | undefined;

  constructor(
    settings: RetryBudgetSettings,
    private readonly createdAt: number,
  ) {
    this.settings = settings;
    this.bucketMs = settings.windowMs / BUCKETS;
  }

  /** Every original request (not retries). */
  recordRequest(now: number): void {
    this.bucketAt(now).requests++;
  }

  /** The destination's request rate across every gateway isolate (requests per second), as of `now`. */
  noteFleetRate(rps: number, now: number): void {
    this.fleet = { rps, at: now };
  }

  /** True, and one retry recorded, when the budget allows it. */
  tryWithdraw(now: number): boolean {
    const { retries, allowance } = this.view(now);
    if (retries + 1 > allowance) return false;
    this.bucketAt(now).retries++;
    return true;
  }

  /**
   * A config push must not reset the budget (that would hand a failing upstream a fresh burst of
   * retries), so when the window changes the latest window's counts move into one bucket of the new
   * ring, at the time they were last touched, and age out from there.
   */
  updateSettings(settings: RetryBudgetSettings): void {
    const oldBucketMs = this.bucketMs;
    this.settings = settings;
    this.bucketMs = settings.windowMs / BUCKETS;
    if (this.bucketMs === oldBucketMs) return;
    const latest = Math.max(...this.ring.map((bucket) => bucket.index));
    let requests = 0;
    let retries = 0;
    for (const bucket of this.ring) {
      if (bucket.index > latest - BUCKETS) {
        requests += bucket.requests;
        retries += bucket.retries;
      }
      Object.assign(bucket, { index: Number.NEGATIVE_INFINITY, requests: 0, retries: 0 });
    }
    if (latest === Number.NEGATIVE_INFINITY) return;
    Object.assign(this.bucketAt(latest * oldBucketMs), { requests, retries });
  }

  /** Counts within the window, and the retries they allow. */
  view(now: number): { requests: number; retries: number; allowance: number } {
    const current = Math.floor(now / this.bucketMs);
    let requests = 0;
    let retries = 0;
    for (const bucket of this.ring) {
      if (bucket.index > current - BUCKETS && bucket.index <= current) {
        requests += bucket.requests;
        retries += bucket.retries;
      }
    }
    const windowSpanMs = now - (current - BUCKETS + 1) * this.bucketMs;
    const ageMs = now - this.createdAt;
    // A fresh budget gets its first second of floor up front; once the budget is older than the
    // window, that advance is paid back, so the floor never outruns minPerSecond × age.
    const floorMs = ageMs <= windowSpanMs ? Math.max(ageMs, 1_000) : Math.max(0, Math.min(windowSpanMs, ageMs - 1_000));
    const floorShare = this.floorShare(requests, windowSpanMs, now);
    return { requests, retries, allowance: this.settings.ratio * requests + (this.settings.minPerSecond * floorMs * floorShare) / 1_000 };
  }

  /** This isolate's share of the destination's fleet-wide traffic: 1 when alone, untold or out of date. */
  private floorShare(requests: number, windowSpanMs: number, now: number): number {
    const fleet = this.fleet;
    if (fleet === undefined || fleet.rps <= 0 || now - fleet.at > FLEET_RATE_TTL_MS) return 1;
    const ownRps = requests / Math.max(windowSpanMs / 1_000, 1);
    return Math.min(1, ownRps / fleet.rps);
  }

  private bucketAt(now: number): Bucket {
    const index = Math.floor(now / this.bucketMs);
    const slot = ((index % BUCKETS) + BUCKETS) % BUCKETS;
    const bucket = this.ring[slot];
    // The ring always has BUCKETS slots; this only satisfies noUncheckedIndexedAccess.
    if (bucket === undefined) throw new Error("retry budget ring slot missing");
    if (bucket.index !== index) Object.assign(bucket, { index, requests: 0, retries: 0 });
    return bucket;
  }
}
