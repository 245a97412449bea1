/**
 * @weft/gateway: the weft gateway Worker. A gateway project's `wrangler.jsonc` points `main` at
 * this package (or at a one-line module that re-exports it) and binds the three Durable Object
 * classes below; `weft init` writes that config.
 */

/** The gateway's fetch handler: the mesh's data plane, admin API, dashboard and token exchange. */
declare const gateway: {
  fetch(request: Request, env: unknown, ctx: unknown): Promise<Response>;
};
export default gateway;

/** The control plane: config versions, registry, signing keys, credentials, audit log (binding `CONTROL`). */
export declare class ControlPlane {
  constructor(ctx: unknown, env: unknown);
}

/** Global rate limits: one object per limit key, leasing tokens to gateway isolates (binding `RATE_LIMITER`). */
export declare class RateLimiter {
  constructor(ctx: unknown, env: unknown);
}

/** Telemetry rollups: one object per destination service (binding `TELEMETRY`). */
export declare class TelemetryShard {
  constructor(ctx: unknown, env: unknown);
}
