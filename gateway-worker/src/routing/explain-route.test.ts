/** The explained route walk agrees with findRoute, and says why each passed-over rule failed. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { conditionMisses, describeHostTable, explainRoute, walkedRule } from "./explain-route.js";
import { findRoute, matchesRequest } from "./lookup.js";
import { facts, serviceDoc, snapshotOf } from "./test-support.js";

const route = (name: string, hosts: readonly string[], http: unknown[]) => ({ apiVersion: "weft/v1", kind: "Route", metadata: { name }, spec: { hosts, http } });

const snapshot = snapshotOf([
  serviceDoc("api", ["v1", "v2"]),
  serviceDoc("web"),
  route("api-mesh", ["api.mesh"], [
    { name: "canary", match: [{ headers: { "x-canary": { exact: "1" } } }], destinations: [{ service: "api", subset: "v2" }] },
    { name: "beta", match: [{ query: { beta: { present: true } } }], destinations: [{ service: "api", subset: "v2" }] },
    { name: "rest", destinations: [{ service: "api", subset: "v1" }] },
  ]),
  route("edge", ["shop.example.com", "*.shop.example"], [
    { name: "writes", match: [{ path: { prefix: "/api/" }, method: ["POST", "PUT"] }], rewrite: { prefix: "/" }, destinations: [{ service: "api", subset: "v2" }] },
    { name: "ids", match: [{ path: { regex: "/items/[0-9]+" } }, { path: { exact: "/items" }, headers: { "x-tier": { prefix: "gold" } } }], destinations: [{ service: "web" }] },
  ]),
  route("catch-all", ["*"], [{ name: "web", match: [{ path: { prefix: "/" } }], destinations: [{ service: "web" }] }]),
]);

describe("route explanation", () => {
  it("names the table that serves a host: exact, wildcard, any, or none for an unknown mesh host", () => {
    expect(describeHostTable(snapshot, "api.mesh")).toMatchObject({ kind: "exact", pattern: "api.mesh" });
    expect(describeHostTable(snapshot, "eu.shop.example")).toMatchObject({ kind: "wildcard", pattern: "*.shop.example" });
    expect(describeHostTable(snapshot, "elsewhere.example")).toMatchObject({ kind: "any", pattern: "*" });
    expect(describeHostTable(snapshot, "ghost.mesh")).toBeUndefined();
  });

  it("lists the rules tried before the winner with the header and query that failed", () => {
    const explained = explainRoute(snapshot, facts("http://api.mesh/x", { headers: { "x-canary": "0" } }));
    expect(explained.tried.map((trace) => [trace.rule.ruleName, trace.matched])).toEqual([
      ["canary", false],
      ["beta", false],
      ["rest", true],
    ]);
    expect(explained.tried[0]?.entries[0]?.misses).toEqual([{ condition: "header", name: "x-canary", actual: "0" }]);
    expect(explained.tried[1]?.entries[0]?.misses).toEqual([{ condition: "query", name: "beta", actual: null }]);
    expect(explained.notEvaluated).toBe(0);
  });

  it("stops at the first match and counts the rules after it as not evaluated", () => {
    const explained = explainRoute(snapshot, facts("http://api.mesh/x", { headers: { "x-canary": "1" } }));
    expect(explained.tried).toHaveLength(1);
    expect(explained.notEvaluated).toBe(2);
  });

  it("reports every failed condition of every alternative match entry", () => {
    const explained = explainRoute(snapshot, facts("http://shop.example.com/items", { method: "GET" }));
    expect(explained.lookup.found).toBe(false);
    expect(explained.tried.map((trace) => trace.entries.map((entry) => entry.misses))).toEqual([
      [
        [
          { condition: "path", kind: "prefix", expected: "/api/", actual: "/items" },
          { condition: "method", allowed: ["POST", "PUT"], actual: "GET" },
        ],
      ],
      [[{ condition: "path", kind: "regex", expected: "/items/[0-9]+", actual: "/items" }], [{ condition: "header", name: "x-tier", actual: null }]],
    ]);
  });

  it("has no table and no rules for an unknown mesh host", () => {
    const explained = explainRoute(snapshot, facts("http://ghost.mesh/"));
    expect(explained).toMatchObject({ hostKind: "mesh", table: undefined, tried: [], lookup: { found: false, reason: "no_host" } });
  });
});

// --------------------------------------------------------------------------------------- properties

const segment = fc.constantFrom("a", "b", "api", "v1", "42", "");
const pathArb = fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join("/")}`);
const headerValue = fc.constantFrom("1", "0", "gold", "gold-plus");
const stringMatch = fc.oneof(
  headerValue.map((exact) => ({ exact })),
  headerValue.map((prefix) => ({ prefix })),
  fc.constant({ regex: "gold.*|1" }),
  fc.constant({ present: true }),
);
const matchEntry = fc.record(
  {
    path: fc.oneof(
      pathArb.map((exact) => ({ exact })),
      pathArb.map((prefix) => ({ prefix })),
      pathArb.map((p) => ({ regex: `${p.replace(/\//g, "\\/")}.*` })),
    ),
    method: fc.subarray(["GET", "POST", "PUT"], { minLength: 1 }),
    headers: fc.dictionary(fc.constantFrom("x-canary", "x-tier"), stringMatch, { maxKeys: 2 }),
    query: fc.dictionary(fc.constantFrom("beta", "v"), stringMatch, { maxKeys: 1 }),
  },
  { requiredKeys: [] },
);
const ruleArb = fc.record({ match: fc.option(fc.array(matchEntry, { minLength: 1, maxLength: 3 }), { nil: undefined }) });
const hostArb = fc.constantFrom(["*"], ["svc.mesh"], ["shop.example"], ["*.shop.example"], ["shop.example", "*"]);
const routesArb = fc.array(fc.record({ hosts: hostArb, rules: fc.array(ruleArb, { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 3 });
const requestArb = fc.record({
  host: fc.constantFrom("svc.mesh", "other.mesh", "shop.example", "eu.shop.example", "elsewhere.example"),
  path: pathArb,
  method: fc.constantFrom("GET", "POST", "DELETE"),
  headers: fc.dictionary(fc.constantFrom("x-canary", "x-tier"), headerValue, { maxKeys: 2 }),
  query: fc.dictionary(fc.constantFrom("beta", "v"), headerValue, { maxKeys: 2 }),
});

describe("route explanation under arbitrary rule sets and requests", () => {
  it("settles on the same rule as findRoute, and its reasons agree with the gateway's predicate", () => {
    fc.assert(
      fc.property(routesArb, requestArb, (routes, request) => {
        const built = snapshotOf([
          serviceDoc("svc"),
          ...routes.map((r, i) => route(`r${i}`, r.hosts, r.rules.map((rule) => ({ ...(rule.match ? { match: rule.match } : {}), destinations: [{ service: "svc" }] })))),
        ]);
        const query = new URLSearchParams(request.query).toString();
        const requestFacts = facts(`http://${request.host}${request.path}${query ? `?${query}` : ""}`, { method: request.method, headers: request.headers });
        const lookup = findRoute(built, requestFacts);
        const explained = explainRoute(built, requestFacts);
        expect(walkedRule(explained)).toBe(lookup.found ? lookup.route.rule : undefined);
        if (!lookup.found) expect(explained.table === undefined).toBe(lookup.reason === "no_host");
        for (const trace of explained.tried) {
          for (const entry of trace.entries) {
            const match = trace.rule.matches?.[entry.index];
            if (!match) throw new Error("a traced entry must exist in the rule");
            expect(entry.matched).toBe(matchesRequest(match, requestFacts));
            expect(conditionMisses(match, requestFacts).length === 0).toBe(entry.matched);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
