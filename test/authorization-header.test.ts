/**
 * An Authorization header the gateway cannot read as exactly one bearer token is refused like any
 * invalid token (401), even on a public route: a caller that sent credentials must never be
 * treated as anonymous because they were malformed or doubled.
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
    ["another scheme", () => new Headers({ authorization: "Basic dXNlcjpwYXNz" })],
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

  it("still accepts one well-formed token, and no header at all", async () => {
    expect((await gateway("http://gateway.test/httpbin/anything", { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200);
    expect((await gateway("http://gateway.test/httpbin/anything", { headers: { authorization: `bearer  ${valid} ` } })).status).toBe(200);
    expect((await gateway("http://gateway.test/httpbin/anything")).status).toBe(200);
  });
});
