import { describe, expect, it } from "vitest";
import type { MeshRequest } from "../stage.js";
import { destinationOf, ruleDestinationLabel } from "./observe.js";
import { TelemetryRecorder } from "./recorder.js";

/** Just the parts of a request destinationOf reads. */
function requestOn(destinations: { service: string; subset?: string }[], chosen?: string): Pick<MeshRequest, "service" | "route"> {
  return {
    route: { rule: { routeName: "r", ruleIndex: 0, destinations }, match: undefined, hostKind: "mesh" },
    ...(chosen !== undefined ? { service: { name: chosen } } : {}),
  } as unknown as Pick<MeshRequest, "service" | "route">;
}

describe("the destination a request is counted against", () => {
  it("is the chosen service once the split has run", () => {
    expect(destinationOf(requestOn([{ service: "orders", subset: "v1" }, { service: "catalog" }], "catalog"))).toEqual({ label: "catalog", shard: "catalog" });
  });

  it("is the rule's service before the split when every destination is a subset of it", () => {
    const split = requestOn([
      { service: "orders", subset: "v1" },
      { service: "orders", subset: "v2" },
    ]);
    expect(destinationOf(split)).toEqual({ label: "orders", shard: "orders" });
    // Asked again (per compiled rule, cached): the same answer.
    expect(destinationOf(split)).toEqual({ label: "orders", shard: "orders" });
  });

  it("is the sorted, distinct service names joined with + for a rule over several services, kept in the unrouted shard", () => {
    expect(ruleDestinationLabel([{ service: "orders" }, { service: "catalog" }, { service: "orders" }])).toEqual({ label: "catalog+orders", shard: "" });
    expect(ruleDestinationLabel([{ service: "catalog" }, { service: "orders" }])).toEqual(ruleDestinationLabel([{ service: "orders" }, { service: "catalog" }]));
  });

  it("is empty when no rule matched", () => {
    expect(destinationOf({} as Pick<MeshRequest, "service" | "route">)).toEqual({ label: "", shard: "" });
    expect(ruleDestinationLabel([])).toEqual({ label: "", shard: "" });
  });

  it("keeps series of different destination labels apart in one shard", () => {
    const recorder = new TelemetryRecorder({ newId: () => "b" });
    recorder.recordRequest({ source: "a", destination: "", subset: "", route: "", code: 404 }, 1, 0, "");
    recorder.recordRequest({ source: "a", destination: "catalog+orders", subset: "", route: "", code: 404 }, 1, 0, "");
    const batches = recorder.takeBatches(1);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.destination).toBe("");
    expect(batches[0]?.series.map((s) => [s.destination, s.count]).sort()).toEqual([
      ["", 1],
      ["catalog+orders", 1],
    ]);
  });
});
