/**
 * Authorization decisions, Istio's order (docs/architecture.md#authorization-order): a matching DENY denies; with no ALLOW
 * policy for the target, PERMISSIVE allows and STRICT denies; a matching ALLOW allows; otherwise
 * deny. AUDIT policies never change the decision; their matches are reported for logging.
 * Pure: policies are compiled once per config version; the decision takes the caller, method and
 * the already-normalized path.
 */
import { formatSpiffeId } from "@weft/sdk";
import type { AuthorizationPolicyDoc } from "@weft/sdk/config";

export type Caller = { readonly authenticated: false } | { readonly authenticated: true; readonly service: string; readonly spiffeId: string };

export const ANONYMOUS: Caller = { authenticated: false };

/** Who a caller is in logs and rate-limit keys: its SPIFFE ID, or "anonymous". */
export function callerSource(caller: Caller): string {
  return caller.authenticated ? caller.spiffeId : "anonymous";
}

/** A bare service name in `from` is resolved to its full SPIFFE ID when policies compile. */
type SourceMatcher = { readonly kind: "any-authenticated" } | { readonly kind: "unauthenticated" } | { readonly kind: "spiffe"; readonly id: string };

/** How bare service names in a policy's `from` become identities: this mesh's trust domain and the namespace each Service declares. */
export interface PolicyIdentities {
  readonly trustDomain: string;
  /** The namespace of the Service with this name (the default namespace when there is none). */
  namespaceOf(service: string): string;
}

type PathPattern = { readonly kind: "any" } | { readonly kind: "exact"; readonly path: string } | { readonly kind: "prefix"; readonly prefix: string };

interface CompiledOperation {
  readonly methods: ReadonlySet<string> | undefined;
  readonly paths: readonly PathPattern[] | undefined;
}

interface CompiledAuthorizationRule {
  readonly from: readonly SourceMatcher[] | undefined;
  readonly to: readonly CompiledOperation[] | undefined;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly rules: readonly CompiledAuthorizationRule[];
}

/** The policies protecting one service, by action. */
export interface TargetPolicies {
  readonly allow: readonly CompiledPolicy[];
  readonly deny: readonly CompiledPolicy[];
  readonly audit: readonly CompiledPolicy[];
}

export type IdentityMode = "STRICT" | "PERMISSIVE";

export interface AuthorizationRequest {
  readonly policies: TargetPolicies | undefined;
  readonly mode: IdentityMode;
  readonly caller: Caller;
  readonly method: string;
  /** Normalized request path. */
  readonly path: string;
}

export type AuthorizationDecision =
  | { readonly allowed: true; readonly reason: "allowed-by-policy"; readonly policy: string; readonly audited: readonly string[] }
  | { readonly allowed: true; readonly reason: "no-allow-policy-permissive"; readonly audited: readonly string[] }
  | { readonly allowed: false; readonly reason: "denied-by-policy"; readonly policy: string; readonly audited: readonly string[] }
  | { readonly allowed: false; readonly reason: "no-allow-policy-strict" | "no-allow-match"; readonly audited: readonly string[] };

export function compilePolicies(policies: readonly AuthorizationPolicyDoc[], identities: PolicyIdentities): Map<string, TargetPolicies> {
  const byTarget = new Map<string, { allow: CompiledPolicy[]; deny: CompiledPolicy[]; audit: CompiledPolicy[] }>();
  for (const policy of policies) {
    let entry = byTarget.get(policy.spec.target);
    if (!entry) byTarget.set(policy.spec.target, (entry = { allow: [], deny: [], audit: [] }));
    const compiled: CompiledPolicy = {
      name: policy.metadata.name,
      rules: policy.spec.rules.map((rule) => ({
        from: rule.from?.map((source) => compileSource(source, identities)),
        to: rule.to?.map((operation) => ({ methods: operation.methods ? new Set(operation.methods) : undefined, paths: operation.paths?.map(compilePathPattern) })),
      })),
    };
    entry[policy.spec.action === "ALLOW" ? "allow" : policy.spec.action === "DENY" ? "deny" : "audit"].push(compiled);
  }
  return byTarget;
}

