import { describe, expect, it } from "vitest";
import { formatPath, RULES_PER_SLICE, validateDocuments, validateDocumentsInSlices } from "./validate.js";
import { RouteDocument } from "./schema.js";

function service(name: string): unknown {
  return { apiVersion: "weft/v1", kind: "Service", metadata: { name }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: name.toUpperCase() }] }] } };
}

function rules(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    match: [{ path: i % 2 === 0 ? { prefix: `/r/${i}/` } : { exact: `/r/${i}` }, method: "get" }],
    destinations: [{ service: "a" }],
    timeout: "2s",
    retries: { attempts: 2 },
  }));
}

function route(http: unknown, extra: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: "weft/v1", kind: "Route", metadata: { name: "big" }, spec: { hosts: ["*"], http, ...spec }, ...extra };
}

/** The issues of one Route as zod gives them for the document checked whole, as validateDocuments words them. */
function wholeRouteIssues(doc: unknown): { path: string; message: string }[] {
  const parsed = RouteDocument.safeParse(doc);
  if (parsed.success) return [];
  return parsed.error.issues.flatMap((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p === "string" || typeof p === "number");
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: `unknown field "${key}"` }));
    return [{ path: formatPath(path), message: issue.message }];
  });
}

const pauseNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("validation in slices", () => {
  it("gives a big Route exactly as zod parses the document whole, keys in the same order", async () => {
    const doc = route(rules(3 * RULES_PER_SLICE + 7), {}, { public: true });
    const whole = RouteDocument.parse(doc);
    const result = validateDocuments([service("a"), doc]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(JSON.stringify(result.value.routes[0])).toBe(JSON.stringify(whole));
    expect(await validateDocumentsInSlices([service("a"), doc], undefined, pauseNow)).toEqual(result);
  });

  // Each case: a Route above a slice's worth of rules, refused for reasons in its rules, in its
  // other fields, or both; the issues must be zod's for the whole document, in zod's order.
  const refused: [string, () => Record<string, unknown>][] = [
    ["bad rules only", () => {
      const http: unknown[] = rules(2 * RULES_PER_SLICE + 1);
      http[3] = { ...(http[3] as object), timeout: "soon" };
      http[RULES_PER_SLICE + 5] = { ...(http[RULES_PER_SLICE + 5] as object), bogus: 1, destinations: [] };
      http[2 * RULES_PER_SLICE] = "not a rule";
      return route(http);
    }],
    ["bad fields other than the rules only", () => route(rules(RULES_PER_SLICE + 1), { extra: true }, { hosts: ["NOT A HOST!"], public: "yes", unknown: 1 })],
    ["bad rules and bad other fields", () => {
      const http = rules(RULES_PER_SLICE + 1);
      http[RULES_PER_SLICE] = { ...http[RULES_PER_SLICE], timeout: -1 };
      return route(http, { apiVersion: "v0" }, { public: "yes" });
    }],
    ["more rules than a Route may hold", () => route(rules(10_001))],
    ["rules that are not a list", () => route({ length: RULES_PER_SLICE + 1 })],
  ];
  for (const [name, build] of refused) {
    it(`refuses a big Route with ${name} with the issues of the whole document`, async () => {
      const doc = build();
      const expected = wholeRouteIssues(doc);
      expect(expected.length).toBeGreaterThan(0);
      const result = validateDocuments([service("a"), doc]);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.issues.map(({ path, message }) => ({ path, message }))).toEqual(expected);
      expect(result.issues.every((issue) => issue.document === 2 && issue.kind === "Route" && issue.name === "big")).toBe(true);
      expect(await validateDocumentsInSlices([service("a"), doc], undefined, pauseNow)).toEqual(result);
    });
  }

  it("pauses between slices of a 10,000-rule set, and what waits for a timer runs in between", async () => {
    const documents = [service("a"), route(rules(5_000)), { ...route(rules(5_000)), metadata: { name: "big-2" } }];
    let ticks = 0;
    let pauses = 0;
    const ticksAtPauses: number[] = [];
    const ticking = setInterval(() => ticks++, 0);
    try {
      const result = await validateDocumentsInSlices(documents, undefined, async () => {
        pauses++;
        ticksAtPauses.push(ticks);
        await pauseNow();
      });
      expect(result.ok).toBe(true);
    } finally {
      clearInterval(ticking);
    }
    // At least one pause per slice of rules.
    expect(pauses).toBeGreaterThanOrEqual(10_000 / RULES_PER_SLICE);
    // The interval's callbacks ran while the validation was under way, not only after it.
    expect(ticksAtPauses[ticksAtPauses.length - 1]).toBeGreaterThan(ticksAtPauses[0] ?? 0);
  });

  it("keeps YAML lines on issues found in a slice", async () => {
    const http = Array.from({ length: RULES_PER_SLICE + 2 }, (_, i) => `    - { match: [{ path: { exact: /r/${i} } }], destinations: [{ service: a }], timeout: ${i === RULES_PER_SLICE + 1 ? "soon" : "1s"} }`);
    const yaml = `apiVersion: weft/v1\nkind: Service\nmetadata: { name: a }\nspec: { subsets: [{ name: v1, endpoints: [{ binding: A }] }] }\n---\napiVersion: weft/v1\nkind: Route\nmetadata: { name: big }\nspec:\n  hosts: ["*"]\n  http:\n${http.join("\n")}\n`;
    const { parseYamlDocuments } = await import("./validate.js");
    const parsed = parseYamlDocuments(yaml);
    if (!parsed.ok) throw new Error("the YAML does not parse");
    const result = await validateDocumentsInSlices(parsed.value.documents, parsed.value.locate, pauseNow);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]?.path).toBe(`spec.http[${RULES_PER_SLICE + 1}].timeout`);
    expect(result.issues[0]?.line).toBe(yaml.split("\n").findIndex((line) => line.includes("timeout: soon")) + 1);
  });
});

