import { describe, expect, it, vi } from "vitest";
import type { SnapshotAnswer } from "../../wire/src/snapshot.js";
import { ConfigCache, type ConfigSource } from "./config-cache.js";
import { shipped } from "./config-test-support.js";

const service = { apiVersion: "weft/v1", kind: "Service", metadata: { name: "a" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A" }] }] } };

function fakeSource(version = 1) {
  const state = { version, calls: 0, fail: false, knownVersions: [] as (number | null)[] };
  const source: ConfigSource = {
    async getSnapshot(known): Promise<SnapshotAnswer> {
      state.calls++;
      state.knownVersions.push(known);
      if (state.fail) throw new Error("down");
      if (known === state.version) return { changed: false, version: state.version };
      return { changed: true, snapshot: shipped(state.version, [service]) };
    },
  };
  return { source, state };
}

function setup() {
  const { source, state } = fakeSource();
  const clock = { now: 0 };
  const pending: Promise<unknown>[] = [];
  const cache = new ConfigCache(source, { refreshIntervalMs: 1_000, now: () => clock.now });
  const get = () => cache.get((p) => pending.push(p));
  const settle = () => Promise.all(pending.splice(0));
  return { cache, state, clock, get, settle };
}

describe("isolate config cache", () => {
  it("loads once when cold and then serves without asking until the interval passes", async () => {
    const { state, clock, get, settle } = setup();
    expect((await get()).version).toBe(1);
    for (let i = 0; i < 100; i++) await get();
    clock.now = 999;
    await get();
    await settle();
    expect(state.calls).toBe(1);
  });

  it("asks conditionally with the version it holds and keeps the snapshot on 'unchanged'", async () => {
    const { state, clock, get, settle, cache } = setup();
    const first = await get();
    clock.now = 1_000;
    await get();
    await settle();
    expect(state.knownVersions).toEqual([null, 1]);
    expect(await get()).toBe(first);
    expect(cache.status()).toMatchObject({ version: 1, stale: false, ageMs: 0 });
  });

  it("swaps in a new version after a background refresh", async () => {
    const { state, clock, get, settle } = setup();
    await get();
    state.version = 2;
    clock.now = 1_500;
    expect((await get()).version).toBe(1); // this request is not held up
    await settle();
    expect((await get()).version).toBe(2);
  });

  it("keeps serving and reports stale when refreshes fail", async () => {
    const { state, clock, get, settle, cache } = setup();
    await get();
    state.fail = true;
    clock.now = 1_000;
    await get();
    await settle();
    expect(cache.status()).toMatchObject({ version: 1, stale: true, lastError: "down", refreshFailures: 1 });
    state.fail = false;
    // One failure doubles the wait: the next pull is two intervals later.
    clock.now = 3_000;
    await get();
    await settle();
    expect(cache.status()).toMatchObject({ stale: false, lastError: null });
  });

  it("does not call a snapshot stale merely because the isolate sat idle: stale means the control plane failed", async () => {
    const { clock, get, cache } = setup();
    await get();
    clock.now = 60_000;
    expect(cache.status()).toMatchObject({ version: 1, stale: false, lastError: null });
  });

  it("never lets a refresh that will not settle (its request gone, its timer dead) block the next one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }); // timers never fire, as in a finished request
    try {
      const state = { version: 1, calls: 0, hang: false };
      const source: ConfigSource = {
        getSnapshot(): Promise<SnapshotAnswer> {
          state.calls++;
          if (state.hang) return new Promise(() => undefined);
          return Promise.resolve({ changed: true, snapshot: shipped(state.version, [service]) });
        },
      };
      const clock = { now: 0 };
      const cache = new ConfigCache(source, { refreshIntervalMs: 1_000, pullTimeoutMs: 500, now: () => clock.now });
      const dropped = (_promise: Promise<unknown>) => undefined; // a caller that keeps nothing alive
      expect((await cache.get(dropped)).version).toBe(1);
      state.hang = true;
      clock.now = 1_000;
      await cache.get(dropped); // starts a refresh that never settles
      expect(state.calls).toBe(2);
      state.hang = false;
      state.version = 2;
      clock.now = 1_600; // past the pull's time limit: that refresh is abandoned
      expect(cache.status()).toMatchObject({ stale: true });
      const pending: Promise<unknown>[] = [];
      await cache.get((p) => pending.push(p));
      expect(state.calls).toBe(3);
      await Promise.all(pending);
      expect((await cache.get(dropped)).version).toBe(2);
      expect(cache.status()).toMatchObject({ version: 2, stale: false, lastError: null });
    } finally {
      vi.useRealTimers();
    }
  });

  it("fails a cold request within the pull's time limit when the control plane hangs", async () => {
    const source: ConfigSource = { getSnapshot: () => new Promise(() => undefined) };
    const clock = { now: 0 };
    const cache = new ConfigCache(source, { refreshIntervalMs: 1_000, pullTimeoutMs: 50, now: () => clock.now });
    const started = Date.now();
    await expect(cache.get(() => undefined)).rejects.toMatchObject({ code: "control_plane_unavailable" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("shares one pull between concurrent cold requests and fails them when there is nothing to serve", async () => {
    const { state, get } = setup();
    state.fail = true;
    const results = await Promise.allSettled([get(), get(), get()]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(state.calls).toBe(1);
  });

  it("fails fast while cold for a second after a failed pull, then tries again", async () => {
    const { state, clock, get } = setup();
    state.fail = true;
    await expect(get()).rejects.toMatchObject({ code: "control_plane_unavailable" });
    clock.now = 500;
    await expect(get()).rejects.toMatchObject({ code: "control_plane_unavailable" });
    expect(state.calls).toBe(1);
    state.fail = false;
    clock.now = 1_000;
    expect((await get()).version).toBe(1);
    expect(state.calls).toBe(2);
  });

  it("refuses a snapshot without the normalized form it reads (the control plane could not validate it) and keeps the previous one", async () => {
    const { state, clock, get, settle, cache } = setup();
    await get();
    const broken: ConfigSource = { getSnapshot: async () => ({ changed: true, snapshot: { version: 9, createdAt: "", documents: [{ kind: "Nope" }] } }) };
    const other = new ConfigCache(broken, { refreshIntervalMs: 1_000, now: () => clock.now });
    await expect(other.get(() => undefined)).rejects.toMatchObject({ code: "control_plane_unavailable" });
    expect(state.calls).toBe(1);
    await settle();
    expect(cache.status().version).toBe(1);
  });
});

describe("refreshes against a failing control plane", () => {
  it("back off: each failure doubles the wait before the next pull (up to a minute), health checks included, and one success resets it", async () => {
    const { cache, state, clock, get, settle } = setup();
    await get();
    state.fail = true;
    const pullsAt: number[] = [];
    // A request every 100 ms and a health check every second, for five minutes.
    for (clock.now = 1_000; clock.now <= 300_000; clock.now += 100) {
      const before = state.calls;
      await get();
      if (clock.now % 1_000 === 0) await cache.refreshIfDue(0, () => undefined);
      await settle();
      if (state.calls > before) pullsAt.push(clock.now);
    }
    const gaps = pullsAt.slice(1).map((at, i) => at - (pullsAt[i] as number));
    // 1 s, 2 s, 4 s, … then at most one pull a minute: not one per interval, let alone one per request.
    expect(gaps.slice(0, 6)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000]);
    expect(gaps.slice(6).every((gap) => gap === 60_000)).toBe(true);
    expect(cache.status()).toMatchObject({ stale: true, refreshFailures: pullsAt.length });

    state.fail = false;
    clock.now += 60_000;
    await get();
    await settle();
    expect(cache.status()).toMatchObject({ stale: false, refreshFailures: 0 });
  });
});
