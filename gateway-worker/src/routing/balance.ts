/**
 * Endpoint choice within a pool. Pure: the isolate-local counters, the health view (outlier
 * detection), the in-flight counts and the random source all come in as arguments.
 *
 * One pass over the pool keeps the candidates of the best rank, where the rank orders
 *   1. endpoints not yet tried for this request before tried ones (retries go elsewhere), then
 *   2. locality tiers: the request's colo, its continent, each failover locality, everything else.
 * The policy then picks within those candidates. So a pick prefers a local, healthy, untried
 * endpoint and fails over by priority when the local one is ejected or has already failed.
 * Cost: O(pool size) per pick plus one small array of candidates; pools hold ≤ 256 endpoints.
 */
import { fmix32, fnv1a32 } from "./hash.js";
import type { CompiledEndpoint, EndpointPool, LoadBalancerPolicy } from "./snapshot.js";

/** Per-isolate balancer memory: one round-robin counter per pool. */
export type BalancerCounters = Map<string, number>;

export type BalancerPolicy = LoadBalancerPolicy;

/** Where the request came from (request.cf): used for locality-aware routing. */
export interface RequestLocation {
  colo?: string | undefined;
  continent?: string | undefined;
}

export interface BalanceRequest {
  policy: BalancerPolicy;
  /** Consistent hashing key (already taken from the header / cookie / caller identity); when undefined with CONSISTENT_HASH, fall back to RANDOM. */
  hashKey?: string | undefined;
  location?: RequestLocation | undefined;
  /** Prefer endpoints whose locality matches the request's location. */
  localityAware: boolean;
  /** Localities to try next, in order, after the ones matching the request's location. */
  failover: readonly string[];
  /** Outlier detection says the endpoint may take a request now. */
  isAvailable: (endpoint: CompiledEndpoint) => boolean;
  /** In-flight requests at the endpoint (for least request). */
  inFlight: (endpoint: CompiledEndpoint) => number;
  /** Endpoints already tried for this request: avoided when any other is available (retries go elsewhere). */
  tried?: ReadonlySet<string> | undefined; // endpoint ids
  counters: BalancerCounters;
  random: () => number;
}

/**
 * Picks the endpoint for one attempt; undefined when no endpoint is available (the caller
 * answers 503 "no healthy upstream"). Calls `isAvailable` at most once per endpoint.
 */
export function pickEndpoint(pool: EndpointPool, request: BalanceRequest): CompiledEndpoint | undefined {
  if (pool.endpoints.length === 0 || pool.totalWeight <= 0) return undefined;
  const candidates: CompiledEndpoint[] = [];
  const candidateWeight = collectCandidates(pool, request, candidates);
  const only = candidates[0];
  if (only === undefined || candidates.length === 1) return only;
  switch (request.policy) {
    case "ROUND_ROBIN":
      return roundRobin(pool, candidates, request.counters);
    case "RANDOM":
      return weightedAmong(candidates, candidateWeight, request.random(), undefined);
    case "LEAST_REQUEST":
      return powerOfTwoChoices(candidates, candidateWeight, request);
    case "CONSISTENT_HASH":
      return request.hashKey === undefined
        ? weightedAmong(candidates, candidateWeight, request.random(), undefined)
        : rendezvous(candidates, request.hashKey);
  }
}

/**
 * Fills `out` with the available endpoints of the best rank, in pool order, and returns their
 * total weight. Rank = locality tier, plus `tierCount` when the endpoint was already tried, so any
 * untried endpoint beats every tried one and the locality order holds within each group.
 */
function collectCandidates(pool: EndpointPool, request: BalanceRequest, out: CompiledEndpoint[]): number {
  const { isAvailable, tried, failover } = request;
  const colo = request.localityAware ? request.location?.colo : undefined;
  const continent = request.localityAware ? request.location?.continent : undefined;
  // Without a location there is nothing to be local to: failover order alone would be arbitrary.
  const useLocality = colo !== undefined || continent !== undefined;
  const tierCount = useLocality ? failover.length + 3 : 1;
  let bestRank = Number.POSITIVE_INFINITY;
  let total = 0;
  for (const endpoint of pool.endpoints) {
    // Config weights are ≥ 1; a zero weight (drained) would also divide by zero in least request.
    if (!(endpoint.weight > 0)) continue;
    const wasTried = tried !== undefined && tried.size > 0 && tried.has(endpoint.id);
    // A tried endpoint cannot beat an untried one already found: skip the health and tier checks.
    if (wasTried && bestRank < tierCount) continue;
    if (!isAvailable(endpoint)) continue;
    const tier = useLocality ? localityTier(endpoint.locality, colo, continent, failover) : 0;
    const rank = wasTried ? tierCount + tier : tier;
    if (rank > bestRank) continue;
    if (rank < bestRank) {
      bestRank = rank;
      // Guarded: setting length on the (usual) empty array measured slower in V8 than the check.
      if (out.length > 0) out.length = 0;
      total = 0;
    }
    out.push(endpoint);
    total += endpoint.weight;
  }
  return total;
}

