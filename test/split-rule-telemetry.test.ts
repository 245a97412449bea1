/**
 * Answers the mesh gives before the split (401 and 403 from authorization, injected faults) on a
 * rule that splits between subsets of one service belong to that service: they show up in its
 * telemetry, its edges, its denials and its /.weft/metrics series, not under an empty destination.
 * The example mesh's split rules (orders-canary "split", ingress "httpbin") as shipped, STRICT.
 */
import { describe, expect, it } from "vitest";
import { applyOk, SHIPPED_MESH_YAML, tokenFor } from "./helpers.js";
import { testGateway } from "./resilience-helpers.js";

const ADMIN = { authorization: "Bearer dev-admin-token" };
/** As shipped (STRICT, with its policies), minus an access-log line per request. */
const MESH = SHIPPED_MESH_YAML.replace(/^  telemetry: .*$/m, "");

interface Golden {
  requests: number;
  successRate: number | null;
}
interface ServiceTelemetry {
  service: string;
  golden: Golden;
  edges: { source: string; destination: string; golden: Golden }[];
  counters: { name: string; labels: Record<string, string>; value: number }[];
}

/** The value of one sample line of the exposition (0 when absent). */
function sampleValue(text: string, prefix: string): number {
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

describe("answers given before the split are counted against the rule's service", () => {
  it("counts 403 and 401 on orders' split rule and faults on httpbin's ingress split under those services", async () => {
    await applyOk(MESH);
    const gateway = testGateway({});
    await gateway.reload();
    // The telemetry objects keep what earlier tests sent: compare before and after.
    const read = async () => {
      await gateway.flush();
      const orders = (await (await gateway.fetch("http://gw.test/.weft/api/v1/telemetry?service=orders&window=1h", { headers: ADMIN })).json()) as ServiceTelemetry;
      const httpbin = (await (await gateway.fetch("http://gw.test/.weft/api/v1/telemetry?service=httpbin&window=1h", { headers: ADMIN })).json()) as ServiceTelemetry;
      const metrics = await (await gateway.fetch("http://gw.test/.weft/metrics", { headers: ADMIN })).text();
      const denials = orders.counters.filter((c) => c.name === "authz_denials" && c.labels.source === "catalog" && c.labels.destination === "orders").reduce((n, c) => n + c.value, 0);
      return {
        denials,
        catalogEdge: orders.edges.find((e) => e.source === "catalog" && e.destination === "orders")?.golden.requests ?? 0,
        anonymousEdge: orders.edges.find((e) => e.source === "anonymous" && e.destination === "orders")?.golden.requests ?? 0,
        faults: httpbin.edges.find((e) => e.source === "anonymous" && e.destination === "httpbin")?.golden.requests ?? 0,
        forbidden: sampleValue(metrics, 'weft_requests_total{source="catalog",destination="orders",subset="",code="403"}'),
        unauthenticated: sampleValue(metrics, 'weft_requests_total{source="anonymous",destination="orders",subset="",code="401"}'),
        injected: sampleValue(metrics, 'weft_requests_total{source="anonymous",destination="httpbin",subset="",code="503"}'),
        deniedTotal: sampleValue(metrics, 'weft_authorization_denials_total{destination="orders",source="catalog"}'),
        unrouted: sampleValue(metrics, 'weft_requests_total{source="catalog",destination="",subset="",code="403"}'),
      };
    };
    const before = await read();

    // catalog may not call orders (only frontend may): 403 on the split rule (no x-canary).
    const catalog = await tokenFor("catalog");
    for (let i = 0; i < 5; i++) {
      const denied = await gateway.fetch("http://orders.mesh/orders/1001", { headers: { authorization: `Bearer ${catalog}` } });
      expect(denied.status).toBe(403);
    }
    // STRICT: an anonymous mesh call on the same rule is refused (401).
    for (let i = 0; i < 3; i++) expect((await gateway.fetch("http://orders.mesh/orders/1001")).status).toBe(401);
    // The ingress httpbin rule (90/10 v1/v2) injects a 503 on request, before the split.
    for (let i = 0; i < 4; i++) {
      const fault = await gateway.fetch("http://gw.test/httpbin/anything", { headers: { "x-chaos": "abort" } });
      expect(fault.status).toBe(503);
    }

    const after = await read();
    expect(after.denials - before.denials, "authz_denials counter of orders").toBe(5);
    expect(after.catalogEdge - before.catalogEdge, "catalog → orders edge").toBe(5);
    expect(after.anonymousEdge - before.anonymousEdge, "anonymous → orders edge").toBe(3);
    expect(after.faults - before.faults, "anonymous → httpbin edge").toBe(4);
    expect(after.forbidden - before.forbidden).toBe(5);
    expect(after.unauthenticated - before.unauthenticated).toBe(3);
    expect(after.injected - before.injected).toBe(4);
    expect(after.deniedTotal - before.deniedTotal).toBe(5);
    expect(after.unrouted - before.unrouted, "nothing counted under an empty destination").toBe(0);
  });
});
