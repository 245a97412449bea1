import { describe, expect, it } from "vitest";
import { bucketIndex, OVERFLOW_LABEL, TelemetryRecorder } from "./recorder.js";
import { LatencySketch } from "../../../wire/src/sketch.js";
import { MAX_STATUS_LABELS } from "../../../wire/src/status-label.js";
import type { SeriesKey } from "../../../wire/src/telemetry.js";

const key = (overrides: Partial<SeriesKey> = {}): SeriesKey => ({ source: "frontend", destination: "orders", subset: "v1", route: "orders#0", code: 200, ...overrides });

function counter() {
  let n = 0;
  return () => `batch-${++n}`;
}

describe("telemetry recorder", () => {
  it("aggregates requests per series and seals one batch per destination", () => {
    const recorder = new TelemetryRecorder({ newId: counter() });
    for (let i = 1; i <= 100; i++) recorder.recordRequest(key({ code: i % 10 === 0 ? 503 : 200 }), i, 1000);
    recorder.recordRequest(key({ destination: "catalog" }), 5, 1000);
    recorder.count("retries", "orders", { destination: "orders" }, 1000, 3);
    const batches = recorder.takeBatches(6000);
    expect(batches.map((b) => b.destination).sort()).toEqual(["catalog", "orders"]);
    const orders = batches.find((b) => b.destination === "orders")!;
    expect(orders.from).toBe(1000);
    expect(orders.to).toBe(6000);
    const ok = orders.series.find((s) => s.code === 200)!;
    const failed = orders.series.find((s) => s.code === 503)!;
    expect(ok.count).toBe(90);
    expect(failed.count).toBe(10);
    expect(ok.buckets.reduce((a, b) => a + b, 0)).toBe(90);
    expect(LatencySketch.fromJSON(failed.latency).quantile(1)).toBe(100);
    expect(orders.counters).toEqual([{ name: "retries", labels: { destination: "orders" }, value: 3 }]);
    // Sealed: the next interval starts empty.
    expect(recorder.takeBatches(7000)).toEqual([]);
  });

  it("folds rare statuses into their class as it records, so distinct statuses cannot mint series", () => {
    const recorder = new TelemetryRecorder();
    for (let code = 200; code <= 599; code++) recorder.recordRequest(key({ code }), 3, 0);
    const [batch] = recorder.takeBatches(1);
    expect(batch?.series.length).toBeLessThanOrEqual(MAX_STATUS_LABELS);
    expect(batch?.series.reduce((n, s) => n + s.count, 0)).toBe(400);
    expect(batch?.series.find((s) => s.code === "5xx")?.count).toBe(100 - 5);
    expect(batch?.series.find((s) => s.code === 503)?.count).toBe(1);
  });

  it("costs one series per distinct label set, whatever the request count", () => {
    const recorder = new TelemetryRecorder();
    for (let i = 0; i < 10_000; i++) recorder.recordRequest(key(), 3, 0);
    const [batch] = recorder.takeBatches(1);
    expect(batch?.series).toHaveLength(1);
    expect(batch?.series[0]?.count).toBe(10_000);
  });

  it("folds series beyond the cap into an overflow series and counts them", () => {
    const recorder = new TelemetryRecorder({ maxSeriesPerDestination: 3 });
    for (let i = 0; i < 10; i++) recorder.recordRequest(key({ source: `caller-${i}` }), 1, 0);
    const [batch] = recorder.takeBatches(1);
    expect(batch?.series).toHaveLength(4);
    expect(batch?.series.find((s) => s.source === OVERFLOW_LABEL)?.count).toBe(7);
    expect(batch?.dropped.overflowSeries).toBe(7);
    expect(batch?.series.reduce((sum, s) => sum + s.count, 0)).toBe(10);
  });

  it("keeps counting while batches cannot be delivered, merging the oldest detail first", () => {
    const recorder = new TelemetryRecorder({ maxPendingBatches: 3, newId: counter() });
    let total = 0;
    for (let interval = 0; interval < 10; interval++) {
      for (let i = 0; i < 7; i++) recorder.recordRequest(key(), 2, interval * 5000);
      total += 7;
      recorder.requeue(recorder.takeBatches(interval * 5000 + 4999)); // delivery failed
      expect(recorder.pendingBatches).toBeLessThanOrEqual(3);
    }
    const delivered = recorder.takeBatches(60_000);
    expect(delivered.reduce((sum, b) => sum + b.series.reduce((s, x) => s + x.count, 0), 0)).toBe(total);
    expect(delivered[0]?.dropped.mergedBatches).toBe(7);
    // The merged batch spans the intervals it absorbed.
    expect(delivered[0]?.from).toBe(0);
  });

  it("drops the oldest batch only when nothing can absorb it, and says so", () => {
    const recorder = new TelemetryRecorder({ maxPendingBatches: 2 });
    for (const destination of ["a", "b", "c"]) {
      recorder.recordRequest(key({ destination }), 1, 0);
      recorder.requeue(recorder.takeBatches(1));
    }
    const delivered = recorder.takeBatches(2);
    expect(delivered.map((b) => b.destination)).toEqual(["b", "c"]);
    expect(delivered[0]?.dropped.droppedBatches).toBe(1);
  });

  it.each([
    [0, 0],
    [1, 0],
    [1.5, 1],
    [100, 6],
    [30_000, 13],
    [30_001, 14],
  ])("puts %s ms into histogram bucket %s", (ms, index) => {
    expect(bucketIndex(ms)).toBe(index);
  });
});
