import { describe, expect, it } from "vitest";
import { applyOk, sendMany } from "./helpers.js";
import { fakeEndpoint, manualClock, poolMesh, testGateway } from "./resilience-helpers.js";

const ok = () => fakeEndpoint(() => new Response("ok"));

describe("local rate limits", () => {
  it("admits B + 5·R over 5 s offered well above R, and answers the rest 429 with Retry-After", async () => {
    const rate = 40;
    const burst = 25;
    await applyOk(poolMesh("limited", ["LIMITED"], `rateLimit: { requestsPerSecond: ${rate}, burst: ${burst} }`));
    const clock = manualClock();
    const upstream = ok();
    const gateway = testGateway({ LIMITED: upstream }, { now: () => clock.now, sleep: clock.sleep });
    let admitted = 0;
    const refusals: Response[] = [];
    // 400 requests/s (10× the rate) for 5 s, in steps of 10 ms.
    for (let step = 0; step < 500; step++) {
      for (let i = 0; i < 4; i++) {
        const response = await gateway.fetch("http://limited.mesh/");
        if (response.status === 200) admitted++;
        else refusals.push(response);
      }
      clock.advance(10);
    }
    const expected = burst + 5 * rate;
    expect(admitted).toBeGreaterThanOrEqual(expected * 0.95);
    expect(admitted).toBeLessThanOrEqual(expected * 1.05);
    expect(upstream.calls).toHaveLength(admitted);
    expect(refusals.length).toBe(2000 - admitted);
    const refusal = refusals[0]!;
    expect(refusal.status).toBe(429);
    expect(refusal.headers.get("x-weft-error")).toBe("rate_limited");
    expect(Number(refusal.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("keeps one bucket per caller with per: source", async () => {
    await applyOk(`${poolMesh("percaller", ["PERCALLER"], "rateLimit: { requestsPerSecond: 1, burst: 3, per: source }")}`);
    const clock = manualClock();
    const gateway = testGateway({ PERCALLER: ok() }, { now: () => clock.now });
    // Anonymous callers share one bucket: 3 admitted, then refused.
    const anonymous = await sendMany(5, 1, async () => (await gateway.fetch("http://percaller.mesh/")).status);
    expect(anonymous).toEqual([200, 200, 200, 429, 429]);
  });
});

describe("global rate limits", () => {
  it("hold across gateway isolates: two gateways together admit about B + T·R", async () => {
    const rate = 20;
    const burst = 10;
    await applyOk(poolMesh("global", ["GLOBAL"], `rateLimit: { requestsPerSecond: ${rate}, burst: ${burst}, scope: global }`));
    const upstream = ok();
    const isolates = [testGateway({ GLOBAL: upstream }), testGateway({ GLOBAL: upstream })];
    const started = Date.now();
    const seconds = 2;
    let admitted = 0;
    let refused = 0;
    while (Date.now() - started < seconds * 1000) {
      const answers = await Promise.all(isolates.flatMap((gateway) => [gateway.fetch("http://global.mesh/"), gateway.fetch("http://global.mesh/")]));
      for (const answer of answers) {
        if (answer.status === 200) admitted++;
        else if (answer.status === 429) refused++;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsed = (Date.now() - started) / 1000;
    // Each isolate alone would admit its own B + T·R; together they share one bucket.
    expect(admitted).toBeLessThanOrEqual(burst + elapsed * rate + 2);
    expect(admitted).toBeGreaterThanOrEqual((burst + seconds * rate) * 0.8);
    expect(refused).toBeGreaterThan(admitted);
  });
});