/** 0: the request's colo; 1: its continent; 2 + i: `failover[i]`; then everything else. */
function localityTier(locality: string | undefined, colo: string | undefined, continent: string | undefined, failover: readonly string[]): number {
  const rest = failover.length + 2;
  if (locality === undefined) return rest;
  if (colo !== undefined && sameLocality(locality, colo)) return 0;
  if (continent !== undefined && sameLocality(locality, continent)) return 1;
  for (let i = 0; i < failover.length; i++) {
    if (sameLocality(locality, failover[i] as string)) return i + 2;
  }
  return rest;
}

/**
 * Case-insensitive equality without allocating: request.cf says `SJC` / `NA`, configs tend to say
 * `sjc` / `na`. ASCII is folded in place; anything else falls back to toLowerCase.
 */
function sameLocality(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x > 0x7f || y > 0x7f) return a.toLowerCase() === b.toLowerCase();
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * Weighted round robin: the counter walks the pool's weight bands (slot `turn` belongs to the
 * endpoint whose band [cumulative − weight, cumulative) holds it), so with every endpoint a
 * candidate each is chosen exactly `weight` times per `totalWeight` picks. A slot owned by a
 * non-candidate goes to the next candidate band, and the counter then continues from inside that
 * band: the skipped endpoint's share is spread by the remaining weights instead of all landing on
 * its neighbour.
 */
function roundRobin(pool: EndpointPool, candidates: readonly CompiledEndpoint[], counters: BalancerCounters): CompiledEndpoint {
  const total = pool.totalWeight;
  // `%`: a counter from an earlier config version may lie past this pool's total.
  const turn = (counters.get(pool.key) ?? 0) % total;
  let chosen = candidates[0] as CompiledEndpoint; // past the last candidate band: wrap around
  for (const endpoint of candidates) {
    if (endpoint.cumulativeWeight > turn) {
      chosen = endpoint;
      break;
    }
  }
  const bandStart = chosen.cumulativeWeight - chosen.weight;
  const slot = turn >= bandStart && turn < chosen.cumulativeWeight ? turn : bandStart;
  counters.set(pool.key, (slot + 1) % total);
  return chosen;
}

/**
 * Weighted choice among candidates by walking their weights (O(candidates), no prefix-sum array).
 * `skip` leaves one candidate out; `total` must then exclude its weight.
 */
function weightedAmong(candidates: readonly CompiledEndpoint[], total: number, random: number, skip: CompiledEndpoint | undefined): CompiledEndpoint {
  let remaining = Math.min(Math.max(random, 0), 1) * total;
  let last: CompiledEndpoint | undefined;
  for (const endpoint of candidates) {
    if (endpoint === skip) continue;
    remaining -= endpoint.weight;
    if (remaining < 0) return endpoint;
    last = endpoint;
  }
  // random = 1 or float rounding: the last band.
  return last ?? (candidates[0] as CompiledEndpoint);
}

/**
 * Least request by the power of two choices (Envoy, Linkerd): two distinct candidates drawn by
 * weight, the one with fewer in-flight requests per unit of weight wins; a tie keeps the first.
 * Two samples avoid both the herd that "always the global least" causes when many isolates see
 * the same stale counts, and a full scan of in-flight counts.
 */
function powerOfTwoChoices(candidates: readonly CompiledEndpoint[], total: number, request: BalanceRequest): CompiledEndpoint {
  const first = weightedAmong(candidates, total, request.random(), undefined);
  const second = weightedAmong(candidates, total - first.weight, request.random(), first);
  // inFlight/weight compared by cross-multiplying: no division, exact for integers.
  return request.inFlight(second) * first.weight < request.inFlight(first) * second.weight ? second : first;
}

const TWO_TO_THE_32 = 4_294_967_296;

/**
 * Weighted rendezvous (highest random weight) hashing: score = −weight / ln(h) with
 * h = hash(key + "\0" + endpoint.hashIdentity) in (0, 1); the highest score wins. Each endpoint wins a key with
 * probability weight / Σweight, and a key only moves when its winner leaves the candidates or a
 * newcomer outscores it, so adding one of n+1 endpoints moves ≈ 1/(n+1) of keys (all to the
 * newcomer) and removing or ejecting one moves only its keys. No ring to build per config.
 */
function rendezvous(candidates: readonly CompiledEndpoint[], key: string): CompiledEndpoint {
  // Hash the key once; each endpoint id continues from that state (no string per endpoint).
  const keyState = fnv1a32("\u0000", fnv1a32(key));
  let best = candidates[0] as CompiledEndpoint;
  const weight = best.weight;
  let uniform = true;
  for (const endpoint of candidates) {
    if (endpoint.weight !== weight) {
      uniform = false;
      break;
    }
  }
  if (uniform) {
    // Equal weights (the default): the score grows with the hash, so the largest hash wins and
    // the logarithm can be skipped. Same choice, same tie-break.
    let bestHash = -1;
    for (const endpoint of candidates) {
      const hash = fmix32(fnv1a32(endpoint.hashIdentity, keyState));
      if (hash > bestHash) {
        bestHash = hash;
        best = endpoint;
      }
    }
    return best;
  }
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const endpoint of candidates) {
    // +0.5: maps the 32-bit hash into the open interval (0, 1), so ln(h) is finite and negative.
    const h = (fmix32(fnv1a32(endpoint.hashIdentity, keyState)) + 0.5) / TWO_TO_THE_32;
    const score = -endpoint.weight / Math.log(h);
    if (score > bestScore) {
      bestScore = score;
      best = endpoint;
    }
  }
  return best;
}
