/** Picks the endpoint within the chosen subset, by the service's load-balancer policy. */
import { MeshError } from "@weft/sdk";
import { pickEndpoint } from "../routing/balance.js";
import type { Stage } from "../stage.js";

export function balanceStage(): Stage {
  return function balance(request, next) {
    const { service, destination } = request;
    if (!service || !destination) throw new MeshError("internal", "balance ran before a destination was chosen");
    const pool = destination.subset === undefined ? service.allEndpoints : service.subsets.get(destination.subset);
    const endpoint = pool && pickEndpoint(pool, service.loadBalancer, request.isolate.counters, request.isolate.random());
    if (!endpoint) {
      throw new MeshError("no_healthy_upstream", `no endpoint available for ${service.name}/${destination.subset ?? "*"}`);
    }
    request.endpoint = endpoint;
    return next(request);
  };
}
