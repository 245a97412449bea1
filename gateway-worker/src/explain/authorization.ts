/**
 * The authorization step of an explanation: the authorize stage's own verdict
 * (decideAuthorization: the identity check, then one decision per destination service), with the
 * policies each decision was made against and a sentence for people.
 */
import type { MeshErrorCode } from "@weft/sdk";
import type { AuthorizationDecision, Caller, IdentityMode } from "../policy/authorize.js";
import { authorizationError, decideAuthorization, type AuthorizationVerdict, type IdentityCheck } from "../policy/decide-authorization.js";
import type { CompiledRule, Snapshot } from "../routing/snapshot.js";
import { callerView, type CallerView } from "./identity.js";

export type { IdentityCheck };

export interface AuthorizationView {
  readonly mode: IdentityMode;
  readonly caller: CallerView;
  readonly publicRoute: boolean;
  /** STRICT mode refuses anonymous callers before reading any policy, except on public routes. */
  readonly identityCheck: IdentityCheck;
  /** The path policies match: the one the destination receives. */
  readonly path: string;
  /** One per destination service (empty when the identity check refused the call). */
  readonly decisions: readonly AuthorizationDecisionView[];
  readonly allowed: boolean;
  readonly note: string | null;
}

export interface AuthorizationDecisionView {
  readonly service: string;
  readonly allowed: boolean;
  readonly reason: AuthorizationDecision["reason"];
  /** The deciding policy (allowed-by-policy, denied-by-policy); null otherwise. */
  readonly policy: string | null;
  /** ALLOW policies that target the service (for no-allow-match: the ones that did not match). */
  readonly allowPolicies: readonly string[];
  readonly audited: readonly string[];
  readonly explanation: string;
}

export interface AuthorizationStep {
  /** The authorize stage's verdict, as the stage reaches it. */
  readonly verdict: AuthorizationVerdict;
  readonly view: AuthorizationView;
  readonly line: string;
  /** The mesh's answer when the verdict refuses the request; null when it allows it. */
  readonly refusal: { readonly status: number; readonly code: MeshErrorCode; readonly message: string } | null;
}

/** The authorize stage's verdict for `caller` sending `method path` (the upstream path) through `rule`. */
export function authorizationStep(snapshot: Snapshot, rule: CompiledRule, caller: Caller, method: string, path: string): AuthorizationStep {
  const mode = snapshot.mesh.spec.identity.mode;
  const judged: AuthorizationDecision[] = [];
  const verdict = decideAuthorization(snapshot.policies, mode, rule, caller, method, path, judged);
  const note = rule.public ? `route ${rule.routeName} is public: anonymous callers pass the identity check even in STRICT mode (policies still apply)` : null;
  const decisions = judged.map((decision, i): AuthorizationDecisionView => {
          const service = rule.services[i] as string;
          const allowPolicies = snapshot.policies.get(service)?.allow.map((policy) => policy.name) ?? [];
          return {
            service,
            allowed: decision.allowed,
            reason: decision.reason,
            policy: "policy" in decision ? decision.policy : null,
            allowPolicies,
            audited: [...decision.audited],
            explanation: decisionText(decision, service, mode, allowPolicies),
          };
  });
  const view: AuthorizationView = {
    mode,
    caller: callerView(caller),
    publicRoute: rule.public,
    identityCheck: verdict.identityCheck,
    path,
    decisions,
    allowed: verdict.kind === "allowed",
    note,
  };
  return { verdict, view, line: authorizationLine(view), refusal: refusalOf(verdict, view) };
}

function refusalOf(verdict: AuthorizationVerdict, view: AuthorizationView): AuthorizationStep["refusal"] {
  if (verdict.kind === "allowed") return null;
  const error = authorizationError(verdict);
  if (verdict.kind === "unauthenticated") return { status: error.status, code: error.code, message: error.message };
  // A denial is told in explain's own words (naming the policies it was checked against); the
  // status and code are the stage's.
  const denied = view.decisions[verdict.index] as AuthorizationDecisionView;
  return { status: error.status, code: error.code, message: `calling ${denied.service} was ${denied.explanation}` };
}

function decisionText(decision: AuthorizationDecision, service: string, mode: IdentityMode, allowPolicies: readonly string[]): string {
  switch (decision.reason) {
    case "allowed-by-policy":
      return `allowed by AuthorizationPolicy "${decision.policy}"`;
    case "no-allow-policy-permissive":
      return `allowed: no ALLOW policy targets ${service} and the mesh is ${mode}`;
    case "denied-by-policy":
      return `denied by AuthorizationPolicy "${decision.policy}" (DENY)`;
    case "no-allow-policy-strict":
      return `denied: no ALLOW policy targets ${service} (STRICT mode)`;
    case "no-allow-match":
      return `denied: none of the ALLOW policies for ${service} matches (${allowPolicies.map((name) => `"${name}"`).join(", ")})`;
  }
}

function authorizationLine(view: AuthorizationView): string {
  const who = view.caller.kind === "anonymous" ? "anonymous" : view.caller.service;
  const head = `authorization: ${view.mode} mode, caller ${who}${view.publicRoute ? ", public route" : ""}`;
  if (view.identityCheck === "anonymous-refused-strict") return `${head}: refused: STRICT mode needs a service identity on a non-public route`;
  return `${head}; ${view.decisions.map((d) => `${d.service}: ${d.explanation}`).join("; ")}`;
}
