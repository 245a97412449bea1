/**
 * weft gateway Worker entry. Deployed by the root wrangler.toml; also exports the control plane
 * Durable Object class so one `wrangler deploy` ships both.
 */
import { createGateway } from "./gateway.js";
import type { GatewayEnv } from "./env.js";

export { ControlPlane } from "../../control-durable/src/control-plane.js";
export { RateLimiter } from "../../control-durable/src/rate-limiter.js";
export { TelemetryShard } from "../../control-durable/src/telemetry.js";

const gateway = createGateway();

export default {
  fetch(request, env, ctx) {
    return gateway.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<GatewayEnv>;
