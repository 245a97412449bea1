/**
 * The isolate's telemetry aggregates. Recording a request is O(1) and touches no I/O: one map
 * lookup by series key, a sketch bin, a histogram bucket. Every flush interval the current
 * aggregates are sealed into one batch per destination service and sent to that service's
 * telemetry object (so the flush rate grows with destinations, never with requests).
 *
 * When the telemetry objects cannot be reached, sealed batches wait in a bounded queue and the
 * isolate keeps counting. Over the bound, the oldest detail goes first: the two oldest batches of
 * a destination are merged into one (their time resolution is lost, their counts are not); only
 * when nothing can be merged is the oldest batch dropped, and that is counted too. Series beyond
 * the per-destination cap are folded into one overflow series per destination, also counted.
 */
import { LatencySketch } from "../../../wire/src/sketch.js";
import { statusLabel } from "../../../wire/src/status-label.js";
import { DURATION_BUCKETS_MS, type CounterAggregate, type CounterName, type SeriesAggregate, type SeriesKey, type TelemetryBatch } from "../../../wire/src/telemetry.js";

export interface RecorderOptions {
  /** Distinct series kept per destination per interval; beyond it they fold into an overflow series. */
  maxSeriesPerDestination?: number;
  /** Sealed batches kept while they cannot be delivered. */
  maxPendingBatches?: number;
  /** Unique ids for batches (tests pass a counter). */
  newId?: () => string;
}

export const OVERFLOW_LABEL = "_overflow";

interface LiveSeries {
  key: SeriesKey;
  count: number;
  sketch: LatencySketch;
  buckets: number[];
  sumMs: number;
}

interface LiveDestination {
  from: number;
  series: Map<string, LiveSeries>;
  counters: Map<string, CounterAggregate>;
  overflowSeries: number;
}

export class TelemetryRecorder {
  private readonly maxSeries: number;
  private readonly maxPending: number;
  private readonly newId: () => string;
  private live = new Map<string, LiveDestination>();
  private pending: TelemetryBatch[] = [];
  /** Batches given up entirely (nothing left to merge them with), reported with the next batch. */
  private droppedBatches = 0;
  private mergedBatches = 0;

  constructor(options: RecorderOptions = {}) {
    this.maxSeries = options.maxSeriesPerDestination ?? 1000;
    this.maxPending = options.maxPendingBatches ?? 24;
    this.newId = options.newId ?? (() => crypto.randomUUID());
  }

  /**
   * One request's outcome. `destination` "" when the mesh answered before choosing a service.
   * `shard`: the batch (telemetry object) it goes into, by default its destination's.
   */
  recordRequest(raw: SeriesKey, durationMs: number, now: number, shard: string = raw.destination): void {
    // The status becomes a label here, folded so no client can mint series (status-label.ts).
    const key = { ...raw, code: statusLabel(raw.code) };
    const destination = this.destination(shard, now);
    // The destination label is part of the key: the unrouted shard holds several (see observe.ts).
    const id = `${key.source}\u0000${key.destination}\u0000${key.subset}\u0000${key.route}\u0000${key.code}`;
    let series = destination.series.get(id);
    if (!series) {
      if (destination.series.size >= this.maxSeries) {
        destination.overflowSeries++;
        return this.recordInto(this.overflow(destination, key), durationMs);
      }
      series = newSeries(key);
      destination.series.set(id, series);
    }
    this.recordInto(series, durationMs);
  }

  count(name: CounterName, destination: string, labels: Record<string, string>, now: number, value = 1): void {
    const live = this.destination(destination, now);
    const id = `${name}\u0000${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join("\u0000")}`;
    const counter = live.counters.get(id);
    if (counter) counter.value += value;
    else live.counters.set(id, { name, labels: { ...labels }, value });
  }

  /** Seals the current interval and hands out every batch waiting to be delivered. */
  takeBatches(now: number): TelemetryBatch[] {
    for (const [destination, live] of this.live) this.pending.push(this.seal(destination, live, now));
    this.live = new Map();
    this.bound();
    const batches = this.pending;
    this.pending = [];
    if (batches.length > 0 && (this.mergedBatches > 0 || this.droppedBatches > 0)) {
      // The loss is reported once, with the first batch that goes out.
      const first = batches[0] as TelemetryBatch;
      first.dropped = {
        mergedBatches: first.dropped.mergedBatches + this.mergedBatches,
        overflowSeries: first.dropped.overflowSeries,
        droppedBatches: (first.dropped.droppedBatches ?? 0) + this.droppedBatches,
      };
      this.mergedBatches = 0;
      this.droppedBatches = 0;
    }
    return batches;
  }

  /** Batches that could not be delivered come back here and wait for the next flush. */
  requeue(batches: readonly TelemetryBatch[]): void {
    this.pending.unshift(...batches);
    this.bound();
  }

  /** Batches waiting (sealed, undelivered). */
  get pendingBatches(): number {
    return this.pending.length;
  }

  /** Destinations with something recorded since the last seal. */
  get liveDestinations(): number {
    return this.live.size;
  }

