/**
 * The scale model of docs/scale-model.md, checked by simulation: many gateway isolates in many
 * colos, each with the real ConfigCache, pulling through the colo cache (or not) from a control
 * plane that counts its reads, over a minute of virtual time.
 */
import { describe, expect, it } from "vitest";
import { coloCachedSource } from "./colo-cache.js";
import { ConfigCache } from "./config-cache.js";
import { countingControlPlane, memoryCache } from "./config-test-support.js";
import { TelemetryState } from "./telemetry/state.js";

/** Expected control-plane config reads per second (docs/scale-model.md). */
export function modelReadsPerSecond(model: { colos: number; isolatesPerColo: number; refreshIntervalMs: number; coloCache: boolean }): number {
  const pullers = model.coloCache ? model.colos : model.colos * model.isolatesPerColo;
  return pullers / (model.refreshIntervalMs / 1000);
}

async function simulate(model: { colos: number; isolatesPerColo: number; refreshIntervalMs: number; coloCache: boolean; seconds: number; seed: number }) {
  const { source, state } = countingControlPlane();
  const clock = { now: 0 };
  let seed = model.seed;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const isolates: { cache: ConfigCache; startsAt: number }[] = [];
  for (let colo = 0; colo < model.colos; colo++) {
    const shared = memoryCache();
    for (let i = 0; i < model.isolatesPerColo; i++) {
      const pulls = model.coloCache ? coloCachedSource(source, shared, { ttlMs: model.refreshIntervalMs, now: () => clock.now, meshId: "mesh", secret: "the mesh's colo-cache secret" }) : source;
      // Isolates start at different moments, as they do when traffic spreads over a colo.
      isolates.push({ cache: new ConfigCache(pulls, { refreshIntervalMs: model.refreshIntervalMs, now: () => clock.now }), startsAt: Math.floor(random() * model.refreshIntervalMs) });
    }
  }
  const tickMs = 100;
  let readsAtSteadyStart = 0;
  for (clock.now = 0; clock.now < model.seconds * 1000; clock.now += tickMs) {
    if (clock.now === model.refreshIntervalMs * 2) readsAtSteadyStart = state.reads; // skip warm-up
    const background: Promise<unknown>[] = [];
    // Every isolate serves requests in every tick, concurrently within the tick.
    await Promise.all(isolates.filter((isolate) => isolate.startsAt <= clock.now).map((isolate) => isolate.cache.get((p) => background.push(p))));
    await Promise.all(background);
  }
  const steadySeconds = model.seconds - (model.refreshIntervalMs * 2) / 1000;
  return { readsPerSecond: (state.reads - readsAtSteadyStart) / steadySeconds };
}

describe("scale model: control-plane config reads", () => {
  it("grows with isolates ÷ interval when every isolate pulls for itself", async () => {
    const model = { colos: 10, isolatesPerColo: 8, refreshIntervalMs: 5_000, coloCache: false };
    const { readsPerSecond } = await simulate({ ...model, seconds: 60, seed: 1 });
    const expected = modelReadsPerSecond(model); // 80 isolates / 5 s = 16 reads/s
    expect(readsPerSecond).toBeGreaterThan(expected * 0.9);
    expect(readsPerSecond).toBeLessThan(expected * 1.1);
  });

  it("grows with colos ÷ interval, not isolates, through the colo cache", async () => {
    const model = { colos: 10, isolatesPerColo: 8, refreshIntervalMs: 5_000, coloCache: true };
    const { readsPerSecond } = await simulate({ ...model, seconds: 60, seed: 2 });
    const expected = modelReadsPerSecond(model); // 10 colos / 5 s = 2 reads/s
    expect(readsPerSecond).toBeGreaterThan(expected * 0.5);
    // Isolates whose refreshes fall due in the same instant may all miss together: allow for it.
    expect(readsPerSecond).toBeLessThan(expected * 2);
    expect(readsPerSecond).toBeLessThan(modelReadsPerSecond({ ...model, coloCache: false }) / 3);
  });

  it("keeps a 300-colo fleet well inside one Durable Object's budget (~1,000 requests/s)", () => {
    const fleet = { colos: 300, isolatesPerColo: 20, refreshIntervalMs: 5_000 };
    expect(modelReadsPerSecond({ ...fleet, coloCache: false })).toBe(1_200); // over budget without the colo cache
    expect(modelReadsPerSecond({ ...fleet, coloCache: true })).toBe(60);
  });
});

describe("scale model: telemetry flushes", () => {
  /** Each busy isolate sends one batch per destination per interval, whatever its request rate. */
  async function simulateFlushes(model: { isolates: number; destinations: number; requestsPerSecond: number; intervalMs: number; seconds: number }) {
    const deliveries = new Map<string, number>();
    const sink = (shard: string) => ({
      ingest: async () => {
        deliveries.set(shard, (deliveries.get(shard) ?? 0) + 1);
      },
    });
    const isolates = Array.from({ length: model.isolates }, () => new TelemetryState(0));
    const stepMs = 10;
    const perStepPerIsolate = (model.requestsPerSecond * stepMs) / 1000 / model.isolates;
    let carry = 0;
    const pending: Promise<unknown>[] = [];
    for (let now = 0; now < model.seconds * 1000; now += stepMs) {
      for (const isolate of isolates) {
        carry += perStepPerIsolate;
        while (carry >= 1) {
          carry--;
          const destination = `svc-${Math.floor(Math.random() * model.destinations)}`;
          isolate.recorder.recordRequest({ source: "a", destination, subset: "v1", route: "r", code: 200 }, 5, now);
          isolate.maybeFlush(now, model.intervalMs, sink, (p) => pending.push(p));
        }
      }
      await Promise.all(pending.splice(0));
    }
    const perShardPerSecond = [...deliveries.values()].map((n) => n / model.seconds);
    return Math.max(...perShardPerSecond);
  }

  it("each telemetry object sees about isolates ÷ interval batches per second, independent of the request rate", async () => {
    const base = { isolates: 20, destinations: 5, intervalMs: 5_000, seconds: 60 };
    const calm = await simulateFlushes({ ...base, requestsPerSecond: 200 });
    const busy = await simulateFlushes({ ...base, requestsPerSecond: 20_000 });
    const model = base.isolates / (base.intervalMs / 1000); // 4 batches/s per shard
    expect(calm).toBeLessThanOrEqual(model * 1.05);
    expect(busy).toBeLessThanOrEqual(model * 1.05);
    expect(busy).toBeGreaterThan(model * 0.8);
  });
});
