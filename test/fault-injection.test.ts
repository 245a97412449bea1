import { describe, expect, it } from "vitest";
import { applyExampleMesh, applyOk, gateway as exampleGateway, sendMany } from "./helpers.js";
import { fakeEndpoint, poolMesh, testGateway } from "./resilience-helpers.js";

describe("fault injection", () => {
  it("aborts 50% ± 3% of 4,000 requests with the configured status, without reaching the destination", async () => {
    await applyOk(poolMesh("chaos", ["CHAOS"], "retries: { attempts: 1 }", "fault: { abort: { percent: 50, status: 503 } }"));
    const upstream = fakeEndpoint(() => new Response("ok"));
    const gateway = testGateway({ CHAOS: upstream });
    const responses = await sendMany(4000, 16, async () => {
      const response = await gateway.fetch("http://chaos.mesh/");
      return { status: response.status, fault: response.headers.get("x-weft-fault"), code: response.headers.get("x-weft-error") };
    });
    const aborted = responses.filter((r) => r.status === 503);
    expect(aborted.length / 4000).toBeGreaterThan(0.47);
    expect(aborted.length / 4000).toBeLessThan(0.53);
    expect(aborted.every((r) => r.fault === "abort" && r.code === "fault_injected")).toBe(true);
    expect(upstream.calls).toHaveLength(4000 - aborted.length);
  });

  it("answers with any configured status, e.g. 418", async () => {
    await applyOk(poolMesh("chaos", ["CHAOS"], "", "fault: { abort: { percent: 100, status: 429 } }"));
    const gateway = testGateway({ CHAOS: fakeEndpoint(() => new Response("ok")) });
    const response = await gateway.fetch("http://chaos.mesh/");
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({ error: { code: "fault_injected" } });
  });

  it("applies a configured delay", async () => {
    await applyOk(poolMesh("chaos", ["CHAOS"], "", "fault: { delay: { percent: 100, fixed: 150ms } }"));
    const upstream = fakeEndpoint(() => new Response("ok"));
    const gateway = testGateway({ CHAOS: upstream });
    const started = Date.now();
    expect((await gateway.fetch("http://chaos.mesh/")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(upstream.calls).toHaveLength(1);
  });

  it("injects only into requests with the given header when one is configured", async () => {
    await applyOk(poolMesh("chaos", ["CHAOS"], "", 'fault: { abort: { percent: 100, status: 503 }, headers: { x-chaos: { exact: "on" } } }'));
    const upstream = fakeEndpoint(() => new Response("ok"));
    const gateway = testGateway({ CHAOS: upstream });
    expect((await gateway.fetch("http://chaos.mesh/")).status).toBe(200);
    expect((await gateway.fetch("http://chaos.mesh/", { headers: { "x-chaos": "on" } })).status).toBe(503);
    expect(upstream.calls).toHaveLength(1);
  });

  it("is off unless configured", async () => {
    await applyOk(poolMesh("chaos", ["CHAOS"]));
    const upstream = fakeEndpoint(() => new Response("ok"));
    const gateway = testGateway({ CHAOS: upstream });
    const statuses = await sendMany(200, 8, async () => (await gateway.fetch("http://chaos.mesh/")).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it("the example mesh injects a 503 at the ingress for requests marked x-chaos: abort", async () => {
    await applyExampleMesh();
    const chaos = await exampleGateway("http://shop.example/httpbin/anything", { headers: { "x-chaos": "abort" } });
    expect(chaos.status).toBe(503);
    expect(chaos.headers.get("x-weft-error")).toBe("fault_injected");
    expect((await exampleGateway("http://shop.example/httpbin/anything")).status).toBe(200);
  });
});
