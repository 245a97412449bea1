import { describe, expect, it } from "vitest";
import { LatencySketch } from "../../wire/src/sketch.js";
import { DURATION_BUCKETS_MS, type TelemetryBatch } from "../../wire/src/telemetry.js";
import {
  batchCounters,
  batchProblem,
  batchSeries,
  BUCKET_SLOTS,
  canonicalLabels,
  compactionPlan,
  cumulativeBuckets,
  DAY_MS,
  goldenMetrics,
  groupRows,
  HOUR_MS,
  hourOf,
  mergeCounterRows,
  mergeSeries,
  mergeSeriesRows,
  minuteOf,
  windowBounds,
  type SeriesRollup,
} from "./telemetry-rollup.js";

function bucketOf(ms: number): number {
  const index = DURATION_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return index === -1 ? DURATION_BUCKETS_MS.length : index;
}

/** A rollup row holding exactly `latencies`. */
function row(key: Partial<SeriesRollup>, latencies: number[]): SeriesRollup {
  const sketch = new LatencySketch();
  const buckets = new Array<number>(BUCKET_SLOTS).fill(0);
  for (const ms of latencies) {
    sketch.add(ms);
    buckets[bucketOf(ms)]!++;
  }
  return {
    source: "frontend",
    destination: "orders",
    subset: "v1",
    route: "orders#0",
    code: 200,
    ...key,
    count: latencies.length,
    sumMs: latencies.reduce((a, b) => a + b, 0),
    sketch: sketch.toJSON(),
    buckets,
  };
}

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

function batch(overrides: Partial<TelemetryBatch> = {}): TelemetryBatch {
  return { batchId: "b1", destination: "orders", from: 0, to: 1000, series: [], counters: [], dropped: { mergedBatches: 0, overflowSeries: 0 }, ...overrides };
}

describe("time buckets", () => {
  it.each([
    [0, 0, 0],
    [59_999, 0, 0],
    [60_000, 60_000, 0],
    [3_599_999, 3_540_000, 0],
    [3_600_000, 3_600_000, 3_600_000],
    [1_700_000_123_456, 1_700_000_100_000, 1_699_999_200_000],
  ])("files %i under minute %i and hour %i", (at, minute, hour) => {
    expect(minuteOf(at)).toBe(minute);
    expect(hourOf(at)).toBe(hour);
  });
});

