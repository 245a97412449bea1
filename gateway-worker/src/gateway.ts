/**
 * The gateway Worker's request entry: reserved `/.weft/*` paths (health, admin API) are answered
 * here; everything else is mesh or ingress traffic and runs through the pipeline with the
 * isolate's cached snapshot.
 */
import { MeshError } from "@weft/sdk";
import { CONTROL_PLANE_NAME } from "../../control-durable/src/control-plane.js";
import { createAdminApi, ADMIN_BASE, type ControlPlaneApi, type LiveHealth, type TelemetryAccess } from "./admin/api.js";
import { bearerToken, requireMetricsReader } from "./admin/auth.js";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics, type MetricsInput } from "./telemetry/prometheus.js";
import { JwksCache } from "./identity/jwks-cache.js";
import { VerifiedTokens } from "./identity/verified-tokens.js";
import { HopTokens } from "./identity/hop-tokens.js";
import type { JWK } from "jose";
import { ConfigCache, type ConfigSource } from "./config-cache.js";
import { coloCachedSource, forgetColoSnapshot, type RejectedEntry, type SnapshotCache } from "./colo-cache.js";
import type { GatewayEnv } from "./env.js";
import { buildPipeline } from "./pipeline.js";
import { normalizeHost } from "./routing/lookup.js";
import { isAcceptableHostHeader } from "./host-header.js";
import type { IsolateState, MeshRequest } from "./stage.js";
import type { RequestLocation } from "./routing/balance.js";
import { ResilienceState, serviceKey } from "./resilience/state.js";
import { GlobalLimiter } from "./resilience/global-limit.js";
import { TelemetryState, UNROUTED_SHARD, type TelemetrySink } from "./telemetry/state.js";
import type { RecorderOptions } from "./telemetry/recorder.js";
import { OTLP_TRACES_PATH, otlpHttpSender, SpanExporter } from "./telemetry/otlp.js";
import { bindingNamed } from "./bindings.js";
import { createDashboard, DASHBOARD_BASE } from "./dashboard/dashboard.js";
import { isAdminHost } from "./env.js";
import { settingsOf } from "./settings.js";

export interface GatewayOptions {
  /** Where snapshots come from; default: the control plane Durable Object. */
  configSource?: (env: GatewayEnv) => ConfigSource;
  /** The control plane as the admin API sees it; default: the Durable Object's RPC stub. */
  controlPlane?: (env: GatewayEnv) => ControlPlaneApi;
  random?: () => number;
  now?: () => number;
  /** How the gateway waits between retries and for injected delays; default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Where a request comes from, for locality-aware balancing; default its `cf` colo and continent. */
  location?: (request: Request) => RequestLocation | undefined;
  /** Where telemetry batches go; default: the destination's telemetry Durable Object. */
  telemetrySink?: (env: GatewayEnv, shard: string) => TelemetrySink;
  /** Bounds of the isolate's telemetry buffer. */
  telemetry?: RecorderOptions;
  /** How long a config pull may take before it counts as failed. */
  configPullTimeoutMs?: number;
}

/** The window of the quantile and success-ratio gauges on /.weft/metrics. */
const METRICS_WINDOW_MS = 5 * 60_000;

/** How long healthz waits for a due config refresh before answering with what it has. */
const HEALTHZ_REFRESH_BOUND_MS = 2_000;

/** How long an isolate reuses the JWKS it fetched before asking the control plane again. */
export const JWKS_ISOLATE_TTL_MS = 30_000;

