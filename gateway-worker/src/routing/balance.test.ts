import { describe, expect, it } from "vitest";
import { pickEndpoint, type BalanceRequest, type BalancerPolicy } from "./balance.js";
import { withCumulativeWeights } from "./split.js";
import type { CompiledEndpoint, EndpointPool } from "./snapshot.js";

/** Small seeded PRNG (mulberry32): repeatable runs without Math.random. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function poolOf(weights: number[], localities: (string | undefined)[] = []): EndpointPool {
  const endpoints = withCumulativeWeights(
    weights.map(
      (weight, i): Omit<CompiledEndpoint, "cumulativeWeight"> => ({
        id: `s/v1/${i}`,
        subset: "v1",
        target: { kind: "binding", binding: `B${i}` },
        hashIdentity: `binding:B${i}`,
        locality: localities[i],
        weight,
      }),
    ),
  );
  return { key: "s/v1", endpoints, totalWeight: endpoints.at(-1)?.cumulativeWeight ?? 0 };
}

function requestOf(overrides: Partial<BalanceRequest> = {}): BalanceRequest {
  return {
    policy: "ROUND_ROBIN",
    localityAware: false,
    failover: [],
    isAvailable: () => true,
    inFlight: () => 0,
    counters: new Map(),
    random: mulberry32(7),
    ...overrides,
  };
}

/** Endpoint ids except the listed indexes are available. */
function unavailable(...indexes: number[]): (endpoint: CompiledEndpoint) => boolean {
  const down = new Set(indexes.map((i) => `s/v1/${i}`));
  return (endpoint) => !down.has(endpoint.id);
}

function picks(pool: EndpointPool, request: BalanceRequest, times: number): (string | undefined)[] {
  return Array.from({ length: times }, () => pickEndpoint(pool, request)?.id);
}

function countsOf(ids: readonly (string | undefined)[]): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

