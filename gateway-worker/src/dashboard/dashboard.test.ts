import { describe, expect, it } from "vitest";
import type { ControlPlaneApi, TelemetryAccess } from "../admin/api.js";
import type { GatewayEnv } from "../env.js";
import type { VersionRecord } from "../../../control-durable/src/types.js";
import type { SnapshotPayload } from "../../../wire/src/snapshot.js";
import type { TelemetryView } from "../../../control-durable/src/telemetry-store.js";
import type { GoldenMetrics } from "../../../wire/src/telemetry.js";
import { CONTENT_SECURITY_POLICY, createDashboard } from "./dashboard.js";
import type { DashboardData } from "./data.js";
import { ORDERS_ROLLOUT_VIEW } from "../../../wire/src/rollouts.fixture.js";
import { DASHBOARD_SCRIPT, DASHBOARD_STYLE } from "./assets.generated.js";

const TOKEN = "dev-admin-token";
const ENV = { WEFT_ADMIN_TOKEN: TOKEN, WEFT_ENV: "dev" } as unknown as GatewayEnv;
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);
const LOCAL = "http://127.0.0.1:8787";
const REMOTE = "https://gateway.example.com";

const doc = (kind: string, name: string, spec: object) => ({ apiVersion: "weft/v1", kind, metadata: { name }, spec });
const CONFIGS: SnapshotPayload[] = [
  { version: 1, createdAt: "2026-05-01T11:00:00.000Z", documents: [doc("Service", "orders", { timeout: "5s" })] },
  { version: 2, createdAt: "2026-05-01T11:30:00.000Z", documents: [doc("Service", "orders", { timeout: "2s" }), doc("Service", "catalog", {})] },
];
const HISTORY: VersionRecord[] = [
  { version: 2, createdAt: "2026-05-01T11:30:00.000Z", actor: "admin:alice", source: "apply", rollbackOf: null, summary: "added Service/catalog; changed Service/orders (1 field)" },
  { version: 1, createdAt: "2026-05-01T11:00:00.000Z", actor: "admin", source: "apply", rollbackOf: null, summary: "added Service/orders" },
];

function golden(requests: number, successRate: number | null): GoldenMetrics {
  return { requests, requestsPerSecond: requests / 300, successRate, p50Ms: 2, p95Ms: 5, p99Ms: 9 };
}

const VIEWS: Record<string, TelemetryView> = {
  orders: {
    service: "orders",
    windowMs: 300_000,
    golden: golden(30, 0.9),
    bySubset: [{ subset: "v1", golden: golden(30, 0.9) }],
    byRoute: [
      { route: "orders-mesh", rule: "reads", golden: golden(25, 1) },
      { route: "orders-mesh", rule: "#1", golden: golden(5, 0.4) },
    ],
    edges: [
      { source: "frontend", destination: "orders", golden: golden(20, 1) },
      { source: "anonymous", destination: "orders", golden: golden(10, 0.7) },
    ],
    counters: [
      { name: "authz_denials", labels: { source: "anonymous", destination: "orders" }, value: 4 },
      { name: "retries", labels: { source: "frontend", destination: "orders" }, value: 2 },
    ],
  },
  // A shard with nothing stored names no service.
  catalog: { service: "", windowMs: 300_000, golden: golden(0, null), bySubset: [], byRoute: [], edges: [], counters: [] },
};

const ROLLOUT = ORDERS_ROLLOUT_VIEW;

function control(): ControlPlaneApi {
  const unused = () => Promise.reject(new Error("not used by the dashboard"));
  return {
    getConfig: async (version?: number) => CONFIGS.find((c) => c.version === (version ?? 2)) ?? null,
    history: async () => HISTORY,
    services: async () => ({
      version: 2,
      services: [
        { name: "orders", namespace: "default", loadBalancer: "ROUND_ROBIN", routes: [], subsets: [{ name: "v1", endpoints: [{ id: "orders/v1/0", binding: "ORDERS_V1", weight: 1 }] }] },
        { name: "catalog", namespace: "default", loadBalancer: "ROUND_ROBIN", routes: [], subsets: [{ name: "v1", endpoints: [{ id: "catalog/v1/0", binding: "CATALOG", weight: 1 }] }] },
      ],
    }),
    snapshotText: unused,
    rolloutStatus: async () => [ROLLOUT],
    rolloutCommand: unused,
    applyConfig: unused,
    rollback: unused,
    auditLog: unused,
    jwks: unused,
    listKeys: unused,
    rotateKeys: unused,
    createCredential: unused,
    revokeCredential: unused,
    listCredentials: unused,
    exchangeCredential: unused,
    mintHopToken: unused,
    mintToken: unused,
  };
}

