/**
 * Policies match callers by their whole identity: trust domain, namespace and service. An SVID for
 * `spiffe://shop.weft/ns/evil/sa/frontend` is not the `frontend` a policy names (that one lives in
 * the namespace its Service declares, `default` here).
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activeSigningKey, applyExampleMesh, applyOk, EXAMPLE_MESH_YAML, gateway } from "./helpers.js";

const STRICT_MESH = `${EXAMPLE_MESH_YAML.replace("mode: PERMISSIVE", "mode: STRICT")}
---
apiVersion: weft/v1
kind: AuthorizationPolicy
metadata: { name: orders-callers }
spec:
  target: orders
  action: ALLOW
  rules: [{ from: [frontend] }]
`;

describe("identities match in full", () => {
  let signAs: (subject: string) => Promise<string>;
  beforeAll(async () => {
    await applyOk(STRICT_MESH);
    const active = await activeSigningKey();
    const key = active.key;
    const now = Math.floor(Date.now() / 1000);
    signAs = (subject) =>
      new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: "ES256", kid: active.kid, typ: "JWT" })
        .setIssuer("weft://shop.weft")
        .setSubject(subject)
        .setAudience("weft-gateway")
        .setIssuedAt(now - 5)
        .setExpirationTime(now + 300)
        .sign(key);
  });
  afterAll(async () => {
    await applyExampleMesh();
  });

  it("lets frontend of the default namespace through", async () => {
    const token = await signAs("spiffe://shop.weft/ns/default/sa/frontend");
    expect((await gateway("http://orders.mesh/orders", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it("denies a caller named frontend in another namespace", async () => {
    const token = await signAs("spiffe://shop.weft/ns/evil/sa/frontend");
    const response = await gateway("http://orders.mesh/orders", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: "forbidden" } });
  });
});
