import { exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { JwksCache } from "./jwks-cache.js";

async function publicJwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(publicKey)), kid };
}

function setup(initial: JWK[]) {
  const state = { keys: initial, fetches: 0 };
  const clock = { now: 0 };
  const pending: Promise<unknown>[] = [];
  const cache = new JwksCache(
    async () => {
      state.fetches++;
      return { keys: state.keys };
    },
    { now: () => clock.now },
  );
  return { state, clock, cache, waitUntil: (p: Promise<unknown>) => pending.push(p), settle: () => Promise.all(pending.splice(0)) };
}

describe("isolate JWKS cache", () => {
  it("loads once, then answers known kids without fetching", async () => {
    const { state, cache, waitUntil } = setup([await publicJwk("a")]);
    for (let i = 0; i < 50; i++) expect(await cache.key("a", waitUntil)).toBeDefined();
    expect(state.fetches).toBe(1);
  });

  it("refreshes at most once per 30 s for unknown kids, however many arrive", async () => {
    const { state, clock, cache, waitUntil } = setup([await publicJwk("a")]);
    await cache.key("a", waitUntil);
    const lookups = await Promise.all(Array.from({ length: 1_000 }, (_, i) => cache.key(`made-up-${i}`, waitUntil)));
    expect(lookups.every((key) => key === undefined)).toBe(true);
    expect(state.fetches).toBe(2);
    clock.now = 29_999;
    await cache.key("another", waitUntil);
    expect(state.fetches).toBe(2);
    clock.now = 30_000;
    await cache.key("another", waitUntil);
    expect(state.fetches).toBe(3);
  });

  it("finds a key published after its last fetch with one refresh", async () => {
    const { state, cache, waitUntil } = setup([await publicJwk("a")]);
    await cache.key("a", waitUntil);
    state.keys = [...state.keys, await publicJwk("b")];
    expect(await cache.key("b", waitUntil)).toBeDefined();
    expect(state.fetches).toBe(2);
  });

  it("forgets removed keys on refresh, and refreshes in the background when due", async () => {
    const { state, clock, cache, waitUntil, settle } = setup([await publicJwk("a"), await publicJwk("b")]);
    await cache.key("a", waitUntil);
    state.keys = state.keys.filter((key) => key.kid !== "a");
    clock.now = 60_000;
    expect(await cache.key("b", waitUntil)).toBeDefined();
    await settle();
    expect(cache.has("a")).toBe(false);
    expect(cache.refreshes).toBe(2);
  });

  it("refreshes when due even if callers only ask whether a key is still published", async () => {
    const { state, clock, cache, waitUntil, settle } = setup([await publicJwk("a")]);
    await cache.key("a", waitUntil);
    state.keys = [];
    cache.refreshIfDue(waitUntil);
    await settle();
    expect(cache.has("a")).toBe(true); // not due yet
    clock.now = 60_000;
    cache.refreshIfDue(waitUntil);
    await settle();
    expect(cache.has("a")).toBe(false);
  });

  it("never imports a private part", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const { state, cache, waitUntil } = setup([{ ...(await exportJWK(privateKey)), kid: "p" }]);
    const imported = await cache.key("p", waitUntil);
    expect(imported?.type).toBe("public");
    expect(state.fetches).toBe(1);
  });
});
