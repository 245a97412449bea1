/**
 * Endpoint choice for one attempt, by the service's load balancer (routing/balance.ts decides).
 * Not a stage of its own: it runs once per attempt inside the retry stage, so a retry can go to
 * another endpoint, and it sees outlier ejections and in-flight counts as they are right now.
 */
import { MeshError } from "@weft/sdk";
import { bindingNamed } from "../bindings.js";
import { pickEndpoint } from "../routing/balance.js";
import type { CompiledEndpoint, CompiledService, EndpointPool, HashOnConfig } from "../routing/snapshot.js";
import { endpointKey } from "../resilience/state.js";
import type { MeshRequest } from "../stage.js";

/** An endpoint behind a service binding the gateway does not have can never take a request. */
function reachable(request: MeshRequest, endpoint: CompiledEndpoint): boolean {
  return endpoint.target.kind !== "binding" || bindingNamed(request.env, endpoint.target.binding) !== undefined;
}

/** The pool a destination draws from: its subset, or every endpoint of the service. */
export function poolOf(service: CompiledService, subset: string | undefined): EndpointPool | undefined {
  return subset === undefined ? service.allEndpoints : service.subsets.get(subset);
}

/** Picks an endpoint for the next attempt, avoiding `tried` when another is available; 503 when none is. */
export function chooseEndpoint(request: MeshRequest, service: CompiledService, pool: EndpointPool, tried?: ReadonlySet<string>): CompiledEndpoint {
  const { isolate } = request;
  const now = isolate.now();
  const detector = isolate.resilience.detector(service);
  const inFlight = isolate.resilience.inFlight;
  const endpoint = pickEndpoint(pool, {
    policy: service.balancer.policy,
    hashKey: service.balancer.hashOn && hashKeyOf(request, service.balancer.hashOn),
    location: request.location,
    localityAware: service.balancer.localityAware,
    failover: service.balancer.failover,
    isAvailable: (candidate) => reachable(request, candidate) && (!detector || detector.isAvailable(candidate.id, now)),
    inFlight: (candidate) => inFlight.get(endpointKey(candidate.id)),
    tried,
    counters: isolate.counters,
    random: isolate.random,
  });
  if (!endpoint) {
    const missing = pool.endpoints.filter((e) => !reachable(request, e)).map((e) => (e.target.kind === "binding" ? e.target.binding : e.id));
    const why = missing.length > 0 ? `; the gateway has no service binding named ${missing.join(", ")}` : "";
    throw new MeshError("no_healthy_upstream", `no healthy upstream: every endpoint of ${pool.key} is ejected or unavailable${why}`);
  }
  detector?.onPicked(endpoint.id, now);
  return endpoint;
}

/** The consistent-hash key of a request: a header, a cookie, or the caller's identity. */
export function hashKeyOf(request: MeshRequest, hashOn: HashOnConfig): string | undefined {
  if ("header" in hashOn) return request.headers.get(hashOn.header) ?? undefined;
  if ("cookie" in hashOn) return cookieValue(request.headers.get("cookie"), hashOn.cookie);
  return request.caller?.authenticated ? request.caller.spiffeId : undefined;
}

export function cookieValue(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
