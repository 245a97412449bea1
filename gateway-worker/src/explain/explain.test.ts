import { describe, expect, it } from "vitest";
import type { EndpointHealthView } from "../resilience/state.js";
import { ingressHttpbinRule, ordersCanaryRoute, policyDoc, routeDoc, serviceDoc, snapshotOf } from "../routing/test-support.js";
import { callerFrom, explain, parseExplainBody, type Explanation, type LiveView } from "./explain.js";

const mesh = (mode: "STRICT" | "PERMISSIVE") => ({ apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "shop" }, spec: { trustDomain: "shop.weft", identity: { mode } } });
const route = routeDoc;
const policy = policyDoc;

const documents = (mode: "STRICT" | "PERMISSIVE") => [
  mesh(mode),
  {
    apiVersion: "weft/v1",
    kind: "Service",
    metadata: { name: "orders", namespace: "shop" },
    spec: {
      subsets: [
        { name: "v1", endpoints: [{ binding: "ORDERS_V1", locality: "enam" }, { url: "https://orders-backup.example/", weight: 3 }] },
        { name: "v2", endpoints: [{ binding: "ORDERS_V2" }] },
      ],
      trafficPolicy: {
        loadBalancer: { policy: "CONSISTENT_HASH", hashOn: { header: "x-user" }, failover: ["weur"] },
        timeout: "5s",
        retries: { attempts: 2, perTryTimeout: "2s" },
        outlierDetection: { consecutive5xx: 5, baseEjectionTime: "10s" },
        rateLimit: { requestsPerSecond: 50, per: "source" },
      },
    },
  },
  serviceDoc("httpbin", ["v1", "v2"]),
  serviceDoc("frontend"),
  ordersCanaryRoute(),
  route(
    "ingress",
    ["*"],
    [
      ingressHttpbinRule("v2"),
      { name: "admin-only", match: [{ path: { exact: "/admin" } }], destinations: [{ service: "frontend" }] },
    ],
    true,
  ),
  policy("orders-from-frontend", "orders", "ALLOW", [{ from: ["frontend"], to: [{ methods: ["GET", "POST"] }] }]),
  policy("httpbin-public", "httpbin", "ALLOW", [{ from: ["unauthenticated", "*"] }]),
  policy("httpbin-no-admin", "httpbin", "DENY", [{ to: [{ paths: ["/admin/*"] }] }]),
];

const permissive = snapshotOf(documents("PERMISSIVE"), 7);
const strict = snapshotOf(documents("STRICT"), 8);

const ejected: EndpointHealthView = { health: "ejected", consecutiveFailures: 0, timesEjected: 1, ejectedUntil: "2030-01-01T00:00:00.000Z", inFlight: 0 };
const live: LiveView = {
  endpoint: (service, id) => (service === "orders" && id === "orders/v2/0" ? ejected : undefined),
  hasBinding: (binding) => binding !== "HTTPBIN_V2",
};

