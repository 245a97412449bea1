/**
 * @weft/gateway/control: the weft control Worker. Its `wrangler.control.jsonc` points `main` at
 * this module and carries the classes' migrations; the gateway binds the three Durable Object
 * classes below by `script_name`. `weft init` writes both configs.
 */

/** Answers nothing itself (404): operators and functions talk to the gateway. */
declare const control: {
  fetch(request: Request, env: unknown, ctx: unknown): Promise<Response> | Response;
};
export default control;

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
