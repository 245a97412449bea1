import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, applyExampleMesh, gateway } from "./helpers.js";

async function jwks(): Promise<JSONWebKeySet> {
  // Straight from the control plane's current set: the gateway's public copy may lag by 30 s.
  const response = await gateway("http://gateway.test/.well-known/jwks.json");
  return (await response.json()) as JSONWebKeySet;
}

async function createCredential(service: string): Promise<{ id: string; credential: string }> {
  const response = await admin("/credentials", { method: "POST", headers: { "content-type": "application/json", "weft-actor": "ops" }, body: JSON.stringify({ service }) });
  expect(response.status).toBe(201);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return (await response.json()) as { id: string; credential: string };
}

function exchange(credential: string | undefined, url = "http://gateway.test/.weft/token"): Promise<Response> {
  return gateway(url, { method: "POST", headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` } });
}

describe("bootstrap credentials and the token exchange", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("exchanges a credential for an ES256 SVID with the mesh's issuer, SPIFFE subject, gateway audience and lifetime", async () => {
    const { credential } = await createCredential("orders");
    expect(credential).toMatch(/^weft1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{40,}$/);
    const response = await exchange(credential);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; expiresAt: string };
    expect(decodeProtectedHeader(body.token)).toMatchObject({ alg: "ES256", kid: expect.any(String) });
    const { payload } = await jwtVerify(body.token, createLocalJWKSet(await jwks()), { issuer: "weft://shop.weft", audience: "weft-gateway", algorithms: ["ES256"] });
    expect(payload.sub).toBe("spiffe://shop.weft/ns/default/sa/orders");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    expect(payload.jti).toEqual(expect.any(String));
    expect(Date.parse(body.expiresAt)).toBe((payload.exp ?? 0) * 1000);
  });

  it.each([
    ["no Authorization header", undefined],
    ["a malformed credential", "not-a-credential"],
    ["an unknown id", "weft1.AAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
  ])("answers 401 with WWW-Authenticate to %s", async (_what, credential) => {
    const response = await exchange(credential);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("refuses a credential with a wrong secret, and one passed in the query string", async () => {
    const { id, credential } = await createCredential("catalog");
    expect((await exchange(`weft1.${id}.${"x".repeat(43)}`)).status).toBe(401);
    expect((await exchange(undefined, `http://gateway.test/.weft/token?credential=${credential}`)).status).toBe(400);
  });

  it("refuses a revoked credential, and records creation and revocation without the secret", async () => {
    const { id, credential } = await createCredential("frontend");
    expect((await exchange(credential)).status).toBe(200);
    const revoked = await admin(`/credentials/${id}`, { method: "DELETE", headers: { "weft-actor": "ops" } });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id, service: "frontend", revokedAt: expect.any(String) });
    expect((await exchange(credential)).status).toBe(401);

    const secret = credential.split(".")[2] ?? "?";
    const listed = await (await admin("/credentials")).text();
    const audit = await (await admin("/audit?limit=20")).text();
    expect(listed).toContain(id);
    expect(listed).not.toContain(secret);
    expect(audit).toContain(`revoked credential ${id} of frontend`);
    expect(audit).toContain(`created credential ${id} for frontend`);
    expect(audit).not.toContain(secret);
    expect((await admin(`/credentials/no-such-id`, { method: "DELETE" })).status).toBe(404);
  });

  it("refuses a credential for a service the mesh does not have", async () => {
    const response = await admin("/credentials", { method: "POST", body: JSON.stringify({ service: "ghost" }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "bad_request", message: expect.stringContaining("ghost") } });
  });

  it("lets an admin mint a token with a chosen lifetime up to 15 minutes", async () => {
    const minted = await admin("/tokens", { method: "POST", body: JSON.stringify({ service: "httpbin", ttlSeconds: 30 }) });
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as { token: string };
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), { audience: "weft-gateway" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(30);
    for (const ttlSeconds of [0, 901, 1.5]) {
      expect((await admin("/tokens", { method: "POST", body: JSON.stringify({ service: "httpbin", ttlSeconds }) })).status, String(ttlSeconds)).toBe(400);
    }
    expect((await admin("/tokens", { method: "POST", body: JSON.stringify({ service: "ghost" }) })).status).toBe(400);
  });
});
