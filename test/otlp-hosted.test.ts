/**
 * Spans to a hosted collector that wants an API key: the key is a Worker secret of the gateway,
 * named in the config (`headers: { x-api-key: { secret: OTEL_API_KEY } }`), sent with every
 * export and seen nowhere else — not in a log line, not in an admin answer, not in the config.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { admin, applyOk } from "./helpers.js";
import { fakeEndpoint, testGateway } from "./resilience-helpers.js";

const API_KEY = "k3y-hosted-6a0c1f8e2b9d4d17a3c5";

function tracedMesh(service: string, headers: string): string {
  return `apiVersion: weft/v1
kind: Mesh
metadata: { name: test }
spec:
  identity: { mode: PERMISSIVE }
  telemetry:
    tracing: { sampling: 1, collector: { binding: HOSTED_OTEL, headers: ${headers} } }
    accessLog: { enabled: true }
---
apiVersion: weft/v1
kind: Service
metadata: { name: ${service} }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: HTTPBIN_V1 }] }]
`;
}

describe("a hosted trace collector with an API key", () => {
  const logged: string[] = [];
  beforeEach(() => {
    logged.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("receives every span with the key from the gateway's secret; the key is in no log line or answer", async () => {
    const service = `otel-${crypto.randomUUID().slice(0, 8)}`;
    await applyOk(tracedMesh(service, "{ x-api-key: { secret: OTEL_API_KEY }, x-dataset: { value: weft } }"));
    const collector = fakeEndpoint((request) => (request.headers.get("x-api-key") === API_KEY ? Response.json({}) : new Response("missing key", { status: 401 })));
    const gateway = testGateway({ HOSTED_OTEL: collector, OTEL_API_KEY: API_KEY as unknown as Fetcher });
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await gateway.fetchAndSettle(`http://${service}.mesh/anything/${i}`);
      expect(response.status).toBe(200);
      answers.push(await response.text(), JSON.stringify([...response.headers]));
    }
    await gateway.flush();

    expect(collector.calls.length).toBeGreaterThan(0);
    expect(collector.calls.every((call) => call.headers.get("x-api-key") === API_KEY && call.headers.get("x-dataset") === "weft")).toBe(true);
    const spans = collector.calls.flatMap((call) => (JSON.parse(call.body ?? "{}") as { resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] }).resourceSpans[0]?.scopeSpans[0]?.spans ?? []);
    expect(spans.filter((span) => span.attributes.some((a) => a.key === "url.path" && a.value.stringValue?.startsWith("/anything/"))).length).toBeGreaterThanOrEqual(5);

    // Everywhere else an operator or a caller looks: the config names the secret, not its value.
    for (const path of ["/config", "/services", `/telemetry?service=${service}&window=1h`]) answers.push(await (await admin(path)).text());
    answers.push(await (await gateway.fetch("http://gw.test/.weft/metrics", { headers: { authorization: "Bearer dev-admin-token" } })).text());
    answers.push(await (await gateway.fetch("http://gw.test/.weft/healthz")).text());
    expect(answers.join("\n")).toContain("OTEL_API_KEY");
    expect(answers.filter((text) => text.includes(API_KEY))).toEqual([]);
    expect(logged.length).toBeGreaterThan(0); // the access log wrote its lines
    expect(logged.filter((line) => line.includes(API_KEY))).toEqual([]);
  });

  it("exports nothing without the secret, and says which secret is missing, once, without a value", async () => {
    const service = `otel-${crypto.randomUUID().slice(0, 8)}`;
    await applyOk(tracedMesh(service, "{ x-api-key: { secret: OTEL_MISSING_KEY } }"));
    const collector = fakeEndpoint(() => Response.json({}));
    const gateway = testGateway({ HOSTED_OTEL: collector });
    for (let i = 0; i < 3; i++) expect((await gateway.fetchAndSettle(`http://${service}.mesh/anything`)).status).toBe(200);
    await gateway.flush();
    await gateway.flush();
    expect(collector.calls).toEqual([]);
    const problems = logged.filter((line) => line.includes("OTEL_MISSING_KEY"));
    expect(problems).toHaveLength(1);
    expect(JSON.parse(problems[0] ?? "{}")).toMatchObject({ msg: "trace collector header has no secret; spans are not exported", header: "x-api-key", secret: "OTEL_MISSING_KEY" });
  });
});
