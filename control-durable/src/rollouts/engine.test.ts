import { describe, expect, it } from "vitest";
import { RolloutSpec, type RolloutSpecConfig } from "@weft/sdk/config";
import type { IntervalMetrics } from "./decide-step.js";
import { RolloutEngine, rolloutActor, type RolloutRecord, type RolloutStore } from "./engine.js";

const MINUTE = 60_000;
const T0 = Date.parse("2026-12-01T00:00:00Z");
const input = { target: "orders", stable: "v1", canary: "v2", steps: [10, 25, 50, 100].map((setWeight) => ({ setWeight })), analysis: { threshold: 2, minRequests: 50 } };
const spec = RolloutSpec.parse(input);

const HEALTHY: IntervalMetrics = { canary: { requests: 500, successRate: 1, p99Ms: 30 }, stable: { requests: 4500, successRate: 1, p99Ms: 30 } };
const FAILING: IntervalMetrics = { canary: { requests: 500, successRate: 0.8, p99Ms: 30 }, stable: HEALTHY.stable };
const QUIET: IntervalMetrics = { canary: { requests: 3, successRate: 1, p99Ms: 30 }, stable: HEALTHY.stable };

class MemoryStore implements RolloutStore {
  readonly records = new Map<string, RolloutRecord>();
  list() {
    return [...this.records.values()];
  }
  get(name: string) {
    return this.records.get(name);
  }
  put(record: RolloutRecord) {
    this.records.set(record.name, record);
  }
  delete(name: string) {
    this.records.delete(name);
  }
}

/** An engine over a memory store, a settable clock and canary metrics, recording the versions it writes. */
function harness(store = new MemoryStore()) {
  const clock = { now: T0 };
  const world = { metrics: HEALTHY, metricsAsked: 0 };
  const writes: { weight: number; actor: string; summary: string }[] = [];
  const engine = new RolloutEngine(
    {
      store,
      metrics: async (_spec: RolloutSpecConfig, windowMs: number) => {
        expect(windowMs).toBe(MINUTE);
        world.metricsAsked++;
        return world.metrics;
      },
      writeWeight: async (_spec, routing, actor, summary) => {
        writes.push({ weight: routing.canaryWeight, actor, summary });
      },
    },
    () => clock.now,
  );
  engine.reconcile([{ name: "orders-v2", spec }], new Set(), "admin");
  /** Fires the alarm `intervals` times, an interval apart, starting now. */
  const alarms = async (intervals: number) => {
    for (let i = 0; i < intervals; i++) {
      await engine.tick();
      clock.now += MINUTE;
    }
  };
  return { engine, store, clock, world, writes, alarms, state: () => store.get("orders-v2")?.state };
}

