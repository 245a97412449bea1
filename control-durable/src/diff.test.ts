import { describe, expect, it } from "vitest";
import { diffDocumentSets, isEmptyDiff, summarizeDiff } from "./diff.js";

const doc = (kind: string, name: string, spec: unknown) => ({ apiVersion: "weft/v1", kind, metadata: { name }, spec });

describe("document-set diff", () => {
  it("names added, removed and changed documents with the changed field paths", () => {
    const before = [doc("Service", "a", { subsets: [{ name: "v1" }] }), doc("Route", "r", { hosts: ["x"] }), doc("Service", "gone", {})];
    const after = [doc("Service", "a", { subsets: [{ name: "v2" }], extra: true }), doc("Route", "r", { hosts: ["x"] }), doc("Service", "new", {})];
    const diff = diffDocumentSets(before, after);
    expect(diff).toEqual({
      added: [{ kind: "Service", name: "new" }],
      removed: [{ kind: "Service", name: "gone" }],
      changed: [{ kind: "Service", name: "a", fields: ["spec.extra", "spec.subsets[0].name"] }],
      unchanged: 1,
    });
    expect(summarizeDiff(diff)).toBe("added Service/new; changed Service/a (2 fields); removed Service/gone");
  });

  it("tells kinds apart when names collide", () => {
    const diff = diffDocumentSets([doc("Service", "x", {})], [doc("Route", "x", {})]);
    expect(diff.added).toEqual([{ kind: "Route", name: "x" }]);
    expect(diff.removed).toEqual([{ kind: "Service", name: "x" }]);
  });

  it("finds no change between equal sets in a different order", () => {
    const a = [doc("Service", "a", { n: 1 }), doc("Service", "b", { n: 2 })];
    const diff = diffDocumentSets(a, [...a].reverse());
    expect(isEmptyDiff(diff)).toBe(true);
    expect(summarizeDiff(diff)).toBe("no changes");
  });

  it("sees array length changes", () => {
    const diff = diffDocumentSets([doc("Route", "r", { hosts: ["a"] })], [doc("Route", "r", { hosts: ["a", "b"] })]);
    expect(diff.changed[0]?.fields).toEqual(["spec.hosts[1]"]);
  });
});
