/**
 * The admin API under generated input (issue: reliability, fuzzed admin input): document sets that
 * are valid, and the same sets broken in every way an operator or an attacker might — a field
 * removed or of the wrong type, an unknown or prototype key (`__proto__`, `constructor`), unicode
 * where names must be plain, nesting hundreds deep, arrays thousands long, bodies over the limit.
 * Never a 500; every refusal a 400 whose issues name a document and a path; the version unchanged
 * after every refusal; every valid set comes back from `GET /config` as it was sent.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admin } from "./helpers.js";

type Doc = Record<string, unknown>;

const SERVICE_NAMES = ["orders", "catalog", "users", "billing", "search"] as const;
/** Text with the awkward parts of unicode: accents, CJK, emoji (astral), right-to-left, zero-width. */
const awkwardText = fc.string({ unit: fc.constantFrom("a", "é", "中", "😀", "ש", "\u200b", " ", "-", "/"), minLength: 1, maxLength: 24 });

/** A valid set: a Mesh, 1–4 Services, a Route per service whose weights add up to 100, a policy. */
const validSet = fc
  .record({
    services: fc.uniqueArray(fc.constantFrom(...SERVICE_NAMES), { minLength: 1, maxLength: 4 }),
    split: fc.integer({ min: 1, max: 99 }),
    ruleName: awkwardText,
    headerValue: awkwardText,
    timeoutMs: fc.integer({ min: 1, max: 60_000 }),
    mode: fc.constantFrom("PERMISSIVE", "STRICT"),
  })
  .map(({ services, split, ruleName, headerValue, timeoutMs, mode }): Doc[] => [
    { apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "fuzz" }, spec: { identity: { mode } } },
    ...services.map((name) => ({
      apiVersion: "weft/v1",
      kind: "Service",
      metadata: { name },
      spec: { subsets: [{ name: "v1", endpoints: [{ binding: "HTTPBIN_V1" }] }, { name: "v2", endpoints: [{ binding: "HTTPBIN_V2" }] }], trafficPolicy: { timeout: `${timeoutMs}ms` } },
    })),
    ...services.map((name) => ({
      apiVersion: "weft/v1",
      kind: "Route",
      metadata: { name: `${name}-mesh` },
      spec: {
        hosts: [`${name}.mesh`],
        http: [
          { name: ruleName, match: [{ headers: { "x-tenant": { exact: headerValue } } }], destinations: [{ service: name, subset: "v2" }] },
          { destinations: [{ service: name, subset: "v1", weight: 100 - split }, { service: name, subset: "v2", weight: split }] },
        ],
      },
    })),
    { apiVersion: "weft/v1", kind: "AuthorizationPolicy", metadata: { name: "open" }, spec: { target: services[0], action: "ALLOW", rules: [{ from: ["*"] }] } },
  ]);

/** Ways to break a valid set, each at a place a path can name. */
const breakage = fc.oneof(
  fc.record({ kind: fc.constant("remove" as const), field: fc.constantFrom("spec", "metadata", "kind") }),
  fc.record({ kind: fc.constant("retype" as const), value: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })) }),
  fc.record({ kind: fc.constant("unknown-key" as const), key: fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "spec2", "é") }),
  // Never a valid name: it always holds a letter outside a-z.
  fc.record({ kind: fc.constant("unicode-name" as const), name: awkwardText.map((text) => `é${text}`) }),
  fc.record({ kind: fc.constant("deep" as const), depth: fc.integer({ min: 50, max: 400 }) }),
  fc.record({ kind: fc.constant("huge" as const), length: fc.integer({ min: 2_000, max: 20_000 }) }),
  fc.record({ kind: fc.constant("bad-weights" as const), weight: fc.integer({ min: 101, max: 1_000 }) }),
);

