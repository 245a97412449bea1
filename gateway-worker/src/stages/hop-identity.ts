/**
 * Tells the destination who is calling: a hop token for this caller and this destination in
 * `x-weft-identity` (never the caller's own SVID, which stays at the gateway). Runs once the
 * destination service is chosen, before the circuit breaker and the attempts. Anonymous callers get no header; a caller
 * the gateway cannot vouch for right now is refused rather than passed on without identity.
 */
import { MeshError } from "@weft/sdk";
import type { Stage } from "../stage.js";

export const IDENTITY_HEADER = "x-weft-identity";

export function hopIdentityStage(): Stage {
  return async function attachHopIdentity(request, next) {
    const caller = request.caller;
    const service = request.service;
    if (!caller?.authenticated || !service) return next(request);
    let token: string | undefined;
    try {
      token = await request.isolate.hopTokens(request.env).get(caller.spiffeId, service.name, request.waitUntil);
    } catch {
      token = undefined;
    }
    if (!token) throw new MeshError("control_plane_unavailable", "the gateway could not obtain an identity token for this hop");
    request.headers.set(IDENTITY_HEADER, token);
    return next(request);
  };
}
