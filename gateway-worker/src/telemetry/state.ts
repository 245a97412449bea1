/**
 * The isolate's telemetry: request aggregates and their delivery. Flushes ride on requests: when
 * the interval has passed, the request that notices hands a flush to `waitUntil` (single-flight),
 * so an idle isolate costs nothing and a busy one flushes once per interval, whatever its rate.
 * The first request of an interval also arms a trailing flush at the interval's end, kept alive by
 * its own `waitUntil`, so the last requests before a quiet spell are delivered without waiting for
 * the next one (one timer per interval, not per request).
 */
import { bounded } from "../bounded.js";
import { TelemetryRecorder, type RecorderOptions } from "./recorder.js";
import { SpanBuffer } from "./spans.js";
import type { SpanExporter } from "./otlp.js";
import type { TelemetryBatch } from "../../../wire/src/telemetry.js";

/** Where a destination's batches go (its telemetry Durable Object, or a test double). */
export interface TelemetrySink {
  ingest(batch: TelemetryBatch): Promise<unknown>;
}

export const DEFAULT_FLUSH_INTERVAL_MS = 5_000;
/**
 * How long one batch's delivery may take before it counts as failed and waits for the next flush.
 * Well inside the 30 s the runtime gives background work after a response: a delivery it cut off
 * would never settle, and every later flush waits for the one before it.
 */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Shard of the telemetry objects for answers the mesh gave before choosing a destination. */
export const UNROUTED_SHARD = "_mesh";

export class TelemetryState {
  readonly recorder: TelemetryRecorder;
  /** Finished sampled spans waiting for the next flush (bounded; oldest dropped first). */
  readonly spans = new SpanBuffer();
  spansSent = 0;
  spansFailed = 0;
  private lastFlushAt: number;
  private inflight: Promise<void> | undefined;
  /** When the armed trailing flush is due; undefined when none is armed. */
  private trailingDueAt: number | undefined;
  /** Deliveries attempted (one per destination batch), failed, and flushes run: for metrics and tests. */
  deliveries = 0;
  deliveryFailures = 0;
  flushes = 0;
  /** Told each destination's fleet-wide request rate when a telemetry object answers a batch with it. */
  onFleetRate: ((destination: string, requestsPerSecond: number) => void) | undefined;

  constructor(now: number, options: RecorderOptions = {}) {
    this.recorder = new TelemetryRecorder(options);
    this.lastFlushAt = now;
  }

  /** Starts a flush through `waitUntil` when the interval has passed and none is running. */
  /** Whether maybeFlush would start a flush now: the interval has passed and none is under way. */
  flushDue(now: number, intervalMs: number): boolean {
    return !this.inflight && now - this.lastFlushAt >= intervalMs;
  }

  maybeFlush(
    now: number,
    intervalMs: number,
    sinkFor: (destination: string) => TelemetrySink,
    waitUntil: (promise: Promise<unknown>) => void,
    exporter?: () => SpanExporter | undefined,
  ): void {
    if (!this.flushDue(now, intervalMs)) return;
    this.lastFlushAt = now;
    waitUntil(this.flush(now, sinkFor, exporter).catch(() => undefined));
  }

  /**
   * After a request that did not flush: unless one is armed, arms a flush for the end of the
   * interval through that request's `waitUntil` (the runtime keeps it up to 30 s past the answer,
   * so intervals up to that long are covered). A trailing flush the runtime abandoned is armed
   * again once it is an interval overdue.
   */
  armTrailingFlush(
    now: number,
    intervalMs: number,
    clock: () => number,
    sinkFor: (destination: string) => TelemetrySink,
    waitUntil: (promise: Promise<unknown>) => void,
    exporter?: () => SpanExporter | undefined,
  ): void {
    if (this.trailingArmed(now, intervalMs)) return;
    const dueAt = this.lastFlushAt + intervalMs;
    this.trailingDueAt = dueAt;
    const fire = async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - now)));
      // Armed again meanwhile (this one was given up for lost): the newer one delivers.
      if (this.trailingDueAt !== dueAt) return;
      this.trailingDueAt = undefined;
      if (this.recorder.liveDestinations === 0 && this.recorder.pendingBatches === 0 && this.spans.size === 0) return;
      this.lastFlushAt = clock();
      await this.flush(this.lastFlushAt, sinkFor, exporter);
    };
    waitUntil(fire().catch(() => undefined));
  }

  /** Whether a trailing flush is armed and not yet an interval overdue. */
  trailingArmed(now: number, intervalMs: number): boolean {
    return this.trailingDueAt !== undefined && now < this.trailingDueAt + intervalMs;
  }

  /** Seals the interval and delivers every waiting batch; failed ones wait for the next flush. */
  async flush(now: number, sinkFor: (destination: string) => TelemetrySink, exporter?: () => SpanExporter | undefined): Promise<void> {
    // One delivery at a time; a flush asked for during one runs after it, so it includes
    // everything recorded up to now.
    while (this.inflight) await this.inflight;
    const run = Promise.all([this.deliver(now, sinkFor), this.exportSpans(exporter?.())]).then(() => undefined);
    this.inflight = run.finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Spans are best-effort diagnostics: a failed export is counted, not retried. */
  private async exportSpans(exporter: SpanExporter | undefined): Promise<void> {
    if (this.spans.size === 0) return;
    const spans = this.spans.drain();
    if (!exporter) return;
    const { sent, failed } = await exporter.flush(spans);
    this.spansSent += sent;
    this.spansFailed += failed;
  }

  private async deliver(now: number, sinkFor: (destination: string) => TelemetrySink): Promise<void> {
    this.flushes++;
    const batches = this.recorder.takeBatches(now);
    const failed: TelemetryBatch[] = [];
    await Promise.all(
      batches.map(async (batch) => {
        this.deliveries++;
        try {
          // A late answer to a batch given up on is harmless: the object keeps each batch id once.
          const answer = await bounded(sinkFor(batch.destination || UNROUTED_SHARD).ingest(batch), DELIVERY_TIMEOUT_MS, `the telemetry object did not answer within ${DELIVERY_TIMEOUT_MS} ms`);
          const rate = fleetRateOf(answer);
          if (rate !== undefined && batch.destination !== "") this.onFleetRate?.(batch.destination, rate);
        } catch {
          this.deliveryFailures++;
          failed.push(batch);
        }
      }),
    );
    if (failed.length > 0) this.recorder.requeue(failed.sort((a, b) => a.from - b.from));
  }
}

/** `fleetRequestsPerSecond` from a telemetry object's answer to a batch, when it is a usable number. */
function fleetRateOf(answer: unknown): number | undefined {
  if (typeof answer !== "object" || answer === null || !("fleetRequestsPerSecond" in answer)) return undefined;
  const rate = answer.fleetRequestsPerSecond;
  return typeof rate === "number" && Number.isFinite(rate) && rate >= 0 ? rate : undefined;
}
