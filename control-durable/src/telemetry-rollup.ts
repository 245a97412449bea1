/**
 * The arithmetic of telemetry rollups, with no I/O: merging series and counters, the time buckets
 * rows are filed under, what a compaction pass may move, and golden metrics over a set of rows.
 * The SQL layer (telemetry-store.ts) reads rows, hands them here and writes the results back.
 *
 * Everything here is additive (counts, sums, sketch bins, histogram buckets), which is what makes
 * rollups exact: a minute row merged into its hour row answers exactly as the minutes did.
 */
import { LatencySketch, type SketchData } from "../../wire/src/sketch.js";
import { isFailureLabel, statusLabel } from "../../wire/src/status-label.js";
import { DURATION_BUCKETS_MS, type GoldenMetrics, type SeriesKey, type TelemetryBatch } from "../../wire/src/telemetry.js";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Minute rows older than this are merged into hour rows. */
export const MINUTE_RETENTION_MS = DAY_MS;
/** Hour rows older than this are deleted. */
export const HOUR_RETENTION_MS = 7 * DAY_MS;
/** How long a batch id is remembered, so a retried batch is not counted twice. */
export const BATCH_ID_RETENTION_MS = HOUR_MS;
/** How often the compaction alarm runs while the object holds rollups. */
export const COMPACTION_INTERVAL_MS = 10 * MINUTE_MS;

/** Histogram slots: one per DURATION_BUCKETS_MS bound plus +Inf. */
export const BUCKET_SLOTS = DURATION_BUCKETS_MS.length + 1;

/** Cumulative counters the telemetry object keeps about what gateways had to give up. */
export const DROPPED_BATCHES_COUNTER = "telemetry_dropped_batches";
export const MERGED_BATCHES_COUNTER = "telemetry_merged_batches";
export const OVERFLOW_SERIES_COUNTER = "telemetry_overflow_series";

/** One request series' aggregate over some span (a batch, a minute, an hour, all time). */
export interface SeriesRollup extends SeriesKey {
  count: number;
  sumMs: number;
  sketch: SketchData;
  /** Per DURATION_BUCKETS_MS bucket, not cumulative, +Inf last (BUCKET_SLOTS entries). */
  buckets: number[];
}

export interface CounterRollup {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The minute a batch is filed under: the one its end falls in. */
export function minuteOf(epochMs: number): number {
  return Math.floor(epochMs / MINUTE_MS) * MINUTE_MS;
}

export function hourOf(epochMs: number): number {
  return Math.floor(epochMs / HOUR_MS) * HOUR_MS;
}

/** A stable identity for a series key (the same labels always give the same string). */
export function seriesId(key: SeriesKey): string {
  return JSON.stringify([key.source, key.destination, key.subset, key.route, key.code]);
}

/** Labels as stored and compared: JSON with keys sorted, so `{a,b}` and `{b,a}` are one counter. */
export function canonicalLabels(labels: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) sorted[key] = String(labels[key]);
  return JSON.stringify(sorted);
}

export function counterId(name: string, labels: Record<string, string>): string {
  return `${name}\u0000${canonicalLabels(labels)}`;
}

export function emptySketch(): SketchData {
  return new LatencySketch().toJSON();
}

