import { describe, expect, it } from "vitest";
import { applyOk, sendMany } from "./helpers.js";
import { fakeEndpoint, manualClock, poolMesh, status, testGateway, type FakeEndpoint } from "./resilience-helpers.js";

interface ServicesView {
  services: { name: string; subsets: { endpoints: { id: string; status: string; health: string; timesEjected: number; ejectedUntil: string | null }[] }[] }[];
}

const OUTLIER_POLICY = "retries: { attempts: 1 }\noutlierDetection: { consecutive5xx: 5, baseEjectionTime: 30s, maxEjectionPercent: 50 }";

/** Four endpoints; `failing` decides per endpoint whether it answers 503. */
function pool(clock: { now: number }) {
  const failing = new Set<string>();
  const endpoints: Record<string, FakeEndpoint & { behaviour: unknown }> = {};
  for (const name of ["EP_A", "EP_B", "EP_C", "EP_D"]) {
    endpoints[name] = fakeEndpoint(() => (failing.has(name) ? status(503)() : status(200)()), () => clock.now);
  }
  return { failing, endpoints };
}

const callsTo = (endpoint: FakeEndpoint | undefined) => endpoint?.calls.length ?? 0;

describe("outlier detection", () => {
  it("ejects an endpoint after 5 consecutive 5xx, moves traffic to the others, and restores it after one good probe", async () => {
    await applyOk(poolMesh("pool", ["EP_A", "EP_B", "EP_C", "EP_D"], OUTLIER_POLICY));
    const clock = manualClock();
    const { failing, endpoints } = pool(clock);
    const gateway = testGateway(endpoints, { now: () => clock.now, sleep: clock.sleep });

    failing.add("EP_A");
    // Round robin: every 4th request reaches A; 5 failures there take 20 requests.
    for (let i = 0; i < 20; i++) await gateway.fetch("http://pool.mesh/");
    expect(callsTo(endpoints.EP_A)).toBe(5);

    const view = (await (await gateway.fetch("http://gw.test/.weft/api/v1/services", { headers: { authorization: "Bearer dev-admin-token" } })).json()) as ServicesView;
    const a = view.services.find((s) => s.name === "pool")?.subsets[0]?.endpoints.find((e) => e.id === "pool/v1/0");
    expect(a?.health).toBe("ejected");
    expect(a?.status).toBe("ejected");
    expect(a?.timesEjected).toBe(1);
    expect(a?.ejectedUntil).toBe(new Date(clock.now + 30_000).toISOString());

    // While ejected, A gets nothing and every request succeeds on the others.
    const statuses = await sendMany(60, 1, async () => (await gateway.fetch("http://pool.mesh/")).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(callsTo(endpoints.EP_A)).toBe(5);

    // After the ejection time: exactly one probe reaches A; it succeeds, and A is back in rotation.
    failing.delete("EP_A");
    clock.advance(30_000);
    await Promise.all(Array.from({ length: 8 }, () => gateway.fetch("http://pool.mesh/")));
    expect(callsTo(endpoints.EP_A)).toBe(6);
    for (let i = 0; i < 40; i++) await gateway.fetch("http://pool.mesh/");
    expect(callsTo(endpoints.EP_A)).toBeGreaterThanOrEqual(6 + 9);
  });

  it("ejects for longer the second time, and a failed probe ejects again at once", async () => {
    await applyOk(poolMesh("pool", ["EP_A", "EP_B", "EP_C", "EP_D"], OUTLIER_POLICY));
    const clock = manualClock();
    const { failing, endpoints } = pool(clock);
    const gateway = testGateway(endpoints, { now: () => clock.now, sleep: clock.sleep });
    failing.add("EP_A");
    for (let i = 0; i < 20; i++) await gateway.fetch("http://pool.mesh/");
    clock.advance(30_000);
    // The probe fails: A is ejected again, now for 2 × 30 s.
    for (let i = 0; i < 8; i++) await gateway.fetch("http://pool.mesh/");
    expect(callsTo(endpoints.EP_A)).toBe(6);
    clock.advance(30_000);
    for (let i = 0; i < 8; i++) await gateway.fetch("http://pool.mesh/");
    expect(callsTo(endpoints.EP_A)).toBe(6);
    clock.advance(30_000);
    for (let i = 0; i < 8; i++) await gateway.fetch("http://pool.mesh/");
    expect(callsTo(endpoints.EP_A)).toBe(7);
  });

  it("never ejects more than the maximum percentage of a pool", async () => {
    await applyOk(poolMesh("pool", ["EP_A", "EP_B", "EP_C", "EP_D"], OUTLIER_POLICY));
    const clock = manualClock();
    const { failing, endpoints } = pool(clock);
    const gateway = testGateway(endpoints, { now: () => clock.now, sleep: clock.sleep });
    for (const name of ["EP_A", "EP_B", "EP_C"]) failing.add(name);
    for (let i = 0; i < 200; i++) await gateway.fetch("http://pool.mesh/");
    const view = (await (await gateway.fetch("http://gw.test/.weft/api/v1/services", { headers: { authorization: "Bearer dev-admin-token" } })).json()) as ServicesView;
    const endpointsView = view.services.find((s) => s.name === "pool")?.subsets[0]?.endpoints ?? [];
    // 50% of 4: two ejected; the third failing endpoint keeps taking traffic.
    expect(endpointsView.filter((e) => e.health === "ejected")).toHaveLength(2);
    expect(callsTo(endpoints.EP_C) + callsTo(endpoints.EP_B) + callsTo(endpoints.EP_A)).toBeGreaterThan(10 + 50);
  });

  it("answers 503 no healthy upstream when every endpoint is out", async () => {
    await applyOk(poolMesh("single", ["EP_A"], OUTLIER_POLICY));
    const clock = manualClock();
    const { failing, endpoints } = pool(clock);
    const gateway = testGateway(endpoints, { now: () => clock.now, sleep: clock.sleep });
    failing.add("EP_A");
    for (let i = 0; i < 5; i++) expect((await gateway.fetch("http://single.mesh/")).status).toBe(503);
    const refused = await gateway.fetch("http://single.mesh/");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("x-weft-error")).toBe("no_healthy_upstream");
    expect(callsTo(endpoints.EP_A)).toBe(5);
  });
});

describe("circuit breaking", () => {
  it("answers 503 at once beyond the concurrency limit, and admits again once requests finish", async () => {
    await applyOk(poolMesh("narrow", ["EP_A"], "circuitBreaker: { maxConcurrentRequests: 2 }\nretries: { attempts: 1 }"));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = fakeEndpoint(async () => {
      await gate;
      return new Response("ok");
    });
    const gateway = testGateway({ EP_A: slow });
    const first = gateway.fetch("http://narrow.mesh/");
    const second = gateway.fetch("http://narrow.mesh/");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const third = await gateway.fetch("http://narrow.mesh/");
    expect(third.status).toBe(503);
    expect(third.headers.get("x-weft-error")).toBe("circuit_open");
    expect(slow.calls).toHaveLength(2);
    release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await gateway.fetch("http://narrow.mesh/")).status).toBe(200);
  });
});
