/**
 * The gateway Worker's composition root: the isolate's wiring (wiring.ts), the router for the
 * mesh's own paths and the admin host (endpoints/), and the pipeline (pipeline.ts) for everything
 * else. Mesh traffic goes straight into the pipeline: one character comparison tells it from a
 * reserved path, and no router runs for it.
 */
import { MeshError } from "@weft/sdk";
import type { ConfigCache } from "./config-cache.js";
import { isAdminHost, type GatewayEnv } from "./env.js";
import { isReservedPath } from "./endpoints/endpoint.js";
import { createReservedRouter } from "./endpoints/router.js";
import { isAcceptableHostHeader } from "./host-header.js";
import { buildPipeline } from "./pipeline.js";
import { normalizeHost } from "./routing/lookup.js";
import { settingsOf } from "./settings.js";
import type { MeshRequest } from "./stage.js";
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
  const { isolate, now, location } = wiring;
  const reserved = createReservedRouter(wiring);
  const pipeline = buildPipeline();

  return {
    configCache: wiring.configCache,
    telemetry: isolate.telemetry,
    flushTelemetry: wiring.flushTelemetry,
    async fetch(request, env, ctx) {
      if (!isAcceptableHostHeader(request.headers.get("host"))) {
        return new MeshError("bad_request", "the Host header must be a host name or address, optionally with a port").toResponse();
      }
      const url = new URL(request.url);
      const settings = settingsOf(env);
      // The mesh's own paths, and the operator origin: the admin host answers only the mesh's own
      // paths (the router refuses the rest), so no destination's answer shares the dashboard's origin.
      if (isReservedPath(url.pathname) || isAdminHost(url, settings.adminHost)) return reserved(request, env, ctx);

      const requestId = crypto.randomUUID();
      let snapshot;
      try {
        snapshot = await wiring.configCache(env).get((p) => ctx.waitUntil(p));
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
      wiring.maybeFlushTelemetry(env, ctx, settings);
      return response;
    },
  };
}
