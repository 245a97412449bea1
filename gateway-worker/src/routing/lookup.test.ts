import { describe, expect, it } from "vitest";
import { findRoute, rewritePath } from "./lookup.js";
import { facts, manyRoutes, serviceDoc, snapshotOf } from "./test-support.js";

const route = (name: string, hosts: string[], http: unknown[]) => ({ apiVersion: "weft/v1", kind: "Route", metadata: { name }, spec: { hosts, http } });

const snapshot = snapshotOf([
  serviceDoc("api", ["v1", "v2"]),
  serviceDoc("web"),
  serviceDoc("lonely"),
  route("api-mesh", ["api.mesh"], [
    { name: "canary-header", match: [{ headers: { "x-canary": { exact: "1" } } }], destinations: [{ service: "api", subset: "v2" }] },
    { name: "beta-query", match: [{ query: { beta: { present: true } } }], destinations: [{ service: "api", subset: "v2" }] },
    { name: "rest", destinations: [{ service: "api", subset: "v1" }] },
  ]),
  route("edge", ["shop.example.com", "*.shop.example"], [
    { name: "health", match: [{ path: { exact: "/health" } }], destinations: [{ service: "web" }] },
    { name: "api-post", match: [{ path: { prefix: "/api/" }, method: ["POST", "PUT"] }], rewrite: { prefix: "/" }, destinations: [{ service: "api", subset: "v2" }] },
    { name: "api", match: [{ path: { prefix: "/api/" } }], rewrite: { prefix: "/" }, destinations: [{ service: "api", subset: "v1" }] },
    { name: "api-v", match: [{ path: { prefix: "/api/v" } }], destinations: [{ service: "api", subset: "v2" }] },
    { name: "ids", match: [{ path: { regex: "/items/[0-9]+" } }], destinations: [{ service: "web" }] },
    { name: "prefixed-header", match: [{ path: { prefix: "/h" }, headers: { "x-tier": { prefix: "gold" } } }], destinations: [{ service: "web" }] },
  ]),
  route("catch-all", ["*"], [{ name: "web", destinations: [{ service: "web" }] }]),
]);

describe("route lookup", () => {
  it.each([
    ["a header rule", "http://api.mesh/x", { headers: { "x-canary": "1" } }, "api-mesh", "canary-header"],
    ["a header rule with another value falls through", "http://api.mesh/x", { headers: { "x-canary": "0" } }, "api-mesh", "rest"],
    ["a query-presence rule", "http://api.mesh/x?beta", {}, "api-mesh", "beta-query"],
    ["the mesh host with no condition", "http://api.mesh/anything", {}, "api-mesh", "rest"],
    ["an exact path", "http://shop.example.com/health", {}, "edge", "health"],
    ["first rule wins when a method matches", "http://shop.example.com/api/v1/x", { method: "POST" }, "edge", "api-post"],
    ["an earlier prefix wins over a longer later prefix", "http://shop.example.com/api/v1/x", {}, "edge", "api"],
    ["an anchored regex", "http://shop.example.com/items/42", {}, "edge", "ids"],
    ["a wildcard host", "http://eu.shop.example/health", {}, "edge", "health"],
    ["a header prefix condition", "http://shop.example.com/hello", { headers: { "x-tier": "gold-plus" } }, "edge", "prefixed-header"],
    ["any other host falls to *", "http://other.example/", {}, "catch-all", "web"],
    ["a host is matched case-insensitively", "http://SHOP.example.com/health", {}, "edge", "health"],
  ])("finds %s", (_what, url, init, routeName, ruleName) => {
    const result = findRoute(snapshot, facts(url, init));
    expect(result.found).toBe(true);
    if (!result.found) return;
    expect([result.route.rule.routeName, result.route.rule.ruleName]).toEqual([routeName, ruleName]);
  });

  it("serves a service's mesh host without a Route, across all its endpoints", () => {
    const result = findRoute(snapshot, facts("http://lonely.mesh/x"));
    expect(result.found && result.route.rule.destinations).toEqual([expect.objectContaining({ service: "lonely", subset: undefined, weight: 100 })]);
  });

  it("does not send an unknown mesh host to the * ingress route", () => {
    expect(findRoute(snapshot, facts("http://ghost.mesh/x"))).toEqual({ found: false, reason: "no_host", hostKind: "mesh" });
  });

  it.each([
    ["an exact path does not match a longer one", "http://shop.example.com/health/x"],
    ["a regex does not match a partial path", "http://shop.example.com/items/42/reviews"],
  ])("finds no rule when %s, and never falls back to another host's rules", (_what, url) => {
    expect(findRoute(snapshot, facts(url))).toMatchObject({ found: false, reason: "no_rule" });
  });

  it("reports no rule when a host's rules all fail", () => {
    const only = snapshotOf([serviceDoc("a"), route("r", ["a.example"], [{ match: [{ path: { exact: "/only" } }], destinations: [{ service: "a" }] }])]);
    expect(findRoute(only, facts("http://a.example/other"))).toMatchObject({ found: false, reason: "no_rule" });
    expect(findRoute(only, facts("http://b.example/only"))).toMatchObject({ found: false, reason: "no_host" });
  });

  it.each([
    ["/api/orders/1", "/orders/1"],
    ["/api/", "/"],
  ])("rewrites a matched prefix: %s → %s", (path, expected) => {
    const result = findRoute(snapshot, facts(`http://shop.example.com${path}`));
    expect(result.found).toBe(true);
    if (result.found) expect(rewritePath(result.route, path)).toBe(expected);
  });

  it("finds the right rule among 10,000 with distinct prefixes and exact paths", () => {
    const big = snapshotOf(manyRoutes(10_000));
    const prefixHit = findRoute(big, facts("http://x.example/api/v1/resource-7777/items"));
    expect(prefixHit.found && prefixHit.route.rule.ruleIndex).toBe(7777);
    const exactHit = findRoute(big, facts("http://x.example/exact/9999"));
    expect(exactHit.found && [exactHit.route.rule.routeName, exactHit.route.rule.ruleIndex]).toEqual(["many-exact", 9999]);
    expect(findRoute(big, facts("http://x.example/api/v1/resource-7777/items", { method: "DELETE" })).found).toBe(false);
  });
});
