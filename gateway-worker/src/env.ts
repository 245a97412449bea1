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
  /** "off": no flush at an interval's end without traffic (docs/architecture.md#telemetry-delivery). */
  WEFT_TELEMETRY_TRAILING_FLUSH?: string;
  /** A token that may read /.weft/metrics (and nothing else), for Prometheus. Optional. */
  WEFT_METRICS_TOKEN?: string;
  /** How often an isolate checks the control plane for a newer config, in ms. Default 5000. */
  WEFT_CONFIG_REFRESH_MS?: string;
  /**
   * The secret that authenticates config snapshots this mesh's gateways leave in the colo's Cache
   * API (HMAC-SHA256), which every Worker on the zone can write. Default: WEFT_ADMIN_TOKEN. With
   * neither, the gateways read the control plane directly and skip the colo cache.
   */
  WEFT_CONFIG_CACHE_SECRET?: string;
  /**
   * The host name the dashboard answers on, and only it: that host is never routed to a function,
   * so no destination's answer shares the dashboard's origin. A name no Route serves, e.g.
   * `weft-admin.example.com` (no scheme, port or wildcard). Default `weft-admin.localhost`, which
   * browsers resolve to loopback: the local dashboard, and unreachable on a deployed gateway until set.
   */
  WEFT_ADMIN_HOST?: string;
}

/** Where the dashboard lives when WEFT_ADMIN_HOST is not set. */
export const DEFAULT_ADMIN_HOST = "weft-admin.localhost";

/** One DNS name in lower case: labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** WEFT_ADMIN_HOST as the gateway uses it, or why it cannot be used (the dashboard is then off everywhere). */
export type AdminHost = { readonly ok: true; readonly host: string } | { readonly ok: false; readonly reason: string };

/** Reads WEFT_ADMIN_HOST: a host name compared the way Host headers are (lower case, no trailing dot). */
export function parseAdminHost(value: string | undefined): AdminHost {
  if (value === undefined || value.trim() === "") return { ok: true, host: DEFAULT_ADMIN_HOST };
  const host = value.trim().toLowerCase().replace(/\.$/, "");
  if (!HOST_NAME.test(host)) return { ok: false, reason: `WEFT_ADMIN_HOST must be a host name such as weft-admin.example.com (no scheme, port or wildcard), got "${value}"` };
  // A .mesh name addresses a service: the gateway would have to choose between the two.
  if (host.endsWith(".mesh")) return { ok: false, reason: `WEFT_ADMIN_HOST must not be a .mesh name, got "${value}"` };
  return { ok: true, host };
}

let lastAdminHost: { readonly raw: string | undefined; readonly parsed: AdminHost } | undefined;

/** The env's admin host, parsed once per value (an isolate's vars do not change), a bad one logged once. */
export function adminHostOf(env: Pick<GatewayEnv, "WEFT_ADMIN_HOST">): AdminHost {
  if (lastAdminHost === undefined || lastAdminHost.raw !== env.WEFT_ADMIN_HOST) {
    const parsed = parseAdminHost(env.WEFT_ADMIN_HOST);
    if (!parsed.ok) console.error(JSON.stringify({ level: "error", msg: "dashboard disabled", reason: parsed.reason }));
    lastAdminHost = { raw: env.WEFT_ADMIN_HOST, parsed };
  }
  return lastAdminHost.parsed;
}

/** Whether a request's URL is on the admin host (URL host names are already lower case; a trailing dot is the same name). */
export function isAdminHost(url: URL, admin: AdminHost): boolean {
  if (!admin.ok) return false;
  const name = url.hostname;
  return name === admin.host || (name.length === admin.host.length + 1 && name.endsWith(".") && name.startsWith(admin.host));
}
