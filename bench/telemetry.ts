/**
 * What telemetry costs a request: recording one request into the isolate's aggregates (series
 * lookup, sketch bin, histogram bucket) and starting its trace context, in Node on this machine.
 * The flush (sealing a batch per destination) is timed too, though it runs once per interval, not
 * per request.
 *
 * `npx tsx bench/telemetry.ts`
 */
import { TelemetryRecorder } from "../gateway-worker/src/telemetry/recorder.js";
import { continueTrace, formatTraceparent, newSpanId, readTraceContext } from "../gateway-worker/src/telemetry/trace-context.js";

export interface TelemetryBenchResult {
  recordNs: number;
  traceNs: number;
  sealMsPer1000Series: number;
}

function timePerCall(calls: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(calls, 50_000); i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / calls;
}

export function runTelemetryBench(calls = 1_000_000): TelemetryBenchResult {
  const recorder = new TelemetryRecorder();
  // 40 series (4 sources × 2 subsets × 5 codes) over 5 destinations, latencies 1–400 ms.
  const sources = ["frontend", "orders", "anonymous", "cart"];
  const codes = [200, 200, 200, 404, 503];
  const recordNs = timePerCall(calls, (i) => {
    recorder.recordRequest(
      { source: sources[i % 4] as string, destination: `svc-${i % 5}`, subset: i % 2 ? "v1" : "v2", route: "r#0", code: codes[i % 5] as number },
      1 + ((i * 37) % 400),
      i,
    );
  });
  const incoming = new Headers({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
  const traceNs = timePerCall(calls / 10, () => {
    const trace = continueTrace(readTraceContext(incoming), 0.01);
    formatTraceparent({ traceId: trace.traceId, parentId: newSpanId(), sampled: trace.sampled });
  });
  const sealed = new TelemetryRecorder();
  for (let i = 0; i < 1000; i++) sealed.recordRequest({ source: `caller-${i}`, destination: "orders", subset: "v1", route: "r#0", code: 200 }, i % 300, i);
  const start = process.hrtime.bigint();
  sealed.takeBatches(2000);
  const sealMsPer1000Series = Number(process.hrtime.bigint() - start) / 1e6;
  return { recordNs, traceNs, sealMsPer1000Series };
}

export function formatTelemetry(result: TelemetryBenchResult): string {
  return [
    "telemetry (Node, this machine)",
    `  record one request into the aggregates: ${result.recordNs.toFixed(0)} ns`,
    `  continue a trace + one attempt's traceparent: ${result.traceNs.toFixed(0)} ns`,
    `  seal a batch of 1,000 series (once per flush interval): ${result.sealMsPer1000Series.toFixed(2)} ms`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(formatTelemetry(runTelemetryBench()));
