import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TelemetryShard } from "../control-durable/src/telemetry.js";
import { LatencySketch } from "../wire/src/sketch.js";
import { DURATION_BUCKETS_MS, type CounterAggregate, type SeriesAggregate, type SeriesKey, type TelemetryBatch } from "../wire/src/telemetry.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const telemetry = (env as unknown as { TELEMETRY: DurableObjectNamespace<TelemetryShard> }).TELEMETRY;

/** A fresh object per test: telemetry objects are per service, so a unique name is a clean slate. */
function freshShard(): DurableObjectStub<TelemetryShard> {
  return telemetry.get(telemetry.idFromName(`telemetry-test-${crypto.randomUUID()}`));
}

/** Deterministic latencies (ms): mostly fast, with a slow tail, so p50 and p99 differ a lot. */
function latencies(count: number, seed: number, scale = 1): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: count }, () => {
    const u = next();
    return scale * (u < 0.9 ? 2 + 40 * next() : 200 + 3000 * next());
  });
}

/** The true quantile as DDSketch defines it (lower rank q × (n − 1)). */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

function expectWithinOnePercent(actual: number | null, truth: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - truth)).toBeLessThanOrEqual(truth * 0.01);
}

function series(key: Partial<SeriesKey>, values: readonly number[]): SeriesAggregate {
  const sketch = new LatencySketch();
  const buckets = new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0);
  for (const ms of values) {
    sketch.add(ms);
    const index = DURATION_BUCKETS_MS.findIndex((bound) => ms <= bound);
    buckets[index === -1 ? DURATION_BUCKETS_MS.length : index]!++;
  }
  return {
    source: "frontend",
    destination: "orders",
    subset: "v1",
    route: "orders#0",
    code: 200,
    ...key,
    count: values.length,
    sumMs: values.reduce((a, b) => a + b, 0),
    latency: sketch.toJSON(),
    buckets,
  };
}

function batch(batchId: string, to: number, seriesList: SeriesAggregate[], counters: CounterAggregate[] = [], dropped: TelemetryBatch["dropped"] = { mergedBatches: 0, overflowSeries: 0 }): TelemetryBatch {
  return { batchId, destination: "orders", from: to - 5000, to, series: seriesList, counters, dropped };
}

interface StoredRow {
  resolution: number;
  at: number;
  source: string;
  subset: string;
  code: number;
  count: number;
  sum_ms: number;
  buckets: string;
}

function storedSeries(stub: DurableObjectStub<TelemetryShard>): Promise<StoredRow[]> {
  return runInDurableObject(stub, (_instance: TelemetryShard, state) =>
    state.storage.sql
      .exec<Record<string, SqlStorageValue>>("SELECT resolution, at, source, subset, code, count, sum_ms, buckets FROM telemetry_series ORDER BY resolution, at, source, subset, code")
      .toArray()
      .map((row) => row as unknown as StoredRow),
  );
}

