import { describe, expect, it } from "vitest";
import { fakeIO } from "./fake-io.js";

/** The program with a fake file system (cwd /work); `written` records what the program wrote. */
function harness(files: Record<string, string>) {
  const fake = fakeIO({ files });
  return { run: fake.cli, stdout: fake.stdout, stderr: fake.stderr, reset: fake.reset, written: fake.written, files: fake.files };
}

const MESH = `apiVersion: weft/v1
kind: Mesh
metadata: { name: shop }
spec:
  telemetry: { tracing: { collector: { binding: OTEL } } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: users }
spec:
  subsets:
    - name: v1
      endpoints: [{ binding: USERS, worker: users }]
    - name: v2
      endpoints: [{ binding: USERS_V2, worker: users-v2 }]
---
apiVersion: weft/v1
kind: Service
metadata: { name: orders }
spec:
  subsets:
    - name: v1
      endpoints: [{ binding: ORDERS, worker: orders }]
`;

/** The same mesh without a trace collector, so every binding it uses names its Worker. */
const MESH_ALL_WORKERS = MESH.replace("  telemetry: { tracing: { collector: { binding: OTEL } } }\n", "  trustDomain: shop.weft\n");

/** A hand-written gateway config: USERS missing, ORDERS pointing at an old Worker, OTEL the mesh's collector. */
const CONFIG = `// The shop's gateway. Top comment, kept.
{
  "name": "gateway", // the Worker's name
  "main": "node_modules/@weft/gateway/dist/index.js",
  /* Service bindings:
     one per function Worker. */
  "services": [
    // the trace collector, not a mesh service
    { "binding": "OTEL", "service": "otel-collector" },
    { "binding": "ORDERS", "service": "orders-old" }, // orders, v1
    /* v2 of users */ { "binding": "USERS_V2", "service": "users-v2" }
  ],
  // after the services
  "vars": { "WEFT_CONFIG_REFRESH_MS": "5000" }
}
`;

