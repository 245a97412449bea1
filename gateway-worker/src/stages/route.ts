/**
 * Finds the rule for the request in the compiled snapshot (host map, then path index). Sits
 * after sanitize so headers a client may not set cannot steer matching, and before everything
 * that depends on the destination.
 */
import { MeshError } from "@weft/sdk";
import { findRoute, rewritePath } from "../routing/lookup.js";
import type { Stage } from "../stage.js";

export function routeStage(): Stage {
  return function route(request, next) {
    const lookup = findRoute(request.snapshot, {
      host: request.host,
      path: request.path,
      method: request.method,
      headers: request.headers,
      query: request.url.searchParams,
    });
    if (!lookup.found) {
      const message =
        lookup.reason === "no_host"
          ? lookup.hostKind === "mesh"
            ? `no service named "${request.host.slice(0, -".mesh".length)}" in the mesh`
            : `no route serves host "${request.host}"`
          : `no route rule matches ${request.method} ${request.path} on "${request.host}"`;
      throw new MeshError("no_route", message);
    }
    request.route = lookup.route;
    request.upstreamPath = rewritePath(lookup.route, request.path);
    return next(request);
  };
}
