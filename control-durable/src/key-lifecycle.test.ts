import { describe, expect, it } from "vitest";
import { applyPlan, planKeys, type KeyRecord, type RotationPolicy } from "./key-lifecycle.js";

const HOUR = 3_600_000;
const policy: RotationPolicy = { rotationMs: 24 * HOUR, prepareLeadMs: HOUR, retireGraceMs: 16 * 60_000 };

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

  it("only ever hands signing to a key that was published before, even over rapid rotations", () => {
    const kid = counter();
    let keys: KeyRecord[] = [];
    for (const [now, rotate] of [[0, false], [1_000, true], [2_000, true], [3_000, true]] as const) {
      const plan = planKeys(keys, now, policy, rotate);
      for (const action of plan.actions) {
        if (action.type === "activate") expect(keys.find((k) => k.kid === action.kid)?.state).toBe("prepared");
      }
      keys = applyPlan(keys, plan, now, kid);
    }
    expect(keys.filter((k) => k.state === "active")).toHaveLength(1);
  });

  it("signs with a fresh key at once when none was ready (an older mesh), and readies the next", () => {
    const plan = planKeys([{ kid: "old", state: "active", createdAt: 0, activatedAt: 0, retiredAt: null, removeAfter: null }], HOUR, policy, true);
    expect(plan.actions).toEqual([
      { type: "generate", state: "active" },
      { type: "retire", kid: "old", removeAfter: HOUR + policy.retireGraceMs },
      { type: "generate", state: "prepared" },
    ]);
  });

  it("never removes a retired key before the longest token it signed has expired plus skew", () => {
    const { keys } = simulate(24 * HOUR + 10 * 60_000, 60_000);
    const retired = keys.find((k) => k.state === "retired");
    expect(retired?.removeAfter).toBe(24 * HOUR + policy.retireGraceMs);
  });
});