const POLICIES: BalancerPolicy[] = ["ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "CONSISTENT_HASH"];

describe("endpoint balancing: availability and retries", () => {
  it("answers nothing for an empty pool", () => {
    expect(pickEndpoint(poolOf([]), requestOf())).toBeUndefined();
  });

  it.each(POLICIES)("%s answers nothing when every endpoint is unavailable", (policy) => {
    expect(pickEndpoint(poolOf([1, 2, 3]), requestOf({ policy, hashKey: "k", isAvailable: () => false }))).toBeUndefined();
  });

  it.each(POLICIES)("%s never picks an ejected endpoint", (policy) => {
    const pool = poolOf([1, 2, 1, 3]);
    const shared = { policy, counters: new Map<string, number>(), random: mulberry32(1), isAvailable: unavailable(1, 3) };
    const chosen = new Set<string | undefined>();
    for (let i = 0; i < 1000; i++) chosen.add(pickEndpoint(pool, requestOf({ ...shared, hashKey: `user-${i}` }))?.id);
    expect([...chosen].sort()).toEqual(["s/v1/0", "s/v1/2"]);
  });

  it.each(POLICIES)("%s avoids endpoints already tried for the request when another is available", (policy) => {
    const pool = poolOf([1, 1, 1]);
    const tried = new Set(["s/v1/0", "s/v1/2"]);
    for (let i = 0; i < 200; i++) expect(pickEndpoint(pool, requestOf({ policy, hashKey: `user-${i}`, tried }))?.id).toBe("s/v1/1");
  });

  it.each(POLICIES)("%s reuses a tried endpoint when nothing else is available", (policy) => {
    const pool = poolOf([1, 1, 1]);
    const request = requestOf({ policy, hashKey: "user-1", tried: new Set(["s/v1/0", "s/v1/2"]), isAvailable: unavailable(1) });
    expect(["s/v1/0", "s/v1/2"]).toContain(pickEndpoint(pool, request)?.id);
  });
});

describe("endpoint balancing: round robin", () => {
  it("visits endpoints in proportion to their weights, in turn", () => {
    const request = requestOf();
    expect(picks(poolOf([1, 2, 1]), request, 8)).toEqual(["s/v1/0", "s/v1/1", "s/v1/1", "s/v1/2", "s/v1/0", "s/v1/1", "s/v1/1", "s/v1/2"]);
  });

  it("chooses each endpoint exactly `weight` times over totalWeight picks", () => {
    const pool = poolOf([3, 1, 4, 2]);
    const counts = countsOf(picks(pool, requestOf(), pool.totalWeight * 5));
    expect([...counts.entries()].sort()).toEqual([["s/v1/0", 15], ["s/v1/1", 5], ["s/v1/2", 20], ["s/v1/3", 10]]);
  });

  it("skips an ejected endpoint and shares its turns by the remaining weights", () => {
    const request = requestOf({ isAvailable: unavailable(0) });
    expect(picks(poolOf([1, 2, 1]), request, 6)).toEqual(["s/v1/1", "s/v1/1", "s/v1/2", "s/v1/1", "s/v1/1", "s/v1/2"]);
  });

  it("wraps around to the first candidate when the last bands are ejected", () => {
    const request = requestOf({ isAvailable: unavailable(2, 3) });
    expect(picks(poolOf([1, 1, 1, 1]), request, 6)).toEqual(["s/v1/0", "s/v1/1", "s/v1/0", "s/v1/1", "s/v1/0", "s/v1/1"]);
  });

  it("keeps one counter per pool", () => {
    const counters = new Map<string, number>();
    const a = poolOf([1, 1]);
    const b = { ...poolOf([1, 1]), key: "s/v2" };
    expect([pickEndpoint(a, requestOf({ counters }))?.id, pickEndpoint(b, requestOf({ counters }))?.id, pickEndpoint(a, requestOf({ counters }))?.id]).toEqual([
      "s/v1/0",
      "s/v1/0",
      "s/v1/1",
    ]);
  });

  it("tolerates a counter left past the total by an earlier config version", () => {
    const counters = new Map([["s/v1", 41]]);
    expect(pickEndpoint(poolOf([1, 1]), requestOf({ counters }))?.id).toBe("s/v1/1");
  });
});

describe("endpoint balancing: random", () => {
  it("follows the weights within 2 points over 20,000 picks", () => {
    const pool = poolOf([1, 2, 3, 4]);
    const counts = countsOf(picks(pool, requestOf({ policy: "RANDOM", random: mulberry32(42) }), 20_000));
    pool.endpoints.forEach((endpoint) => {
      expect(Math.abs((counts.get(endpoint.id) ?? 0) / 20_000 - endpoint.weight / 10)).toBeLessThan(0.02);
    });
  });

  it("follows the random number it is given", () => {
    const pool = poolOf([1, 1]);
    expect(pickEndpoint(pool, requestOf({ policy: "RANDOM", random: () => 0.1 }))?.id).toBe("s/v1/0");
    expect(pickEndpoint(pool, requestOf({ policy: "RANDOM", random: () => 0.9 }))?.id).toBe("s/v1/1");
    expect(pickEndpoint(pool, requestOf({ policy: "RANDOM", random: () => 1 }))?.id).toBe("s/v1/1");
  });
});

describe("endpoint balancing: least request (power of two choices)", () => {
  const inFlightOf =
    (loads: number[]) =>
    (endpoint: CompiledEndpoint): number =>
      loads[Number(endpoint.id.split("/")[2])] ?? 0;

  it("draws two distinct endpoints and takes the less loaded one", () => {
    // random() = 0 draws endpoint 0 first; the second draw must then be endpoint 1.
    const request = requestOf({ policy: "LEAST_REQUEST", random: () => 0, inFlight: inFlightOf([1, 0]) });
    expect(pickEndpoint(poolOf([1, 1]), request)?.id).toBe("s/v1/1");
  });

  it("keeps the first draw on a tie", () => {
    const request = requestOf({ policy: "LEAST_REQUEST", random: () => 0, inFlight: inFlightOf([3, 3]) });
    expect(pickEndpoint(poolOf([1, 1]), request)?.id).toBe("s/v1/0");
  });

  it("compares in-flight requests per unit of weight", () => {
    // 4 in flight on weight 2 (2 per unit) beats 3 in flight on weight 1.
    const request = requestOf({ policy: "LEAST_REQUEST", random: () => 0, inFlight: inFlightOf([3, 4]) });
    expect(pickEndpoint(poolOf([1, 2]), request)?.id).toBe("s/v1/1");
  });

  it("follows the weights when nothing is in flight", () => {
    const pool = poolOf([1, 3]);
    const counts = countsOf(picks(pool, requestOf({ policy: "LEAST_REQUEST", random: mulberry32(3) }), 20_000));
    expect(Math.abs((counts.get("s/v1/1") ?? 0) / 20_000 - 0.75)).toBeLessThan(0.02);
  });

  /** Endpoint 0 is slow (requests last 40 ticks, the others 2); one request arrives per tick. */
  function slowEndpointShare(policy: BalancerPolicy): number {
    const pool = poolOf([1, 1, 1, 1]);
    const inFlight = new Map<string, number>();
    const finishing = new Map<number, string[]>();
    const request = requestOf({ policy, random: mulberry32(11), inFlight: (endpoint) => inFlight.get(endpoint.id) ?? 0 });
    let slowPicks = 0;
    const ticks = 10_000;
    for (let tick = 0; tick < ticks; tick++) {
      for (const id of finishing.get(tick) ?? []) inFlight.set(id, (inFlight.get(id) ?? 0) - 1);
      finishing.delete(tick);
      const endpoint = pickEndpoint(pool, request);
      if (!endpoint) throw new Error("no endpoint");
      const slow = endpoint.id === "s/v1/0";
      if (slow) slowPicks++;
      inFlight.set(endpoint.id, (inFlight.get(endpoint.id) ?? 0) + 1);
      const done = tick + (slow ? 40 : 2);
      finishing.set(done, [...(finishing.get(done) ?? []), endpoint.id]);
    }
    return slowPicks / ticks;
  }

  it("sends fewer requests to a slow endpoint than round robin does", () => {
    const roundRobin = slowEndpointShare("ROUND_ROBIN");
    const leastRequest = slowEndpointShare("LEAST_REQUEST");
    expect(roundRobin).toBe(0.25);
    expect(leastRequest).toBeLessThan(0.25 / 2);
  });
});

describe("endpoint balancing: consistent hash", () => {
  function assignments(pool: EndpointPool, keys: number, overrides: Partial<BalanceRequest> = {}): (string | undefined)[] {
    return Array.from({ length: keys }, (_, i) => pickEndpoint(pool, requestOf({ policy: "CONSISTENT_HASH", hashKey: `user-${i}`, ...overrides }))?.id);
  }

  it("maps the same key to the same endpoint across 1,000 calls", () => {
    const pool = poolOf([1, 1, 1, 1, 1]);
    const request = requestOf({ policy: "CONSISTENT_HASH", hashKey: "session-abc", random: mulberry32(5) });
    expect(new Set(picks(pool, request, 1000)).size).toBe(1);
  });

  it.each([4, 10])("moves about 1/(n+1) of 10,000 keys, all to the newcomer, when one endpoint joins %i", (n) => {
    const before = assignments(poolOf(Array<number>(n).fill(1)), 10_000);
    const after = assignments(poolOf(Array<number>(n + 1).fill(1)), 10_000);
    const moved = after.filter((id, i) => id !== before[i]);
    expect(moved.length / 10_000).toBeLessThanOrEqual(1 / (n + 1) + 0.05);
    expect(moved.length / 10_000).toBeGreaterThanOrEqual(1 / (n + 1) - 0.05);
    expect(new Set(moved)).toEqual(new Set([`s/v1/${n}`]));
  });

  it("moves only the keys of an endpoint that is removed or ejected", () => {
    const before = assignments(poolOf([1, 1, 1, 1, 1]), 10_000);
    const removed = assignments(poolOf([1, 1, 1, 1]), 10_000);
    const ejected = assignments(poolOf([1, 1, 1, 1, 1]), 10_000, { isAvailable: unavailable(2) });
    const movedKeys = (after: (string | undefined)[]): (string | undefined)[] => before.filter((id, i) => after[i] !== id);
    expect(new Set(movedKeys(removed))).toEqual(new Set(["s/v1/4"]));
    expect(new Set(movedKeys(ejected))).toEqual(new Set(["s/v1/2"]));
    expect(movedKeys(ejected).length).toBe(before.filter((id) => id === "s/v1/2").length);
  });

  it("keeps keys in place when ejecting the heavier endpoint leaves equal weights", () => {
    // Mixed weights score with the logarithm, equal weights compare raw hashes: same order.
    const before = assignments(poolOf([2, 1, 1, 1, 1]), 10_000);
    const ejected = assignments(poolOf([2, 1, 1, 1, 1]), 10_000, { isAvailable: unavailable(0) });
    expect(new Set(before.filter((id, i) => ejected[i] !== id))).toEqual(new Set(["s/v1/0"]));
  });

  it("gives an endpoint of weight 3 about three times the keys of one of weight 1", () => {
    const counts = countsOf(assignments(poolOf([3, 1, 1, 1]), 10_000));
    const light = ((counts.get("s/v1/1") ?? 0) + (counts.get("s/v1/2") ?? 0) + (counts.get("s/v1/3") ?? 0)) / 3;
    expect((counts.get("s/v1/0") ?? 0) / light).toBeGreaterThan(3 * 0.9);
    expect((counts.get("s/v1/0") ?? 0) / light).toBeLessThan(3 * 1.1);
  });

  it("keeps keys in place when an endpoint is inserted at the front (it hashes the binding, not the position)", () => {
    const poolWith = (bindings: string[]): EndpointPool => {
      const endpoints = withCumulativeWeights(
        bindings.map((binding, i): Omit<CompiledEndpoint, "cumulativeWeight"> => ({ id: `s/v1/${i}`, subset: "v1", target: { kind: "binding", binding }, hashIdentity: `binding:${binding}`, locality: undefined, weight: 1 })),
      );
      return { key: "s/v1", endpoints, totalWeight: endpoints.length };
    };
    const bindingFor = (pool: EndpointPool, key: string) => {
      const picked = pickEndpoint(pool, requestOf({ policy: "CONSISTENT_HASH", hashKey: key }));
      return picked?.target.kind === "binding" ? picked.target.binding : undefined;
    };
    const before = poolWith(["B", "C", "D", "E"]);
    const after = poolWith(["A", "B", "C", "D", "E"]);
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      const was = bindingFor(before, `k${i}`);
      const now = bindingFor(after, `k${i}`);
      if (was !== now) {
        moved++;
        expect(now).toBe("A");
      }
    }
    expect(moved / 2000).toBeLessThan(1 / 5 + 0.05);
  });

  it("falls back to weighted random without a hash key", () => {
    const pool = poolOf([1, 1]);
    expect(pickEndpoint(pool, requestOf({ policy: "CONSISTENT_HASH", random: () => 0.1 }))?.id).toBe("s/v1/0");
    expect(pickEndpoint(pool, requestOf({ policy: "CONSISTENT_HASH", random: () => 0.9 }))?.id).toBe("s/v1/1");
  });
});

