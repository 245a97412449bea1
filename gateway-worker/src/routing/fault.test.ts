/** The fault stage's decisions: header conditions, draws against a share, and the injected answer. */
import { describe, expect, it } from "vitest";
import { alwaysHits, drawHits, faultAbort, faultApplies } from "./fault.js";
import type { CompiledRule } from "./snapshot.js";
import { serviceDoc, snapshotOf } from "./test-support.js";

const snapshot = snapshotOf([
  serviceDoc("web"),
  {
    apiVersion: "weft/v1",
    kind: "Route",
    metadata: { name: "chaos" },
    spec: {
      hosts: ["web.example"],
      http: [
        { fault: { abort: { percent: 50, status: 418 }, headers: { "x-chaos": { exact: "on" }, "x-tier": { prefix: "gold" } } }, destinations: [{ service: "web" }] },
        { fault: { delay: { percent: 10, fixed: "1s" } }, destinations: [{ service: "web" }] },
      ],
    },
  },
]);
const [conditional, unconditional] = (snapshot.hosts.get("web.example")?.unindexed ?? []).map((entry) => entry.rule) as [CompiledRule, CompiledRule];

describe("fault decisions", () => {
  it.each([
    [{ "x-chaos": "on", "x-tier": "gold-1" }, true],
    [{ "x-chaos": "on" }, false],
    [{ "x-chaos": "off", "x-tier": "gold" }, false],
    [{}, false],
  ])("headers %o meet every condition: %s", (headers, applies) => {
    expect(faultApplies(conditional.fault!, new Headers(headers))).toBe(applies);
  });

  it("applies to every request when the fault has no header conditions", () => {
    expect(faultApplies(unconditional.fault!, new Headers())).toBe(true);
  });

  it.each([
    [10, 0, true],
    [10, 0.0999, true],
    [10, 0.1, false],
    [0, 0, false],
    [100, 0.9999999, true],
  ])("%s%% is hit by draw %s: %s", (percent, draw, hits) => {
    expect(drawHits(percent, draw)).toBe(hits);
  });

  it("is certain only at 100%", () => {
    expect([alwaysHits(100), alwaysHits(99.99), alwaysHits(0)]).toEqual([true, false, false]);
  });

  it("answers with the configured status, naming the route", () => {
    const error = faultAbort(conditional, 418);
    expect([error.status, error.code, error.message]).toEqual([418, "fault_injected", "fault injected by route chaos: abort with 418"]);
  });
});
