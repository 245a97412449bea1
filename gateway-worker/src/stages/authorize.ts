/**
 * Authorization: may this caller call this destination? Needs the caller (authentication) and the
 * destination services (routing), and runs before anything is chosen or sent. The decision is
 * policy/decide-authorization.ts (STRICT mode refuses anonymous callers except on routes marked
 * public; policies decide the rest); this stage executes it: audit log lines, then 401 or 403.
 * Denials name the deciding policy, never its rules.
 */
import { MeshError } from "@weft/sdk";
import { ANONYMOUS, callerSource, type AuthorizationDecision } from "../policy/authorize.js";
import { authorizationError, decideAuthorization } from "../policy/decide-authorization.js";
import type { Stage } from "../stage.js";

export function authorizeStage(): Stage {
  // Each service's decision, for the audit log: refilled per request and read before `next`, so one list serves every request.
  const judged: AuthorizationDecision[] = [];
  return function authorizeRequest(request, next) {
    const rule = request.route?.rule;
    if (!rule) throw new MeshError("internal", "authorization ran before a route was chosen");
    const caller = request.caller ?? ANONYMOUS;
    // Policies speak of the destination's paths: match the path it will receive (after rewrite).
    const path = request.upstreamPath ?? request.path;
    const verdict = decideAuthorization(request.snapshot.policies, request.snapshot.mesh.spec.identity.mode, rule, caller, request.method, path, judged);
    if (verdict.kind === "unauthenticated") throw authorizationError(verdict);
    // Audit matches are logged for the services judged up to the first denial, as the check would stop there.
    const last = verdict.kind === "denied" ? verdict.index : rule.services.length - 1;
    for (let i = 0; i <= last; i++) {
      const decision = judged[i];
      if (decision && decision.audited.length > 0) {
        console.log(JSON.stringify({ level: "info", msg: "authorization audit", policies: decision.audited, allowed: decision.allowed, destination: rule.services[i], source: callerSource(caller), method: request.method, path, requestId: request.requestId }));
      }
    }
    if (verdict.kind === "denied") throw authorizationError(verdict);
    return next(request);
  };
}
