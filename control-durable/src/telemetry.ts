/**
 * The telemetry Durable Object: one per destination service (gateways address it with
 * `env.TELEMETRY.idFromName(service)`), so telemetry load spreads across objects by service and
 * each object sees one batch per gateway isolate per flush interval, never one call per request.
 *
 * A thin RPC surface over TelemetryStore. Rollups are kept per minute for a day and per hour for
 * a week by an alarm that re-arms itself while there is anything left to compact; alarms are
 * at-least-once and compaction is idempotent, so a repeated alarm changes nothing.
 */
import { DurableObject } from "cloudflare:workers";
import type { TelemetryBatch } from "../../wire/src/telemetry.js";
import { COMPACTION_INTERVAL_MS } from "./telemetry-rollup.js";
import { migrateTelemetry, TelemetryStore, type CompactionResult, type TelemetryQuery, type TelemetryView, type TotalsView } from "./telemetry-store.js";

export type { CompactionResult, TelemetryQuery, TelemetryView, TotalsView } from "./telemetry-store.js";

export class TelemetryShard extends DurableObject {
  private readonly store: TelemetryStore;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.store = new TelemetryStore(ctx.storage.sql, (work) => ctx.storage.transactionSync(work));
    void ctx.blockConcurrencyWhile(async () => migrateTelemetry(ctx.storage.sql));
  }

  /** The object's SQLite database size in bytes (what it stores, whether or not checkpointed to disk yet). */
  storageBytes(): number {
    return this.ctx.storage.sql.databaseSize;
  }

  /**
   * Stores one gateway batch. Idempotent by `batchId` for an hour: a repeat answers accepted and
   * changes nothing. A malformed batch answers `accepted: false` (resending it will not help). The
   * answer also carries the destination's fleet-wide request rate.
   */
  async ingest(batch: TelemetryBatch): Promise<{ accepted: boolean; fleetRequestsPerSecond: number }> {
    const now = Date.now();
    const result = this.store.ingest(batch, now);
    if (!result.accepted) console.warn(`telemetry: refused batch ${String(batch.batchId)} for ${String(batch.destination)}: ${result.reason}`);
    if (result.accepted && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + COMPACTION_INTERVAL_MS);
    // The gateway scales its retry budget's floor by its share of this (docs/reliability.md#retry-storms-at-fleet-scale).
    return { accepted: result.accepted, fleetRequestsPerSecond: this.store.fleetRequestsPerSecond(now) };
  }

  /** Golden metrics over the last `windowMs` (ending at `now`, default the current time). */
  async query(request: TelemetryQuery): Promise<TelemetryView> {
    return this.store.query(request);
  }

  /** Cumulative request series and counters, for the Prometheus endpoint. */
  async totals(): Promise<TotalsView> {
    return this.store.totals();
  }

  /** One compaction pass as of `now` (the alarm passes the current time; tests pass a fake one). */
  async compact(now: number = Date.now()): Promise<CompactionResult> {
    return this.store.compact(now);
  }

  override async alarm(): Promise<void> {
    this.store.compact(Date.now());
    if (this.store.hasRollups()) await this.ctx.storage.setAlarm(Date.now() + COMPACTION_INTERVAL_MS);
  }
}
