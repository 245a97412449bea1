/**
 * Explain and the gateway agree, request by request: every probe of the table is explained, then
 * sent through the real pipeline (buildPipeline, every stage, with fake service bindings and a
 * seeded verified-token cache instead of a control plane), and what each says is compared: the
 * error status and code (and message where explain quotes the stage), the caller, the route, rule,
 * match entry and upstream path, the authorization verdict and the policies behind it (through the
 * authorize stage's audit lines and denial), the split (one run per destination, with a draw in the
 * middle of the share explain gives it), the endpoint (reachable, by the hash key explain names),
 * the rate-limit bucket, the timeout and the retries. Both use the stages' own decision functions,
 * so this fails when a stage or explain stops executing, or renders, a decision as the other does.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { bindingNamed } from "../bindings.js";
import type { GatewayEnv } from "../env.js";
import type { HopTokens } from "../identity/hop-tokens.js";
import type { JwksCache } from "../identity/jwks-cache.js";
import { VerifiedTokens } from "../identity/verified-tokens.js";
import { buildPipeline } from "../pipeline.js";
import { ResilienceState } from "../resilience/state.js";
import { normalizeHost } from "../routing/lookup.js";
import type { Snapshot } from "../routing/snapshot.js";
import { ingressHttpbinRule, ordersCanaryRoute, policyDoc, routeDoc, serviceDoc, snapshotOf } from "../routing/test-support.js";
import { parseSettings } from "../settings.js";
import { nativeTimer, type IsolateState, type MeshRequest } from "../stage.js";
import { hashKeyOf } from "../stages/balance.js";
import { effectiveTimeoutMs } from "../stages/forward.js";
import { retrySettings } from "../stages/retry.js";
import { TelemetryState } from "../telemetry/state.js";
import { explain, parseExplainBody, type DestinationView, type Explanation, type LiveView } from "./explain.js";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const TRUST_DOMAIN = "shop.weft";

const route = routeDoc;
const policy = policyDoc;

function meshOf(mode: "STRICT" | "PERMISSIVE"): Snapshot {
  return snapshotOf(
    [
      { apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "shop" }, spec: { trustDomain: TRUST_DOMAIN, identity: { mode } } },
      {
        apiVersion: "weft/v1",
        kind: "Service",
        metadata: { name: "orders", namespace: "shop" },
        spec: {
          subsets: [
            { name: "v1", endpoints: [{ binding: "ORDERS_V1", locality: "enam" }, { binding: "ORDERS_V1B", weight: 3 }] },
            { name: "v2", endpoints: [{ binding: "ORDERS_V2" }] },
          ],
          trafficPolicy: {
            loadBalancer: { policy: "CONSISTENT_HASH", hashOn: { header: "x-user" } },
            timeout: "5s",
            retries: { attempts: 2, perTryTimeout: "2s" },
            rateLimit: { requestsPerSecond: 1000, per: "source" },
          },
        },
      },
      {
        apiVersion: "weft/v1",
        kind: "Service",
        metadata: { name: "billing" },
        spec: { subsets: [{ name: "v1", endpoints: [{ binding: "BILLING_A" }, { binding: "BILLING_B" }] }], trafficPolicy: { loadBalancer: { policy: "ROUND_ROBIN" }, rateLimit: { requestsPerSecond: 1000 } } },
      },
      {
        apiVersion: "weft/v1",
        kind: "Service",
        metadata: { name: "session" },
        spec: { subsets: [{ name: "v1", endpoints: [{ binding: "SESSION_A" }, { binding: "SESSION_B" }, { binding: "SESSION_C" }] }], trafficPolicy: { loadBalancer: { policy: "CONSISTENT_HASH", hashOn: { caller: true } } } },
      },
      serviceDoc("httpbin", ["v1", "v2"]),
      serviceDoc("frontend"),
      ordersCanaryRoute(),
      route(
        "ingress",
        ["*"],
        [
          ingressHttpbinRule("v1"),
          { name: "admin-only", match: [{ path: { exact: "/admin" } }], destinations: [{ service: "frontend" }] },
          { name: "pay", match: [{ path: { prefix: "/pay" } }], rewrite: { prefix: "/checkout" }, destinations: [{ service: "orders", weight: 50 }, { service: "billing", weight: 50 }] },
          { name: "sessions", match: [{ path: { prefix: "/session" } }], destinations: [{ service: "session" }] },
        ],
        true,
      ),
      route("api-only", ["api.example"], [{ name: "only", match: [{ path: { exact: "/only" }, method: ["POST"] }], destinations: [{ service: "httpbin", subset: "v1" }] }], true),
      policy("orders-from-frontend", "orders", "ALLOW", [{ from: ["frontend"], to: [{ methods: ["GET", "POST"] }] }]),
      policy("orders-audit-writes", "orders", "AUDIT", [{ to: [{ methods: ["POST"] }] }]),
      policy("httpbin-public", "httpbin", "ALLOW", [{ from: ["unauthenticated", "*"] }]),
      policy("httpbin-no-admin", "httpbin", "DENY", [{ to: [{ paths: ["/admin/*"] }] }]),
      policy("billing-callers", "billing", "ALLOW", [{ from: ["frontend", "orders"] }]),
      policy("billing-audit", "billing", "AUDIT", [{}]),
      policy("session-anyone", "session", "ALLOW", [{ from: ["*", "unauthenticated"] }]),
    ],
    mode === "STRICT" ? 11 : 12,
  );
}

/** Bindings the gateway has: every endpoint but httpbin v2's, so a split there finds no reachable endpoint. */
const BINDINGS = ["ORDERS_V1", "ORDERS_V1B", "ORDERS_V2", "BILLING_A", "BILLING_B", "SESSION_A", "SESSION_B", "SESSION_C", "HTTPBIN_V1", "FRONTEND_V1"];

