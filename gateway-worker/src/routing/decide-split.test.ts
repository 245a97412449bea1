/** The split stage's decision: a draw picks a destination by the rule's weights, and the destination resolves to its service. */
import { describe, expect, it } from "vitest";
import { decideSplit, resolveDestination, shareOf, unknownServiceError } from "./decide-split.js";
import type { CompiledRule } from "./snapshot.js";
import { withCumulativeWeights } from "./split.js";
import { serviceDoc, snapshotOf } from "./test-support.js";

const snapshot = snapshotOf(
  [
    serviceDoc("orders", ["v1", "v2", "v3"]),
    {
      apiVersion: "weft/v1",
      kind: "Route",
      metadata: { name: "canary" },
      spec: {
        hosts: ["orders.mesh"],
        http: [{ destinations: [{ service: "orders", subset: "v1", weight: 70 }, { service: "orders", subset: "v2", weight: 20 }, { service: "orders", subset: "v3", weight: 10 }] }],
      },
    },
  ],
  4,
);
const rule = snapshot.hosts.get("orders.mesh")?.unindexed[0]?.rule as CompiledRule;

describe("the split decision", () => {
  it.each([
    [0, "v1"],
    [0.6999, "v1"],
    [0.7, "v2"],
    [0.8999, "v2"],
    [0.9, "v3"],
    [0.9999, "v3"],
  ])("draw %s goes to %s", (draw, subset) => {
    const decision = decideSplit(snapshot, rule, draw);
    expect(decision.kind).toBe("destination");
    expect(decision.destination.subset).toBe(subset);
    if (decision.kind === "destination") expect(decision.service).toBe(snapshot.services.get("orders"));
  });

  it("gives each destination its share in percent, which is where the draws land", () => {
    expect(rule.destinations.map((d) => shareOf(rule, d))).toEqual([70, 20, 10]);
    const counts = new Map<string | undefined, number>();
    for (let i = 0; i < 1000; i++) {
      const subset = decideSplit(snapshot, rule, (i + 0.5) / 1000).destination.subset;
      counts.set(subset, (counts.get(subset) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ v1: 700, v2: 200, v3: 100 });
  });

  it("rounds shares to two decimals", () => {
    const thirds = { ...rule, destinations: withCumulativeWeights([1, 1, 1].map((weight) => ({ service: "orders", subset: undefined, weight }))) };
    expect(thirds.destinations.map((d) => shareOf(thirds, d))).toEqual([33.33, 33.33, 33.33]);
  });

  it("answers 503 for a destination whose service is not in the config", () => {
    const ghost = withCumulativeWeights([{ service: "ghost", subset: undefined, weight: 100 }])[0]!;
    const decision = resolveDestination(snapshot, ghost);
    expect(decision).toEqual({ kind: "unknown-service", destination: ghost });
    const error = unknownServiceError(ghost, snapshot.version);
    expect([error.status, error.code, error.message]).toEqual([503, "no_healthy_upstream", 'service "ghost" is not in config version 4']);
  });
});
