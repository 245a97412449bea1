import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_NAME, type ControlPlane } from "../control-durable/src/control-plane.js";
import { createGateway } from "../gateway-worker/src/gateway.js";
import { admin, applyExampleMesh, gateway, gatewayEnv } from "./helpers.js";

/** A new gateway isolate (own caches) and a function that calls orders through it with a token. */
function freshGatewayCaller(now?: () => number): (token: string) => Promise<number> {
  const fresh = createGateway(now ? { now } : {});
  return async (token) => {
    const ctx = createExecutionContext();
    const response = await fresh.fetch(new Request("http://orders.mesh/orders", { headers: { authorization: `Bearer ${token}` } }) as Parameters<typeof fresh.fetch>[0], gatewayEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response.status;
  };
}

interface Jwk {
  kid: string;
  kty: string;
  crv: string;
  alg: string;
  use: string;
  x: string;
  y: string;
  d?: string;
}
interface KeyView {
  kid: string;
  state: string;
}

const PRIVATE_PARTS = /"(d|p|q|dp|dq|qi|k)"\s*:/;

async function listKeys(): Promise<KeyView[]> {
  const response = await admin("/keys");
  expect(response.status).toBe(200);
  const text = await response.text();
  expect(text).not.toMatch(PRIVATE_PARTS);
  return (JSON.parse(text) as { keys: KeyView[] }).keys;
}

describe("signing keys in the control plane", () => {
  it("publishes ES256 public keys at /.well-known/jwks.json, never a private part", async () => {
    const response = await gateway("http://gateway.test/.well-known/jwks.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const text = await response.text();
    expect(text).not.toMatch(PRIVATE_PARTS);
    const { keys } = JSON.parse(text) as { keys: Jwk[] };
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: expect.any(String) });
  });

  it("rotates on demand: a new active key, the old one retired and still published, an audit entry", async () => {
    const before = await listKeys();
    const active = before.find((key) => key.state === "active");
    expect(active).toBeDefined();

    const rotated = await admin("/keys/rotate", { method: "POST", headers: { "weft-actor": "ops" } });
    expect(rotated.status).toBe(200);
    const rotatedText = await rotated.text();
    expect(rotatedText).not.toMatch(PRIVATE_PARTS);
    const after = (JSON.parse(rotatedText) as { keys: KeyView[] }).keys;
    const newActive = after.find((key) => key.state === "active");
    expect(newActive?.kid).not.toBe(active?.kid);
    expect(after.find((key) => key.kid === active?.kid)?.state).toBe("retired");

    // The JWKS the control plane serves has both (the gateway's copy refreshes within 30 s).
    const stub = gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
    const published = (await stub.jwks()).keys.map((key) => key.kid);
    expect(published).toEqual(expect.arrayContaining([active?.kid, newActive?.kid]));

    const audit = (await (await admin("/audit?limit=1")).json()) as { entries: { action: string; actor: string; summary: string }[] };
    expect(audit.entries[0]).toMatchObject({ action: "rotate-keys", actor: "admin:ops", summary: expect.stringContaining(newActive?.kid ?? "?") });
  });

  it("keeps private keys in the Durable Object's storage only, and its alarm is idempotent", async () => {
    const stub = gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
    await stub.jwks();
    const stored = await runInDurableObject(stub, (_instance: ControlPlane, state) =>
      state.storage.sql.exec<{ private_jwk: string }>("SELECT private_jwk FROM signing_keys").toArray(),
    );
    expect(stored.length).toBeGreaterThan(0);
    for (const row of stored) expect(JSON.parse(row.private_jwk)).toHaveProperty("d");

    const keysBefore = await stub.listKeys();
    await runDurableObjectAlarm(stub);
    await runDurableObjectAlarm(stub);
    expect(await stub.listKeys()).toEqual(keysBefore);
  });

  it("needs the admin token for the key routes", async () => {
    for (const [method, path] of [
      ["GET", "/keys"],
      ["POST", "/keys/rotate"],
    ] as const) {
      const response = await gateway(`http://gateway.test/.weft/api/v1${path}`, { method });
      expect(response.status).toBe(401);
    }
  });
});

describe("rotation under a steady stream of calls", () => {
  it("rotates twice with zero failed requests, old and new tokens both accepted", async () => {
    await applyExampleMesh();
    const call = freshGatewayCaller(); // its own JWKS copy, loaded on first use
    const mint = async () => ((await (await admin("/tokens", { method: "POST", body: JSON.stringify({ service: "frontend" }) })).json()) as { token: string }).token;

    const beforeRotation = await mint();
    let token = beforeRotation;
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      if (i === 20 || i === 40) expect((await admin("/keys/rotate", { method: "POST" })).status).toBe(200);
      if (i % 5 === 0) token = await mint(); // callers renew: new tokens come from the newest key
      statuses.push(await call(token));
    }
    statuses.push(await call(beforeRotation)); // signed by a key that is now retired, still published
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });
});

describe("key removal", () => {
  it("stops accepting tokens signed by a key once the key is removed, within one JWKS refresh", async () => {
    await applyExampleMesh();
    const clock = { now: Date.now() };
    const call = freshGatewayCaller(() => clock.now);
    const oldToken = ((await (await admin("/tokens", { method: "POST", body: JSON.stringify({ service: "frontend" }) })).json()) as { token: string }).token;
    expect(await call(oldToken)).toBe(200);

    expect((await admin("/keys/rotate", { method: "POST" })).status).toBe(200);
    expect(await call(oldToken)).toBe(200); // retired, still published: its tokens live out their lifetime

    // Fast-forward the retirement grace period, and let the control plane's alarm remove the key.
    const stub = gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
    await runInDurableObject(stub, (_instance: ControlPlane, state) => {
      state.storage.sql.exec("UPDATE signing_keys SET remove_after = 0 WHERE state = 'retired'");
    });
    await runDurableObjectAlarm(stub);
    expect((await stub.listKeys()).some((key) => key.state === "retired")).toBe(false);

    clock.now += 61_000; // past the isolate's JWKS refresh interval
    await call(oldToken); // may still be served while the key set refreshes in the background
    expect(await call(oldToken)).toBe(401);
  });
});
