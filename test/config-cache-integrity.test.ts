/**
 * The colo cache may only save work, never decide what config is served: on Cloudflare every
 * Worker on a zone shares `caches.default`, so another mesh's gateway, or any Worker at all, can
 * read and write the same cache. Entries are keyed by the mesh's own identity and authenticated;
 * a foreign or forged entry is ignored and the control plane asked instead.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseAllDocuments } from "yaml";
import { createGateway } from "../gateway-worker/src/gateway.js";
import type { GatewayEnv } from "../gateway-worker/src/env.js";
import { shipped } from "../gateway-worker/src/config-test-support.js";
import { ADMIN_TOKEN, applyExampleMesh, applyOk, EXAMPLE_MESH_YAML, gatewayEnv, sendThrough } from "./helpers.js";

let applied = 0;
/** The example mesh in STRICT mode, with a route of its own so each apply is a new version (and clears the colo copy). */
function strictMesh(): string {
  applied++;
  return `${EXAMPLE_MESH_YAML.replace("mode: PERMISSIVE", "mode: STRICT")}
---
apiVersion: weft/v1
kind: Route
metadata: { name: cache-probe-${applied} }
spec:
  hosts: [cache-probe-${applied}.example.com]
  http: [{ destinations: [{ service: httpbin, subset: v1 }] }]
`;
}
const PERMISSIVE_DOCUMENTS: unknown[] = parseAllDocuments(EXAMPLE_MESH_YAML).map((document) => document.toJS());

/** Another mesh's gateway on the same zone: its own control plane (PERMISSIVE), the same colo cache. */
function otherMeshEnv(version: number): GatewayEnv {
  const id = { toString: () => "f".repeat(64), equals: () => false, name: "control" };
  // As a control Worker ships a version: with its normalized form, which is what gateways compile.
  const stub = { getSnapshot: async () => ({ changed: true as const, snapshot: shipped(version, PERMISSIVE_DOCUMENTS, new Date().toISOString()) }) };
  const namespace = { idFromName: () => id, get: () => stub } as unknown as GatewayEnv["CONTROL"];
  return { ...gatewayEnv, CONTROL: namespace, WEFT_ADMIN_TOKEN: "another-mesh-admin-token-of-32-characters!" };
}

describe("config snapshots in the colo cache", () => {
  let strictVersion = 0;
  beforeEach(async () => {
    strictVersion = await applyOk(strictMesh());
  });
  afterAll(async () => {
    await applyExampleMesh();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("keeps two meshes' gateways on one cache apart: a STRICT gateway never serves a PERMISSIVE mesh's snapshot", async () => {
    const other = createGateway();
    const otherEnv = otherMeshEnv(strictVersion + 1000);
    // PERMISSIVE: anonymous is fine there. The order list makes no peer call of its own (an order's
    // page on orders v2 calls catalog, whose timing under load is not what this test is about).
    const permissive = await sendThrough(other, "http://orders.mesh/orders", {}, otherEnv);
    expect({ status: permissive.status, body: await permissive.text() }).toMatchObject({ status: 200 });

    const strict = createGateway();
    const anonymous = await sendThrough(strict, "http://orders.mesh/orders/1001", {}, gatewayEnv);
    expect(anonymous.status).toBe(401);
    const health = (await (await sendThrough(strict, "http://gw.test/.weft/healthz", {}, gatewayEnv)).json()) as { configVersion: number };
    expect(health.configVersion).toBe(strictVersion);
  });

  it("never serves a forged entry under the mesh's own key: right key, tampered content, no or bad MAC", async () => {
    // Learn the key this mesh's gateways use by watching one store its snapshot.
    const put = vi.spyOn(caches.default, "put");
    const first = createGateway();
    expect((await sendThrough(first, "http://orders.mesh/orders/1001", {}, gatewayEnv)).status).toBe(401);
    expect(put).toHaveBeenCalled();
    const key = (put.mock.calls[0] as [Request, Response])[0];
    put.mockRestore();
    const stored = await caches.default.match(key);
    if (!stored) throw new Error("the gateway left no snapshot in the colo cache");
    const genuine = (await stored.json()) as { version: number; documents: unknown[] };
    expect(genuine.version).toBe(strictVersion);

    const forgeries: [string, Headers][] = [];
    // A well-formed snapshot a gateway could compile (normalized form included): only the MAC can refuse it.
    const tampered = JSON.stringify(shipped(strictVersion + 1, PERMISSIVE_DOCUMENTS, new Date().toISOString()));
    const withoutMac = new Headers(stored.headers);
    for (const name of [...withoutMac.keys()]) if (/mac|signature/i.test(name)) withoutMac.delete(name);
    forgeries.push([tampered, withoutMac]); // no MAC at all
    forgeries.push([tampered, new Headers(stored.headers)]); // the genuine entry's MAC on other content
    const badMac = new Headers(stored.headers);
    for (const name of [...badMac.keys()]) if (/mac|signature/i.test(name)) badMac.set(name, "A".repeat(43));
    forgeries.push([tampered, badMac]); // a MAC that is not one

    for (const [body, headers] of forgeries) {
      await caches.default.put(key, new Response(body, { headers }));
      const gateway = createGateway();
      const answer = await sendThrough(gateway, "http://orders.mesh/orders/1001", {}, gatewayEnv);
      expect(answer.status).toBe(401);
      const health = (await (await sendThrough(gateway, "http://gw.test/.weft/healthz", {}, gatewayEnv)).json()) as { configVersion: number };
      expect(health.configVersion).toBe(strictVersion);
      // Counted where operators look.
      const metrics = await sendThrough(gateway, "http://gw.test/.weft/metrics", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(await metrics.text()).toContain('weft_config_cache_rejected_total{reason="unauthenticated"} 1');
    }
  });
});
