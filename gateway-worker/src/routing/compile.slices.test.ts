import { describe, expect, it } from "vitest";
import { validateDocuments } from "@weft/sdk/config";
import { COMPILE_RULES_PER_SLICE, compileSnapshot, compileSnapshotInSlices } from "./compile.js";
import { manyRoutes, serviceDoc } from "./test-support.js";

/** A snapshot as text: Maps as their entries, functions (compiled matchers) as their source. */
function shape(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Map ? [...item] : item instanceof Set ? [...item] : typeof item === "function" ? String(item) : item));
}

describe("compiling in slices", () => {
  it("builds the Snapshot compileSnapshot builds, pausing once per slice of rules", async () => {
    const documents = [
      ...manyRoutes(2_500),
      serviceDoc("regex"),
      {
        apiVersion: "weft/v1",
        kind: "Route",
        metadata: { name: "regexes" },
        spec: { hosts: ["a.example.com", "*.example.org", "*"], http: [{ match: [{ path: { regex: "/r/[0-9]+" } }, { headers: { "x-v": { regex: "v[12]" } } }], destinations: [{ service: "regex" }] }] },
      },
    ];
    const set = validateDocuments(documents);
    if (!set.ok) throw new Error(JSON.stringify(set.issues));
    let pauses = 0;
    const sliced = await compileSnapshotInSlices(set.value, 7, async () => {
      pauses++;
    });
    expect(shape(sliced)).toBe(shape(compileSnapshot(set.value, 7)));
    // 5,001 rules compiled, then indexed under their hosts (the regex rule under three).
    expect(pauses).toBe(Math.floor((5_001 + 5_003) / COMPILE_RULES_PER_SLICE));
  });
});
