import { describe, expect, it } from "vitest";
import { intervalMetricsOf, servicesChanged, telemetryWindowMs, type StoredDocument } from "./inputs.js";

const golden = (requests: number, successRate: number | null, p99Ms: number | null) => ({ requests, requestsPerSecond: requests / 60, successRate, p50Ms: p99Ms, p95Ms: p99Ms, p99Ms });

describe("the rollout engine's inputs", () => {
  it("reads the canary's and stable's figures from a telemetry view, none for a subset without traffic", () => {
    const view = { bySubset: [{ subset: "v1", golden: golden(900, 1, 20) }, { subset: "v2", golden: golden(100, 0.8, 40) }] };
    expect(intervalMetricsOf(view, "v1", "v2")).toEqual({ canary: { requests: 100, successRate: 0.8, p99Ms: 40 }, stable: { requests: 900, successRate: 1, p99Ms: 20 } });
    expect(intervalMetricsOf(view, "v1", "v3").canary).toEqual({ requests: 0, successRate: null, p99Ms: null });
  });

  it.each([
    ["10 s inside one minute", Date.UTC(2026, 0, 1, 12, 0, 40), 10_000, 40_000],
    ["10 s across a minute boundary", Date.UTC(2026, 0, 1, 12, 0, 5), 10_000, 65_000],
    ["exactly a minute from a minute start", Date.UTC(2026, 0, 1, 12, 1, 0), 60_000, 60_000],
    ["a late alarm's 100 s", Date.UTC(2026, 0, 1, 12, 2, 30), 100_000, 150_000],
  ])("widens %s to whole telemetry minutes", (_name, now, windowMs, expected) => {
    expect(telemetryWindowMs(now, windowMs)).toBe(expected);
  });

  const route = (name: string, services: string[], extra: object = {}) => ({ kind: "Route", metadata: { name }, spec: { hosts: [`${name}.mesh`], http: [{ destinations: services.map((service) => ({ service })), ...extra }] } });
  const service = (name: string, subsets: string[]) => ({ kind: "Service", metadata: { name }, spec: { subsets: subsets.map((s) => ({ name: s })) } });

  it.each<[string, StoredDocument[], StoredDocument[], string[]]>([
    ["nothing changed", [route("orders", ["orders"]), service("orders", ["v1"])], [route("orders", ["orders"]), service("orders", ["v1"])], []],
    ["a Service changed", [service("orders", ["v1"])], [service("orders", ["v1", "v2"])], ["orders"]],
    ["a Route to it changed", [route("shop", ["orders", "catalog"])], [route("shop", ["orders", "catalog"], { timeout: "2s" })], ["catalog", "orders"]],
    ["a Route added", [], [route("orders", ["orders"])], ["orders"]],
    ["a Route removed", [route("orders", ["orders"])], [], ["orders"]],
    ["a mirror target", [route("shop", ["catalog"])], [route("shop", ["catalog"], { mirror: { service: "orders" } })], ["catalog", "orders"]],
    ["other kinds ignored", [{ kind: "Mesh", metadata: { name: "m" }, spec: { a: 1 } }], [{ kind: "Mesh", metadata: { name: "m" }, spec: { a: 2 } }], []],
  ])("%s", (_name, before, after, expected) => {
    expect([...servicesChanged(before, after)].sort()).toEqual(expected);
  });
});
