/**
 * The isolate's resilience memory: one retry budget and one outlier detector per destination
 * service, in-flight counts per service and per endpoint, and rate-limit buckets. Like every
 * isolate cache it is never the truth: a new isolate starts with fresh budgets and no ejections.
 * Settings come from the snapshot in use and are updated in place when a new version arrives,
 * so state (ejections, counts) survives config changes.
 */
import type { CompiledOutlierDetection, CompiledRetryBudget, CompiledService } from "../routing/snapshot.js";
import { InFlight } from "./concurrency.js";
import { OutlierDetector, type EndpointHealth } from "./outlier.js";
import { RetryBudget } from "./retry-budget.js";
import { BucketMap } from "./token-bucket.js";

/** Most distinct rate-limit keys kept per isolate (per-caller limits): least recently used go first. */
export const MAX_RATE_LIMIT_KEYS = 10_000;

export interface EndpointHealthView {
  health: EndpointHealth;
  consecutiveFailures: number;
  timesEjected: number;
  ejectedUntil: string | null;
  inFlight: number;
}

export class ResilienceState {
  /** Attempts in flight per endpoint id (least-request balancing). */
  readonly endpointsInFlight = new InFlight();
  /** Requests in flight per service name (the circuit breaker's concurrency limit). */
  readonly servicesInFlight = new InFlight();
  readonly buckets = new BucketMap(MAX_RATE_LIMIT_KEYS);
  private readonly budgets = new Map<string, { budget: RetryBudget; settings: CompiledRetryBudget }>();
  private readonly detectors = new Map<string, { detector: OutlierDetector; settings: CompiledOutlierDetection }>();

  budget(service: CompiledService, now: number): RetryBudget {
    const entry = this.budgets.get(service.name);
    if (!entry) {
      const budget = new RetryBudget(service.retryBudget, now);
      this.budgets.set(service.name, { budget, settings: service.retryBudget });
      return budget;
    }
    if (entry.settings !== service.retryBudget) {
      entry.budget.updateSettings(service.retryBudget);
      entry.settings = service.retryBudget;
    }
    return entry.budget;
  }

  /** How much this state holds, for the isolate's figures (docs/reliability.md#what-an-isolate-keeps). */
  sizes(): { rateLimitBuckets: number; outlierEndpoints: number; retryBudgets: number; outlierDetectors: number; endpointsInFlight: number; servicesInFlight: number } {
    let outlierEndpoints = 0;
    for (const { detector } of this.detectors.values()) outlierEndpoints += detector.size;
    return {
      rateLimitBuckets: this.buckets.size,
      outlierEndpoints,
      retryBudgets: this.budgets.size,
      outlierDetectors: this.detectors.size,
      endpointsInFlight: this.endpointsInFlight.size,
      servicesInFlight: this.servicesInFlight.size,
    };
  }

  /** The destination's fleet-wide request rate, for its retry budget's floor (retry-budget.ts). */
  noteFleetRate(service: string, requestsPerSecond: number, now: number): void {
    this.budgets.get(service)?.budget.noteFleetRate(requestsPerSecond, now);
  }

  /** The service's outlier detector; undefined when the service has outlier detection off. */
  detector(service: CompiledService): OutlierDetector | undefined {
    const settings = service.outlierDetection;
    if (!settings) return undefined;
    const entry = this.detectors.get(service.name);
    if (!entry) {
      const detector = new OutlierDetector(settings);
      this.detectors.set(service.name, { detector, settings });
      return detector;
    }
    if (entry.settings !== settings) {
      entry.detector.updateSettings(settings);
      entry.settings = settings;
    }
    return entry.detector;
  }

  /** What this isolate knows of an endpoint's health (for the services view). */
  endpointView(service: CompiledService, endpointId: string, now: number): EndpointHealthView {
    const detector = this.detector(service);
    const view = detector?.view(endpointId, now);
    return {
      health: view?.health ?? "healthy",
      consecutiveFailures: view?.consecutiveFailures ?? 0,
      timesEjected: view?.timesEjected ?? 0,
      ejectedUntil: view?.ejectedUntil === undefined ? null : new Date(view.ejectedUntil).toISOString(),
      inFlight: this.endpointsInFlight.get(endpointId),
    };
  }

  retryBudgetView(service: CompiledService, now: number): { requests: number; retries: number; allowance: number } {
    return this.budget(service, now).view(now);
  }
}

