/**
 * A prefix rewrite can never smuggle a path past authorization: the path a DENY policy is checked
 * against is the path the destination receives, whatever dot segments the rewrite joins.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, applyExampleMesh, applyOk, EXAMPLE_MESH_YAML, gateway } from "./helpers.js";

const MESH = `${EXAMPLE_MESH_YAML}
---
apiVersion: weft/v1
kind: Route
metadata: { name: hb }
spec:
  hosts: [hb.example.com]
  public: true
  http:
    - match: [{ path: { prefix: /hb } }]
      rewrite: { prefix: / }
      destinations: [{ service: httpbin, subset: v1 }]
---
apiVersion: weft/v1
kind: AuthorizationPolicy
metadata: { name: httpbin-no-admin }
spec:
  target: httpbin
  action: DENY
  rules: [{ to: [{ paths: ["/anything/admin", "/anything/admin/*"] }] }]
`;

describe("authorization after a prefix rewrite", () => {
  beforeAll(async () => {
    await applyOk(MESH);
  });
  afterAll(async () => {
    await applyExampleMesh();
  });

  it.each(["/hb/anything/admin", "/hb./anything/admin", "/hb../anything/admin/secret", "/hb%2e%2e/anything/admin", "/hb.%2E/anything/admin/x"])("denies %s, which reaches /anything/admin after the rewrite", async (path) => {
    const response = await gateway(`http://hb.example.com${path}`);
    const body = await response.text();
    expect(response.status, body).toBe(403);
    expect(JSON.parse(body)).toMatchObject({ error: { code: "forbidden" } });
  });

  it("forwards the very path it authorized", async () => {
    const response = await gateway("http://hb.example.com/hb./anything/public");
    expect(response.status).toBe(200);
    expect(((await response.json()) as { path: string }).path).toBe("/anything/public");
  });

  it("explain reports the normalized upstream path and the denial", async () => {
    const response = await admin("/explain", { method: "POST", body: JSON.stringify({ method: "GET", url: "http://hb.example.com/hb./anything/admin" }) });
    expect(response.status).toBe(200);
    const trace = (await response.json()) as { route: { matched: { upstreamPath: string } }; outcome: { status: number } };
    expect(trace.route.matched.upstreamPath).toBe("/anything/admin");
    expect(trace.outcome.status).toBe(403);
  });
});
