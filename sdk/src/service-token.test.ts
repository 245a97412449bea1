import { describe, expect, it } from "vitest";
import { createMeshClient } from "./client.js";
import { MeshError } from "./errors.js";
import { ServiceToken } from "./service-token.js";

const CREDENTIAL = "weft1.abcdefghijkl.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const LIFETIME_MS = 600_000;

/** A gateway stand-in: issues numbered tokens, and answers mesh calls, refusing tokens it was told to. */
function fakeGateway(clock: { now: number }) {
  const state = { issued: 0, refused: new Set<string>(), seen: [] as (string | null)[], failExchange: false };
  const binding = {
    async fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
      const request = input instanceof Request ? input : new Request(String(input), init);
      const url = new URL(request.url);
      if (url.pathname === "/.weft/token") {
        await new Promise((resolve) => setTimeout(resolve, 5)); // let concurrent callers pile up
        if (state.failExchange || request.headers.get("authorization") !== `Bearer ${CREDENTIAL}`) {
          return new MeshError("unauthenticated", "the credential is not valid").toResponse();
        }
        state.issued++;
        return Response.json({ token: `svid-${state.issued}`, expiresAt: new Date(clock.now + LIFETIME_MS).toISOString() });
      }
      const authorization = request.headers.get("authorization");
      state.seen.push(authorization);
      if (authorization && state.refused.has(authorization.slice("Bearer ".length))) return new MeshError("unauthenticated", "refused").toResponse();
      return Response.json({ body: request.body ? await request.text() : null });
    },
  };
  return { state, binding };
}

describe("the function's own service token", () => {
  it("exchanges once for many concurrent callers and reuses the token", async () => {
    const clock = { now: 0 };
    const { state, binding } = fakeGateway(clock);
    const token = new ServiceToken(binding, CREDENTIAL, { now: () => clock.now, random: () => 0.5 });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => token.get()));
    expect(new Set(tokens)).toEqual(new Set(["svid-1"]));
    expect(state.issued).toBe(1);
  });

  it("renews at about half the lifetime, with jitter between 40% and 60%", async () => {
    const clock = { now: 0 };
    const { state, binding } = fakeGateway(clock);
    const early = new ServiceToken(binding, CREDENTIAL, { now: () => clock.now, random: () => 0 });
    await early.get();
    clock.now = LIFETIME_MS * 0.39;
    expect(await early.get()).toBe("svid-1");
    clock.now = LIFETIME_MS * 0.4;
    expect(await early.get()).toBe("svid-2");

    clock.now = 0;
    const late = new ServiceToken(binding, CREDENTIAL, { now: () => clock.now, random: () => 1 });
    const first = await late.get();
    clock.now = LIFETIME_MS * 0.59;
    expect(await late.get()).toBe(first);
    clock.now = LIFETIME_MS * 0.6 + 1;
    expect(await late.get()).not.toBe(first);
    expect(state.issued).toBe(4);
  });

  it("refuses a malformed credential at once, and reports a refused exchange as a MeshError", async () => {
    const clock = { now: 0 };
    const { state, binding } = fakeGateway(clock);
    expect(() => new ServiceToken(binding, "not-a-credential")).toThrow(/malformed/);
    state.failExchange = true;
    await expect(new ServiceToken(binding, CREDENTIAL).get()).rejects.toMatchObject({ code: "unauthenticated" });
  });
});

describe("mesh calls with a credential", () => {
  it("carries the function's SVID on every call", async () => {
    const clock = { now: 0 };
    const { state, binding } = fakeGateway(clock);
    const mesh = createMeshClient(binding, { credential: CREDENTIAL, now: () => clock.now });
    await mesh.fetch("orders", "/a");
    await mesh.fetch("http://orders.mesh/b");
    expect(state.seen).toEqual(["Bearer svid-1", "Bearer svid-1"]);
  });

  it("renews once and retries once when the gateway refuses the token, body included", async () => {
    const clock = { now: 0 };
    const { state, binding } = fakeGateway(clock);
    const mesh = createMeshClient(binding, { credential: CREDENTIAL, now: () => clock.now });
    await mesh.fetch("orders", "/warm");
    state.refused.add("svid-1");
    const response = await mesh.fetch("orders", "/orders", { method: "POST", body: "payload" });
    expect(await response.json()).toEqual({ body: "payload" });
    expect(state.seen.slice(1)).toEqual(["Bearer svid-1", "Bearer svid-2"]);

    state.refused.add("svid-2");
    state.refused.add("svid-3");
    await expect(mesh.fetch("orders", "/x")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(state.issued).toBe(3); // one renewal for that call, no loop
  });

  it("sends no token without a credential", async () => {
    const { state, binding } = fakeGateway({ now: 0 });
    await createMeshClient(binding).fetch("orders", "/a");
    expect(state.seen).toEqual([null]);
  });
});
