import { afterEach, describe, expect, it, vi } from "vitest";
import type { TelemetryBatch } from "../../../wire/src/telemetry.js";
import { TelemetryState } from "./state.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("telemetry delivery", () => {
  it("gives up on a batch its telemetry object never answers, keeps it, and delivers it with the next flush", async () => {
    vi.useFakeTimers();
    const state = new TelemetryState(0);
    state.recorder.recordRequest({ source: "frontend", destination: "orders", subset: "v1", route: "orders/#0", code: 200 }, 5, 0);
    const hanging = { ingest: () => new Promise<never>(() => undefined) };

    const flushed = state.flush(5_000, () => hanging).then(() => "settled" as const);
    // The runtime gives background work 30 s after a response; a delivery must settle well inside that.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await Promise.race([flushed, Promise.resolve("still waiting" as const)])).toBe("settled");
    expect(state.deliveryFailures).toBe(1);
    expect(state.recorder.pendingBatches).toBe(1);

    // The next flush is not stuck behind the first, and the batch arrives.
    const received: TelemetryBatch[] = [];
    const next = state.flush(10_000, () => ({
      ingest: async (batch: TelemetryBatch) => {
        received.push(batch);
        return { accepted: true };
      },
    }));
    await vi.advanceTimersByTimeAsync(0);
    await next;
    expect(received.map((batch) => batch.destination)).toEqual(["orders"]);
    expect(state.recorder.pendingBatches).toBe(0);
  });
});
