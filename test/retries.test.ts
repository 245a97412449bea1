import { describe, expect, it } from "vitest";
import { createMeshClient, inboundDeadline, MeshError, propagationHeaders } from "@weft/sdk";
import { applyOk, gatewayEnv, sendMany } from "./helpers.js";
import { counted, fakeEndpoint, manualClock, poolMesh, status, testGateway } from "./resilience-helpers.js";

const httpbinV1 = (gatewayEnv as unknown as { HTTPBIN_V1: Fetcher }).HTTPBIN_V1;

describe("retries against a flaky upstream", () => {
  it("3 attempts against /flaky?rate=0.2 succeed ≥ 99% of the time for ≈1.24 upstream calls per request", async () => {
    await applyOk(poolMesh("flaky", ["FLAKY_HTTPBIN"], "retries: { attempts: 3, budget: { ratio: 1, minPerSecond: 1000 } }"));
    const upstream = counted(httpbinV1);
    // Backoff is real jitter but not waited for: the question here is how many calls, not when.
    const gateway = testGateway({ FLAKY_HTTPBIN: upstream }, { sleep: async () => undefined });
    const offered = 20_000;
    const statuses = await sendMany(offered, 32, async () => {
      const response = await gateway.fetch("http://flaky.mesh/flaky?rate=0.2");
      await response.body?.cancel();
      return response.status;
    });
    const success = statuses.filter((s) => s === 200).length / offered;
    const callsPerRequest = upstream.calls.length / offered;
    // Theory: 1 − 0.2³ = 99.2% success; 1 + 0.2 + 0.04 = 1.24 calls per request.
    expect(success).toBeGreaterThanOrEqual(0.99);
    expect(callsPerRequest).toBeGreaterThan(1.24 - 0.05);
    expect(callsPerRequest).toBeLessThan(1.24 + 0.05);
  });

  it("keeps a 100%-failing upstream under (1 + ratio) × offered + floor × seconds with the default budget", async () => {
    await applyOk(poolMesh("down", ["DOWN"], "retries: { attempts: 3 }"));
    const clock = manualClock();
    const upstream = fakeEndpoint(status(503), () => clock.now);
    const gateway = testGateway({ DOWN: upstream }, { now: () => clock.now, sleep: clock.sleep });
    const seconds = 30;
    const perSecond = 100;
    for (let second = 0; second < seconds; second++) {
      const start = clock.now;
      await sendMany(perSecond, 10, async () => (await gateway.fetch("http://down.mesh/x")).status);
      clock.now = start + 1000;
    }
    const offered = seconds * perSecond;
    // Default budget: 20% of requests plus 10 retries/s.
    expect(upstream.calls.length).toBeLessThanOrEqual(1.2 * offered + 10 * seconds);
    // What a naive 3-attempt policy would have sent.
    expect(upstream.calls.length).toBeLessThan(0.5 * 3 * offered);
    expect(upstream.calls.length).toBeGreaterThan(offered);
  });
});

