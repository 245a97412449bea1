/**
 * The request path through the gateway, top to bottom as in DESIGN.md §1. Later stages
 * (authentication, authorization, rate limits, retries, circuit breaking, mirroring, telemetry)
 * slot in at the positions the comments name.
 */
import { MeshError } from "@weft/sdk";
import { composeStages, type MeshRequest, type Stage } from "./stage.js";
import { balanceStage } from "./stages/balance.js";
import { forward } from "./stages/forward.js";
import { routeStage } from "./stages/route.js";
import { sanitizeStage } from "./stages/sanitize.js";
import { splitStage } from "./stages/split.js";
import { normalizeStage } from "./stages/normalize.js";
import { authenticateStage } from "./stages/authenticate.js";
import { authorizeStage } from "./stages/authorize.js";
import { hopIdentityStage } from "./stages/hop-identity.js";

export function buildPipeline(): (request: MeshRequest) => Promise<Response> {
  const stages: Stage[] = [
    // Drop what must not cross the gateway (client x-weft-*, Authorization, hop-by-hop headers),
    // refuse oversized header sets; assign the request id.
    sanitizeStage(),
    // One normalized path for routing, policy and forwarding; ambiguous paths refused (400).
    normalizeStage(),
    // Who is calling: a presented token must verify (401 otherwise); none means anonymous.
    authenticateStage(),
    // Find the rule: host map, then path index. Needs clean headers for header matches.
    routeStage(),
    // May this caller reach the rule's services? Needs the caller and the destination (401/403).
    authorizeStage(),
    // (rate limits go here: they need the caller and the destination service.)
    // Weighted choice of destination subset (canaries).
    splitStage(),
    // Endpoint within the subset.
    balanceStage(),
    // Tell the destination who calls: a cached hop token for this caller and destination.
    hopIdentityStage(),
    // (outlier detection, retries and hedging wrap forward here.)
  ];
  const run = composeStages(stages, forward);
  return async function handleMeshRequest(request) {
    try {
      return await run(request);
    } catch (error) {
      if (error instanceof MeshError) return error.toResponse({ "x-request-id": request.requestId });
      console.error(JSON.stringify({ level: "error", msg: "gateway pipeline failed", requestId: request.requestId, error: String(error) }));
      return new MeshError("internal", "the gateway failed to handle the request").toResponse({ "x-request-id": request.requestId });
    }
  };
}
