import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, parseJsonDocuments, parseYamlDocuments, validateDocuments } from "./validate.js";

const service = (name: string, subsets = ["v1"]) => ({
  apiVersion: "weft/v1",
  kind: "Service",
  metadata: { name },
  spec: { subsets: subsets.map((s) => ({ name: s, endpoints: [{ binding: `${name.toUpperCase()}_${s.toUpperCase()}` }] })) },
});

const route = (destinations: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: "weft/v1",
  kind: "Route",
  metadata: { name: "r" },
  spec: { hosts: ["*"], http: [{ destinations, ...extra }] },
});

function issuesOf(docs: unknown[]) {
  const result = validateDocuments(docs);
  if (result.ok) throw new Error("expected the set to be refused");
  return result.issues;
}

describe("config validation", () => {
  it("accepts the example mesh and applies defaults", () => {
    const text = readFileSync(new URL("../../../examples/mesh.yaml", import.meta.url), "utf8");
    const result = parseConfigText(text, "yaml");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.mesh.spec.trustDomain).toBe("shop.weft");
    expect(result.value.mesh.spec.identity.tokenTTL).toBe(600_000);
    const orders = result.value.services.find((s) => s.metadata.name === "orders");
    expect(orders?.spec.trafficPolicy.timeout).toBe(5_000);
    expect(orders?.metadata.namespace).toBe("default");
  });

  it("supplies a default Mesh when the set has none", () => {
    const result = validateDocuments([service("a")]);
    expect(result.ok && result.value.mesh.spec.identity.mode).toBe("STRICT");
  });

  it.each([
    ["an unknown kind", [{ apiVersion: "weft/v1", kind: "Gadget", metadata: { name: "x" }, spec: {} }], "kind", /unknown kind "Gadget"/],
    ["a missing kind", [{ apiVersion: "weft/v1", metadata: { name: "x" } }], "kind", /kind is required/],
    ["a wrong apiVersion", [{ ...service("a"), apiVersion: "v2" }], "apiVersion", /weft\/v1/],
    ["a bad name", [{ ...service("a"), metadata: { name: "Bad_Name" } }], "metadata.name", /lowercase/],
    ["an unknown field", [{ ...service("a"), spec: { ...service("a").spec, colour: "red" } }], "spec.colour", /unknown field "colour"/],
    ["an endpoint with both binding and url", [{ ...service("a"), spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A", url: "https://a.example" }] }] } }], "spec.subsets[0].endpoints[0]", /exactly one of binding or url/],
    ["a non-http url", [{ ...service("a"), spec: { subsets: [{ name: "v1", endpoints: [{ url: "ftp://a.example" }] }] } }], "spec.subsets[0].endpoints[0].url", /http/],
    ["a bad duration", [{ ...service("a"), spec: { ...service("a").spec, trafficPolicy: { timeout: "soon" } } }], "spec.trafficPolicy.timeout", /not a duration/],
    ["a weight of 0", [service("a"), route([{ service: "a", weight: 0 }])], "spec.http[0].destinations[0].weight", /between 1 and 100/],
    ["a weight over 100", [service("a"), route([{ service: "a", weight: 150 }])], "spec.http[0].destinations[0].weight", /between 1 and 100/],
    ["a string weight", [service("a"), route([{ service: "a", weight: "50" }])], "spec.http[0].destinations[0].weight", /number/],
    ["a bad regex", [service("a"), route([{ service: "a" }], { match: [{ path: { regex: "(" } }] })], "spec.http[0].match[0].path.regex", /regular expression/],
    ["two path kinds at once", [service("a"), route([{ service: "a" }], { match: [{ path: { exact: "/a", prefix: "/b" } }] })], "spec.http[0].match[0].path", /exactly one of exact, prefix, regex/],
  ])("refuses %s, naming the field", (_what, docs, path, message) => {
    const issues = issuesOf(docs);
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
    expect(issue?.document).toBeGreaterThanOrEqual(1);
  });

  describe("route regexes", () => {
    const at = (where: "path" | "header" | "query", regex: string) =>
      where === "path" ? { path: { regex } } : where === "header" ? { headers: { "x-probe": { regex } } } : { query: { q: { regex } } };
    const fieldOf = { path: "spec.http[0].match[0].path.regex", header: "spec.http[0].match[0].headers.x-probe.regex", query: "spec.http[0].match[0].query.q.regex" };

    it.each([
      ["a backreference", "(a)\\1", /invalid escape sequence/],
      ["a lookahead", "(?=a)", /unsupported Perl syntax/],
      ["a negative lookahead", "/x(?!a)", /unsupported Perl syntax/],
      ["a lookbehind", "(?<=a)b", /\(\?<=/],
      ["a repeat count over 1000", "a{1001}", /repeat count/],
    ])("refuses %s, which RE2 cannot run, in a path, header or query match, naming the field and RE2's reason", (_what, regex, reason) => {
      for (const where of ["path", "header", "query"] as const) {
        const issues = issuesOf([service("a"), route([{ service: "a" }], { match: [at(where, regex)] })]);
        expect(issues, JSON.stringify(issues)).toEqual([expect.objectContaining({ document: 2, path: fieldOf[where], message: expect.stringMatching(/must be RE2 syntax/) })]);
        expect(issues[0]?.message).toMatch(reason);
      }
    });

    it.each(["/items/[0-9]+", "(a+)+", "[[:alpha:]]+\\d*", "(?i)gold.*", "/v(?P<major>[0-9]+)/.*", "\\/api\\/.*"])("accepts the RE2 pattern %s", (regex) => {
      for (const where of ["path", "header", "query"] as const) {
        expect(validateDocuments([service("a"), route([{ service: "a" }], { match: [at(where, regex)] })]).ok).toBe(true);
      }
    });
  });

  it("refuses a route to an unknown service or subset, pointing at the reference", () => {
    const issues = issuesOf([service("a", ["v1"]), route([{ service: "b", weight: 50 }, { service: "a", subset: "v9", weight: 50 }])]);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ document: 2, kind: "Route", name: "r", path: "spec.http[0].destinations[0].service", message: 'unknown service "b"' }),
        expect.objectContaining({ document: 2, path: "spec.http[0].destinations[1].subset", message: expect.stringMatching(/no subset "v9"/) }),
      ]),
    );
  });

  it("refuses weights that do not add up to 100", () => {
    const issues = issuesOf([service("a", ["v1", "v2"]), route([{ service: "a", subset: "v1", weight: 90 }, { service: "a", subset: "v2", weight: 20 }])]);
    expect(issues).toEqual([expect.objectContaining({ path: "spec.http[0].destinations", message: "weights add up to 110; they must add up to 100" })]);
  });

  it("refuses duplicate names, duplicate subsets and a second Mesh", () => {
    const mesh = { apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "m" }, spec: {} };
    const issues = issuesOf([mesh, { ...mesh, metadata: { name: "n" } }, service("a", ["v1", "v1"]), service("a")]);
    expect(issues.map((i) => [i.document, i.path, i.message])).toEqual(
      expect.arrayContaining([
        [2, "", "a set holds at most one Mesh document"],
        [3, "spec.subsets[1].name", 'duplicate subset "v1"'],
        [4, "metadata.name", 'duplicate Service "a" (also document 3)'],
      ]),
    );
  });

  it("refuses a mesh host for a service that does not exist and a policy for an unknown target", () => {
    const issues = issuesOf([
      service("a"),
      { ...route([{ service: "a" }]), spec: { hosts: ["ghost.mesh"], http: [{ destinations: [{ service: "a" }] }] } },
      { apiVersion: "weft/v1", kind: "AuthorizationPolicy", metadata: { name: "p" }, spec: { target: "ghost", rules: [{ from: ["*"] }] } },
    ]);
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(["spec.hosts[0]", "spec.target"]));
  });

  it.each(["/a b/", "/x?y", "/x#y", "/a/../b", "/a/./b", "/a//b", "/..", "/%2F", "/%2f/x", "/%00", "/a\\b", "/%zz", "/é"])("refuses the rewrite prefix %j, which the destination would not receive as written", (prefix) => {
    const issues = issuesOf([service("a"), route([{ service: "a" }], { match: [{ path: { prefix: "/p/" } }], rewrite: { prefix } })]);
    expect(issues[0]?.path).toBe("spec.http[0].rewrite.prefix");
  });

  it.each(["/", "/api/", "/api/v1", "/a.b/", "/~user/", "/%20x/", "/a:b@c/"])("accepts the rewrite prefix %j", (prefix) => {
    expect(validateDocuments([service("a"), route([{ service: "a" }], { match: [{ path: { prefix: "/p/" } }], rewrite: { prefix } })]).ok).toBe(true);
  });

  it("takes the Worker an endpoint's binding reaches, and refuses it on a url endpoint or with a bad name", () => {
    const withEndpoint = (endpoint: Record<string, unknown>) => [{ apiVersion: "weft/v1", kind: "Service", metadata: { name: "users" }, spec: { subsets: [{ name: "v1", endpoints: [endpoint] }] } }];
    expect(validateDocuments(withEndpoint({ binding: "USERS", worker: "users-v1" })).ok).toBe(true);
    expect(issuesOf(withEndpoint({ url: "https://users.example.com", worker: "users" }))[0]?.path).toBe("spec.subsets[0].endpoints[0].worker");
    expect(issuesOf(withEndpoint({ binding: "USERS", worker: "Users_V1" }))[0]?.path).toBe("spec.subsets[0].endpoints[0].worker");
  });

  it("refuses a rewrite on a rule whose match cannot anchor it", () => {
    const issues = issuesOf([service("a"), route([{ service: "a" }], { rewrite: { prefix: "/" } })]);
    expect(issues[0]?.path).toBe("spec.http[0].rewrite");
  });

  it("gives the YAML line of a bad field", () => {
    const text = ["apiVersion: weft/v1", "kind: Service", "metadata: { name: a }", "spec:", "  subsets:", "    - name: v1", "      endpoints: [{ binding: A, weight: -1 }]"].join("\n");
    const result = parseConfigText(text, "yaml");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ document: 1, path: "spec.subsets[0].endpoints[0].weight", line: 7 });
  });

  it("reports YAML syntax errors with document and line", () => {
    const result = parseYamlDocuments("apiVersion: weft/v1\n---\nkind: [unclosed\n");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ document: 2 });
    expect(result.issues[0]?.message).toMatch(/not valid YAML/);
    expect(result.issues[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it("refuses duplicate YAML keys instead of silently keeping one", () => {
    const result = parseYamlDocuments("kind: Service\nkind: Route\n");
    expect(result.ok).toBe(false);
  });
});