describe("what is retried", () => {
  it("does not retry a POST unless the route allows it, and does retry a GET", async () => {
    await applyOk(poolMesh("writes", ["WRITES"], "retries: { attempts: 3 }"));
    const upstream = fakeEndpoint(status(503));
    const gateway = testGateway({ WRITES: upstream }, { sleep: async () => undefined });
    const post = await gateway.fetch("http://writes.mesh/orders", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(post.status).toBe(503);
    expect(upstream.calls).toHaveLength(1);

    upstream.calls.length = 0;
    const get = await gateway.fetch("http://writes.mesh/orders");
    expect(get.status).toBe(503);
    expect(upstream.calls).toHaveLength(3);
    expect(get.headers.get("x-weft-attempts")).toBe("3");
    expect(upstream.calls.map((c) => c.headers.get("x-weft-attempt"))).toEqual([null, "2", "3"]);
  });

  it("retries a POST, body and all, when the route says retryNonIdempotent", async () => {
    await applyOk(poolMesh("writes", ["WRITES"], "", "retries: { attempts: 3, retryNonIdempotent: true }"));
    const upstream = fakeEndpoint((_request, call) => (call < 3 ? status(503)() : new Response("created", { status: 201 })));
    const gateway = testGateway({ WRITES: upstream }, { sleep: async () => undefined });
    const body = '{"sku":"tea"}';
    const response = await gateway.fetch("http://writes.mesh/orders", { method: "POST", body, headers: { "content-type": "application/json", "content-length": String(body.length) } });
    expect(response.status).toBe(201);
    expect(upstream.calls.map((c) => c.body)).toEqual(['{"sku":"tea"}', '{"sku":"tea"}', '{"sku":"tea"}']);
  });

  it("never retries a body over 64 KiB", async () => {
    await applyOk(poolMesh("writes", ["WRITES"], "", "retries: { attempts: 3, retryNonIdempotent: true }"));
    const upstream = fakeEndpoint(status(503));
    const gateway = testGateway({ WRITES: upstream }, { sleep: async () => undefined });
    const big = "x".repeat(64 * 1024 + 1);
    const response = await gateway.fetch("http://writes.mesh/upload", { method: "PUT", body: big, headers: { "content-length": String(big.length) } });
    expect(response.status).toBe(503);
    expect(upstream.calls).toHaveLength(1);
    expect(upstream.calls[0]?.body).toHaveLength(big.length);
  });

  it("never retries a streamed body (no Content-Length), however small", async () => {
    await applyOk(poolMesh("writes", ["WRITES"], "", "retries: { attempts: 3, retryNonIdempotent: true }"));
    const upstream = fakeEndpoint(status(503));
    const gateway = testGateway({ WRITES: upstream }, { sleep: async () => undefined });
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("chunk"));
        controller.close();
      },
    });
    const response = await gateway.fetch("http://writes.mesh/upload", { method: "PUT", body: stream });
    expect(response.status).toBe(503);
    expect(upstream.calls.map((c) => c.body)).toEqual(["chunk"]);
  });

  it("does not retry what retryOn does not list, and retries listed codes", async () => {
    await applyOk(poolMesh("codes", ["CODES"], 'retries: { attempts: 2, retryOn: ["409", connect-failure] }'));
    const upstream = fakeEndpoint((request) => status(request.url.endsWith("/conflict") ? 409 : 503)());
    const gateway = testGateway({ CODES: upstream }, { sleep: async () => undefined });
    expect((await gateway.fetch("http://codes.mesh/unavailable")).status).toBe(503);
    expect(upstream.calls).toHaveLength(1);
    expect((await gateway.fetch("http://codes.mesh/conflict")).status).toBe(409);
    expect(upstream.calls).toHaveLength(3);
  });

  it("retries a connection failure and answers 502 when every attempt fails to connect", async () => {
    await applyOk(poolMesh("broken", ["BROKEN"], "retries: { attempts: 3 }"));
    const upstream = fakeEndpoint(() => {
      throw new Error("connection refused");
    });
    const gateway = testGateway({ BROKEN: upstream }, { sleep: async () => undefined });
    const response = await gateway.fetch("http://broken.mesh/");
    expect(response.status).toBe(502);
    expect(response.headers.get("x-weft-error")).toBe("upstream_failure");
    expect(upstream.calls).toHaveLength(3);
  });

  it("waits at least what Retry-After asks before the next attempt", async () => {
    await applyOk(poolMesh("busy", ["BUSY"], "retries: { attempts: 2 }"));
    const upstream = fakeEndpoint((_request, call) => (call === 1 ? status(503, { "retry-after": "1" })() : status(200)()));
    const gateway = testGateway({ BUSY: upstream });
    const response = await gateway.fetch("http://busy.mesh/");
    expect(response.status).toBe(200);
    const [first, second] = upstream.calls;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
  });

  it("sends the retry to another endpoint when there is one", async () => {
    await applyOk(poolMesh("spread", ["SPREAD_A", "SPREAD_B"], "retries: { attempts: 2 }"));
    const a = fakeEndpoint(status(503));
    const b = fakeEndpoint(status(503));
    const gateway = testGateway({ SPREAD_A: a, SPREAD_B: b }, { sleep: async () => undefined });
    for (let i = 0; i < 10; i++) await gateway.fetch("http://spread.mesh/");
    // Every request tried both endpoints once.
    expect(a.calls).toHaveLength(10);
    expect(b.calls).toHaveLength(10);
  });
});

