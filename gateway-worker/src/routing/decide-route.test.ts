/** The route stage's decision: rule, match entry and upstream path, or why no rule serves the request (and its 404). */
import { describe, expect, it } from "vitest";
import { decideRoute, findRoute, noRouteError, type RouteDecision } from "./lookup.js";
import { facts, serviceDoc, snapshotOf } from "./test-support.js";

const route = (name: string, hosts: string[], http: unknown[]) => ({ apiVersion: "weft/v1", kind: "Route", metadata: { name }, spec: { hosts, http } });

const snapshot = snapshotOf([
  serviceDoc("api", ["v1", "v2"]),
  serviceDoc("web"),
  route("api-mesh", ["api.mesh"], [
    { name: "canary", match: [{ headers: { "x-canary": { exact: "1" } } }], destinations: [{ service: "api", subset: "v2" }] },
    { name: "rest", match: [{ path: { prefix: "/v1/" } }, { path: { exact: "/health" } }], rewrite: { prefix: "/" }, destinations: [{ service: "api", subset: "v1" }] },
  ]),
  route("edge", ["shop.example.com"], [
    { name: "hb", match: [{ path: { prefix: "/hb" } }], rewrite: { prefix: "/" }, destinations: [{ service: "web" }] },
    { name: "writes", match: [{ path: { prefix: "/api/" }, method: ["POST"] }], destinations: [{ service: "api", subset: "v2" }] },
  ]),
]);

/** The decision in a comparable form: rule name, match index and upstream path, or reason, host kind and the 404 message. */
function summary(decision: RouteDecision, request: ReturnType<typeof facts>): unknown {
  if (decision.kind === "routed") {
    const matchIndex = decision.route.match === undefined ? null : (decision.route.rule.matches?.indexOf(decision.route.match) ?? null);
    return { kind: "routed", rule: decision.route.rule.ruleName, matchIndex, hostKind: decision.route.hostKind, upstreamPath: decision.upstreamPath };
  }
  const error = noRouteError(decision, request);
  return { kind: "no-route", reason: decision.reason, hostKind: decision.hostKind, status: error.status, code: error.code, message: error.message };
}

describe("the route decision", () => {
  it.each([
    ["a header rule, path unchanged", "http://api.mesh/v1/x", { headers: { "x-canary": "1" } }, { kind: "routed", rule: "canary", matchIndex: 0, hostKind: "mesh", upstreamPath: "/v1/x" }],
    ["a prefix rewrite", "http://api.mesh/v1/orders", {}, { kind: "routed", rule: "rest", matchIndex: 0, hostKind: "mesh", upstreamPath: "/orders" }],
    ["the second match entry, an exact path rewritten to the prefix", "http://api.mesh/health", {}, { kind: "routed", rule: "rest", matchIndex: 1, hostKind: "mesh", upstreamPath: "/" }],
    ["a rewrite that joins a dot segment, normalized again", "http://shop.example.com/hb./anything/admin", {}, { kind: "routed", rule: "hb", matchIndex: 0, hostKind: "ingress", upstreamPath: "/anything/admin" }],
    [
      "an unknown mesh host",
      "http://ghost.mesh/x",
      {},
      { kind: "no-route", reason: "no_host", hostKind: "mesh", status: 404, code: "no_route", message: 'no service named "ghost" in the mesh' },
    ],
    [
      "an ingress host no route serves",
      "http://elsewhere.example/x",
      {},
      { kind: "no-route", reason: "no_host", hostKind: "ingress", status: 404, code: "no_route", message: 'no route serves host "elsewhere.example"' },
    ],
    [
      "a host whose rules all miss",
      "http://shop.example.com/api/x",
      { method: "GET" },
      { kind: "no-route", reason: "no_rule", hostKind: "ingress", status: 404, code: "no_route", message: 'no route rule matches GET /api/x on "shop.example.com"' },
    ],
    [
      "a mesh host whose rules all miss",
      "http://api.mesh/v2/x",
      {},
      { kind: "no-route", reason: "no_rule", hostKind: "mesh", status: 404, code: "no_route", message: 'no route rule matches GET /v2/x on "api.mesh"' },
    ],
  ])("%s", (_what, url, init, expected) => {
    const request = facts(url, init);
    expect(summary(decideRoute(snapshot, request), request)).toEqual(expected);
  });

  it("decides on the very rule the lookup finds", () => {
    for (const url of ["http://api.mesh/v1/x", "http://api.mesh/health", "http://shop.example.com/hb/x", "http://ghost.mesh/", "http://api.mesh/nothing"]) {
      const request = facts(url);
      const lookup = findRoute(snapshot, request);
      const decision = decideRoute(snapshot, request);
      expect(decision.kind === "routed" ? decision.route.rule : undefined).toBe(lookup.found ? lookup.route.rule : undefined);
    }
  });

  it("allocates nothing to say there is no route: the same decision object every time", () => {
    expect(decideRoute(snapshot, facts("http://ghost.mesh/a"))).toBe(decideRoute(snapshot, facts("http://other.mesh/b")));
  });
});
