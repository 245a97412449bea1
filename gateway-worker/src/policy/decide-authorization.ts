/**
 * The authorize stage's decision for one routed request, pure: STRICT mode refuses anonymous
 * callers except on public routes (before any policy is read); then every service the rule may
 * split to is checked once (policy/authorize.ts, Istio's order), on the path the destination
 * receives. The stage executes it (401/403, audit log lines); explain reports it.
 */
import { MeshError } from "@weft/sdk";
import type { CompiledRule } from "../routing/snapshot.js";
import { authorize, type AuthorizationDecision, type Caller, type IdentityMode, type TargetPolicies } from "./authorize.js";

/**
 * How the caller's identity fares before policies: a service identity, an anonymous caller that
 * PERMISSIVE mode or a public route lets through, or an anonymous caller STRICT mode refuses.
 */
export type IdentityCheck = "authenticated" | "anonymous-permissive" | "anonymous-public-route" | "anonymous-refused-strict";

type PassedIdentityCheck = Exclude<IdentityCheck, "anonymous-refused-strict">;

export type AuthorizationVerdict =
  | { readonly kind: "unauthenticated"; readonly identityCheck: "anonymous-refused-strict" }
  | { readonly kind: "allowed"; readonly identityCheck: PassedIdentityCheck }
  | {
      readonly kind: "denied";
      readonly identityCheck: PassedIdentityCheck;
      /** Index in `rule.services` of the first service the caller may not reach, and its decision. */
      readonly index: number;
      readonly service: string;
      readonly decision: Extract<AuthorizationDecision, { allowed: false }>;
    };

/** The verdicts that name nothing are the same object every time: an allowed request allocates no verdict. */
const UNAUTHENTICATED: AuthorizationVerdict = Object.freeze({ kind: "unauthenticated", identityCheck: "anonymous-refused-strict" });
const ALLOWED: Readonly<Record<PassedIdentityCheck, AuthorizationVerdict>> = {
  authenticated: Object.freeze({ kind: "allowed", identityCheck: "authenticated" }),
  "anonymous-permissive": Object.freeze({ kind: "allowed", identityCheck: "anonymous-permissive" }),
  "anonymous-public-route": Object.freeze({ kind: "allowed", identityCheck: "anonymous-public-route" }),
};

export function identityCheckOf(mode: IdentityMode, caller: Caller, publicRoute: boolean): IdentityCheck {
  if (caller.authenticated) return "authenticated";
  if (mode === "PERMISSIVE") return "anonymous-permissive";
  return publicRoute ? "anonymous-public-route" : "anonymous-refused-strict";
}

/**
 * Whether `caller` may send `method path` (the upstream path, after the rewrite) through `rule`.
 * Every service of the rule is judged, in `rule.services` order, even after a denial; each
 * decision goes into `decisions` when one is given (explain reports them all, the stage logs the
 * audited ones), so the verdict itself stays small.
 */
export function decideAuthorization(
  policies: ReadonlyMap<string, TargetPolicies>,
  mode: IdentityMode,
  rule: CompiledRule,
  caller: Caller,
  method: string,
  path: string,
  decisions?: AuthorizationDecision[],
): AuthorizationVerdict {
  const identityCheck = identityCheckOf(mode, caller, rule.public);
  if (identityCheck === "anonymous-refused-strict") return UNAUTHENTICATED;
  // A rule may split across services; the caller must be allowed to reach every one of them.
  const services = rule.services;
  let denied: AuthorizationVerdict | undefined;
  for (let i = 0; i < services.length; i++) {
    const service = services[i] as string;
    const decision = authorize({ policies: policies.get(service), mode, caller, method, path });
    if (decisions) decisions[i] = decision;
    if (!denied && !decision.allowed) denied = { kind: "denied", identityCheck, index: i, service, decision };
  }
  return denied ?? ALLOWED[identityCheck];
}

/** The mesh's answer to a refused verdict: 401 for the identity check, 403 naming the service (and the deciding policy, never its rules). */
export function authorizationError(verdict: Exclude<AuthorizationVerdict, { kind: "allowed" }>): MeshError {
  if (verdict.kind === "unauthenticated") {
    return new MeshError("unauthenticated", "this mesh is in STRICT mode: calls need a service identity token (Authorization: Bearer <SVID>)");
  }
  const decision = verdict.decision;
  const why =
    "policy" in decision
      ? `denied by AuthorizationPolicy "${decision.policy}"`
      : decision.reason === "no-allow-policy-strict"
        ? "not allowed: no AuthorizationPolicy allows it (STRICT mode)"
        : "not allowed: no AuthorizationPolicy allows it";
  return new MeshError("forbidden", `calling ${verdict.service} was ${why}`);
}
