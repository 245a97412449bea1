/**
 * What gateways send to the telemetry objects: aggregates per flush interval, never one record
 * per request. One batch per destination service per flush (the objects are sharded by it).
 */
import type { SketchData } from "./sketch.js";
import type { StatusLabel } from "./status-label.js";

export type { StatusClass, StatusLabel } from "./status-label.js";

/** Upper bounds (ms) of the Prometheus histogram `weft_request_duration_seconds` (written in seconds); +Inf is implied. */
export const DURATION_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

/** The labels of one request series. `source` is a service name or "anonymous". */
export interface SeriesKey {
  source: string;
  destination: string;
  /** Subset that answered, or "" when the mesh answered before choosing one. */
  subset: string;
  /**
   * The Route document and the rule that matched, as `<route>/<rule>` (the rule's name, or `#<index>`;
   * see routeLabelOf); "" when no rule matched, `(shadow)` for a mirrored copy.
   */
  route: string;
  /**
   * HTTP status the caller received: common codes as themselves, rare ones folded into their
   * class ("5xx"), so clients cannot mint series (status-label.ts; the recorder folds).
   */
  code: StatusLabel;
}

export interface SeriesAggregate extends SeriesKey {
  count: number;
  /** Latency sketch (ms), ≤ 1% relative error. */
  latency: SketchData;
  /** Counts per DURATION_BUCKETS_MS bucket (not cumulative), plus one for +Inf at the end. */
  buckets: number[];
  sumMs: number;
}

/** Event counters beside the request series. */
export type CounterName = "retries" | "ejections" | "rate_limited" | "authn_failures" | "authz_denials" | "hedges";

export interface CounterAggregate {
  name: CounterName;
  /** e.g. { destination, source } or { reason } for authentication failures. */
  labels: Record<string, string>;
  value: number;
}

export interface TelemetryBatch {
  /** Unique per batch, so a batch retried after an unclear failure is not counted twice. */
  batchId: string;
  /** Destination service this batch is about (the shard). */
  destination: string;
  /** Time span the batch covers (epoch ms). */
  from: number;
  to: number;
  series: SeriesAggregate[];
  counters: CounterAggregate[];
  /** Detail the isolate had to give up while the telemetry objects were unreachable. */
  dropped: { mergedBatches: number; overflowSeries: number; /** Batches given up whole (nothing to merge them into). */ droppedBatches?: number };
}

/** Golden metrics over a window, for one service or one caller→destination edge. */
export interface GoldenMetrics {
  requests: number;
  requestsPerSecond: number;
  /** Share of answers that were not 5xx (Linkerd's success rate). */
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/**
 * A request series' `route` label: the Route document's name, "/", and the rule's name or its
 * index (`#0`). Route names cannot hold "/", so the label splits back at its first one.
 */
export function routeLabelOf(routeName: string, ruleName: string | undefined, ruleIndex: number): string {
  return `${routeName}/${ruleName ?? `#${ruleIndex}`}`;
}

/** A `route` label's two parts; a label with no "/" (none, or `(shadow)`) is all route. */
export function routeLabelParts(label: string): { route: string; rule: string } {
  const slash = label.indexOf("/");
  return slash < 0 ? { route: label, rule: "" } : { route: label.slice(0, slash), rule: label.slice(slash + 1) };
}
