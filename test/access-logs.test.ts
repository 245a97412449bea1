/**
 * Access logs: one JSON line per request when the Mesh asks for them, with the fields operators
 * search by, and never a token, a credential or a body.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { admin, applyYaml } from "./helpers.js";
import { fakeEndpoint, testGateway } from "./resilience-helpers.js";

const mesh = (sampling: number) => `apiVersion: weft/v1
kind: Mesh
metadata: { name: logs }
spec:
  trustDomain: shop.weft
  identity: { mode: PERMISSIVE }
  telemetry: { accessLog: { enabled: true, sampling: ${sampling} }, tracing: { sampling: 1, collector: { binding: OTEL_COLLECTOR } } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: logged }
spec: { subsets: [{ name: v1, endpoints: [{ binding: LOGGED }] }], trafficPolicy: { retries: { attempts: 2 } } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: caller }
spec: { subsets: [{ name: v1, endpoints: [{ binding: CALLER }] }] }
`;

interface AccessLine {
  type: string;
  time: string;
  requestId: string;
  traceId: string | null;
  source: string;
  destination: string | null;
  subset: string | null;
  route: string | null;
  method: string;
  path: string;
  status: number;
  attempts: number;
  durationMs: number;
  meshError: string | null;
}

describe("access logs", () => {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const accessLines = () => lines.filter((line) => line.includes('"type":"weft.access"')).map((line) => JSON.parse(line) as AccessLine);

  it("writes one line per request with who, where, what and how it went", async () => {
    expect((await applyYaml(mesh(1))).status).toBe(200);
    const upstream = fakeEndpoint((_request, call) => new Response("ok", { status: call === 1 ? 503 : 200 }));
    const gateway = testGateway({ LOGGED: upstream });
    await gateway.fetch("http://logged.mesh/orders/7?secret=shh", { headers: { "x-request-id": "req-1", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    await gateway.fetch("http://nowhere.example/");
    await gateway.fetch("http://logged.mesh/orders", { method: "POST", body: "card=4111", headers: { "content-length": "9" } });
    const [first, second, third] = accessLines();
    expect(first).toMatchObject({
      requestId: "req-1",
      traceId: "0af7651916cd43dd8448eb211c80319c",
      source: "anonymous",
      destination: "logged",
      subset: "v1",
      method: "GET",
      path: "/orders/7",
      status: 200,
      attempts: 2,
      meshError: null,
    });
    expect(first?.durationMs).toBeGreaterThanOrEqual(0);
    expect(new Date(first?.time ?? "").toString()).not.toBe("Invalid Date");
    expect(second).toMatchObject({ status: 404, meshError: "no_route", destination: null });
    expect(third).toMatchObject({ method: "POST", path: "/orders", status: 200, attempts: 1 });
    expect(lines.join("\n")).not.toContain("card=4111");
    expect(lines.join("\n")).not.toContain("shh");
  });

  it("logs about the sampled fraction", async () => {
    expect((await applyYaml(mesh(0.25))).status).toBe(200);
    const gateway = testGateway({ LOGGED: fakeEndpoint(() => new Response("ok")) });
    for (let i = 0; i < 800; i++) await gateway.fetch("http://logged.mesh/");
    const share = accessLines().length / 800;
    expect(share).toBeGreaterThan(0.25 - 0.06);
    expect(share).toBeLessThan(0.25 + 0.06);
  });

  it("never writes a token or a credential to a log line or a span, whatever the request carried", async () => {
    const collector = (env as unknown as { OTEL_COLLECTOR: Fetcher }).OTEL_COLLECTOR;
    await collector.fetch("http://collector/received", { method: "DELETE" });
    expect((await applyYaml(mesh(1))).status).toBe(200);
    const created = await admin("/credentials", { method: "POST", body: JSON.stringify({ service: "caller" }) });
    const { credential } = (await created.json()) as { credential: string };
    const gateway = testGateway({ LOGGED: fakeEndpoint(() => new Response("ok")) });
    const exchanged = await gateway.fetch("http://gw.test/.weft/token", { method: "POST", headers: { authorization: `Bearer ${credential}` } });
    const { token } = (await exchanged.json()) as { token: string };
    await gateway.fetch("http://logged.mesh/a", { headers: { authorization: `Bearer ${token}` } });
    await gateway.fetch(`http://logged.mesh/b?access_token=${token}`);
    await gateway.fetch("http://logged.mesh/c", { headers: { authorization: `Bearer ${token}x` } });
    await gateway.fetch("http://logged.mesh/d", { headers: { authorization: `Bearer ${credential}` } });
    await gateway.fetch("http://logged.mesh/e", { headers: { cookie: `session=${token}`, "x-api-key": credential } });
    await gateway.flush();
    const spans = await (await collector.fetch("http://collector/received")).text();
    expect(spans).toContain('"url.path"');
    const logged = accessLines();
    expect(logged.map((l) => l.path)).toEqual(["/a", "/b", "/c", "/d", "/e"]);
    expect(logged[0]?.source).toBe("caller");
    expect(logged.slice(1, 4).map((l) => l.status)).toEqual([401, 401, 401]);
    const everything = `${lines.join("\n")}\n${spans}`;
    for (const secret of [token, credential, token.split(".")[2] ?? "", credential.split(".").at(-1) ?? ""]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/bearer\s/i);
  });
});
