/**
 * The isolate side of a global rate limit (docs/rate-limits.md). Each limit key has a token bucket
 * in a `RateLimiter` Durable Object; an isolate leases tokens from it a batch at a time
 * (≈ 50 ms of the rate) and spends them locally, so a request costs a Durable Object call only
 * when it finds the isolate's lease spent, never one per request (docs/architecture.md#hot-path-rule).
 *
 * Leased tokens are taken out of the global bucket when granted, so however the isolates spend them
 * the fleet admits at most burst + rate × time. What they cost is accuracy on the low side: tokens
 * an isolate leased but did not spend before the lease ran out are lost.
 */
import { LeaseBucket } from "../../../control-durable/src/lease-bucket.js";
import { bounded } from "../bounded.js";

/** What a lease answers (the `RateLimiter` object's `lease` result). */
export interface LeaseAnswer {
  /** Tokens granted to this isolate. */
  granted: number;
  /** Ms until the global bucket next holds a token, 0 while it still holds one. */
  retryAfterMs: number;
  /** How long the granted tokens may be spent. */
  leaseMs: number;
}

/**
 * Asks the key's `RateLimiter` object for `want` tokens. The limit's settings travel with every
 * lease because the object keeps nothing but the bucket:
 * `(key, want, ratePerSecond, burst) => ns.get(ns.idFromName(key)).lease({ ratePerSecond, burst, want })`.
 */
export type LeaseFn = (key: string, want: number, ratePerSecond: number, burst: number) => Promise<LeaseAnswer>;

export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number };

export interface GlobalLimiterOptions {
  now?: () => number;
  /** After a failed lease, how long a key is limited locally before the object is tried again. Default 1,000 ms. */
  retryLeaseAfterMs?: number;
  /** A lease not answered within this counts as failed. Default 1,000 ms. */
  leaseTimeoutMs?: number;
  /** Where the one line per outage goes. Default: console.error as a JSON log line. */
  log?: (entry: Record<string, unknown>) => void;
  /** Keys remembered at most; the oldest is forgotten first (it loses at most one lease). Default 10,000. */
  maxKeys?: number;
}

/** Leases are ≈ 1/20 s of the rate: at most ≈ 20 lease calls per second per busy isolate and key. */
export const LEASES_PER_SECOND = 20;
const ADMITTED: Admission = Object.freeze({ admitted: true });
/** Rounds a waiting request joins before giving up; each round drains ≥ one lease from the global bucket. */
const MAX_ROUNDS = 3;

/** Tokens asked for per lease under `ratePerSecond`. */
export function leaseSize(ratePerSecond: number): number {
  return Math.max(1, Math.ceil(ratePerSecond / LEASES_PER_SECOND));
}

interface KeyState {
  /** Leased tokens left to spend, until `expiresAt`. */
  tokens: number;
  expiresAt: number;
  /** The global bucket was empty: refuse without asking again until then. */
  deniedUntil: number;
  /** The object failed: limit under `local` until then. */
  localUntil: number;
  local: LeaseBucket | undefined;
  /** The lease call in flight, shared by every request that waits for it. */
  inflight: Promise<void> | undefined;
  /** Requests waiting for a lease: the next lease asks for at least this many tokens. */
  waiters: number;
}

