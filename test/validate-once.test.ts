/**
 * An apply validates its document set once, in the control plane; gateways compile the stored
 * normalized form without validating it again, and mints, JWKS reads and registry views read the
 * current version's cached config. A rollback re-validates the old version against today's
 * schema, counted apart.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_NAME, type ControlPlane } from "../control-durable/src/control-plane.js";
import { createGateway } from "../gateway-worker/src/gateway.js";
import { admin, applyOk, applyYaml, EXAMPLE_MESH_YAML, gatewayEnv } from "./helpers.js";

type Counts = Record<"apply" | "rollback" | "load", number>;

function controlStub(): DurableObjectStub<ControlPlane> {
  const namespace = (env as unknown as { CONTROL: DurableObjectNamespace<ControlPlane> }).CONTROL;
  return namespace.get(namespace.idFromName(CONTROL_PLANE_NAME));
}

function counts(): Promise<Counts> {
  return runInDurableObject(controlStub(), (instance: ControlPlane) => instance.validationCounts());
}

function delta(after: Counts, before: Counts): Counts {
  return { apply: after.apply - before.apply, rollback: after.rollback - before.rollback, load: after.load - before.load };
}

let probes = 0;
/** The example mesh plus a route of its own, so every apply is a new version. */
function meshWithProbe(): string {
  probes++;
  return `${EXAMPLE_MESH_YAML}
---
apiVersion: weft/v1
kind: Route
metadata: { name: once-probe-${probes} }
spec:
  hosts: [once-probe-${probes}.example.com]
  http: [{ destinations: [{ service: httpbin, subset: v1 }], timeout: 2s }]
`;
}

async function healthOf(gateway: ReturnType<typeof createGateway>): Promise<{ configVersion?: number }> {
  const ctx = createExecutionContext();
  const response = await gateway.fetch(new Request("http://gateway.test/.weft/healthz") as Parameters<typeof gateway.fetch>[0], gatewayEnv, ctx);
  await waitOnExecutionContext(ctx);
  return (await response.json()) as { configVersion?: number };
}

describe("an apply validates its document set once", () => {
  it("validates once in the control plane per apply, and not again when a gateway installs or pulls it", async () => {
    await applyOk(meshWithProbe());
    const before = await counts();
    const version = await applyOk(meshWithProbe());
    // A new gateway isolate pulls the version from the control plane.
    expect((await healthOf(createGateway())).configVersion).toBe(version);
    expect(delta(await counts(), before)).toEqual({ apply: 1, rollback: 0, load: 0 });

    // What gateways pull carries the normalized form of exactly the stored documents.
    const answer = await runInDurableObject(controlStub(), (instance: ControlPlane) => instance.getSnapshot(null));
    expect(answer.changed).toBe(true);
    if (!answer.changed) return;
    expect(answer.snapshot.version).toBe(version);
    expect(answer.snapshot.normalized?.documents).toHaveLength(answer.snapshot.documents.length);
    const probe = answer.snapshot.normalized?.documents.find((doc) => doc.metadata.name === `once-probe-${probes}`);
    // Normalized: the duration is milliseconds, defaults are filled in.
    expect(probe?.kind === "Route" ? probe.spec.http[0]?.timeout : undefined).toBe(2000);
  });

  it("keeps line numbers on issues while validating only in the control plane", async () => {
    const before = await counts();
    const yaml = `${EXAMPLE_MESH_YAML}\n---\napiVersion: weft/v1\nkind: Route\nmetadata: { name: bad-timeout }\nspec:\n  hosts: [bad.example.com]\n  http:\n    - destinations: [{ service: httpbin }]\n      timeout: soon\n`;
    const result = await applyYaml(yaml);
    expect(result.status).toBe(400);
    const issue = result.body.error?.issues?.find((candidate) => candidate.path.endsWith("timeout"));
    expect(issue?.message).toMatch(/not a duration/);
    expect(issue?.line).toBe(yaml.split("\n").findIndex((line) => line.includes("timeout: soon")) + 1);
    expect(delta(await counts(), before)).toEqual({ apply: 1, rollback: 0, load: 0 });
  });

  it("re-validates a rollback target against today's schema, counted as a rollback, not an apply", async () => {
    const target = await applyOk(meshWithProbe());
    await applyOk(meshWithProbe());
    const before = await counts();
    const response = await admin("/config/rollback", { method: "POST", body: JSON.stringify({ version: target }) });
    expect(response.status).toBe(200);
    const created = ((await response.json()) as { version: number }).version;
    expect((await healthOf(createGateway())).configVersion).toBe(created);
    expect(delta(await counts(), before)).toEqual({ apply: 0, rollback: 1, load: 0 });
  });

  it("mints SVIDs and hop tokens, reads the JWKS and the registry 100 times without validating again", async () => {
    await applyOk(meshWithProbe());
    const result = await runInDurableObject(controlStub(), async (instance: ControlPlane) => {
      const before = instance.validationCounts();
      const first = await instance.mintToken("orders", 60, "test");
      for (let i = 0; i < 100; i++) {
        const svid = await instance.mintToken("orders", 60, "test");
        if (!svid.ok) throw new Error(svid.message);
        const hop = await instance.mintHopToken("spiffe://shop.weft/ns/default/sa/frontend", "orders");
        if (!hop) throw new Error("no hop token");
        await instance.jwks();
        if (instance.services().services.length === 0) throw new Error("empty registry");
      }
      return { first: first.ok, before, after: instance.validationCounts() };
    });
    expect(result.first).toBe(true);
    expect(delta(result.after, result.before)).toEqual({ apply: 0, rollback: 0, load: 0 });
  });
});
