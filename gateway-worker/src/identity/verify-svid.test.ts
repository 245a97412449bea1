import { CompactSign, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { verifySvid, type SvidExpectations } from "./verify-svid.js";

const NOW = 1_800_000_000;
const ISSUER = "weft://shop.weft";
const SUB = "spiffe://shop.weft/ns/default/sa/frontend";
const enc = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

let key: CryptoKey;
let publicKey: CryptoKey;
let otherKey: CryptoKey;
let p384: CryptoKey;
let publicJwkText: string;
let expectations: SvidExpectations;

beforeAll(async () => {
  ({ privateKey: key, publicKey } = await generateKeyPair("ES256"));
  ({ privateKey: otherKey } = await generateKeyPair("ES256"));
  ({ privateKey: p384 } = await generateKeyPair("ES384"));
  publicJwkText = JSON.stringify(await exportJWK(publicKey));
  expectations = { issuer: ISSUER, audience: "weft-gateway", trustDomain: "shop.weft", nowSeconds: NOW, key: async (kid) => (kid === "k1" ? publicKey : undefined) };
});

function claims(overrides: JWTPayload = {}): JWTPayload {
  return { iss: ISSUER, sub: SUB, aud: "weft-gateway", iat: NOW - 10, exp: NOW + 590, jti: "j", ...overrides };
}

function sign(payload: JWTPayload, header: Record<string, unknown> = {}, signer: CryptoKey = key, alg = "ES256"): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, kid: "k1", ...header }).sign(signer);
}

/** Signs exactly the header given (jose refuses to produce some of the bad ones). */
async function signByHand(header: Record<string, unknown>, payload: JWTPayload): Promise<string> {
  const input = `${enc(header)}.${enc(payload)}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
}

function without(payload: JWTPayload, claim: keyof JWTPayload): JWTPayload {
  const copy = { ...payload };
  delete copy[claim];
  return copy;
}

/** Raw r‖s (what JWS uses) re-encoded as DER (what many libraries emit by mistake). */
function rawToDer(raw: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let trimmed = bytes;
    while (trimmed.length > 1 && trimmed[0] === 0 && (trimmed[1] ?? 0) < 0x80) trimmed = trimmed.subarray(1);
    if ((trimmed[0] ?? 0) >= 0x80) trimmed = Buffer.concat([Buffer.from([0]), trimmed]);
    return Buffer.concat([Buffer.from([0x02, trimmed.length]), trimmed]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

const BAD_TOKENS: [string, () => Promise<string>][] = [
  ["alg none", async () => `${enc({ alg: "none", kid: "k1" })}.${enc(claims())}.`],
  ["alg None with a signature", async () => `${enc({ alg: "None", kid: "k1" })}.${enc(claims())}.c2ln`],
  ["alg NONE with a signature", async () => `${enc({ alg: "NONE", kid: "k1" })}.${enc(claims())}.c2ln`],
  ["HS256 signed with the public key as the secret", async () => sign(claims(), {}, new TextEncoder().encode(publicJwkText) as unknown as CryptoKey, "HS256")],
  ["ES384 instead of ES256", async () => sign(claims(), {}, p384, "ES384")],
  ["a truncated signature", async () => (await sign(claims())).slice(0, -12)],
  ["an altered signature", async () => {
    const token = await sign(claims());
    const last = token.at(-2) === "A" ? "B" : "A";
    return `${token.slice(0, -2)}${last}${token.at(-1)}`;
  }],
  ["a DER-encoded ECDSA signature", async () => {
    const [h, p, s] = (await sign(claims())).split(".");
    return `${h}.${p}.${rawToDer(Buffer.from(s ?? "", "base64url")).toString("base64url")}`;
  }],
  ["an unknown kid", async () => sign(claims(), { kid: "k-unknown" })],
  ["a token signed by another key under a known kid", async () => sign(claims(), {}, otherKey)],
  ["a jku header", async () => sign(claims(), { jku: "https://evil.example/jwks" })],
  ["an x5u header", async () => sign(claims(), { x5u: "https://evil.example/cert" })],
  ["an x5c header", async () => sign(claims(), { x5c: ["MIIB"] })],
  ["a jwk header", async () => sign(claims(), { jwk: JSON.parse(publicJwkText) as Record<string, unknown> })],
  ["an unknown crit", async () => signByHand({ alg: "ES256", kid: "k1", crit: ["x-weft-magic"], "x-weft-magic": true }, claims())],
  ["a missing exp", async () => sign(without(claims(), "exp"))],
  ["a missing iat", async () => sign(without(claims(), "iat"))],
  ["expired beyond the skew", async () => sign(claims({ iat: NOW - 700, exp: NOW - 61 }))],
  ["nbf in the future", async () => sign(claims({ nbf: NOW + 300 }))],
  ["iat in the future", async () => sign(claims({ iat: NOW + 300, exp: NOW + 600 }))],
  ["a lifetime over the 15-minute cap", async () => sign(claims({ iat: NOW - 10, exp: NOW + 1_800 }))],
  ["a missing aud", async () => sign(without(claims(), "aud"))],
  ["a wrong aud (a hop token replayed as an SVID)", async () => sign(claims({ aud: "orders" }))],
  ["a wrong iss", async () => sign(claims({ iss: "weft://other.weft" }))],
  ["a sub outside the trust domain", async () => sign(claims({ sub: "spiffe://evil.weft/ns/default/sa/frontend" }))],
  ["a sub that is not a SPIFFE ID", async () => sign(claims({ sub: "frontend" }))],
  ["a non-object payload", async () => new CompactSign(new TextEncoder().encode('"just a string"')).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(key)],
  ["JWS JSON serialization", async () => {
    const [h, p, s] = (await sign(claims())).split(".");
    return JSON.stringify({ protected: h, payload: p, signature: s });
  }],
  ["a JWE", async () => `${enc({ alg: "dir", enc: "A256GCM", kid: "k1" })}..${enc("iv")}.${enc("ciphertext")}.${enc("tag")}`],
  ["an empty string", async () => ""],
];

describe("SVID verification", () => {
  it("accepts a well-formed SVID and names the caller", async () => {
    const result = await verifySvid(await sign(claims()), expectations);
    expect(result).toEqual({ ok: true, kid: "k1", exp: NOW + 590, caller: { service: "frontend", namespace: "default", spiffeId: SUB } });
  });

  it("accepts a hand-signed token (so the hand-made bad ones fail for their flaw, not their signing)", async () => {
    expect((await verifySvid(await signByHand({ alg: "ES256", kid: "k1" }, claims()), expectations)).ok).toBe(true);
  });

  it("tolerates up to 60 s of clock skew on exp", async () => {
    expect((await verifySvid(await sign(claims({ iat: NOW - 650, exp: NOW - 50 })), expectations)).ok).toBe(true);
  });

  it(`refuses ${BAD_TOKENS.length} kinds of bad token`, async () => {
    expect(BAD_TOKENS.length).toBeGreaterThanOrEqual(25);
    for (const [what, make] of BAD_TOKENS) {
      const result = await verifySvid(await make(), expectations);
      expect(result.ok, what).toBe(false);
    }
  });
});
