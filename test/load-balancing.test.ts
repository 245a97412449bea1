import { describe, expect, it } from "vitest";
import { applyOk, sendMany } from "./helpers.js";
import { fakeEndpoint, manualClock, poolMesh, testGateway, type FakeEndpoint } from "./resilience-helpers.js";

const named = (name: string, delayMs = 0, clock?: () => number) =>
  fakeEndpoint(async () => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return new Response(name);
  }, clock);

async function served(gateway: { fetch(url: string, init?: RequestInit & { cf?: Record<string, string> }): Promise<Response> }, url: string, init?: RequestInit & { cf?: Record<string, string> }): Promise<string> {
  const response = await gateway.fetch(url, init);
  expect(response.status).toBe(200);
  return response.text();
}

describe("least request", () => {
  async function slowShare(policy: string): Promise<number> {
    await applyOk(poolMesh("lr", ["LR_SLOW", "LR_B", "LR_C"], `loadBalancer: { policy: ${policy} }\nretries: { attempts: 1 }`));
    const endpoints = { LR_SLOW: named("slow", 40), LR_B: named("b", 2), LR_C: named("c", 2) };
    const gateway = testGateway(endpoints);
    const answers = await sendMany(300, 12, () => served(gateway, "http://lr.mesh/"));
    return answers.filter((a) => a === "slow").length / answers.length;
  }

  it("sends fewer requests to a slow endpoint than round robin does", async () => {
    const roundRobin = await slowShare("ROUND_ROBIN");
    const leastRequest = await slowShare("LEAST_REQUEST");
    expect(roundRobin).toBeCloseTo(1 / 3, 1);
    expect(leastRequest).toBeLessThan(roundRobin * 0.6);
  });
});

describe("consistent hash", () => {
  const endpointsOf = (count: number): Record<string, FakeEndpoint> =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`CH_${i}`, named(`ep-${i}`)]));
  const hashMesh = (count: number) =>
    poolMesh("sticky", Array.from({ length: count }, (_, i) => `CH_${i}`), "loadBalancer: { policy: CONSISTENT_HASH, hashOn: { header: x-user } }");

  it("keeps one key on one endpoint across 1,000 calls, and spreads different keys", async () => {
    await applyOk(hashMesh(4));
    const gateway = testGateway(endpointsOf(4));
    const same = await sendMany(1000, 10, () => served(gateway, "http://sticky.mesh/", { headers: { "x-user": "alice" } }));
    expect(new Set(same).size).toBe(1);
    const spread = await sendMany(400, 10, (i) => served(gateway, "http://sticky.mesh/", { headers: { "x-user": `user-${i}` } }));
    expect(new Set(spread).size).toBe(4);
  });

  it("moves at most 1/n + 5% of keys when an endpoint is added, all of them to the new endpoint", async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    await applyOk(hashMesh(4));
    const gateway = testGateway(endpointsOf(5));
    const before = await sendMany(keys.length, 10, (i) => served(gateway, "http://sticky.mesh/", { headers: { "x-user": keys[i]! } }));
    await applyOk(hashMesh(5));
    await gateway.reload();
    const after = await sendMany(keys.length, 10, (i) => served(gateway, "http://sticky.mesh/", { headers: { "x-user": keys[i]! } }));
    const moved = keys.filter((_, i) => before[i] !== after[i]);
    expect(moved.length / keys.length).toBeLessThanOrEqual(1 / 5 + 0.05);
    expect(moved.length).toBeGreaterThan(0);
    expect(new Set(keys.flatMap((_, i) => (before[i] !== after[i] ? [after[i]] : [])))).toEqual(new Set(["ep-4"]));
  });

  it("hashes on a cookie", async () => {
    await applyOk(poolMesh("sticky", ["CH_0", "CH_1", "CH_2"], "loadBalancer: { policy: CONSISTENT_HASH, hashOn: { cookie: session } }"));
    const gateway = testGateway(endpointsOf(3));
    const answers = await sendMany(200, 10, () => served(gateway, "http://sticky.mesh/", { headers: { cookie: "theme=dark; session=abc123" } }));
    expect(new Set(answers).size).toBe(1);
  });
});

describe("locality-aware routing", () => {
  const localityMesh = poolMesh(
    "near",
    [
      { binding: "LOC_LHR", locality: "LHR" },
      { binding: "LOC_FRA", locality: "EU" },
      { binding: "LOC_IAD", locality: "NA" },
    ],
    "retries: { attempts: 1 }\noutlierDetection: { consecutive5xx: 3, maxEjectionPercent: 100 }",
  );
  const london = { colo: "LHR", continent: "EU" };

  it("prefers the endpoint in the request's colo, then its continent, then the rest", async () => {
    await applyOk(localityMesh);
    const gateway = testGateway({ LOC_LHR: named("lhr"), LOC_FRA: named("fra"), LOC_IAD: named("iad") });
    expect(new Set(await sendMany(50, 5, () => served(gateway, "http://near.mesh/", { cf: london })))).toEqual(new Set(["lhr"]));
    expect(new Set(await sendMany(50, 5, () => served(gateway, "http://near.mesh/", { cf: { colo: "CDG", continent: "EU" } })))).toEqual(new Set(["fra"]));
    expect(new Set(await sendMany(50, 5, () => served(gateway, "http://near.mesh/", { cf: { colo: "NRT", continent: "AS" } })))).toEqual(new Set(["lhr", "fra", "iad"]));
  });

  it("fails over to the continent when the local endpoint is ejected, and back when it recovers", async () => {
    await applyOk(localityMesh);
    const clock = manualClock();
    let londonDown = true;
    const lhr = fakeEndpoint(() => (londonDown ? new Response("down", { status: 503 }) : new Response("lhr")), () => clock.now);
    const gateway = testGateway({ LOC_LHR: lhr, LOC_FRA: named("fra"), LOC_IAD: named("iad") }, { now: () => clock.now, sleep: clock.sleep });
    for (let i = 0; i < 3; i++) expect((await gateway.fetch("http://near.mesh/", { cf: london })).status).toBe(503);
    expect(new Set(await sendMany(30, 5, () => served(gateway, "http://near.mesh/", { cf: london })))).toEqual(new Set(["fra"]));
    expect(lhr.calls).toHaveLength(3);
    londonDown = false;
    clock.advance(30_000);
    expect(await served(gateway, "http://near.mesh/", { cf: london })).toBe("lhr");
    expect(new Set(await sendMany(30, 5, () => served(gateway, "http://near.mesh/", { cf: london })))).toEqual(new Set(["lhr"]));
  });
});
