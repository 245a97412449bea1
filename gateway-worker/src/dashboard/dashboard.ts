/**
 * The dashboard at /.weft/dashboard: sign in with the admin token once, then a session cookie
 * (an HMAC over an expiry, keyed by the token: see session.ts) lets the page read its JSON. The
 * gateway answers these paths only on the admin host (WEFT_ADMIN_HOST), which it never routes to a
 * function, so no destination's page is same-origin with the dashboard. The
 * token is only ever posted in a form body, never put in a URL or a cookie. Every answer carries a
 * content security policy that allows this origin's script and stylesheet and nothing inline.
 */
import { Hono, type Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { MeshError } from "@weft/sdk";
import type { GatewayEnv } from "../env.js";
import { adminTokenPolicy, tokensEqual } from "../admin/auth.js";
import { readBodyText } from "../admin/body.js";
import { dashboardReader, type DashboardDependencies } from "./data.js";
import { dashboardPage, DASHBOARD_BASE, signInPage } from "./pages.js";
import { cookieValues, issueSession, sessionCookieName, SESSION_TTL_SECONDS, sessionKey, verifySession } from "./session.js";
import { DASHBOARD_SCRIPT, DASHBOARD_STYLE } from "./assets.generated.js";

export { DASHBOARD_BASE } from "./pages.js";
export type { DashboardDependencies } from "./data.js";

export const SIGN_IN_PATH = `${DASHBOARD_BASE}/sign-in`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** The sign-in form posts one short field; anything bigger is not a sign-in. */
const MAX_SIGN_IN_BODY_BYTES = 4096;
/** Plain http is accepted for the session cookie only on the machine itself (`npm run dev`). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** The session cookie covers the whole admin host: it serves nothing but /.weft (and `__Host-` requires it). */
const SESSION_PATH = "/";

type DashboardContext = Context<{ Bindings: GatewayEnv }>;

/**
 * Secure unless the page is served over plain http from loopback (`*.localhost` resolves there
 * too), where browsers would drop it. A Secure session cookie is a `__Host-` one.
 */
export function cookieIsSecure(url: URL): boolean {
  const host = url.hostname.replace(/\.$/, "");
  return !(url.protocol === "http:" && (LOOPBACK_HOSTS.has(host) || host.endsWith(".localhost")));
}

/**
 * A form post from another site (login CSRF, forced sign-out) is refused. Browsers say where a
 * request came from in Sec-Fetch-Site; older ones only in Origin, which they send on every POST.
 */
function fromThisOrigin(c: DashboardContext): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) return site === "same-origin" || site === "none";
  const origin = c.req.header("origin");
  return origin === undefined || origin === new URL(c.req.url).origin;
}

export function createDashboard(deps: DashboardDependencies) {
  const now = deps.now ?? Date.now;
  const read = dashboardReader(deps);
  // Deriving the key is cheap but not free: keep the one for the token in use.
  let derived: { token: string; key: Promise<CryptoKey> } | undefined;
  const keyFor = (token: string): Promise<CryptoKey> => {
    if (derived?.token !== token) derived = { token, key: sessionKey(token) };
    return derived.key;
  };

  /** Any of the session cookies the browser sent verifies: a junk one sent first locks nobody out. */
  async function hasSession(c: DashboardContext): Promise<boolean> {
    const policy = adminTokenPolicy(c.env);
    if (!policy.enabled) return false;
    const name = sessionCookieName(cookieIsSecure(new URL(c.req.url)));
    const candidates = cookieValues(c.req.header("cookie"), name);
    if (candidates.length === 0) return false;
    const key = await keyFor(policy.token);
    for (const value of candidates) {
      if ((await verifySession(key, value, now())).valid) return true;
    }
    return false;
  }

  // Not strict: /.weft/dashboard/ is the dashboard too (every link in it is absolute).
  const app = new Hono<{ Bindings: GatewayEnv }>({ strict: false }).basePath(DASHBOARD_BASE);

  app.use("*", async function dashboardHeaders(c, next) {
    // Like /.weft/token: a credential in a URL ends up in logs and history, so such URLs are refused.
    if ([...new URL(c.req.url).searchParams.keys()].some((key) => /token|credential|auth|session/i.test(key))) {
      throw new MeshError("bad_request", "the dashboard never takes a token in the URL; sign in with the form");
    }
    await next();
    c.res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
    c.res.headers.set("x-content-type-options", "nosniff");
    c.res.headers.set("x-frame-options", "DENY");
    // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on the form posts.
    c.res.headers.set("referrer-policy", "same-origin");
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  });

  app.get("/", async (c) => (await hasSession(c) ? c.html(dashboardPage()) : c.redirect(SIGN_IN_PATH, 302)));

  app.get("/sign-in", (c) => {
    const policy = adminTokenPolicy(c.env);
    if (!policy.enabled) return c.html(signInPage({ disabledReason: policy.reason }), 503);
    return c.html(signInPage());
  });

  app.post("/sign-in", async (c) => {
    const policy = adminTokenPolicy(c.env);
    if (!policy.enabled) {
      console.error(JSON.stringify({ level: "error", msg: "dashboard disabled", reason: policy.reason }));
      return c.html(signInPage({ disabledReason: policy.reason }), 503);
    }
    if (!fromThisOrigin(c)) return c.html(signInPage({ error: "the sign-in came from another site and was refused" }), 403);
    const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") return c.html(signInPage({ error: "sign in with the form" }), 400);
    const supplied = new URLSearchParams(await readBodyText(c.req.raw, MAX_SIGN_IN_BODY_BYTES)).get("token") ?? "";
    if (!(await tokensEqual(supplied, policy.token))) {
      console.error(JSON.stringify({ level: "warn", msg: "dashboard sign-in refused" }));
      return c.html(signInPage({ error: "the token was refused" }), 401);
    }
    const secure = cookieIsSecure(new URL(c.req.url));
    setCookie(c, sessionCookieName(secure), await issueSession(await keyFor(policy.token), now()), {
      httpOnly: true,
      secure,
      sameSite: "Strict",
      path: SESSION_PATH,
      maxAge: SESSION_TTL_SECONDS,
    });
    return c.redirect(DASHBOARD_BASE, 303);
  });

  app.post("/sign-out", (c) => {
    if (!fromThisOrigin(c)) throw new MeshError("forbidden", "the sign-out came from another site and was refused");
    const secure = cookieIsSecure(new URL(c.req.url));
    deleteCookie(c, sessionCookieName(secure), { httpOnly: true, secure, sameSite: "Strict", path: SESSION_PATH });
    return c.redirect(SIGN_IN_PATH, 303);
  });

  app.get("/data", async (c) => {
    if (!(await hasSession(c))) throw new MeshError("unauthenticated", "sign in to the dashboard first");
    return c.json(await read(c.env));
  });

  // The page's own script and stylesheet (client/, built into assets.generated.ts): public (nothing
  // secret in them), revalidated each load.
  app.get("/app.js", (c) => c.body(DASHBOARD_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }));
  app.get("/app.css", (c) => c.body(DASHBOARD_STYLE, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }));

  app.notFound((c) => new MeshError("not_found", `no dashboard route ${c.req.method} ${new URL(c.req.url).pathname}`).toResponse());
  app.onError((error) => {
    if (error instanceof MeshError) return error.toResponse();
    console.error(JSON.stringify({ level: "error", msg: "dashboard failed", error: String(error) }));
    return new MeshError("control_plane_unavailable", "the dashboard could not read the mesh's state").toResponse();
  });
  return app;
}
