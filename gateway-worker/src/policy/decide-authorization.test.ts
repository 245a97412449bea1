/** The authorize stage's verdict for a routed request: the identity check, then one decision per destination service. */
import { describe, expect, it } from "vitest";
import type { CompiledRule, Snapshot } from "../routing/snapshot.js";
import { serviceDoc, snapshotOf } from "../routing/test-support.js";
import { ANONYMOUS, type AuthorizationDecision, type Caller } from "./authorize.js";
import { authorizationError, decideAuthorization, identityCheckOf, type AuthorizationVerdict } from "./decide-authorization.js";

const caller = (service: string): Caller => ({ authenticated: true, service, spiffeId: `spiffe://shop.weft/ns/default/sa/${service}` });
const policy = (name: string, target: string, action: "ALLOW" | "DENY" | "AUDIT", rules: unknown[]) => ({ apiVersion: "weft/v1", kind: "AuthorizationPolicy", metadata: { name }, spec: { target, action, rules } });

function mesh(mode: "STRICT" | "PERMISSIVE"): Snapshot {
  return snapshotOf([
    { apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "shop" }, spec: { trustDomain: "shop.weft", identity: { mode } } },
    serviceDoc("orders", ["v1", "v2"]),
    serviceDoc("billing"),
    serviceDoc("open"),
    {
      apiVersion: "weft/v1",
      kind: "Route",
      metadata: { name: "shop" },
      spec: {
        hosts: ["shop.example"],
        http: [
          { name: "canary", match: [{ path: { prefix: "/orders" } }], destinations: [{ service: "orders", subset: "v1", weight: 90 }, { service: "orders", subset: "v2", weight: 10 }] },
          { name: "both", match: [{ path: { prefix: "/pay" } }], destinations: [{ service: "orders", weight: 50 }, { service: "billing", weight: 50 }] },
          { name: "open", destinations: [{ service: "open" }] },
        ],
      },
    },
    {
      apiVersion: "weft/v1",
      kind: "Route",
      metadata: { name: "public-shop" },
      spec: { hosts: ["public.example"], public: true, http: [{ name: "public-orders", destinations: [{ service: "orders" }] }] },
    },
    policy("orders-from-frontend", "orders", "ALLOW", [{ from: ["frontend"] }, { from: ["unauthenticated"], to: [{ methods: ["GET"] }] }]),
    policy("orders-no-admin", "orders", "DENY", [{ to: [{ paths: ["/admin/*"] }] }]),
    policy("billing-from-frontend", "billing", "ALLOW", [{ from: ["frontend"] }]),
    policy("billing-audit", "billing", "AUDIT", [{}]),
  ]);
}
const strict = mesh("STRICT");
const permissive = mesh("PERMISSIVE");
const ruleNamed = (snapshot: Snapshot, name: string): CompiledRule => {
  for (const table of [...snapshot.hosts.values()]) {
    for (const entries of [...table.prefixes.values(), table.unindexed]) for (const entry of entries) if (entry.rule.ruleName === name) return entry.rule;
  }
  throw new Error(`no rule ${name}`);
};

/** The verdict in a comparable form: kind, identity check, each service's reason and policy, the refusal. */
function verdictOf(snapshot: Snapshot, ruleName: string, who: Caller, method: string, path: string): unknown {
  const rule = ruleNamed(snapshot, ruleName);
  const decisions: AuthorizationDecision[] = [];
  const verdict: AuthorizationVerdict = decideAuthorization(snapshot.policies, snapshot.mesh.spec.identity.mode, rule, who, method, path, decisions);
  const error = verdict.kind === "allowed" ? undefined : authorizationError(verdict);
  return {
    kind: verdict.kind,
    identityCheck: verdict.identityCheck,
    denied: verdict.kind === "denied" ? [verdict.index, verdict.service, verdict.decision === decisions[verdict.index]] : undefined,
    decisions: decisions.map((d, i) => [rule.services[i], d.reason, "policy" in d ? d.policy : null, d.audited]),
    error: error && [error.status, error.code, error.message],
  };
}

const frontend = caller("frontend");
const cart = caller("cart");

