import { describe, expect, it } from "vitest";
import { applyPlan, planKeys, type KeyRecord } from "./key-lifecycle.js";

const HOUR = 3_600_000;
/** How long a key is published before an on-demand rotation may hand it signing. */
const PUBLISH_LEAD = 60_000;
const policy = { rotationMs: 24 * HOUR, prepareLeadMs: HOUR, retireGraceMs: 16 * 60_000, publishLeadMs: PUBLISH_LEAD };

function counter() {
  let n = 0;
  return () => `k${++n}`;
}

/** Runs the plan at each instant the plan itself asks for, like the alarm does. */
function simulate(until: number, step?: number) {
  const kid = counter();
  let keys: KeyRecord[] = [];
  const log: string[] = [];
  let now = 0;
  while (now <= until) {
    const plan = planKeys(keys, now, policy);
    keys = applyPlan(keys, plan, now, kid);
    for (const action of plan.actions) log.push(`${now / HOUR}h ${action.type}${"kid" in action ? ` ${action.kid}` : ` ${action.state}`}`);
    // Invariant: exactly one key signs at every instant.
    expect(keys.filter((k) => k.state === "active")).toHaveLength(1);
    now = step ? now + step : plan.nextAt;
  }
  return { keys, log };
}

describe("signing-key rotation plan", () => {
  it("starts a fresh mesh with one active key and the next one already published", () => {
    const plan = planKeys([], 0, policy);
    expect(plan.actions).toEqual([
      { type: "generate", state: "active" },
      { type: "generate", state: "prepared" },
    ]);
    expect(plan.nextAt).toBe(24 * HOUR);
  });

  it("publishes each key a whole period before it signs, then retires the old one for the grace period", () => {
    const { log } = simulate(49 * HOUR);
    expect(log).toEqual([
      "0h generate active",
      "0h generate prepared",
      "24h activate k2",
      "24h retire k1",
      "24h generate prepared",
      `${(24 * HOUR + policy.retireGraceMs) / HOUR}h remove k1`,
      "48h activate k3",
      "48h retire k2",
      "48h generate prepared",
      `${(48 * HOUR + policy.retireGraceMs) / HOUR}h remove k2`,
    ]);
  });

  it("is idempotent: planning again at the same instant after applying does nothing", () => {
    const kid = counter();
    let keys: KeyRecord[] = [];
    for (const now of [0, 23 * HOUR, 24 * HOUR, 24 * HOUR + 20 * 60_000]) {
      keys = applyPlan(keys, planKeys(keys, now, policy), now, kid);
      expect(planKeys(keys, now, policy).actions).toEqual([]);
    }
  });

  it("keeps exactly one active key whatever the alarm cadence", () => {
    simulate(100 * HOUR, 7 * 60_000);
  });

  it("rotates on demand to the key that is already published, and prepares the next", () => {
    const kid = counter();
    let keys = applyPlan([], planKeys([], 0, policy), 0, kid);
    const now = 5 * HOUR;
    const plan = planKeys(keys, now, policy, true);
    expect(plan.actions).toEqual([
      { type: "activate", kid: "k2" },
      { type: "retire", kid: "k1", removeAfter: now + policy.retireGraceMs },
      { type: "generate", state: "prepared" },
    ]);
    keys = applyPlan(keys, plan, now, kid);
    expect(keys.map((k) => [k.kid, k.state])).toEqual([
      ["k1", "retired"],
      ["k2", "active"],
      ["k3", "prepared"],
    ]);
  });

  it("hands signing at once to a key published with the first one: no verifier ever fetched a key set without it", () => {
    const kid = counter();
    const keys = applyPlan([], planKeys([], 0, policy), 0, kid);
    const plan = planKeys(keys, 1_000, policy, true);
    expect(plan.actions).toEqual([
      { type: "activate", kid: "k2" },
      { type: "retire", kid: "k1", removeAfter: 1_000 + policy.retireGraceMs },
      { type: "generate", state: "prepared" },
    ]);
  });

  it("does not hand signing to a key published seconds ago: an on-demand rotation takes effect once it has been published for the lead", () => {
    const kid = counter();
    let keys = applyPlan([], planKeys([], 0, policy), 0, kid);
    // The scheduled rotation publishes k3; an operator rotates 10 s later.
    keys = applyPlan(keys, planKeys(keys, 24 * HOUR, policy), 24 * HOUR, kid);
    const requestedAt = 24 * HOUR + 10_000;
    const request = planKeys(keys, requestedAt, policy, true);
    expect(request.actions).toEqual([{ type: "schedule", kid: "k3", at: 24 * HOUR + PUBLISH_LEAD }]);
    expect(request.nextAt).toBe(24 * HOUR + PUBLISH_LEAD);
    keys = applyPlan(keys, request, requestedAt, kid);
    expect(keys.find((k) => k.state === "active")?.kid).toBe("k2");
    // Asking again changes nothing; nor does the schedule before the lead has passed.
    expect(planKeys(keys, requestedAt + 1_000, policy, true).actions).toEqual([]);
    expect(planKeys(keys, 24 * HOUR + PUBLISH_LEAD - 1, policy).actions).toEqual([]);
    const due = planKeys(keys, 24 * HOUR + PUBLISH_LEAD, policy);
    expect(due.actions).toEqual([
      { type: "activate", kid: "k3" },
      { type: "retire", kid: "k2", removeAfter: 24 * HOUR + PUBLISH_LEAD + policy.retireGraceMs },
      { type: "generate", state: "prepared" },
    ]);
  });

  it("only ever hands signing to a key published for the lead, even over rapid rotations", () => {
    const kid = counter();
    let keys: KeyRecord[] = [];
    const activations: number[] = [];
    for (let now = 0; now <= 5 * 60_000; now += 1_000) {
      const plan = planKeys(keys, now, policy, now > 0 && now % 3_000 === 0);
      for (const action of plan.actions) {
        if (action.type !== "activate") continue;
        const key = keys.find((k) => k.kid === action.kid);
        expect(key?.state).toBe("prepared");
        // The first keys are published together; every later key waits out the lead.
        if (key?.createdAt !== 0) expect(now - (key?.createdAt ?? 0)).toBeGreaterThanOrEqual(PUBLISH_LEAD);
        activations.push(now);
      }
      keys = applyPlan(keys, plan, now, kid);
      expect(keys.filter((k) => k.state === "active")).toHaveLength(1);
    }
    // Rotations requested every 3 s still happen, one per lead.
    expect(activations).toEqual([3_000, 3_000 + PUBLISH_LEAD, 3_000 + 2 * PUBLISH_LEAD, 3_000 + 3 * PUBLISH_LEAD, 3_000 + 4 * PUBLISH_LEAD]);
  });

  it("with no key ready (an older mesh), prepares one and hands it signing once it has been published for the lead", () => {
    const now = HOUR;
    const kid = counter();
    let keys: KeyRecord[] = [{ kid: "old", state: "active", createdAt: 0, activatedAt: 0, retiredAt: null, removeAfter: null, activateAt: null }];
    const plan = planKeys(keys, now, policy, true);
    expect(plan.actions).toEqual([{ type: "generate", state: "prepared", activateAt: now + PUBLISH_LEAD }]);
    expect(plan.nextAt).toBe(now + PUBLISH_LEAD);
    keys = applyPlan(keys, plan, now, kid);
    expect(planKeys(keys, now + PUBLISH_LEAD, policy).actions).toEqual([
      { type: "activate", kid: "k1" },
      { type: "retire", kid: "old", removeAfter: now + PUBLISH_LEAD + policy.retireGraceMs },
      { type: "generate", state: "prepared" },
    ]);
  });

  it("never removes a retired key before the longest token it signed has expired plus skew", () => {
    const { keys } = simulate(24 * HOUR + 10 * 60_000, 60_000);
    const retired = keys.find((k) => k.state === "retired");
    expect(retired?.removeAfter).toBe(24 * HOUR + policy.retireGraceMs);
  });
});
