/**
 * Who explain assumes is calling, and what the authenticate stage decides about it. The caller
 * comes from the body's "from" (explain holds no token): anonymous, or a service that presents a
 * valid SVID. The stage's own decision (identity/decide-identity.ts) then refuses a token in the
 * URL, as it would for the real request.
 */
import { formatSpiffeId, identityInTrustDomain, isServiceName, parseSpiffeId } from "@weft/sdk";
import { CONFIG_DEFAULTS } from "@weft/sdk/config";
import { callerOf, decideIdentity, identityRefusal } from "../identity/decide-identity.js";
import { ANONYMOUS, type Caller } from "../policy/authorize.js";
import type { Snapshot } from "../routing/snapshot.js";
import type { Parsed, Refusal } from "./request.js";

export type CallerView = { readonly kind: "anonymous" } | { readonly kind: "service"; readonly service: string; readonly spiffeId: string };

/**
 * The caller the explanation assumes: anonymous, or the service that presents a valid SVID
 * (`spiffe://<trustDomain>/ns/<namespace>/sa/<service>`, the namespace the Service declares, else
 * the default). A SPIFFE ID must be in the mesh's trust domain, as SVID verification requires.
 */
export function callerFrom(snapshot: Snapshot, from: string | undefined): Parsed<Caller> {
  if (from === undefined || from === "anonymous") return { ok: true, value: ANONYMOUS };
  const trustDomain = snapshot.mesh.spec.trustDomain;
  if (parseSpiffeId(from)) {
    const identity = identityInTrustDomain(from, trustDomain);
    if (!identity) return { ok: false, message: `"from": ${from} is not in this mesh's trust domain "${trustDomain}"; the gateway would refuse its token (401)` };
    return { ok: true, value: callerOf(identity) };
  }
  if (!isServiceName(from)) return { ok: false, message: '"from" must be a service name (lowercase letters, digits and -), a SPIFFE ID, or "anonymous"' };
  const namespace = snapshot.services.get(from)?.namespace ?? CONFIG_DEFAULTS.namespace;
  return { ok: true, value: callerOf({ service: from, spiffeId: formatSpiffeId({ trustDomain, namespace, service: from }) }) };
}

/** Stands for the valid SVID an authenticated caller is assumed to present. */
const ASSUMED_VALID_SVID = { token: "<the caller's SVID>" } as const;

/** The authenticate stage's refusal of this request from `caller`, if it refuses it. */
export function identityRefusalFor(query: URLSearchParams, caller: Caller): Refusal | undefined {
  const decision = decideIdentity(query, caller.authenticated ? ASSUMED_VALID_SVID : undefined);
  if (decision.kind !== "refused") return undefined;
  const error = identityRefusal(decision.failure);
  return { stage: "authenticate", code: error.code, status: error.status, message: error.message };
}

export function callerView(caller: Caller): CallerView {
  return caller.authenticated ? { kind: "service", service: caller.service, spiffeId: caller.spiffeId } : { kind: "anonymous" };
}

export function callerLabel(caller: Caller): string {
  return caller.authenticated ? `${caller.service} (${caller.spiffeId})` : "anonymous";
}
