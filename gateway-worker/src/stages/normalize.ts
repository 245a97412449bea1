/**
 * Normalizes the request path once, right after sanitize and before anything matches on it, so
 * routing, policy and the destination all see the same path. Ambiguous paths are refused.
 */
import { MeshError } from "@weft/sdk";
import { normalizePath } from "../routing/normalize-path.js";
import type { Stage } from "../stage.js";

export function normalizeStage(): Stage {
  return function normalize(request, next) {
    const result = normalizePath(request.url.pathname);
    if (!result.ok) throw new MeshError("bad_request", `refused path: ${result.reason}`);
    request.path = result.path;
    return next(request);
  };
}
