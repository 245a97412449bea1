/**
 * Normalizes the request path once, right after sanitize and before anything matches on it, so
 * routing, policy and the destination all see the same path. Ambiguous paths are refused.
 */
import { normalizePath, refusedPath } from "../routing/normalize-path.js";
import type { Stage } from "../stage.js";

export function normalizeStage(): Stage {
  return function normalize(request, next) {
    const result = normalizePath(request.url.pathname);
    if (!result.ok) throw refusedPath(result.reason);
    request.path = result.path;
    return next(request);
  };
}
