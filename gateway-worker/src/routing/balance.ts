/**
 * Endpoint choice within a pool. Pure: the isolate-local counters and the random number come in
 * as arguments. Richer policies (least request, consistent hash, locality) arrive with the
 * traffic-management work and plug in here.
 */
import { pickWeighted } from "./split.js";
import type { CompiledEndpoint, EndpointPool, LoadBalancerPolicy } from "./snapshot.js";

/** Per-isolate balancer memory: one round-robin counter per pool. */
export type BalancerCounters = Map<string, number>;

export function pickEndpoint(pool: EndpointPool, policy: LoadBalancerPolicy, counters: BalancerCounters, random: number): CompiledEndpoint | undefined {
  if (pool.endpoints.length === 0 || pool.totalWeight <= 0) return undefined;
  if (policy === "RANDOM") return pickWeighted(pool.endpoints, random);
  // Weighted round robin: walk the weight bands in turn, so over totalWeight picks each endpoint
  // is chosen exactly `weight` times.
  const turn = counters.get(pool.key) ?? 0;
  counters.set(pool.key, (turn + 1) % pool.totalWeight);
  return pickWeighted(pool.endpoints, (turn + 0.5) / pool.totalWeight);
}
