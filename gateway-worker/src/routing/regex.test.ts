import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { conditionMisses } from "./explain-route.js";
import { findRoute, type RequestFacts } from "./lookup.js";
import type { Snapshot } from "./snapshot.js";
import { serviceDoc, snapshotOf } from "./test-support.js";

/**
 * Patterns a backtracking engine needs exponential (or high polynomial) time for, each with the
 * value that makes it backtrack: a run of the repeated character that cannot finish the match.
 */
const CATASTROPHIC: readonly (readonly [pattern: string, unit: string, tail: string])[] = [
  ["(a+)+", "a", "!"],
  ["(x+x+)+y", "x", ""],
  ["(a|aa)+", "a", "!"],
  ["(.*a){20}", "a", "!"],
  ["(a*)*b", "a", ""],
  ["([a-z]+)*[0-9]", "a", "!"],
];

/**
 * Lengths from short to 10 KB in small steps: a backtracking engine blows the bound a step or two
 * after it starts to show (well before 64), so a regression fails in about a second instead of
 * hanging the run on the 10 KB value.
 */
const LENGTHS = [...Array.from({ length: 15 }, (_, i) => 8 + 4 * i), 1_024, 10_000];
const BOUND_MS = 50;

function snapshotMatching(pattern: string): Snapshot {
  return snapshotOf([
    serviceDoc("web"),
    {
      apiVersion: "weft/v1",
      kind: "Route",
      metadata: { name: "redos" },
      spec: {
        hosts: ["redos.example"],
        http: [
          { name: "path", match: [{ path: { regex: `/p/${pattern}` } }], destinations: [{ service: "web" }] },
          { name: "header", match: [{ headers: { "x-probe": { regex: pattern } } }], destinations: [{ service: "web" }] },
          { name: "query", match: [{ query: { q: { regex: pattern } } }], destinations: [{ service: "web" }] },
        ],
      },
    },
  ]);
}

function request(path: string, header: string | null, query: string | null): RequestFacts {
  return {
    host: "redos.example",
    path,
    method: "GET",
    headers: { get: (name) => (name === "x-probe" ? header : null) },
    query: { get: (name) => (name === "q" ? query : null) },
  };
}

function millis(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

describe("route regexes run in linear time", () => {
  it.each(CATASTROPHIC)("matches the path regex /p/%s against adversarial paths up to 10 KB within 50 ms each", (pattern, unit, tail) => {
    const snapshot = snapshotMatching(pattern);
    for (const length of LENGTHS) {
      const facts = request(`/p/${unit.repeat(length)}${tail}`, null, null);
      expect(millis(() => findRoute(snapshot, facts)), `${length} characters`).toBeLessThan(BOUND_MS);
      expect(findRoute(snapshot, facts)).toEqual({ found: false, reason: "no_rule", hostKind: "ingress" });
    }
  });

  it.each(CATASTROPHIC)("matches the header and query regex %s against adversarial values up to 10 KB within 50 ms each", (pattern, unit, tail) => {
    const snapshot = snapshotMatching(pattern);
    for (const length of LENGTHS) {
      const value = `${unit.repeat(length)}${tail}`;
      for (const facts of [request("/", value, null), request("/", null, value)]) {
        expect(millis(() => findRoute(snapshot, facts)), `${length} characters`).toBeLessThan(BOUND_MS);
        expect(findRoute(snapshot, facts).found).toBe(false);
      }
    }
  });

  it.each(CATASTROPHIC)("explains a miss of %s on a 10 KB value within 50 ms, with the same verdict as the lookup", (pattern, unit, tail) => {
    const snapshot = snapshotMatching(pattern);
    const rules = snapshot.hosts.get("redos.example")?.unindexed ?? [];
    for (const length of LENGTHS) {
      const value = `${unit.repeat(length)}${tail}`;
      const facts = request(`/p/${value}`, value, value);
      let misses = 0;
      const ms = millis(() => {
        for (const { match } of rules) if (match) misses += conditionMisses(match, facts).length;
      });
      expect(ms, `${length} characters`).toBeLessThan(BOUND_MS);
      expect(misses).toBe(3);
    }
  });

  it("still matches whole values only, and routes values that do match", () => {
    const snapshot = snapshotMatching("(a+)+");
    const rule = (facts: RequestFacts) => {
      const result = findRoute(snapshot, facts);
      return result.found ? result.route.rule.ruleName : undefined;
    };
    expect(rule(request(`/p/${"a".repeat(10_000)}`, null, null))).toBe("path");
    expect(rule(request("/p/aaa/x", null, null))).toBeUndefined();
    expect(rule(request("/x/p/aaa", null, null))).toBeUndefined();
    expect(rule(request("/", "aaaa", null))).toBe("header");
    expect(rule(request("/", "baaaa", null))).toBeUndefined();
    expect(rule(request("/", "aaaab", null))).toBeUndefined();
    expect(rule(request("/", null, "aaaa"))).toBe("query");
    expect(rule(request("/", null, ""))).toBeUndefined();
  });

  it("anchors each alternative of a pattern, not only the first and last", () => {
    const snapshot = snapshotMatching("b|c");
    expect(findRoute(snapshot, request("/p/b", null, null)).found).toBe(true);
    expect(findRoute(snapshot, request("/p/bc", null, null)).found).toBe(false);
    expect(findRoute(snapshot, request("/", "bx", null)).found).toBe(false);
    expect(findRoute(snapshot, request("/", "xc", null)).found).toBe(false);
  });
});
