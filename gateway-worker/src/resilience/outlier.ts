/**
 * Envoy's outlier detection (passive health checking), per isolate: an endpoint that keeps failing
 * is taken out of its pool for a while, longer each time, so callers stop paying for a broken
 * instance without waiting for the control plane to notice. Envoy un-ejects on a timer; here the
 * first pick after the ejection time is a single probe (Linkerd's failure-accrual probation), so a
 * still-broken endpoint costs one request, not a burst, when it comes back.
 *
 * Memory is kept only for endpoints that have failed: a healthy endpoint with clean counters and no
 * ejection history has no entry.
 */

export interface OutlierSettings {
  /** Consecutive 5xx (gateway errors included) that eject an endpoint, >= 1 (default 5). */
  consecutive5xx: number;
  /** Consecutive gateway errors that eject an endpoint; undefined turns the rule off (default). */
  consecutiveGatewayErrors: number | undefined;
  /** First ejection, ms; the n-th lasts n × this (default 30_000). */
  baseEjectionMs: number;
  /** Cap on one ejection, ms; also how long an endpoint must stay healthy to have its history forgotten (default 300_000). */
  maxEjectionMs: number;
  /** Most of a pool that may be ejected at once, percent; 0 never ejects (default 50). */
  maxEjectionPercent: number;
}

/** gateway-error = 502/503/504, connect failure, timeout (it also counts as a 5xx); server-error = any other 5xx. */
export type OutlierResult = "success" | "server-error" | "gateway-error";
export type EndpointHealth = "healthy" | "ejected" | "probing";

interface EndpointState {
  poolKey: string;
  consecutive5xx: number;
  consecutiveGatewayErrors: number;
  timesEjected: number;
  /** Set from ejection until a probe succeeds, even after the time has passed. */
  ejectedUntil: number | undefined;
  probePickedAt: number | undefined;
  restoredAt: number | undefined;
}

export class OutlierDetector {
  private readonly states = new Map<string, EndpointState>();

  constructor(private settings: OutlierSettings) {}

  updateSettings(settings: OutlierSettings): void {
    this.settings = settings;
  }

  /**
   * May this endpoint be picked now? Healthy: yes. Ejected before its time: no. Ejection time
   * passed: yes, unless the probe is in flight (a probe silent for baseEjectionMs frees the slot,
   * so a lost report cannot eject an endpoint forever). Does not mutate.
   */
  isAvailable(endpointId: string, now: number): boolean {
    const state = this.states.get(endpointId);
    if (state?.ejectedUntil === undefined) return true;
    return now >= state.ejectedUntil && !this.probeInFlight(state, now);
  }

  /** The balancer picked it: when its ejection has expired, this pick is the single probe. */
  onPicked(endpointId: string, now: number): void {
    const state = this.states.get(endpointId);
    if (state?.ejectedUntil === undefined || now < state.ejectedUntil || this.probeInFlight(state, now)) return;
    state.probePickedAt = now;
  }

  /**
   * Reports an attempt's result. poolKey/poolSize: the subset pool the endpoint belongs to, for
   * the max-ejection-percentage rule. Returns what changed.
   */
  record(endpointId: string, poolKey: string, poolSize: number, result: OutlierResult, now: number): "ejected" | "restored" | "unchanged" {
    const existing = this.states.get(endpointId);
    if (existing?.ejectedUntil !== undefined) {
      // Requests sent before the ejection may still report in; only the probe's result counts.
      if (now < existing.ejectedUntil) return "unchanged";
      existing.poolKey = poolKey;
      if (result === "success") return this.restore(existing, now);
      // A failed probe has already proven the endpoint broken: no need to reach the threshold again.
      this.eject(existing, now);
      return "ejected";
    }

    if (result === "success") {
      if (existing) this.resetAfterSuccess(endpointId, existing, now);
      return "unchanged";
    }

