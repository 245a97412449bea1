/**
 * A Host header that is not a host name (or address) and port is refused with 400 in the mesh's
 * error shape before anything routes on it: `@`, `/`, `%00`, spaces or an absolute URL in Host
 * are request-smuggling and cache-poisoning tools, never a name a Route serves.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { applyExampleMesh, gateway } from "./helpers.js";

describe("Host headers", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it.each(["user@httpbin.example", "evil.example/httpbin", "a%00b.example", "http://evil.example/", "a b.example", "evil.example\\x", "a.example:80:80", "a.example:port"])("refuses Host %j with 400", async (host) => {
    const response = await gateway("http://shop.example/httpbin/anything", { headers: { host } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "bad_request" } });
  });

  it.each(["shop.example", "shop.example:8787", "SHOP.example.", "127.0.0.1:8787", "[::1]:8787", "httpbin.mesh"])("accepts Host %j", async (host) => {
    const response = await gateway("http://shop.example/httpbin/anything", { headers: { host } });
    expect(response.status).not.toBe(400);
    expect(response.status).toBeLessThan(500);
  });
});
