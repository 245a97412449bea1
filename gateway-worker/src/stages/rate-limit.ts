/**
 * Token-bucket rate limits on the destination service, one bucket for the service or one per
 * caller (`per: source`). Local limits cost no I/O; global ones spend tokens leased from a Durable
 * Object per key (resilience/global-limit.ts), so only the requests that renew a lease wait on it.
 * Runs after the split (the service, and so its limit, is known) and before anything is sent.
 */
import { MeshError } from "@weft/sdk";
import type { Stage } from "../stage.js";

export function rateLimitStage(): Stage {
  return async function rateLimit(request, next) {
    const limit = request.service?.rateLimit;
    if (!limit || !request.service) return next(request);
    const source = request.caller?.authenticated ? request.caller.spiffeId : "anonymous";
    const key = limit.per === "source" ? `${source}->${request.service.name}` : request.service.name;
    const { isolate } = request;
    let verdict: { admitted: true } | { admitted: false; retryAfterMs: number };
    if (limit.scope === "global") {
      verdict = await isolate.globalLimiter(request.env).admit(key, limit.ratePerSecond, limit.burst);
    } else {
      const now = isolate.now();
      verdict = isolate.resilience.buckets.get(key, limit.ratePerSecond, limit.burst, now).take(now);
    }
    if (!verdict.admitted) {
      throw new MeshError("rate_limited", `rate limit of ${limit.ratePerSecond}/s for ${limit.per === "source" ? `${source} calling ` : ""}${request.service.name} exceeded`, {
        retryAfterSeconds: Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)),
      });
    }
    return next(request);
  };
}
