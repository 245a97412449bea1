import { describe, expect, it } from "vitest";
import { fakeIO } from "./fake-io.js";

/** The program with a fake file system (cwd /work); validate must never call the network. */
function harness(files: Record<string, string>) {
  const fake = fakeIO({ files });
  return { run: fake.cli, stdout: fake.stdout, stderr: fake.stderr, fetched: fake.fetched, files: fake.files };
}

// Line numbers below are the fixture's: keep them in step when editing it.
const MESH = [
  "apiVersion: weft/v1", // 1
  "kind: Mesh",
  "metadata: { name: shop }",
  "spec:",
  "  trustDomain: shop.weft", // 5
  "---",
  "apiVersion: weft/v1",
  "kind: Service",
  "metadata: { name: users }",
  "spec:", // 10
  "  subsets:",
  "    - name: v1",
  "      endpoints: [{ binding: USERS, worker: users }]", // 13
  "    - name: v2",
  "      endpoints:", // 15
  "        - binding: USERS_V2", // 16
  "          worker: users-v2", // 17
  "  trafficPolicy:",
  "    timeout: 5s", // 19
  "---", // 20
  "apiVersion: weft/v1",
  "kind: Service",
  "metadata: { name: orders }",
  "spec:",
  "  subsets:", // 25
  "    - name: v1",
  "      endpoints: [{ binding: ORDERS, worker: orders }]", // 27
  "---",
  "apiVersion: weft/v1",
  "kind: Route", // 30
  "metadata: { name: api }",
  "spec:",
  '  hosts: ["*"]',
  "  http:",
  "    - match: [{ path: { prefix: /users/ } }]", // 35
  "      destinations:", // 36
  "        - { service: users, subset: v1, weight: 90 }", // 37
  "        - { service: users, subset: v2, weight: 10 }", // 38
  "    - destinations: [{ service: orders }]", // 39
  "      timeout: 3s", // 40
  "",
].join("\n");

const GATEWAY = `// the gateway
{
  "name": "gateway",
  "services": [
    { "binding": "USERS", "service": "users" },
    { "binding": "USERS_V2", "service": "users-v2" },
    { "binding": "ORDERS", "service": "orders" }
  ]
}
`;

const edit = (from: string, to: string) => {
  if (!MESH.includes(from)) throw new Error(`fixture has no ${from}`);
  return MESH.replace(from, to);
};

