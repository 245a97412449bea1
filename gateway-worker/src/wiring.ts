/**
 * What lives as long as a gateway isolate, wired once: the config cache (and the colo cache in
 * front of the control plane), telemetry and its exporters, the JWKS, verified-token and hop-token
 * caches, resilience state, and the views the admin API and the dashboard read. The reserved
 * endpoints (endpoints/) and the pipeline receive this; none of them builds a cache of its own.
 * docs/architecture.md#hot-path-rule says which cache holds what.
 */
import type { JWK } from "jose";
import { CONTROL_PLANE_NAME } from "../../wire/src/names.js";
import type { ControlPlaneApi, LiveHealth, TelemetryAccess } from "./admin/api.js";
import { bindingNamed } from "./bindings.js";
import { bounded } from "./bounded.js";
import { coloCachedSource, forgetColoSnapshot, type RejectedEntry, type SnapshotCache } from "./colo-cache.js";
import { ConfigCache, type ConfigSource, type KeepAlive } from "./config-cache.js";
import type { GatewayEnv } from "./env.js";
import { HopTokens } from "./identity/hop-tokens.js";
import { JwksCache } from "./identity/jwks-cache.js";
import { VerifiedTokens } from "./identity/verified-tokens.js";
import { GlobalLimiter } from "./resilience/global-limit.js";
import { MAX_RATE_LIMIT_KEYS, ResilienceState } from "./resilience/state.js";
import type { RequestLocation } from "./routing/balance.js";
import { settingsOf, type GatewaySettings } from "./settings.js";
import { nativeTimer, type IsolateState, type StartTimer } from "./stage.js";
import { OTLP_TRACES_PATH, otlpHttpSender, SpanExporter } from "./telemetry/otlp.js";
import { collectorHeaders } from "./telemetry/collector-headers.js";
import type { RecorderOptions } from "./telemetry/recorder.js";
import { TelemetryState, type TelemetrySink } from "./telemetry/state.js";
import type { SnapshotText } from "../../wire/src/snapshot.js";

export interface GatewayOptions {
  /** Where snapshots come from; default: the control plane Durable Object. */
  configSource?: (env: GatewayEnv) => ConfigSource;
  /** The control plane as the admin API sees it; default: the Durable Object's RPC stub. */
  controlPlane?: (env: GatewayEnv) => ControlPlaneApi;
  random?: () => number;
  now?: () => number;
  /** How the gateway waits between retries and for injected delays; default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** How the gateway starts the timers it may cancel (attempt timeouts, hedges, mirrors); default setTimeout. */
  startTimer?: StartTimer;
  /** Where a request comes from, for locality-aware balancing; default its `cf` colo and continent. */
  location?: (request: Request) => RequestLocation | undefined;
  /** Where telemetry batches go; default: the destination's telemetry Durable Object. */
  telemetrySink?: (env: GatewayEnv, shard: string) => TelemetrySink;
  /** Bounds of the isolate's telemetry buffer. */
  telemetry?: RecorderOptions;
  /** How long a config pull may take before it counts as failed. */
  configPullTimeoutMs?: number;
  /**
   * How long a request may wait for the control plane (the signing keys a cold isolate loads, a
   * pair's first hop token, a token exchange, a JWKS refresh) before it is answered without it:
   * 503, or the copy it has; default 5 s.
   */
  controlCallTimeoutMs?: number;
}

/** The default bound on a control-plane call a request waits for. */
export const DEFAULT_CONTROL_CALL_TIMEOUT_MS = 5_000;

/** A control-plane call a request waits for, bounded (bounded.ts): `what` says what was asked. */
export function boundedControlCall<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  return bounded(call, ms, `the control plane did not answer ${what} within ${ms} ms`);
}

export function controlPlaneStub(env: GatewayEnv): ControlPlaneApi {
  return env.CONTROL.get(env.CONTROL.idFromName(CONTROL_PLANE_NAME)) as unknown as ControlPlaneApi;
}