describe("the rollout engine", () => {
  it("drives a healthy canary to Succeeded, one config version per step, as rollout:<name>", async () => {
    const h = harness();
    await h.alarms(5);
    expect(h.writes.map((w) => w.weight)).toEqual([10, 25, 50, 100, 100]);
    expect(new Set(h.writes.map((w) => w.actor))).toEqual(new Set([rolloutActor("orders-v2")]));
    expect(h.writes[1]?.summary).toBe("rollout orders-v2 step 2; orders: v1 75%, v2 25%");
    expect(h.state()?.phase).toBe("Succeeded");
    expect(h.store.get("orders-v2")?.checks.map((c) => c.outcome)).toEqual(["passed", "passed", "passed", "passed"]);
    expect(h.engine.nextDueAt()).toBeUndefined();
  });

  it("rolls a failing canary back after `threshold` failed checks and stays there", async () => {
    const h = harness();
    h.world.metrics = FAILING;
    await h.alarms(6);
    expect(h.writes.map((w) => w.weight)).toEqual([10, 0]);
    expect(h.writes[1]?.summary).toMatch(/^rollout orders-v2 rolled back \(rolled back after 2 failed checks: success rate 80% below 99%\)/);
    expect(h.state()).toMatchObject({ phase: "Failed", canaryWeight: 0, failedChecks: 2 });
  });

  it("never moves on too little traffic", async () => {
    const h = harness();
    h.world.metrics = QUIET;
    await h.alarms(10);
    expect(h.writes.map((w) => w.weight)).toEqual([10]);
    expect(h.store.get("orders-v2")?.checks.every((c) => c.outcome === "inconclusive")).toBe(true);
  });

  it("does nothing more for an alarm delivered twice, and resumes at the same step after a restart", async () => {
    const h = harness();
    await h.alarms(2); // 10, then 25 (the last alarm at T0 + 1 min)
    h.clock.now = T0 + MINUTE;
    await h.engine.tick(); // the same alarm again
    h.clock.now = T0 + MINUTE + 30_000;
    await h.engine.tick(); // early: the next check is an interval after the last
    expect(h.writes.map((w) => w.weight)).toEqual([10, 25]);
    // A new engine over the same stored records (the object restarted) goes on from step 2.
    const restarted = new RolloutEngine({ store: h.store, metrics: async () => HEALTHY, writeWeight: async (_s, routing, actor, summary) => void h.writes.push({ weight: routing.canaryWeight, actor, summary }) }, () => T0 + 2 * MINUTE);
    await restarted.tick();
    expect(h.writes.map((w) => w.weight)).toEqual([10, 25, 50]);
  });

  it("is paused by an operator's apply that changes its target, and resume continues from the paused step", async () => {
    const h = harness();
    await h.alarms(2);
    h.engine.reconcile([{ name: "orders-v2", spec }], new Set(["orders"]), "admin");
    expect(h.state()).toMatchObject({ phase: "Paused", canaryWeight: 25, reason: "paused: admin applied a config that changes orders" });
    await h.alarms(3);
    expect(h.writes.map((w) => w.weight)).toEqual([10, 25]);
    // Its own versions, and applies that leave its target alone, do not pause it.
    expect(await h.engine.command("orders-v2", { kind: "resume" })).toMatchObject({ ok: true });
    h.engine.reconcile([{ name: "orders-v2", spec }], new Set(["orders"]), rolloutActor("orders-v2"));
    h.engine.reconcile([{ name: "orders-v2", spec }], new Set(["catalog"]), "admin");
    h.clock.now += MINUTE;
    await h.alarms(1);
    expect(h.state()).toMatchObject({ phase: "Progressing", canaryWeight: 50 });
  });

  it("starts over when the spec changes, and forgets a rollout whose document is gone", async () => {
    const h = harness();
    await h.alarms(2);
    const changed = RolloutSpec.parse({ ...input, steps: [{ setWeight: 5 }, { setWeight: 100 }] });
    h.engine.reconcile([{ name: "orders-v2", spec: changed }], new Set(["orders"]), "admin");
    expect(h.state()).toMatchObject({ phase: "Initialized", canaryWeight: 0 });
    await h.engine.tick();
    expect(h.writes.at(-1)?.weight).toBe(5);
    h.engine.reconcile([], new Set(), "admin");
    expect(h.store.records.size).toBe(0);
    expect(h.engine.nextDueAt()).toBeUndefined();
  });

  it("carries out operator commands, and refuses one for a rollout it does not know", async () => {
    const h = harness();
    await h.alarms(1);
    expect(await h.engine.command("orders-v2", { kind: "abort", reason: "aborted by admin" })).toMatchObject({ ok: true });
    expect(h.writes.map((w) => w.weight)).toEqual([10, 0]);
    expect(await h.engine.command("nope", { kind: "promote" })).toEqual({ ok: false, reason: 'no rollout named "nope"' });
    expect(await h.engine.command("orders-v2", { kind: "promote" })).toMatchObject({ ok: false, reason: expect.stringMatching(/has failed/) });
    expect(h.writes).toHaveLength(2);
  });

  it("asks for metrics only when a check is due, and says when the next alarm is needed", async () => {
    const h = harness();
    expect(h.engine.nextDueAt()).toBe(T0);
    await h.engine.tick();
    expect(h.world.metricsAsked).toBe(0); // starting needs no metrics
    expect(h.engine.nextDueAt()).toBe(T0 + MINUTE);
    await h.engine.tick();
    expect(h.world.metricsAsked).toBe(0); // not due yet
  });

  it("owns its target's weights from its first step while its document is unchanged, finished or not, except over its own writes", async () => {
    const h = harness();
    const same = [{ name: "orders-v2", spec }];
    expect(h.engine.weightsOwned(same, "admin")).toEqual([]); // not started: the file's weights stand
    await h.alarms(2);
    expect(h.engine.weightsOwned(same, "admin")).toEqual([{ spec, routing: { canaryWeight: 25 } }]);
    expect(h.engine.weightsOwned(same, rolloutActor("orders-v2"))).toEqual([]);
    expect(h.engine.weightsOwned([{ name: "orders-v2", spec: RolloutSpec.parse({ ...input, analysis: { threshold: 3 } }) }], "admin")).toEqual([]);
    await h.engine.command("orders-v2", { kind: "abort", reason: "aborted by admin" });
    expect(h.engine.weightsOwned(same, "admin")).toEqual([{ spec, routing: { canaryWeight: 0 } }]);
  });
});
