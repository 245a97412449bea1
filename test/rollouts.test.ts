/**
 * Rollouts driven by the control plane (docs/rollouts.md): a Rollout document applied with its
 * service; the control plane's alarm moves the canary's weight one config version at a time from
 * the canary's telemetry, which real traffic through a gateway produces. Time passes by moving the
 * rollout's last check back an interval in storage (the keys tests fast-forward the same way), then
 * running the object's alarm: no wall-clock waits.
 */
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTROL_PLANE_NAME, type ControlPlane } from "../control-durable/src/control-plane.js";
import { controlPlaneSource, createGateway } from "../gateway-worker/src/gateway.js";
import { admin, applyOk, applyYaml, gatewayEnv } from "./helpers.js";

const INTERVAL_MS = 10_000;

/**
 * A mesh whose service `name` (httpbin's two versions) has a Rollout; each test its own service, so
 * its own telemetry. Checks are judged on success rates: the p99 bound is set out of reach, so a
 * loaded machine's latency never adds a finding of its own.
 */
function meshYaml(name: string, rollout: string, path = "/anything"): string {
  const spec = rollout.replace("analysis: { ", "analysis: { latencyP99: { max: 30s }, ");
  return `
apiVersion: weft/v1
kind: Mesh
metadata: { name: mesh }
spec: { trustDomain: shop.weft, identity: { mode: PERMISSIVE } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: ${name} }
spec:
  subsets:
    - name: v1
      endpoints: [{ binding: HTTPBIN_V1 }]
    - name: v2
      endpoints: [{ binding: HTTPBIN_V2 }]
  trafficPolicy: { retries: { attempts: 1 } }
---
apiVersion: weft/v1
kind: Route
metadata: { name: ${name}-mesh }
spec:
  hosts: [${name}.mesh]
  http:
    - match: [{ path: { prefix: "${path}" } }]
      destinations: [{ service: ${name}, subset: v1 }]
---
apiVersion: weft/v1
kind: Rollout
metadata: { name: ${name}-v2 }
spec:
  { target: ${name}, stable: v1, canary: v2, ${spec} }`;
}

const control = () => gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));

/**
 * Sends `count` requests to `service` through a new gateway isolate that reads the control plane
 * directly (so it serves the newest version; gateways otherwise take up to their refresh interval),
 * counting answers by httpbin version and status, then flushes its telemetry.
 */
async function traffic(service: string, count: number, path: string): Promise<{ v2Share: number; failures: number }> {
  intervalTrafficFrom ??= Date.now();
  const fresh = createGateway({ configSource: controlPlaneSource });
  let v2 = 0;
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const ctx = createExecutionContext();
    const response = await fresh.fetch(new Request(`http://${service}.mesh${path}`) as Parameters<typeof fresh.fetch>[0], gatewayEnv, ctx);
    const text = await response.text();
    await waitOnExecutionContext(ctx);
    if (response.status >= 500) failures++;
    if (text.includes('"v2"')) v2++;
  }
  await fresh.flushTelemetry(gatewayEnv);
  return { v2Share: v2 / count, failures };
}

/** When the traffic of the interval under way began (a slow machine may take longer than an interval to send it). */
let intervalTrafficFrom: number | undefined;

/**
 * Moves the rollout's last check an interval back (or to before this interval's traffic began, if
 * sending it took longer), then runs the control plane's alarm: the check then judges all of it.
 */
async function nextInterval(): Promise<void> {
  const stub = control();
  const lastCheckAt = Math.min(Date.now() - INTERVAL_MS, (intervalTrafficFrom ?? Date.now()) - 1);
  intervalTrafficFrom = undefined;
  await runInDurableObject(stub, (_instance: ControlPlane, state) => {
    state.storage.sql.exec("UPDATE rollouts SET record = json_set(record, '$.state.lastCheckAt', ?)", lastCheckAt);
  });
  await runDurableObjectAlarm(stub);
}

