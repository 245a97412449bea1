/**
 * The explain API against the real gateway: for each request, the trace POST /.weft/api/v1/explain
 * gives must agree with what the same request actually gets through the gateway (which subset
 * answered, and whether the mesh itself refused it and how).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Explanation } from "../gateway-worker/src/explain/explain.js";
import { admin, applyExampleMesh, applyYaml, EXAMPLE_MESH_YAML, functionsGatewayServes, gateway, sendMany, SHIPPED_MESH_YAML, tokenFor } from "./helpers.js";

interface Probe {
  readonly from?: string;
  readonly method?: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
}

interface Answer {
  readonly status: number;
  /** The mesh's own error code (x-weft-error), when the mesh answered. */
  readonly meshError: string | null;
  /** "version" from a JSON answer (httpbin and orders report their subset). */
  readonly version: string | undefined;
  /** "path" from httpbin's answer: the path it received. */
  readonly path: string | undefined;
}

async function explainOf(probe: Probe): Promise<Explanation> {
  const response = await admin("/explain", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from: probe.from, method: probe.method ?? "GET", url: probe.url, headers: probe.headers }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Explanation;
}

async function send(probe: Probe, token: string | undefined): Promise<Answer> {
  const headers = new Headers(probe.headers);
  if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
  const response = await gateway(probe.url, { method: probe.method ?? "GET", headers });
  const text = await response.text();
  let body: { version?: unknown; path?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // HTML (the shop page) or plain text: no version to compare.
  }
  return {
    status: response.status,
    meshError: response.headers.get("x-weft-error"),
    version: typeof body.version === "string" ? body.version : undefined,
    path: typeof body.path === "string" ? body.path : undefined,
  };
}

/**
 * Explains the probe, sends it `times` times for real, and checks that the two agree: a forwarded
 * request is answered by the destination (no mesh error), by one of the subsets the explanation
 * lists with weight > 0 (exactly it when there is one); a refused one gets the status and mesh
 * error code the explanation predicts.
 */
async function expectAgreement(probe: Probe, options: { token?: string; times?: number } = {}): Promise<{ explanation: Explanation; answers: Answer[] }> {
  const explanation = await explainOf(probe);
  const answers = await sendMany(options.times ?? 1, 4, () => send(probe, options.token));
  const candidates = new Set(explanation.destinations.filter((d) => d.weight > 0).map((d) => d.subset));
  for (const answer of answers) {
    const context = JSON.stringify({ probe, answer, outcome: explanation.outcome, summary: explanation.summary });
    if (explanation.outcome.verdict === "forward") {
      // The destination answered (whatever its status), not the mesh.
      expect(answer.meshError, context).toBeNull();
      if (answer.version !== undefined) {
        expect(candidates.has(answer.version), context).toBe(true);
        if (candidates.size === 1) expect(answer.version, context).toBe([...candidates][0]);
      }
    } else {
      expect(answer.status, context).toBe(explanation.outcome.status);
      expect(answer.meshError, context).toBe(explanation.outcome.code);
    }
  }
  return { explanation, answers };
}

const subsetsOf = (explanation: Explanation) => explanation.destinations.map((d) => [d.service, d.subset, d.percent]);