describe("weft validate", () => {
  it("passes a valid file offline with a one-line summary, saying bindings were not checked when there is no gateway config", async () => {
    const cli = harness({ "mesh.yaml": MESH });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(0);
    expect(cli.stdout()).toBe(
      [
        "bindings not checked: no wrangler.jsonc in this folder (name the gateway's config with --gateway)",
        "mesh.yaml is valid: 4 documents (2 services, 1 route, 0 policies)",
        "",
      ].join("\n"),
    );
    expect(cli.stderr()).toBe("");
    expect(cli.fetched).toEqual([]);
  });

  it("checks the bindings against wrangler.jsonc in the current folder by default", async () => {
    const cli = harness({ "mesh.yaml": MESH, "/work/wrangler.jsonc": GATEWAY });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(0);
    expect(cli.stdout()).toBe("mesh.yaml is valid: 4 documents (2 services, 1 route, 0 policies); 3 bindings match wrangler.jsonc\n");
    expect(cli.fetched).toEqual([]);
  });

  it.each([
    ["an unknown service in a route", edit("- destinations: [{ service: orders }]", "- destinations: [{ service: billing }]"), 'mesh.yaml:39: document 4 (Route api) spec.http[1].destinations[0].service: unknown service "billing"'],
    [
      "an unknown subset in a route",
      edit("{ service: users, subset: v2, weight: 10 }", "{ service: users, subset: v3, weight: 10 }"),
      'mesh.yaml:38: document 4 (Route api) spec.http[0].destinations[1].subset: service "users" has no subset "v3" (it has v1, v2)',
    ],
    ["weights that do not add up to 100", edit("weight: 10 }", "weight: 20 }"), "mesh.yaml:37: document 4 (Route api) spec.http[0].destinations: weights add up to 110; they must add up to 100"],
    ["a bad duration", edit("timeout: 3s", "timeout: 3 sec"), 'mesh.yaml:40: document 4 (Route api) spec.http[1].timeout: "3 sec" is not a duration; write e.g. 250ms, 5s, 10m or 1h'],
  ])("exits 1 on %s, naming file and line", async (_what, mesh, line) => {
    const cli = harness({ "mesh.yaml": mesh, "/work/wrangler.jsonc": GATEWAY });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(1);
    expect(cli.stderr()).toBe(`weft: ${line}\n`);
    expect(cli.stdout()).toBe("");
    expect(cli.fetched).toEqual([]);
  });

  it("exits 1 when an endpoint's binding is missing from the gateway config, at the endpoint's line", async () => {
    const gateway = GATEWAY.replace('    { "binding": "USERS_V2", "service": "users-v2" },\n', "");
    const cli = harness({ "mesh.yaml": MESH, "gw/wrangler.jsonc": gateway });
    expect(await cli.run("validate", "-f", "mesh.yaml", "--gateway", "gw/wrangler.jsonc")).toBe(1);
    expect(cli.stderr()).toBe(
      'weft: mesh.yaml:16: document 2 (Service users) spec.subsets[1].endpoints[0].binding: binding "USERS_V2" is not a service binding in gw/wrangler.jsonc (it has USERS, ORDERS); weft bindings adds it\n',
    );
  });

  it("exits 1 when a binding reaches another Worker than the endpoint names", async () => {
    const cli = harness({ "mesh.yaml": MESH, "wrangler.json": JSON.stringify({ services: [{ binding: "USERS", service: "users" }, { binding: "USERS_V2", service: "users" }, { binding: "ORDERS", service: "orders" }] }, null, 2) });
    expect(await cli.run("validate", "-f", "mesh.yaml", "--gateway", "wrangler.json")).toBe(1);
    expect(cli.stderr()).toBe('weft: mesh.yaml:17: document 2 (Service users) spec.subsets[1].endpoints[0].worker: binding "USERS_V2" reaches Worker "users" in wrangler.json:7, not "users-v2"; weft bindings fixes it\n');
  });

  it("prints every problem on its own line, in file order, after a count", async () => {
    const mesh = edit("weight: 10 }", "weight: 20 }").replace("binding: ORDERS,", "binding: BILLING,").replace("binding: USERS,", "binding: PEOPLE,");
    const cli = harness({ "mesh.yaml": mesh, "/work/wrangler.jsonc": GATEWAY });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(1);
    const lines = cli.stderr().trimEnd().split("\n");
    expect(lines[0]).toBe("weft: mesh.yaml: 3 problems");
    expect(lines.slice(1).map((line) => line.split(": document")[0])).toEqual(["mesh.yaml:13", "mesh.yaml:27", "mesh.yaml:37"]);
    expect(lines[2]).toContain('binding "BILLING" is not a service binding in wrangler.jsonc');
  });

  it("prints { ok, issues } with --json", async () => {
    const bad = harness({ "mesh.yaml": edit("timeout: 3s", "timeout: 3 sec") });
    expect(await bad.run("validate", "-f", "mesh.yaml", "--json")).toBe(1);
    const body = JSON.parse(bad.stdout()) as { ok: boolean; gateway: unknown; issues: { file: string; line: number; document: number; path: string; message: string }[] };
    expect(body.ok).toBe(false);
    expect(body.gateway).toBeNull();
    expect(body.issues).toEqual([expect.objectContaining({ file: "mesh.yaml", line: 40, document: 4, kind: "Route", name: "api", path: "spec.http[1].timeout" })]);
    expect(bad.stderr()).toBe("weft: mesh.yaml: 1 problem\n");

    const good = harness({ "mesh.yaml": MESH, "/work/wrangler.jsonc": GATEWAY });
    expect(await good.run("validate", "-f", "mesh.yaml", "--json")).toBe(0);
    expect(JSON.parse(good.stdout())).toEqual({ ok: true, file: "mesh.yaml", gateway: "wrangler.jsonc", documents: 4, services: 2, routes: 1, policies: 0, rollouts: 0, bindings: 3, issues: [] });
  });

  it("refuses a wrangler.toml with a clear pointer to wrangler.jsonc", async () => {
    const cli = harness({ "mesh.yaml": MESH, "wrangler.toml": 'name = "gateway"\n' });
    expect(await cli.run("validate", "-f", "mesh.yaml", "--gateway", "wrangler.toml")).toBe(1);
    expect(cli.stderr()).toMatch(/^weft: wrangler\.toml: weft reads and edits the gateway's config as JSON with comments, not TOML: use wrangler\.jsonc/);
    expect(cli.stderr().split("\n")).toHaveLength(2);
  });

  it("names the line of a gateway config that is not JSONC", async () => {
    const cli = harness({ "mesh.yaml": MESH, "/work/wrangler.jsonc": GATEWAY.replace('"users" },\n    { "binding": "USERS_V2"', '"users" }\n    { "binding": "USERS_V2"') });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(1);
    expect(cli.stderr()).toBe("weft: wrangler.jsonc:6: not valid JSONC (CommaExpected)\n");
  });

  it("checks the trace collector's binding too", async () => {
    const mesh = edit("  trustDomain: shop.weft", "  trustDomain: shop.weft\n  telemetry: { tracing: { collector: { binding: OTEL } } }");
    const cli = harness({ "mesh.yaml": mesh, "/work/wrangler.jsonc": GATEWAY });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(1);
    expect(cli.stderr()).toMatch(/^weft: mesh\.yaml:6: document 1 \(Mesh shop\) spec\.telemetry\.tracing\.collector\.binding: binding "OTEL" is not a service binding in wrangler\.jsonc/);
  });

  it("refuses an empty file as apply does", async () => {
    const cli = harness({ "mesh.yaml": "# nothing yet\n" });
    expect(await cli.run("validate", "-f", "mesh.yaml")).toBe(1);
    expect(cli.stderr()).toContain("weft: mesh.yaml: holds no documents");
  });
});
