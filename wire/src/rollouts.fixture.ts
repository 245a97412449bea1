/** A rollout as operators see it, for the tests of what shows one (CLI, dashboard, explain). */
import type { RolloutView } from "./rollouts.js";

/** orders-v2 at step 2 of 3 (v2 25%), one passed check behind it. */
export const ORDERS_ROLLOUT_VIEW: RolloutView = {
  name: "orders-v2",
  target: "orders",
  stable: "v1",
  canary: "v2",
  strategy: "Canary",
  state: { phase: "Progressing", step: 1, canaryWeight: 25, failedChecks: 0, lastCheckAt: "2026-05-01T11:59:00.000Z" },
  steps: ["setWeight 10", "setWeight 25", "setWeight 100"],
  nextCheckAt: "2026-05-01T12:00:00.000Z",
  analysis: { interval: "1m", threshold: 2, minRequests: 20, successRateMin: 99, latencyP99Max: "500ms" },
  checks: [{ at: "2026-05-01T11:59:00.000Z", outcome: "passed", canaryRequests: 40, successRate: 100, stableSuccessRate: 100, p99Ms: 12, findings: [] }],
};