const telemetry: TelemetryAccess = {
  services: async () => ["orders", "catalog"],
  query: async (service) => {
    const view = VIEWS[service];
    if (!view) throw new Error(`no view for ${service}`);
    return view;
  },
};

function dashboard(options: { telemetry?: TelemetryAccess } = {}) {
  return createDashboard({ control, telemetry: () => options.telemetry ?? telemetry, now: () => NOW });
}

function signInBody(token: string): RequestInit {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token }).toString() };
}

/** Signs in and returns the `name=value` part of the session cookie. */
async function signIn(app: ReturnType<typeof dashboard>, origin = LOCAL): Promise<string> {
  const res = await app.request(`${origin}/.weft/dashboard/sign-in`, signInBody(TOKEN), ENV);
  expect(res.status).toBe(303);
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0] ?? "";
}

describe("dashboard sign-in", () => {
  it.each(["/.weft/dashboard", "/.weft/dashboard/"])("sends a visitor of %s without a session to the sign-in form", async (path) => {
    const res = await dashboard().request(`${LOCAL}${path}`, {}, ENV);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/.weft/dashboard/sign-in");
  });

  it("shows a form with one password field that posts the token (never a GET)", async () => {
    const res = await dashboard().request(`${LOCAL}/.weft/dashboard/sign-in`, {}, ENV);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="\/\.weft\/dashboard\/sign-in"/);
    expect(html.match(/<input /g)).toHaveLength(1);
    expect(html).toContain('type="password"');
    expect(html).not.toMatch(/<script>|style="/);
  });

  it("refuses a wrong token with 401 and sets no cookie", async () => {
    const res = await dashboard().request(`${LOCAL}/.weft/dashboard/sign-in`, signInBody("not-the-token"), ENV);
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("the token was refused");
  });

  it("signs in with the right token: 303 to the dashboard with a strict, HttpOnly, host-only __Host- session cookie", async () => {
    const res = await dashboard().request(`${REMOTE}/.weft/dashboard/sign-in`, signInBody(TOKEN), ENV);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/.weft/dashboard");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-weft_session=v1\.\d+\.[A-Za-z0-9_-]{43};/);
    const flags = cookie.split(";").slice(1).map((part) => part.trim());
    expect(flags).toEqual(expect.arrayContaining(["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=28800"]));
    expect(flags.some((flag) => /^domain=/i.test(flag))).toBe(false);
    expect(cookie).not.toContain(TOKEN);
  });

  // Browsers keep a __Host- cookie only when it is Secure: plain http on loopback uses the bare name.
  it.each([
    ["http://127.0.0.1:8787", false],
    ["http://localhost:8787", false],
    ["http://[::1]:8787", false],
    ["http://weft-admin.localhost:8787", false],
    ["http://gateway.example.com", true],
    ["https://127.0.0.1:8787", true],
    ["https://gateway.example.com", true],
    ["https://weft-admin.localhost", true],
  ])("marks the cookie Secure and __Host- on %s: %s", async (origin, secure) => {
    const res = await dashboard().request(`${origin}/.weft/dashboard/sign-in`, signInBody(TOKEN), ENV);
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie.split(";").map((part) => part.trim()).includes("Secure")).toBe(secure);
    expect(cookie.startsWith(secure ? "__Host-weft_session=" : "weft_session=")).toBe(true);
    expect(cookie).toContain("Path=/;");
  });

  it("reads the session cookie that verifies when several share its name, in any order", async () => {
    const app = dashboard();
    const cookie = await signIn(app);
    const value = cookie.slice("weft_session=".length);
    for (const header of [`weft_session=junk; ${cookie}`, `${cookie}; weft_session=junk`, `weft_session=v1.1.${"A".repeat(43)}; a=1; weft_session=${value}`, `weft_session="junk";weft_session=${value}`]) {
      expect((await app.request(`${LOCAL}/.weft/dashboard/data`, { headers: { cookie: header } }, ENV)).status, header).toBe(200);
    }
    expect((await app.request(`${LOCAL}/.weft/dashboard/data`, { headers: { cookie: "weft_session=junk; weft_session=more-junk" } }, ENV)).status).toBe(401);
  });

  it("over https reads only the __Host- cookie, which no other host can set", async () => {
    const app = dashboard();
    const cookie = await signIn(app, REMOTE);
    expect(cookie.startsWith("__Host-weft_session=")).toBe(true);
    const value = cookie.slice("__Host-weft_session=".length);
    expect((await app.request(`${REMOTE}/.weft/dashboard/data`, { headers: { cookie: `__Host-weft_session=junk; ${cookie}` } }, ENV)).status).toBe(200);
    // The same value under the bare name could have come from a sibling domain: not a session here.
    expect((await app.request(`${REMOTE}/.weft/dashboard/data`, { headers: { cookie: `weft_session=${value}` } }, ENV)).status).toBe(401);
  });

  it("refuses a sign-in posted from another site", async () => {
    const init = signInBody(TOKEN);
    const res = await dashboard().request(`${REMOTE}/.weft/dashboard/sign-in`, { ...init, headers: { ...(init.headers as Record<string, string>), origin: "https://evil.example" } }, ENV);
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it.each([
    ["cross-site", REMOTE],
    ["same-site", REMOTE],
  ])("refuses a sign-in the browser marks %s, whatever Origin says", async (site, origin) => {
    const init = signInBody(TOKEN);
    const res = await dashboard().request(`${REMOTE}/.weft/dashboard/sign-in`, { ...init, headers: { ...(init.headers as Record<string, string>), origin, "sec-fetch-site": site } }, ENV);
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("accepts a sign-in posted from its own origin", async () => {
    const init = signInBody(TOKEN);
    const res = await dashboard().request(`${REMOTE}/.weft/dashboard/sign-in`, { ...init, headers: { ...(init.headers as Record<string, string>), origin: REMOTE, "sec-fetch-site": "same-origin" } }, ENV);
    expect(res.status).toBe(303);
  });

  it("refuses a token in the URL, on any dashboard path", async () => {
    for (const path of [`/.weft/dashboard?token=${TOKEN}`, `/.weft/dashboard/sign-in?token=${TOKEN}`, "/.weft/dashboard/data?access_token=x"]) {
      const res = await dashboard().request(`${LOCAL}${path}`, {}, ENV);
      expect(res.status, path).toBe(400);
    }
  });

  it("is disabled, and says why, when the admin token is unusable here", async () => {
    const production = { WEFT_ADMIN_TOKEN: "short", WEFT_ENV: "production" } as unknown as GatewayEnv;
    const page = await dashboard().request(`${REMOTE}/.weft/dashboard/sign-in`, {}, production);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain("shorter than 32 characters");
    const post = await dashboard().request(`${REMOTE}/.weft/dashboard/sign-in`, signInBody("short"), production);
    expect(post.status).toBe(503);
    expect(post.headers.get("set-cookie")).toBeNull();
  });

  it("signs out by clearing the cookie", async () => {
    const app = dashboard();
    const cookie = await signIn(app);
    const res = await app.request(`${LOCAL}/.weft/dashboard/sign-out`, { method: "POST", headers: { cookie } }, ENV);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/.weft/dashboard/sign-in");
    expect(res.headers.get("set-cookie")).toMatch(/^weft_session=;.*Max-Age=0/);
    const secure = await app.request(`${REMOTE}/.weft/dashboard/sign-out`, { method: "POST", headers: { cookie: await signIn(app, REMOTE) } }, ENV);
    expect(secure.headers.get("set-cookie")).toMatch(/^__Host-weft_session=;.*Max-Age=0.*Path=\/;.*Secure/);
  });
});

describe("dashboard pages and data behind the session", () => {
  it("serves the page to a signed-in visitor, with a content security policy and no inline script", async () => {
    const app = dashboard();
    const cookie = await signIn(app);
    const res = await app.request(`${LOCAL}/.weft/dashboard`, { headers: { cookie } }, ENV);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).toMatch(/<script src="\/\.weft\/dashboard\/app\.js" defer(="")?><\/script>/);
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(html).not.toContain("style=");
  });

  it("answers data requests without a session with 401 JSON", async () => {
    const res = await dashboard().request(`${LOCAL}/.weft/dashboard/data`, {}, ENV);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "unauthenticated" } });
  });

  it("refuses a session cookie issued under a token that has since been rotated", async () => {
    const app = dashboard();
    const cookie = await signIn(app);
    const rotated = { WEFT_ADMIN_TOKEN: "a-new-admin-token", WEFT_ENV: "dev" } as unknown as GatewayEnv;
    expect((await app.request(`${LOCAL}/.weft/dashboard/data`, { headers: { cookie } }, rotated)).status).toBe(401);
    expect((await app.request(`${LOCAL}/.weft/dashboard`, { headers: { cookie } }, rotated)).status).toBe(302);
  });

  it("reads config history with diffs, services, telemetry and denials", async () => {
    const app = dashboard();
    const cookie = await signIn(app);
    const res = await app.request(`${LOCAL}/.weft/dashboard/data`, { headers: { cookie } }, ENV);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const data = (await res.json()) as DashboardData;
    expect(data.config).toMatchObject({ version: 2, createdAt: "2026-05-01T11:30:00.000Z" });
    expect(data.config.history.map((v) => v.version)).toEqual([2, 1]);
    expect(data.config.history[0]?.diff).toEqual({ added: [{ kind: "Service", name: "catalog" }], removed: [], changed: [{ kind: "Service", name: "orders", fields: ["spec.timeout"] }], unchanged: 0 });
    expect(data.config.history[1]?.diff).toEqual({ added: [{ kind: "Service", name: "orders" }], removed: [], changed: [], unchanged: 0 });
    expect(data.services.map((s) => s.name)).toEqual(["orders", "catalog"]);
    // No such binding on this env: reported as the admin API does.
    expect(data.services[0]?.subsets[0]?.endpoints[0]).toMatchObject({ id: "orders/v1/0", status: "missing-binding" });
    expect(data.telemetry.edges).toEqual([
      { source: "frontend", destination: "orders", golden: golden(20, 1), denials: 0 },
      { source: "anonymous", destination: "orders", golden: golden(10, 0.7), denials: 4 },
    ]);
    expect(data.telemetry.services.find((s) => s.service === "orders")?.counters).toMatchObject({ retries: 2, authzDenials: 4 });
    expect(data.telemetry.services.map((s) => s.service)).toEqual(["orders", "catalog"]);
    expect(data.denials).toEqual([{ source: "anonymous", destination: "orders", count: 4 }]);
    expect(data.rollouts).toEqual([ROLLOUT]);
    expect(data.telemetry.routes).toEqual([
      { service: "orders", route: "orders-mesh", rule: "reads", golden: golden(25, 1) },
      { service: "orders", route: "orders-mesh", rule: "#1", golden: golden(5, 0.4) },
    ]);
    expect(data.problems).toEqual([]);
  });

  it("still shows the config and services when telemetry cannot be read", async () => {
    const broken: TelemetryAccess = { services: async () => ["orders"], query: () => Promise.reject(new Error("shard unreachable")) };
    const app = dashboard({ telemetry: broken });
    const cookie = await signIn(app);
    const data = (await (await app.request(`${LOCAL}/.weft/dashboard/data`, { headers: { cookie } }, ENV)).json()) as DashboardData;
    expect(data.config.version).toBe(2);
    expect(data.services).toHaveLength(2);
    expect(data.telemetry.edges).toEqual([]);
    expect(data.problems).toEqual(["telemetry could not be read"]);
  });

  it("serves its script and stylesheet without a session", async () => {
    const app = dashboard();
    const js = await app.request(`${LOCAL}/.weft/dashboard/app.js`, {}, ENV);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(await js.text()).toBe(DASHBOARD_SCRIPT);
    const css = await app.request(`${LOCAL}/.weft/dashboard/app.css`, {}, ENV);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(await css.text()).toBe(DASHBOARD_STYLE);
  });

  it("ships a script that parses", () => {
    expect(() => new Function(DASHBOARD_SCRIPT)).not.toThrow();
  });

  it("answers unknown dashboard paths with the mesh's 404", async () => {
    const res = await dashboard().request(`${LOCAL}/.weft/dashboard/nope`, {}, ENV);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });
});
