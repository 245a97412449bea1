/**
 * The gateway's own surface: one hono router for the reserved paths (`/.weft/...` and the JWKS)
 * and for every request on the admin host. Each endpoint family is its own module; this file only
 * says which path and method reach which. Mesh traffic never comes here: gateway.ts sends it
 * straight into the pipeline.
 */
import { Hono, type Context } from "hono";
import { MeshError } from "@weft/sdk";
import type { GatewayEnv } from "../env.js";
import type { IsolateWiring } from "../wiring.js";
import { ADMIN_BASE, createAdmin } from "./admin.js";
import { createDashboardEndpoint, DASHBOARD_BASE } from "./dashboard.js";
import { isReservedPath, JWKS_PATH, type Endpoint } from "./endpoint.js";
import { createHealthz, HEALTHZ_PATH } from "./healthz.js";
import { createJwks } from "./jwks.js";
import { createMetrics, METRICS_PATH } from "./metrics.js";
import { createTokenExchange, TOKEN_PATH } from "./token.js";

type RouterContext = Context<{ Bindings: GatewayEnv }>;

/** A hono handler calling an endpoint with the Worker's own request, env and context. */
function serve(endpoint: Endpoint) {
  return (c: RouterContext) => endpoint(c.req.raw, c.env, c.executionCtx as ExecutionContext);
}

/** Known paths asked with another method: 405 with `Allow` (a GET route answers HEAD too). */
function methodNotAllowed(path: string, allow: readonly string[]) {
  const header = allow.includes("GET") ? [...allow, "HEAD"].join(", ") : allow.join(", ");
  return (c: RouterContext) => new MeshError("method_not_allowed", `${c.req.method} ${path} is not allowed: it answers ${header}`).toResponse({ allow: header });
}

export function createReservedRouter(wiring: IsolateWiring): Endpoint {
  // Routed on the URL's own pathname, as the gateway checked it (hono's default would percent-decode it first).
  const app = new Hono<{ Bindings: GatewayEnv }>({ getPath: (request) => new URL(request.url).pathname });

  app.get(HEALTHZ_PATH, serve(createHealthz(wiring)));
  app.get(METRICS_PATH, serve(createMetrics(wiring)));
  app.get(JWKS_PATH, serve(createJwks(wiring)));
  app.post(TOKEN_PATH, serve(createTokenExchange(wiring)));
  // Both sub-surfaces route (and answer 404s) under their own base; `/*` includes the base itself.
  app.all(`${ADMIN_BASE}/*`, serve(createAdmin(wiring)));
  app.all(`${DASHBOARD_BASE}/*`, serve(createDashboardEndpoint(wiring)));

  app.all(HEALTHZ_PATH, methodNotAllowed(HEALTHZ_PATH, ["GET"]));
  app.all(METRICS_PATH, methodNotAllowed(METRICS_PATH, ["GET"]));
  app.all(JWKS_PATH, methodNotAllowed(JWKS_PATH, ["GET"]));
  app.all(TOKEN_PATH, methodNotAllowed(TOKEN_PATH, ["POST"]));

  app.notFound((c) => {
    const url = new URL(c.req.url);
    // The router sees reserved paths, and any path on the admin host.
    if (isReservedPath(url.pathname)) return new MeshError("not_found", `${url.pathname} is reserved by the mesh and not served by this release`).toResponse();
    // Whatever the routes say (a "*" ingress route included): a function's answer here would be same-origin with the dashboard.
    return new MeshError("not_found", `${url.hostname} is the mesh's admin host: it serves the dashboard and /.weft paths, never a function`).toResponse();
  });
  app.onError((error) => {
    if (error instanceof MeshError) return error.toResponse();
    console.error(JSON.stringify({ level: "error", msg: "reserved endpoint failed", error: String(error) }));
    return new MeshError("internal", "the gateway could not answer this request").toResponse();
  });

  return async function reserved(request, env, ctx) {
    return app.fetch(request, env, ctx);
  };
}