describe("Rollout documents in a set", () => {
  const rollout = (name: string, spec: Record<string, unknown>) => ({ apiVersion: "weft/v1", kind: "Rollout", metadata: { name }, spec: { steps: [{ setWeight: 50 }], ...spec } });
  const orders = service("orders", ["v1", "v2"]);

  it("accepts a rollout between two subsets of a service, and lists it in the set", () => {
    const result = validateDocuments([orders, rollout("orders-v2", { target: "orders", stable: "v1", canary: "v2" })]);
    expect(result.ok && result.value.rollouts.map((r) => [r.metadata.name, r.spec.analysis.interval])).toEqual([["orders-v2", 60_000]]);
  });

  it.each<[string, unknown[], string[]]>([
    ["an unknown service", [orders, rollout("x", { target: "payments", stable: "v1", canary: "v2" })], ['spec.target: unknown service "payments"']],
    [
      "unknown subsets",
      [orders, rollout("x", { target: "orders", stable: "v0", canary: "v3" })],
      ['spec.stable: service "orders" has no subset "v0" (it has v1, v2)', 'spec.canary: service "orders" has no subset "v3" (it has v1, v2)'],
    ],
    ["stable == canary", [orders, rollout("x", { target: "orders", stable: "v1", canary: "v1" })], ["spec.canary: stable and canary must be different subsets"]],
    ["weights not increasing", [orders, rollout("x", { target: "orders", stable: "v1", canary: "v2", steps: [{ setWeight: 50 }, { setWeight: 30 }] })], ["spec.steps[1].setWeight: weights must increase: 30 follows 50"]],
    ["maxWeight not a multiple of stepWeight", [orders, rollout("x", { target: "orders", stable: "v1", canary: "v2", steps: undefined, stepWeight: 15, maxWeight: 50 })], ["spec.maxWeight: maxWeight 50 must be a multiple of stepWeight 15, or the last step would overshoot it"]],
    [
      "two rollouts on one service",
      [orders, rollout("a", { target: "orders", stable: "v1", canary: "v2" }), rollout("b", { target: "orders", stable: "v2", canary: "v1" })],
      ['spec.target: service "orders" already has rollout "a" (document 2); one rollout per service'],
    ],
    [
      "a mirroring rollout over a rule that already mirrors elsewhere",
      [
        orders,
        service("audit", ["v1"]),
        { apiVersion: "weft/v1", kind: "Route", metadata: { name: "orders-mesh" }, spec: { hosts: ["orders.mesh"], http: [{ destinations: [{ service: "orders", subset: "v1" }], mirror: { service: "audit" } }] } },
        rollout("x", { target: "orders", stable: "v1", canary: "v2", analysis: { mirror: true } }),
      ],
      ['spec.analysis.mirror: route "orders-mesh" (document 3) rule 1 already mirrors to audit; the rollout\'s mirror phase would replace it (remove that mirror, or set analysis.mirror: false)'],
    ],
  ])("refuses %s, with the field path", (_name, docs, expected) => {
    expect(issuesOf(docs).map((issue) => `${issue.path}: ${issue.message}`)).toEqual(expected);
  });
});

