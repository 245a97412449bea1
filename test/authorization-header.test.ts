/**
 * An Authorization header that speaks of a bearer token but is not exactly one, or that is doubled
 * or has no scheme, is refused like any invalid token (401), even on a public route: a caller that
 * sent credentials must never be treated as anonymous because they were malformed. Another
 * scheme's credential (Basic) is not for the gateway: ignored, as Istio does, and never forwarded.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { applyExampleMesh, gateway, tokenFor } from "./helpers.js";

describe("Authorization headers the gateway cannot read", () => {
  let valid = "";
  beforeAll(async () => {
    await applyExampleMesh();
    valid = await tokenFor("frontend");
  });

  const malformed: [string, (token: string) => Headers][] = [
    ["two words after Bearer", () => new Headers({ authorization: "Bearer junk junk" })],
    ["two Authorization headers", (token) => {
      const headers = new Headers();
      headers.append("authorization", `Bearer ${token}`);
      headers.append("authorization", "Bearer junk");
      return headers;
    }],
    ["a valid token sent twice", (token) => {
      const headers = new Headers();
      headers.append("authorization", `Bearer ${token}`);
      headers.append("authorization", `Bearer ${token}`);
      return headers;
    }],
    ["Bearer with no token", () => new Headers({ authorization: "Bearer" })],
    ["Bearer and spaces", () => new Headers({ authorization: "Bearer    " })],
    ["Basic, then a Bearer header", (token) => {
      const headers = new Headers();
      headers.append("authorization", "Basic dXNlcjpwYXNz");
      headers.append("authorization", `Bearer ${token}`);
      return headers;
    }],
    ["a bearer token with a comma", () => new Headers({ authorization: "Bearer abc,def" })],
    ["no scheme", (token) => new Headers({ authorization: token })],
  ];

  it.each(malformed)("refuses %s with 401 on a public route, and the destination is not called", async (_name, headers) => {
    const response = await gateway("http://gateway.test/httpbin/anything", { headers: headers(valid) });
    const body = (await response.json()) as { error?: { code: string }; service?: string };
    expect(response.status).toBe(401);
    expect(body.error?.code).toBe("unauthenticated");
    expect(body.service).toBeUndefined();
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("still accepts one well-formed token, no header at all, and ignores (and never forwards) another scheme's credential", async () => {
    expect((await gateway("http://gateway.test/httpbin/anything", { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200);
    expect((await gateway("http://gateway.test/httpbin/anything", { headers: { authorization: `bearer  ${valid} ` } })).status).toBe(200);
    expect((await gateway("http://gateway.test/httpbin/anything")).status).toBe(200);
    const basic = await gateway("http://gateway.test/httpbin/anything", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(basic.status).toBe(200);
    expect(((await basic.json()) as { headers: Record<string, string> }).headers.authorization).toBeUndefined();
  });
});