/** Callers with an SVID the gateway has verified before (identities in full: the namespace their Service declares). */
const CALLERS: Record<string, { service: string; namespace: string }> = {
  frontend: { service: "frontend", namespace: "default" },
  catalog: { service: "catalog", namespace: "default" },
  orders: { service: "orders", namespace: "shop" },
  [`spiffe://${TRUST_DOMAIN}/ns/default/sa/frontend`]: { service: "frontend", namespace: "default" },
};

interface Probe {
  readonly name: string;
  readonly from?: string;
  readonly method?: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
}

const manyHeaders = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, "1"]));

const PROBES: readonly Probe[] = [
  { name: "a header rule, one destination", from: "frontend", url: "http://orders.mesh/orders/1", headers: { "x-canary": "1" } },
  { name: "a weighted split, anonymous", url: "http://orders.mesh/orders/1" },
  { name: "a weighted split with a hash key", from: "frontend", url: "http://orders.mesh/orders/1", headers: { "x-user": "u-42" } },
  { name: "a method rule with its own timeout and retries, audited", from: "frontend", method: "POST", url: "http://orders.mesh/orders" },
  { name: "a caller no ALLOW policy names", from: "catalog", url: "http://orders.mesh/orders/1" },
  { name: "a caller named by SPIFFE ID", from: `spiffe://${TRUST_DOMAIN}/ns/default/sa/frontend`, url: "http://orders.mesh/orders/7" },
  { name: "client x-weft-* headers cannot steer matching", from: "frontend", url: "http://orders.mesh/orders/1", headers: { "x-weft-canary": "1", "x-user": "u-9" } },
  { name: "an ingress prefix rewrite, split to a subset without bindings", url: "http://shop.example/httpbin/anything/./deep?x=1" },
  { name: "a DENY on the rewritten path", url: "http://shop.example/httpbin/admin/keys" },
  { name: "a rewrite that joins a dot segment", url: "http://shop.example/httpbin./admin/x" },
  { name: "an injected abort at 100%", url: "http://shop.example/httpbin/anything", headers: { "x-chaos": "abort" } },
  { name: "a service without policies, anonymous", url: "http://shop.example/admin" },
  { name: "a service without policies, a service caller", from: "frontend", url: "http://shop.example/admin" },
  { name: "a split across two services", from: "frontend", url: "http://shop.example/pay/1" },
  { name: "a split across two services, one denying", from: "orders", url: "http://shop.example/pay/1" },
  { name: "a split across two services, both denying", from: "catalog", url: "http://shop.example/pay/1" },
  { name: "consistent hashing on the caller", from: "frontend", url: "http://shop.example/session/1" },
  { name: "consistent hashing on the caller, anonymous", url: "http://shop.example/session/1" },
  { name: "an unknown mesh host", url: "http://ghost.mesh/x" },
  { name: "an unknown ingress host table falls to *", url: "http://elsewhere.example/nothing" },
  { name: "a host whose only rule misses", method: "GET", url: "http://api.example/only" },
  { name: "a host whose only rule matches", method: "POST", url: "http://api.example/only" },
  { name: "an encoded slash", url: "http://shop.example/httpbin/a%2Fb" },
  { name: "a token in the URL", from: "frontend", url: "http://orders.mesh/orders/1?access_token=x" },
  { name: "too many headers", url: "http://orders.mesh/orders/1", headers: manyHeaders },
];