describe("deeply nested input", () => {
  const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const onlyIssue = (result: ReturnType<typeof parseYamlDocuments>) => {
    expect(result.ok).toBe(false);
    if (result.ok) return undefined;
    expect(result.issues, JSON.stringify(result.issues).slice(0, 2_000)).toHaveLength(1);
    return result.issues[0];
  };

  // These read megabytes of input (1.5-2.5 s on a busy 2-core machine): what they check is the
  // answer, not the time, so they get room beyond the default 5 s.
  const HUGE_INPUT_TIMEOUT_MS = 30_000;

  it("refuses 400,000 unclosed [ with one issue naming the nesting limit, not a stack overflow", () => {
    const issue = onlyIssue(parseYamlDocuments("[".repeat(400_000)));
    expect(issue).toMatchObject({ document: 1, path: "", line: 1 });
    expect(issue?.message).toMatch(/nesting deeper than 64 levels/);
    expect(issue?.message).not.toMatch(/call stack/i);
  }, HUGE_INPUT_TIMEOUT_MS);

  it("refuses 400,000 closed [ ] pairs in YAML and in a JSON body with one issue each", () => {
    expect(onlyIssue(parseYamlDocuments(nested(400_000)))?.message).toMatch(/nesting deeper than 64 levels/);
    expect(onlyIssue(parseJsonDocuments(`{"documents":[${nested(400_000)}]}`))).toMatchObject({ document: 1, path: "", message: expect.stringMatching(/nesting deeper than 64 levels/) });
    expect(onlyIssue(parseConfigText(`[${nested(400_000)}]`, "json"))?.message).toMatch(/nesting deeper than 64 levels/);
  }, HUGE_INPUT_TIMEOUT_MS);

  it("accepts 64 levels and refuses 65, in flow and block YAML and in JSON", () => {
    expect(parseYamlDocuments(nested(64)).ok).toBe(true);
    expect(onlyIssue(parseYamlDocuments(nested(65)))?.message).toMatch(/nesting deeper than 64 levels/);
    const block = (depth: number) => Array.from({ length: depth }, (_, i) => `${"  ".repeat(i)}a:`).join("\n") + " 1\n";
    expect(parseYamlDocuments(block(64)).ok).toBe(true);
    expect(onlyIssue(parseYamlDocuments(block(65)))).toMatchObject({ line: 65, message: expect.stringMatching(/nesting deeper than 64 levels/) });
    expect(parseJsonDocuments(`[${nested(64)}]`).ok).toBe(true);
    expect(onlyIssue(parseJsonDocuments(`[${nested(65)}]`))?.message).toMatch(/nesting deeper than 64 levels/);
  });

  it("counts the levels an alias brings in, and names the document", () => {
    const text = `kind: Service\n---\nshallow: &deep ${nested(40)}\ndeeper: ${"[".repeat(30)}*deep${"]".repeat(30)}\n`;
    expect(onlyIssue(parseYamlDocuments(text))).toMatchObject({ document: 2, message: expect.stringMatching(/nesting deeper than 64 levels/) });
  });

  it("reports each YAML syntax error once, however often the parser repeats it", () => {
    const result = parseYamlDocuments("[".repeat(50));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const distinct = new Set(result.issues.map((issue) => JSON.stringify(issue)));
    expect(result.issues.length).toBe(distinct.size);
    expect(result.issues.length).toBeLessThanOrEqual(3);
  });
});
