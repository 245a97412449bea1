/**
 * Telemetry rollups of one destination service in SQLite (the telemetry object's own database).
 *
 * - `telemetry_series` / `telemetry_counters`: rollup rows at two resolutions, minute rows for the
 *   last day, hour rows for the last week; `resolution` is the row's span in ms.
 * - `telemetry_series_totals` / `telemetry_counter_totals`: cumulative since the object began,
 *   never compacted; they are the monotonic counters the Prometheus endpoint exposes.
 * - `telemetry_batches`: batch ids seen in the last hour, so a retried batch counts once.
 *
 * The merge arithmetic lives in telemetry-rollup.ts; this class only reads and writes rows. Methods
 * that write several statements run inside the `transact` function the object hands in.
 */
import type { SketchData } from "../../wire/src/sketch.js";
import { statusLabel } from "../../wire/src/status-label.js";
import { routeLabelParts, type GoldenMetrics, type StatusLabel, type TelemetryBatch } from "../../wire/src/telemetry.js";
import {
  batchCounters,
  batchProblem,
  batchSeries,
  canonicalLabels,
  compactionPlan,
  cumulativeBuckets,
  goldenMetrics,
  groupRows,
  HOUR_MS,
  hourOf,
  mergeBuckets,
  mergeCounterRows,
  mergeSeries,
  mergeSeriesRows,
  MINUTE_MS,
  minuteOf,
  windowBounds,
  type CounterRollup,
  type SeriesRollup,
} from "./telemetry-rollup.js";

