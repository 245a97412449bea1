/**
 * A big apply never holds the control plane for long: it parses, validates and stores in slices,
 * and the object's other callers are answered in between. Applies still run one at a time, each
 * against the version the one before it left; a refused set stores nothing; and what a gateway
 * installs after an apply through it is the version it applied.
 */
import { env } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { validateDocuments } from "@weft/sdk/config";
import { CONTROL_PLANE_NAME, type ApplyConfigOutcome, type ControlPlane } from "../control-durable/src/control-plane.js";
import type { SnapshotAnswer } from "../wire/src/snapshot.js";
import { manyRoutes } from "../gateway-worker/src/routing/test-support.js";
import { admin, applyExampleMesh, applyOk, EXAMPLE_MESH_YAML, gateway } from "./helpers.js";

function controlStub(): DurableObjectStub<ControlPlane> {
  const namespace = (env as unknown as { CONTROL: DurableObjectNamespace<ControlPlane> }).CONTROL;
  return namespace.get(namespace.idFromName(CONTROL_PLANE_NAME));
}

/** `manyRoutes(rules / 2)` (half prefix, half exact rules over 50 services) plus a Route named `marker`. */
function bigSet(rules: number, marker: string): unknown[] {
  return [...manyRoutes(rules / 2), { apiVersion: "weft/v1", kind: "Route", metadata: { name: marker }, spec: { hosts: [`${marker}.example.com`], http: [{ destinations: [{ service: "svc-0" }] }] } }];
}

const asJson = (documents: unknown[]) => ({ format: "json" as const, text: JSON.stringify({ documents }) });

async function currentVersion(): Promise<number> {
  const answer = (await controlStub().getSnapshot(null)) as SnapshotAnswer;
  if (!answer.changed) throw new Error("an unconditional pull answered 'unchanged'");
  return answer.snapshot.version;
}

afterAll(async () => {
  // The next suite finds the example mesh, not 10,000 rules.
  await applyExampleMesh();
});

