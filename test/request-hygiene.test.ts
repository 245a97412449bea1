import { beforeAll, describe, expect, it } from "vitest";
import { applyExampleMesh, gateway } from "./helpers.js";

interface Echo {
  path: string;
  headers: Record<string, string>;
}

describe("request hygiene at the gateway", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("forwards neither the caller's Authorization nor hop-by-hop headers", async () => {
    const response = await gateway("http://shop.example/httpbin/headers", {
      headers: { authorization: "Basic dXNlcjpwYXNz", connection: "x-hop-only", "x-hop-only": "1", "keep-alive": "timeout=5", "proxy-authorization": "Basic eA==", "x-app": "kept" },
    });
    const echo = (await response.json()) as Echo;
    expect(echo.headers["x-app"]).toBe("kept");
    for (const name of ["authorization", "x-hop-only", "keep-alive", "proxy-authorization"]) expect(echo.headers[name], name).toBeUndefined();
  });

  it("answers 431 to too many or too large headers, without calling the destination", async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 120; i++) many[`x-h-${i}`] = "v";
    const tooMany = await gateway("http://shop.example/httpbin/status/200", { headers: many });
    expect(tooMany.status).toBe(431);
    expect(await tooMany.json()).toMatchObject({ error: { code: "headers_too_large" } });
    const tooLarge = await gateway("http://shop.example/httpbin/status/200", { headers: { "x-big": "a".repeat(61 * 1024) } });
    expect(tooLarge.status).toBe(431);
  });

  it.each([
    ["//httpbin//anything/./x", "/anything/x"],
    ["/httpbin/a/../anything/y", "/anything/y"],
    ["/httpbin/%61nything/z", "/anything/z"],
    ["/x/../httpbin/anything", "/anything"],
  ])("routes and forwards the normalized path: %s → %s", async (path, forwarded) => {
    const response = await gateway(`http://shop.example${path}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).path).toBe(forwarded);
  });

  it.each(["/httpbin/anything%2Fx", "/httpbin/anything%00", "/httpbin/a%5Cb", "/httpbin/%zz"])("refuses the ambiguous path %s with 400", async (path) => {
    const response = await gateway(`http://shop.example${path}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "bad_request", message: expect.stringMatching(/^refused path/) } });
  });
});