/** Adds two histograms slot by slot (a short or missing one counts as zeros). */
export function mergeBuckets(a: readonly number[], b: readonly number[]): number[] {
  const merged = new Array<number>(Math.max(BUCKET_SLOTS, a.length, b.length)).fill(0);
  for (let i = 0; i < merged.length; i++) merged[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return merged;
}

export function mergeSketches(a: SketchData, b: SketchData): SketchData {
  const sketch = LatencySketch.fromJSON(a);
  sketch.merge(b);
  return sketch.toJSON();
}

/** `into` plus `add` (same key); neither argument is changed. */
export function mergeSeries(into: SeriesRollup, add: SeriesRollup): SeriesRollup {
  return {
    source: into.source,
    destination: into.destination,
    subset: into.subset,
    route: into.route,
    code: into.code,
    count: into.count + add.count,
    sumMs: into.sumMs + add.sumMs,
    sketch: mergeSketches(into.sketch, add.sketch),
    buckets: mergeBuckets(into.buckets, add.buckets),
  };
}

/** Merges rows that share a series key into one row each (keyed by `seriesId`). */
export function mergeSeriesRows(rows: readonly SeriesRollup[]): Map<string, SeriesRollup> {
  const merged = new Map<string, SeriesRollup>();
  for (const row of rows) {
    const id = seriesId(row);
    const seen = merged.get(id);
    merged.set(id, seen ? mergeSeries(seen, row) : mergeSeries(emptyLike(row), row));
  }
  return merged;
}

/** Sums counters that share a name and labels (keyed by `counterId`). */
export function mergeCounterRows(rows: readonly CounterRollup[]): Map<string, CounterRollup> {
  const merged = new Map<string, CounterRollup>();
  for (const row of rows) {
    const id = counterId(row.name, row.labels);
    const seen = merged.get(id);
    if (seen) seen.value += row.value;
    else merged.set(id, { name: row.name, labels: JSON.parse(canonicalLabels(row.labels)) as Record<string, string>, value: row.value });
  }
  return merged;
}

function emptyLike(key: SeriesKey): SeriesRollup {
  return { source: key.source, destination: key.destination, subset: key.subset, route: key.route, code: key.code, count: 0, sumMs: 0, sketch: emptySketch(), buckets: new Array<number>(BUCKET_SLOTS).fill(0) };
}

/**
 * Prometheus histogram buckets: cumulative per DURATION_BUCKETS_MS bound, then +Inf, which is
 * always `count` (so the series is monotonic and ends at the request count even if a gateway
 * sent a histogram that does not add up).
 */
export function cumulativeBuckets(buckets: readonly number[], count: number): number[] {
  const cumulative: number[] = [];
  let running = 0;
  for (let i = 0; i < DURATION_BUCKETS_MS.length; i++) {
    running += buckets[i] ?? 0;
    cumulative.push(Math.min(running, count));
  }
  cumulative.push(count);
  return cumulative;
}

/** Golden metrics of `rows` over a window of `windowMs` (Linkerd's success rate: not 5xx, folded "5xx" included). */
export function goldenMetrics(rows: readonly SeriesRollup[], windowMs: number): GoldenMetrics {
  let requests = 0;
  let failures = 0;
  const sketch = new LatencySketch();
  for (const row of rows) {
    requests += row.count;
    if (isFailureLabel(row.code)) failures += row.count;
    sketch.merge(row.sketch);
  }
  const quantile = (q: number): number | null => (sketch.count > 0 ? sketch.quantile(q) : null);
  return {
    requests,
    requestsPerSecond: windowMs > 0 ? requests / (windowMs / 1000) : 0,
    successRate: requests > 0 ? (requests - failures) / requests : null,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
    p99Ms: quantile(0.99),
  };
}

/** Groups rows by a label, sorted by it. */
export function groupRows<T>(rows: readonly T[], keyOf: (row: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * What a compaction pass at `now` does. Only minutes of *complete* hours that are wholly older
 * than the minute retention move (minute < `moveMinutesBefore`), so a pass moves each minute row
 * exactly once and a second pass at the same instant finds nothing left to move.
 */
export interface CompactionPlan {
  /** Minute rows with `minute` below this are merged into their hour row and deleted. */
  moveMinutesBefore: number;
  /** Hour rows with `hour` below this are deleted. */
  deleteHoursBefore: number;
  /** Batch ids received before this are forgotten. */
  forgetBatchesBefore: number;
}

export function compactionPlan(now: number): CompactionPlan {
  return {
    moveMinutesBefore: hourOf(now - MINUTE_RETENTION_MS),
    deleteHoursBefore: now - HOUR_RETENTION_MS,
    forgetBatchesBefore: now - BATCH_ID_RETENTION_MS,
  };
}

/**
 * The rows a window reads: minute rows from `since` on, and hour rows that overlap the window
 * (an hour row is counted whole: hour rows only exist for data older than a day, where an
 * hour's resolution is what is kept).
 */
export function windowBounds(now: number, windowMs: number): { minutesFrom: number; hoursFrom: number } {
  const since = now - windowMs;
  return { minutesFrom: since, hoursFrom: hourOf(since) };
}

/** Why a batch cannot be stored, or null when it can. Checked before anything is written. */
export function batchProblem(batch: TelemetryBatch): string | null {
  if (typeof batch.batchId !== "string" || batch.batchId.length === 0) return "batchId is required";
  if (!Number.isFinite(batch.to)) return "to must be an epoch time in ms";
  if (!Array.isArray(batch.series) || !Array.isArray(batch.counters)) return "series and counters must be arrays";
  for (const series of batch.series) {
    if (!isCount(series.count)) return `series ${seriesId(series)}: count must be a non-negative integer`;
    if (!Number.isFinite(series.sumMs)) return `series ${seriesId(series)}: sumMs must be a number`;
    if (!Array.isArray(series.buckets) || !series.buckets.every(isCount)) return `series ${seriesId(series)}: buckets must be non-negative integers`;
    if (!series.latency || typeof series.latency !== "object" || series.latency.relativeAccuracy !== emptySketch().relativeAccuracy) return `series ${seriesId(series)}: latency must be a sketch with the default accuracy`;
  }
  for (const counter of batch.counters) {
    if (typeof counter.name !== "string" || !Number.isFinite(counter.value)) return `counter ${String(counter.name)}: name and value are required`;
  }
  return null;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/** A batch's series as rollups (duplicates of one key merged). */
export function batchSeries(batch: TelemetryBatch): SeriesRollup[] {
  const rows = batch.series.map((series) => ({
    source: series.source,
    destination: series.destination,
    subset: series.subset,
    route: series.route,
    // Folded again here (idempotent), so the object stays bounded whatever a batch carries.
    code: statusLabel(series.code),
    count: series.count,
    sumMs: series.sumMs,
    sketch: series.latency,
    buckets: series.buckets,
  }));
  return [...mergeSeriesRows(rows).values()];
}

/**
 * A batch's counters, plus what the gateway reports it gave up (labelled with the destination,
 * so the totals of every shard can sit side by side in one Prometheus exposition).
 */
export function batchCounters(batch: TelemetryBatch): CounterRollup[] {
  const rows: CounterRollup[] = batch.counters.map((counter) => ({ name: counter.name, labels: counter.labels, value: counter.value }));
  const dropped: { mergedBatches?: number; overflowSeries?: number; droppedBatches?: number } = batch.dropped ?? {};
  const loss: [string, number | undefined][] = [
    [DROPPED_BATCHES_COUNTER, dropped.droppedBatches],
    [MERGED_BATCHES_COUNTER, dropped.mergedBatches],
    [OVERFLOW_SERIES_COUNTER, dropped.overflowSeries],
  ];
  for (const [name, value] of loss) {
    if (typeof value === "number" && Number.isFinite(value) && value > 0) rows.push({ name, labels: { destination: batch.destination }, value });
  }
  return [...mergeCounterRows(rows).values()];
}
