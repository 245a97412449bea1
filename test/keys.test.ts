import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_NAME, type ControlPlane } from "../control-durable/src/control-plane.js";
import { migrate } from "../control-durable/src/migrations.js";
import { createGateway } from "../gateway-worker/src/gateway.js";
import { KEY_PUBLISH_LEAD_MS } from "../wire/src/keys.js";
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
  createdAt: string;
  activatedAt: string | null;
  activateAt: string | null;
}

function controlPlane() {
  return gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
}

/**
 * As if the publish lead had passed since the next key was published: an on-demand rotation then
 * hands it signing at once (the suites share one control plane, so another may have just rotated).
 */
async function nextKeyPublishedLongEnough(): Promise<void> {
  await controlPlane().listKeys();
  await runInDurableObject(controlPlane(), (_instance: ControlPlane, state) => {
    state.storage.sql.exec("UPDATE signing_keys SET created_at = created_at - ? WHERE state = 'prepared'", KEY_PUBLISH_LEAD_MS);
  });
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
    await nextKeyPublishedLongEnough();
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
    const stub = controlPlane();
    const published = (await stub.jwks()).keys.map((key) => key.kid);
    expect(published).toEqual(expect.arrayContaining([active?.kid, newActive?.kid]));

    const audit = (await (await admin("/audit?limit=1")).json()) as { entries: { action: string; actor: string; summary: string }[] };
    expect(audit.entries[0]).toMatchObject({ action: "rotate-keys", actor: "admin:ops", summary: expect.stringContaining(newActive?.kid ?? "?") });
  });

  it("rotates again only once the next key has been published for the lead: until then the rotation is scheduled, and the alarm carries it out", async () => {
    await nextKeyPublishedLongEnough();
    expect((await admin("/keys/rotate", { method: "POST" })).status).toBe(200);
    // Seconds later: the key published by that rotation is too new for every verifier to have it.
    const rotated = await admin("/keys/rotate", { method: "POST", headers: { "weft-actor": "ops" } });
    expect(rotated.status).toBe(200);
    const keys = ((await rotated.json()) as { keys: KeyView[] }).keys;
    const active = keys.find((key) => key.state === "active");
    const next = keys.find((key) => key.state === "prepared");
    expect(next?.activateAt).toBe(new Date(Date.parse(next?.createdAt ?? "") + KEY_PUBLISH_LEAD_MS).toISOString());
    const audit = (await (await admin("/audit?limit=1")).json()) as { entries: { action: string; summary: string }[] };
    expect(audit.entries[0]).toMatchObject({ action: "rotate-keys", summary: `rotation scheduled: key ${next?.kid} signs from ${next?.activateAt}` });

    const stub = controlPlane();
    expect(await runInDurableObject(stub, (_instance: ControlPlane, state) => state.storage.getAlarm())).toBe(Date.parse(next?.activateAt ?? ""));
    // Asking again changes nothing, and neither does an alarm before the key is due.
    expect(((await (await admin("/keys/rotate", { method: "POST" })).json()) as { keys: KeyView[] }).keys).toEqual(keys);
    await runDurableObjectAlarm(stub);
    expect((await listKeys()).find((key) => key.state === "active")?.kid).toBe(active?.kid);

    // Once it is due (moved into the past here rather than waited for), the alarm hands it signing.
    await runInDurableObject(stub, (_instance: ControlPlane, state) => {
      state.storage.sql.exec("UPDATE signing_keys SET activate_at = ? WHERE kid = ?", Date.now() - 1, next?.kid ?? "");
    });
    await runDurableObjectAlarm(stub);
    const after = await listKeys();
    expect(after.find((key) => key.state === "active")).toMatchObject({ kid: next?.kid, activateAt: null });
    expect(after.find((key) => key.kid === active?.kid)?.state).toBe("retired");
  });

  it("adds the scheduled-activation column to a key table made before it", async () => {
    const columns = await runInDurableObject(controlPlane(), (_instance: ControlPlane, state) => {
      const names = () => state.storage.sql.exec<{ name: string }>("PRAGMA table_info(signing_keys)").toArray().map((row) => row.name);
      state.storage.sql.exec("ALTER TABLE signing_keys DROP COLUMN activate_at");
      const before = names();
      migrate(state.storage.sql);
      return { before, after: names() };
    });
    expect(columns.before).not.toContain("activate_at");
    expect(columns.after).toContain("activate_at");
    expect((await listKeys()).length).toBeGreaterThan(0);
  });

  it("keeps private keys in the Durable Object's storage only, and its alarm is idempotent", async () => {
    const stub = controlPlane();
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
      if (i === 20 || i === 40) {
        await nextKeyPublishedLongEnough();
        expect((await admin("/keys/rotate", { method: "POST" })).status).toBe(200);
      }
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

    await nextKeyPublishedLongEnough();
    expect((await admin("/keys/rotate", { method: "POST" })).status).toBe(200);
    expect(await call(oldToken)).toBe(200); // retired, still published: its tokens live out their lifetime

    // Fast-forward the retirement grace period, and let the control plane's alarm remove the key.
    const stub = controlPlane();
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
