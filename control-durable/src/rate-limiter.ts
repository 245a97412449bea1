/**
 * The Durable Object behind a global rate limit: one object per limit key (the gateway addresses it
 * with `idFromName(key)`, keys like `orders` or `frontend->orders`), holding that key's token
 * bucket. Gateways lease tokens from it in batches (gateway-worker/src/resilience/global-limit.ts),
 * so it sees a call per ~50 ms of the rate per busy isolate, never one per request.
 *
 * The bucket lives in memory only: an object that is evicted or restarted comes back with a full
 * bucket, so a restart can admit up to one extra burst. Persisting every lease would put a storage
 * write on each call for little gain; a rate limit bounds load, it does not authorize anything.
 */
import { DurableObject } from "cloudflare:workers";
import { LeaseBucket, type LeaseGrant, type LeaseRequest } from "./lease-bucket.js";

export type { LeaseGrant, LeaseRequest } from "./lease-bucket.js";

export class RateLimiter extends DurableObject {
  private readonly bucket = new LeaseBucket();

  /** Takes up to `want` tokens from this key's bucket under the caller's (rate, burst). */
  async lease(request: LeaseRequest): Promise<LeaseGrant> {
    return this.bucket.lease(Date.now(), request.want, request.ratePerSecond, request.burst);
  }
}
