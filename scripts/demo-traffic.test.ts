import { describe, expect, it } from "vitest";
import {
  DEFAULT_RATE,
  DEFAULT_URL,
  formatOutcomes,
  formatSummary,
  MAX_RATE,
  parseDemoArgs,
  planRequests,
  startDemoTraffic,
  targetUrl,
} from "./demo-traffic.js";
import { banner, parseDevArgs } from "./dev.js";

/** The example shop's public routes (examples/mesh.yaml, examples/frontend, examples/httpbin). */
const KNOWN_PATH = /^\/(|api\/shop\/products|api\/shop\/orders\/1001|httpbin\/anything|httpbin\/flaky\?rate=0\.3|httpbin\/status\/503|httpbin\/delay\/\d+)$/;

describe("planRequests", () => {
  it("is a pure function of the seed", () => {
    expect(planRequests(42, 200)).toEqual(planRequests(42, 200));
    expect(planRequests(42, 200)).not.toEqual(planRequests(43, 200));
    // A longer plan starts with the shorter one.
    expect(planRequests(7, 500).slice(0, 50)).toEqual(planRequests(7, 50));
    expect(planRequests(1, 0)).toEqual([]);
  });

  it("refuses a count that is not a whole number", () => {
    for (const n of [-1, 1.5, Number.NaN]) expect(() => planRequests(1, n)).toThrow(/n must be/);
  });

  it("only uses the example shop's public routes, as GETs on the mesh's own origin", () => {
    for (const request of planRequests(2024, 2_000)) {
      expect(request.path).toMatch(KNOWN_PATH);
      expect(targetUrl(DEFAULT_URL, request.path).origin).toBe(DEFAULT_URL);
      expect(Object.keys(request.headers).every((name) => ["accept", "x-canary"].includes(name))).toBe(true);
    }
  });

  it("mixes the shop, httpbin, canary opt-ins and failures in gentle proportions", () => {
    const plan = planRequests(99, 4_000);
    const share = (test: (path: string, headers: Record<string, string>) => boolean) => plan.filter((r) => test(r.path, r.headers)).length / plan.length;
    expect(share((p) => p === "/" || p.startsWith("/api/shop/"))).toBeGreaterThan(0.35);
    expect(share((p) => p.startsWith("/httpbin/"))).toBeGreaterThan(0.45);
    expect(share((p) => p === "/api/shop/orders/1001")).toBeGreaterThan(0.1);
    expect(share((p, h) => p === "/api/shop/orders/1001" && h["x-canary"] === "1")).toBeGreaterThan(0.03);
    expect(share((p, h) => p.startsWith("/httpbin/") && h["x-canary"] === "1")).toBeGreaterThan(0.02);
    expect(share((p) => p.startsWith("/httpbin/flaky"))).toBeGreaterThan(0.08);
    // Hard failures are occasional: enough to see, not enough to exhaust the retry budget.
    const always503 = share((p) => p === "/httpbin/status/503");
    expect(always503).toBeGreaterThan(0.005);
    expect(always503).toBeLessThan(0.05);
  });

  it("spreads /httpbin/delay over fast, slow and a tail", () => {
    const delays = planRequests(5, 4_000)
      .map((r) => /^\/httpbin\/delay\/(\d+)$/.exec(r.path)?.[1])
      .filter((ms): ms is string => ms !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    expect(delays.length).toBeGreaterThan(500);
    const at = (q: number) => delays[Math.floor(q * (delays.length - 1))] ?? Number.NaN;
    expect(at(0.5)).toBeLessThan(100);
    expect(at(0.95)).toBeGreaterThan(250);
    expect(delays[0]).toBeGreaterThanOrEqual(5);
    expect(delays.at(-1)).toBeGreaterThan(1_000);
    // Well inside the httpbin service timeout (15s) and httpbin's own cap (10s).
    expect(delays.at(-1)).toBeLessThanOrEqual(2_500);
  });
});

describe("targetUrl", () => {
  it("never leaves the mesh's origin", () => {
    expect(targetUrl("http://127.0.0.1:8899", "/httpbin/anything").href).toBe("http://127.0.0.1:8899/httpbin/anything");
    for (const path of ["//evil.example/x", "http://evil.example/", "evil", ""]) expect(() => targetUrl(DEFAULT_URL, path)).toThrow();
  });
});

describe("summary lines", () => {
  it("lists outcomes in a stable order", () => {
    expect(formatOutcomes({ error: 1, "503": 2, "200": 10, timeout: 1, "404": 1 })).toBe("200×10 404×1 503×2 timeout×1 error×1");
    expect(formatOutcomes({})).toBe("no answers");
  });

  it("gives the window's requests, rate, outcomes and latency, then the totals", () => {
    const line = formatSummary({ outcomes: { "200": 20, "503": 5 }, latenciesMs: [10, 20, 30, 40, 1000] }, 5_000, 10_000, { sent: 52, finished: 50, skipped: 0, outcomes: {} }, 2);
    expect(line).toBe("+10s: 25 requests (5.0/s) · 200×20 503×5 · p50 30ms p95 1000ms · total 52 sent, 2 in flight");
    expect(formatSummary({ outcomes: {}, latenciesMs: [] }, 5_000, 5_000, { sent: 0, finished: 0, skipped: 3, outcomes: {} }, 0)).toBe(
      "+5s: 0 requests (0.0/s) · no answers · total 0 sent, 0 in flight, 3 skipped",
    );
  });
});

describe("npm run demo arguments", () => {
  it("defaults to 5 requests/s on the local mesh until stopped", () => {
    expect(parseDemoArgs([])).toEqual({ url: DEFAULT_URL, rate: DEFAULT_RATE, durationMs: undefined, seed: undefined, help: false });
    expect(DEFAULT_URL).toBe("http://127.0.0.1:8787");
  });

  it("takes --url, --rate, --duration and --seed", () => {
    expect(parseDemoArgs(["--url", "http://127.0.0.1:9000", "--rate", "2.5", "--duration", "2m", "--seed", "7"])).toEqual({
      url: "http://127.0.0.1:9000",
      rate: 2.5,
      durationMs: 120_000,
      seed: 7,
      help: false,
    });
    expect(parseDemoArgs(["--duration", "90"]).durationMs).toBe(90_000);
    expect(parseDemoArgs(["--duration=500ms"]).durationMs).toBe(500);
    expect(parseDemoArgs(["-h"]).help).toBe(true);
  });

  it("refuses what it cannot honour", () => {
    expect(() => parseDemoArgs(["--rate", "0"])).toThrow(/rate/);
    expect(() => parseDemoArgs(["--rate", String(MAX_RATE + 1)])).toThrow(/rate/);
    expect(() => parseDemoArgs(["--rate", "fast"])).toThrow(/rate/);
    expect(() => parseDemoArgs(["--duration", "soon"])).toThrow(/duration/);
    expect(() => parseDemoArgs(["--url", "ftp://127.0.0.1/"])).toThrow(/url/);
    expect(() => parseDemoArgs(["--url", "127.0.0.1:8787"])).toThrow(/url/);
    expect(() => parseDemoArgs(["--seed", "x"])).toThrow(/seed/);
    expect(() => parseDemoArgs(["--bogus"])).toThrow();
    expect(() => parseDemoArgs(["extra"])).toThrow(/unexpected/);
  });
});

describe("startDemoTraffic", () => {
  it("sends the plan to the given origin at about the rate, summarizes, and stops cleanly", async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      const url = input instanceof URL ? input.href : typeof input === "string" ? input : input.url;
      seen.push({ url, init });
      const status = url.includes("/status/503") ? 503 : 200;
      return new Response(status === 503 ? null : "{}", { status });
    };
    const lines: string[] = [];
    const traffic = startDemoTraffic({ url: "http://127.0.0.1:9123/ignored/path", rate: 50, seed: 11, summaryEveryMs: 150, log: (line) => lines.push(line), fetch: fakeFetch });
    await new Promise((r) => setTimeout(r, 400));
    const summary = await traffic.stop();

    expect(traffic.seed).toBe(11);
    // ~20 at 50/s over 0.4 s; timers on a busy CI machine are loose.
    expect(seen.length).toBeGreaterThanOrEqual(8);
    expect(seen.length).toBeLessThanOrEqual(30);
    expect(seen.map((s) => s.url)).toEqual(planRequests(11, seen.length).map((r) => `http://127.0.0.1:9123${r.path}`));
    for (const { init } of seen) {
      expect(init?.method ?? "GET").toBe("GET");
      expect(init?.redirect).toBe("manual");
    }
    expect(summary.sent).toBe(seen.length);
    expect(summary.finished).toBe(seen.length);
    expect(Object.values(summary.outcomes).reduce((a, b) => a + b, 0)).toBe(seen.length);
    expect(lines[0]).toMatch(/^sending ~50 requests\/s to http:\/\/127\.0\.0\.1:9123 /);
    expect(lines.some((line) => /^\+0s: \d+ requests \([\d.]+\/s\) · 200×\d+/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^stopped after 0s: \d+ sent/);
    // Stopped means stopped: nothing more is sent, and stop() again gives the same totals.
    const count = seen.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(count);
    await expect(traffic.stop()).resolves.toEqual(summary);
    await expect(traffic.done).resolves.toEqual(summary);
  });

  it("abandons requests in flight at stop, and reports an unreachable mesh once", async () => {
    let calls = 0;
    const hanging: typeof fetch = (_input, init) => {
      calls += 1;
      if (calls <= 2) return Promise.reject(new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:9124") }));
      return new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
    };
    const lines: string[] = [];
    const traffic = startDemoTraffic({ url: "http://127.0.0.1:9124", rate: 40, seed: 3, summaryEveryMs: 60_000, log: (line) => lines.push(line), fetch: hanging });
    await new Promise((r) => setTimeout(r, 150));
    const summary = await traffic.stop();
    expect(summary.outcomes).toEqual({ error: 2 });
    expect(summary.sent).toBeGreaterThan(2);
    expect(lines.filter((line) => line.includes("no answer from http://127.0.0.1:9124 (connect ECONNREFUSED"))).toHaveLength(1);
  });

  it("stops by itself after the duration", async () => {
    const traffic = startDemoTraffic({ rate: 20, durationMs: 120, seed: 1, log: () => {}, fetch: async () => new Response("ok") });
    const summary = await traffic.done;
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.outcomes["200"]).toBe(summary.finished);
  });

  it("refuses a rate that is not gentle", () => {
    expect(() => startDemoTraffic({ rate: 1_000, fetch: async () => new Response("") })).toThrow(/rate/);
  });
});