describe("telemetry objects", () => {
  it("count a repeated batch once and split golden metrics by edge and subset, quantiles within 1%", async () => {
    const shard = freshShard();
    const now = Date.now();
    const a1 = latencies(400, 1);
    const b1 = latencies(50, 2, 3);
    const a2 = latencies(300, 3);
    const c = latencies(250, 4, 0.5);
    const first = batch("batch-1", now - 40_000, [series({}, a1), series({ source: "anonymous", subset: "v2", code: 503 }, b1)], [{ name: "retries", labels: { source: "frontend", destination: "orders" }, value: 2 }], { mergedBatches: 1, overflowSeries: 3, droppedBatches: 2 });
    const third = batch("batch-3", now - 10_000, [series({}, a2), series({ subset: "v2" }, c)], [{ name: "retries", labels: { destination: "orders", source: "frontend" }, value: 1 }]);

    expect(await shard.ingest(first)).toEqual({ accepted: true, fleetRequestsPerSecond: expect.any(Number) });
    expect(await shard.ingest(structuredClone(first))).toEqual({ accepted: true, fleetRequestsPerSecond: expect.any(Number) }); // a retry of an unclear send
    const answer = await shard.ingest(third);
    expect(answer).toEqual({ accepted: true, fleetRequestsPerSecond: expect.any(Number) });
    // The destination's fleet-wide rate: every request stored over this minute and the one before.
    const since = Math.floor(now / 60_000) * 60_000 - 60_000;
    const stored = a1.length + b1.length + a2.length + c.length;
    expect(answer.fleetRequestsPerSecond).toBeCloseTo(stored / ((Date.now() - since) / 1000), 0);

    const windowMs = 5 * MINUTE;
    const view = await shard.query({ windowMs, now, service: "orders" });
    const all = [...a1, ...b1, ...a2, ...c];
    expect(view.service).toBe("orders");
    expect(view.windowMs).toBe(windowMs);
    expect(view.golden.requests).toBe(all.length);
    expect(view.golden.requestsPerSecond).toBeCloseTo(all.length / 300, 9);
    expect(view.golden.successRate).toBeCloseTo((all.length - b1.length) / all.length, 9);
    expectWithinOnePercent(view.golden.p50Ms, exactQuantile(all, 0.5));
    expectWithinOnePercent(view.golden.p95Ms, exactQuantile(all, 0.95));
    expectWithinOnePercent(view.golden.p99Ms, exactQuantile(all, 0.99));

    expect(view.edges.map((edge) => [edge.source, edge.destination, edge.golden.requests])).toEqual([
      ["anonymous", "orders", b1.length],
      ["frontend", "orders", a1.length + a2.length + c.length],
    ]);
    const frontend = view.edges[1]!.golden;
    const fromFrontend = [...a1, ...a2, ...c];
    expect(frontend.successRate).toBe(1);
    expectWithinOnePercent(frontend.p50Ms, exactQuantile(fromFrontend, 0.5));
    expectWithinOnePercent(frontend.p99Ms, exactQuantile(fromFrontend, 0.99));
    expect(view.edges[0]!.golden.successRate).toBe(0);
    expectWithinOnePercent(view.edges[0]!.golden.p99Ms, exactQuantile(b1, 0.99));

    expect(view.bySubset.map((subset) => [subset.subset, subset.golden.requests])).toEqual([
      ["v1", a1.length + a2.length],
      ["v2", b1.length + c.length],
    ]);
    expectWithinOnePercent(view.bySubset[0]!.golden.p99Ms, exactQuantile([...a1, ...a2], 0.99));

    expect(view.counters).toEqual([
      { name: "retries", labels: { destination: "orders", source: "frontend" }, value: 3 },
      { name: "telemetry_dropped_batches", labels: { destination: "orders" }, value: 2 },
      { name: "telemetry_merged_batches", labels: { destination: "orders" }, value: 1 },
      { name: "telemetry_overflow_series", labels: { destination: "orders" }, value: 3 },
    ]);

    // A window that ends before the first batch sees nothing.
    const empty = await shard.query({ windowMs: MINUTE, now: now - 10 * MINUTE });
    expect(empty.golden).toEqual({ requests: 0, requestsPerSecond: 0, successRate: null, p50Ms: null, p95Ms: null, p99Ms: null });
  });

  it("keep cumulative totals: monotonic histogram buckets ending with +Inf = count", async () => {
    const shard = freshShard();
    const now = Date.now();
    const v1a = latencies(300, 11);
    const v1b = latencies(200, 12, 4);
    const v2 = latencies(100, 13);
    await shard.ingest(batch("t-1", now - 3 * MINUTE, [series({}, v1a), series({ subset: "v2" }, v2)]));
    await shard.ingest(batch("t-2", now, [series({}, v1b)], [{ name: "retries", labels: { destination: "orders" }, value: 4 }]));
    await shard.ingest(batch("t-2", now, [series({}, v1b)], [{ name: "retries", labels: { destination: "orders" }, value: 4 }]));

    const totals = await shard.totals();
    expect(totals.series.map((s) => [s.subset, s.count])).toEqual([
      ["v1", v1a.length + v1b.length],
      ["v2", v2.length],
    ]);
    const v1 = [...v1a, ...v1b];
    const v1Total = totals.series[0]!;
    expect(v1Total).toMatchObject({ source: "frontend", destination: "orders", route: "orders#0", code: 200 });
    expect(v1Total.sumMs).toBeCloseTo(v1.reduce((a, b) => a + b, 0), 6);
    for (const total of totals.series) {
      expect(total.buckets).toHaveLength(DURATION_BUCKETS_MS.length + 1);
      expect(total.buckets.at(-1)).toBe(total.count);
      for (let i = 1; i < total.buckets.length; i++) expect(total.buckets[i]!).toBeGreaterThanOrEqual(total.buckets[i - 1]!);
    }
    expect(v1Total.buckets.slice(0, -1)).toEqual(DURATION_BUCKETS_MS.map((bound) => v1.filter((ms) => ms <= bound).length));
    expect(totals.counters).toEqual([{ name: "retries", labels: { destination: "orders" }, value: 4 }]);
  });

  it("refuses a malformed batch without storing any of it", async () => {
    const shard = freshShard();
    const bad = batch("bad-1", Date.now(), [series({}, [5, 6]), { ...series({}, [1]), count: -1 }]);
    expect(await shard.ingest(bad)).toMatchObject({ accepted: false });
    expect((await shard.totals()).series).toEqual([]);
  });

  it("roll minutes older than a day into hour rows with the same totals; compacting twice changes nothing", async () => {
    const shard = freshShard();
    const now = Date.now();
    const hour = Math.floor(now / HOUR) * HOUR;
    const old1 = latencies(120, 21);
    const old2 = latencies(80, 22, 2);
    const old3 = latencies(60, 23);
    const recent = latencies(40, 24);
    const ancient = latencies(30, 25);
    const at = {
      old1: hour - 26 * HOUR + 10 * MINUTE,
      old2: hour - 26 * HOUR + 40 * MINUTE,
      old3: hour - 25 * HOUR + 5 * MINUTE,
      // Older than a day, but its hour is not yet wholly older than a day: stays a minute row.
      recent: hour - DAY,
      ancient: now - 8 * DAY,
    };
    const retry = (value: number): CounterAggregate[] => [{ name: "retries", labels: { destination: "orders" }, value }];
    await shard.ingest(batch("c-old1", at.old1, [series({}, old1)], retry(1)));
    await shard.ingest(batch("c-old2", at.old2, [series({}, old2), series({ code: 503 }, old3.slice(0, 10))], retry(2)));
    await shard.ingest(batch("c-old3", at.old3, [series({}, old3)], retry(4)));
    await shard.ingest(batch("c-recent", at.recent, [series({}, recent)]));
    await shard.ingest(batch("c-ancient", at.ancient, [series({}, ancient)], retry(100)));

    const week = { windowMs: 7 * DAY, now, service: "orders" };
    const before = await shard.query(week);
    const totalsBefore = await shard.totals();
    expect(before.golden.requests).toBe(old1.length + old2.length + 10 + old3.length + recent.length);

    const first = await shard.compact(now);
    expect(first.minuteRowsMoved).toBeGreaterThan(0);
    expect(first.hourRowsDeleted).toBeGreaterThan(0); // the ancient minute became an hour row past the week, and went

    const afterFirst = await shard.query(week);
    expect(afterFirst).toEqual(before);
    expect(await shard.totals()).toEqual(totalsBefore); // the Prometheus counters are never compacted

    const rows = await storedSeries(shard);
    expect(rows.filter((row) => row.at < now - 7 * DAY)).toEqual([]);
    expect(rows.filter((row) => row.resolution === MINUTE).map((row) => row.at)).toEqual([Math.floor(at.recent / MINUTE) * MINUTE]);
    expect(rows.filter((row) => row.resolution === HOUR).map((row) => [row.at, row.code, row.count])).toEqual([
      [hour - 26 * HOUR, 200, old1.length + old2.length],
      [hour - 26 * HOUR, 503, 10],
      [hour - 25 * HOUR, 200, old3.length],
    ]);
    const merged = rows.find((row) => row.resolution === HOUR && row.code === 200 && row.at === hour - 26 * HOUR)!;
    expect(merged.sum_ms).toBeCloseTo([...old1, ...old2].reduce((a, b) => a + b, 0), 6);
    expect((JSON.parse(merged.buckets) as number[]).reduce((a, b) => a + b, 0)).toBe(old1.length + old2.length);

    // The hour row answers the quantiles the minutes did (sketches merge exactly).
    const oldHours = await shard.query({ windowMs: 27 * HOUR, now: hour - DAY - MINUTE, service: "orders" });
    const oldValues = [...old1, ...old2, ...old3.slice(0, 10), ...old3];
    expect(oldHours.golden.requests).toBe(oldValues.length);
    expectWithinOnePercent(oldHours.golden.p50Ms, exactQuantile(oldValues, 0.5));
    expectWithinOnePercent(oldHours.golden.p99Ms, exactQuantile(oldValues, 0.99));
    expect(oldHours.counters).toEqual([{ name: "retries", labels: { destination: "orders" }, value: 7 }]);

    const second = await shard.compact(now);
    expect(second).toEqual({ minuteRowsMoved: 0, hourRowsWritten: 0, hourRowsDeleted: 0, batchIdsForgotten: 0 });
    expect(await storedSeries(shard)).toEqual(rows);
    expect(await shard.query(week)).toEqual(before);
  });

  it("compact from the alarm, which re-arms while there is data and can run twice without double counting", async () => {
    const shard = freshShard();
    const now = Date.now();
    const hour = Math.floor(now / HOUR) * HOUR;
    const values = latencies(90, 31);
    await shard.ingest(batch("alarm-1", hour - 30 * HOUR, [series({}, values)]));
    await shard.ingest(batch("alarm-2", now - MINUTE, [series({ subset: "v2" }, values)]));
    const week = { windowMs: 7 * DAY, service: "orders" };
    const before = await shard.query(week);

    expect(await runDurableObjectAlarm(shard)).toBe(true); // ingest armed it
    expect(await runDurableObjectAlarm(shard)).toBe(true); // it re-armed itself: rollups remain
    expect(await shard.query(week)).toEqual(before);
    const rows = await storedSeries(shard);
    expect(rows.map((row) => [row.resolution, row.subset, row.count])).toEqual([
      [MINUTE, "v2", values.length],
      [HOUR, "v1", values.length],
    ]);
  });

  it("forget batch ids after an hour, and stop the alarm once nothing is left", async () => {
    const shard = freshShard();
    const now = Date.now();
    await shard.ingest(batch("forget-1", now - 9 * DAY, [series({}, [5])]));
    expect(await shard.compact(now)).toMatchObject({ batchIdsForgotten: 0 });
    expect(await shard.compact(now + 2 * HOUR)).toMatchObject({ batchIdsForgotten: 1 });
    expect(await storedSeries(shard)).toEqual([]);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await runDurableObjectAlarm(shard)).toBe(false); // nothing to compact: no alarm re-armed
    expect((await shard.totals()).series.map((s) => s.count)).toEqual([1]);
  });
});