function explained(snapshot = permissive, body: Record<string, unknown>): Explanation {
  const input = parseExplainBody(JSON.stringify(body));
  if (!input.ok) throw new Error(input.message);
  const result = explain(snapshot, input.value, live);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

describe("explaining a request", () => {
  it("follows a header rule to its single destination", () => {
    const e = explained(permissive, { from: "frontend", method: "GET", url: "http://orders.mesh/orders/1", headers: { "X-Canary": "1" } });
    expect(e.route).toMatchObject({ hostKind: "mesh", table: { kind: "exact", host: "orders.mesh" }, found: true, notEvaluated: 2 });
    expect(e.route?.matched).toMatchObject({ route: "orders-canary", ruleIndex: 0, ruleName: "canary-opt-in", matchIndex: 0, upstreamPath: "/orders/1" });
    expect(e.destinations.map((d) => [d.service, d.subset, d.percent])).toEqual([["orders", "v2", 100]]);
    expect(e.outcome).toEqual({ verdict: "forward", status: null, code: null, message: "forwarded to orders/v2 (100%)" });
  });

  it.each([
    ["a missing header", {}, ["header x-canary missing"]],
    ["another header value", { "x-canary": "0" }, ['header x-canary value "0" does not match']],
  ])("says why the header rule was passed over: %s", (_what, headers, reasons) => {
    const e = explained(permissive, { method: "GET", url: "http://orders.mesh/orders/1", headers });
    expect(e.route?.tried[0]).toMatchObject({ ruleName: "canary-opt-in", matched: false, reasons });
  });

  it("names the method a rule wanted, and splits by the matched rule's weights in percent", () => {
    const e = explained(permissive, { method: "get", url: "http://orders.mesh/orders/1" });
    expect(e.request.method).toBe("GET");
    expect(e.route?.tried.map((t) => [t.ruleName, t.matched, t.reasons])).toEqual([
      ["canary-opt-in", false, ["header x-canary missing"]],
      ["writes", false, ["method GET not in [POST, PUT]"]],
      ["split", true, []],
    ]);
    expect(e.destinations.map((d) => [`${d.service}/${d.subset}`, d.weight, d.percent])).toEqual([
      ["orders/v1", 90, 90],
      ["orders/v2", 10, 10],
    ]);
    expect(e.summary).toContain('rule orders-canary[1] "writes": no match: method GET not in [POST, PUT]');
  });

  it("reports every failed condition of a rule", () => {
    const e = explained(permissive, { method: "DELETE", url: "http://orders.mesh/carts/1" });
    expect(e.route?.tried[1]?.reasons).toEqual(["path /carts/1 does not start with /orders, method DELETE not in [POST, PUT]"]);
  });

  it("rewrites the matched prefix and weighs the split, on the * table", () => {
    const e = explained(permissive, { method: "GET", url: "http://shop.example:8443/httpbin//anything/./deep?x=1" });
    expect(e.request).toMatchObject({ host: "shop.example", path: "/httpbin/anything/deep", query: "?x=1" });
    expect(e.route).toMatchObject({ hostKind: "ingress", table: { kind: "any", host: "*" } });
    expect(e.route?.matched).toMatchObject({ ruleName: "httpbin", rewrite: { prefix: "/" }, upstreamPath: "/anything/deep", public: true });
    expect(e.destinations.map((d) => [d.subset, d.percent])).toEqual([
      ["v1", 75],
      ["v2", 25],
    ]);
    expect(e.settings?.mirror).toEqual({ service: "httpbin", subset: "v2", percent: 5 });
    expect(e.settings?.fault).toMatchObject({ abort: { percent: 100, status: 503 }, applies: false });
    expect(e.outcome.verdict).toBe("forward");
  });

  it("predicts an injected fault when the request meets the fault's headers at 100%", () => {
    const e = explained(permissive, { method: "GET", url: "http://shop.example/httpbin/anything", headers: { "x-chaos": "abort" } });
    expect(e.outcome).toMatchObject({ verdict: "fault", status: 503, code: "fault_injected" });
  });

  it("lists each endpoint with its weight, locality and this isolate's health, and the balancer", () => {
    const e = explained(permissive, { method: "GET", url: "http://orders.mesh/orders/1", headers: { "x-user": "u-42" } });
    const [v1, v2] = e.destinations;
    expect(v1?.endpoints.map((ep) => [ep.id, ep.target, ep.weight, ep.locality, ep.status])).toEqual([
      ["orders/v1/0", { kind: "binding", binding: "ORDERS_V1" }, 1, "enam", "healthy"],
      ["orders/v1/1", { kind: "url", url: "https://orders-backup.example" }, 3, null, "healthy"],
    ]);
    expect(v2?.endpoints[0]).toMatchObject({ status: "ejected", health: ejected });
    expect(v1?.balancer).toEqual({ policy: "CONSISTENT_HASH", hashOn: { header: "x-user" }, hashKey: "u-42", localityAware: true, failover: ["weur"] });
    const httpbin = explained(permissive, { method: "GET", url: "http://shop.example/httpbin/get" });
    expect(httpbin.destinations[1]?.endpoints[0]?.status).toBe("missing-binding");
  });

  it("says which level each setting comes from: the rule's timeout and retries replace the service's", () => {
    const reads = explained(permissive, { method: "GET", url: "http://orders.mesh/orders/1" });
    expect(reads.settings?.services[0]).toMatchObject({
      service: "orders",
      timeout: { ms: 5000, source: "service" },
      retries: { source: "service", attempts: 2, perTryTimeoutMs: 2000, appliesToMethod: true, budget: { ratio: 0.2, minPerSecond: 10 } },
      outlierDetection: { consecutive5xx: 5, baseEjectionMs: 10_000 },
      rateLimit: { requestsPerSecond: 50, per: "source", key: "anonymous->orders" },
    });
    const writes = explained(permissive, { from: "frontend", method: "POST", url: "http://orders.mesh/orders" });
    expect(writes.settings?.services[0]).toMatchObject({
      timeout: { ms: 1000, source: "rule" },
      retries: { source: "rule", attempts: 1, appliesToMethod: false },
      rateLimit: { key: "spiffe://shop.weft/ns/default/sa/frontend->orders" },
    });
    const frontend = explained(permissive, { method: "GET", url: "http://shop.example/admin" });
    expect(frontend.settings?.services[0]).toMatchObject({ timeout: { ms: 15_000, source: "default" }, outlierDetection: null, rateLimit: null });
  });
});

describe("explaining authorization", () => {
  it("refuses an anonymous caller in STRICT mode on a non-public route before reading policies", () => {
    const e = explained(strict, { method: "GET", url: "http://orders.mesh/orders/1" });
    expect(e.authorization).toMatchObject({ mode: "STRICT", identityCheck: "anonymous-refused-strict", decisions: [], allowed: false });
    expect(e.outcome).toMatchObject({ verdict: "unauthenticated", status: 401 });
  });

  it("denies a service no ALLOW policy matches, naming the policies it was checked against", () => {
    const e = explained(strict, { from: "catalog", method: "GET", url: "http://orders.mesh/orders/1" });
    expect(e.request.caller).toEqual({ kind: "service", service: "catalog", spiffeId: "spiffe://shop.weft/ns/default/sa/catalog" });
    expect(e.authorization?.decisions).toEqual([
      expect.objectContaining({ service: "orders", allowed: false, reason: "no-allow-match", policy: null, allowPolicies: ["orders-from-frontend"] }),
    ]);
    expect(e.outcome).toMatchObject({ verdict: "forbidden", status: 403, code: "forbidden" });
    expect(e.notes).toContain("catalog is not a Service in config version 8");
  });

  it("names the deciding DENY policy, matched against the rewritten path", () => {
    const e = explained(strict, { method: "GET", url: "http://shop.example/httpbin/admin/keys" });
    expect(e.authorization).toMatchObject({ identityCheck: "anonymous-public-route", path: "/admin/keys", publicRoute: true });
    expect(e.authorization?.note).toContain("public");
    expect(e.authorization?.decisions[0]).toMatchObject({ service: "httpbin", allowed: false, reason: "denied-by-policy", policy: "httpbin-no-admin" });
    expect(e.outcome.message).toBe('calling httpbin was denied by AuthorizationPolicy "httpbin-no-admin" (DENY)');
  });

  it("allows the caller an ALLOW policy names, with the service's own namespace in its SPIFFE ID", () => {
    const e = explained(strict, { from: "frontend", method: "GET", url: "http://orders.mesh/orders/1" });
    expect(e.authorization?.decisions[0]).toMatchObject({ allowed: true, reason: "allowed-by-policy", policy: "orders-from-frontend" });
    expect(e.outcome.verdict).toBe("forward");
    const caller = callerFrom(strict, "orders");
    expect(caller.ok && caller.value).toEqual({ authenticated: true, service: "orders", spiffeId: "spiffe://shop.weft/ns/shop/sa/orders" });
  });

  it("allows anyone on a service without ALLOW policies in PERMISSIVE mode", () => {
    const e = explained(permissive, { from: "anonymous", method: "GET", url: "http://shop.example/admin" });
    expect(e.authorization).toMatchObject({ identityCheck: "anonymous-permissive", decisions: [expect.objectContaining({ reason: "no-allow-policy-permissive" })] });
  });
});

describe("explaining a request that reaches no rule", () => {
  it("says no service serves an unknown mesh host", () => {
    const e = explained(permissive, { method: "GET", url: "http://ghost.mesh/x" });
    expect(e.route).toMatchObject({ found: false, reason: "no_host", table: null, tried: [] });
    expect(e.outcome).toEqual({ verdict: "no_route", status: 404, code: "no_route", message: 'no service named "ghost" in the mesh' });
    expect(e.destinations).toEqual([]);
  });

  it("lists every rule tried, with its reasons, when none matches", () => {
    const noCatchAll = snapshotOf([serviceDoc("a"), route("edge", ["edge.example"], [{ name: "only", match: [{ path: { exact: "/only" }, method: "GET" }], destinations: [{ service: "a" }] }])]);
    const e = explained(noCatchAll, { method: "POST", url: "http://edge.example/other" });
    expect(e.route).toMatchObject({ found: false, reason: "no_rule", table: { kind: "exact", host: "edge.example" } });
    expect(e.route?.tried).toEqual([expect.objectContaining({ route: "edge", ruleName: "only", reasons: ["path /other is not /only, method POST not in [GET]"] })]);
    expect(e.outcome.status).toBe(404);
    expect(e.summary.at(-1)).toBe('outcome: 404 no_route: no route rule matches POST /other on "edge.example"');
  });
});

describe("explaining what the gateway does before routing", () => {
  it("refuses an ambiguous path as the normalize stage does", () => {
    const e = explained(permissive, { method: "GET", url: "http://shop.example/httpbin/a%2Fb" });
    expect(e.outcome).toMatchObject({ verdict: "refused", status: 400, code: "bad_request" });
    expect(e.route).toBeNull();
  });

  it("refuses a token in the URL as the authenticate stage does", () => {
    expect(explained(permissive, { method: "GET", url: "http://orders.mesh/?access_token=x" }).outcome).toMatchObject({ verdict: "refused", status: 401 });
  });

  it("notes the client's x-weft-* and Authorization headers, which the sanitize stage drops before matching", () => {
    const e = explained(permissive, { method: "GET", url: "http://orders.mesh/orders/1", headers: { "x-weft-canary": "1", authorization: "Bearer t" } });
    expect(e.notes[0]).toContain("authorization, x-weft-canary");
  });
});

describe("the summary", () => {
  it("tells each step on one line", () => {
    const e = explained(permissive, { method: "GET", url: "http://orders.mesh/orders/1" });
    expect(e.summary).toEqual([
      "request: GET orders.mesh/orders/1 as anonymous (config version 7)",
      "host: orders.mesh is a mesh host, served by its own host table",
      'rule orders-canary[0] "canary-opt-in": no match: header x-canary missing',
      'rule orders-canary[1] "writes": no match: method GET not in [POST, PUT]',
      'rule orders-canary[2] "split": matched (no conditions); upstream path /orders/1',
      'authorization: PERMISSIVE mode, caller anonymous; orders: denied: none of the ALLOW policies for orders matches ("orders-from-frontend")',
      "split: orders/v1 90%, orders/v2 10%",
      'endpoints orders/v1: ORDERS_V1 (weight 1, locality enam, healthy), https://orders-backup.example (weight 3, locality -, healthy); balancer CONSISTENT_HASH on {"header":"x-user"} (no key: random), locality-aware, failover weur',
      'endpoints orders/v2: ORDERS_V2 (weight 1, locality -, ejected); balancer CONSISTENT_HASH on {"header":"x-user"} (no key: random), locality-aware, failover weur',
      "settings orders: timeout 5s (service), retries 2 attempts (service) on connect-failure,reset,502,503,504, 2s per try, budget 20% + 10/s, outlier detection 5×5xx → eject 10s (max 50%), circuit breaker 1000 in flight, rate limit 50/s burst 50 per source (local)",
      'outcome: 403 forbidden: calling orders was denied: none of the ALLOW policies for orders matches ("orders-from-frontend")',
    ]);
  });
});

describe("the explain body", () => {
  it.each([
    ["not JSON", "GET /", "the body must be JSON"],
    ["not an object", "[1]", "must be a JSON object"],
    ["an unknown field", JSON.stringify({ method: "GET", url: "http://a.mesh/", header: {} }), 'unknown field "header"'],
    ["no method", JSON.stringify({ url: "http://a.mesh/" }), '"method" must be an HTTP method'],
    ["a method with a space", JSON.stringify({ method: "GE T", url: "http://a.mesh/" }), '"method" must be an HTTP method'],
    ["a relative url", JSON.stringify({ method: "GET", url: "/orders/1" }), '"url" must be an absolute http(s) URL'],
    ["another scheme", JSON.stringify({ method: "GET", url: "ftp://a.example/x" }), '"url" must use http or https, not ftp'],
    ["a header that is not a string", JSON.stringify({ method: "GET", url: "http://a.mesh/", headers: { "x-n": 1 } }), '"headers.x-n" must be a string'],
    ["a bad header name", JSON.stringify({ method: "GET", url: "http://a.mesh/", headers: { "x n": "1" } }), "is not a valid header name"],
    ["an empty from", JSON.stringify({ from: "", method: "GET", url: "http://a.mesh/" }), '"from" must be'],
  ])("is refused when it has %s", (_what, text, message) => {
    const parsed = parseExplainBody(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  it.each([
    ["a name that is no service name", "Front_End", '"from" must be a service name'],
    ["a SPIFFE ID of another trust domain", "spiffe://other.weft/ns/default/sa/frontend", 'not in this mesh\'s trust domain "shop.weft"'],
  ])("refuses a caller given as %s", (_what, from, message) => {
    const caller = callerFrom(strict, from);
    expect(caller.ok).toBe(false);
    if (!caller.ok) expect(caller.message).toContain(message);
  });

  it("accepts a caller given as a SPIFFE ID of the mesh", () => {
    expect(callerFrom(strict, "spiffe://shop.weft/ns/default/sa/cart")).toEqual({ ok: true, value: { authenticated: true, service: "cart", spiffeId: "spiffe://shop.weft/ns/default/sa/cart" } });
  });
});