describe("npm run dev --traffic", () => {
  it("is off unless asked for by flag or WEFT_DEMO_TRAFFIC", () => {
    expect(parseDevArgs([], {})).toEqual({ traffic: false, reset: false, help: false });
    expect(parseDevArgs(["--traffic"], {}).traffic).toBe(true);
    for (const on of ["1", "true", "YES", "on"]) expect(parseDevArgs([], { WEFT_DEMO_TRAFFIC: on }).traffic).toBe(true);
    for (const off of ["", "0", "false", "no"]) expect(parseDevArgs([], { WEFT_DEMO_TRAFFIC: off }).traffic).toBe(false);
    expect(parseDevArgs(["--help"], {}).help).toBe(true);
    expect(() => parseDevArgs(["--trafic"], {})).toThrow(/unknown argument "--trafic"/);
  });

  it("says in the banner how to get demo traffic, or that it is on", () => {
    const off = banner("http://127.0.0.1:9000", "dev-admin-token").join("\n");
    expect(off).toContain("npm run dev -- --traffic");
    expect(off).toContain("WEFT_DEMO_TRAFFIC=1");
    expect(off).toContain("npm run demo -- --url http://127.0.0.1:9000");
    const on = banner("http://127.0.0.1:9000", "dev-admin-token", { traffic: true }).join("\n");
    expect(on).toMatch(/Demo traffic:\n {3}on: ~5 requests\/s/);
    // The existing hints are unchanged.
    for (const text of [off, on]) expect(text).toContain("curl http://127.0.0.1:9000/httpbin/anything");
  });
});
