/**
 * Distributed tracing across two hops: the test calls the shop's front end through an ingress
 * gateway; the front end calls orders through the SDK (no headers passed by hand) and the
 * functions' gateway. Both gateways export spans as OTLP/HTTP JSON to a collector Worker.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SAFE_ATTRIBUTE_KEYS } from "../gateway-worker/src/telemetry/spans.js";
import { applyYaml, EXAMPLE_MESH_YAML, functionsGatewayServes } from "./helpers.js";
import { testGateway } from "./resilience-helpers.js";

const collector = (env as unknown as { OTEL_COLLECTOR: Fetcher }).OTEL_COLLECTOR;
const functionsGateway = (env as unknown as { FUNCTIONS_GATEWAY: Fetcher }).FUNCTIONS_GATEWAY;

const TRACED_MESH = EXAMPLE_MESH_YAML.replace(
  /^(  identity: .*)$/m,
  "$1\n  telemetry: { tracing: { sampling: 1, collector: { binding: OTEL_COLLECTOR } } }",
);

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  status: { code: number };
}
interface ExportRequest {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
}

async function received(): Promise<ExportRequest[]> {
  return (await (await collector.fetch("http://collector/received")).json()) as ExportRequest[];
}

const spansOf = (bodies: readonly ExportRequest[]) => bodies.flatMap((body) => body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.boolValue;
};

describe("tracing across hops", () => {
  let version = 0;
  beforeAll(async () => {
    const applied = await applyYaml(TRACED_MESH);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    version = applied.body.version ?? 0;
    await functionsGatewayServes(version);
    await collector.fetch("http://collector/received", { method: "DELETE" });
  });

  it("frontend → orders through the SDK yields one trace with parent/child links and a span per attempt", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const ingress = testGateway({});
    const response = await ingress.fetch("http://shop.example/api/shop/orders/1001", { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(response.status).toBe(200);
    await ingress.flush();

    // The functions' gateway flushes on its own interval; a health check keeps it moving.
    let spans: OtlpSpan[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await functionsGateway.fetch("http://gateway.test/.weft/healthz");
      spans = spansOf(await received()).filter((span) => span.traceId === traceId);
      if (spans.some((span) => attribute(span, "weft.destination") === "orders" && span.kind === 2)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const server = (destination: string) => spans.find((s) => s.kind === 2 && attribute(s, "weft.destination") === destination);
    const attemptsOf = (parent: OtlpSpan | undefined) => spans.filter((s) => s.kind === 3 && s.parentSpanId === parent?.spanId);
    const ingressSpan = server("frontend");
    const ordersSpan = server("orders");
    expect(ingressSpan, JSON.stringify(spans)).toBeDefined();
    expect(ordersSpan, JSON.stringify(spans)).toBeDefined();
    // Hop 1: the ingress gateway continues the caller's trace.
    expect(ingressSpan?.parentSpanId).toBe(callerSpan);
    const [frontendAttempt, ...extraIngressAttempts] = attemptsOf(ingressSpan);
    expect(frontendAttempt).toBeDefined();
    expect(extraIngressAttempts).toHaveLength(0);
    expect(attribute(frontendAttempt!, "weft.attempt")).toBe("1");
    // Hop 2: the front end passed the context on by itself; the orders hop hangs off hop 1's attempt.
    expect(ordersSpan?.parentSpanId).toBe(frontendAttempt?.spanId);
    expect(attemptsOf(ordersSpan).length).toBeGreaterThanOrEqual(1);
    expect(attribute(ordersSpan!, "weft.source")).toBe("anonymous");
    expect(attribute(ordersSpan!, "http.response.status_code")).toBe("200");
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
  });

  it("sends valid OTLP/HTTP JSON carrying routing facts only", async () => {
    const bodies = await received();
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      const [resource] = body.resourceSpans;
      expect(resource?.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "weft-gateway" } });
      for (const span of spansOf([body])) {
        expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
        expect(span.startTimeUnixNano).toMatch(/^\d+$/);
        expect(BigInt(span.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(span.startTimeUnixNano));
        expect([2, 3]).toContain(span.kind);
        expect([1, 2]).toContain(span.status.code);
        for (const { key } of span.attributes) expect(SAFE_ATTRIBUTE_KEYS.has(key), key).toBe(true);
      }
    }
  });

  it("retries show up as one span per attempt", async () => {
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    const ingress = testGateway({});
    // /httpbin/status/503 through the ingress: 3 attempts by default (the example's httpbin retries).
    const response = await ingress.fetch("http://shop.example/httpbin/status/503", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(response.status).toBe(503);
    await ingress.flush();
    const spans = spansOf(await received()).filter((span) => span.traceId === traceId);
    const attempts = spans.filter((s) => s.kind === 3).map((s) => attribute(s, "weft.attempt"));
    expect(attempts.sort()).toEqual(["1", "2", "3"]);
  });
});
