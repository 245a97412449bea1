/**
 * weft gateway Worker entry, deployed by the root wrangler.toml. The Durable Objects it talks to
 * (control plane, rate limiter, telemetry) live in the control Worker (control-durable/src/worker.ts)
 * and are bound here by `script_name`, so this Worker carries no YAML parser, no validator and no
 * control-plane code (docs/architecture.md#why-two-workers).
 */
import { createGateway } from "./gateway.js";
import type { GatewayEnv } from "./env.js";

const gateway = createGateway();

export default {
  fetch(request, env, ctx) {
    return gateway.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<GatewayEnv>;
