/**
 * The control Worker's entry (control-durable/wrangler.toml, `weft-control`): it holds the mesh's
 * Durable Objects, and the gateway Worker binds them by `script_name`. Parsing and validating
 * config (yaml, zod) lives here with them, so the gateway, which every request starts, loads none
 * of it (docs/architecture.md#why-two-workers).
 *
 * It answers no traffic of its own: operators and functions talk to the gateway.
 */
export { ControlPlane } from "./control-plane.js";
export { RateLimiter } from "./rate-limiter.js";
export { TelemetryShard } from "./telemetry.js";

export default {
  fetch() {
    return Response.json(
      { error: { code: "not_found", message: "this Worker holds the weft mesh's Durable Objects and serves nothing itself; use the gateway" } },
      { status: 404, headers: { "cache-control": "no-store" } },
    );
  },
} satisfies ExportedHandler;
