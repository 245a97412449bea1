/** GET /.weft/healthz: liveness, with the config version in use and whether it is stale. */
import type { IsolateWiring } from "../wiring.js";
import { settingsOf } from "../settings.js";
import type { Endpoint } from "./endpoint.js";

export const HEALTHZ_PATH = "/.weft/healthz";

/** How long healthz waits for a due config refresh before answering with what it has. */
const HEALTHZ_REFRESH_BOUND_MS = 2_000;

export function createHealthz(wiring: IsolateWiring): Endpoint {
  return async function healthz(_request, env, ctx) {
    // Health checks keep an otherwise idle isolate's telemetry moving.
    wiring.maybeFlushTelemetry(env, (p) => ctx.waitUntil(p), settingsOf(env));
    const configs = wiring.configCache(env);
    // A due refresh happens first (briefly bounded), so an idle gateway reports what the control
    // plane says now rather than the age of its last request.
    await configs.refreshIfDue(HEALTHZ_REFRESH_BOUND_MS, (p) => ctx.waitUntil(p));
    const status = configs.status();
    const state = status.version === null ? "unconfigured" : status.stale ? "stale" : "ok";
    return Response.json(
      {
        status: state,
        configVersion: status.version,
        stale: status.stale,
        configAgeSeconds: status.ageMs === null ? null : Math.round(status.ageMs / 1000),
        lastRefreshError: status.lastError,
        refreshFailures: status.refreshFailures,
        rules: status.ruleCount,
      },
      { status: state === "unconfigured" ? 503 : 200, headers: { "cache-control": "no-store" } },
    );
  };
}
