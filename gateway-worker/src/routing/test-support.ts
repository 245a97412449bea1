/** Builders shared by the routing unit tests and the route-lookup benchmark. */
import { validateDocuments, type ConfigDocInput } from "@weft/sdk/config";
import { compileSnapshot } from "./compile.js";
import type { RequestFacts } from "./lookup.js";
import type { Snapshot } from "./snapshot.js";

export function snapshotOf(documents: unknown[], version = 1): Snapshot {
  const result = validateDocuments(documents);
  if (!result.ok) throw new Error(`test config refused: ${JSON.stringify(result.issues)}`);
  return compileSnapshot(result.value, version);
}

export function serviceDoc(name: string, subsets: string[] = ["v1"]): ConfigDocInput {
  return {
    apiVersion: "weft/v1",
    kind: "Service",
    metadata: { name },
    spec: { subsets: subsets.map((subset) => ({ name: subset, endpoints: [{ binding: `${name}_${subset}`.toUpperCase().replace(/-/g, "_") }] })) },
  };
}

export const routeDoc = (name: string, hosts: readonly string[], http: unknown[], isPublic = false) => ({ apiVersion: "weft/v1", kind: "Route", metadata: { name }, spec: { hosts, public: isPublic, http } });
export const policyDoc = (name: string, target: string, action: "ALLOW" | "DENY" | "AUDIT", rules: unknown[]) => ({ apiVersion: "weft/v1", kind: "AuthorizationPolicy", metadata: { name }, spec: { target, action, rules } });

/** The orders canary of the explain tests: an opt-in header to v2, writes to v1 with their own timeout, else 90/10. */
export const ordersCanaryRoute = () =>
  routeDoc("orders-canary", ["orders.mesh"], [
    { name: "canary-opt-in", match: [{ headers: { "x-canary": { exact: "1" } } }], destinations: [{ service: "orders", subset: "v2" }] },
    { name: "writes", match: [{ path: { prefix: "/orders" }, method: ["POST", "PUT"] }], timeout: "1s", retries: { attempts: 1 }, destinations: [{ service: "orders", subset: "v1" }] },
    { name: "split", destinations: [{ service: "orders", subset: "v1", weight: 90 }, { service: "orders", subset: "v2", weight: 10 }] },
  ]);

/** The explain tests' ingress rule for httpbin: a prefix rewrite, a 75/25 split, a mirror and a header-triggered abort. */
export const ingressHttpbinRule = (mirrorSubset: string) => ({
  name: "httpbin",
  match: [{ path: { prefix: "/httpbin/" } }],
  rewrite: { prefix: "/" },
  destinations: [{ service: "httpbin", subset: "v1", weight: 75 }, { service: "httpbin", subset: "v2", weight: 25 }],
  mirror: { service: "httpbin", subset: mirrorSubset, percent: 5 },
  fault: { abort: { percent: 100, status: 503 }, headers: { "x-chaos": { exact: "abort" } } },
});

export function facts(url: string, init: { method?: string; headers?: Record<string, string> } = {}): RequestFacts {
  const parsed = new URL(url);
  const headers = new Headers(init.headers);
  return { host: parsed.hostname, path: parsed.pathname, method: init.method ?? "GET", headers, query: parsed.searchParams };
}

/** A set with `count` prefix rules and `count` exact-path rules on the ingress host, plus their services. */
export function manyRoutes(count: number): unknown[] {
  const services = Array.from({ length: Math.min(count, 50) }, (_, i) => serviceDoc(`svc-${i}`));
  const rules = Array.from({ length: count }, (_, i) => ({
    match: [{ path: { prefix: `/api/v1/resource-${i}/` }, method: "GET" }],
    destinations: [{ service: `svc-${i % 50}` }],
  }));
  const exactRules = Array.from({ length: count }, (_, i) => ({
    match: [{ path: { exact: `/exact/${i}` } }],
    destinations: [{ service: `svc-${i % 50}` }],
  }));
  return [
    ...services,
    { apiVersion: "weft/v1", kind: "Route", metadata: { name: "many-prefixes" }, spec: { hosts: ["*"], http: rules } },
    { apiVersion: "weft/v1", kind: "Route", metadata: { name: "many-exact" }, spec: { hosts: ["*"], http: exactRules } },
  ];
}
