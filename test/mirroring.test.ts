import { describe, expect, it } from "vitest";
import { applyOk, sendMany } from "./helpers.js";
import { fakeEndpoint, testGateway } from "./resilience-helpers.js";

function mirrorMesh(percent: number | undefined): string {
  return `apiVersion: weft/v1
kind: Mesh
metadata: { name: test }
spec: { identity: { mode: PERMISSIVE } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: live }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: HTTPBIN_V1 }] }]
---
apiVersion: weft/v1
kind: Service
metadata: { name: shadow }
spec:
  subsets: [{ name: next, endpoints: [{ binding: SHADOW }] }]
  trafficPolicy: { timeout: 2s }
---
apiVersion: weft/v1
kind: Route
metadata: { name: live-mesh }
spec:
  hosts: [live.mesh]
  http:
    - destinations: [{ service: live }]
      ${percent === undefined ? "" : `mirror: { service: shadow, subset: next, percent: ${percent} }`}
`;
}

/** What the caller sees, minus what differs per request anyway. */
async function observable(response: Response) {
  const body = (await response.json()) as { headers: Record<string, string> };
  // Per-attempt values (remaining budget, the attempt's span id) differ on every request anyway.
  const { "x-weft-deadline-ms": _deadline, traceparent: _traceparent, ...headers } = body.headers;
  return { status: response.status, contentType: response.headers.get("content-type"), body: { ...body, headers } };
}

describe("mirroring", () => {
  const request = () => ({ method: "POST", body: "order=42", headers: { "x-request-id": "fixed-id", "content-length": "8" } });

  it.each([
    ["answers normally", () => new Response("shadow ok")],
    ["fails", () => new Response("broken", { status: 500 })],
    ["throws", () => Promise.reject(new Error("shadow exploded"))],
    ["hangs", () => new Promise<Response>(() => undefined)],
  ])("leaves the caller's answer unchanged when the mirror %s", async (_what, behaviour) => {
    await applyOk(mirrorMesh(undefined));
    const shadow = fakeEndpoint(behaviour);
    const gateway = testGateway({ SHADOW: shadow });
    const without = await observable(await gateway.fetch("http://live.mesh/anything/x", request()));

    await applyOk(mirrorMesh(100));
    await gateway.reload();
    const started = Date.now();
    const withMirror = await observable(await gateway.fetch("http://live.mesh/anything/x", request()));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(withMirror).toEqual(without);
    // The copy did go out, marked as shadow traffic, with the same body.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(shadow.calls).toHaveLength(1);
    expect(shadow.calls[0]?.headers.get("x-weft-shadow")).toBe("true");
    expect(shadow.calls[0]?.body).toBe("order=42");
  });

  it("copies about the configured share of requests", async () => {
    await applyOk(mirrorMesh(25));
    const shadow = fakeEndpoint(() => new Response("ok"));
    const gateway = testGateway({ SHADOW: shadow });
    const total = 800;
    await sendMany(total, 16, async () => (await gateway.fetchAndSettle("http://live.mesh/anything")).status);
    const share = shadow.calls.length / total;
    expect(share).toBeGreaterThan(0.25 - 0.06);
    expect(share).toBeLessThan(0.25 + 0.06);
  });

  it("counts each copy's answer at the service and subset that got it, under the route (shadow), and the caller's request apart", async () => {
    await applyOk(mirrorMesh(100));
    let calls = 0;
    const shadow = fakeEndpoint(() => new Response("copy", { status: ++calls % 4 === 0 ? 500 : 200 }));
    const gateway = testGateway({ SHADOW: shadow });
    const metrics = async () => {
      await gateway.flush();
      return (await (await gateway.fetch("http://gw.test/.weft/metrics", { headers: { authorization: "Bearer dev-admin-token" } })).text()).split("\n");
    };
    const sample = (lines: string[], prefix: string) => Number(lines.find((line) => line.startsWith(prefix))?.split(" ").at(-1) ?? 0);
    const ok = 'weft_route_requests_total{source="anonymous",destination="shadow",subset="next",route="(shadow)",rule="",code="200"}';
    const failed = 'weft_route_requests_total{source="anonymous",destination="shadow",subset="next",route="(shadow)",rule="",code="500"}';
    const before = await metrics();
    for (let i = 0; i < 40; i++) expect((await gateway.fetchAndSettle("http://live.mesh/anything")).status).toBe(200);
    const after = await metrics();
    expect([sample(after, ok) - sample(before, ok), sample(after, failed) - sample(before, failed)]).toEqual([30, 10]);
  });
});
