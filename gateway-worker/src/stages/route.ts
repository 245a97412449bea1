/**
 * Finds the rule for the request in the compiled snapshot (host map, then path index) and the
 * path the destination receives: the decision is decideRoute (routing/lookup.ts); this stage
 * executes it (404 when no rule serves the request). Sits after sanitize so headers a client may
 * not set cannot steer matching, and before everything that depends on the destination.
 */
import { decideRoute, noRouteError } from "../routing/lookup.js";
import type { Stage } from "../stage.js";

export function routeStage(): Stage {
  return function route(request, next) {
    const decision = decideRoute(request.snapshot, {
      host: request.host,
      path: request.path,
      method: request.method,
      headers: request.headers,
      query: request.url.searchParams,
    });
    if (decision.kind === "no-route") throw noRouteError(decision, request);
    request.route = decision.route;
    request.upstreamPath = decision.upstreamPath;
    return next(request);
  };
}