/**
 * Identities match in full (trust domain, namespace, service): `frontend` means the frontend the
 * mesh knows, in the namespace its Service declares, never a same-named service elsewhere.
 */
function compileSource(source: string, identities: PolicyIdentities): SourceMatcher {
  if (source === "*") return { kind: "any-authenticated" };
  if (source === "unauthenticated") return { kind: "unauthenticated" };
  if (source.startsWith("spiffe://")) return { kind: "spiffe", id: source };
  return { kind: "spiffe", id: formatSpiffeId({ trustDomain: identities.trustDomain, namespace: identities.namespaceOf(source), service: source }) };
}

/** `*` any path; `/x/*` the subtree under /x (and /x itself); anything else exact (a trailing slash is ignored). */
function compilePathPattern(pattern: string): PathPattern {
  if (pattern === "*") return { kind: "any" };
  if (pattern.endsWith("/*")) return { kind: "prefix", prefix: pattern.slice(0, -1) };
  return { kind: "exact", path: withoutTrailingSlash(pattern) };
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function sourceMatches(matcher: SourceMatcher, caller: Caller): boolean {
  switch (matcher.kind) {
    case "any-authenticated":
      return caller.authenticated;
    case "unauthenticated":
      return !caller.authenticated;
    case "spiffe":
      return caller.authenticated && caller.spiffeId === matcher.id;
  }
}

function pathMatches(pattern: PathPattern, path: string): boolean {
  switch (pattern.kind) {
    case "any":
      return true;
    case "exact":
      return withoutTrailingSlash(path) === pattern.path;
    case "prefix":
      return path.startsWith(pattern.prefix) || path === pattern.prefix.slice(0, -1);
  }
}

function ruleMatches(rule: CompiledAuthorizationRule, request: AuthorizationRequest): boolean {
  if (rule.from && !rule.from.some((matcher) => sourceMatches(matcher, request.caller))) return false;
  if (!rule.to) return true;
  return rule.to.some(
    (operation) => (!operation.methods || operation.methods.has(request.method)) && (!operation.paths || operation.paths.some((pattern) => pathMatches(pattern, request.path))),
  );
}

function firstMatching(policies: readonly CompiledPolicy[], request: AuthorizationRequest): CompiledPolicy | undefined {
  return policies.find((policy) => policy.rules.some((rule) => ruleMatches(rule, request)));
}

const NOTHING_AUDITED: readonly string[] = Object.freeze([]);
/** The decisions without a policy name or audit match are the same object every time: nothing to allocate per request. */
const NO_ALLOW_POLICY_PERMISSIVE: AuthorizationDecision = Object.freeze({ allowed: true, reason: "no-allow-policy-permissive", audited: NOTHING_AUDITED });
const NO_ALLOW_POLICY_STRICT: AuthorizationDecision = Object.freeze({ allowed: false, reason: "no-allow-policy-strict", audited: NOTHING_AUDITED });

function auditedBy(policies: TargetPolicies, request: AuthorizationRequest): readonly string[] {
  if (policies.audit.length === 0) return NOTHING_AUDITED;
  const audited = policies.audit.filter((policy) => policy.rules.some((rule) => ruleMatches(rule, request))).map((policy) => policy.name);
  return audited.length === 0 ? NOTHING_AUDITED : audited;
}

export function authorize(request: AuthorizationRequest): AuthorizationDecision {
  const policies = request.policies;
  const audited = policies ? auditedBy(policies, request) : NOTHING_AUDITED;
  const denied = policies && firstMatching(policies.deny, request);
  if (denied) return { allowed: false, reason: "denied-by-policy", policy: denied.name, audited };
  if (!policies || policies.allow.length === 0) {
    if (audited.length > 0) {
      return request.mode === "PERMISSIVE" ? { allowed: true, reason: "no-allow-policy-permissive", audited } : { allowed: false, reason: "no-allow-policy-strict", audited };
    }
    return request.mode === "PERMISSIVE" ? NO_ALLOW_POLICY_PERMISSIVE : NO_ALLOW_POLICY_STRICT;
  }
  const allowed = firstMatching(policies.allow, request);
  return allowed ? { allowed: true, reason: "allowed-by-policy", policy: allowed.name, audited } : { allowed: false, reason: "no-allow-match", audited };
}
