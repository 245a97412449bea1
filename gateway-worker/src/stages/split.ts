/**
 * Chooses one of the matched rule's weighted destinations (canary splits): one random draw per
 * request, so over many requests the shares follow the weights. The decision is decideSplit
 * (routing/decide-split.ts); this stage supplies the draw and executes it.
 */
import { MeshError } from "@weft/sdk";
import { decideSplit, unknownServiceError } from "../routing/decide-split.js";
import type { Stage } from "../stage.js";

export function splitStage(): Stage {
  return function split(request, next) {
    const rule = request.route?.rule;
    if (!rule) throw new MeshError("internal", "split ran before a route was chosen");
    const decision = decideSplit(request.snapshot, rule, request.isolate.random());
    if (decision.kind === "unknown-service") throw unknownServiceError(decision.destination, request.snapshot.version);
    request.destination = decision.destination;
    request.service = decision.service;
    return next(request);
  };
}