// ------------------------------------------------------------------------------------ the gateway

interface Run {
  readonly request: MeshRequest;
  readonly status: number;
  /** The mesh's own error code, when the mesh answered. */
  readonly code: string | null;
  readonly message: string | null;
  /** What the destination (a fake binding) received: its binding and path. */
  readonly received: { readonly binding: string; readonly path: string } | null;
  readonly audits: readonly { readonly destination: string; readonly policies: readonly string[]; readonly allowed: boolean }[];
  readonly bucketKeys: readonly string[];
}

function envWith(bindings: readonly string[]): GatewayEnv {
  const env: Record<string, unknown> = {};
  for (const binding of bindings) {
    env[binding] = { fetch: async (upstream: Request) => Response.json({ binding, path: new URL(upstream.url).pathname }) };
  }
  return env as unknown as GatewayEnv;
}

function isolateFor(draw: number): IsolateState {
  const verifiedTokens = new VerifiedTokens();
  for (const [from, identity] of Object.entries(CALLERS)) {
    const spiffeId = `spiffe://${TRUST_DOMAIN}/ns/${identity.namespace}/sa/${identity.service}`;
    verifiedTokens.set(tokenOf(from), { caller: { spiffeId, namespace: identity.namespace, service: identity.service }, kid: "k1", exp: NOW / 1000 + 600 });
  }
  const jwks = { refreshIfDue: () => undefined, has: () => true, key: async () => undefined } as unknown as JwksCache;
  const hopTokens = { get: async () => "hop-token", cached: () => "hop-token" } as unknown as HopTokens;
  return {
    counters: new Map(),
    jwks: () => jwks,
    verifiedTokens,
    hopTokens: () => hopTokens,
    random: () => draw,
    now: () => NOW,
    sleep: async () => undefined,
    startTimer: nativeTimer,
    location: () => undefined,
    resilience: new ResilienceState(),
    telemetry: new TelemetryState(NOW),
    globalLimiter: () => {
      throw new Error("no global limits in this mesh");
    },
  };
}

const tokenOf = (from: string): string => `svid-of-${from.replace(/[^a-z0-9]/g, "-")}`;

const pipeline = buildPipeline();
const settings = parseSettings({});
let consoleLog: MockInstance<typeof console.log>;
beforeEach(() => {
  consoleLog = vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  consoleLog.mockRestore();
});

/** Sends the probe through the real pipeline, with every isolate draw equal to `draw`. */
async function throughGateway(snapshot: Snapshot, env: GatewayEnv, probe: Probe, draw: number): Promise<Run> {
  const isolate = isolateFor(draw);
  const bucketKeys: string[] = [];
  const buckets = isolate.resilience.buckets;
  const take = buckets.get.bind(buckets);
  vi.spyOn(buckets, "get").mockImplementation((key, ...rest) => {
    bucketKeys.push(key);
    return take(key, ...rest);
  });
  const url = new URL(probe.url);
  const headers = new Headers(probe.headers);
  if (probe.from !== undefined && probe.from !== "anonymous") headers.set("authorization", `Bearer ${tokenOf(probe.from)}`);
  const method = probe.method ?? "GET";
  const request: MeshRequest = {
    original: new Request(url, { method, headers }),
    url,
    host: normalizeHost(url.host),
    method: method.toUpperCase(),
    headers,
    env,
    waitUntil: () => undefined,
    snapshot,
    isolate,
    requestId: "req-agreement",
    receivedAt: NOW,
    path: url.pathname,
    settings,
  };
  consoleLog.mockClear();
  const response = await pipeline(request);
  const code = response.headers.get("x-weft-error");
  const body = (await response.json()) as { error?: { message: string }; binding?: string; path?: string };
  const audits = consoleLog.mock.calls
    .map((call) => JSON.parse(String(call[0])) as { msg: string; destination: string; policies: string[]; allowed: boolean })
    .filter((line) => line.msg === "authorization audit")
    .map(({ destination, policies, allowed }) => ({ destination, policies, allowed }));
  return {
    request,
    status: response.status,
    code,
    message: code === null ? null : (body.error?.message ?? null),
    received: code === null && body.binding !== undefined ? { binding: body.binding, path: body.path ?? "" } : null,
    audits,
    bucketKeys,
  };
}