describe("explain agrees with the gateway (example mesh, PERMISSIVE)", () => {
  beforeAll(async () => {
    // The example mesh plus an ingress host whose only rule wants POST /only, so a request can match no rule.
    const applied = await applyYaml(`${EXAMPLE_MESH_YAML}
---
apiVersion: weft/v1
kind: Route
metadata: { name: api-only }
spec:
  hosts: [api.example]
  public: true
  http:
    - name: only
      match: [{ path: { exact: /only }, method: POST }]
      destinations: [{ service: httpbin, subset: v1 }]
`);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await functionsGatewayServes(applied.body.version ?? -1);
  });

  it("splits orders.mesh 90/10 without x-canary, and every answer comes from a listed subset", async () => {
    const { explanation, answers } = await expectAgreement({ url: "http://orders.mesh/orders/1001" }, { times: 40 });
    expect(subsetsOf(explanation)).toEqual([
      ["orders", "v1", 90],
      ["orders", "v2", 10],
    ]);
    expect(explanation.route?.tried[0]).toMatchObject({ ruleName: "canary-opt-in", matched: false, reasons: ["header x-canary missing"] });
    expect(explanation.route?.matched).toMatchObject({ route: "orders-canary", ruleName: "split" });
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });

  it("sends orders.mesh with x-canary: 1 to v2 only", async () => {
    const { explanation } = await expectAgreement({ url: "http://orders.mesh/orders/1001", headers: { "x-canary": "1" } }, { times: 10 });
    expect(subsetsOf(explanation)).toEqual([["orders", "v2", 100]]);
    expect(explanation.route?.matched).toMatchObject({ ruleName: "canary-opt-in", matchIndex: 0 });
  });

  it("sends httpbin.mesh with x-version: v2 to v2, and without it to v1", async () => {
    const v2 = await expectAgreement({ url: "http://httpbin.mesh/anything", headers: { "x-version": "v2" } }, { times: 5 });
    expect(subsetsOf(v2.explanation)).toEqual([["httpbin", "v2", 100]]);
    const v1 = await expectAgreement({ url: "http://httpbin.mesh/anything", headers: { "x-version": "v3" } }, { times: 5 });
    expect(v1.explanation.route?.tried[0]?.reasons).toEqual(['header x-version value "v3" does not match']);
    expect(subsetsOf(v1.explanation)).toEqual([["httpbin", "v1", 100]]);
  });

  it("rewrites ingress /httpbin/ to the path httpbin receives, and honours x-canary there", async () => {
    const canary = await expectAgreement({ url: "http://shop.example/httpbin/anything/deep?x=1", headers: { "x-canary": "1" } }, { times: 5 });
    expect(canary.explanation.route).toMatchObject({ hostKind: "ingress", table: { kind: "any", host: "*" } });
    expect(canary.explanation.route?.matched).toMatchObject({ ruleName: "httpbin-canary", public: true, upstreamPath: "/anything/deep" });
    expect(subsetsOf(canary.explanation)).toEqual([["httpbin", "v2", 100]]);
    expect(new Set(canary.answers.map((a) => a.path))).toEqual(new Set(["/anything/deep"]));

    const split = await expectAgreement({ url: "http://shop.example/httpbin/anything/deep" }, { times: 40 });
    expect(subsetsOf(split.explanation)).toEqual([
      ["httpbin", "v1", 90],
      ["httpbin", "v2", 10],
    ]);
    expect(split.explanation.settings?.fault).toMatchObject({ abort: { percent: 100, status: 503 }, applies: false });
  });

  it("predicts the injected fault for x-chaos: abort on the ingress httpbin rule", async () => {
    const { explanation } = await expectAgreement({ url: "http://shop.example/httpbin/anything", headers: { "x-chaos": "abort" } }, { times: 3 });
    expect(explanation.outcome).toMatchObject({ verdict: "fault", status: 503, code: "fault_injected" });
  });

  it("sends ingress / to the front end", async () => {
    const { explanation, answers } = await expectAgreement({ url: "http://shop.example/api/shop/products" });
    expect(explanation.route?.matched).toMatchObject({ route: "ingress", ruleName: "shop", upstreamPath: "/api/shop/products" });
    expect(subsetsOf(explanation)).toEqual([["frontend", null, 100]]);
    expect(explanation.destinations[0]?.endpoints).toEqual([expect.objectContaining({ id: "frontend/v1/0", target: { kind: "binding", binding: "FRONTEND" }, status: "healthy" })]);
    expect(answers[0]?.status).toBe(200);
  });

  it("answers 404 for an unknown mesh host, as the explanation says", async () => {
    const { explanation } = await expectAgreement({ url: "http://ghost.mesh/anything" });
    expect(explanation.outcome).toMatchObject({ verdict: "no_route", status: 404 });
    expect(explanation.route).toMatchObject({ hostKind: "mesh", found: false, reason: "no_host", table: null });
  });

  it("answers 404 when no rule of the host matches, listing the rule tried and why", async () => {
    const { explanation } = await expectAgreement({ method: "GET", url: "http://api.example/only" });
    expect(explanation.route).toMatchObject({ found: false, reason: "no_rule", table: { kind: "exact", host: "api.example" } });
    expect(explanation.route?.tried).toEqual([expect.objectContaining({ route: "api-only", ruleName: "only", reasons: ["method GET not in [POST]"] })]);
    // httpbin has no /only (its own 404), but v1 answers it: the request was routed.
    const post = await expectAgreement({ method: "POST", url: "http://api.example/only" });
    expect(subsetsOf(post.explanation)).toEqual([["httpbin", "v1", 100]]);
    expect(post.answers[0]?.version).toBe("v1");
  });

  it("refuses an encoded slash in the path before routing, as the gateway does", async () => {
    const { explanation } = await expectAgreement({ url: "http://shop.example/httpbin/a%2Fb" });
    expect(explanation.outcome).toMatchObject({ verdict: "refused", status: 400, code: "bad_request" });
  });

  it("reports the settings that apply: the service's timeout and retries, with its budget", async () => {
    const explanation = await explainOf({ url: "http://orders.mesh/orders/1001" });
    expect(explanation.settings?.services).toEqual([
      expect.objectContaining({
        service: "orders",
        timeout: { ms: 5000, source: "service" },
        retries: expect.objectContaining({ source: "service", attempts: 2, perTryTimeoutMs: 2000, budget: { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 } }),
        outlierDetection: expect.objectContaining({ consecutive5xx: 5, baseEjectionMs: 10_000 }),
      }),
    ]);
    expect(explanation.summary.length).toBeGreaterThan(5);
  });
});

