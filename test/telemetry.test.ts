/**
 * Telemetry end to end: requests through a gateway are aggregated in the isolate, flushed in
 * batches to the telemetry objects (one per destination), and read back through the telemetry
 * API and /.weft/metrics. Latencies come from an injected clock, so the true quantiles are known.
 */
import { describe, expect, it } from "vitest";
import type { TelemetrySink } from "../gateway-worker/src/telemetry/state.js";
import { telemetryShard } from "../gateway-worker/src/gateway.js";
import { applyOk, gatewayEnv } from "./helpers.js";
import type { GoldenMetrics } from "../wire/src/telemetry.js";
import { fakeEndpoint, manualClock, poolMesh, testGateway } from "./resilience-helpers.js";

type Golden = GoldenMetrics;
interface ServiceTelemetry {
  service: string;
  golden: Golden;
  bySubset: { subset: string; golden: Golden }[];
  edges: { source: string; destination: string; golden: Golden }[];
  counters: { name: string; labels: Record<string, string>; value: number }[];
}

const ADMIN = { authorization: "Bearer dev-admin-token" };

function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

/** A unique service name per test: the telemetry objects keep what earlier tests sent. */
const uniqueName = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

describe("golden metrics from a known mix of requests", () => {
  it("reports exact counts and p50/p99 within 1% through the telemetry API and /.weft/metrics", async () => {
    const service = uniqueName("tele");
    await applyOk(poolMesh(service, ["TELE"], "retries: { attempts: 1 }"));
    const clock = manualClock(Date.now());
    // Request i takes latency(i) ms of (injected) time; every 10th fails with 503.
    const latency = (i: number) => 1 + ((i * 37) % 400) + (i % 50 === 7 ? 2000 : 0);
    const upstream = fakeEndpoint((_request, call) => {
      clock.advance(latency(call));
      return new Response("x", { status: call % 10 === 0 ? 503 : 200 });
    });
    const gateway = testGateway({ TELE: upstream }, { now: () => clock.now, sleep: clock.sleep });
    const total = 1000;
    for (let i = 0; i < total; i++) await gateway.fetch(`http://${service}.mesh/items`);
    await gateway.flush();

    const latencies = Array.from({ length: total }, (_, i) => latency(i + 1)).sort((a, b) => a - b);
    const view = (await (await gateway.fetch(`http://gw.test/.weft/api/v1/telemetry?service=${service}&window=1h`, { headers: ADMIN })).json()) as ServiceTelemetry;
    expect(view.golden.requests, JSON.stringify(view)).toBe(total);
    expect(view.golden.successRate).toBe(0.9);
    for (const [q, reported] of [
      [0.5, view.golden.p50Ms],
      [0.99, view.golden.p99Ms],
    ] as const) {
      const truth = exactQuantile(latencies, q);
      expect(Math.abs((reported ?? Number.NaN) - truth)).toBeLessThanOrEqual(truth * 0.01);
    }
    expect(view.edges).toEqual([expect.objectContaining({ source: "anonymous", destination: service, golden: expect.objectContaining({ requests: total }) })]);

    const scrape = await gateway.fetch("http://gw.test/.weft/metrics", { headers: ADMIN });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toContain("text/plain");
    const text = await scrape.text();
    expect(text).toContain(`weft_requests_total{source="anonymous",destination="${service}",subset="v1",code="200"} 900`);
    expect(text).toContain(`weft_requests_total{source="anonymous",destination="${service}",subset="v1",code="503"} 100`);
    expect(text).toContain(`weft_request_duration_seconds_count{source="anonymous",destination="${service}",subset="v1",code="200"} 900`);
    // The histogram's buckets are exact counts: successful requests that took ≤ 1 s.
    const le1000 = Array.from({ length: total }, (_, i) => i + 1).filter((call) => call % 10 !== 0 && latency(call) <= 1000).length;
    const bucketLine = text.split("\n").find((line) => line.startsWith("weft_request_duration_seconds_bucket{") && line.includes(`destination="${service}"`) && line.includes('code="200"') && line.includes('le="1"'));
    expect(bucketLine, text.slice(0, 2000)).toBeDefined();
    expect(Number(bucketLine?.split(" ").at(-1))).toBe(le1000);
    expect(le1000).toBeLessThan(900);
    expect(text).toMatch(/^weft_config_version \d+$/m);
    // Quantiles over the last 5 minutes, from the sketches: within 1% here too.
    for (const [q, label] of [
      [0.5, "0.5"],
      [0.99, "0.99"],
    ] as const) {
      const line = text.split("\n").find((l) => l.startsWith(`weft_request_latency_seconds{destination="${service}",window="300s",quantile="${label}"}`));
      const truth = exactQuantile(latencies, q);
      expect(Math.abs(Number(line?.split(" ").at(-1)) * 1000 - truth)).toBeLessThanOrEqual(truth * 0.01);
    }
  });

  it("the whole service graph lists every caller→destination edge with its figures", async () => {
    const service = uniqueName("graph");
    await applyOk(poolMesh(service, ["GRAPH"]));
    const gateway = testGateway({ GRAPH: fakeEndpoint(() => new Response("ok")) });
    for (let i = 0; i < 20; i++) await gateway.fetch(`http://${service}.mesh/`);
    await gateway.flush();
    const graph = (await (await gateway.fetch("http://gw.test/.weft/api/v1/telemetry?window=5m", { headers: ADMIN })).json()) as { services: { service: string }[]; edges: { source: string; destination: string; golden: Golden }[] };
    expect(graph.services.map((s) => s.service)).toContain(service);
    expect(graph.edges.find((e) => e.destination === service)?.golden.requests).toBe(20);
  });

  it("refuses a bad window and an unknown service, and needs the admin token", async () => {
    const gateway = testGateway({});
    expect((await gateway.fetch("http://gw.test/.weft/api/v1/telemetry?window=soon", { headers: ADMIN })).status).toBe(400);
    expect((await gateway.fetch("http://gw.test/.weft/api/v1/telemetry?service=nope-nope", { headers: ADMIN })).status).toBe(404);
    expect((await gateway.fetch("http://gw.test/.weft/api/v1/telemetry")).status).toBe(401);
    expect((await gateway.fetch("http://gw.test/.weft/metrics")).status).toBe(401);
    expect((await gateway.fetch("http://gw.test/.weft/metrics", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });

  it("accepts a separate metrics token for /.weft/metrics, and only there", async () => {
    const metricsToken = "m".repeat(40);
    const gateway = testGateway({ WEFT_METRICS_TOKEN: metricsToken as unknown as Fetcher });
    const bearer = { authorization: `Bearer ${metricsToken}` };
    expect((await gateway.fetch("http://gw.test/.weft/metrics", { headers: bearer })).status).toBe(200);
    expect((await gateway.fetch("http://gw.test/.weft/api/v1/config", { headers: bearer })).status).toBe(401);
  });
});

describe("telemetry never slows or breaks requests", () => {
  /** The real telemetry objects behind a switch. */
  function switchable() {
    const state = { down: false, calls: 0 };
    const sink = (shard: string): TelemetrySink => ({
      ingest: async (batch) => {
        state.calls++;
        if (state.down) throw new Error("telemetry object unreachable");
        return telemetryShard(gatewayEnv, shard).ingest(batch);
      },
    });
    return { state, sink };
  }

  it("keeps serving while the telemetry objects fail, and delivers the counts (and what it dropped) after they recover", async () => {
    const service = uniqueName("outage");
    await applyOk(poolMesh(service, ["OUTAGE"]));
    const clock = manualClock(Date.now());
    const { state, sink } = switchable();
    const gateway = testGateway(
      { OUTAGE: fakeEndpoint(() => new Response("ok")) },
      { now: () => clock.now, telemetrySink: (_env, shard) => sink(shard), telemetry: { maxPendingBatches: 4 } },
    );
    state.down = true;
    let ok = 0;
    // 10 flush intervals of 30 requests while the objects are down: every request still succeeds.
    for (let interval = 0; interval < 10; interval++) {
      for (let i = 0; i < 30; i++) if ((await gateway.fetchAndSettle(`http://${service}.mesh/`)).status === 200) ok++;
      clock.advance(5_000);
    }
    expect(ok).toBe(300);
    expect(state.calls).toBeGreaterThan(0);
    expect(gateway.gateway.telemetry.recorder.pendingBatches).toBeLessThanOrEqual(4);

    state.down = false;
    await gateway.flush();
    const view = (await (await gateway.fetch(`http://gw.test/.weft/api/v1/telemetry?service=${service}&window=1h`, { headers: ADMIN })).json()) as ServiceTelemetry;
    // Nothing was lost: the oldest batches were merged (time detail given up), not dropped.
    expect(view.golden.requests).toBe(300);
    const merged = view.counters.find((c) => c.name === "telemetry_merged_batches");
    expect(merged?.value).toBeGreaterThan(0);
  });

  it("flushes once per interval per destination, whatever the request rate", async () => {
    const service = uniqueName("rate");
    await applyOk(poolMesh(service, ["RATE"]));
    const deliveriesAt = async (perInterval: number) => {
      const clock = manualClock(Date.now());
      const { state, sink } = switchable();
      const gateway = testGateway({ RATE: fakeEndpoint(() => new Response("ok")) }, { now: () => clock.now, telemetrySink: (_env, shard) => sink(shard) });
      for (let interval = 0; interval < 6; interval++) {
        for (let i = 0; i < perInterval; i++) await gateway.fetchAndSettle(`http://${service}.mesh/`);
        clock.advance(5_000);
      }
      return state.calls;
    };
    const slow = await deliveriesAt(2);
    const fast = await deliveriesAt(200);
    expect(fast).toBe(slow);
    expect(fast).toBeLessThanOrEqual(6);
  });
});
