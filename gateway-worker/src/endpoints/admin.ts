/** /.weft/api/v1/...: the admin API (admin/api.ts), over this isolate's wiring. */
import { createAdminApi } from "../admin/api.js";
import type { IsolateWiring } from "../wiring.js";
import type { Endpoint } from "./endpoint.js";

export { ADMIN_BASE } from "../admin/api.js";

export function createAdmin(wiring: IsolateWiring): Endpoint {
  const api = createAdminApi({
    control: wiring.control,
    telemetry: wiring.telemetryAccess,
    liveHealth: wiring.liveHealth,
    // Explain traces requests against the snapshot this isolate serves them with.
    servedSnapshot: (env, waitUntil) => wiring.configCache(env).get(waitUntil),
    onApplied: wiring.onApplied,
  });
  return async function admin(request, env, ctx) {
    return api.fetch(request, env, ctx);
  };
}