export function controlPlaneSource(env: GatewayEnv): ConfigSource {
  return { getSnapshot: (knownVersion) => env.CONTROL.get(env.CONTROL.idFromName(CONTROL_PLANE_NAME)).getSnapshot(knownVersion) };
}

export function telemetryShard(env: GatewayEnv, shard: string): TelemetrySink {
  return env.TELEMETRY.get(env.TELEMETRY.idFromName(shard));
}

/**
 * The mesh's identity for the colo cache: its control-plane object id. Two meshes (say staging and
 * production gateways on one zone) have different ids, and only Workers bound to the namespace can
 * derive them.
 */
function meshIdentity(env: GatewayEnv): string {
  return env.CONTROL.idFromName(CONTROL_PLANE_NAME).toString();
}

/** The colo's Cache API, where the runtime has one. */
function coloCache(): SnapshotCache | undefined {
  return typeof caches === "undefined" ? undefined : caches.default;
}

function timerSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A macrotask: whatever is already waiting on this isolate runs first. */
function nextTurn(): Promise<void> {
  return timerSleep(0);
}

/** The colo and continent Cloudflare reports for the request (absent locally unless a test sets them). */
function locationOf(request: Request): RequestLocation | undefined {
  const cf = (request as { cf?: { colo?: unknown; continent?: unknown } }).cf;
  if (!cf) return undefined;
  return {
    colo: typeof cf.colo === "string" ? cf.colo : undefined,
    continent: typeof cf.continent === "string" ? cf.continent : undefined,
  };
}

/** The isolate's own figures on /.weft/metrics, beside the fleet's series from the telemetry objects. */
export interface IsolateFigures {
  jwksRefreshes: number;
  jwksRefreshFailures: number;
  telemetryBufferedBatches: number;
  telemetryFlushFailures: number;
  /** Colo-cache entries this isolate refused, by reason. */
  configCacheRejections: Record<string, number>;
  /** What each structure the isolate keeps holds now, and its cap where it has a fixed one. */
  structures: StructureSize[];
}

/**
 * One per-isolate structure's size. `limit` is its fixed cap; structures without one are bounded
 * by the config instead (one entry per service, endpoint or pool): docs/reliability.md#what-an-isolate-keeps.
 */
export interface StructureSize {
  structure: string;
  entries: number;
  limit: number | null;
}

export interface IsolateWiring {
  /** What the pipeline's stages share for the isolate's life. */
  readonly isolate: IsolateState;
  readonly now: () => number;
  /** The isolate's config cache (created on first use). */
  configCache(env: GatewayEnv): ConfigCache;
  /** The control plane's RPC surface (admin API, dashboard, JWKS, token exchange). */
  control(env: GatewayEnv): ControlPlaneApi;
  /** How long a request may wait for a control-plane call it cannot be answered without (GatewayOptions.controlCallTimeoutMs). */
  readonly controlCallTimeoutMs: number;
  /** The telemetry objects, as the admin API and the dashboard read them. */
  telemetryAccess(env: GatewayEnv): TelemetryAccess;
  /** What this isolate has seen of each service and endpoint; none before its first snapshot. */
  liveHealth(): LiveHealth | undefined;
  /** Installs a version an apply through this gateway just stored, and drops the colo's copy. */
  onApplied(snapshot: SnapshotText, env: GatewayEnv): Promise<void>;
  /** Sends this isolate's telemetry in the background when its flush interval has passed. */
  maybeFlushTelemetry(env: GatewayEnv, waitUntil: KeepAlive, settings: GatewaySettings): void;
  /** Sends this isolate's telemetry now. */
  flushTelemetry(env: GatewayEnv): Promise<void>;
  figures(): IsolateFigures;
}

