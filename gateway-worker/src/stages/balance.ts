/**
 * Endpoint choice for one attempt, by the service's load balancer. Not a stage of its own: it
 * runs once per attempt inside the retry stage, so a retry can go to another endpoint, and it sees
 * outlier ejections and in-flight counts as they are right now. The decision is decideEndpoint
 * (routing/balance.ts picks among the endpoints that are reachable and not ejected, by the
 * request's hash key and location); chooseEndpoint gathers this isolate's state and executes it.
 * Explain reports the same inputs: the pool, the hash key and each endpoint's reachability.
 */
import { MeshError } from "@weft/sdk";
import { bindingNamed } from "../bindings.js";
import { pickEndpoint, type BalanceRequest, type RequestLocation } from "../routing/balance.js";
import type { CompiledEndpoint, CompiledService, EndpointPool, HashOnConfig } from "../routing/snapshot.js";
import type { Caller } from "../policy/authorize.js";
import type { MeshRequest } from "../stage.js";

/** The pool a destination draws from: its subset, or every endpoint of the service. */
export function poolOf(service: CompiledService, subset: string | undefined): EndpointPool | undefined {
  return subset === undefined ? service.allEndpoints : service.subsets.get(subset);
}

/** An endpoint behind a service binding the gateway does not have can never take a request. */
export function isReachable(endpoint: CompiledEndpoint, hasBinding: (binding: string) => boolean): boolean {
  return endpoint.target.kind !== "binding" || hasBinding(endpoint.target.binding);
}

/** What the balancer reads from the request: headers (after sanitize), the caller, where it came from. */
export interface BalancedRequest {
  readonly headers: { get(name: string): string | null };
  readonly caller?: Caller | undefined;
  readonly location?: RequestLocation | undefined;
}

/** This isolate's balancer memory: round-robin counters and the random source. */
export type BalancerMemory = Pick<BalanceRequest, "counters" | "random">;

/**
 * The endpoint for the next attempt by the service's balancer, among those `isAvailable` admits
 * (reachable, not ejected), avoiding `tried` when another is available; undefined when none is (503).
 */
export function decideEndpoint(
  service: CompiledService,
  pool: EndpointPool,
  request: BalancedRequest,
  isAvailable: (endpoint: CompiledEndpoint) => boolean,
  inFlight: (endpoint: CompiledEndpoint) => number,
  memory: BalancerMemory,
  tried?: ReadonlySet<string>,
): CompiledEndpoint | undefined {
  const balancer = service.balancer;
  return pickEndpoint(pool, {
    policy: balancer.policy,
    hashKey: balancer.hashOn && hashKeyOf(request, balancer.hashOn),
    location: request.location,
    localityAware: balancer.localityAware,
    failover: balancer.failover,
    isAvailable,
    inFlight,
    tried,
    counters: memory.counters,
    random: memory.random,
  });
}

/** The 503 when no endpoint of the pool can take the request, naming the bindings the gateway lacks. */
export function noHealthyUpstream(pool: EndpointPool, hasBinding: (binding: string) => boolean): MeshError {
  const missing = pool.endpoints.filter((e) => !isReachable(e, hasBinding)).map((e) => (e.target.kind === "binding" ? e.target.binding : e.id));
  const why = missing.length > 0 ? `; the gateway has no service binding named ${missing.join(", ")}` : "";
  return new MeshError("no_healthy_upstream", `no healthy upstream: every endpoint of ${pool.key} is ejected or unavailable${why}`);
}

/** Picks an endpoint for the next attempt, avoiding `tried` when another is available; 503 when none is. */
export function chooseEndpoint(request: MeshRequest, service: CompiledService, pool: EndpointPool, tried?: ReadonlySet<string>): CompiledEndpoint {
  const { isolate, env } = request;
  const now = isolate.now();
  const detector = isolate.resilience.detector(service);
  const inFlight = isolate.resilience.endpointsInFlight;
  // Closures passed inline, never bound to a name: bundlers' keepNames would wrap each one per call.
  const endpoint = decideEndpoint(
    service,
    pool,
    { headers: request.headers, caller: request.caller, location: service.balancer.localityAware ? isolate.location(request.original) : undefined },
    (candidate) => isReachable(candidate, (binding) => bindingNamed(env, binding) !== undefined) && (!detector || detector.isAvailable(candidate.id, now)),
    (candidate) => inFlight.get(candidate.id),
    isolate,
    tried,
  );
  if (!endpoint) throw noHealthyUpstream(pool, (binding) => bindingNamed(env, binding) !== undefined);
  detector?.onPicked(endpoint.id, now);
  return endpoint;
}

/** The consistent-hash key of a request: a header, a cookie, or the caller's identity. */
export function hashKeyOf(request: Pick<BalancedRequest, "headers" | "caller">, hashOn: HashOnConfig): string | undefined {
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