describe("merging series", () => {
  it("adds counts, sums, buckets and sketch bins, leaving both inputs unchanged", () => {
    const a = row({}, [1, 2, 3]);
    const b = row({}, [40, 50]);
    const aBefore = structuredClone(a);
    const merged = mergeSeries(a, b);
    expect(merged).toMatchObject({ source: "frontend", code: 200, count: 5, sumMs: 96 });
    expect(merged.buckets).toEqual(row({}, [1, 2, 3, 40, 50]).buckets);
    expect(merged.sketch).toEqual(row({}, [1, 2, 3, 40, 50]).sketch);
    expect(a).toEqual(aBefore);
  });

  it("treats a short histogram as zeros in the missing slots", () => {
    const a = { ...row({}, [1]), buckets: [1] };
    expect(mergeSeries(a, row({}, [3000])).buckets).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it("merges rows of one key into one row and keeps different keys apart", () => {
    const merged = mergeSeriesRows([row({}, [1]), row({ code: 503 }, [2]), row({}, [3]), row({ subset: "v2" }, [4])]);
    expect([...merged.values()].map((r) => [r.subset, r.code, r.count, r.sumMs])).toEqual([
      ["v1", 200, 2, 4],
      ["v1", 503, 1, 2],
      ["v2", 200, 1, 4],
    ]);
  });

  it("answers quantiles from merged rows exactly as from one sketch of every value", () => {
    const values = Array.from({ length: 600 }, (_, i) => 1 + ((i * 7919) % 997) / 3);
    const rows = [row({}, values.slice(0, 200)), row({}, values.slice(200, 450)), row({}, values.slice(450))];
    const merged = [...mergeSeriesRows(rows).values()][0] as SeriesRollup;
    const whole = row({}, values).sketch;
    expect({ ...merged.sketch, sum: 0 }).toEqual({ ...whole, sum: 0 });
    expect(merged.sketch.sum).toBeCloseTo(whole.sum, 6);
  });
});

describe("counters", () => {
  it("identifies labels regardless of key order", () => {
    expect(canonicalLabels({ source: "a", destination: "b" })).toBe(canonicalLabels({ destination: "b", source: "a" }));
    expect(canonicalLabels({ source: "a", destination: "b" })).toBe('{"destination":"b","source":"a"}');
  });

  it("sums counters with the same name and labels", () => {
    const merged = mergeCounterRows([
      { name: "retries", labels: { source: "a", destination: "b" }, value: 2 },
      { name: "retries", labels: { destination: "b", source: "a" }, value: 3 },
      { name: "retries", labels: { destination: "c" }, value: 1 },
    ]);
    expect([...merged.values()]).toEqual([
      { name: "retries", labels: { destination: "b", source: "a" }, value: 5 },
      { name: "retries", labels: { destination: "c" }, value: 1 },
    ]);
  });

  it("reports what a gateway gave up as counters labelled with the destination, and nothing when it gave up nothing", () => {
    expect(batchCounters(batch())).toEqual([]);
    const lossy = batch({ dropped: { mergedBatches: 2, overflowSeries: 5, droppedBatches: 1 } as TelemetryBatch["dropped"] });
    expect(batchCounters(lossy)).toEqual([
      { name: "telemetry_dropped_batches", labels: { destination: "orders" }, value: 1 },
      { name: "telemetry_merged_batches", labels: { destination: "orders" }, value: 2 },
      { name: "telemetry_overflow_series", labels: { destination: "orders" }, value: 5 },
    ]);
  });
});

describe("cumulative buckets", () => {
  it("accumulates per bound and ends with +Inf equal to the count", () => {
    const r = row({}, [0.5, 3, 3, 70, 70000]);
    const cumulative = cumulativeBuckets(r.buckets, r.count);
    expect(cumulative).toHaveLength(DURATION_BUCKETS_MS.length + 1);
    expect(cumulative).toEqual([1, 1, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5]);
  });

  it("stays monotonic and ends at the count when a histogram does not add up", () => {
    expect(cumulativeBuckets([3, 3], 4)).toEqual([3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
    expect(cumulativeBuckets([], 2).at(-1)).toBe(2);
  });
});

describe("golden metrics", () => {
  it("has no success rate and no latencies when there were no requests", () => {
    expect(goldenMetrics([], 60_000)).toEqual({ requests: 0, requestsPerSecond: 0, successRate: null, p50Ms: null, p95Ms: null, p99Ms: null });
  });

  it("counts 5xx as failures, everything else as success, and rates over the window", () => {
    const metrics = goldenMetrics([row({ code: 200 }, [10, 20, 30]), row({ code: 404 }, [5]), row({ code: 503 }, [1000])], 10_000);
    expect(metrics.requests).toBe(5);
    expect(metrics.requestsPerSecond).toBe(0.5);
    expect(metrics.successRate).toBe(0.8);
  });

  it("answers p50, p95 and p99 within 1% of the true values", () => {
    const fast = Array.from({ length: 900 }, (_, i) => 5 + (i % 90) / 10);
    const slow = Array.from({ length: 100 }, (_, i) => 200 + i * 3);
    const metrics = goldenMetrics([row({ subset: "v1" }, fast), row({ subset: "v2" }, slow)], 60_000);
    const all = [...fast, ...slow];
    for (const [q, value] of [
      [0.5, metrics.p50Ms],
      [0.95, metrics.p95Ms],
      [0.99, metrics.p99Ms],
    ] as const) {
      const truth = exactQuantile(all, q);
      expect(Math.abs((value ?? Number.NaN) - truth)).toBeLessThanOrEqual(truth * 0.01);
    }
  });
});

describe("grouping", () => {
  it("groups rows by a label, sorted by it", () => {
    const groups = groupRows([row({ subset: "v2" }, [1]), row({ subset: "v1" }, [1]), row({ subset: "v2" }, [2])], (r) => r.subset);
    expect(groups.map(([subset, rows]) => [subset, rows.length])).toEqual([
      ["v1", 1],
      ["v2", 2],
    ]);
  });
});

describe("compaction plan", () => {
  it("moves only minutes of complete hours older than a day", () => {
    const now = Date.UTC(2026, 0, 10, 12, 30);
    const plan = compactionPlan(now);
    expect(plan.moveMinutesBefore).toBe(Date.UTC(2026, 0, 9, 12, 0));
    // The last minute moved ends before the day boundary: every moved minute is wholly older than a day.
    expect(plan.moveMinutesBefore).toBeLessThanOrEqual(now - DAY_MS);
    expect(plan.deleteHoursBefore).toBe(now - 7 * DAY_MS);
    expect(plan.forgetBatchesBefore).toBe(now - HOUR_MS);
  });

  it("is the same plan at the same instant (a repeated alarm has nothing left to move)", () => {
    expect(compactionPlan(1_800_000_000_000)).toEqual(compactionPlan(1_800_000_000_000));
  });

  it("reads minute rows from the window start and hour rows overlapping it", () => {
    const now = Date.UTC(2026, 0, 10, 12, 30);
    expect(windowBounds(now, 2 * DAY_MS)).toEqual({ minutesFrom: Date.UTC(2026, 0, 8, 12, 30), hoursFrom: Date.UTC(2026, 0, 8, 12, 0) });
  });
});

describe("batches", () => {
  it("accepts a well-formed batch and merges duplicate series in it", () => {
    const b = batch({ series: [toAggregate(row({}, [1, 2])), toAggregate(row({}, [3]))] });
    expect(batchProblem(b)).toBeNull();
    expect(batchSeries(b).map((r) => [r.count, r.sumMs])).toEqual([[3, 6]]);
  });

  it.each([
    ["no batch id", batch({ batchId: "" })],
    ["a negative count", batch({ series: [{ ...toAggregate(row({}, [1])), count: -1 }] })],
    ["a fractional bucket", batch({ series: [{ ...toAggregate(row({}, [1])), buckets: [0.5] }] })],
    ["a sketch of another accuracy", batch({ series: [{ ...toAggregate(row({}, [1])), latency: new LatencySketch(0.05).toJSON() }] })],
    ["a counter without a value", batch({ counters: [{ name: "retries", labels: {}, value: Number.NaN }] })],
  ])("refuses a batch with %s", (_what, b) => {
    expect(batchProblem(b)).toEqual(expect.any(String));
  });
});

function toAggregate(r: SeriesRollup): TelemetryBatch["series"][number] {
  return { source: r.source, destination: r.destination, subset: r.subset, route: r.route, code: r.code, count: r.count, sumMs: r.sumMs, latency: r.sketch, buckets: r.buckets };
}

describe("folded status codes", () => {
  it("counts a folded 5xx as a failure and a folded 2xx as a success", () => {
    const golden = goldenMetrics([row({ code: 200 }, [1, 2]), row({ code: "2xx" }, [3]), row({ code: "5xx" }, [4]), row({ code: 503 }, [5])], 60_000);
    expect(golden.requests).toBe(5);
    expect(golden.successRate).toBe(3 / 5);
  });

  it("folds rare codes a batch carries into their class, merging them into one series", () => {
    const series = [row({ code: 520 }, [1]), row({ code: 599 }, [2]), row({ code: 200 }, [3])].map((r) => ({ ...r, latency: r.sketch }));
    const batch = { batchId: "b", destination: "orders", from: 0, to: 1, series, counters: [], dropped: { mergedBatches: 0, overflowSeries: 0 } } as TelemetryBatch;
    const stored = batchSeries(batch);
    expect(stored.map((s) => [s.code, s.count])).toEqual([
      ["5xx", 2],
      [200, 1],
    ]);
  });
});
