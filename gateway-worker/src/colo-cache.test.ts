import { describe, expect, it } from "vitest";
import { coloCachedSource, forgetColoSnapshot } from "./colo-cache.js";
import { ConfigCache } from "./config-cache.js";
import { countingControlPlane, memoryCache } from "./config-test-support.js";

describe("config pulls through the colo cache", () => {
  it("lets the second isolate in a colo read the snapshot from the cache, not the control plane", async () => {
    const { source, state } = countingControlPlane();
    const cache = memoryCache();
    const clock = { now: 0 };
    const isolates = [1, 2, 3].map(() => new ConfigCache(coloCachedSource(source, cache, { ttlMs: 5_000, now: () => clock.now }), { refreshIntervalMs: 5_000, now: () => clock.now }));
    for (const isolate of isolates) expect((await isolate.get(() => undefined)).version).toBe(1);
    expect(state.reads).toBe(1);
  });

  it("goes back to the control plane once the cached copy is older than the TTL", async () => {
    const { source, state } = countingControlPlane();
    const cache = memoryCache();
    const clock = { now: 0 };
    const colo = coloCachedSource(source, cache, { ttlMs: 5_000, now: () => clock.now });
    await colo.getSnapshot(null);
    clock.now = 4_999;
    expect(await colo.getSnapshot(1)).toEqual({ changed: false, version: 1 });
    expect(state.reads).toBe(1);
    state.version = 2;
    clock.now = 5_000;
    const answer = await colo.getSnapshot(1);
    expect(answer.changed && answer.snapshot.version).toBe(2);
    expect(state.reads).toBe(2);
  });

  it("falls through to the control plane when the cache fails, and forgets on request", async () => {
    const { source, state } = countingControlPlane();
    const cache = memoryCache();
    const colo = coloCachedSource(source, cache, { ttlMs: 5_000, now: () => 0 });
    await colo.getSnapshot(null);
    await forgetColoSnapshot(cache);
    await colo.getSnapshot(null);
    expect(state.reads).toBe(2);
    cache.broken = true;
    const answer = await colo.getSnapshot(null);
    expect(answer.changed).toBe(true);
    expect(state.reads).toBe(3);
  });
});