/** The config versions a rollout wrote, newest first. */
async function rolloutVersions(name: string) {
  return (await control().history(100)).filter((record) => record.actor === `rollout:${name}`);
}

/** A rollout's stored record, as the engine keeps it. */
async function storedRecord(name: string): Promise<{ state: { lastCheckAt: number } & Record<string, unknown> } & Record<string, unknown>> {
  return runInDurableObject(control(), (_instance: ControlPlane, state) => JSON.parse(state.storage.sql.exec<{ record: string }>("SELECT record FROM rollouts WHERE name = ?", name).one().record));
}

async function status(name: string) {
  return (await control().rolloutStatus()).find((rollout) => rollout.name === name);
}

describe("a rollout run by the control plane", () => {
  beforeEach(() => {
    intervalTrafficFrom = undefined;
  });

  it("takes a healthy canary 10 → 25 → 50 → 100 → Succeeded in 4 intervals, each step a version the gateway serves", async () => {
    await applyOk(meshYaml("healthy", `steps: [{ setWeight: 10 }, { setWeight: 25 }, { setWeight: 50 }, { setWeight: 100 }], analysis: { interval: 10s, threshold: 2, minRequests: 50 }`));
    // The apply set the control plane's alarm for now: the rollout starts (by itself, or here).
    await runDurableObjectAlarm(control());
    for (const weight of [10, 25, 50, 100]) {
      expect((await status("healthy-v2"))?.state).toMatchObject({ phase: "Progressing", canaryWeight: weight });
      const { v2Share, failures } = await traffic("healthy", 2000, "/anything");
      expect(failures).toBe(0);
      expect(Math.abs(v2Share * 100 - weight), `at ${weight}%: ${(v2Share * 100).toFixed(1)}% reached v2`).toBeLessThanOrEqual(5);
      await nextInterval();
    }
    const done = await status("healthy-v2");
    expect(done?.state.phase).toBe("Succeeded");
    expect(done?.checks.map((check) => check.outcome)).toEqual(["passed", "passed", "passed", "passed"]);
    const history = await control().history(10);
    expect(history.filter((record) => record.actor === "rollout:healthy-v2").map((record) => record.summary).reverse()).toEqual([
      "rollout healthy-v2 step 1; healthy: v1 90%, v2 10%",
      "rollout healthy-v2 step 2; healthy: v1 75%, v2 25%",
      "rollout healthy-v2 step 3; healthy: v1 50%, v2 50%",
      "rollout healthy-v2 step 4; healthy: v1 0%, v2 100%",
    ]);
  });

  it("rolls a canary failing 20% back after exactly 2 failed checks, and then sends it nothing", async () => {
    await applyOk(meshYaml("failing", `steps: [{ setWeight: 20 }, { setWeight: 100 }], analysis: { interval: 10s, threshold: 2, minRequests: 50 }`, "/flaky"));
    await runDurableObjectAlarm(control());
    await traffic("failing", 600, "/flaky?rate=0.2");
    await nextInterval();
    expect((await status("failing-v2"))?.state).toMatchObject({ phase: "Progressing", canaryWeight: 20, failedChecks: 1 });
    await traffic("failing", 600, "/flaky?rate=0.2");
    await nextInterval();
    const failed = await status("failing-v2");
    expect(failed?.state).toMatchObject({ phase: "Failed", canaryWeight: 0, failedChecks: 2 });
    expect(failed?.state.reason).toMatch(/^rolled back after 2 failed checks: success rate \d+(\.\d+)?% below 99%$/);
    expect((await traffic("failing", 300, "/flaky?rate=0")).v2Share).toBe(0);
  });

  it("never advances while the canary gets too little traffic", async () => {
    await applyOk(meshYaml("quiet", `steps: [{ setWeight: 10 }, { setWeight: 100 }], analysis: { interval: 10s, minRequests: 500 }`));
    await runDurableObjectAlarm(control());
    for (let i = 0; i < 3; i++) {
      await traffic("quiet", 200, "/anything");
      await nextInterval();
    }
    const quiet = await status("quiet-v2");
    expect(quiet?.state).toMatchObject({ phase: "Progressing", canaryWeight: 10 });
    expect(quiet?.checks.map((check) => check.outcome)).toEqual(["inconclusive", "inconclusive", "inconclusive"]);
  });

  it("advances once for an alarm delivered twice, and once for a retried alarm whose state was lost after its version", async () => {
    await applyOk(meshYaml("twice", `steps: [{ setWeight: 10 }, { setWeight: 40 }, { setWeight: 70 }, { setWeight: 100 }], analysis: { interval: 10s, minRequests: 10 }`));
    await runDurableObjectAlarm(control());
    await traffic("twice", 400, "/anything");
    await nextInterval();
    await runDurableObjectAlarm(control()); // delivered again
    expect((await status("twice-v2"))?.state).toMatchObject({ phase: "Progressing", step: 1, canaryWeight: 40 });
    expect(await rolloutVersions("twice-v2")).toHaveLength(2);

    // An alarm that wrote its version but whose state write was lost is delivered again: it
    // decides from the stored state, writes the same weights (no new version) and moves on once.
    await traffic("twice", 200, "/anything");
    const before = await storedRecord("twice-v2");
    await nextInterval();
    expect((await status("twice-v2"))?.state).toMatchObject({ step: 2, canaryWeight: 70 });
    await runInDurableObject(control(), (_instance: ControlPlane, state) => {
      state.storage.sql.exec("UPDATE rollouts SET record = ? WHERE name = ?", JSON.stringify({ ...before, state: { ...before.state, lastCheckAt: Date.now() - INTERVAL_MS } }), "twice-v2");
    });
    await runDurableObjectAlarm(control());
    expect((await status("twice-v2"))?.state).toMatchObject({ phase: "Progressing", step: 2, canaryWeight: 70 });
    expect((await rolloutVersions("twice-v2")).map((record) => record.summary)).toEqual([
      "rollout twice-v2 step 3; twice: v1 30%, v2 70%",
      "rollout twice-v2 step 2; twice: v1 60%, v2 40%",
      "rollout twice-v2 step 1; twice: v1 90%, v2 10%",
    ]);
  });

  it("resumes at the same step after the control plane restarts mid-rollout", async () => {
    await applyOk(meshYaml("restarted", `steps: [{ setWeight: 20 }, { setWeight: 60 }, { setWeight: 100 }], analysis: { interval: 10s, minRequests: 10 }`));
    await runDurableObjectAlarm(control());
    await traffic("restarted", 200, "/anything");
    await nextInterval();
    expect((await status("restarted-v2"))?.state).toMatchObject({ step: 1, canaryWeight: 60 });

    // A restart: the object's instance is thrown away; the next call builds a new one from storage.
    // (workerd logs the abort as an uncaught exception: that is the restart.)
    await expect(
      runInDurableObject(control(), (instance: ControlPlane, state) => {
        Reflect.set(instance, "beforeRestart", true);
        state.abort("restart mid-rollout");
      }),
    ).rejects.toThrow("restart mid-rollout");
    expect(await runInDurableObject(control(), (instance: ControlPlane) => Reflect.get(instance, "beforeRestart"))).toBeUndefined();
    expect((await status("restarted-v2"))?.state).toMatchObject({ phase: "Progressing", step: 1, canaryWeight: 60 });
    const { v2Share } = await traffic("restarted", 2000, "/anything");
    expect(Math.abs(v2Share * 100 - 60)).toBeLessThanOrEqual(5);
    await nextInterval();
    expect((await status("restarted-v2"))?.state).toMatchObject({ phase: "Progressing", step: 2, canaryWeight: 100 });
  });

  it("keeps its weights over a re-applied file, pauses when an operator's apply changes the target, and resume continues from the paused step", async () => {
    const yaml = meshYaml("manual", `steps: [{ setWeight: 25 }, { setWeight: 50 }, { setWeight: 100 }], analysis: { interval: 10s, minRequests: 10 }`);
    await applyOk(yaml);
    await runDurableObjectAlarm(control());
    await traffic("manual", 200, "/anything");
    await nextInterval();
    expect((await status("manual-v2"))?.state).toMatchObject({ phase: "Progressing", step: 1, canaryWeight: 50 });

    // The same file again (as a GitOps tool re-applies it): the rollout owns the weights, so nothing changes.
    const versionsBefore = (await control().history(1))[0]?.version;
    const again = await applyYaml(yaml);
    expect([again.status, again.body.changed, again.body.version]).toEqual([200, false, versionsBefore]);
    expect((await status("manual-v2"))?.state.phase).toBe("Progressing");

    // The file with a change to the target's route (a timeout): applied with the rollout's weights, and the rollout pauses.
    await applyOk(yaml.replace("destinations: [{ service: manual, subset: v1 }]", "destinations: [{ service: manual, subset: v1 }]\n      timeout: 5s"));
    const paused = await status("manual-v2");
    expect(paused?.state).toMatchObject({ phase: "Paused", step: 1, canaryWeight: 50 });
    expect(paused?.state.reason).toMatch(/^paused: admin\S* applied a config that changes manual$/);
    // Paused: the weights stay where the rollout had them, and intervals pass without a decision.
    expect(Math.abs((await traffic("manual", 2000, "/anything")).v2Share * 100 - 50)).toBeLessThanOrEqual(5);
    await nextInterval();
    expect((await status("manual-v2"))?.state).toMatchObject({ phase: "Paused", step: 1 });

    const resumed = await admin("/rollouts/manual-v2/resume", { method: "POST" });
    expect(((await resumed.json()) as { state: unknown }).state).toMatchObject({ phase: "Progressing", step: 1, canaryWeight: 50 });
    const { v2Share } = await traffic("manual", 2000, "/anything");
    expect(Math.abs(v2Share * 100 - 50)).toBeLessThanOrEqual(5);
    await nextInterval();
    expect((await status("manual-v2"))?.state).toMatchObject({ phase: "Progressing", step: 2, canaryWeight: 100 });
    // The operator's timeout survived the rollout's versions.
    const config = (await (await admin("/config")).json()) as { documents: { kind: string; metadata: { name: string }; spec: { http: { timeout?: string }[] } }[] };
    expect(config.documents.find((doc) => doc.kind === "Route" && doc.metadata.name === "manual-mesh")?.spec.http[0]?.timeout).toBe("5s");
  });

  it("runs a blue/green release on mirrored copies: no live request reaches the canary before the one switch", async () => {
    await applyOk(meshYaml("mirrored", `strategy: BlueGreen, analysis: { interval: 10s, iterations: 2, minRequests: 50, mirror: true }`));
    await runDurableObjectAlarm(control());
    expect((await status("mirrored-v2"))?.state).toMatchObject({ phase: "Progressing", canaryWeight: 0, mirrorPercent: 100 });
    for (let i = 0; i < 2; i++) {
      expect((await traffic("mirrored", 200, "/anything")).v2Share).toBe(0);
      await nextInterval();
    }
    const done = await status("mirrored-v2");
    expect(done?.state).toMatchObject({ phase: "Succeeded", canaryWeight: 100 });
    expect(done?.state.mirrorPercent).toBeUndefined();
    // Each check judged the copies: at least the interval's 200 (a check reads whole minute rows).
    expect(done?.checks.map((check) => [check.outcome, check.canaryRequests >= 200])).toEqual([
      ["passed", true],
      ["passed", true],
    ]);
    expect((await traffic("mirrored", 100, "/anything")).v2Share).toBe(1);
    const history = await rolloutVersions("mirrored-v2");
    expect(history.map((record) => record.summary).reverse()).toEqual(["rollout mirrored-v2 step 1; mirrored: v1 100%, v2 0%, copies of 100% to v2", "rollout mirrored-v2 promoted v2; mirrored: v1 0%, v2 100%"]);
  });

  it("rolls back a blue/green release whose copies fail, before any live request reached it", async () => {
    await applyOk(meshYaml("shadowed", `strategy: BlueGreen, analysis: { interval: 10s, iterations: 3, minRequests: 50, mirror: true, mirrorWeight: 50 }`, "/flaky"));
    await runDurableObjectAlarm(control());
    expect((await traffic("shadowed", 400, "/flaky?rate=0.3")).v2Share).toBe(0);
    await nextInterval();
    const failed = await status("shadowed-v2");
    expect(failed?.state).toMatchObject({ phase: "Failed", canaryWeight: 0 });
    expect(failed?.state.reason).toMatch(/^rolled back after 1 failed check: success rate \d+(\.\d+)?% below 99%$/);
    // About half the requests were copied (mirrorWeight 50).
    expect(failed?.checks[0]?.canaryRequests).toBeGreaterThan(140);
    expect(failed?.checks[0]?.canaryRequests).toBeLessThan(260);
    const config = (await (await admin("/config")).json()) as { documents: { kind: string; metadata: { name: string }; spec: { http: { mirror?: unknown }[] } }[] };
    expect(config.documents.find((doc) => doc.kind === "Route" && doc.metadata.name === "shadowed-mesh")?.spec.http.map((rule) => rule.mirror)).toEqual([undefined]);
  });

  it("answers the admin API: status, and pause, resume and abort with the actor, refusing what makes no sense", async () => {
    await applyOk(meshYaml("operated", `steps: [{ setWeight: 30 }, { setWeight: 100 }], analysis: { interval: 10s }`));
    await runDurableObjectAlarm(control());
    const listed = (await (await admin("/rollouts")).json()) as { rollouts: { name: string; state: { phase: string; canaryWeight: number } }[] };
    expect(listed.rollouts.find((r) => r.name === "operated-v2")?.state).toMatchObject({ phase: "Progressing", canaryWeight: 30 });
    const command = (name: string, what: string) => admin(`/rollouts/${name}/${what}`, { method: "POST", headers: { "weft-actor": "carol" } });
    // explain says whose weights these are.
    const explained = (await (await admin("/explain", { method: "POST", body: JSON.stringify({ method: "GET", url: "http://operated.mesh/anything" }) })).json()) as { summary: string[]; rollout: unknown };
    expect(explained.summary).toContain("rollout: weights set by rollout operated-v2: v1 70%, v2 30% (Progressing, step 1 of 2 (setWeight 30); weft rollout status operated-v2)");
    expect(explained.rollout).toEqual({ name: "operated-v2", phase: "Progressing", step: 1, steps: 2, canaryWeight: 30, sets: "weights" });

    const paused = await command("operated-v2", "pause");
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { state: { phase: string; reason: string } }).state).toMatchObject({ phase: "Paused", reason: "paused by admin:carol" });
    const again = await command("operated-v2", "pause");
    expect([again.status, ((await again.json()) as { error: { message: string } }).error.message]).toEqual([400, "the rollout is already paused (paused by admin:carol)"]);
    expect(((await (await command("operated-v2", "resume")).json()) as { state: { phase: string } }).state.phase).toBe("Progressing");

    const aborted = await command("operated-v2", "abort");
    expect(((await aborted.json()) as { state: unknown }).state).toMatchObject({ phase: "Failed", canaryWeight: 0, reason: "aborted by admin:carol" });
    expect((await traffic("operated", 200, "/anything")).v2Share).toBe(0);
    const audit = (await (await admin("/audit")).json()) as { entries: { actor: string; action: string }[] };
    expect(audit.entries.filter((e) => e.actor === "admin:carol").map((e) => e.action)).toEqual(expect.arrayContaining(["rollout-pause", "rollout-resume", "rollout-abort"]));

    expect((await command("nope", "pause")).status).toBe(404);
    expect((await admin("/rollouts/nope")).status).toBe(404);
    expect((await command("operated-v2", "restart")).status).toBe(400);
    expect((await admin("/rollouts", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });
});
