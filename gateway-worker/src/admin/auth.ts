/**
 * Admin authentication: a bearer token compared in constant time. Outside dev the admin API is
 * disabled unless the token is a secret of at least 32 characters, so a forgotten or weak
 * token never opens it.
 */
import { MeshError } from "@weft/sdk";
import type { GatewayEnv } from "../env.js";

export const MIN_ADMIN_TOKEN_LENGTH = 32;

export type AdminTokenPolicy = { enabled: true; token: string } | { enabled: false; reason: string };

export function adminTokenPolicy(env: Pick<GatewayEnv, "WEFT_ADMIN_TOKEN" | "WEFT_ENV">): AdminTokenPolicy {
  const token = env.WEFT_ADMIN_TOKEN;
  if (!token) return { enabled: false, reason: "WEFT_ADMIN_TOKEN is not set" };
  if (env.WEFT_ENV !== "dev" && token.length < MIN_ADMIN_TOKEN_LENGTH) {
    return { enabled: false, reason: `WEFT_ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters` };
  }
  return { enabled: true, token };
}

/** Equal-time comparison: both sides are hashed first so neither length nor content leaks through timing. */
export async function tokensEqual(supplied: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(supplied)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  // Fixed-length digests compared with an accumulator: no early exit, same work for every input.
  const left = new Uint8Array(a);
  const right = new Uint8Array(b);
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

export function bearerToken(header: string | null): string | undefined {
  const found = header === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return found?.[1];
}

/** Throws the right MeshError unless the request carries the admin token. */
export async function requireAdmin(request: Request, env: GatewayEnv): Promise<void> {
  const policy = adminTokenPolicy(env);
  if (!policy.enabled) {
    console.error(JSON.stringify({ level: "error", msg: "admin API disabled", reason: policy.reason }));
    throw new MeshError("admin_disabled", `the admin API is disabled: ${policy.reason}`);
  }
  const supplied = bearerToken(request.headers.get("authorization"));
  if (supplied === undefined || !(await tokensEqual(supplied, policy.token))) {
    throw new MeshError("unauthenticated", "the admin API needs Authorization: Bearer <admin token>");
  }
}

/**
 * The metrics endpoint takes the admin token or, when set, a separate metrics token (so Prometheus
 * never holds the admin token). The metrics token needs the same 32 characters outside dev.
 */
export async function requireMetricsReader(request: Request, env: GatewayEnv): Promise<void> {
  const supplied = bearerToken(request.headers.get("authorization"));
  const metricsToken = env.WEFT_METRICS_TOKEN;
  const metricsTokenUsable = metricsToken !== undefined && (env.WEFT_ENV === "dev" ? metricsToken.length > 0 : metricsToken.length >= MIN_ADMIN_TOKEN_LENGTH);
  if (supplied !== undefined && metricsTokenUsable && (await tokensEqual(supplied, metricsToken))) return;
  const policy = adminTokenPolicy(env);
  if (supplied !== undefined && policy.enabled && (await tokensEqual(supplied, policy.token))) return;
  throw new MeshError("unauthenticated", "/.weft/metrics needs Authorization: Bearer <metrics or admin token>");
}
