/**
 * The config model's defaults, apart from the schemas: the gateway Worker reads them on its request
 * path and must not pull zod in to do so (docs/architecture.md#why-two-workers).
 */

/** Every default in one place, so docs, compiler and tests agree. */
export const CONFIG_DEFAULTS = {
  namespace: "default",
  trustDomain: "weft.local",
  identityMode: "STRICT",
  tokenTTLms: 10 * 60_000,
  maxTokenTTLms: 15 * 60_000,
  keyRotationMs: 24 * 60 * 60_000,
  endpointWeight: 1,
  loadBalancer: "ROUND_ROBIN",
  /** Whole-request timeout when neither the route rule nor the service sets one. */
  timeoutMs: 15_000,
  localityAware: true,
  /** Retries (Istio/Envoy): 3 attempts in total, on connect failures, resets and 502/503/504. */
  retryAttempts: 3,
  retryOn: ["connect-failure", "reset", "502", "503", "504"],
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  /** Retry budget (Linkerd): retries ≤ 20% of requests plus 10/s, over a 10 s window. */
  retryBudgetRatio: 0.2,
  retryBudgetMinPerSecond: 10,
  retryBudgetWindowMs: 10_000,
  /** Request bodies up to this size are buffered so an attempt can be replayed; larger ones are sent once. */
  maxRetryableBodyBytes: 64 * 1024,
  /** Outlier detection (Envoy), when a service turns it on. */
  consecutive5xx: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
  /** Circuit breaker: concurrent requests per destination service, per gateway isolate. */
  maxConcurrentRequests: 1000,
  rateLimitPer: "destination",
  rateLimitScope: "local",
  /** Istio's default: 1% of new traces. */
  traceSampling: 0.01,
  /** Rollout analysis (Flagger's defaults): a check a minute, rolled back at the first failed one. */
  rolloutIntervalMs: 60_000,
  rolloutMinIntervalMs: 10_000,
  rolloutThreshold: 1,
  /** Canary requests an interval needs before its check counts (fewer: inconclusive). */
  rolloutMinRequests: 20,
  rolloutSuccessRateMinPercent: 99,
  rolloutLatencyP99MaxMs: 500,
  /** Blue/green: passed checks on the new subset before the switch. */
  rolloutIterations: 5,
} as const;
