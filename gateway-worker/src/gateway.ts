/**
 * The gateway Worker's composition root: the isolate's wiring (wiring.ts), the router for the
 * mesh's own paths and the admin host (endpoints/), and the pipeline (pipeline.ts) for everything
 * else. Mesh traffic goes straight into the pipeline: one character comparison tells it from a
 * reserved path, and no router runs for it.
 */
import { MeshError } from "@weft/sdk";
import type { ConfigCache, KeepAlive } from "./config-cache.js";
import type { Snapshot } from "./routing/snapshot.js";
import { isAdminHost, type GatewayEnv } from "./env.js";
import { isReservedPath } from "./endpoints/endpoint.js";
import { createReservedRouter } from "./endpoints/router.js";
import { isAcceptableHostHeader } from "./host-header.js";
import { buildPipeline } from "./pipeline.js";
import { normalizeHost } from "./routing/lookup.js";
import { settingsOf } from "./settings.js";
import type { TelemetryState } from "./telemetry/state.js";
import { createIsolateWiring, type GatewayOptions } from "./wiring.js";

export { controlPlaneSource, controlPlaneStub, telemetryShard, type GatewayOptions } from "./wiring.js";

export interface Gateway {
  fetch(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response>;
  /** The isolate's config cache (created on first use). */
  configCache(env: GatewayEnv): ConfigCache;
  /** Sends this isolate's telemetry now instead of at the next interval (tests, shutdown). */
  flushTelemetry(env: GatewayEnv): Promise<void>;
  /** This isolate's telemetry state (buffer, delivery counts). */
  readonly telemetry: TelemetryState;
}

export function createGateway(options: GatewayOptions = {}): Gateway {
  const wiring = createIsolateWiring(options);
  const { isolate, now } = wiring;
  const reserved = createReservedRouter(wiring);
  const pipeline = buildPipeline((request) => wiring.maybeFlushTelemetry(request.env, request.waitUntil, request.settings));

  return {
    configCache: wiring.configCache,
    telemetry: isolate.telemetry,
    flushTelemetry: wiring.flushTelemetry,
    // Not an async function: in the steady state (a config in hand) the request goes into the
    // pipeline at once, and its answer comes back without a frame of this function in between.
    fetch(request, env, ctx) {
      if (!isAcceptableHostHeader(request.headers.get("host"))) {
        return Promise.resolve(new MeshError("bad_request", "the Host header must be a host name or address, optionally with a port").toResponse());
      }
      const url = new URL(request.url);
      const settings = settingsOf(env);
      // The mesh's own paths, and the operator origin: the admin host answers only the mesh's own
      // paths (the router refuses the rest), so no destination's answer shares the dashboard's origin.
      if (isReservedPath(url.pathname) || isAdminHost(url, settings.adminHost)) return reserved(request, env, ctx);

      const requestId = crypto.randomUUID();
      const receivedAt = now();
      const waitUntil: KeepAlive = (p) => ctx.waitUntil(p);
      const cache = wiring.configCache(env);
      const start = (snapshot: Snapshot): Promise<Response> =>
        pipeline({
          original: request,
          url,
          host: normalizeHost(url.host),
          method: request.method.toUpperCase(),
          headers: new Headers(request.headers),
          env,
          waitUntil,
          snapshot,
          isolate,
          requestId,
          receivedAt,
          path: url.pathname,
          settings,
        });
      const snapshot = cache.ready(waitUntil);
      if (snapshot) return start(snapshot);
      // Cold: the only time a request waits for the control plane.
      return cache.get(waitUntil).then(start, (error: unknown) => {
        const meshError = error instanceof MeshError ? error : new MeshError("control_plane_unavailable", "no configuration available");
        return meshError.toResponse({ "x-request-id": requestId });
      });
    },
  };
}