describe("explain agrees with the gateway (shipped mesh, STRICT)", () => {
  let frontend = "";
  let catalog = "";
  beforeAll(async () => {
    const applied = await applyYaml(SHIPPED_MESH_YAML);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await functionsGatewayServes(applied.body.version ?? -1);
    frontend = await tokenFor("frontend");
    catalog = await tokenFor("catalog");
  });
  afterAll(async () => {
    await applyExampleMesh();
  });

  it("refuses an anonymous mesh call with 401 before reading any policy", async () => {
    const { explanation } = await expectAgreement({ url: "http://orders.mesh/orders" });
    expect(explanation.authorization).toMatchObject({ mode: "STRICT", identityCheck: "anonymous-refused-strict", decisions: [] });
    expect(explanation.outcome.status).toBe(401);
  });

  it("denies catalog calling orders with 403: no ALLOW policy matches it", async () => {
    const { explanation } = await expectAgreement({ from: "catalog", url: "http://orders.mesh/orders" }, { token: catalog });
    expect(explanation.authorization?.decisions).toEqual([
      expect.objectContaining({ service: "orders", allowed: false, reason: "no-allow-match", allowPolicies: ["orders-from-frontend"] }),
    ]);
    expect(explanation.outcome).toMatchObject({ verdict: "forbidden", status: 403 });
  });

  it("lets the front end call orders, allowed by the deciding policy", async () => {
    const { explanation } = await expectAgreement({ from: "frontend", url: "http://orders.mesh/orders" }, { token: frontend, times: 10 });
    expect(explanation.authorization?.decisions[0]).toMatchObject({ allowed: true, reason: "allowed-by-policy", policy: "orders-from-frontend" });
    expect(explanation.request.caller).toEqual({ kind: "service", service: "frontend", spiffeId: "spiffe://shop.weft/ns/default/sa/frontend" });
  });

  it("lets anyone use the public ingress httpbin", async () => {
    const { explanation, answers } = await expectAgreement({ url: "http://shop.example/httpbin/anything" }, { times: 10 });
    expect(explanation.authorization).toMatchObject({ identityCheck: "anonymous-public-route", publicRoute: true, allowed: true });
    expect(explanation.authorization?.decisions[0]).toMatchObject({ policy: "httpbin-public" });
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });
});

describe("the explain endpoint", () => {
  it.each([
    ["not JSON", "GET /", "the body must be JSON"],
    ["a relative url", JSON.stringify({ method: "GET", url: "/orders" }), "absolute http(s) URL"],
    ["no method", JSON.stringify({ url: "http://orders.mesh/" }), '"method"'],
    ["an unknown caller format", JSON.stringify({ from: "Not A Service", method: "GET", url: "http://orders.mesh/" }), '"from"'],
  ])("answers 400 bad_request for %s", async (_what, body, message) => {
    const response = await admin("/explain", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe("bad_request");
    expect(answer.error.message).toContain(message);
  });

  it("needs the admin token", async () => {
    const response = await admin("/explain", { method: "POST", headers: { authorization: "Bearer wrong" }, body: JSON.stringify({ method: "GET", url: "http://orders.mesh/" }) });
    expect(response.status).toBe(401);
  });
});