  /** Series recorded since the last seal, over all destinations (each destination at most `maxSeriesPerDestination`, plus its overflow series). */
  get liveSeries(): number {
    let count = 0;
    for (const destination of this.live.values()) count += destination.series.size;
    return count;
  }

  /** The bounds this recorder keeps (docs/reliability.md#what-an-isolate-keeps). */
  get limits(): { seriesPerDestination: number; pendingBatches: number } {
    return { seriesPerDestination: this.maxSeries, pendingBatches: this.maxPending };
  }

  private destination(name: string, now: number): LiveDestination {
    let live = this.live.get(name);
    if (!live) this.live.set(name, (live = { from: now, series: new Map(), counters: new Map(), overflowSeries: 0 }));
    return live;
  }

  private overflow(destination: LiveDestination, key: SeriesKey): LiveSeries {
    const id = `${OVERFLOW_LABEL}\u0000${key.destination}\u0000\u0000${OVERFLOW_LABEL}\u0000${key.code}`;
    let series = destination.series.get(id);
    if (!series) destination.series.set(id, (series = newSeries({ source: OVERFLOW_LABEL, destination: key.destination, subset: "", route: OVERFLOW_LABEL, code: key.code })));
    return series;
  }

  private recordInto(series: LiveSeries, durationMs: number): void {
    series.count++;
    series.sumMs += durationMs;
    series.sketch.add(durationMs);
    series.buckets[bucketIndex(durationMs)]!++;
  }

  private seal(destination: string, live: LiveDestination, now: number): TelemetryBatch {
    const series: SeriesAggregate[] = [];
    for (const s of live.series.values()) series.push({ ...s.key, count: s.count, latency: s.sketch.toJSON(), buckets: s.buckets, sumMs: s.sumMs });
    return {
      batchId: this.newId(),
      destination,
      from: live.from,
      to: now,
      series,
      counters: [...live.counters.values()],
      dropped: { mergedBatches: 0, overflowSeries: live.overflowSeries },
    };
  }

  /** Keeps the queue within its bound: merge the oldest detail first, drop only as a last resort. */
  private bound(): void {
    while (this.pending.length > this.maxPending) {
      const oldest = this.pending[0] as TelemetryBatch;
      const partner = this.pending.findIndex((batch, i) => i > 0 && batch.destination === oldest.destination);
      if (partner === -1) {
        this.pending.shift();
        this.droppedBatches++;
        continue;
      }
      this.pending[partner] = mergeBatches(oldest, this.pending[partner] as TelemetryBatch, this.newId());
      this.pending.shift();
      this.mergedBatches++;
    }
  }
}

function newSeries(key: SeriesKey): LiveSeries {
  return { key, count: 0, sketch: new LatencySketch(), buckets: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0), sumMs: 0 };
}

/** Index into DURATION_BUCKETS_MS (the last index is +Inf). */
export function bucketIndex(durationMs: number): number {
  for (let i = 0; i < DURATION_BUCKETS_MS.length; i++) {
    if (durationMs <= (DURATION_BUCKETS_MS[i] as number)) return i;
  }
  return DURATION_BUCKETS_MS.length;
}

/** Two batches of one destination as one: counts add up, the time span covers both. */
export function mergeBatches(older: TelemetryBatch, newer: TelemetryBatch, batchId: string): TelemetryBatch {
  const series = new Map<string, SeriesAggregate>();
  for (const s of [...older.series, ...newer.series]) {
    const id = `${s.source}\u0000${s.destination}\u0000${s.subset}\u0000${s.route}\u0000${s.code}`;
    const seen = series.get(id);
    if (!seen) {
      series.set(id, { ...s, buckets: [...s.buckets], latency: { ...s.latency, bins: { ...s.latency.bins } } });
      continue;
    }
    const sketch = LatencySketch.fromJSON(seen.latency);
    sketch.merge(s.latency);
    seen.latency = sketch.toJSON();
    seen.count += s.count;
    seen.sumMs += s.sumMs;
    seen.buckets = seen.buckets.map((n, i) => n + (s.buckets[i] ?? 0));
  }
  const counters = new Map<string, CounterAggregate>();
  for (const c of [...older.counters, ...newer.counters]) {
    const id = `${c.name}\u0000${JSON.stringify(Object.entries(c.labels).sort())}`;
    const seen = counters.get(id);
    if (seen) seen.value += c.value;
    else counters.set(id, { ...c, labels: { ...c.labels } });
  }
  return {
    batchId,
    destination: newer.destination,
    from: Math.min(older.from, newer.from),
    to: Math.max(older.to, newer.to),
    series: [...series.values()],
    counters: [...counters.values()],
    dropped: {
      mergedBatches: older.dropped.mergedBatches + newer.dropped.mergedBatches,
      overflowSeries: older.dropped.overflowSeries + newer.dropped.overflowSeries,
      droppedBatches: (older.dropped.droppedBatches ?? 0) + (newer.dropped.droppedBatches ?? 0),
    },
  };
}
