/** The endpoint decision's inputs and outcome: the hash key, reachability, the pick and the 503 when nothing can take the request. */
import { describe, expect, it } from "vitest";
import type { Caller } from "../policy/authorize.js";
import type { CompiledService } from "../routing/snapshot.js";
import { snapshotOf } from "../routing/test-support.js";
import { decideEndpoint, hashKeyOf, isReachable, noHealthyUpstream, poolOf } from "./balance.js";

const service = (name: string, loadBalancer: unknown) => ({
  apiVersion: "weft/v1",
  kind: "Service",
  metadata: { name },
  spec: {
    subsets: [
      { name: "v1", endpoints: [{ binding: "A_V1" }, { binding: "B_V1" }, { url: "https://c.example/" }] },
      { name: "v2", endpoints: [{ binding: "A_V2" }] },
    ],
    trafficPolicy: { loadBalancer },
  },
});
const snapshot = snapshotOf([
  service("by-header", { policy: "CONSISTENT_HASH", hashOn: { header: "x-user" } }),
  service("by-cookie", { policy: "CONSISTENT_HASH", hashOn: { cookie: "session" } }),
  service("by-caller", { policy: "CONSISTENT_HASH", hashOn: { caller: true } }),
  service("round-robin", { policy: "ROUND_ROBIN" }),
]);
const svc = (name: string) => snapshot.services.get(name) as CompiledService;
const frontend: Caller = { authenticated: true, service: "frontend", spiffeId: "spiffe://shop.weft/ns/default/sa/frontend" };

const noneInFlight = () => 0;
const memory = (draw = 0.5) => ({ counters: new Map<string, number>(), random: () => draw });

describe("the endpoint decision", () => {
  it.each([
    ["by-header", { "x-user": "u-1" }, undefined, "u-1"],
    ["by-header", {}, frontend, undefined],
    ["by-cookie", { cookie: "theme=dark; session=s-9" }, undefined, "s-9"],
    ["by-cookie", { cookie: "theme=dark" }, frontend, undefined],
    ["by-caller", {}, frontend, frontend.spiffeId],
    ["by-caller", {}, { authenticated: false } as Caller, undefined],
  ])("%s: headers %o, caller %o → hash key %s", (name, headers, caller, key) => {
    expect(hashKeyOf({ headers: new Headers(headers), caller }, svc(name).balancer.hashOn!)).toBe(key);
  });

  it("avoids an endpoint already tried when another is available", () => {
    const pool = poolOf(svc("by-header"), "v1")!;
    const request = { headers: new Headers({ "x-user": "u-7" }) };
    const first = decideEndpoint(svc("by-header"), pool, request, () => true, noneInFlight, memory())!;
    const retry = decideEndpoint(svc("by-header"), pool, request, () => true, noneInFlight, memory(), new Set([first.id]));
    expect(retry?.id).not.toBe(first.id);
  });

  it("sends one hash key to one endpoint, whatever the draw", () => {
    const pool = poolOf(svc("by-header"), "v1")!;
    const picks = new Set([0.1, 0.5, 0.9].map((draw) => decideEndpoint(svc("by-header"), pool, { headers: new Headers({ "x-user": "u-7" }) }, () => true, noneInFlight, memory(draw))?.id));
    expect(picks.size).toBe(1);
  });

  it("picks only available endpoints, and none when none is", () => {
    const pool = poolOf(svc("round-robin"), "v1")!;
    const onlyB = (endpoint: { id: string }) => endpoint.id === "round-robin/v1/1";
    const counters = memory();
    expect([1, 2, 3].map(() => decideEndpoint(svc("round-robin"), pool, { headers: new Headers() }, onlyB, noneInFlight, counters)?.id)).toEqual(["round-robin/v1/1", "round-robin/v1/1", "round-robin/v1/1"]);
    expect([1, 2, 3].map(() => decideEndpoint(svc("round-robin"), pool, { headers: new Headers() }, () => true, noneInFlight, counters)?.id)).toEqual(["round-robin/v1/0", "round-robin/v1/1", "round-robin/v1/2"]);
    expect(decideEndpoint(svc("round-robin"), pool, { headers: new Headers() }, () => false, noneInFlight, memory())).toBeUndefined();
  });

  it("draws from the subset's pool, or every endpoint without a subset", () => {
    expect(poolOf(svc("round-robin"), "v2")?.key).toBe("round-robin/v2");
    expect(poolOf(svc("round-robin"), undefined)?.endpoints.map((e) => e.id)).toEqual(["round-robin/v1/0", "round-robin/v1/1", "round-robin/v1/2", "round-robin/v2/0"]);
    expect(poolOf(svc("round-robin"), "v9")).toBeUndefined();
  });

  it("counts an endpoint behind a missing service binding as unreachable, and a URL endpoint as reachable", () => {
    const [a, b, c] = poolOf(svc("round-robin"), "v1")!.endpoints;
    const has = (binding: string) => binding === "A_V1";
    expect([isReachable(a!, has), isReachable(b!, has), isReachable(c!, has)]).toEqual([true, false, true]);
  });

  it("answers 503 naming the service bindings the gateway lacks", () => {
    const pool = poolOf(svc("round-robin"), "v1")!;
    const error = noHealthyUpstream(pool, (binding) => binding === "A_V1");
    expect([error.status, error.code, error.message]).toEqual([503, "no_healthy_upstream", "no healthy upstream: every endpoint of round-robin/v1 is ejected or unavailable; the gateway has no service binding named B_V1"]);
    expect(noHealthyUpstream(pool, () => true).message).toBe("no healthy upstream: every endpoint of round-robin/v1 is ejected or unavailable");
  });
});
