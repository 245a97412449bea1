import { Hono } from "hono";
import { AutoRouter } from "itty-router";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyInbound, withWeftIdentity, type InboundCaller, type InboundOptions } from "./inbound.js";
import { weftIdentity, type WeftVariables } from "./hono.js";

let hop = "";
let expired = "";
let otherAudience = "";
let forged = "";
let binding: InboundOptions["binding"];
const jwksFetches = { count: 0 };

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const { privateKey: stranger } = await generateKeyPair("ES256");
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" }] };
  binding = {
    fetch: async (input) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.endsWith("/.well-known/jwks.json")) return new Response("not found", { status: 404 });
      jwksFetches.count++;
      return Response.json(jwks);
    },
  };
  const now = Math.floor(Date.now() / 1000);
  const token = (aud: string, exp: number, key: CryptoKey = privateKey) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("weft://shop.weft")
      .setSubject("spiffe://shop.weft/ns/default/sa/frontend")
      .setAudience(aud)
      .setIssuedAt(now - 10)
      .setExpirationTime(exp)
      .sign(key);
  hop = await token("spiffe://shop.weft/ns/default/sa/orders", now + 300);
  expired = await token("spiffe://shop.weft/ns/default/sa/orders", now - 120);
  otherAudience = await token("spiffe://shop.weft/ns/default/sa/catalog", now + 300);
  forged = await token("spiffe://shop.weft/ns/default/sa/orders", now + 300, stranger);
});

const options = (): InboundOptions => ({ binding, service: "orders", trustDomain: "shop.weft" });
const withHop = (token?: string) => new Request("http://orders.mesh/orders", { headers: token ? { "x-weft-identity": token } : {} });

describe("verifyInbound", () => {
  it("names the caller of a valid hop token", async () => {
    expect(await verifyInbound(withHop(hop), options())).toEqual({ service: "frontend", namespace: "default", spiffeId: "spiffe://shop.weft/ns/default/sa/frontend" });
  });

  it.each([
    ["missing", undefined],
    ["expired", "expired"],
    ["for another audience", "otherAudience"],
    ["forged", "forged"],
    ["garbage", "garbage"],
  ])("refuses a %s token with 401", async (_what, which) => {
    const token = which === undefined ? undefined : ({ expired, otherAudience, forged, garbage: "a.b.c" } as Record<string, string>)[which];
    await expect(verifyInbound(withHop(token), options())).rejects.toMatchObject({ code: "unauthenticated", status: 401 });
  });
});

describe("the Hono middleware", () => {
  const app = new Hono<{ Variables: { weftCaller: InboundCaller | null } }>();
  app.use("*", weftIdentity(() => options()));
  app.get("/orders", (c) => c.json({ caller: c.get("weftCaller")?.service ?? null }));

  it("lets a verified call through with the caller set", async () => {
    const response = await app.request(withHop(hop));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ caller: "frontend" });
  });

  it("takes plain options and reads the gateway binding from the Worker's env (WEFT, or the name given)", async () => {
    type AppEnv = { Bindings: { WEFT: typeof binding; GATEWAY: typeof binding }; Variables: WeftVariables };
    for (const form of [weftIdentity<AppEnv>({ service: "orders", trustDomain: "shop.weft" }), weftIdentity<AppEnv>({ binding: "GATEWAY", service: "orders", trustDomain: "shop.weft" }), weftIdentity<AppEnv>((c) => ({ binding: c.env.WEFT, service: "orders", trustDomain: "shop.weft" }))]) {
      const plain = new Hono<AppEnv>();
      plain.use("*", form);
      plain.get("/orders", (c) => c.json({ caller: c.get("weftCaller")?.service ?? null }));
      const response = await plain.request(withHop(hop), {}, { WEFT: binding, GATEWAY: binding });
      expect(await response.json()).toEqual({ caller: "frontend" });
    }
    const unbound = new Hono();
    unbound.use("*", weftIdentity({ service: "orders", trustDomain: "shop.weft" }));
    unbound.get("/orders", (c) => c.text("reached"));
    const refused = await unbound.request(withHop(hop), {}, {});
    expect(refused.status).toBe(500);
    expect(await refused.text()).toContain("no service binding named WEFT");
  });

  it("answers 401 itself, and the handler never runs", async () => {
    for (const token of [undefined, forged, otherAudience]) {
      const response = await app.request(withHop(token));
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });
});

describe("the itty-router handler", () => {
  const router = AutoRouter();
  router.all("*", withWeftIdentity(() => options()));
  router.get("/orders", (request: Request & { weftCaller?: InboundCaller | null }) => ({ caller: request.weftCaller?.service ?? null }));

  it("lets a verified call through with the caller on the request", async () => {
    const response = await router.fetch(withHop(hop));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ caller: "frontend" });
  });

  it("answers 401 itself for an unverified call", async () => {
    expect((await router.fetch(withHop(forged))).status).toBe(401);
    expect((await router.fetch(withHop())).status).toBe(401);
  });

  it("reads the key set once and reuses it", () => {
    expect(jwksFetches.count).toBe(1);
  });
});