describe("endpoint balancing: locality", () => {
  // 0: Europe; 1: the request's colo (other case); 2: its continent; 3: first failover; 4: none.
  const pool = poolOf([1, 1, 1, 1, 1], ["eu", "sjc", "na", "AMS", undefined]);
  const local = { location: { colo: "SJC", continent: "NA" }, localityAware: true, failover: ["ams", "eu"] } satisfies Partial<BalanceRequest>;

  it.each<[string, number[], string]>([
    ["the colo", [], "s/v1/1"],
    ["the continent when the colo is ejected", [1], "s/v1/2"],
    ["the first failover locality next", [1, 2], "s/v1/3"],
    ["the second failover locality next", [1, 2, 3], "s/v1/0"],
    ["the rest last", [0, 1, 2, 3], "s/v1/4"],
  ])("prefers %s", (_, down, expected) => {
    for (const policy of POLICIES) {
      const request = requestOf({ ...local, policy, hashKey: "user-1", isAvailable: unavailable(...down) });
      expect(picks(pool, request, 20)).toEqual(Array<string>(20).fill(expected));
    }
  });

  it("sends a retry to the next locality rather than back to the local endpoint", () => {
    expect(pickEndpoint(pool, requestOf({ ...local, tried: new Set(["s/v1/1"]) }))?.id).toBe("s/v1/2");
  });

  it("lets the policy choose among the endpoints of the preferred locality", () => {
    const twoLocal = poolOf([1, 1, 1, 1], ["sjc", "lax", "sjc", undefined]);
    expect(picks(twoLocal, requestOf(local), 4)).toEqual(["s/v1/0", "s/v1/2", "s/v1/0", "s/v1/2"]);
  });

  it("uses the continent when only the continent is known", () => {
    expect(pickEndpoint(pool, requestOf({ ...local, location: { continent: "na" } }))?.id).toBe("s/v1/2");
  });

  it.each<[string, Partial<BalanceRequest>]>([
    ["without a location", { ...local, location: undefined }],
    ["with an empty location", { ...local, location: {} }],
    ["when locality awareness is off", { ...local, localityAware: false }],
  ])("ignores locality %s", (_, overrides) => {
    expect(picks(pool, requestOf(overrides), 5)).toEqual(["s/v1/0", "s/v1/1", "s/v1/2", "s/v1/3", "s/v1/4"]);
  });
});
