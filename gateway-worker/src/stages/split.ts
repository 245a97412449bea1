/**
 * Chooses one of the matched rule's weighted destinations (canary splits). One random draw per
 * request, so over many requests the shares follow the weights.
 */
import { MeshError } from "@weft/sdk";
import { pickWeighted } from "../routing/split.js";
import type { Stage } from "../stage.js";

export function splitStage(): Stage {
  return function split(request, next) {
    const rule = request.route?.rule;
    if (!rule) throw new MeshError("internal", "split ran before a route was chosen");
    const destination = pickWeighted(rule.destinations, request.isolate.random());
    const service = request.snapshot.services.get(destination.service);
    if (!service) throw new MeshError("no_healthy_upstream", `service "${destination.service}" is not in config version ${request.snapshot.version}`);
    request.destination = destination;
    request.service = service;
    return next(request);
  };
}
