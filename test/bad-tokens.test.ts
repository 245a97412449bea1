import { CompactSign, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { activeSigningKey, admin, applyExampleMesh, gateway, gatewayEnv } from "./helpers.js";

/**
 * The bad-token table through the real gateway: each token is answered 401 and no call reaches the
 * destination. Tokens are signed with the control plane's real active key where the flaw is not
 * the signature, so each is refused for its flaw alone.
 */
const enc = (value: unknown) => btoa(typeof value === "string" ? value : JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const without = (payload: JWTPayload, claim: keyof JWTPayload): JWTPayload => {
  const copy = { ...payload };
  delete copy[claim];
  return copy;
};
const b64urlBytes = (bytes: ArrayBuffer) => enc(String.fromCharCode(...new Uint8Array(bytes)));

describe("bad tokens at the gateway", () => {
  let kid = "";
  let key: CryptoKey;
  let publicJwkText = "";
  let good = "";
  let revokedCredentialToken = "";
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (overrides: JWTPayload = {}): JWTPayload => ({ iss: "weft://shop.weft", sub: "spiffe://shop.weft/ns/default/sa/frontend", aud: "weft-gateway", iat: now() - 5, exp: now() + 300, jti: "t", ...overrides });
  const sign = (payload: JWTPayload, header: Record<string, unknown> = {}, signer: CryptoKey | Uint8Array = key, alg = "ES256") => new SignJWT(payload).setProtectedHeader({ alg, kid, ...header }).sign(signer);
  const byHand = async (header: Record<string, unknown>, payload: JWTPayload) => {
    const input = `${enc(header)}.${enc(payload)}`;
    return `${input}.${b64urlBytes(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input)))}`;
  };

  beforeAll(async () => {
    await applyExampleMesh();
    ({ kid, key, publicJwk: publicJwkText } = await activeSigningKey());
    good = await sign(claims());
    // A credential revoked before use cannot produce a token at all:
    const created = (await (await admin("/credentials", { method: "POST", body: JSON.stringify({ service: "frontend" }) })).json()) as { id: string; credential: string };
    await admin(`/credentials/${created.id}`, { method: "DELETE" });
    const exchanged = await gateway("http://gateway.test/.weft/token", { method: "POST", headers: { authorization: `Bearer ${created.credential}` } });
    expect(exchanged.status).toBe(401);
    revokedCredentialToken = created.credential; // what a caller holding only a revoked credential could present
  });

  it("accepts the well-formed token the table is built from", async () => {
    expect((await gateway("http://orders.mesh/orders", { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
  });

  it("answers 401 to at least 25 kinds of bad token, and the destination is never called", async () => {
    const { privateKey: otherKey } = await generateKeyPair("ES256");
    const { privateKey: p384 } = await generateKeyPair("ES384");
    const [h, p, s] = good.split(".") as [string, string, string];
    const hopToken = await sign(claims({ aud: "spiffe://shop.weft/ns/default/sa/orders" }));
    const table: [string, string][] = [
      ["alg none", `${enc({ alg: "none", kid })}.${p}.`],
      ["alg None", `${enc({ alg: "None", kid })}.${p}.${s}`],
      ["alg NONE", `${enc({ alg: "NONE", kid })}.${p}.${s}`],
      ["HS256 keyed with the public key", await sign(claims(), {}, new TextEncoder().encode(publicJwkText), "HS256")],
      ["ES384", await sign(claims(), {}, p384, "ES384")],
      ["a truncated signature", good.slice(0, -12)],
      ["an altered signature", `${h}.${p}.${s.slice(0, -3)}${s.endsWith("AAA") ? "BBB" : "AAA"}`],
      ["a DER-encoded signature", `${h}.${p}.${enc(`\x30\x44\x02\x20${atob(s.replace(/-/g, "+").replace(/_/g, "/")).slice(0, 32)}\x02\x20${atob(s.replace(/-/g, "+").replace(/_/g, "/")).slice(32)}`)}`],
      ["an unknown kid", await sign(claims(), { kid: "no-such-key" })],
      ["another key under the real kid", await sign(claims(), {}, otherKey)],
      ["a jku header", await sign(claims(), { jku: "https://evil.example/jwks" })],
      ["an x5u header", await sign(claims(), { x5u: "https://evil.example/cert" })],
      ["an x5c header", await sign(claims(), { x5c: ["MIIB"] })],
      ["a jwk header", await sign(claims(), { jwk: JSON.parse(publicJwkText) as Record<string, unknown> })],
      ["an unknown crit", await byHand({ alg: "ES256", kid, crit: ["x-magic"], "x-magic": 1 }, claims())],
      ["a missing exp", await byHand({ alg: "ES256", kid }, without(claims(), "exp"))],
      ["expired beyond the skew", await sign(claims({ iat: now() - 700, exp: now() - 120 }))],
      ["nbf in the future", await sign(claims({ nbf: now() + 600 }))],
      ["iat in the future", await sign(claims({ iat: now() + 600, exp: now() + 900 }))],
      ["a lifetime over the cap", await sign(claims({ exp: now() + 3_600 }))],
      ["a missing aud", await byHand({ alg: "ES256", kid }, without(claims(), "aud"))],
      ["a wrong aud", await sign(claims({ aud: "someone-else" }))],
      ["a hop token replayed as an SVID", hopToken],
      ["a wrong iss", await sign(claims({ iss: "weft://evil.weft" }))],
      ["a sub outside the trust domain", await sign(claims({ sub: "spiffe://evil.weft/ns/default/sa/frontend" }))],
      ["a non-object payload", await new CompactSign(new TextEncoder().encode("[1,2]")).setProtectedHeader({ alg: "ES256", kid }).sign(key)],
      ["JWS JSON serialization", JSON.stringify({ protected: h, payload: p, signature: s })],
      ["a JWE", `${enc({ alg: "dir", enc: "A256GCM", kid })}..${enc("iv")}.${enc("ct")}.${enc("tag")}`],
      ["a revoked credential presented as a token", revokedCredentialToken],
    ];
    expect(table.length).toBeGreaterThanOrEqual(25);

    let calls = 0;
    const counting = { fetch: async () => ((calls += 1), new Response("reached")) };
    const bindings = { ...gatewayEnv, ORDERS_V1: counting, ORDERS_V2: counting } as typeof gatewayEnv;
    for (const [what, token] of table) {
      const response = await gateway("http://orders.mesh/orders", { headers: { authorization: `Bearer ${token}` } }, bindings);
      expect(response.status, what).toBe(401);
      expect(response.headers.get("www-authenticate"), what).toMatch(/^Bearer/);
    }
    const inQuery = await gateway(`http://orders.mesh/orders?access_token=${good}`, {}, bindings);
    expect(inQuery.status, "a token in the query string").toBe(401);
    expect(calls).toBe(0);
  });
});
