/**
 * Tells the destination who is calling: a hop token for this caller and this destination in
 * `x-weft-identity` (never the caller's own SVID, which stays at the gateway). Runs once the
 * destination service is chosen, before the circuit breaker and the attempts. Anonymous callers get no header; a caller
 * the gateway cannot vouch for right now is refused rather than passed on without identity.
 */
import { MeshError } from "@weft/sdk";
import type { MeshRequest, Next, Stage } from "../stage.js";

export const IDENTITY_HEADER = "x-weft-identity";

export function hopIdentityStage(): Stage {
  // Not an async function: with the pair's token in hand (the steady state) the request goes on
  // without a promise of its own; only a first or expired token waits for the control plane.
  return function attachHopIdentity(request, next) {
    const caller = request.caller;
    const service = request.service;
    if (!caller?.authenticated || !service) return next(request);
    const tokens = request.isolate.hopTokens(request.env);
    const cached = tokens.cached(caller.spiffeId, service.name, request.waitUntil);
    if (cached !== undefined) return attachThenNext(request, next, cached);
    return tokens.get(caller.spiffeId, service.name, request.waitUntil).then(
      (token) => attachThenNext(request, next, token),
      () => attachThenNext(request, next, undefined),
    );
  };
}

function attachThenNext(request: MeshRequest, next: Next, token: string | undefined): Promise<Response> {
  if (!token) throw new MeshError("control_plane_unavailable", "the gateway could not obtain an identity token for this hop");
  request.headers.set(IDENTITY_HEADER, token);
  return next(request);
}
