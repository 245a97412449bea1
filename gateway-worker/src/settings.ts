/**
 * The Worker's vars and secrets as one typed settings object, parsed once per isolate (a Worker's
 * env does not change while its isolate lives) rather than with `Number(env.X)` per request. A
 * value that cannot be used is named, with what was given, logged once, and replaced by its
 * default: a typo in a var must not take the mesh down.
 */
import { DEFAULT_REFRESH_INTERVAL_MS } from "./config-cache.js";
import { adminHostOf, type AdminHost, type GatewayEnv } from "./env.js";
import { DEFAULT_FLUSH_INTERVAL_MS } from "./telemetry/state.js";

export const DEFAULT_CONFIG_REFRESH_MS = DEFAULT_REFRESH_INTERVAL_MS;
export const DEFAULT_TELEMETRY_FLUSH_MS = DEFAULT_FLUSH_INTERVAL_MS;

export interface GatewaySettings {
  /** WEFT_CONFIG_REFRESH_MS: how often an isolate asks the control plane for a newer config. */
  readonly configRefreshMs: number;
  /** WEFT_TELEMETRY_FLUSH_MS: how often an isolate sends its telemetry aggregates. */
  readonly telemetryFlushMs: number;
  /** WEFT_TELEMETRY: "off" stops recording (to measure its cost). */
  readonly telemetryOn: boolean;
  /**
   * WEFT_TELEMETRY_TRAILING_FLUSH: "off" leaves an interval's last batch for the next request to
   * send, instead of a flush at the interval's end kept alive by `waitUntil` (a harness that waits
   * for every `waitUntil` of a request would otherwise wait out the interval).
   */
  readonly telemetryTrailingFlush: boolean;
  /** WEFT_ADMIN_HOST: the dashboard's own host, or why there is none. */
  readonly adminHost: AdminHost;
  /** WEFT_CONFIG_CACHE_SECRET, else WEFT_ADMIN_TOKEN: authenticates colo-cache entries; none turns the colo cache off. */
  readonly configCacheSecret: string | undefined;
  /** Each var that could not be used, and what was used instead. */
  readonly problems: readonly string[];
}

/** A positive whole number of milliseconds, or the default with a problem named. */
function milliseconds(name: string, value: string | undefined, fallback: number, problems: string[]): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  if (Number.isInteger(parsed) && parsed > 0) return parsed;
  problems.push(`${name} must be a positive whole number of milliseconds, got "${value}"; using ${fallback}`);
  return fallback;
}

/** "on" (the default) or "off", any case; anything else is named and read as on. */
function onOff(name: string, value: string | undefined, problems: string[]): boolean {
  const word = value?.trim().toLowerCase();
  if (word === undefined || word === "" || word === "on") return true;
  if (word === "off") return false;
  problems.push(`${name} must be "on" or "off", got "${value}"; using on`);
  return true;
}

/** Pure: the settings a given env yields. */
export function parseSettings(
  env: Partial<Pick<GatewayEnv, "WEFT_CONFIG_REFRESH_MS" | "WEFT_TELEMETRY_FLUSH_MS" | "WEFT_TELEMETRY" | "WEFT_TELEMETRY_TRAILING_FLUSH" | "WEFT_ADMIN_HOST" | "WEFT_CONFIG_CACHE_SECRET" | "WEFT_ADMIN_TOKEN">>,
): GatewaySettings {
  const problems: string[] = [];
  const secret = env.WEFT_CONFIG_CACHE_SECRET ?? env.WEFT_ADMIN_TOKEN;
  const adminHost = adminHostOf(env);
  if (!adminHost.ok) problems.push(adminHost.reason);
  return {
    configRefreshMs: milliseconds("WEFT_CONFIG_REFRESH_MS", env.WEFT_CONFIG_REFRESH_MS, DEFAULT_CONFIG_REFRESH_MS, problems),
    telemetryFlushMs: milliseconds("WEFT_TELEMETRY_FLUSH_MS", env.WEFT_TELEMETRY_FLUSH_MS, DEFAULT_TELEMETRY_FLUSH_MS, problems),
    telemetryOn: onOff("WEFT_TELEMETRY", env.WEFT_TELEMETRY, problems),
    telemetryTrailingFlush: onOff("WEFT_TELEMETRY_TRAILING_FLUSH", env.WEFT_TELEMETRY_TRAILING_FLUSH, problems),
    adminHost,
    configCacheSecret: secret === undefined || secret === "" ? undefined : secret,
    problems,
  };
}

const parsed = new WeakMap<object, GatewaySettings>();

/** The settings of this env object, parsed on first use and kept for the isolate's life; problems logged once. */
export function settingsOf(env: GatewayEnv): GatewaySettings {
  let settings = parsed.get(env);
  if (!settings) {
    settings = parseSettings(env);
    for (const problem of settings.problems) console.error(JSON.stringify({ level: "error", msg: "gateway setting not usable", problem }));
    parsed.set(env, settings);
  }
  return settings;
}
