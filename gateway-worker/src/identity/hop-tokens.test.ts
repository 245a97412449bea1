import { describe, expect, it } from "vitest";
import { HopTokens } from "./hop-tokens.js";

function setup() {
  const clock = { now: 0 };
  const state = { minted: 0, fail: false };
  const pending: Promise<unknown>[] = [];
  const tokens = new HopTokens(
    async (caller, destination) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (state.fail) throw new Error("control plane down");
      state.minted++;
      return { token: `${caller}->${destination}#${state.minted}`, expiresAt: new Date(clock.now + 300_000).toISOString() };
    },
    { now: () => clock.now },
  );
  return { clock, state, tokens, waitUntil: (p: Promise<unknown>) => pending.push(p), settle: () => Promise.all(pending.splice(0)) };
}

describe("hop tokens per caller→destination pair", () => {
  it("mints once per pair, however many concurrent requests need it", async () => {
    const { state, tokens, waitUntil } = setup();
    const got = await Promise.all(Array.from({ length: 20 }, () => tokens.get("a", "orders", waitUntil)));
    expect(new Set(got)).toEqual(new Set(["a->orders#1"]));
    await tokens.get("b", "orders", waitUntil);
    expect(state.minted).toBe(2);
  });

  it("renews in the background after half the lifetime, serving the held token meanwhile", async () => {
    const { clock, state, tokens, waitUntil, settle } = setup();
    await tokens.get("a", "orders", waitUntil);
    clock.now = 149_999;
    expect(await tokens.get("a", "orders", waitUntil)).toBe("a->orders#1");
    expect(state.minted).toBe(1);
    clock.now = 150_000;
    expect(await tokens.get("a", "orders", waitUntil)).toBe("a->orders#1");
    await settle();
    expect(await tokens.get("a", "orders", waitUntil)).toBe("a->orders#2");
  });

  it("keeps serving a still-valid token when renewal fails, and fails once it is near expiry", async () => {
    const { clock, state, tokens, waitUntil, settle } = setup();
    await tokens.get("a", "orders", waitUntil);
    state.fail = true;
    clock.now = 200_000;
    expect(await tokens.get("a", "orders", waitUntil)).toBe("a->orders#1");
    await settle();
    clock.now = 280_000;
    await expect(tokens.get("a", "orders", waitUntil)).rejects.toThrow(/down/);
  });
});