// `code` columns hold the status label: a number for common codes, text for a folded class
// ("5xx"); SQLite keeps text that is not a number as text in an INTEGER column, so tables created
// before folding existed need no migration.
export const TELEMETRY_SCHEMA_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS telemetry_batches (
     batch_id    TEXT    PRIMARY KEY,
     received_at INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS telemetry_batches_received ON telemetry_batches (received_at)`,
  `CREATE TABLE IF NOT EXISTS telemetry_series (
     resolution  INTEGER NOT NULL,
     at          INTEGER NOT NULL,
     source      TEXT    NOT NULL,
     destination TEXT    NOT NULL,
     subset      TEXT    NOT NULL,
     route       TEXT    NOT NULL,
     code        INTEGER NOT NULL,
     count       INTEGER NOT NULL,
     sum_ms      REAL    NOT NULL,
     sketch      TEXT    NOT NULL,
     buckets     TEXT    NOT NULL,
     PRIMARY KEY (resolution, at, source, destination, subset, route, code)
   )`,
  `CREATE TABLE IF NOT EXISTS telemetry_counters (
     resolution INTEGER NOT NULL,
     at         INTEGER NOT NULL,
     name       TEXT    NOT NULL,
     labels     TEXT    NOT NULL,
     value      REAL    NOT NULL,
     PRIMARY KEY (resolution, at, name, labels)
   )`,
  `CREATE TABLE IF NOT EXISTS telemetry_series_totals (
     source      TEXT    NOT NULL,
     destination TEXT    NOT NULL,
     subset      TEXT    NOT NULL,
     route       TEXT    NOT NULL,
     code        INTEGER NOT NULL,
     count       INTEGER NOT NULL,
     sum_ms      REAL    NOT NULL,
     buckets     TEXT    NOT NULL,
     PRIMARY KEY (source, destination, subset, route, code)
   )`,
  `CREATE TABLE IF NOT EXISTS telemetry_counter_totals (
     name   TEXT NOT NULL,
     labels TEXT NOT NULL,
     value  REAL NOT NULL,
     PRIMARY KEY (name, labels)
   )`,
  `CREATE TABLE IF NOT EXISTS telemetry_meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   )`,
] as const;

export function migrateTelemetry(sql: SqlStorage): void {
  for (const statement of TELEMETRY_SCHEMA_STATEMENTS) sql.exec(statement);
}

export interface TelemetryQuery {
  /** How far back to look, in ms (> 0). Windows past a day read hour rows, at hour resolution. */
  windowMs: number;
  /** End of the window (epoch ms); default now. */
  now?: number;
  /** Only rows whose destination is this service; also the name the view reports. */
  service?: string;
}

export interface CounterView {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface TelemetryView {
  /** The service asked for, else the destination this object has stored batches for. */
  service: string;
  windowMs: number;
  golden: GoldenMetrics;
  bySubset: { subset: string; golden: GoldenMetrics }[];
  /** Per Route document and rule that matched (route "" : none matched; "(shadow)": mirrored copies). */
  byRoute: { route: string; rule: string; golden: GoldenMetrics }[];
  edges: { source: string; destination: string; golden: GoldenMetrics }[];
  counters: CounterView[];
}

export interface SeriesTotal {
  source: string;
  destination: string;
  subset: string;
  route: string;
  code: StatusLabel;
  count: number;
  sumMs: number;
  /** Cumulative per DURATION_BUCKETS_MS bound, then +Inf (= count). */
  buckets: number[];
}

export interface TotalsView {
  series: SeriesTotal[];
  counters: CounterView[];
}

/** What one compaction pass did; all zeros when there was nothing to do. */
export interface CompactionResult {
  minuteRowsMoved: number;
  hourRowsWritten: number;
  hourRowsDeleted: number;
  batchIdsForgotten: number;
}

export type IngestResult = { accepted: true; duplicate: boolean } | { accepted: false; reason: string };

interface SeriesRow extends Record<string, SqlStorageValue> {
  resolution: number;
  at: number;
  source: string;
  destination: string;
  subset: string;
  route: string;
  code: number | string;
  count: number;
  sum_ms: number;
  sketch: string;
  buckets: string;
}

interface CounterRow extends Record<string, SqlStorageValue> {
  resolution: number;
  at: number;
  name: string;
  labels: string;
  value: number;
}

interface SeriesTotalRow extends Record<string, SqlStorageValue> {
  source: string;
  destination: string;
  subset: string;
  route: string;
  code: number | string;
  count: number;
  sum_ms: number;
  buckets: string;
}

type StoredSeries = SeriesRollup & { resolution: number; at: number };
type StoredCounter = CounterRollup & { resolution: number; at: number };

const SERIES_KEY_WHERE = "source = ? AND destination = ? AND subset = ? AND route = ? AND code = ?";

export class TelemetryStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly transact: <T>(work: () => T) => T,
  ) {}

  /**
   * Stores a batch once: its series and counters go into the minute row of `batch.to` and into
   * the cumulative totals, all in one transaction with the batch id, so a repeat is a no-op.
   */
  ingest(batch: TelemetryBatch, receivedAt: number): IngestResult {
    const problem = batchProblem(batch);
    if (problem) return { accepted: false, reason: problem };
    return this.transact(() => {
      const seen = this.sql.exec("SELECT 1 AS seen FROM telemetry_batches WHERE batch_id = ?", batch.batchId).toArray();
      if (seen.length > 0) return { accepted: true, duplicate: true };
      this.sql.exec("INSERT INTO telemetry_batches (batch_id, received_at) VALUES (?, ?)", batch.batchId, receivedAt);
      this.sql.exec("INSERT INTO telemetry_meta (key, value) VALUES ('service', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", batch.destination);
      const minute = minuteOf(batch.to);
      for (const series of batchSeries(batch)) {
        this.addSeries(MINUTE_MS, minute, series);
        this.addSeriesTotal(series);
      }
      for (const counter of batchCounters(batch)) {
        this.addCounter(MINUTE_MS, minute, counter);
        this.addCounterTotal(counter);
      }
      return { accepted: true, duplicate: false };
    });
  }

  /**
   * The destination's requests per second across every gateway isolate over the current and the
   * previous minute (what each isolate's retry budget scales its floor by; see retry-budget.ts).
   */
  fleetRequestsPerSecond(now: number): number {
    const since = minuteOf(now) - MINUTE_MS;
    const row = this.sql.exec<{ n: number | null }>("SELECT SUM(count) AS n FROM telemetry_series WHERE resolution = ? AND at >= ?", MINUTE_MS, since).one();
    return (row.n ?? 0) / Math.max(1, (now - since) / 1000);
  }

  /** Golden metrics over the window, for the service, per subset and per caller→destination edge. */
  query(request: TelemetryQuery): TelemetryView {
    const windowMs = request.windowMs;
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError("windowMs must be a positive number of ms");
    const now = request.now ?? Date.now();
    const { minutesFrom, hoursFrom } = windowBounds(now, windowMs);
    const service = request.service;
    const destinationFilter = service === undefined ? "" : " AND destination = ?";
    const filterArgs = service === undefined ? [] : [service];
    const series = this.sql
      .exec<SeriesRow>(
        `SELECT * FROM telemetry_series WHERE ((resolution = ? AND at >= ?) OR (resolution = ? AND at >= ?)) AND at <= ?${destinationFilter}`,
        MINUTE_MS,
        minutesFrom,
        HOUR_MS,
        hoursFrom,
        now,
        ...filterArgs,
      )
      .toArray()
      .map(parseSeriesRow);
    // Counters carry arbitrary labels, so a service filter applies to those labelled with a destination.
    const counters = this.sql
      .exec<CounterRow>(`SELECT * FROM telemetry_counters WHERE ((resolution = ? AND at >= ?) OR (resolution = ? AND at >= ?)) AND at <= ?`, MINUTE_MS, minutesFrom, HOUR_MS, hoursFrom, now)
      .toArray()
      .map(parseCounterRow)
      .filter((counter) => service === undefined || counter.labels.destination === undefined || counter.labels.destination === service);
    return {
      service: service ?? this.storedService(),
      windowMs,
      golden: goldenMetrics(series, windowMs),
      bySubset: groupRows(series, (row) => row.subset).map(([subset, rows]) => ({ subset, golden: goldenMetrics(rows, windowMs) })),
      byRoute: groupRows(series, (row) => row.route).map(([label, rows]) => ({ ...routeLabelParts(label), golden: goldenMetrics(rows, windowMs) })),
      edges: groupRows(series, (row) => JSON.stringify([row.source, row.destination])).map(([, rows]) => ({
        source: (rows[0] as SeriesRollup).source,
        destination: (rows[0] as SeriesRollup).destination,
        golden: goldenMetrics(rows, windowMs),
      })),
      counters: sortCounters([...mergeCounterRows(counters).values()]),
    };
  }

  /** Cumulative series and counters since the object began (Prometheus counters and histograms). */
  totals(): TotalsView {
    const series = this.sql
      .exec<SeriesTotalRow>("SELECT * FROM telemetry_series_totals ORDER BY source, destination, subset, route, code")
      .toArray()
      .map((row) => ({
        source: row.source,
        destination: row.destination,
        subset: row.subset,
        route: row.route,
        // Rows written before codes were folded may hold a rare code: fold it on the way out too.
        code: statusLabel(row.code),
        count: row.count,
        sumMs: row.sum_ms,
        buckets: cumulativeBuckets(parseBuckets(row.buckets), row.count),
      }));
    const counters = this.sql
      .exec<{ name: string; labels: string; value: number }>("SELECT name, labels, value FROM telemetry_counter_totals ORDER BY name, labels")
      .toArray()
      .map((row) => ({ name: row.name, labels: parseLabels(row.labels), value: row.value }));
    return { series, counters };
  }

  /**
   * Moves minute rows of complete hours older than a day into hour rows, deletes hour rows older
   * than a week and forgets batch ids older than an hour; one transaction. Idempotent: the moved
   * minutes are deleted in the same transaction, so a second pass at the same time does nothing.
   */
  compact(now: number): CompactionResult {
    const plan = compactionPlan(now);
    return this.transact(() => {
      const minuteSeries = this.sql.exec<SeriesRow>("SELECT * FROM telemetry_series WHERE resolution = ? AND at < ?", MINUTE_MS, plan.moveMinutesBefore).toArray().map(parseSeriesRow);
      const minuteCounters = this.sql.exec<CounterRow>("SELECT * FROM telemetry_counters WHERE resolution = ? AND at < ?", MINUTE_MS, plan.moveMinutesBefore).toArray().map(parseCounterRow);
      let hourRowsWritten = 0;
      for (const [hour, rows] of groupRows(minuteSeries, (row) => String(hourOf(row.at)))) {
        for (const series of mergeSeriesRows(rows).values()) {
          this.addSeries(HOUR_MS, Number(hour), series);
          hourRowsWritten++;
        }
      }
      for (const [hour, rows] of groupRows(minuteCounters, (row) => String(hourOf(row.at)))) {
        for (const counter of mergeCounterRows(rows).values()) {
          this.addCounter(HOUR_MS, Number(hour), counter);
          hourRowsWritten++;
        }
      }
      this.sql.exec("DELETE FROM telemetry_series WHERE resolution = ? AND at < ?", MINUTE_MS, plan.moveMinutesBefore);
      this.sql.exec("DELETE FROM telemetry_counters WHERE resolution = ? AND at < ?", MINUTE_MS, plan.moveMinutesBefore);
      let hourRowsDeleted = 0;
      for (const table of ["telemetry_series", "telemetry_counters"] as const) {
        hourRowsDeleted += this.count(`SELECT COUNT(*) AS n FROM ${table} WHERE resolution = ? AND at < ?`, HOUR_MS, plan.deleteHoursBefore);
        this.sql.exec(`DELETE FROM ${table} WHERE resolution = ? AND at < ?`, HOUR_MS, plan.deleteHoursBefore);
      }
      const batchIdsForgotten = this.count("SELECT COUNT(*) AS n FROM telemetry_batches WHERE received_at < ?", plan.forgetBatchesBefore);
      this.sql.exec("DELETE FROM telemetry_batches WHERE received_at < ?", plan.forgetBatchesBefore);
      return { minuteRowsMoved: minuteSeries.length + minuteCounters.length, hourRowsWritten, hourRowsDeleted, batchIdsForgotten };
    });
  }

  /** Whether anything is left for a later compaction pass (the totals never need one). */
  hasRollups(): boolean {
    return this.count("SELECT (SELECT COUNT(*) FROM telemetry_series) + (SELECT COUNT(*) FROM telemetry_counters) + (SELECT COUNT(*) FROM telemetry_batches) AS n") > 0;
  }

  private count(query: string, ...bindings: SqlStorageValue[]): number {
    return this.sql.exec<{ n: number }>(query, ...bindings).one().n;
  }

  private storedService(): string {
    const rows = this.sql.exec<{ value: string }>("SELECT value FROM telemetry_meta WHERE key = 'service'").toArray();
    return rows[0]?.value ?? "";
  }

  private addSeries(resolution: number, at: number, add: SeriesRollup): void {
    const existing = this.sql
      .exec<SeriesRow>(`SELECT * FROM telemetry_series WHERE resolution = ? AND at = ? AND ${SERIES_KEY_WHERE}`, resolution, at, add.source, add.destination, add.subset, add.route, add.code)
      .toArray()[0];
    const merged = existing ? mergeSeries(parseSeriesRow(existing), add) : add;
    this.sql.exec(
      `INSERT INTO telemetry_series (resolution, at, source, destination, subset, route, code, count, sum_ms, sketch, buckets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (resolution, at, source, destination, subset, route, code) DO UPDATE SET count = excluded.count, sum_ms = excluded.sum_ms, sketch = excluded.sketch, buckets = excluded.buckets`,
      resolution,
      at,
      merged.source,
      merged.destination,
      merged.subset,
      merged.route,
      merged.code,
      merged.count,
      merged.sumMs,
      JSON.stringify(merged.sketch),
      JSON.stringify(merged.buckets),
    );
  }

  private addSeriesTotal(add: SeriesRollup): void {
    const existing = this.sql
      .exec<SeriesTotalRow>(`SELECT * FROM telemetry_series_totals WHERE ${SERIES_KEY_WHERE}`, add.source, add.destination, add.subset, add.route, add.code)
      .toArray()[0];
    const count = (existing?.count ?? 0) + add.count;
    const sumMs = (existing?.sum_ms ?? 0) + add.sumMs;
    const buckets = mergeBuckets(existing ? parseBuckets(existing.buckets) : [], add.buckets);
    this.sql.exec(
      `INSERT INTO telemetry_series_totals (source, destination, subset, route, code, count, sum_ms, buckets) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, destination, subset, route, code) DO UPDATE SET count = excluded.count, sum_ms = excluded.sum_ms, buckets = excluded.buckets`,
      add.source,
      add.destination,
      add.subset,
      add.route,
      add.code,
      count,
      sumMs,
      JSON.stringify(buckets),
    );
  }

  private addCounter(resolution: number, at: number, add: CounterRollup): void {
    this.sql.exec(
      `INSERT INTO telemetry_counters (resolution, at, name, labels, value) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (resolution, at, name, labels) DO UPDATE SET value = value + excluded.value`,
      resolution,
      at,
      add.name,
      canonicalLabels(add.labels),
      add.value,
    );
  }

  private addCounterTotal(add: CounterRollup): void {
    this.sql.exec(
      `INSERT INTO telemetry_counter_totals (name, labels, value) VALUES (?, ?, ?)
       ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value`,
      add.name,
      canonicalLabels(add.labels),
      add.value,
    );
  }
}

function parseSeriesRow(row: SeriesRow): StoredSeries {
  return {
    resolution: row.resolution,
    at: row.at,
    source: row.source,
    destination: row.destination,
    subset: row.subset,
    route: row.route,
    code: statusLabel(row.code),
    count: row.count,
    sumMs: row.sum_ms,
    sketch: parseSketch(row.sketch),
    buckets: parseBuckets(row.buckets),
  };
}

function parseCounterRow(row: CounterRow): StoredCounter {
  return { resolution: row.resolution, at: row.at, name: row.name, labels: parseLabels(row.labels), value: row.value };
}

/** JSON has no Infinity: an empty sketch's min/max come back as null. */
function parseSketch(text: string): SketchData {
  const data = JSON.parse(text) as Omit<SketchData, "min" | "max"> & { min: number | null; max: number | null };
  return { ...data, min: data.min ?? Number.POSITIVE_INFINITY, max: data.max ?? Number.NEGATIVE_INFINITY };
}

function parseBuckets(text: string): number[] {
  return JSON.parse(text) as number[];
}

function parseLabels(text: string): Record<string, string> {
  return JSON.parse(text) as Record<string, string>;
}

function sortCounters(counters: CounterRollup[]): CounterView[] {
  return counters
    .map((counter) => ({ name: counter.name, labels: counter.labels, value: counter.value, id: `${counter.name}\u0000${canonicalLabels(counter.labels)}` }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(({ name, labels, value }) => ({ name, labels, value }));
}