    const state = existing ?? this.track(endpointId, poolKey);
    state.poolKey = poolKey;
    state.consecutive5xx++;
    state.consecutiveGatewayErrors = result === "gateway-error" ? state.consecutiveGatewayErrors + 1 : 0;
    const gatewayLimit = this.settings.consecutiveGatewayErrors;
    const tripped = state.consecutive5xx >= this.settings.consecutive5xx || (gatewayLimit !== undefined && state.consecutiveGatewayErrors >= gatewayLimit);
    // At the pool's limit the counters keep growing, so the endpoint goes as soon as a slot frees.
    if (!tripped || this.ejectedCount(poolKey, now) >= this.ejectionLimit(poolSize)) return "unchanged";
    this.eject(state, now);
    return "ejected";
  }

  view(endpointId: string, now: number): { health: EndpointHealth; consecutiveFailures: number; timesEjected: number; ejectedUntil: number | undefined } {
    const state = this.states.get(endpointId);
    if (!state) return { health: "healthy", consecutiveFailures: 0, timesEjected: 0, ejectedUntil: undefined };
    return {
      health: this.health(state, now),
      consecutiveFailures: state.consecutive5xx,
      timesEjected: this.historyForgotten(state, now) ? 0 : state.timesEjected,
      ejectedUntil: state.ejectedUntil,
    };
  }

  /**
   * Endpoints of the pool counted as ejected: from ejection until a probe restores them, whatever
   * the time, since an unproven endpoint must not free a slot for another. `now` is unused, kept
   * so every query reads the same way.
   */
  ejectedCount(poolKey: string, now: number): number {
    let count = 0;
    for (const state of this.states.values()) {
      if (state.poolKey === poolKey && state.ejectedUntil !== undefined) count++;
    }
    return count;
  }

  /** Endpoints with state kept (failed at least once and not yet forgotten): the memory bound. */
  get size(): number {
    return this.states.size;
  }

  /** Envoy's rule, except a pool of one may still eject its endpoint (max(1, …)). */
  private ejectionLimit(poolSize: number): number {
    const percent = this.settings.maxEjectionPercent;
    return percent <= 0 ? 0 : Math.max(1, Math.floor((poolSize * percent) / 100));
  }

  private health(state: EndpointState, now: number): EndpointHealth {
    if (state.ejectedUntil === undefined) return "healthy";
    return now >= state.ejectedUntil && this.probeInFlight(state, now) ? "probing" : "ejected";
  }

  private probeInFlight(state: EndpointState, now: number): boolean {
    return state.probePickedAt !== undefined && now - state.probePickedAt < this.settings.baseEjectionMs;
  }

  /** Healthy for maxEjectionMs since the last restore: past ejections no longer lengthen the next. */
  private historyForgotten(state: EndpointState, now: number): boolean {
    return state.ejectedUntil === undefined && state.restoredAt !== undefined && now - state.restoredAt >= this.settings.maxEjectionMs;
  }

  private eject(state: EndpointState, now: number): void {
    if (this.historyForgotten(state, now)) state.timesEjected = 0;
    state.timesEjected++;
    state.ejectedUntil = now + Math.min(this.settings.baseEjectionMs * state.timesEjected, this.settings.maxEjectionMs);
    state.probePickedAt = undefined;
    state.consecutive5xx = 0;
    state.consecutiveGatewayErrors = 0;
  }

  private restore(state: EndpointState, now: number): "restored" {
    state.ejectedUntil = undefined;
    state.probePickedAt = undefined;
    state.restoredAt = now;
    state.consecutive5xx = 0;
    state.consecutiveGatewayErrors = 0;
    return "restored";
  }

  private resetAfterSuccess(endpointId: string, state: EndpointState, now: number): void {
    state.consecutive5xx = 0;
    state.consecutiveGatewayErrors = 0;
    if (this.historyForgotten(state, now)) state.timesEjected = 0;
    if (state.timesEjected === 0) this.states.delete(endpointId);
  }

  private track(endpointId: string, poolKey: string): EndpointState {
    const state: EndpointState = { poolKey, consecutive5xx: 0, consecutiveGatewayErrors: 0, timesEjected: 0, ejectedUntil: undefined, probePickedAt: undefined, restoredAt: undefined };
    this.states.set(endpointId, state);
    return state;
  }
}
