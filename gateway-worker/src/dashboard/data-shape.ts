/**
 * The JSON document /.weft/dashboard/data answers with: written by data.ts in the Worker, read by
 * the page's script (client/app.ts) in the browser. Types only, importing only types that are
 * themselves plain data, so both the Worker's and the browser's type-check read this one definition.
 */
import type { ConfigDiff, RegistryEndpoint, RegistryService, VersionRecord } from "../../../control-durable/src/types.js";
import type { GoldenMetrics } from "../../../wire/src/telemetry.js";
import type { RolloutView } from "../../../wire/src/rollouts.js";

export type { ConfigDiff, GoldenMetrics, RolloutView };

export interface HistoryEntry extends VersionRecord {
  /** What changed from the version before (from nothing for version 1); null when unreadable. */
  diff: ConfigDiff | null;
}

export interface EndpointView extends RegistryEndpoint {
  /** As the admin API reports it: healthy, ejected, probing, configured or missing-binding. */
  status: string;
  consecutiveFailures?: number;
  timesEjected?: number;
  ejectedUntil?: string | null;
  inFlight?: number;
}

export interface ServiceView extends Omit<RegistryService, "subsets"> {
  subsets: { name: string; endpoints: EndpointView[] }[];
  inFlight?: number;
  retryBudget?: { requests: number; retries: number; allowance: number };
}

/** Event counters of one destination over the window, summed over their labels. */
export interface CounterTotals {
  retries: number;
  hedges: number;
  ejections: number;
  rateLimited: number;
  authnFailures: number;
  authzDenials: number;
}

export interface ServiceTelemetry {
  service: string;
  golden: GoldenMetrics;
  bySubset: { subset: string; golden: GoldenMetrics }[];
  counters: CounterTotals;
}

/** One Route document's rule as a destination's telemetry object counted it. */
export interface RouteTelemetry {
  /** The destination whose requests these are. */
  service: string;
  route: string;
  /** The rule's name, or `#<index>`. */
  rule: string;
  golden: GoldenMetrics;
}

export interface EdgeTelemetry {
  source: string;
  destination: string;
  golden: GoldenMetrics;
  /** Requests on this edge refused by an authorization policy in the window. */
  denials: number;
}

export interface Denial {
  source: string;
  destination: string;
  count: number;
}

export interface DashboardData {
  generatedAt: string;
  config: { version: number | null; createdAt: string | null; history: HistoryEntry[] };
  /** Health is what this gateway isolate has seen; other isolates keep their own view. */
  healthScope: "isolate";
  services: ServiceView[];
  telemetry: { windowMs: number; services: ServiceTelemetry[]; edges: EdgeTelemetry[]; routes: RouteTelemetry[] };
  /** Authorization denials in the telemetry window, most first. */
  denials: Denial[];
  /** Each rollout of the current config: where it is and its recent checks. */
  rollouts: RolloutView[];
  /** Parts that could not be read this time, in words. */
  problems: string[];
}
