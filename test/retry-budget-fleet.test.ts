/**
 * The retry budget's floor follows the destination's fleet-wide traffic: the telemetry object
 * answers each flushed batch with the destination's request rate across every gateway isolate,
 * and an isolate that carries a small share of it keeps only that share of the per-second floor
 * (docs/reliability.md#retry-storms-at-fleet-scale).
 */
import { describe, expect, it } from "vitest";
import { applyOk } from "./helpers.js";
import { fakeEndpoint, poolMesh, testGateway, type TestGateway } from "./resilience-helpers.js";

const ADMIN = { authorization: "Bearer dev-admin-token" };

async function budgetOf(gateway: TestGateway, service: string): Promise<{ requests: number; retries: number; allowance: number }> {
  const registry = (await (await gateway.fetch("http://gw.test/.weft/api/v1/services", { headers: ADMIN })).json()) as { services: { name: string; retryBudget?: { requests: number; retries: number; allowance: number } }[] };
  const budget = registry.services.find((entry) => entry.name === service)?.retryBudget;
  if (!budget) throw new Error(`no retry budget for ${service}`);
  return budget;
}

describe("the retry budget's floor across gateway isolates", () => {
  it("shrinks to an isolate's share of the fleet once a flush tells it the destination's fleet-wide rate", async () => {
    const service = `fleet-${crypto.randomUUID().slice(0, 8)}`;
    await applyOk(poolMesh(service, ["UP"]));
    const up = fakeEndpoint(() => new Response("ok"));
    // A busy isolate elsewhere in the fleet: 1,000 requests, delivered to the telemetry object.
    const busy = testGateway({ UP: up });
    for (let i = 0; i < 1_000; i++) await busy.fetch(`http://${service}.mesh/x`);
    await busy.flush();

    // A quiet isolate: 10 requests. Until its own flush it knows only itself: the whole floor.
    const quiet = testGateway({ UP: up });
    for (let i = 0; i < 10; i++) await quiet.fetch(`http://${service}.mesh/x`);
    const alone = await budgetOf(quiet, service);
    expect(alone.requests).toBe(10);
    const ratioPart = 0.2 * alone.requests;
    expect(alone.allowance - ratioPart).toBeGreaterThan(0);

    await quiet.flush();
    const shared = await budgetOf(quiet, service);
    // Its 10 of the fleet's 1,010 requests: a small share of the floor is left.
    expect(shared.allowance - ratioPart).toBeLessThan((alone.allowance - ratioPart) / 2);
    expect(shared.allowance).toBeGreaterThanOrEqual(ratioPart);
  });
});