/** JSON text of `docs` broken as `how` says (as text, so `__proto__` stays an own key). */
function broken(docs: Doc[], how: typeof breakage extends fc.Arbitrary<infer B> ? B : never, at: number): string {
  const copy = JSON.parse(JSON.stringify(docs)) as Doc[];
  // A Mesh may leave out its spec (every field has a default): the other kinds may not.
  const target = (how.kind === "remove" && how.field === "spec" ? copy[1 + (at % (copy.length - 1))] : copy[at % copy.length]) as Doc;
  switch (how.kind) {
    case "remove":
      delete target[how.field];
      return JSON.stringify(copy);
    case "retype":
      target.spec = how.value;
      return JSON.stringify(copy);
    case "unknown-key": {
      // Written into the text: an object literal's __proto__ would set the prototype, not a key.
      const text = JSON.stringify(copy);
      const marker = JSON.stringify(target.metadata);
      return text.replace(marker, marker.replace(/}$/, `,${JSON.stringify(how.key)}:{"polluted":true}}`));
    }
    case "unicode-name":
      (target.metadata as Doc).name = how.name;
      return JSON.stringify(copy);
    case "deep":
      target.spec = { subsets: JSON.parse(`${"[".repeat(how.depth)}${"]".repeat(how.depth)}`) as unknown };
      return JSON.stringify(copy);
    case "huge": {
      const route = copy.find((doc) => doc.kind === "Route") as Doc;
      (route.spec as { hosts: string[] }).hosts = Array.from({ length: how.length }, (_, i) => `h${i}.example`);
      return JSON.stringify(copy);
    }
    case "bad-weights": {
      const route = copy.find((doc) => doc.kind === "Route") as { spec: { http: { destinations: { weight?: number }[] }[] } };
      const split = route.spec.http[1]?.destinations[0];
      if (split) split.weight = how.weight;
      return JSON.stringify(copy);
    }
  }
}

async function post(body: string): Promise<Response> {
  return admin("/config", { method: "POST", headers: { "content-type": "application/json", "weft-actor": "fuzz" }, body });
}

async function currentVersion(): Promise<number> {
  return ((await (await admin("/config")).json()) as { version: number }).version;
}

describe("the admin API under generated document sets", () => {
  it("stores every valid set and gives it back as sent", async () => {
    await fc.assert(
      fc.asyncProperty(validSet, async (docs) => {
        const response = await post(JSON.stringify(docs));
        const body = await response.text();
        expect(response.status, body).toBe(200);
        const stored = (await (await admin("/config")).json()) as { documents: unknown[] };
        expect(stored.documents).toEqual(docs);
      }),
      { numRuns: 25 },
    );
  });

  it("refuses every broken set with a 400 naming where, never a 500, and changes nothing", async () => {
    // Prototype pollution would show on every object of this isolate.
    const probe = {} as Record<string, unknown>;
    await fc.assert(
      fc.asyncProperty(validSet, breakage, fc.nat(), async (docs, how, at) => {
        const before = await currentVersion();
        const response = await post(broken(docs, how, at));
        const body = (await response.json()) as { error?: { code: string; issues?: { document: number; path: string; message: string }[] } };
        expect(response.status, JSON.stringify(body).slice(0, 500)).toBe(400);
        expect(["invalid_config", "bad_request", "body_too_large"]).toContain(body.error?.code);
        if (body.error?.code === "invalid_config") {
          const issues = body.error.issues ?? [];
          expect(issues.length).toBeGreaterThan(0);
          for (const issue of issues) {
            expect(issue.document).toBeGreaterThanOrEqual(1);
            expect(typeof issue.path).toBe("string");
            expect(issue.message.length).toBeGreaterThan(0);
          }
          // Where the set was broken at a field, some issue names a path into it; nesting too deep is
          // named for the whole document (the depth is measured before any schema runs).
          const namesWhere = issues.some((issue) => issue.path !== "" || (how.kind === "deep" && /nesting deeper than/.test(issue.message)));
          if (how.kind !== "remove" || how.field !== "kind") expect(namesWhere, JSON.stringify(issues).slice(0, 500)).toBe(true);
        }
        expect(await currentVersion()).toBe(before);
        expect(probe.polluted).toBeUndefined();
      }),
      { numRuns: 80 },
    );
  });

  it("refuses a body over the limit, and text that is no JSON or YAML at all, with a 400", async () => {
    const before = await currentVersion();
    const huge = await post(`[${" ".repeat(1024 * 1024)}]`);
    expect([huge.status, ((await huge.json()) as { error: { code: string } }).error.code]).toEqual([400, "body_too_large"]);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
        const response = await admin("/config", { method: "POST", headers: { "content-type": "application/yaml" }, body: text });
        expect([200, 400]).toContain(response.status);
        await response.arrayBuffer();
      }),
      { numRuns: 60 },
    );
    expect(await currentVersion()).toBeGreaterThanOrEqual(before);
  });
});
