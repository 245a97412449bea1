/**
 * Authorization: may this caller call this destination? Needs the caller (authentication) and the
 * destination services (routing), and runs before anything is chosen or sent. STRICT mode refuses
 * anonymous callers except on routes marked public; policies decide the rest (policy/authorize.ts).
 * Denials name the deciding policy, never its rules.
 */
import { MeshError } from "@weft/sdk";
import { ANONYMOUS, authorize } from "../policy/authorize.js";
import type { Stage } from "../stage.js";

export function authorizeStage(): Stage {
  return function authorizeRequest(request, next) {
    const rule = request.route?.rule;
    if (!rule) throw new MeshError("internal", "authorization ran before a route was chosen");
    const caller = request.caller ?? ANONYMOUS;
    const mode = request.snapshot.mesh.spec.identity.mode;
    if (mode === "STRICT" && !caller.authenticated && !rule.public) {
      throw new MeshError("unauthenticated", "this mesh is in STRICT mode: calls need a service identity token (Authorization: Bearer <SVID>)");
    }
    // A rule may split across services; the caller must be allowed to reach every one of them.
    for (const destination of rule.destinations) {
      // Policies speak of the destination's paths: match the path it will receive (after rewrite).
      const path = request.upstreamPath ?? request.path;
      const decision = authorize({ policies: request.snapshot.policies.get(destination.service), mode, caller, method: request.method, path });
      if (decision.audited.length > 0) {
        console.log(JSON.stringify({ level: "info", msg: "authorization audit", policies: decision.audited, allowed: decision.allowed, destination: destination.service, source: caller.authenticated ? caller.spiffeId : "anonymous", method: request.method, path, requestId: request.requestId }));
      }
      if (!decision.allowed) {
        const why = "policy" in decision ? `denied by AuthorizationPolicy "${decision.policy}"` : decision.reason === "no-allow-policy-strict" ? "not allowed: no AuthorizationPolicy allows it (STRICT mode)" : "not allowed: no AuthorizationPolicy allows it";
        throw new MeshError("forbidden", `calling ${destination.service} was ${why}`);
      }
    }
    return next(request);
  };
}
