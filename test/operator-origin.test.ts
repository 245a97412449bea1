import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, admin, applyExampleMesh, applyOk, EXAMPLE_MESH_YAML, gateway, gatewayEnv } from "./helpers.js";

/**
 * The operator surface (the dashboard and its session cookie) answers only on the admin host, and
 * the admin host never reaches a function, so no destination's answer is same-origin with it; and
 * a destination cannot set the mesh's own cookies through the gateway.
 */
const ADMIN_HOST = "weft-admin.localhost";
/** Every Set-Cookie line of an answer (workerd has getSetCookie; the types in use predate it). */
const setCookieLines = (headers: Headers): string[] => (headers as Headers & { getSetCookie(): string[] }).getSetCookie();
const ADMIN_ORIGIN = `http://${ADMIN_HOST}:8787`;
const INGRESS_ORIGINS = ["http://shop.example", "http://127.0.0.1:8787", "https://shop.example"];
const DASHBOARD_PATHS = ["/.weft/dashboard", "/.weft/dashboard/", "/.weft/dashboard/sign-in", "/.weft/dashboard/data", "/.weft/dashboard/app.js"];

function signIn(origin: string, init: RequestInit = {}): Promise<Response> {
  return gateway(`${origin}/.weft/dashboard/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    redirect: "manual",
    ...init,
  });
}

/** The `name=value` part of the session cookie a sign-in sets. */
async function sessionCookie(origin: string): Promise<string> {
  const response = await signIn(origin);
  expect(response.status).toBe(303);
  const [cookie] = setCookieLines(response.headers);
  expect(cookie).toBeDefined();
  return (cookie ?? "").split(";")[0] ?? "";
}

interface MeshErrorBody {
  error: { code: string; message: string };
}

describe("the dashboard lives on the admin host only", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("is configured for tests on the local admin host", () => {
    expect(gatewayEnv.WEFT_ADMIN_HOST).toBe(ADMIN_HOST);
  });

  it.each(INGRESS_ORIGINS)("refuses every dashboard path on the ingress origin %s with the mesh's 404, naming the admin host", async (origin) => {
    for (const path of DASHBOARD_PATHS) {
      const response = await gateway(`${origin}${path}`, { redirect: "manual" });
      expect(response.status, path).toBe(404);
      expect(response.headers.get("set-cookie"), path).toBeNull();
      const body = (await response.json()) as MeshErrorBody;
      expect(body.error.code, path).toBe("not_found");
      expect(body.error.message, path).toContain(ADMIN_HOST);
    }
    const signedIn = await signIn(origin);
    expect(signedIn.status).toBe(404);
    expect(signedIn.headers.get("set-cookie")).toBeNull();
  });

  it("serves the dashboard and its sign-in on the admin host", async () => {
    const first = await gateway(`${ADMIN_ORIGIN}/.weft/dashboard`, { redirect: "manual" });
    expect(first.status).toBe(302);
    expect(first.headers.get("location")).toBe("/.weft/dashboard/sign-in");
    const form = await gateway(`${ADMIN_ORIGIN}/.weft/dashboard/sign-in`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('type="password"');

    const cookie = await sessionCookie(ADMIN_ORIGIN);
    expect(cookie).toMatch(/^weft_session=v1\./);
    const data = await gateway(`${ADMIN_ORIGIN}/.weft/dashboard/data`, { headers: { cookie } });
    expect(data.status).toBe(200);
    expect(await data.json()).toMatchObject({ config: { version: expect.any(Number) } });
    // The admin host matches case-insensitively and with a trailing dot, as Host names do.
    expect((await gateway(`http://WEFT-Admin.localhost.:8787/.weft/dashboard/data`, { headers: { cookie } })).status).toBe(200);
  });

  it("over https signs in with a __Host- cookie: Secure, Path=/, no Domain", async () => {
    const response = await signIn(`https://${ADMIN_HOST}`);
    expect(response.status).toBe(303);
    const [cookie = ""] = setCookieLines(response.headers);
    expect(cookie).toMatch(/^__Host-weft_session=v1\.\d+\.[A-Za-z0-9_-]{43};/);
    const flags = cookie.split(";").slice(1).map((part: string) => part.trim());
    expect(flags).toEqual(expect.arrayContaining(["Secure", "HttpOnly", "SameSite=Strict", "Path=/"]));
    expect(flags.some((flag: string) => /^domain=/i.test(flag))).toBe(false);
    const data = await gateway(`https://${ADMIN_HOST}/.weft/dashboard/data`, { headers: { cookie: cookie.split(";")[0] ?? "" } });
    expect(data.status).toBe(200);
  });

  it("uses the session cookie that verifies when several share its name", async () => {
    const cookie = await sessionCookie(ADMIN_ORIGIN);
    const value = cookie.slice("weft_session=".length);
    for (const header of [`weft_session=junk; ${cookie}`, `weft_session=v1.1.${"A".repeat(43)}; other=1; weft_session=${value}`, `${cookie}; weft_session=junk`]) {
      const data = await gateway(`${ADMIN_ORIGIN}/.weft/dashboard/data`, { headers: { cookie: header } });
      expect(data.status, header).toBe(200);
    }
    const page = await gateway(`${ADMIN_ORIGIN}/.weft/dashboard`, { headers: { cookie: `weft_session=junk; ${cookie}` }, redirect: "manual" });
    expect(page.status).toBe(200);
    expect((await gateway(`${ADMIN_ORIGIN}/.weft/dashboard/data`, { headers: { cookie: "weft_session=junk; weft_session=also-junk" } })).status).toBe(401);
  });

  it("never routes the admin host to a function, even though the ingress route serves every host", async () => {
    for (const path of ["/", "/httpbin/anything", "/httpbin/response-headers?x-from=destination", "/api/shop/orders/1001"]) {
      const response = await gateway(`${ADMIN_ORIGIN}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("x-httpbin-version"), path).toBeNull();
      expect(response.headers.get("x-from"), path).toBeNull();
      expect(((await response.json()) as MeshErrorBody).error.code, path).toBe("not_found");
    }
    // The same paths on an ingress host do reach the functions.
    expect((await gateway("http://shop.example/httpbin/anything")).headers.get("x-httpbin-version")).toMatch(/^v[12]$/);
  });

  it("keeps the bearer-token endpoints on every host: health, token exchange, JWKS and the admin API", async () => {
    for (const origin of [ADMIN_ORIGIN, "http://shop.example"]) {
      expect((await gateway(`${origin}/.weft/healthz`)).status, origin).toBe(200);
      expect((await gateway(`${origin}/.well-known/jwks.json`)).status, origin).toBe(200);
      expect((await gateway(`${origin}/.weft/api/v1/config`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, origin).toBe(200);
      expect((await gateway(`${origin}/.weft/api/v1/config`)).status, origin).toBe(401);
    }
  });

  it("moves with WEFT_ADMIN_HOST", async () => {
    const bindings = { ...gatewayEnv, WEFT_ADMIN_HOST: "ops.example.com" };
    expect((await gateway("https://ops.example.com/.weft/dashboard/sign-in", {}, bindings)).status).toBe(200);
    const elsewhere = await gateway(`${ADMIN_ORIGIN}/.weft/dashboard/sign-in`, {}, bindings);
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as MeshErrorBody).error.message).toContain("ops.example.com");
    expect((await gateway("https://ops.example.com/httpbin/anything", {}, bindings)).status).toBe(404);
  });
});

describe("routes that name the admin host", () => {
  const withRoute = (hosts: string) => `${EXAMPLE_MESH_YAML}
---
apiVersion: weft/v1
kind: Route
metadata: { name: grabs-the-admin-host }
spec:
  hosts: [${hosts}]
  public: true
  http:
    - destinations: [{ service: httpbin, subset: v1 }]
`;

  it.each([`"${ADMIN_HOST}"`, `"*.localhost"`])("do not make it serve functions: %s", async (hosts) => {
    await applyOk(withRoute(hosts));
    const routed = await gateway(`${ADMIN_ORIGIN}/anything`);
    expect(routed.status).toBe(404);
    expect(routed.headers.get("x-httpbin-version")).toBeNull();
    // The dashboard is still there, and the route still serves its other hosts.
    expect((await gateway(`${ADMIN_ORIGIN}/.weft/dashboard/sign-in`)).status).toBe(200);
    if (hosts.includes("*")) expect((await gateway("http://shop.localhost/anything")).headers.get("x-httpbin-version")).toBe("v1");
  });

  it("restores the example mesh", async () => {
    await applyExampleMesh();
    expect((await admin("/config")).status).toBe(200);
  });
});

describe("destinations cannot set the mesh's cookies", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  const setCookies = (values: string[]) => `?${values.map((value) => `Set-Cookie=${encodeURIComponent(value)}`).join("&")}`;

  it("drops a destination's Set-Cookie that names a weft cookie or a /.weft path, and passes the others", async () => {
    const dropped = [
      "weft_session=junk; Path=/.weft/dashboard/",
      "weft_session=junk",
      "__Host-weft_session=junk; Path=/; Secure",
      "__Secure-weft_session=junk; Path=/; Secure",
      "WEFT_SESSION=junk; Path=/",
      "weft_theme=dark; Path=/",
      " weft_session = junk",
      "shop_cart=1; Path=/.weft/dashboard",
      "shop_cart=2; path=/.weft",
      "shop_cart=3; Domain=shop.example; Path=/.weft/",
    ];
    const kept = ["shop_pref=1; Path=/", "sessionid=abc; HttpOnly; Path=/; SameSite=Lax", "weftless=1", "shop_cart=4; Path=/.weftish"];
    const response = await gateway(`http://shop.example/httpbin/response-headers${setCookies([...dropped, ...kept])}&x-shop=1`);
    expect(response.status).toBe(200);
    // The destination's answer came through: its own headers and body, minus the refused cookies.
    expect(response.headers.get("x-httpbin-version")).toMatch(/^v[12]$/);
    expect(response.headers.get("x-shop")).toBe("1");
    expect(setCookieLines(response.headers)).toEqual(kept);
    expect(await response.json()).toMatchObject({ service: "httpbin" });
  });

  it("leaves a destination's answer as it was when it sets only its own cookies", async () => {
    const response = await gateway(`http://shop.example/httpbin/response-headers${setCookies(["a=1", "b=2; Path=/"])}`);
    expect(setCookieLines(response.headers)).toEqual(["a=1", "b=2; Path=/"]);
  });

  it("drops them on mesh calls too", async () => {
    const response = await gateway(`http://httpbin.mesh/response-headers${setCookies(["weft_session=junk; Path=/.weft/dashboard/", "c=3"])}`);
    expect(response.status).toBe(200);
    expect(setCookieLines(response.headers)).toEqual(["c=3"]);
  });
});
