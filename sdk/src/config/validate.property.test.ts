/**
 * Property tests: whatever bytes or JSON an admin sends, validation answers with a result (issues
 * or a valid set) and never throws, so the admin API can never turn bad input into a 500.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJsonDocuments, parseYamlDocuments, validateDocuments } from "./validate.js";

const KINDS = ["Mesh", "Service", "Route", "AuthorizationPolicy", "Other"];

/** Documents that look roughly right, so the property reaches deep into the schemas. */
const plausibleDocument = fc.record(
  {
    apiVersion: fc.constantFrom("weft/v1", "weft/v2", 1),
    kind: fc.constantFrom(...KINDS),
    metadata: fc.oneof(fc.record({ name: fc.oneof(fc.constantFrom("a", "b", "orders"), fc.string()) }), fc.anything()),
    spec: fc.oneof(
      fc.record({
        subsets: fc.array(fc.record({ name: fc.constantFrom("v1", "v2"), endpoints: fc.array(fc.record({ binding: fc.constantFrom("A", "B", ""), weight: fc.integer({ min: -5, max: 2000 }) }), { maxLength: 3 }) }), { maxLength: 3 }),
      }),
      fc.record({
        hosts: fc.array(fc.constantFrom("*", "a.mesh", "x.example", "", "*.x"), { maxLength: 3 }),
        http: fc.array(
          fc.record({
            match: fc.array(fc.record({ path: fc.oneof(fc.record({ prefix: fc.string() }), fc.record({ regex: fc.string() }), fc.anything()) }), { maxLength: 2 }),
            destinations: fc.array(fc.record({ service: fc.constantFrom("a", "b", "nope"), subset: fc.constantFrom("v1", "v2", "v9"), weight: fc.oneof(fc.integer({ min: -10, max: 200 }), fc.string()) }), { maxLength: 3 }),
            rewrite: fc.option(fc.record({ prefix: fc.string() }), { nil: undefined }),
            timeout: fc.option(fc.oneof(fc.constantFrom("1s", "250ms", "-1s", "1y"), fc.string()), { nil: undefined }),
          }),
          { maxLength: 3 },
        ),
      }),
      fc.anything(),
    ),
  },
  { requiredKeys: [] },
);

describe("config validation under arbitrary input", () => {
  it("never throws on arbitrary text parsed as YAML or JSON", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        for (const parsed of [parseYamlDocuments(text), parseJsonDocuments(text)]) {
          if (parsed.ok) {
            const result = validateDocuments(parsed.value.documents, parsed.value.locate);
            if (!result.ok) expect(result.issues.length).toBeGreaterThan(0);
          } else {
            expect(parsed.issues.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("never throws on arbitrary values, and every issue names a document and says why", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(plausibleDocument, fc.anything()), { maxLength: 5 }), (documents) => {
        const result = validateDocuments(documents);
        if (result.ok) return;
        for (const issue of result.issues) {
          expect(issue.document).toBeGreaterThanOrEqual(1);
          expect(issue.document).toBeLessThanOrEqual(Math.max(documents.length, 1));
          expect(typeof issue.path).toBe("string");
          expect(issue.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 600 },
    );
  });
});
