/**
 * Retry storms at fleet scale: many gateway isolates, each with its own retry budget (the real
 * `RetryBudget`), in front of a destination that fails every attempt. Offered load is spread
 * evenly over the isolates; each request tries up to `attempts` times while its isolate's budget
 * allows. The fleet's load on the destination, attempts ÷ requests, is what the retry budget
 * promises to hold near 1 + ratio (1.2× by default). A per-isolate floor (`minPerSecond`) spent by
 * every isolate adds more the more isolates share the same traffic; scaled by each isolate's share
 * of the fleet-wide rate (what the telemetry objects answer every flush with), the fleet shares one.
 *
 * `npx tsx bench/retry-storm.ts` prints a table over fleet sizes and offered loads.
 */
import { pathToFileURL } from "node:url";
import { RetryBudget, type RetryBudgetSettings } from "../gateway-worker/src/resilience/retry-budget.js";
import { table } from "./route-lookup.js";

export interface FleetScenario {
  readonly isolates: number;
  /** Requests per second offered to the whole fleet. */
  readonly totalRps: number;
  readonly seconds: number;
  /** Tries per request (the first and its retries). */
  readonly attempts: number;
  readonly budget: RetryBudgetSettings;
  /** Whether each isolate knows the destination's fleet-wide rate (as after its first telemetry flush). */
  readonly fleetRateKnown?: boolean;
}

export interface FleetOutcome {
  readonly requests: number;
  readonly retries: number;
  /** Attempts the destination saw per original request. */
  readonly loadFactor: number;
}

/** Steps of 100 ms; each isolate's share of a step's requests is kept as a running fraction. */
export function simulateFleet(scenario: FleetScenario): FleetOutcome {
  const stepMs = 100;
  const start = 1_700_000_000_000;
  const budgets = Array.from({ length: scenario.isolates }, () => new RetryBudget(scenario.budget, start));
  const owed = new Float64Array(scenario.isolates);
  const perIsolatePerStep = scenario.totalRps / scenario.isolates / (1000 / stepMs);
  let requests = 0;
  let retries = 0;
  for (let now = start; now < start + scenario.seconds * 1000; now += stepMs) {
    // The telemetry objects answer every flush (5 s) with the fleet-wide rate.
    if (scenario.fleetRateKnown && (now - start) % 5_000 === 0) for (const budget of budgets) budget.noteFleetRate(scenario.totalRps, now);
    for (let i = 0; i < scenario.isolates; i++) {
      owed[i] = (owed[i] ?? 0) + perIsolatePerStep;
      const budget = budgets[i] as RetryBudget;
      while ((owed[i] ?? 0) >= 1) {
        owed[i] = (owed[i] ?? 0) - 1;
        requests++;
        budget.recordRequest(now);
        // Every attempt fails: retry while attempts remain and the budget allows.
        for (let attempt = 2; attempt <= scenario.attempts && budget.tryWithdraw(now); attempt++) retries++;
      }
    }
  }
  return { requests, retries, loadFactor: requests === 0 ? 0 : (requests + retries) / requests };
}

/** The retry settings weft ships by default: 3 attempts, 20% + 10/s over 10 s. */
export const SHIPPED: Pick<FleetScenario, "attempts" | "budget"> = { attempts: 3, budget: { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 } };

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  const rows: string[][] = [];
  for (const isolates of [1, 10, 100, 1_000]) {
    for (const totalRps of [100, 1_000, 10_000, 100_000]) {
      const alone = simulateFleet({ ...SHIPPED, isolates, totalRps, seconds: 60 });
      const shared = simulateFleet({ ...SHIPPED, isolates, totalRps, seconds: 60, fleetRateKnown: true });
      rows.push([String(isolates), String(totalRps), (totalRps / isolates).toFixed(1), alone.loadFactor.toFixed(2), shared.loadFactor.toFixed(2)]);
    }
  }
  console.log("A destination failing every attempt; 60 s; weft's shipped retry settings (3 attempts, 20% + 10/s):");
  console.log(table(["isolates", "offered req/s", "req/s per isolate", "attempts/request, floor per isolate", "attempts/request, floor by fleet share"], rows));
}
