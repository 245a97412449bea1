import { describe, expect, it } from "vitest";
import { AuthorizationPolicyDocument, type AuthorizationPolicyDoc } from "@weft/sdk/config";
import { normalizePath } from "../routing/normalize-path.js";
import { ANONYMOUS, authorize, compilePolicies, type Caller, type IdentityMode } from "./authorize.js";

const policy = (name: string, action: "ALLOW" | "DENY" | "AUDIT", rules: unknown[], target = "orders"): AuthorizationPolicyDoc =>
  AuthorizationPolicyDocument.parse({ apiVersion: "weft/v1", kind: "AuthorizationPolicy", metadata: { name }, spec: { target, action, rules } });

/** How bare service names in `from` resolve: this trust domain, each service's own namespace. */
const IDENTITIES = { trustDomain: "shop.weft", namespaceOf: (service: string) => (service === "billing" ? "finance" : "default") };

const caller = (service: string): Caller => ({ authenticated: true, service, spiffeId: `spiffe://shop.weft/ns/default/sa/${service}` });
const frontend = caller("frontend");
const cart = caller("cart");

function decide(policies: AuthorizationPolicyDoc[], who: Caller, method: string, rawPath: string, mode: IdentityMode = "STRICT") {
  const normalized = normalizePath(rawPath);
  if (!normalized.ok) throw new Error(normalized.reason);
  return authorize({ policies: compilePolicies(policies, IDENTITIES).get("orders"), mode, caller: who, method, path: normalized.path });
}

const allowFrontendReads = policy("frontend-reads", "ALLOW", [{ from: ["frontend"], to: [{ methods: ["GET"], paths: ["/orders/*"] }] }]);
const denyAdmin = policy("no-admin", "DENY", [{ to: [{ paths: ["/admin"] }] }]);
const auditAll = policy("audit-everything", "AUDIT", [{}]);