describe("weft bindings", () => {
  it("--check exits 1 on drift and writes nothing; weft bindings then writes the config, and --check passes", async () => {
    const cli = harness({ "mesh.yaml": MESH, "/work/wrangler.jsonc": CONFIG });
    expect(await cli.run("bindings", "-f", "mesh.yaml", "--check")).toBe(1);
    expect(cli.written).toEqual([]);
    expect(cli.stdout()).toBe(
      [
        "  missing   USERS → users",
        "  wrong     ORDERS → orders-old (mesh.yaml says orders)",
        "  no worker OTEL: its endpoint in mesh.yaml names no worker, so weft cannot write it (kept as it is in wrangler.jsonc); add worker: <its Worker's name>",
        "",
      ].join("\n"),
    );
    expect(cli.stderr()).toBe("weft: wrangler.jsonc is out of sync with mesh.yaml: 2 differences (weft bindings -f mesh.yaml writes what it can)\n");

    cli.reset();
    expect(await cli.run("bindings", "-f", "mesh.yaml")).toBe(0);
    expect(cli.written).toEqual(["/work/wrangler.jsonc"]);
    expect(cli.stdout()).toContain("  added     USERS → users\n  fixed     ORDERS → orders (was orders-old)\n");
    expect(cli.stdout()).toMatch(/wrangler\.jsonc: 1 added, 1 fixed, 1 binding in sync\n$/);

    cli.reset();
    expect(await cli.run("bindings", "-f", "mesh.yaml", "--check")).toBe(0);
    expect(cli.stdout()).toMatch(/wrangler\.jsonc is in sync with mesh\.yaml: 3 bindings in sync\n$/);
    expect(cli.stderr()).toBe("");
  });

  it("keeps every comment and every untouched line byte for byte, changing only the entries it fixes or adds", async () => {
    const cli = harness({ "mesh.yaml": MESH, "/work/wrangler.jsonc": CONFIG });
    expect(await cli.run("bindings", "-f", "mesh.yaml")).toBe(0);
    expect(cli.files["/work/wrangler.jsonc"]).toBe(`// The shop's gateway. Top comment, kept.
{
  "name": "gateway", // the Worker's name
  "main": "node_modules/@weft/gateway/dist/index.js",
  /* Service bindings:
     one per function Worker. */
  "services": [
    // the trace collector, not a mesh service
    { "binding": "OTEL", "service": "otel-collector" },
    { "binding": "ORDERS", "service": "orders" }, // orders, v1
    /* v2 of users */ { "binding": "USERS_V2", "service": "users-v2" },
    { "binding": "USERS", "service": "users" }
  ],
  // after the services
  "vars": { "WEFT_CONFIG_REFRESH_MS": "5000" }
}
`);
    // A second run has nothing to do and leaves the file alone.
    cli.written.length = 0;
    expect(await cli.run("bindings", "-f", "mesh.yaml")).toBe(0);
    expect(cli.written).toEqual([]);
  });

  it("keeps entries the mesh does not mention and lists them as not in mesh.yaml", async () => {
    const config = CONFIG.replace('{ "binding": "OTEL", "service": "otel-collector" }', '{ "binding": "AUDIT_LOG", "service": "audit" }');
    const cli = harness({ "mesh.yaml": MESH_ALL_WORKERS, "gw.jsonc": config });
    expect(await cli.run("bindings", "-f", "mesh.yaml", "-c", "gw.jsonc")).toBe(0);
    expect(cli.stdout()).toContain("  kept      AUDIT_LOG → audit (not in mesh.yaml)\n");
    expect(cli.files["gw.jsonc"]).toContain('{ "binding": "AUDIT_LOG", "service": "audit" },');
  });

  it("says it cannot write a binding whose endpoint names no worker, and --check counts it only when the config lacks it", async () => {
    const mesh = MESH.replace("{ binding: USERS, worker: users }", "{ binding: USERS }");
    const synced = CONFIG.replace('"orders-old"', '"orders"');
    const present = harness({ "mesh.yaml": mesh, "/work/wrangler.jsonc": synced.replace('  ],\n  // after', '  { "binding": "USERS", "service": "people" }\n  ],\n  // after').replace('"users-v2" }\n', '"users-v2" },\n') });
    expect(await present.run("bindings", "-f", "mesh.yaml", "--check")).toBe(0);
    expect(present.stdout()).toContain("  no worker USERS: its endpoint in mesh.yaml names no worker, so weft cannot write it (kept as it is in wrangler.jsonc)");

    const missing = harness({ "mesh.yaml": mesh, "/work/wrangler.jsonc": synced });
    expect(await missing.run("bindings", "-f", "mesh.yaml", "--check")).toBe(1);
    expect(missing.stderr()).toContain("1 difference");
    expect(await missing.run("bindings", "-f", "mesh.yaml")).toBe(1);
    expect(missing.written).toEqual([]);
    expect(missing.stdout()).toContain("  no worker USERS: its endpoint in mesh.yaml names no worker, so weft cannot write it (not in wrangler.jsonc either, so the gateway lacks it)");
    expect(missing.stderr()).toContain("weft: wrangler.jsonc still lacks what mesh.yaml needs: 1 binding could not be written");
  });

  it("creates the services list when the config has none, in the file's own indentation", async () => {
    const cli = harness({ "mesh.yaml": MESH_ALL_WORKERS, "wrangler.json": '{\n\t"name": "gateway",\n\t"services": []\n}\n' });
    expect(await cli.run("bindings", "-f", "mesh.yaml", "-c", "wrangler.json")).toBe(0);
    const written = cli.files["wrangler.json"] ?? "";
    expect(JSON.parse(written)).toEqual({
      name: "gateway",
      services: [
        { binding: "USERS", service: "users" },
        { binding: "USERS_V2", service: "users-v2" },
        { binding: "ORDERS", service: "orders" },
      ],
    });
    expect(written).toContain('\n\t\t{\n\t\t\t"binding": "USERS",\n');

    const none = harness({ "mesh.yaml": MESH_ALL_WORKERS, "/work/wrangler.jsonc": '{\n  "name": "gateway" // no services yet\n}\n' });
    expect(await none.run("bindings", "-f", "mesh.yaml")).toBe(0);
    const text = none.files["/work/wrangler.jsonc"] ?? "";
    expect(text.startsWith('{\n  "name": "gateway", // no services yet\n  "services": [\n')).toBe(true);
  });

  it("refuses an invalid mesh file, a TOML config or no config, writing nothing", async () => {
    const invalid = harness({ "mesh.yaml": MESH.replace("name: v2", "name: V2"), "/work/wrangler.jsonc": CONFIG });
    expect(await invalid.run("bindings", "-f", "mesh.yaml")).toBe(1);
    expect(invalid.stderr()).toMatch(/^weft: mesh\.yaml: 1 problem; fix it first \(weft validate -f mesh\.yaml\)\nmesh\.yaml:14: document 2 \(Service users\) spec\.subsets\[1\]\.name: /);
    expect(invalid.written).toEqual([]);

    const toml = harness({ "mesh.yaml": MESH, "wrangler.toml": 'name = "gateway"\n' });
    expect(await toml.run("bindings", "-f", "mesh.yaml", "-c", "wrangler.toml")).toBe(1);
    expect(toml.stderr()).toContain("use wrangler.jsonc");

    const nothing = harness({ "mesh.yaml": MESH });
    expect(await nothing.run("bindings", "-f", "mesh.yaml")).toBe(1);
    expect(nothing.stderr()).toBe("weft: no wrangler.jsonc in this folder: name the gateway's config with -c <file>\n");
  });
});

describe("weft bindings on a project weft init wrote", () => {
  it("fills the empty services list and leaves the rest of the file as init wrote it", async () => {
    const cli = harness({});
    expect(await cli.run("init", "shop")).toBe(0);
    const path = "/work/shop/wrangler.jsonc";
    const before = cli.files[path];
    if (before === undefined) throw new Error(`weft init wrote no ${path}: ${Object.keys(cli.files).join(", ")}`);
    cli.files["/work/shop/mesh.yaml"] = MESH_ALL_WORKERS;
    expect(await cli.run("bindings", "-f", "/work/shop/mesh.yaml", "-c", path)).toBe(0);
    const after = cli.files[path] ?? "";
    const entries = ['{ "binding": "USERS", "service": "users" }', '{ "binding": "USERS_V2", "service": "users-v2" }', '{ "binding": "ORDERS", "service": "orders" }'];
    // Only the services list changed; every other line, comments included, is as init wrote it.
    expect(after.replace(/"services": \[[^\]]*\]/, '"services": []')).toBe(before);
    expect(after.replace(/\s+/g, " ")).toContain(`"services": [ ${entries.join(", ")} ]`);
    cli.reset();
    expect(await cli.run("bindings", "-f", "/work/shop/mesh.yaml", "-c", path, "--check")).toBe(0);
  });
});
