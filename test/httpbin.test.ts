import { beforeAll, describe, expect, it } from "vitest";
import { applyExampleMesh, gateway, sendMany } from "./helpers.js";

/** The httpbin test function's contract (docs/architecture.md#the-httpbin-test-function), exercised through the gateway. */
describe("httpbin through the mesh", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("answers /status/:code with that status and its version", async () => {
    for (const code of [200, 418, 503]) {
      const response = await gateway(`http://httpbin.mesh/status/${code}`);
      expect(response.status).toBe(code);
      expect(await response.json()).toMatchObject({ version: "v1", service: "httpbin" });
    }
  });

  it("serves each subset by its own version", async () => {
    const v2 = await gateway("http://httpbin.mesh/anything", { headers: { "x-version": "v2" } });
    expect(await v2.json()).toMatchObject({ version: "v2" });
  });

  it("delays /delay/:ms by about that long", async () => {
    const started = Date.now();
    const response = await gateway("http://httpbin.mesh/delay/120");
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it("fails /flaky at the rate asked for", async () => {
    expect((await gateway("http://httpbin.mesh/flaky?rate=1")).status).toBe(503);
    expect((await gateway("http://httpbin.mesh/flaky?rate=0")).status).toBe(200);
    // A POST is not retried by the mesh, so the destination's own failure rate shows through.
    const statuses = await sendMany(1_000, 16, async () => (await gateway("http://httpbin.mesh/flaky?rate=0.3", { method: "POST" })).status);
    const failed = statuses.filter((s) => s === 503).length / statuses.length;
    expect(failed).toBeGreaterThan(0.24);
    expect(failed).toBeLessThan(0.36);
  });

  it("echoes the request on /anything and the headers on /headers", async () => {
    const anything = await gateway("http://httpbin.mesh/anything/a/b?x=1", { method: "PUT", body: "payload" });
    expect(await anything.json()).toMatchObject({ method: "PUT", path: "/anything/a/b", query: { x: "1" }, body: "payload" });
    const headers = await gateway("http://httpbin.mesh/headers", { headers: { "x-hello": "world" } });
    expect(((await headers.json()) as { headers: Record<string, string> }).headers["x-hello"]).toBe("world");
  });
});