describe("the authorization verdict", () => {
  it.each([
    [
      "STRICT refuses an anonymous caller on a non-public route before reading any policy",
      strict, "canary", ANONYMOUS, "GET", "/orders/1",
      { kind: "unauthenticated", identityCheck: "anonymous-refused-strict", denied: undefined, decisions: [], error: [401, "unauthenticated", "this mesh is in STRICT mode: calls need a service identity token (Authorization: Bearer <SVID>)"] },
    ],
    [
      "a public route lets an anonymous caller reach the policies, even in STRICT mode",
      strict, "public-orders", ANONYMOUS, "GET", "/orders/1",
      { kind: "allowed", identityCheck: "anonymous-public-route", denied: undefined, decisions: [["orders", "allowed-by-policy", "orders-from-frontend", []]], error: undefined },
    ],
    [
      "an ALLOW policy names the caller",
      strict, "canary", frontend, "POST", "/orders/1",
      { kind: "allowed", identityCheck: "authenticated", denied: undefined, decisions: [["orders", "allowed-by-policy", "orders-from-frontend", []]], error: undefined },
    ],
    [
      "no ALLOW policy matches the caller",
      strict, "canary", cart, "GET", "/orders/1",
      { kind: "denied", identityCheck: "authenticated", denied: [0, "orders", true], decisions: [["orders", "no-allow-match", null, []]], error: [403, "forbidden", "calling orders was not allowed: no AuthorizationPolicy allows it"] },
    ],
    [
      "a DENY policy, named in the answer",
      strict, "canary", frontend, "GET", "/admin/keys",
      { kind: "denied", identityCheck: "authenticated", denied: [0, "orders", true], decisions: [["orders", "denied-by-policy", "orders-no-admin", []]], error: [403, "forbidden", 'calling orders was denied by AuthorizationPolicy "orders-no-admin"'] },
    ],
    [
      "a service without ALLOW policies in STRICT mode",
      strict, "open", frontend, "GET", "/x",
      { kind: "denied", identityCheck: "authenticated", denied: [0, "open", true], decisions: [["open", "no-allow-policy-strict", null, []]], error: [403, "forbidden", "calling open was not allowed: no AuthorizationPolicy allows it (STRICT mode)"] },
    ],
    [
      "a service without ALLOW policies in PERMISSIVE mode, anonymous",
      permissive, "open", ANONYMOUS, "DELETE", "/x",
      { kind: "allowed", identityCheck: "anonymous-permissive", denied: undefined, decisions: [["open", "no-allow-policy-permissive", null, []]], error: undefined },
    ],
    [
      "every service of a split is judged, each once; the first refusal is the answer",
      strict, "both", cart, "GET", "/pay",
      {
        kind: "denied",
        identityCheck: "authenticated",
        denied: [0, "orders", true],
        decisions: [["orders", "no-allow-match", null, []], ["billing", "no-allow-match", null, ["billing-audit"]]],
        error: [403, "forbidden", "calling orders was not allowed: no AuthorizationPolicy allows it"],
      },
    ],
    [
      "a split the caller may reach everywhere, with the AUDIT match reported",
      strict, "both", frontend, "GET", "/pay",
      { kind: "allowed", identityCheck: "authenticated", denied: undefined, decisions: [["orders", "allowed-by-policy", "orders-from-frontend", []], ["billing", "allowed-by-policy", "billing-from-frontend", ["billing-audit"]]], error: undefined },
    ],
  ] as const)("%s", (_what, snapshot, rule, who, method, path, expected) => {
    expect(verdictOf(snapshot, rule, who, method, path)).toEqual(expected);
  });

  it("names the first service refused, after one it may reach", () => {
    const rule = ruleNamed(strict, "both");
    const billingOnly = { ...rule, services: ["billing", "orders"] };
    const verdict = decideAuthorization(strict.policies, "STRICT", billingOnly, frontend, "GET", "/admin/x");
    expect(verdict).toMatchObject({ kind: "denied", index: 1, service: "orders", decision: { reason: "denied-by-policy", policy: "orders-no-admin" } });
  });

  it("allocates no verdict for an allowed request: the same object every time", () => {
    const rule = ruleNamed(permissive, "open");
    expect(decideAuthorization(permissive.policies, "PERMISSIVE", rule, ANONYMOUS, "GET", "/a")).toBe(decideAuthorization(permissive.policies, "PERMISSIVE", rule, ANONYMOUS, "PUT", "/b"));
  });

  it("checks a service that two subsets of one split share only once", () => {
    expect(ruleNamed(strict, "canary").services).toEqual(["orders"]);
    expect(ruleNamed(strict, "both").services).toEqual(["orders", "billing"]);
  });

  it.each([
    ["STRICT", frontend, false, "authenticated"],
    ["PERMISSIVE", ANONYMOUS, false, "anonymous-permissive"],
    ["STRICT", ANONYMOUS, true, "anonymous-public-route"],
    ["STRICT", ANONYMOUS, false, "anonymous-refused-strict"],
  ] as const)("identity check: %s, %o, public %s → %s", (mode, who, isPublic, expected) => {
    expect(identityCheckOf(mode, who, isPublic)).toBe(expected);
  });
});
