import { describe, expect, it } from "vitest";
import { RouteDocument } from "@weft/sdk/config";
import { routesAtWeight, type RouteDocInput } from "./weights.js";

function route(name: string, http: RouteDocInput["spec"]["http"]): RouteDocInput {
  return { apiVersion: "weft/v1", kind: "Route", metadata: { name }, spec: { hosts: [`${name}.mesh`], http } };
}

const orders = route("orders", [
  { name: "writes", match: [{ method: "POST" }], destinations: [{ service: "orders", subset: "v1" }], timeout: "2s" },
  { destinations: [{ service: "orders" }] },
]);
const shop = route("shop", [
  { match: [{ path: { prefix: "/orders/" } }], destinations: [{ service: "orders", subset: "v1", weight: 90 }, { service: "orders", subset: "v2", weight: 10 }] },
  { destinations: [{ service: "orders", subset: "v1", weight: 50 }, { service: "catalog", weight: 50 }] },
  { destinations: [{ service: "catalog" }] },
]);
const rollout = { target: "orders", stable: "v1", canary: "v2" };

const destinations = (doc: RouteDocInput | undefined) => doc?.spec.http.map((rule) => rule.destinations.map((d) => `${d.subset ?? "*"}${d.weight === undefined ? "" : `:${d.weight}`}`).join(" + "));

describe("routes at a rollout's weight", () => {
  it.each<[number, string[][]]>([
    [0, [["v1", "v1"], ["v1", "v1:50 + *:50", "*"]]],
    [25, [["v1:75 + v2:25", "v1:75 + v2:25"], ["v1:75 + v2:25", "v1:50 + *:50", "*"]]],
    [100, [["v2", "v2"], ["v2", "v1:50 + *:50", "*"]]],
  ])("at %i%% every rule that sends only to orders splits between v1 and v2; mixed rules stay", (weight, expected) => {
    const [o, s] = routesAtWeight([orders, shop], rollout, weight);
    expect([destinations(o), destinations(s)]).toEqual(expected);
  });

  it("keeps each rule's match, name and settings, and leaves untouched routes as the same objects", () => {
    const untouched = route("catalog", [{ destinations: [{ service: "catalog" }] }]);
    const [o, c] = routesAtWeight([orders, untouched], rollout, 40);
    expect(c).toBe(untouched);
    expect(o?.spec.http[0]).toMatchObject({ name: "writes", match: [{ method: "POST" }], timeout: "2s" });
    expect(o?.spec.hosts).toEqual(["orders.mesh"]);
  });

  it("puts a rule for the rollout's header matches before each rule it moves, combined with the rule's own conditions", () => {
    const [o] = routesAtWeight([orders], { ...rollout, match: [{ headers: { "x-canary": { exact: "1" } } }] }, 10);
    expect(o?.spec.http.map((rule) => [rule.name, rule.match, destinations({ ...o, spec: { ...o.spec, http: [rule] } })?.[0]])).toEqual([
      ["writes (canary match)", [{ method: "POST", headers: { "x-canary": { exact: "1" } } }], "v2"],
      ["writes", [{ method: "POST" }], "v1:90 + v2:10"],
      ["canary match", [{ headers: { "x-canary": { exact: "1" } } }], "v2"],
      [undefined, undefined, "v1:90 + v2:10"],
    ]);
    // At 100% every request reaches the canary: no separate rule for the matches.
    expect(routesAtWeight([orders], { ...rollout, match: [{ headers: { "x-canary": { exact: "1" } } }] }, 100)[0]?.spec.http).toHaveLength(2);
  });

  it("gives the same routes when it rewrites routes it rewrote before, so a rollout moves the current config step after step", () => {
    const canaryRollout = { ...rollout, match: [{ headers: { "x-canary": { exact: "1" } } }] };
    for (const [first, next] of [[10, 25], [25, 50], [50, 0], [10, 100], [0, 40]] as const) {
      expect(routesAtWeight(routesAtWeight([orders, shop], canaryRollout, first), canaryRollout, next)).toEqual(routesAtWeight([orders, shop], canaryRollout, next));
    }
  });

  it("leaves rules that send only to the canary as they are: an operator's opt-in is theirs", () => {
    const optIn = route("orders", [
      { name: "canary-opt-in", match: [{ headers: { "x-canary": { exact: "1" } } }], destinations: [{ service: "orders", subset: "v2" }] },
      { name: "split", destinations: [{ service: "orders", subset: "v1", weight: 90 }, { service: "orders", subset: "v2", weight: 10 }] },
    ]);
    expect(destinations(routesAtWeight([optIn], rollout, 40)[0])).toEqual(["v2", "v1:60 + v2:40"]);
  });

  it("gives documents that validate, at every weight", () => {
    for (const weight of [0, 1, 33, 99, 100]) {
      for (const doc of routesAtWeight([orders, shop], { ...rollout, match: [{ headers: { "x-canary": { exact: "1" } } }] }, weight)) {
        expect(RouteDocument.safeParse(doc).success, `weight ${weight}, ${doc.metadata.name}`).toBe(true);
      }
    }
  });

  it("copies the moved rules' requests to the canary while mirroring, takes its own copies off after, and keeps an operator's mirror", () => {
    const mirrored = routesAtWeight([orders], rollout, 0, 50)[0];
    expect(mirrored?.spec.http.map((rule) => rule.mirror)).toEqual([
      { service: "orders", subset: "v2", percent: 50 },
      { service: "orders", subset: "v2", percent: 50 },
    ]);
    expect(routesAtWeight(mirrored ? [mirrored] : [], rollout, 20)[0]?.spec.http.map((rule) => rule.mirror)).toEqual([undefined, undefined]);
    const audited = route("orders", [{ destinations: [{ service: "orders", subset: "v1" }], mirror: { service: "audit", percent: 5 } }]);
    expect(routesAtWeight([audited], rollout, 20)[0]?.spec.http[0]?.mirror).toEqual({ service: "audit", percent: 5 });
  });
});
