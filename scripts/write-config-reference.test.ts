import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOCUMENT_KINDS } from "../sdk/src/config/schema.js";
import { buildAnnotatedSchema, describedDefault, DURATION_MARK, REFERENCE_PATH, renderConfigReference } from "./write-config-reference.js";
import { buildSchema } from "./write-schema.js";

/** Removes the duration marks, leaving what `npm run schema` writes. */
function withoutMarks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMarks);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== DURATION_MARK)
      .map(([key, child]) => [key, withoutMarks(child)]),
  );
}

/** The reference's table row for a field path, split into its cells; undefined when missing. */
function row(text: string, path: string): string[] | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`| \`${path}\` |`));
  return line
    ?.split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

/** The section of one kind: from its "## Kind" heading to the next. */
function section(text: string, kind: string): string {
  const start = text.indexOf(`\n## ${kind}\n`);
  if (start < 0) throw new Error(`no ${kind} section`);
  const next = text.indexOf("\n## ", start + 1);
  return text.slice(start, next < 0 ? undefined : next);
}

/** Every field path of a document schema, in the reference's notation. */
function fieldPaths(node: unknown, path: string, out: Set<string>): void {
  if (typeof node !== "object" || node === null) return;
  const record = node as Record<string, unknown>;
  const properties = record.properties;
  if (typeof properties === "object" && properties !== null) {
    for (const [name, child] of Object.entries(properties)) {
      const childPath = path === "" ? name : `${path}.${name}`;
      out.add(childPath);
      fieldPaths(child, childPath, out);
    }
  }
  if (typeof record.items === "object") fieldPaths(record.items, `${path}[]`, out);
  if (typeof record.additionalProperties === "object") fieldPaths(record.additionalProperties, `${path}.<name>`, out);
  for (const key of ["anyOf", "oneOf"]) {
    const branches = record[key];
    if (Array.isArray(branches)) for (const branch of branches) fieldPaths(branch, path, out);
  }
}

