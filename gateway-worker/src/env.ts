import type { ControlPlane } from "../../control-durable/src/control-plane.js";
import type { RateLimiter } from "../../control-durable/src/rate-limiter.js";
import type { TelemetryShard } from "../../control-durable/src/telemetry.js";

/**
 * Bindings and settings of the gateway Worker. Service bindings to mesh functions are looked up
 * by the names Service endpoints give (`binding: HTTPBIN_V1`), so they are not listed here.
 */
export interface GatewayEnv {
  /** The control plane Durable Object namespace. */
  CONTROL: DurableObjectNamespace<ControlPlane>;
  /** Global rate limits: one Durable Object per limit key, leasing tokens to isolates. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** Admin API bearer token (a secret). At least 32 characters outside dev. */
  WEFT_ADMIN_TOKEN?: string;
  /** "dev" relaxes the admin token length rule for the local mesh; anything else is production. */
  WEFT_ENV?: string;
  /** Telemetry: one Durable Object per destination service, holding its rollups. */
  TELEMETRY: DurableObjectNamespace<TelemetryShard>;
  /** "off" stops the gateway recording telemetry (to measure its cost); anything else leaves it on. */
  WEFT_TELEMETRY?: string;
  /** How often an isolate flushes its telemetry aggregates, in ms. Default 5000. */
  WEFT_TELEMETRY_FLUSH_MS?: string;
  /** A token that may read /.weft/metrics (and nothing else), for Prometheus. Optional. */
  WEFT_METRICS_TOKEN?: string;
  /** How often an isolate checks the control plane for a newer config, in ms. Default 5000. */
  WEFT_CONFIG_REFRESH_MS?: string;
}
