/**
 * GET /.weft/metrics: the Prometheus scrape. The fleet's request series and counters come from the
 * telemetry objects (one read per destination service: a scrape is not the hot path), plus this
 * isolate's own gauges. Needs the admin or the metrics token.
 */
import { MeshError } from "@weft/sdk";
import { requireMetricsReader } from "../admin/auth.js";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics, type MetricsInput } from "../telemetry/prometheus.js";
import { UNROUTED_SHARD } from "../telemetry/state.js";
import type { IsolateWiring } from "../wiring.js";
import type { Endpoint } from "./endpoint.js";

export const METRICS_PATH = "/.weft/metrics";

/** The window of the quantile and success-ratio gauges. */
const METRICS_WINDOW_MS = 5 * 60_000;

export function createMetrics(wiring: IsolateWiring): Endpoint {
  const { now } = wiring;
  return async function metrics(request, env, ctx) {
    try {
      await requireMetricsReader(request, env);
    } catch (error) {
      if (error instanceof MeshError) return error.toResponse();
      throw error;
    }
    const configs = wiring.configCache(env);
    let shards: string[] = [UNROUTED_SHARD];
    try {
      const snapshot = await configs.get((p) => ctx.waitUntil(p));
      shards = [...snapshot.services.keys(), UNROUTED_SHARD];
    } catch {
      // No config yet: only the gateway's own figures below.
    }
    const series: MetricsInput["series"] = [];
    const counters: MetricsInput["counters"] = [];
    const windows: NonNullable<MetricsInput["windows"]> = [];
    let shardErrors = 0;
    await Promise.all(
      shards.map(async (shard) => {
        try {
          const stub = env.TELEMETRY.get(env.TELEMETRY.idFromName(shard));
          const [totals, recent] = await Promise.all([stub.totals(), shard === UNROUTED_SHARD ? undefined : stub.query({ windowMs: METRICS_WINDOW_MS, now: now(), service: shard })]);
          series.push(...totals.series);
          counters.push(...totals.counters);
          if (recent && recent.golden.requests > 0) {
            const { requests, successRate, p50Ms, p95Ms, p99Ms } = recent.golden;
            windows.push({ destination: shard, windowSeconds: METRICS_WINDOW_MS / 1000, requests, successRate, p50Ms, p95Ms, p99Ms });
          }
        } catch (error) {
          shardErrors++;
          console.error(JSON.stringify({ level: "warn", msg: "telemetry shard unreadable", shard, error: String(error) }));
        }
      }),
    );
    // Rollout progress from the control plane; a scrape without it still has everything else.
    const rollouts = await wiring
      .control(env)
      .rolloutStatus()
      .then((views) => views.map((view) => ({ name: view.name, target: view.target, canary: view.canary, phase: view.state.phase, step: view.state.step, steps: view.steps.length, canaryWeight: view.state.canaryWeight, failedChecks: view.state.failedChecks })))
      .catch((error: unknown) => {
        console.error(JSON.stringify({ level: "warn", msg: "rollouts unreadable for metrics", error: String(error) }));
        return [];
      });
    const status = configs.status();
    const text = renderMetrics({
      series,
      counters,
      windows,
      rollouts,
      gateway: {
        configVersion: status.version,
        configAgeSeconds: status.ageMs === null ? null : status.ageMs / 1000,
        configStale: status.stale,
        configRefreshFailures: status.refreshFailures,
        ...wiring.figures(),
      },
    });
    return new Response(text, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store", "x-weft-telemetry-shard-errors": String(shardErrors) } });
  };
}