describe("docs/config-reference.md", () => {
  it("is what npm run docs:config generates from the zod schemas", () => {
    let committed: string;
    try {
      committed = readFileSync(REFERENCE_PATH, "utf8");
    } catch {
      throw new Error(`${REFERENCE_PATH} is missing: run npm run docs:config`);
    }
    expect(committed, "docs/config-reference.md is out of date: run npm run docs:config").toBe(renderConfigReference());
  });

  it("walks the JSON Schema npm run schema writes, with durations marked", () => {
    const { title: _title, description: _description, ...schema } = buildSchema();
    expect(withoutMarks(buildAnnotatedSchema())).toEqual(schema);
    expect(JSON.stringify(buildAnnotatedSchema())).toContain(DURATION_MARK);
  });

  it("is deterministic", () => {
    expect(renderConfigReference()).toBe(renderConfigReference());
  });

  it("has one section per document kind, in order", () => {
    const headings = renderConfigReference()
      .split("\n")
      .filter((line) => line.startsWith("## "))
      .map((line) => line.slice(3));
    expect(headings).toEqual(DOCUMENT_KINDS);
  });

  it("lists every field of every kind with its type, requirement and description", () => {
    const text = renderConfigReference();
    const documents = (buildSchema().oneOf as unknown[]) ?? [];
    DOCUMENT_KINDS.forEach((kind, i) => {
      const paths = new Set<string>();
      fieldPaths(documents[i], "", paths);
      const kindSection = section(text, kind);
      expect(paths.size).toBeGreaterThan(4);
      for (const path of paths) {
        const cells = row(kindSection, path);
        expect(cells, `${kind} ${path} has no row`).toHaveLength(4);
        expect(cells?.[1], `${kind} ${path} has no type`).not.toBe("");
        expect(cells?.[2], `${kind} ${path}`).toMatch(/^(required|optional|default |must be left out)/);
        expect(cells?.[3], `${kind} ${path} has no description`).not.toBe("");
      }
    });
  });

  it("gives types, requirements and defaults as the schemas define them", () => {
    const text = renderConfigReference();
    const service = section(text, "Service");
    expect(row(service, "spec.trafficPolicy.retries.attempts")).toEqual(["`spec.trafficPolicy.retries.attempts`", "integer 1..10", "default `3`", expect.stringMatching(/^Attempts in total/)]);
    expect(row(service, "spec.trafficPolicy.timeout")?.slice(1, 3)).toEqual(["duration", "optional, default 15s"]);
    expect(row(service, "spec.trafficPolicy.loadBalancer.policy")?.[1]).toBe("enum: `ROUND_ROBIN`, `RANDOM`, `LEAST_REQUEST`, `CONSISTENT_HASH`");
    expect(row(service, "spec.trafficPolicy.loadBalancer.hashOn")?.[1]).toBe("one of `{ header }`, `{ cookie }`, `{ caller }`");
    expect(row(service, "spec.subsets")?.slice(1, 3)).toEqual(["array of object", "required"]);
    expect(row(service, "spec.subsets[].endpoints[].url")?.[1]).toBe("string (URL)");
    expect(row(service, "spec.trafficPolicy.retries.retryOn")?.[1]).toBe("array of (one of string, integer 100..599)");

    const mesh = section(text, "Mesh");
    expect(row(mesh, "spec.identity.tokenTTL")?.slice(1, 3)).toEqual(["duration", "default `10m`"]);
    expect(row(mesh, "spec.identity.mode")?.slice(1, 3)).toEqual(["enum: `STRICT`, `PERMISSIVE`", "default `STRICT`"]);
    expect(row(mesh, "apiVersion")?.slice(1, 3)).toEqual(["constant `weft/v1`", "required"]);
    expect(row(mesh, "metadata.name")?.[2]).toBe("required");
    expect(row(mesh, "spec")?.[2]).toBe("default `{}`");

    const route = section(text, "Route");
    expect(row(route, "spec.http[].destinations[].weight")?.slice(1, 3)).toEqual(["integer 1..100", "optional"]);
    expect(row(route, "spec.http[].match[].headers")?.[1]).toBe("map of string to (one of `{ exact }`, `{ prefix }`, `{ regex }`, `{ present }`)");
    expect(row(route, "spec.http[].match[].method")?.[1]).toBe("one of string, array of string");
    expect(row(route, "spec.http[].retries.budget")?.slice(1, 3)).toEqual(["not allowed", "must be left out"]);
    expect(row(route, "spec.http[].fault.delay.fixed")?.slice(1, 3)).toEqual(["duration", "required"]);
    // Markdown-safe: "*" would start emphasis and "<service>" an HTML tag.
    expect(row(route, "spec.hosts")?.[3]).toContain('"\\*.domain" wildcards, "&lt;service>.mesh"');

    expect(row(section(text, "AuthorizationPolicy"), "spec.action")?.slice(1, 3)).toEqual(["enum: `ALLOW`, `DENY`, `AUDIT`", "default `ALLOW`"]);
  });

  it("marks every duration field, and only those", () => {
    const durations = renderConfigReference()
      .split("\n")
      .filter((line) => line.split(/(?<!\\)\|/)[2]?.trim() === "duration")
      .map((line) => line.split("|")[1]?.trim());
    expect(durations).toEqual(
      expect.arrayContaining([
        "`spec.identity.tokenTTL`",
        "`spec.identity.keyRotation`",
        "`spec.trafficPolicy.timeout`",
        "`spec.trafficPolicy.retries.perTryTimeout`",
        "`spec.trafficPolicy.retries.budget.window`",
        "`spec.trafficPolicy.outlierDetection.baseEjectionTime`",
        "`spec.http[].timeout`",
        "`spec.http[].retries.hedge.delay`",
        "`spec.http[].fault.delay.fixed`",
        "`spec.steps[].pause.duration`",
        "`spec.analysis.interval`",
        "`spec.analysis.latencyP99.max`",
      ]),
    );
    expect(durations).toHaveLength(19);
  });

  it("keeps every table row to four cells", () => {
    for (const line of renderConfigReference().split("\n").filter((l) => l.startsWith("| "))) {
      expect(line.split(/(?<!\\)\|/).length, line).toBe(6);
    }
  });

  it("reads a default from a description only when it names a value", () => {
    expect(describedDefault("Whole-request timeout. Default 15s. A rule's timeout replaces it.")).toBe("15s");
    expect(describedDefault("Head sampling. Default 0.01.")).toBe("0.01");
    expect(describedDefault("Timeout of each attempt. Default: none (the whole-request timeout applies).")).toBeUndefined();
    expect(describedDefault("Ejects failing endpoints. Default: off; `{}` turns it on.")).toBeUndefined();
    expect(describedDefault("Name of the destination Service.")).toBeUndefined();
  });
});