describe("authorization", () => {
  it.each([
    ["no policy, PERMISSIVE: allowed", [], frontend, "GET", "/x", "PERMISSIVE", true, "no-allow-policy-permissive"],
    ["no policy, STRICT: denied", [], frontend, "GET", "/x", "STRICT", false, "no-allow-policy-strict"],
    ["no policy, PERMISSIVE, anonymous: allowed", [], ANONYMOUS, "GET", "/x", "PERMISSIVE", true, "no-allow-policy-permissive"],
    ["a matching ALLOW by service name", [allowFrontendReads], frontend, "GET", "/orders/42", "STRICT", true, "allowed-by-policy"],
    ["ALLOW with a wildcard path covers the subtree root", [allowFrontendReads], frontend, "GET", "/orders", "STRICT", true, "allowed-by-policy"],
    ["ALLOW for another caller", [allowFrontendReads], cart, "GET", "/orders/42", "STRICT", false, "no-allow-match"],
    ["ALLOW for another method", [allowFrontendReads], frontend, "DELETE", "/orders/42", "STRICT", false, "no-allow-match"],
    ["ALLOW policies exist, PERMISSIVE still needs a match", [allowFrontendReads], cart, "GET", "/orders/1", "PERMISSIVE", false, "no-allow-match"],
    ["ALLOW by SPIFFE ID", [policy("cart", "ALLOW", [{ from: ["spiffe://shop.weft/ns/default/sa/cart"] }])], cart, "POST", "/anything", "STRICT", true, "allowed-by-policy"],
    ["ALLOW * is any authenticated caller, not anonymous", [policy("any", "ALLOW", [{ from: ["*"] }])], ANONYMOUS, "GET", "/x", "PERMISSIVE", false, "no-allow-match"],
    ["ALLOW unauthenticated lets anonymous in", [policy("public", "ALLOW", [{ from: ["unauthenticated"] }])], ANONYMOUS, "GET", "/x", "STRICT", true, "allowed-by-policy"],
    ["an exact path rule", [policy("exact", "ALLOW", [{ to: [{ paths: ["/orders/42"] }] }])], cart, "GET", "/orders/42", "STRICT", true, "allowed-by-policy"],
    ["an exact path rule does not cover a sibling", [policy("exact", "ALLOW", [{ to: [{ paths: ["/orders/42"] }] }])], cart, "GET", "/orders/421", "STRICT", false, "no-allow-match"],
    ["a * path rule", [policy("all-paths", "ALLOW", [{ to: [{ paths: ["*"] }] }])], cart, "GET", "/anything/at/all", "STRICT", true, "allowed-by-policy"],
    ["DENY beats ALLOW", [policy("everyone", "ALLOW", [{ from: ["*"] }]), denyAdmin], frontend, "GET", "/admin", "STRICT", false, "denied-by-policy"],
    ["DENY on /admin blocks //admin", [denyAdmin], frontend, "GET", "//admin", "PERMISSIVE", false, "denied-by-policy"],
    ["DENY on /admin blocks /a/../admin", [denyAdmin], frontend, "GET", "/a/../admin", "PERMISSIVE", false, "denied-by-policy"],
    ["DENY on /admin blocks /%61dmin", [denyAdmin], frontend, "GET", "/%61dmin", "PERMISSIVE", false, "denied-by-policy"],
    ["DENY on /admin blocks /admin/", [denyAdmin], frontend, "GET", "/admin/", "PERMISSIVE", false, "denied-by-policy"],
    ["DENY on /admin leaves /administrator alone", [denyAdmin], frontend, "GET", "/administrator", "PERMISSIVE", true, "no-allow-policy-permissive"],
  ] as const)("%s", (_what, policies, who, method, path, mode, allowed, reason) => {
    const decision = decide([...policies], who, method, path, mode);
    expect([decision.allowed, decision.reason]).toEqual([allowed, reason]);
  });

  it("names the deciding policy", () => {
    expect(decide([allowFrontendReads], frontend, "GET", "/orders/1")).toMatchObject({ policy: "frontend-reads" });
    expect(decide([denyAdmin], frontend, "GET", "/admin", "PERMISSIVE")).toMatchObject({ policy: "no-admin" });
  });

  it("lets AUDIT report without changing any decision", () => {
    for (const [policies, mode] of [
      [[], "PERMISSIVE"],
      [[], "STRICT"],
      [[allowFrontendReads], "STRICT"],
      [[denyAdmin], "PERMISSIVE"],
    ] as const) {
      for (const [who, path] of [
        [frontend, "/orders/1"],
        [cart, "/admin"],
      ] as const) {
        const without = decide([...policies], who, "GET", path, mode);
        const withAudit = decide([...policies, auditAll], who, "GET", path, mode);
        expect(withAudit.allowed).toBe(without.allowed);
        expect(withAudit.reason).toBe(without.reason);
        expect(withAudit.audited).toEqual(["audit-everything"]);
      }
    }
  });

  it("applies a policy only to its target", () => {
    const other = policy("other-target", "DENY", [{}], "catalog");
    expect(decide([other], frontend, "GET", "/x", "PERMISSIVE").allowed).toBe(true);
  });
});

describe("caller identities", () => {
  const allowFrontend = policy("frontend", "ALLOW", [{ from: ["frontend"] }]);
  const allowBilling = policy("billing", "ALLOW", [{ from: ["billing"] }]);
  const as = (spiffeId: string, service: string): Caller => ({ authenticated: true, service, spiffeId });

  it.each([
    ["frontend of the default namespace matches frontend", allowFrontend, as("spiffe://shop.weft/ns/default/sa/frontend", "frontend"), true],
    ["frontend of another namespace does not", allowFrontend, as("spiffe://shop.weft/ns/evil/sa/frontend", "frontend"), false],
    ["frontend of another trust domain does not", allowFrontend, as("spiffe://other.weft/ns/default/sa/frontend", "frontend"), false],
    ["a service's bare name means its own namespace", allowBilling, as("spiffe://shop.weft/ns/finance/sa/billing", "billing"), true],
    ["and not the default one", allowBilling, as("spiffe://shop.weft/ns/default/sa/billing", "billing"), false],
  ])("%s", (_name, which, who, allowed) => {
    const decision = authorize({ policies: compilePolicies([which], IDENTITIES).get("orders"), mode: "STRICT", caller: who, method: "GET", path: "/x" });
    expect(decision.allowed).toBe(allowed);
  });
});
