import { describe, expect, it } from "vitest";
import type { SnapshotAnswer } from "../../control-durable/src/types.js";
import { ConfigCache, type ConfigSource } from "./config-cache.js";

const service = { apiVersion: "weft/v1", kind: "Service", metadata: { name: "a" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A" }] }] } };

function fakeSource(version = 1) {
  const state = { version, calls: 0, fail: false, knownVersions: [] as (number | null)[] };
  const source: ConfigSource = {
    async getSnapshot(known): Promise<SnapshotAnswer> {
      state.calls++;
      state.knownVersions.push(known);
      if (state.fail) throw new Error("down");
      if (known === state.version) return { changed: false, version: state.version };
      return { changed: true, snapshot: { version: state.version, createdAt: "", documents: [service] } };
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
    expect(cache.status()).toMatchObject({ version: 1, stale: true, lastError: "down" });
    state.fail = false;
    clock.now = 2_000;
    await get();
    await settle();
    expect(cache.status()).toMatchObject({ stale: false, lastError: null });
  });

  it("calls a snapshot stale when nothing confirmed it for three intervals", async () => {
    const { clock, get, cache } = setup();
    await get();
    clock.now = 3_001;
    expect(cache.status().stale).toBe(true);
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

  it("refuses a snapshot that does not validate and keeps the previous one", async () => {
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
