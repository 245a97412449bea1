import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOCUMENT_KINDS } from "../sdk/src/config/schema.js";
import { buildAnnotatedSchema, DURATION_MARK } from "./write-config-reference.js";
import { buildSchema, renderSchema, SCHEMA_PATH } from "./write-schema.js";

/** Walks a JSON value by property names and array indexes; undefined where the path breaks. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === "number") {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

function documents(): unknown[] {
  const oneOf = at(buildSchema(), "oneOf");
  if (!Array.isArray(oneOf)) throw new Error("the schema has no oneOf of document kinds");
  return oneOf;
}

/** The branch of the schema for one document kind. */
function documentSchema(kind: string): unknown {
  const found = documents().find((doc) => at(doc, "properties", "kind", "const") === kind);
  if (found === undefined) throw new Error(`no ${kind} document in the schema`);
  return found;
}

describe("schema/weft.schema.json", () => {
  it("is what npm run schema generates from the zod schemas", () => {
    let committed: string;
    try {
      committed = readFileSync(SCHEMA_PATH, "utf8");
    } catch {
      throw new Error(`${SCHEMA_PATH} is missing: run npm run schema`);
    }
    // Compared as text: that is what editors read, and a stale file is a real bug for users.
    expect(committed, "schema/weft.schema.json is out of date: run npm run schema").toBe(renderSchema());
  });

  it("accepts each document kind, and only those", () => {
    const kinds = documents().map((doc) => at(doc, "properties", "kind", "const"));
    expect(kinds).toEqual(["Mesh", "Service", "Route", "AuthorizationPolicy", "Rollout"]);
    expect(kinds).toEqual(DOCUMENT_KINDS);
    for (const doc of documents()) {
      expect(at(doc, "required")).toEqual(expect.arrayContaining(["apiVersion", "kind", "metadata"]));
      expect(at(doc, "properties", "apiVersion", "const")).toBe("weft/v1");
    }
  });

  it("carries the field descriptions from .describe()", () => {
    const route = documentSchema("Route");
    const weight = at(route, "properties", "spec", "properties", "http", "items", "properties", "destinations", "items", "properties", "weight");
    expect(at(weight, "type")).toBe("integer");
    expect(at(weight, "description")).toMatch(/^Percentage of the rule's traffic, 1\.\.100/);

    const service = documentSchema("Service");
    const endpoint = at(service, "properties", "spec", "properties", "subsets", "items", "properties", "endpoints", "items", "properties");
    expect(at(endpoint, "binding", "description")).toMatch(/service binding on the gateway Worker/);
    expect(at(endpoint, "weight", "description")).toMatch(/Default 1\./);
    expect(at(documentSchema("AuthorizationPolicy"), "properties", "spec", "properties", "target", "description")).toBe("Service the policy protects.");
  });

  it("describes the input side: durations are strings, defaulted fields are optional", () => {
    const service = documentSchema("Service");
    const timeout = at(service, "properties", "spec", "properties", "trafficPolicy", "properties", "timeout");
    expect(at(timeout, "type")).toBe("string");
    expect(at(timeout, "description")).toMatch(/timeout/i);

    const identity = at(documentSchema("Mesh"), "properties", "spec", "properties", "identity");
    expect(at(identity, "properties", "tokenTTL", "type")).toBe("string");
    expect(at(identity, "required")).toBeUndefined();
    expect(at(documentSchema("Mesh"), "required")).not.toContain("spec");
  });

  it("gives every duration field the duration syntax as a pattern, so editors flag \"5 sec\"", () => {
    const timeout = at(documentSchema("Service"), "properties", "spec", "properties", "trafficPolicy", "properties", "timeout", "pattern");
    expect(typeof timeout).toBe("string");
    const pattern = new RegExp(timeout as string, "u");
    for (const good of ["250ms", "5s", "1.5m", "24h"]) expect(good).toMatch(pattern);
    for (const bad of ["5 sec", "5", "10d", "1.2345s", "-1s"]) expect(bad).not.toMatch(pattern);

    // Every duration field, wherever it sits (found by the reference generator's duration mark).
    const durations: unknown[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (typeof node !== "object" || node === null) return;
      if ((node as Record<string, unknown>)[DURATION_MARK] === true) durations.push(node);
      Object.values(node).forEach(walk);
    };
    walk(buildAnnotatedSchema());
    expect(durations.length).toBeGreaterThanOrEqual(10);
    for (const duration of durations) expect(at(duration, "pattern")).toBe(timeout);
  });

  it("uses only standard string formats", () => {
    expect(renderSchema()).not.toMatch(/"format": "(starts_with|ends_with|includes)"/);
  });
});

describe("field documentation", () => {
  it("describes every field of every document kind", () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== "object" || node === null) return;
      const record = node as Record<string, unknown>;
      const properties = record.properties;
      if (typeof properties === "object" && properties !== null) {
        for (const [name, child] of Object.entries(properties as Record<string, unknown>)) {
          if (typeof at(child, "description") !== "string") undocumented.push(`${path}.${name}`);
          walk(child, `${path}.${name}`);
        }
      }
      for (const key of ["items", "additionalProperties"]) walk(record[key], `${path}[]`);
      for (const key of ["oneOf", "anyOf", "allOf"]) {
        const list = record[key];
        if (Array.isArray(list)) for (const branch of list) walk(branch, path);
      }
    };
    for (const kind of DOCUMENT_KINDS) walk(documentSchema(kind), kind);
    expect(undocumented).toEqual([]);
  });
});
