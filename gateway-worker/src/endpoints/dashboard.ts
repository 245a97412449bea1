/**
 * /.weft/dashboard/...: the dashboard (dashboard/dashboard.ts), answered only on the admin host.
 * Elsewhere it is a 404 that names the admin host, so no destination's answer shares its origin.
 */
import { MeshError } from "@weft/sdk";
import { createDashboard, DASHBOARD_BASE } from "../dashboard/dashboard.js";
import { isAdminHost } from "../env.js";
import { settingsOf } from "../settings.js";
import type { IsolateWiring } from "../wiring.js";
import type { Endpoint } from "./endpoint.js";

export { DASHBOARD_BASE } from "../dashboard/dashboard.js";

export function createDashboardEndpoint(wiring: IsolateWiring): Endpoint {
  const app = createDashboard({ control: wiring.control, telemetry: wiring.telemetryAccess, liveHealth: wiring.liveHealth, now: wiring.now });
  return async function dashboard(request, env, ctx) {
    const url = new URL(request.url);
    const settings = settingsOf(env);
    const adminHost = settings.adminHost;
    if (!isAdminHost(url, adminHost)) {
      // The admin host's name is no secret: saying it helps the operator who typed the wrong one.
      const message = adminHost.ok
        ? `the dashboard is served only on the admin host: ${url.protocol}//${adminHost.host}${url.port ? `:${url.port}` : ""}${DASHBOARD_BASE}`
        : `the dashboard is off: ${adminHost.reason}`;
      return new MeshError("not_found", message).toResponse({ "cache-control": "no-store" });
    }
    // A dashboard left open keeps this isolate's own figures flowing to the telemetry objects.
    wiring.maybeFlushTelemetry(env, (p) => ctx.waitUntil(p), settings);
    return app.fetch(request, env, ctx);
  };
}
