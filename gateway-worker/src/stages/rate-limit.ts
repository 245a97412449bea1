/**
 * Token-bucket rate limits on the destination service, one bucket for the service or one per
 * caller (`per: source`). Local limits cost no I/O; global ones spend tokens leased from a Durable
 * Object per key (resilience/global-limit.ts), so only the requests that renew a lease wait on it.
 * Runs after the split (the service, and so its limit, is known) and before anything is sent.
 * Which bucket a request draws from is `rateLimitKey`, which explain reports too.
 */
import { MeshError } from "@weft/sdk";
import { ANONYMOUS, callerSource, type Caller } from "../policy/authorize.js";
import type { CompiledRateLimit } from "../routing/snapshot.js";
import type { Stage } from "../stage.js";

/** The bucket a request draws from: the service's, or the caller's for that service (`per: source`). */
export function rateLimitKey(limit: CompiledRateLimit, service: string, caller: Caller): string {
  return limit.per === "source" ? `${callerSource(caller)}->${service}` : service;
}

/** The 429 for a spent bucket, with when to try again. */
export function rateLimited(limit: CompiledRateLimit, service: string, caller: Caller, retryAfterMs: number): MeshError {
  return new MeshError("rate_limited", `rate limit of ${limit.ratePerSecond}/s for ${limit.per === "source" ? `${callerSource(caller)} calling ` : ""}${service} exceeded`, {
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  });
}

type Verdict = { admitted: true } | { admitted: false; retryAfterMs: number };

export function rateLimitStage(): Stage {
  // Not an async function: only a global limit waits (for its lease); a local bucket answers at once.
  return function rateLimit(request, next) {
    const service = request.service;
    const limit = service?.rateLimit;
    if (!limit || !service) return next(request);
    const caller = request.caller ?? ANONYMOUS;
    const key = rateLimitKey(limit, service.name, caller);
    const { isolate } = request;
    const admitOrRefuse = (verdict: Verdict): Promise<Response> => {
      if (!verdict.admitted) throw rateLimited(limit, service.name, caller, verdict.retryAfterMs);
      return next(request);
    };
    if (limit.scope === "global") return isolate.globalLimiter(request.env).admit(key, limit.ratePerSecond, limit.burst).then(admitOrRefuse);
    const now = isolate.now();
    return admitOrRefuse(isolate.resilience.buckets.get(key, limit.ratePerSecond, limit.burst, now).take(now));
  };
}
