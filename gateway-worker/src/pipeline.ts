/**
 * The request path through the gateway, top to bottom as in docs/architecture.md#request-path; telemetry observes the
 * answer at the end, whoever produced it.
 */
import { MeshError } from "@weft/sdk";
import { composeStages, type MeshRequest, type Stage } from "./stage.js";
import { routeStage } from "./stages/route.js";
import { sanitizeStage } from "./stages/sanitize.js";
import { splitStage } from "./stages/split.js";
import { normalizeStage } from "./stages/normalize.js";
import { authenticateStage } from "./stages/authenticate.js";
import { authorizeStage } from "./stages/authorize.js";
import { hopIdentityStage } from "./stages/hop-identity.js";
import { faultStage } from "./stages/fault.js";
import { rateLimitStage } from "./stages/rate-limit.js";
import { mirrorStage } from "./stages/mirror.js";
import { circuitBreakerStage } from "./stages/circuit-breaker.js";
import { forwardWithRetries } from "./stages/retry.js";
import { observeRequest } from "./telemetry/observe.js";

/**
 * The pipeline as one function. `onAnswered` runs once the answer is known and observed, before it
 * goes back (the gateway flushes telemetry there when its interval has passed).
 */
export function buildPipeline(onAnswered: (request: MeshRequest) => void = () => {}): (request: MeshRequest) => Promise<Response> {
  const stages: Stage[] = [
    // Drop what must not cross the gateway (client x-weft-*, Authorization, hop-by-hop headers),
    // refuse oversized header sets; assign the request id; note the caller's time budget.
    sanitizeStage(),
    // One normalized path for routing, policy and forwarding; ambiguous paths refused (400).
    normalizeStage(),
    // Who is calling: a presented token must verify (401 otherwise); none means anonymous.
    authenticateStage(),
    // Find the rule: host map, then path index. Needs clean headers for header matches.
    routeStage(),
    // May this caller reach the rule's services? Needs the caller and the destination (401/403).
    authorizeStage(),
    // Chaos testing: injected delays and aborts replace the upstream, as Istio's fault filter does,
    // so they happen before anything is counted against the destination.
    faultStage(),
    // Weighted choice of destination subset (canaries).
    splitStage(),
    // Token buckets per destination or per caller→destination: needs the chosen service (429).
    rateLimitStage(),
    // Shadow copies go out in the background, before the hop identity of the main call is set.
    mirrorStage(),
    // Tell the destination who calls: a cached hop token for this caller and destination.
    hopIdentityStage(),
    // Concurrency limit per destination (503 at once when saturated), held across retries.
    circuitBreakerStage(),
  ];
  // Attempts: balance (per attempt, outlier-aware) ▸ per-try timeout ▸ forward ▸ retry/hedge.
  const run = composeStages(stages, forwardWithRetries);
  const answered = (request: MeshRequest, response: Response): Response => {
    // Telemetry sees every answer, the mesh's own included, once it is known (in-isolate, O(1)).
    if (request.settings.telemetryOn) observeRequest(request, response);
    onAnswered(request);
    return response;
  };
  // Not an async function: a stage may refuse at once (a throw) or answer later (a promise), and
  // either way the answer is one promise step away, with no frame of its own in between.
  return function handleMeshRequest(request) {
    let answer: Promise<Response>;
    try {
      answer = run(request);
    } catch (error) {
      return Promise.resolve(answered(request, failureResponse(request, error)));
    }
    return answer.then(
      (response) => answered(request, response),
      (error: unknown) => answered(request, failureResponse(request, error)),
    );
  };
}

/** The mesh's own answer when a stage refused (a MeshError) or failed (anything else, logged). */
function failureResponse(request: MeshRequest, error: unknown): Response {
  if (error instanceof MeshError) return error.toResponse({ "x-request-id": request.requestId });
  console.error(JSON.stringify({ level: "error", msg: "gateway pipeline failed", requestId: request.requestId, error: String(error) }));
  return new MeshError("internal", "the gateway failed to handle the request").toResponse({ "x-request-id": request.requestId });
}