describe("deadlines", () => {
  it("starts no attempt after the route's timeout and answers 504", async () => {
    await applyOk(poolMesh("slow", ["SLOW"], "timeout: 400ms\nretries: { attempts: 5, perTryTimeout: 150ms, backoff: { base: 1ms, max: 5ms } }"));
    const upstream = fakeEndpoint(() => new Promise<Response>(() => undefined));
    const gateway = testGateway({ SLOW: upstream });
    const started = Date.now();
    const response = await gateway.fetch("http://slow.mesh/");
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(response.headers.get("x-weft-error")).toBe("timeout");
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1000);
    expect(upstream.calls.length).toBeGreaterThanOrEqual(2);
    expect(upstream.calls.length).toBeLessThanOrEqual(3);
    for (const call of upstream.calls) expect(call.at - started).toBeLessThan(400);
  });

  it("times attempts on the injected clock and timers: the same 504 with no real time passing", async () => {
    await applyOk(poolMesh("slow", ["SLOW"], "timeout: 400ms\nretries: { attempts: 5, perTryTimeout: 150ms, backoff: { base: 1ms, max: 5ms } }"));
    const upstream = fakeEndpoint(() => new Promise<Response>(() => undefined));
    const clock = manualClock();
    const limits: number[] = [];
    // Each timer fires as soon as it is started, having moved the clock by its delay.
    const startTimer = (callback: () => void, ms: number) => {
      limits.push(ms);
      queueMicrotask(() => {
        clock.now += ms;
        callback();
      });
      return () => undefined;
    };
    const gateway = testGateway({ SLOW: upstream }, { now: () => clock.now, sleep: clock.sleep, startTimer });
    const started = Date.now();
    const response = await gateway.fetch("http://slow.mesh/");
    expect(response.status).toBe(504);
    expect(response.headers.get("x-weft-error")).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(150); // not one real per-try timeout
    // Two full per-try timeouts, then what was left of the 400 ms (less the backoff slept between).
    expect(limits.slice(0, 2)).toEqual([150, 150]);
    expect(limits[2]).toBeGreaterThan(85);
    expect(limits[2]).toBeLessThanOrEqual(100);
    expect(upstream.calls.length).toBe(3);
  });

  it("tells the destination its remaining budget, bounded by the caller's own", async () => {
    await applyOk(poolMesh("budget", ["BUDGET"], "timeout: 5s"));
    const upstream = fakeEndpoint(status(200));
    const gateway = testGateway({ BUDGET: upstream });
    await gateway.fetch("http://budget.mesh/");
    const routeBudget = Number(upstream.calls[0]?.headers.get("x-weft-deadline-ms"));
    expect(routeBudget).toBeGreaterThan(4900);
    expect(routeBudget).toBeLessThanOrEqual(5000);

    await gateway.fetch("http://budget.mesh/", { headers: { "x-weft-deadline-ms": "1200" } });
    const callerBudget = Number(upstream.calls[1]?.headers.get("x-weft-deadline-ms"));
    expect(callerBudget).toBeGreaterThan(1100);
    expect(callerBudget).toBeLessThanOrEqual(1200);
  });

  it("reaches the real httpbin with the budget in its headers", async () => {
    await applyOk(poolMesh("echo", ["HTTPBIN_V1"], "timeout: 3s"));
    const gateway = testGateway({});
    const body = (await (await gateway.fetch("http://echo.mesh/headers", { headers: { "x-weft-deadline-ms": "2500" } })).json()) as { headers: Record<string, string> };
    expect(Number(body.headers["x-weft-deadline-ms"])).toBeGreaterThan(2000);
    expect(Number(body.headers["x-weft-deadline-ms"])).toBeLessThanOrEqual(2500);
  });

  it("sends nothing when the caller's budget is already spent", async () => {
    await applyOk(poolMesh("budget", ["BUDGET"], "timeout: 5s"));
    const upstream = fakeEndpoint(status(200));
    const gateway = testGateway({ BUDGET: upstream });
    const response = await gateway.fetch("http://budget.mesh/", { headers: { "x-weft-deadline-ms": "0" } });
    expect(response.status).toBe(504);
    expect(upstream.calls).toHaveLength(0);
  });

  it("a caller's short budget cuts a slow call short", async () => {
    await applyOk(poolMesh("slow", ["SLOW"], "timeout: 10s"));
    const upstream = fakeEndpoint(() => new Promise<Response>(() => undefined));
    const gateway = testGateway({ SLOW: upstream });
    const started = Date.now();
    const response = await gateway.fetch("http://slow.mesh/", { headers: { "x-weft-deadline-ms": "200" } });
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("deadlines across hops, with the SDK", () => {
  /** A function's view: the request the gateway delivered to it, with its budget header. */
  const delivered = (budgetMs: number) => new Request("http://orders.mesh/orders/1", { headers: { "x-weft-deadline-ms": String(budgetMs) } });

  it("a function's peer call carries what is left of its own budget to the next destination", async () => {
    await applyOk(poolMesh("echo", ["HTTPBIN_V1"], "timeout: 10s"));
    const gateway = testGateway({});
    const mesh = createMeshClient({ fetch: (input: Request | string | URL, init?: RequestInit) => gateway.fetchRequest(new Request(input, init)) });
    const inbound = delivered(1500);
    inboundDeadline(inbound); // the clock starts when the function first sees the request
    await new Promise((resolve) => setTimeout(resolve, 200));
    const echo = (await (await mesh.fetch("echo", "/headers", { headers: propagationHeaders(inbound) })).json()) as { headers: Record<string, string> };
    const received = Number(echo.headers["x-weft-deadline-ms"]);
    // 1500 ms given, ~200 ms spent in the function before the call: the next hop gets ≤ 1300.
    expect(received).toBeGreaterThan(1000);
    expect(received).toBeLessThanOrEqual(1300);
  });

  it("a function whose budget is spent does not call its peer at all", async () => {
    const calls: Request[] = [];
    const mesh = createMeshClient({ fetch: async (input: Request | string | URL) => (calls.push(input as Request), new Response("unexpected")) });
    const inbound = delivered(50);
    inboundDeadline(inbound);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const failure = await mesh.fetch("echo", "/headers", { headers: propagationHeaders(inbound) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MeshError);
    expect((failure as MeshError).code).toBe("timeout");
    expect(calls).toHaveLength(0);
  });
});

describe("hedging", () => {
  it("sends a second attempt after the hedge delay to another endpoint; the first answer wins", async () => {
    await applyOk(poolMesh("hedged", ["HEDGE_A", "HEDGE_B"], "loadBalancer: { policy: ROUND_ROBIN }\nretries: { attempts: 2, hedge: { delay: 50ms } }"));
    let aborted = 0;
    const slow = fakeEndpoint(
      (request) =>
        new Promise<Response>((resolve) => {
          const timer = setTimeout(() => resolve(new Response("slow")), 2000);
          request.signal.addEventListener("abort", () => {
            aborted++;
            clearTimeout(timer);
          });
        }),
    );
    const fast = fakeEndpoint(() => new Response("fast"));
    const gateway = testGateway({ HEDGE_A: slow, HEDGE_B: fast });
    const started = Date.now();
    // Round robin starts at A (the slow one): the hedge goes to B.
    const response = await gateway.fetch("http://hedged.mesh/");
    expect(await response.text()).toBe("fast");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(slow.calls).toHaveLength(1);
    expect(fast.calls).toHaveLength(1);
    expect(fast.calls[0]?.headers.get("x-weft-attempt")).toBe("2");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(aborted).toBe(1);
  });

  it("does not hedge a POST", async () => {
    await applyOk(poolMesh("hedged", ["HEDGE_A", "HEDGE_B"], "retries: { attempts: 2, hedge: { delay: 20ms } }"));
    const a = fakeEndpoint(() => new Promise<Response>((resolve) => setTimeout(() => resolve(new Response("done")), 150)));
    const b = fakeEndpoint(() => new Promise<Response>((resolve) => setTimeout(() => resolve(new Response("done")), 150)));
    const gateway = testGateway({ HEDGE_A: a, HEDGE_B: b });
    expect((await gateway.fetch("http://hedged.mesh/", { method: "POST", body: "x" })).status).toBe(200);
    expect(a.calls.length + b.calls.length).toBe(1);
  });
});