describe("YAML read in slices", () => {
  /** One document of the constructs whose tokens span lines, so slice ends fall inside them. */
  const block = (i: number, pad: string) => `# document ${i}${pad}
apiVersion: weft/v1
kind: Service
metadata:
  name: svc-${i}
  labels: { team: "a
    b", note: 'it''s
    two lines' }
spec:
  description: |
    a literal block
      kept as written
    line three
  folded: >-
    folded text
    over lines
  anchor: &a${i} { x: 1, y: [1, 2,
    3] }
  again: *a${i}
  plain: this plain scalar
    goes on
  list:
    - "a quoted
      string"
    - ? complex key
      : value
`;

  it("reads a text of many slices as the whole text reads, values and lines", async () => {
    const { parseAllDocuments } = await import("yaml");
    const { YAML_CHARS_PER_SLICE, parseYamlDocuments } = await import("./validate.js");
    for (const padding of [0, 1, 7, 23, 61]) {
      const text = Array.from({ length: 120 }, (_, i) => block(i, " ".repeat((i * padding) % 97))).join("---\n");
      expect(text.length).toBeGreaterThan(5 * YAML_CHARS_PER_SLICE);
      const parsed = parseYamlDocuments(text);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues.slice(0, 3)));
      expect(parsed.value.documents).toEqual(parseAllDocuments(text).map((doc) => doc.toJS()));
      // A line found through the source map of the last document.
      expect(parsed.value.locate?.(119, ["spec", "folded"])).toBe(text.split("\n").lastIndexOf("  folded: >-") + 1);
    }
  });

  it("reports a syntax error far into the text on its line, once, as the whole text does", async () => {
    const { parseYamlDocuments, YAML_CHARS_PER_SLICE } = await import("./validate.js");
    const good = Array.from({ length: 60 }, (_, i) => block(i, "")).join("---\n");
    expect(good.length).toBeGreaterThan(3 * YAML_CHARS_PER_SLICE);
    const bad = "kind: Route\nspec: { hosts: [a, b }\n";
    const text = `${good}---\n${bad}`;
    const parsed = parseYamlDocuments(text);
    const alone = parseYamlDocuments(bad);
    expect(parsed.ok || alone.ok).toBe(false);
    if (parsed.ok || alone.ok) return;
    // The same issues as the document read alone, in document 61, on lines as many further down.
    const before = good.split("\n").length;
    expect(parsed.issues).toEqual(alone.issues.map((issue) => ({ ...issue, document: 61, ...(issue.line === undefined ? {} : { line: issue.line + before }) })));
    expect(parsed.issues.length).toBeGreaterThan(0);
  });

  it("pauses between slices of a big YAML text", async () => {
    const { parseYamlDocuments, parseYamlDocumentsInSlices, YAML_CHARS_PER_SLICE } = await import("./validate.js");
    const text = Array.from({ length: 80 }, (_, i) => block(i, "")).join("---\n");
    let pauses = 0;
    const parsed = await parseYamlDocumentsInSlices(text, async () => {
      pauses++;
    });
    expect(pauses).toBeGreaterThanOrEqual(Math.floor(text.length / YAML_CHARS_PER_SLICE));
    const whole = parseYamlDocuments(text);
    expect(parsed.ok && whole.ok && parsed.value.documents).toEqual(whole.ok && whole.value.documents);
  });
});