export interface Gateway {
  fetch(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response>;
  /** The isolate's config cache (created on first use). */
  configCache(env: GatewayEnv): ConfigCache;
  /** Sends this isolate's telemetry now instead of at the next interval (tests, shutdown). */
  flushTelemetry(env: GatewayEnv): Promise<void>;
  /** This isolate's telemetry state (buffer, delivery counts). */
  readonly telemetry: TelemetryState;
}

export function controlPlaneStub(env: GatewayEnv): ControlPlaneApi {
  return env.CONTROL.get(env.CONTROL.idFromName(CONTROL_PLANE_NAME)) as unknown as ControlPlaneApi;
}

export function controlPlaneSource(env: GatewayEnv): ConfigSource {
  return { getSnapshot: (knownVersion) => env.CONTROL.get(env.CONTROL.idFromName(CONTROL_PLANE_NAME)).getSnapshot(knownVersion) };
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


export function telemetryShard(env: GatewayEnv, shard: string): TelemetrySink {
  return env.TELEMETRY.get(env.TELEMETRY.idFromName(shard));
}

function timerSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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

export function createGateway(options: GatewayOptions = {}): Gateway {
  const now = options.now ?? Date.now;
  let jwksCache: JwksCache | undefined;
  let hopTokens: HopTokens | undefined;
  let globalLimiter: GlobalLimiter | undefined;
  const location = options.location ?? locationOf;
  const telemetrySink = options.telemetrySink ?? telemetryShard;
  const isolate: IsolateState = {
    counters: new Map(),
    random: options.random ?? Math.random,
    now,
    sleep: options.sleep ?? timerSleep,
    resilience: new ResilienceState(),
    telemetry: new TelemetryState(now(), options.telemetry),
    globalLimiter: (env) =>
      (globalLimiter ??= new GlobalLimiter(
        (key, want, ratePerSecond, burst) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).lease({ ratePerSecond, burst, want }),
        { now },
      )),
    verifiedTokens: new VerifiedTokens(),
    hopTokens: (env) => (hopTokens ??= new HopTokens((caller, destination) => (options.controlPlane ?? controlPlaneStub)(env).mintHopToken(caller, destination), { now })),
    jwks: (env) => (jwksCache ??= new JwksCache(async () => (await (options.controlPlane ?? controlPlaneStub)(env).jwks()) as { keys: JWK[] }, { now })),
  };
  const pipeline = buildPipeline();
  let cache: ConfigCache | undefined;
  /** Colo-cache entries this isolate refused, by reason (reported on /.weft/metrics). */
  const coloCacheRejections = new Map<RejectedEntry, number>();

  const configCache = (env: GatewayEnv): ConfigCache => {
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
  };

  /** Where spans go, per the config in use: a URL (fetch) or a service binding; none without a collector. */
  function spanExporter(env: GatewayEnv): SpanExporter | undefined {
    const collector = cache?.current()?.mesh.spec.telemetry.tracing.collector;
    if (!collector) return undefined;
    if (collector.url !== undefined) return new SpanExporter(otlpHttpSender(collector.url, (input, init) => fetch(input, init)));
    const binding = collector.binding === undefined ? undefined : bindingNamed(env, collector.binding);
    if (!binding) return undefined;
    return new SpanExporter(otlpHttpSender(`http://otel-collector${OTLP_TRACES_PATH}`, (input, init) => binding.fetch(new Request(input, init))));
  }

  // What the admin API and the dashboard read: the control plane, the telemetry objects and this isolate's health view.
  const control = options.controlPlane ?? controlPlaneStub;
  const telemetryAccess = (env: GatewayEnv): TelemetryAccess => ({
    // The names in the snapshot in use: an operator read never starts a background refresh.
    services: async () => [...(await configCache(env).currentOrLoad()).services.keys()],
    // The window ends at this gateway's clock, the one its batches were stamped with.
    query: (service, windowMs) => env.TELEMETRY.get(env.TELEMETRY.idFromName(service)).query({ windowMs, now: now(), service }),
  });
  const liveHealth = (): LiveHealth | undefined => {
    const snapshot = cache?.current();
    if (!snapshot) return undefined;
    return {
      service: (name) => {
        const service = snapshot.services.get(name);
        if (!service) return undefined;
        return { inFlight: isolate.resilience.inFlight.get(serviceKey(name)), retryBudget: isolate.resilience.retryBudgetView(service, now()) };
      },
      endpoint: (name, endpointId) => {
        const service = snapshot.services.get(name);
        return service && isolate.resilience.endpointView(service, endpointId, now());
      },
    };
  };
  const dashboard = createDashboard({ control, telemetry: telemetryAccess, liveHealth, now });

  const admin = createAdminApi({
    control,
    telemetry: telemetryAccess,
    liveHealth,
    // Explain traces requests against the snapshot this isolate serves them with.
    servedSnapshot: (env, waitUntil) => configCache(env).get(waitUntil),
    onApplied: async (payload, env) => {
      try {
        cache?.install(payload);
      } catch (error) {
        console.error(JSON.stringify({ level: "error", msg: "could not install applied config", error: String(error) }));
      }
      // Other isolates in this colo should not keep reading the superseded version from the cache.
      const shared = options.configSource ? undefined : coloCache();
      if (shared) await forgetColoSnapshot(shared, meshIdentity(env));
    },
  });

  // The JWKS is public and read by every verifier: kept in the isolate for a while, and served
  // from there (stale) if the control plane is unreachable.
  let jwksCopy: { fetchedAt: number; body: string } | undefined;
  async function jwks(env: GatewayEnv): Promise<Response> {
    if (!jwksCopy || now() - jwksCopy.fetchedAt >= JWKS_ISOLATE_TTL_MS) {
      try {
        jwksCopy = { fetchedAt: now(), body: JSON.stringify(await (options.controlPlane ?? controlPlaneStub)(env).jwks()) };
      } catch (error) {
        if (!jwksCopy) return new MeshError("control_plane_unavailable", "the signing keys are not available yet").toResponse();
        console.error(JSON.stringify({ level: "warn", msg: "serving a stale JWKS", error: String(error) }));
      }
    }
    return new Response(jwksCopy.body, { headers: { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=60" } });
  }

  /** Credential → SVID. Always asks the control plane (the SDK caches the SVID for most of its life). */
  async function exchangeToken(request: Request, env: GatewayEnv): Promise<Response> {
    const url = new URL(request.url);
    if ([...url.searchParams.keys()].some((key) => /token|credential|auth/i.test(key))) {
      return new MeshError("bad_request", "credentials are accepted only in the Authorization header").toResponse();
    }
    const credential = bearerToken(request.headers.get("authorization"));
    if (credential === undefined) return new MeshError("unauthenticated", "POST /.weft/token needs Authorization: Bearer <credential>").toResponse();
    let answer;
    try {
      answer = await (options.controlPlane ?? controlPlaneStub)(env).exchangeCredential(credential);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "token exchange failed", error: String(error) }));
      return new MeshError("control_plane_unavailable", "the control plane could not issue a token").toResponse();
    }
    if (!answer.ok) return new MeshError("unauthenticated", "the credential is not valid").toResponse({ "cache-control": "no-store" });
    return Response.json({ token: answer.token, expiresAt: answer.expiresAt }, { headers: { "cache-control": "no-store" } });
  }

  /**
   * Prometheus scrape: the fleet's request series and counters from the telemetry objects (one
   * read per destination service: a scrape is not the hot path), plus this isolate's own gauges.
   */
  async function metrics(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
    try {
      await requireMetricsReader(request, env);
    } catch (error) {
      if (error instanceof MeshError) return error.toResponse();
      throw error;
    }
    const configs = configCache(env);
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
    const status = configs.status();
    const text = renderMetrics({
      series,
      counters,
      windows,
      gateway: {
        configVersion: status.version,
        configAgeSeconds: status.ageMs === null ? null : status.ageMs / 1000,
        configStale: status.stale,
        jwksRefreshes: jwksCache?.refreshes ?? 0,
        jwksRefreshFailures: jwksCache?.refreshFailures ?? 0,
        telemetryBufferedBatches: isolate.telemetry.recorder.pendingBatches,
        telemetryFlushFailures: isolate.telemetry.deliveryFailures,
        configCacheRejections: Object.fromEntries(coloCacheRejections),
      },
    });
    return new Response(text, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store", "x-weft-telemetry-shard-errors": String(shardErrors) } });
  }

  async function healthz(env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
    const configs = configCache(env);
    // A due refresh happens first (briefly bounded), so an idle gateway reports what the control
    // plane says now rather than the age of its last request.
    await configs.refreshIfDue(HEALTHZ_REFRESH_BOUND_MS, (p) => ctx.waitUntil(p));
    const status = configs.status();
    const state = status.version === null ? "unconfigured" : status.stale ? "stale" : "ok";
    return Response.json(
      {
        status: state,
        configVersion: status.version,
        stale: status.stale,
        configAgeSeconds: status.ageMs === null ? null : Math.round(status.ageMs / 1000),
        lastRefreshError: status.lastError,
        rules: status.ruleCount,
      },
      { status: state === "unconfigured" ? 503 : 200, headers: { "cache-control": "no-store" } },
    );
  }

  return {
    configCache,
    telemetry: isolate.telemetry,
    flushTelemetry: (env) => isolate.telemetry.flush(now(), (shard) => telemetrySink(env, shard), () => spanExporter(env)),
    async fetch(request, env, ctx) {
      if (!isAcceptableHostHeader(request.headers.get("host"))) {
        return new MeshError("bad_request", "the Host header must be a host name or address, optionally with a port").toResponse();
      }
      const url = new URL(request.url);
      // --- operator origin: the dashboard answers only on the admin host, and the admin host
      // answers only the mesh's own paths, so no destination's answer shares the dashboard's origin.
      const settings = settingsOf(env);
      const adminHost = settings.adminHost;
      const onAdminHost = isAdminHost(url, adminHost);
      // --- end operator origin
      if (url.pathname.startsWith("/.weft/") || url.pathname === "/.weft" || url.pathname === "/.well-known/jwks.json") {
        if (url.pathname === "/.weft/healthz") {
          // Health checks keep an otherwise idle isolate's telemetry moving.
          isolate.telemetry.maybeFlush(now(), settings.telemetryFlushMs, (shard) => telemetrySink(env, shard), (p) => ctx.waitUntil(p), () => spanExporter(env));
          return healthz(env, ctx);
        }
        if (url.pathname === "/.weft/metrics" && request.method === "GET") return metrics(request, env, ctx);
        if (url.pathname === "/.well-known/jwks.json" && request.method === "GET") return jwks(env);
        if (url.pathname === "/.weft/token" && request.method === "POST") return exchangeToken(request, env);
        if (url.pathname === ADMIN_BASE || url.pathname.startsWith(`${ADMIN_BASE}/`)) return admin.fetch(request, env, ctx);
        if (url.pathname === DASHBOARD_BASE || url.pathname.startsWith(`${DASHBOARD_BASE}/`)) {
          if (!onAdminHost) {
            // The admin host's name is no secret: saying it helps the operator who typed the wrong one.
            const message = adminHost.ok
              ? `the dashboard is served only on the admin host: ${url.protocol}//${adminHost.host}${url.port ? `:${url.port}` : ""}${DASHBOARD_BASE}`
              : `the dashboard is off: ${adminHost.reason}`;
            return new MeshError("not_found", message).toResponse({ "cache-control": "no-store" });
          }
          // A dashboard left open keeps this isolate's own figures flowing to the telemetry objects.
          isolate.telemetry.maybeFlush(now(), settings.telemetryFlushMs, (shard) => telemetrySink(env, shard), (p) => ctx.waitUntil(p), () => spanExporter(env));
          return dashboard.fetch(request, env, ctx);
        }
        return new MeshError("not_found", `${url.pathname} is reserved by the mesh and not served by this release`).toResponse();
      }
      if (onAdminHost) {
        // Whatever the routes say (a "*" ingress route included): a function's answer here would be same-origin with the dashboard.
        return new MeshError("not_found", `${url.hostname} is the mesh's admin host: it serves the dashboard and /.weft paths, never a function`).toResponse();
      }

      const requestId = crypto.randomUUID();
      let snapshot;
      try {
        snapshot = await configCache(env).get((p) => ctx.waitUntil(p));
      } catch (error) {
        const meshError = error instanceof MeshError ? error : new MeshError("control_plane_unavailable", "no configuration available");
        return meshError.toResponse({ "x-request-id": requestId });
      }
      const meshRequest: MeshRequest = {
        original: request,
        url,
        host: normalizeHost(url.host),
        method: request.method.toUpperCase(),
        headers: new Headers(request.headers),
        env,
        waitUntil: (p) => ctx.waitUntil(p),
        snapshot,
        isolate,
        requestId,
        receivedAt: now(),
        location: location(request),
        path: url.pathname,
        settings,
      };
      const response = await pipeline(meshRequest);
      isolate.telemetry.maybeFlush(now(), settings.telemetryFlushMs, (shard) => telemetrySink(env, shard), (p) => ctx.waitUntil(p), () => spanExporter(env));
      return response;
    },
  };
}
