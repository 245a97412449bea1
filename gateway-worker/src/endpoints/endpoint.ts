/**
 * What every reserved endpoint is: a Worker fetch handler over the isolate's wiring, knowing
 * nothing of the router that dispatches to it. Which paths are reserved is decided here, once.
 */
import type { GatewayEnv } from "../env.js";

export type Endpoint = (request: Request, env: GatewayEnv, ctx: ExecutionContext) => Promise<Response>;

/** The mesh's own path prefix: never routed to a function. */
export const RESERVED_PREFIX = "/.weft/";
/** The public signing keys, where JWKS clients look for them. */
export const JWKS_PATH = "/.well-known/jwks.json";

/**
 * Whether the gateway answers this path itself (`/.weft`, `/.weft/...`, the JWKS). On the hot
 * path: function paths almost never have a dot as their second character, so they are decided by
 * one character comparison.
 */
export function isReservedPath(pathname: string): boolean {
  return pathname.charCodeAt(1) === 0x2e /* "." */ && (pathname.startsWith(RESERVED_PREFIX) || pathname === "/.weft" || pathname === JWKS_PATH);
}