// -------------------------------------------------------------------------------------- explain

function explained(snapshot: Snapshot, env: GatewayEnv, probe: Probe): Explanation {
  const input = parseExplainBody(JSON.stringify({ from: probe.from, method: probe.method ?? "GET", url: probe.url, headers: probe.headers }));
  if (!input.ok) throw new Error(input.message);
  const resilience = new ResilienceState();
  const live: LiveView = {
    endpoint: (service, id) => resilience.endpointView(snapshot.services.get(service)!, id, NOW),
    hasBinding: (binding) => bindingNamed(env, binding) !== undefined,
  };
  const result = explain(snapshot, input.value, live);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

/** One draw in the middle of each destination's share, as explain gives it (a single draw when nothing is forwarded). */
function drawsFor(explanation: Explanation): { draw: number; destination: DestinationView | undefined }[] {
  if (explanation.outcome.verdict !== "forward") return [{ draw: 0.5, destination: undefined }];
  const draws: { draw: number; destination: DestinationView }[] = [];
  let start = 0;
  for (const destination of explanation.destinations) {
    if (destination.percent > 0) draws.push({ draw: (start + destination.percent / 2) / 100, destination });
    start += destination.percent;
  }
  return draws;
}

// ---------------------------------------------------------------------------------- the comparison

function expectAgreement(explanation: Explanation, run: Run, destination: DestinationView | undefined, context: string): void {
  const { outcome } = explanation;
  const request = run.request;

  // The error the mesh answers with: status and code always; the message wherever explain quotes the stage.
  if (outcome.verdict !== "forward") {
    expect([run.status, run.code], context).toEqual([outcome.status, outcome.code]);
    if (outcome.verdict === "forbidden") expect(run.message, context).toMatch(/^calling \S+ was (denied by AuthorizationPolicy "[^"]+"|not allowed: no AuthorizationPolicy allows it)/);
    else expect(run.message, context).toBe(outcome.message);
  }

  // Identity: the caller the gateway verified is the one explain assumed (unless the request was refused before it).
  if (outcome.verdict === "refused") {
    expect(request.route, context).toBeUndefined();
    if (outcome.code === "unauthenticated") expect(request.authFailure, context).toBe("token-in-url");
    return;
  }
  const caller = request.caller;
  expect(caller?.authenticated ? { kind: "service", service: caller.service, spiffeId: caller.spiffeId } : { kind: "anonymous" }, context).toEqual(explanation.request.caller);

  // Route: the rule, its match entry and the upstream path, or no route at all.
  const matched = explanation.route?.matched ?? null;
  if (outcome.verdict === "no_route") {
    expect(explanation.route?.found, context).toBe(false);
    expect(request.route, context).toBeUndefined();
    return;
  }
  const rule = request.route?.rule;
  const matchIndex = request.route?.match === undefined ? null : (rule?.matches?.indexOf(request.route.match) ?? null);
  expect({ route: rule?.routeName, ruleIndex: rule?.ruleIndex, matchIndex, upstreamPath: request.upstreamPath }, context).toEqual({
    route: matched?.route,
    ruleIndex: matched?.ruleIndex,
    matchIndex: matched?.matchIndex,
    upstreamPath: matched?.upstreamPath,
  });

  // Authorization: the verdict, and the policies behind it as the stage logs them (audits) and names them (denials).
  const authorization = explanation.authorization;
  expect(authorization?.path, context).toBe(request.upstreamPath);
  const judged = authorization?.decisions ?? [];
  const firstDenied = judged.findIndex((d) => !d.allowed);
  const expectedAudits = judged
    .slice(0, firstDenied === -1 ? judged.length : firstDenied + 1)
    .filter((d) => d.audited.length > 0)
    .map((d) => ({ destination: d.service, policies: d.audited, allowed: d.allowed }));
  expect(run.audits, context).toEqual(expectedAudits);
  const passedAuthorization = outcome.verdict === "forward" || outcome.verdict === "fault";
  expect(authorization?.allowed, context).toBe(passedAuthorization);
  if (outcome.verdict === "unauthenticated") expect(authorization?.identityCheck, context).toBe("anonymous-refused-strict");
  if (outcome.verdict === "forbidden") {
    const denied = judged[firstDenied];
    expect(run.message, context).toContain(`calling ${denied?.service} was `);
    if (denied?.policy) expect(run.message, context).toContain(`"${denied.policy}"`);
  }
  if (!passedAuthorization || outcome.verdict === "fault") {
    expect(request.destination, context).toBeUndefined();
    return;
  }

  // Split: the draw lands on the destination explain gives that share of the traffic.
  expect({ service: request.destination?.service, subset: request.destination?.subset ?? null }, context).toEqual({ service: destination?.service, subset: destination?.subset });
  const service = request.service;
  if (!service || !destination) throw new Error(`${context}: no service chosen`);

  // Endpoint: one explain counts as able to take the request, chosen by the hash key explain names; or 503 when explain says none can.
  const hashOn = service.balancer.hashOn;
  expect(service.balancer.policy === "CONSISTENT_HASH" && hashOn ? (hashKeyOf(request, hashOn) ?? null) : null, context).toBe(destination.balancer?.hashKey);
  const usable = destination.endpoints.filter((e) => e.status === "healthy" || e.status === "probing").map((e) => e.id);
  if (usable.length === 0) {
    expect([run.status, run.code], context).toEqual([503, "no_healthy_upstream"]);
  } else {
    expect(run.code, context).toBeNull();
    expect(usable, context).toContain(request.endpoint?.id);
    const target = destination.endpoints.find((e) => e.id === request.endpoint?.id)?.target;
    expect(run.received, context).toEqual({ binding: target?.kind === "binding" ? target.binding : "", path: request.upstreamPath });
  }

  // What the attempts run under: the rate-limit bucket, the timeout, the retries.
  const settings = explanation.settings?.services.find((s) => s.service === service.name);
  expect(run.bucketKeys, context).toEqual(settings?.rateLimit ? [settings.rateLimit.key] : []);
  expect(effectiveTimeoutMs(request), context).toBe(settings?.timeout.ms);
  expect(retrySettings(request, service).attempts, context).toBe(settings?.retries.attempts);
}

describe.each(["STRICT", "PERMISSIVE"] as const)("explain and the gateway agree (%s)", (mode) => {
  const snapshot = meshOf(mode);
  const env = envWith(BINDINGS);

  it.each(PROBES)("$name", async (probe) => {
    const explanation = explained(snapshot, env, probe);
    for (const { draw, destination } of drawsFor(explanation)) {
      const run = await throughGateway(snapshot, env, probe, draw);
      const context = JSON.stringify({ mode, probe: probe.name, draw, outcome: explanation.outcome, status: run.status, code: run.code, message: run.message });
      expectAgreement(explanation, run, destination, context);
    }
  });

  it("covers every verdict and every kind of destination across the table", () => {
    const explanations = PROBES.map((probe) => explained(snapshot, env, probe));
    const verdicts = new Set(explanations.map((e) => e.outcome.verdict));
    expect([...verdicts].sort()).toEqual(mode === "STRICT" ? ["fault", "forbidden", "forward", "no_route", "refused", "unauthenticated"] : ["fault", "forbidden", "forward", "no_route", "refused"]);
    const statuses = new Set(explanations.flatMap((e) => e.destinations.flatMap((d) => d.endpoints.map((endpoint) => endpoint.status))));
    expect(statuses).toEqual(new Set(["healthy", "missing-binding"]));
    expect(explanations.some((e) => e.destinations.some((d) => d.balancer?.hashKey !== null && d.balancer?.hashKey !== undefined))).toBe(true);
    expect(explanations.some((e) => (e.authorization?.decisions.length ?? 0) > 1)).toBe(true);
  });
});
