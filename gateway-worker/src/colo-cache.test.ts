import { describe, expect, it } from "vitest";
import { coloCacheKey, coloCachedSource, forgetColoSnapshot, type RejectedEntry } from "./colo-cache.js";
import { ConfigCache } from "./config-cache.js";
import { countingControlPlane, memoryCache } from "./config-test-support.js";

const MESH_A = { meshId: "a".repeat(64), secret: "secret of mesh a, held by its gateways" };
const MESH_B = { meshId: "b".repeat(64), secret: "secret of mesh b, held by its gateways" };

describe("config pulls through the colo cache", () => {
  it("lets the second isolate in a colo read the snapshot from the cache, not the control plane", async () => {
    const { source, state } = countingControlPlane();
    const cache = memoryCache();
    const clock = { now: 0 };
    const isolates = [1, 2, 3].map(() => new ConfigCache(coloCachedSource(source, cache, { ...MESH_A, ttlMs: 5_000, now: () => clock.now }), { refreshIntervalMs: 5_000, now: () => clock.now }));
    for (const isolate of isolates) expect((await isolate.get(() => undefined)).version).toBe(1);
    expect(state.reads).toBe(1);
  });

  it("goes back to the control plane once the cached copy is older than the TTL", async () => {
    const { source, state } = countingControlPlane();
    const cache = memoryCache();
    const clock = { now: 0 };
    const colo = coloCachedSource(source, cache, { ...MESH_A, ttlMs: 5_000, now: () => clock.now });
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
    const colo = coloCachedSource(source, cache, { ...MESH_A, ttlMs: 5_000, now: () => 0 });
    await colo.getSnapshot(null);
    await forgetColoSnapshot(cache, MESH_A.meshId);
    await colo.getSnapshot(null);
    expect(state.reads).toBe(2);
    cache.broken = true;
    const answer = await colo.getSnapshot(null);
    expect(answer.changed).toBe(true);
    expect(state.reads).toBe(3);
  });

  it("keeps two meshes on one cache apart: each reads its own control plane's snapshot", async () => {
    const a = countingControlPlane();
    const b = countingControlPlane();
    b.state.version = 7;
    const cache = memoryCache();
    const sourceA = coloCachedSource(a.source, cache, { ...MESH_A, ttlMs: 5_000, now: () => 0 });
    const sourceB = coloCachedSource(b.source, cache, { ...MESH_B, ttlMs: 5_000, now: () => 0 });
    const fromA = await sourceA.getSnapshot(null);
    const fromB = await sourceB.getSnapshot(null);
    expect(fromA.changed && fromA.snapshot.version).toBe(1);
    expect(fromB.changed && fromB.snapshot.version).toBe(7);
    expect([a.state.reads, b.state.reads]).toEqual([1, 1]);
  });

  it("ignores and counts entries it cannot authenticate, of another mesh, or older than the version held", async () => {
    const { source, state } = countingControlPlane();
    const cache = memoryCache();
    const rejected: RejectedEntry[] = [];
    const colo = coloCachedSource(source, cache, { ...MESH_A, ttlMs: 5_000, now: () => 0, onRejected: (reason) => rejected.push(reason) });
    await colo.getSnapshot(null);
    const genuine = await cache.match(coloCacheKey(MESH_A.meshId));
    if (!genuine) throw new Error("nothing stored");
    const headers = new Headers(genuine.headers);
    const body = await genuine.text();
    const forged = JSON.stringify({ ...JSON.parse(body), version: 99, documents: [] });

    const attempts: [string, Headers, RejectedEntry][] = [
      [forged, headers, "unauthenticated"], // the genuine MAC on other content
      [forged, withHeader(headers, "x-weft-mac", null), "unauthenticated"],
      [forged, withHeader(headers, "x-weft-mac", "not-a-mac"), "unauthenticated"],
      [body, withHeader(headers, "x-weft-mesh", MESH_B.meshId), "foreign"],
    ];
    for (const [entryBody, entryHeaders, reason] of attempts) {
      await cache.put(coloCacheKey(MESH_A.meshId), new Response(entryBody, { headers: entryHeaders }));
      const before = state.reads;
      const answer = await colo.getSnapshot(null);
      expect(answer.changed && answer.snapshot.version).toBe(1);
      expect(state.reads).toBe(before + 1);
      expect(rejected.at(-1)).toBe(reason);
    }

    // A genuine entry older than the version this isolate holds (a replay) is refused too.
    await cache.put(coloCacheKey(MESH_A.meshId), new Response(body, { headers }));
    state.version = 2;
    const answer = await colo.getSnapshot(2);
    expect(answer).toEqual({ changed: false, version: 2 });
    expect(rejected.at(-1)).toBe("older-version");
  });
});

function withHeader(headers: Headers, name: string, value: string | null): Headers {
  const copy = new Headers(headers);
  if (value === null) copy.delete(name);
  else copy.set(name, value);
  return copy;
}