describe("an apply in slices", () => {
  it("answers the control plane's other callers while a 10,000-rule apply is under way, and commits the whole set at once", async () => {
    await applyOk(EXAMPLE_MESH_YAML);
    const stub = controlStub();
    const before = await currentVersion();
    let answered = false;
    const applying = stub.applyConfig(asJson(bigSet(10_000, "sliced")), { actor: "test" }).finally(() => {
      answered = true;
    });
    // One pull at a time, each sent once the last one was answered: every one answered before the
    // apply was served between two of its slices.
    const meanwhile: unknown[] = [];
    while (!answered) {
      const answer = await stub.getSnapshot(before);
      if (!answered) meanwhile.push(answer);
    }
    const outcome = await applying;
    expect(outcome).toMatchObject({ ok: true, changed: true, version: before + 1, previousVersion: before });
    expect(meanwhile.length).toBeGreaterThanOrEqual(3);
    // Until it committed, every caller saw the version before it.
    expect(meanwhile.every((answer) => JSON.stringify(answer) === JSON.stringify({ changed: false, version: before }))).toBe(true);
    const after = (await stub.getSnapshot(before)) as SnapshotAnswer;
    expect(after.changed && after.snapshot.version).toBe(before + 1);
    expect(after.changed && after.snapshot.normalized?.documents).toHaveLength(bigSet(10_000, "sliced").length);
  });

  it("runs concurrent applies one after the other, each against the version the one before it stored", async () => {
    const stub = controlStub();
    const before = await currentVersion();
    const markers = ["serial-a", "serial-b", "serial-c"];
    const outcomes = await Promise.all(markers.map((marker) => stub.applyConfig(asJson(bigSet(4_000, marker)), { actor: `test:${marker}` })));
    // In the order they committed (RPCs sent at once may arrive in any order): a chain of versions.
    const committed = outcomes.flatMap((outcome) => (outcome.ok ? [outcome] : [])).sort((a, b) => a.version - b.version);
    expect(committed.map((outcome) => [outcome.previousVersion, outcome.version])).toEqual([
      [before, before + 1],
      [before + 1, before + 2],
      [before + 2, before + 3],
    ]);
    // Each diff is against the version before it: the marker it replaced removed, its own added.
    const marker = (outcome: (typeof committed)[number]) => outcome.diff.added.map((ref) => ref.name);
    expect(committed.map(marker).flat().sort()).toEqual(markers);
    expect(committed.slice(1).map((outcome) => outcome.diff.removed)).toEqual(committed.slice(0, -1).map((outcome) => [{ kind: "Route", name: marker(outcome)[0] }]));
    const history = await stub.history(3);
    expect(history.map((record) => [record.version, record.actor])).toEqual(committed.reverse().map((outcome) => [outcome.version, `test:${marker(outcome)[0]}`]));
  });

  it("stores nothing when a big set is refused, with the issues one whole validation gives", async () => {
    const stub = controlStub();
    const historyBefore = await stub.history(5);
    const auditBefore = await stub.auditLog(5);
    type Rule = { timeout?: unknown; destinations: { service: string }[] };
    const documents = bigSet(10_000, "refused") as { metadata: { name: string }; spec: { http: Rule[] } }[];
    const routeNamed = (name: string): Rule[] => {
      const found = documents.find((document) => document.metadata.name === name);
      if (!found) throw new Error(`no route ${name} in the set`);
      return found.spec.http;
    };
    // A field refused inside the 7th slice of one Route, a reference the whole-set check refuses in the other's last rule.
    const exact = routeNamed("many-exact");
    const prefixes = routeNamed("many-prefixes");
    exact[2_500] = { ...exact[2_500], destinations: exact[2_500]?.destinations ?? [], timeout: "soon" };
    prefixes[4_999] = { ...prefixes[4_999], destinations: [{ service: "nowhere" }] };
    const outcome = (await stub.applyConfig(asJson(documents), { actor: "test" })) as ApplyConfigOutcome;
    const whole = validateDocuments(JSON.parse(JSON.stringify(documents)) as unknown[]);
    expect(whole.ok).toBe(false);
    expect(outcome).toEqual({ ok: false, reason: "invalid_config", issues: whole.ok ? [] : whole.issues });
    expect(outcome.ok || outcome.reason !== "invalid_config" ? [] : outcome.issues.map((issue) => issue.path)).toEqual(["spec.http[2500].timeout", "spec.http[4999].destinations[0].service"]);
    expect(await stub.history(5)).toEqual(historyBefore);
    expect(await stub.auditLog(5)).toEqual(auditBefore);
  });

  it("reads a big YAML body in slices and points its issues at their lines", async () => {
    const rules = Array.from({ length: 2_000 }, (_, i) => `    - { match: [{ path: { exact: /yaml/${i} } }], destinations: [{ service: svc-${i % 50} }], timeout: ${i === 1_987 ? "soon" : "1s"} }`);
    const services = manyRoutes(50).filter((document) => (document as { kind: string }).kind === "Service");
    const yaml = `${services.map((document) => JSON.stringify(document)).join("\n---\n")}\n---\napiVersion: weft/v1\nkind: Route\nmetadata: { name: yaml-big }\nspec:\n  hosts: ["*"]\n  http:\n${rules.join("\n")}\n`;
    const outcome = (await controlStub().applyConfig({ format: "yaml", text: yaml }, { actor: "test" })) as ApplyConfigOutcome;
    expect(outcome.ok || outcome.reason !== "invalid_config" ? [] : outcome.issues.map(({ path, line }) => ({ path, line }))).toEqual([
      { path: "spec.http[1987].timeout", line: yaml.split("\n").findIndex((line) => line.includes("timeout: soon")) + 1 },
    ]);
  });

  it("installs a 10,000-rule apply in the gateway that took it before answering", async () => {
    const response = await admin("/config", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ documents: bigSet(10_000, "installed") }) });
    expect(response.status).toBe(200);
    const { version } = (await response.json()) as { version: number };
    const health = (await (await gateway("http://gateway.test/.weft/healthz")).json()) as { configVersion?: number; ruleCount?: number };
    expect(health.configVersion).toBe(version);
    // The last exact rule is routed (its service has no binding here), a path past it is not.
    const last = await gateway("http://any.example.com/exact/4999");
    const past = await gateway("http://any.example.com/exact/5000");
    expect([last.status, ((await last.json()) as { error?: { code?: string } }).error?.code]).not.toEqual([404, "no_route"]);
    expect([past.status, ((await past.json()) as { error?: { code?: string } }).error?.code]).toEqual([404, "no_route"]);
  });
});
