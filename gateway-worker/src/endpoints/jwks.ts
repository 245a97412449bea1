/**
 * GET /.well-known/jwks.json: the public signing keys. Public and read by every verifier, so kept
 * in the isolate for a while, and served from there (stale) if the control plane is unreachable.
 */
import { MeshError } from "@weft/sdk";
import { JWKS_COPY_TTL_MS } from "../../../wire/src/keys.js";
import { boundedControlCall, type IsolateWiring } from "../wiring.js";
import type { Endpoint } from "./endpoint.js";

/** How long an isolate reuses the JWKS it fetched before asking the control plane again (new keys wait out this and more before they sign). */
export const JWKS_ISOLATE_TTL_MS = JWKS_COPY_TTL_MS;

export function createJwks(wiring: IsolateWiring): Endpoint {
  const { now } = wiring;
  let copy: { fetchedAt: number; body: string } | undefined;
  return async function jwks(_request, env) {
    if (!copy || now() - copy.fetchedAt >= JWKS_ISOLATE_TTL_MS) {
      try {
        // Bounded: a control plane that hangs must not hang verifiers that the copy can answer.
        copy = { fetchedAt: now(), body: JSON.stringify(await boundedControlCall(wiring.control(env).jwks(), wiring.controlCallTimeoutMs, "for the signing keys")) };
      } catch (error) {
        if (!copy) return new MeshError("control_plane_unavailable", "the signing keys are not available yet").toResponse();
        console.error(JSON.stringify({ level: "warn", msg: "serving a stale JWKS", error: String(error) }));
      }
    }
    return new Response(copy.body, { headers: { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=60" } });
  };
}
