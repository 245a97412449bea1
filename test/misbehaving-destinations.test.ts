/**
 * Destinations that misbehave (issue: reliability under faults): a binding that throws, one that
 * never answers, one that sends headers and then stalls or fails mid-body, one with a 50 MB body,
 * one with a malformed Content-Length. Each gets the right answer from the mesh (502/504, or the
 * body passed through as a stream), is counted in telemetry and by outlier detection, and leaves no
 * in-flight count or concurrency slot behind.
 */
import { describe, expect, it } from "vitest";
import { applyOk } from "./helpers.js";
import { fakeEndpoint, poolMesh, testGateway, type TestGateway } from "./resilience-helpers.js";

const ADMIN = { authorization: "Bearer dev-admin-token" };
const MB = 1024 * 1024;

/** One endpoint, one attempt per request, a 1 s timeout, a concurrency limit of 2, outlier detection counting (never ejecting). */
const POLICY = "timeout: 1s\nretries: { attempts: 1 }\noutlierDetection: { consecutive5xx: 100 }\ncircuitBreaker: { maxConcurrentRequests: 2 }";

/** What the gateway isolate holds for the service after the request: in-flight counts and the endpoint's failures in a row. */
async function residue(gateway: TestGateway, service: string): Promise<{ serviceInFlight: number; endpointInFlight: number; failuresInARow: number }> {
  const registry = (await (await gateway.fetch("http://gw.test/.weft/api/v1/services", { headers: ADMIN })).json()) as {
    services: { name: string; inFlight?: number; subsets: { endpoints: { inFlight?: number; consecutiveFailures?: number }[] }[] }[];
  };
  const entry = registry.services.find((s) => s.name === service);
  const endpoint = entry?.subsets[0]?.endpoints[0];
  return { serviceInFlight: entry?.inFlight ?? 0, endpointInFlight: endpoint?.inFlight ?? 0, failuresInARow: endpoint?.consecutiveFailures ?? 0 };
}

async function requestsCounted(gateway: TestGateway, service: string): Promise<Record<string, number>> {
  await gateway.flush();
  const text = await (await gateway.fetch("http://gw.test/.weft/metrics", { headers: ADMIN })).text();
  const counts: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = new RegExp(`^weft_requests_total\\{[^}]*destination="${service}"[^}]*code="([^"]+)"\\} (\\d+)$`).exec(line);
    if (match) counts[match[1] as string] = (counts[match[1] as string] ?? 0) + Number(match[2]);
  }
  return counts;
}

/** A service of its own per case (telemetry objects keep what earlier tests sent), and a gateway isolate of its own. */
async function setUp(behaviour: Parameters<typeof fakeEndpoint>[0]) {
  const service = `bad-${crypto.randomUUID().slice(0, 8)}`;
  await applyOk(poolMesh(service, ["BAD"], POLICY));
  const endpoint = fakeEndpoint(behaviour);
  const gateway = testGateway({ BAD: endpoint });
  return { service, endpoint, gateway };
}

describe("destinations that misbehave", () => {
  it("a binding that throws: 502 upstream_failure, counted, a failure for outlier detection, nothing left in flight", async () => {
    const { service, gateway } = await setUp(() => Promise.reject(new Error("binding exploded")));
    const response = await gateway.fetchAndSettle(`http://${service}.mesh/x`);
    expect([response.status, response.headers.get("x-weft-error")]).toEqual([502, "upstream_failure"]);
    await response.arrayBuffer();
    expect(await residue(gateway, service)).toEqual({ serviceInFlight: 0, endpointInFlight: 0, failuresInARow: 1 });
    expect(await requestsCounted(gateway, service)).toEqual({ "502": 1 });
  });

  it("a binding that never answers: 504 timeout at the service's timeout, counted, nothing left in flight", async () => {
    const { service, gateway } = await setUp(() => new Promise<Response>(() => undefined));
    const started = Date.now();
    const pending = gateway.fetchAndSettle(`http://${service}.mesh/x`);
    // While it waits, the request holds its slot (the counts are live, not always 0).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await residue(gateway, service)).toMatchObject({ serviceInFlight: 1, endpointInFlight: 1 });
    const response = await pending;
    expect([response.status, response.headers.get("x-weft-error")]).toEqual([504, "timeout"]);
    expect(Date.now() - started).toBeLessThan(5_000);
    await response.arrayBuffer();
    expect(await residue(gateway, service)).toEqual({ serviceInFlight: 0, endpointInFlight: 0, failuresInARow: 1 });
    expect(await requestsCounted(gateway, service)).toEqual({ "504": 1 });
  });

  // A request holds its concurrency slot until the destination's headers arrive; the body then streams on its own.
  it("headers, then a body that stalls: the status and the bytes sent so far pass through, and the slot is free again", async () => {
    const { service, gateway } = await setUp(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("first part"));
            },
          }),
          { status: 200 },
        ),
    );
    const response = await gateway.fetch(`http://${service}.mesh/x`);
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first part");
    await reader.cancel();
    expect(await residue(gateway, service)).toMatchObject({ serviceInFlight: 0, endpointInFlight: 0 });
    // The concurrency limit (2) still admits requests: no slot is stuck.
    for (let i = 0; i < 3; i++) {
      const again = await gateway.fetch(`http://${service}.mesh/x`);
      expect(again.status).toBe(200);
      await again.body?.cancel();
    }
    expect(await requestsCounted(gateway, service)).toEqual({ "200": 4 });
  });

  it("headers, then a body that fails: the caller's read fails, and nothing is left in flight", async () => {
    const { service, gateway } = await setUp(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("half"));
              controller.error(new Error("upstream reset mid-body"));
            },
          }),
          { status: 200 },
        ),
    );
    const response = await gateway.fetch(`http://${service}.mesh/x`);
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
    expect(await residue(gateway, service)).toMatchObject({ serviceInFlight: 0, endpointInFlight: 0 });
    expect(await requestsCounted(gateway, service)).toEqual({ "200": 1 });
  });

  it("a 50 MB body streams through: the answer starts before the destination has produced it all, and every byte arrives", async () => {
    let produced = 0;
    const chunk = new Uint8Array(MB).fill(97);
    const { service, gateway } = await setUp(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              if (produced >= 50 * MB) return controller.close();
              produced += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
          { status: 200, headers: { "content-type": "application/octet-stream" } },
        ),
    );
    const response = await gateway.fetch(`http://${service}.mesh/big`);
    expect(response.status).toBe(200);
    expect(produced).toBeLessThan(50 * MB);
    let received = 0;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received).toBe(50 * MB);
    expect(await residue(gateway, service)).toMatchObject({ serviceInFlight: 0, endpointInFlight: 0 });
  });

  it("a malformed Content-Length is not passed on: the body arrives, framed by the runtime, and nothing is left in flight", async () => {
    const { service, gateway } = await setUp(() => new Response("hello", { status: 200, headers: { "content-length": "twelve" } }));
    const response = await gateway.fetchAndSettle(`http://${service}.mesh/x`);
    // A framing header a client could misread (HTTP/1.1 request smuggling starts this way) never leaves the mesh.
    expect([response.status, response.headers.get("content-length")]).toEqual([200, null]);
    expect(await response.text()).toBe("hello");
    expect(await residue(gateway, service)).toMatchObject({ serviceInFlight: 0, endpointInFlight: 0 });
  });
});
