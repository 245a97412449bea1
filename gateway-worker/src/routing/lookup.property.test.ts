/** Property tests: route lookup over any host and path answers without throwing, and agrees with a plain scan. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findRoute, matchesRequest, normalizeHost } from "./lookup.js";
import type { IndexedMatch, Snapshot } from "./snapshot.js";
import { facts, serviceDoc, snapshotOf } from "./test-support.js";

const segment = fc.constantFrom("a", "b", "api", "v1", "items", "42", "");
const pathArb = fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join("/")}`);

/** A random route set over a small alphabet of paths, so rules overlap often. */
const rulesArb = fc.array(
  fc.record({
    kind: fc.constantFrom("exact", "prefix", "regex", "none"),
    path: pathArb,
    method: fc.option(fc.constantFrom("GET", "POST"), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 12 },
);

function build(rules: { kind: string; path: string; method: string | undefined }[]): Snapshot {
  const http = rules.map((rule) => ({
    ...(rule.kind === "none"
      ? rule.method
        ? { match: [{ method: rule.method }] }
        : {}
      : { match: [{ path: { [rule.kind]: rule.kind === "regex" ? `${rule.path.replace(/\//g, "\\/")}.*` : rule.path }, ...(rule.method ? { method: rule.method } : {}) }] }),
    destinations: [{ service: "a" }],
  }));
  return snapshotOf([serviceDoc("a"), { apiVersion: "weft/v1", kind: "Route", metadata: { name: "r" }, spec: { hosts: ["*"], http } }]);
}

/** The reference answer: scan every rule in order, as a naive router would. */
function scan(snapshot: Snapshot, path: string, method: string): number | undefined {
  const table = snapshot.anyHost;
  if (!table) return undefined;
  const all: IndexedMatch[] = [...table.unindexed, ...[...table.exact.values()].flat(), ...[...table.prefixes.values()].flat()];
  const request = facts(`http://x.example${path}`, { method });
  const matching = all.filter((entry) => entry.match === undefined || matchesRequest(entry.match, request)).map((entry) => entry.rule.ruleIndex);
  return matching.length ? Math.min(...matching) : undefined;
}

describe("route lookup under arbitrary requests", () => {
  it("picks the same rule as an in-order scan of every rule", () => {
    fc.assert(
      fc.property(rulesArb, pathArb, fc.constantFrom("GET", "POST", "DELETE"), (rules, path, method) => {
        const snapshot = build(rules);
        const result = findRoute(snapshot, facts(`http://x.example${path}`, { method }));
        expect(result.found ? result.route.rule.ruleIndex : undefined).toBe(scan(snapshot, path, method));
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on any host", () => {
    const snapshot = build([{ kind: "prefix", path: "/", method: undefined }]);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), pathArb, (host, path) => {
        const result = findRoute(snapshot, { host: normalizeHost(host), path, method: "GET", headers: new Headers(), query: new URLSearchParams() });
        expect(typeof result.found).toBe("boolean");
      }),
      { numRuns: 500 },
    );
  });
});
