import { SELF } from "cloudflare:test";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createMeshClient, MeshError } from "@weft/sdk";
import { applyExampleMesh, applyYaml, gateway, gatewayEnv } from "./helpers.js";

interface Echo {
  version: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const HOSTILE_HEADERS = {
  "x-weft-identity": "forged-hop-token",
  "x-weft-attempt": "7",
  "X-Weft-Source": "spiffe://shop.weft/ns/default/sa/admin",
  "x-weft-anything": "1",
  "x-ordinary": "kept",
};

/** x-weft-* headers other than the one the gateway itself sets on every attempt (its value, not the client's). */
const GATEWAY_SET = new Set(["x-weft-deadline-ms"]);
function meshHeadersIn(headers: Record<string, string>): string[] {
  return Object.keys(headers).filter((name) => name.toLowerCase().startsWith("x-weft-") && !GATEWAY_SET.has(name.toLowerCase()));
}

describe("mesh and ingress calls through the gateway", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("never lets a client's x-weft-* headers reach the destination (through the Worker's real entry)", async () => {
    for (const url of ["http://shop.example/httpbin/headers", "http://httpbin.mesh/headers"]) {
      const response = await SELF.fetch(url, { headers: HOSTILE_HEADERS });
      expect(response.status).toBe(200);
      const echo = (await response.json()) as Echo;
      expect(meshHeadersIn(echo.headers), url).toEqual([]);
      // The first attempt carries no attempt number (only retries and hedges do), and never the client's.
      expect(echo.headers["x-weft-attempt"]).toBeUndefined();
      expect(Number(echo.headers["x-weft-deadline-ms"])).toBeGreaterThan(0);
      expect(echo.headers["x-ordinary"]).toBe("kept");
      expect(echo.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("does not let x-weft-* headers steer routing", async () => {
    const response = await gateway("http://httpbin.mesh/anything", { headers: { "x-weft-version": "v2", "x-version": "v1" } });
    expect(((await response.json()) as Echo).version).toBe("v1");
  });

  it("keeps a sane client request id and forwards method, body and query", async () => {
    const response = await gateway("http://shop.example/httpbin/anything/orders?page=2", {
      method: "POST",
      headers: { "x-request-id": "req-123", "content-type": "text/plain" },
      body: "hello mesh",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBeNull(); // the destination answered, not the mesh
    const echo = (await response.json()) as Echo & { query: Record<string, string> };
    expect(echo).toMatchObject({ method: "POST", path: "/anything/orders", body: "hello mesh", query: { page: "2" } });
    expect(echo.headers["x-request-id"]).toBe("req-123");
  });

  it("answers 404 no_route in the mesh's error shape for an unknown service", async () => {
    const response = await gateway("http://ghost.mesh/x");
    expect(response.status).toBe(404);
    expect(response.headers.get("x-weft-error")).toBe("no_route");
    expect(await response.json()).toEqual({ error: { code: "no_route", message: 'no service named "ghost" in the mesh' } });
  });

  it("never routes reserved /.weft/ paths to a function, even under a catch-all route", async () => {
    const response = await gateway("http://shop.example/.weft/anything");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("answers 502 when the destination fails, and drops x-weft-* headers a destination sets", async () => {
    const throwing = { fetch: () => Promise.reject(new Error("connection reset")) };
    const failed = await gateway("http://httpbin.mesh/anything", {}, { ...gatewayEnv, HTTPBIN_V1: throwing } as typeof gatewayEnv);
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ error: { code: "upstream_failure" } });

    const impostor = { fetch: () => Promise.resolve(new Response('{"error":{"code":"forbidden"}}', { status: 403, headers: { "x-weft-error": "forbidden", "x-weft-identity": "leak", "x-app": "1" } })) };
    const answered = await gateway("http://httpbin.mesh/anything", {}, { ...gatewayEnv, HTTPBIN_V1: impostor } as typeof gatewayEnv);
    expect(answered.status).toBe(403);
    expect(answered.headers.get("x-weft-error")).toBeNull();
    expect(answered.headers.get("x-weft-identity")).toBeNull();
    expect(answered.headers.get("x-app")).toBe("1");
  });

  it("lets a function call a peer through the SDK and the mesh (frontend → orders → catalog)", async () => {
    const response = await gateway("http://shop.example/api/shop/orders/1001", { headers: { "x-canary": "1" } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ordersVersion: string; order: { totalCents?: number } };
    expect(body.ordersVersion).toBe("v2");
    expect(body.order.totalCents).toBeGreaterThan(0); // v2 priced the order by calling catalog through the mesh
  });
});

describe("the SDK's view of mesh answers", () => {
  const mesh = createMeshClient({ fetch: (input, init) => gateway(input instanceof Request ? input.url : String(input), input instanceof Request ? input : init) });

  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("returns the destination's own answers, errors included", async () => {
    const ok = await mesh.fetch("httpbin", "/anything/x");
    expect(((await ok.json()) as Echo).path).toBe("/anything/x");
    const notFound = await mesh.fetch("http://httpbin.mesh/status/404");
    expect(notFound.status).toBe(404);
  });

  it("throws a typed MeshError for the mesh's own answers", async () => {
    const error = await mesh.fetch("ghost", "/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshError);
    expect(error).toMatchObject({ code: "no_route", status: 404 });
  });

  it("refuses a URL that is not a mesh URL", async () => {
    await expect(mesh.fetch("https://example.com/")).rejects.toThrow(/mesh URL/);
  });
});

describe("endpoints, timeouts and missing bindings", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await applyExampleMesh();
  });

  const CONFIG = `
apiVersion: weft/v1
kind: Mesh
metadata: { name: test }
spec: { identity: { mode: PERMISSIVE } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: slow }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: HTTPBIN_V1 }] }]
  trafficPolicy: { timeout: 2s }
---
apiVersion: weft/v1
kind: Service
metadata: { name: external }
spec:
  subsets: [{ name: v1, endpoints: [{ url: "https://api.partner.test/base/" }] }]
---
apiVersion: weft/v1
kind: Service
metadata: { name: unbound }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: NOT_BOUND_ANYWHERE }] }]
---
apiVersion: weft/v1
kind: Route
metadata: { name: slow-routes }
spec:
  hosts: [slow.mesh]
  http:
    - match: [{ path: { prefix: /quick/ } }]
      rewrite: { prefix: / }
      timeout: 150ms
      destinations: [{ service: slow }]
    - destinations: [{ service: slow }]
---
apiVersion: weft/v1
kind: Route
metadata: { name: partner }
spec:
  hosts: [partner.example.com]
  public: true
  http:
    - match: [{ path: { prefix: /p/ } }]
      rewrite: { prefix: /v2/ }
      destinations: [{ service: external }]
`;

  beforeAll(async () => {
    const applied = await applyYaml(CONFIG);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });

  it("answers 504 when the rule's timeout passes, and uses the service's timeout otherwise", async () => {
    const started = Date.now();
    const timedOut = await gateway("http://slow.mesh/quick/delay/1000");
    expect(timedOut.status).toBe(504);
    expect(await timedOut.json()).toMatchObject({ error: { code: "timeout" } });
    expect(Date.now() - started).toBeLessThan(900);
    const patient = await gateway("http://slow.mesh/delay/300");
    expect(patient.status).toBe(200);
  });

  it("forwards to a URL endpoint with the rewritten path and query", async () => {
    const seen: Request[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      seen.push(new Request(input as RequestInfo, init));
      return new Response("partner says hi", { status: 200 });
    });
    const response = await gateway("http://partner.example.com/p/items/7?full=1", { headers: { "x-weft-identity": "forged" } });
    expect(await response.text()).toBe("partner says hi");
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe("https://api.partner.test/base/v2/items/7?full=1");
    expect(seen[0]?.headers.get("x-weft-identity")).toBeNull();
  });

  it("answers 503 no_healthy_upstream when an endpoint's binding is missing on the gateway", async () => {
    const response = await gateway("http://unbound.mesh/x");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: "no_healthy_upstream", message: expect.stringContaining("NOT_BOUND_ANYWHERE") } });
  });
});
