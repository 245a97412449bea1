/**
 * The settings the rest of the request runs under, as the stages read them: the fault stage's
 * conditions (faultApplies), the mirror, and per destination service the timeout
 * (effectiveTimeoutMs), the retries (retrySettings, mayRetryMethod), outlier detection, the
 * circuit breaker and the rate-limit bucket (rateLimitKey). Where a setting comes from (rule,
 * service or default) is explain's own reading of the same fields.
 */
import { formatDuration } from "@weft/sdk/config";
import type { Caller } from "../policy/authorize.js";
import { mayRetryMethod } from "../resilience/retry-policy.js";
import { faultApplies } from "../routing/fault.js";
import type { RouteMatch } from "../routing/lookup.js";
import type { CompiledFault, CompiledOutlierDetection, CompiledRetryBudget, CompiledService, Snapshot } from "../routing/snapshot.js";
import { effectiveTimeoutMs } from "../stages/forward.js";
import { rateLimitKey } from "../stages/rate-limit.js";
import { retrySettings } from "../stages/retry.js";
import type { ExplainedRequest } from "./request.js";

export interface ServiceSettingsView {
  readonly service: string;
  readonly timeout: { readonly ms: number; readonly source: "rule" | "service" | "default" };
  readonly retries: {
    readonly source: "rule" | "service";
    /** Attempts in total, the first included. */
    readonly attempts: number;
    readonly retryOn: readonly string[];
    readonly retryNonIdempotent: boolean;
    /** Whether this request's method may be retried at all. */
    readonly appliesToMethod: boolean;
    readonly perTryTimeoutMs: number | null;
    readonly hedgeDelayMs: number | null;
    readonly backoff: { readonly baseMs: number; readonly maxMs: number };
    /** The service's retry budget (always the service's: budgets protect the destination). */
    readonly budget: CompiledRetryBudget;
  };
  readonly outlierDetection: (Omit<CompiledOutlierDetection, "consecutiveGatewayErrors"> & { readonly consecutiveGatewayErrors: number | null }) | null;
  readonly circuitBreaker: { readonly maxConcurrentRequests: number };
  readonly rateLimit: {
    readonly requestsPerSecond: number;
    readonly burst: number;
    readonly per: "destination" | "source";
    readonly scope: "local" | "global";
    /** The bucket this request draws from. */
    readonly key: string;
  } | null;
}

export interface SettingsView {
  readonly fault: {
    readonly abort: { readonly percent: number; readonly status: number } | null;
    readonly delay: { readonly percent: number; readonly ms: number } | null;
    /** Whether this request meets the fault's header conditions (faults only hit those that do). */
    readonly applies: boolean;
  } | null;
  readonly mirror: { readonly service: string; readonly subset: string | null; readonly percent: number } | null;
  /** One entry per distinct destination service of the rule. */
  readonly services: readonly ServiceSettingsView[];
}

export function settingsView(snapshot: Snapshot, route: RouteMatch, request: ExplainedRequest, caller: Caller): SettingsView {
  const rule = route.rule;
  const services: ServiceSettingsView[] = [];
  for (const name of rule.services) {
    const service = snapshot.services.get(name);
    if (service) services.push(serviceSettings(route, service, request.method, caller));
  }
  return {
    fault: rule.fault ? faultView(rule.fault, request) : null,
    mirror: rule.mirror ? { service: rule.mirror.service, subset: rule.mirror.subset ?? null, percent: rule.mirror.percent } : null,
    services,
  };
}

function faultView(fault: CompiledFault, request: ExplainedRequest): NonNullable<SettingsView["fault"]> {
  return {
    abort: fault.abort ? { percent: fault.abort.percent, status: fault.abort.status } : null,
    delay: fault.delay ? { percent: fault.delay.percent, ms: fault.delay.ms } : null,
    applies: faultApplies(fault, request.headers),
  };
}

/** Effective settings as the attempts read them: the rule's timeout and retries replace the service's. */
function serviceSettings(route: RouteMatch, service: CompiledService, method: string, caller: Caller): ServiceSettingsView {
  const rule = route.rule;
  const timeoutSource = rule.timeoutMs !== undefined ? "rule" : service.timeoutMs !== undefined ? "service" : "default";
  const retries = retrySettings({ route }, service);
  const limit = service.rateLimit;
  return {
    service: service.name,
    timeout: { ms: effectiveTimeoutMs({ route, service }), source: timeoutSource },
    retries: {
      source: retries === rule.retries ? "rule" : "service",
      attempts: retries.attempts,
      retryOn: [...retries.retryOn],
      retryNonIdempotent: retries.retryNonIdempotent,
      appliesToMethod: mayRetryMethod(retries, method),
      perTryTimeoutMs: retries.perTryTimeoutMs ?? null,
      hedgeDelayMs: retries.hedgeDelayMs ?? null,
      backoff: { baseMs: retries.backoffBaseMs, maxMs: retries.backoffMaxMs },
      budget: service.retryBudget,
    },
    outlierDetection: service.outlierDetection ? { ...service.outlierDetection, consecutiveGatewayErrors: service.outlierDetection.consecutiveGatewayErrors ?? null } : null,
    circuitBreaker: { maxConcurrentRequests: service.maxConcurrentRequests },
    rateLimit: limit
      ? { requestsPerSecond: limit.ratePerSecond, burst: limit.burst, per: limit.per, scope: limit.scope, key: rateLimitKey(limit, service.name, caller) }
      : null,
  };
}

export function settingsLines(settings: SettingsView): string[] {
  const lines: string[] = [];
  for (const s of settings.services) {
    const r = s.retries;
    const retries =
      r.attempts <= 1
        ? "no retries"
        : `retries ${r.attempts} attempts (${r.source}) on ${r.retryOn.join(",")}${r.perTryTimeoutMs === null ? "" : `, ${formatDuration(r.perTryTimeoutMs)} per try`}${r.hedgeDelayMs === null ? "" : `, hedge after ${formatDuration(r.hedgeDelayMs)}`}${r.appliesToMethod ? "" : " (not for this method)"}, budget ${Math.round(r.budget.ratio * 100)}% + ${r.budget.minPerSecond}/s`;
    const outlier = s.outlierDetection
      ? `outlier detection ${s.outlierDetection.consecutive5xx}×5xx → eject ${formatDuration(s.outlierDetection.baseEjectionMs)} (max ${s.outlierDetection.maxEjectionPercent}%)`
      : "no outlier detection";
    const rate = s.rateLimit ? `rate limit ${s.rateLimit.requestsPerSecond}/s burst ${s.rateLimit.burst} per ${s.rateLimit.per} (${s.rateLimit.scope})` : "no rate limit";
    lines.push(
      `settings ${s.service}: timeout ${formatDuration(s.timeout.ms)} (${s.timeout.source}), ${retries}, ${outlier}, circuit breaker ${s.circuitBreaker.maxConcurrentRequests} in flight, ${rate}`,
    );
  }
  const fault = settings.fault;
  if (fault) {
    const parts = [fault.abort ? `abort ${fault.abort.percent}% with ${fault.abort.status}` : "", fault.delay ? `delay ${fault.delay.percent}% by ${formatDuration(fault.delay.ms)}` : ""].filter(Boolean);
    lines.push(`fault: ${parts.join(", ")}; ${fault.applies ? "applies to this request" : "not for this request (header conditions unmet)"}`);
  }
  const mirror = settings.mirror;
  if (mirror) lines.push(`mirror: ${mirror.percent}% copied to ${mirror.service}/${mirror.subset ?? "*"}`);
  return lines;
}