export function createIsolateWiring(options: GatewayOptions = {}): IsolateWiring {
  const now = options.now ?? Date.now;
  const control = options.controlPlane ?? controlPlaneStub;
  const controlCallTimeoutMs = options.controlCallTimeoutMs ?? DEFAULT_CONTROL_CALL_TIMEOUT_MS;
  const telemetrySink = options.telemetrySink ?? telemetryShard;
  let jwksCache: JwksCache | undefined;
  let hopTokens: HopTokens | undefined;
  let globalLimiter: GlobalLimiter | undefined;
  let cache: ConfigCache | undefined;
  const coloCacheRejections = new Map<RejectedEntry, number>();

  const isolate: IsolateState = {
    counters: new Map(),
    random: options.random ?? Math.random,
    now,
    sleep: options.sleep ?? timerSleep,
    startTimer: options.startTimer ?? nativeTimer,
    location: options.location ?? locationOf,
    resilience: new ResilienceState(),
    telemetry: new TelemetryState(now(), options.telemetry),
    globalLimiter: (env) =>
      (globalLimiter ??= new GlobalLimiter(
        (key, want, ratePerSecond, burst) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).lease({ ratePerSecond, burst, want }),
        { now },
      )),
    verifiedTokens: new VerifiedTokens(),
    hopTokens: (env) => (hopTokens ??= new HopTokens((caller, destination) => boundedControlCall(control(env).mintHopToken(caller, destination), controlCallTimeoutMs, "for a hop token"), { now })),
    jwks: (env) => (jwksCache ??= new JwksCache(async () => (await boundedControlCall(control(env).jwks(), controlCallTimeoutMs, "for the signing keys")) as { keys: JWK[] }, { now })),
  };
  function structureSizes(): StructureSize[] {
    const resilience = isolate.resilience.sizes();
    const recorder = isolate.telemetry.recorder;
    const liveDestinations = recorder.liveDestinations;
    return [
      { structure: "verified_tokens", entries: isolate.verifiedTokens.size, limit: isolate.verifiedTokens.capacity },
      { structure: "hop_tokens", entries: hopTokens?.size ?? 0, limit: hopTokens?.capacity ?? null },
      { structure: "rate_limit_buckets", entries: resilience.rateLimitBuckets, limit: MAX_RATE_LIMIT_KEYS },
      { structure: "outlier_endpoints", entries: resilience.outlierEndpoints, limit: null },
      { structure: "outlier_detectors", entries: resilience.outlierDetectors, limit: null },
      { structure: "retry_budgets", entries: resilience.retryBudgets, limit: null },
      { structure: "endpoints_in_flight", entries: resilience.endpointsInFlight, limit: null },
      { structure: "services_in_flight", entries: resilience.servicesInFlight, limit: null },
      { structure: "balancer_counters", entries: isolate.counters.size, limit: null },
      // Per destination with traffic this interval, plus one overflow series each.
      { structure: "telemetry_series", entries: recorder.liveSeries, limit: liveDestinations * (recorder.limits.seriesPerDestination + 1) },
      { structure: "telemetry_destinations", entries: liveDestinations, limit: null },
      { structure: "telemetry_pending_batches", entries: recorder.pendingBatches, limit: recorder.limits.pendingBatches },
      { structure: "spans", entries: isolate.telemetry.spans.size, limit: isolate.telemetry.spans.capacity },
    ];
  }

  // Each flush learns the destinations' fleet-wide rates: the retry budgets' floors follow them.
  isolate.telemetry.onFleetRate = (destination, requestsPerSecond) => isolate.resilience.noteFleetRate(destination, requestsPerSecond, now());

  function configCache(env: GatewayEnv): ConfigCache {
    if (!cache) {
      const settings = settingsOf(env);
      const interval = settings.configRefreshMs;
      const shared = coloCache();
      const secret = settings.configCacheSecret;
      const source = options.configSource
        ? options.configSource(env)
        : shared && secret !== undefined
          ? coloCachedSource(controlPlaneSource(env), shared, { ttlMs: interval, now, meshId: meshIdentity(env), secret, onRejected: (reason) => coloCacheRejections.set(reason, (coloCacheRejections.get(reason) ?? 0) + 1) })
          : controlPlaneSource(env);
      cache = new ConfigCache(source, {
        refreshIntervalMs: interval,
        now,
        ...(options.configPullTimeoutMs !== undefined ? { pullTimeoutMs: options.configPullTimeoutMs } : {}),
      });
    }
    return cache;
  }

  /** Where spans go, per the config in use: a URL (fetch) or a service binding; none without a collector. */
  function spanExporter(env: GatewayEnv): SpanExporter | undefined {
    const collector = cache?.current()?.mesh.spec.telemetry.tracing.collector;
    if (!collector) return undefined;
    const headers = collectorHeaders(collector.headers, env);
    // Without a header's secret the collector would refuse every export: none is sent.
    if (!headers) return undefined;
    if (collector.url !== undefined) return new SpanExporter(otlpHttpSender(collector.url, (input, init) => fetch(input, init), { headers, compression: collector.compression ?? "gzip" }));
    const binding = collector.binding === undefined ? undefined : bindingNamed(env, collector.binding);
    if (!binding) return undefined;
    return new SpanExporter(otlpHttpSender(`http://otel-collector${OTLP_TRACES_PATH}`, (input, init) => binding.fetch(new Request(input, init)), { headers, compression: collector.compression ?? "none" }));
  }

  return {
    isolate,
    now,
    configCache,
    control,
    controlCallTimeoutMs,
    telemetryAccess: (env) => ({
      // The names in the snapshot in use: an operator read never starts a background refresh.
      services: async () => [...(await configCache(env).currentOrLoad()).services.keys()],
      // The window ends at this gateway's clock, the one its batches were stamped with.
      query: (service, windowMs) => env.TELEMETRY.get(env.TELEMETRY.idFromName(service)).query({ windowMs, now: now(), service }),
    }),
    liveHealth() {
      const snapshot = cache?.current();
      if (!snapshot) return undefined;
      return {
        service: (name) => {
          const service = snapshot.services.get(name);
          if (!service) return undefined;
          return { inFlight: isolate.resilience.servicesInFlight.get(name), retryBudget: isolate.resilience.retryBudgetView(service, now()) };
        },
        endpoint: (name, endpointId) => {
          const service = snapshot.services.get(name);
          return service && isolate.resilience.endpointView(service, endpointId, now());
        },
      };
    },
    async onApplied(snapshot, env) {
      try {
        // Read, then compiled a turn later: requests waiting on this isolate go in between.
        await cache?.installText(snapshot, nextTurn);
      } catch (error) {
        console.error(JSON.stringify({ level: "error", msg: "could not install applied config", error: String(error) }));
      }
      // Other isolates in this colo should not keep reading the superseded version from the cache.
      const shared = options.configSource ? undefined : coloCache();
      if (shared) await forgetColoSnapshot(shared, meshIdentity(env));
    },
    maybeFlushTelemetry(env, waitUntil, settings) {
      // Checked first so that a request with nothing to do builds none of the closures below.
      const telemetry = isolate.telemetry;
      const at = now();
      const interval = settings.telemetryFlushMs;
      if (telemetry.flushDue(at, interval)) telemetry.maybeFlush(at, interval, (shard) => telemetrySink(env, shard), waitUntil, () => spanExporter(env));
      else if (settings.telemetryTrailingFlush && !telemetry.trailingArmed(at, interval)) telemetry.armTrailingFlush(at, interval, now, (shard) => telemetrySink(env, shard), waitUntil, () => spanExporter(env));
    },
    flushTelemetry: (env) => isolate.telemetry.flush(now(), (shard) => telemetrySink(env, shard), () => spanExporter(env)),
    figures: () => ({
      jwksRefreshes: jwksCache?.refreshes ?? 0,
      jwksRefreshFailures: jwksCache?.refreshFailures ?? 0,
      telemetryBufferedBatches: isolate.telemetry.recorder.pendingBatches,
      telemetryFlushFailures: isolate.telemetry.deliveryFailures,
      configCacheRejections: Object.fromEntries(coloCacheRejections),
      structures: structureSizes(),
    }),
  };
}