export class GlobalLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly now: () => number;
  private readonly retryLeaseAfterMs: number;
  private readonly leaseTimeoutMs: number;
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly maxKeys: number;
  private failing = false;
  /** Lease calls made and failed (for metrics and tests). */
  leaseCalls = 0;
  leaseFailures = 0;

  constructor(
    private readonly lease: LeaseFn,
    options: GlobalLimiterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.retryLeaseAfterMs = options.retryLeaseAfterMs ?? 1_000;
    this.leaseTimeoutMs = options.leaseTimeoutMs ?? 1_000;
    this.log = options.log ?? ((entry) => console.error(JSON.stringify(entry)));
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Whether the limiter is limiting locally because the object could not be reached. */
  get degraded(): boolean {
    return this.failing;
  }

  /**
   * Admits one request for `key` under (`ratePerSecond`, `burst`). Spends a leased token when the
   * isolate holds one (no I/O); otherwise waits for a lease, one call in flight per key shared by
   * every request that needs it, sized to them (at least one lease). After the object answers
   * that the bucket is empty, requests are refused locally until it has refilled by a lease
   * (≥ its retry time), so overload does not turn into lease calls.
   *
   * Fails open to a local bucket: if a lease call fails or times out, the key is limited by a
   * per-isolate bucket of the same rate and burst for `retryLeaseAfterMs`, then the object is asked
   * again. The mesh keeps serving with a looser limit (rate × isolates) rather than refusing every
   * request: a rate limit protects capacity, it is not authorization, which never fails open.
   */
  async admit(key: string, ratePerSecond: number, burst: number): Promise<Admission> {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be a finite number above 0, got ${ratePerSecond}`);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`burst must be a finite number of at least 1, got ${burst}`);
    const state = this.state(key);
    const settled = this.decideLocally(state, this.now(), ratePerSecond, burst);
    if (settled) return settled;

    state.waiters++;
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        state.inflight ??= this.renew(key, state, ratePerSecond, burst).finally(() => {
          state.inflight = undefined;
        });
        await state.inflight;
        const decided = this.decideLocally(state, this.now(), ratePerSecond, burst);
        if (decided) return decided;
        // The lease was granted in full, but requests ahead of this one spent it: the global
        // bucket still has tokens, so join the next lease, which is sized to the waiters.
      }
      return { admitted: false, retryAfterMs: Math.ceil((leaseSize(ratePerSecond) * 1000) / ratePerSecond) };
    } finally {
      state.waiters--;
    }
  }

  /** The answer that needs no lease call, or undefined when a lease is needed. */
  private decideLocally(state: KeyState, now: number, ratePerSecond: number, burst: number): Admission | undefined {
    if (now < state.localUntil) return this.admitLocally(state, now, ratePerSecond, burst);
    if (state.tokens > 0 && now < state.expiresAt) {
      state.tokens--;
      return ADMITTED;
    }
    if (now < state.deniedUntil) return { admitted: false, retryAfterMs: Math.max(1, Math.ceil(state.deniedUntil - now)) };
    return undefined;
  }

  private admitLocally(state: KeyState, now: number, ratePerSecond: number, burst: number): Admission {
    state.local ??= new LeaseBucket();
    const grant = state.local.lease(now, 1, ratePerSecond, burst);
    return grant.granted > 0 ? ADMITTED : { admitted: false, retryAfterMs: grant.retryAfterMs };
  }

  /** One lease call; never throws (a failure switches the key to its local bucket). */
  private async renew(key: string, state: KeyState, ratePerSecond: number, burst: number): Promise<void> {
    const size = leaseSize(ratePerSecond);
    const want = Math.max(1, Math.min(Math.max(size, state.waiters), Math.floor(burst)));
    this.leaseCalls++;
    try {
      const answer = checked(await bounded(this.lease(key, want, ratePerSecond, burst), this.leaseTimeoutMs, `lease not answered within ${this.leaseTimeoutMs} ms`), want);
      const now = this.now();
      // Expired leftovers are dropped, not added: a lease is only asked for once they are spent or stale.
      state.tokens = answer.granted;
      state.expiresAt = now + answer.leaseMs;
      // The bucket is empty (less than asked for, or no token left after this grant): ask again only
      // once it has refilled by a lease, and never before the object says a token is due.
      if (answer.granted < want || answer.retryAfterMs > 0) {
        state.deniedUntil = now + Math.max(answer.retryAfterMs, (size * 1000) / ratePerSecond);
      }
      if (this.failing) {
        this.failing = false;
        this.log({ level: "info", msg: "global rate limits reach their Durable Objects again", key });
      }
    } catch (error) {
      this.leaseFailures++;
      state.tokens = 0;
      state.localUntil = this.now() + this.retryLeaseAfterMs;
      if (!this.failing) {
        this.failing = true;
        this.log({ level: "warn", msg: "global rate limit unreachable: limiting per isolate until it answers", key, error: String(error) });
      }
    }
  }

  private state(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      if (this.keys.size >= this.maxKeys) {
        const oldest = this.keys.keys().next();
        if (!oldest.done) this.keys.delete(oldest.value);
      }
      const never = Number.NEGATIVE_INFINITY;
      state = { tokens: 0, expiresAt: never, deniedUntil: never, localUntil: never, local: undefined, inflight: undefined, waiters: 0 };
      this.keys.set(key, state);
    }
    return state;
  }
}

/** A malformed answer counts as a failed lease rather than as tokens. */
function checked(answer: LeaseAnswer, want: number): LeaseAnswer {
  const { granted, retryAfterMs, leaseMs } = answer;
  if (!(Number.isSafeInteger(granted) && granted >= 0 && granted <= want && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 && Number.isFinite(leaseMs) && leaseMs >= 0)) {
    throw new Error(`malformed lease answer ${JSON.stringify(answer)}`);
  }
  return answer;
}
