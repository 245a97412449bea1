import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseJsonc, type ParseError } from "jsonc-parser";
import { parseConfigText } from "@weft/sdk/config";
import { describe, expect, it } from "vitest";
import { COMPATIBILITY_DATE, CONTROL_MIGRATIONS, EXAMPLE_DOCUMENTS, WEFT_VERSION, WRANGLER_VERSION, controlWorkerName, mergeGitignore, workerNameFrom } from "./init.js";
import { fakeIO } from "./fake-io.js";

const ROOT = join(import.meta.dirname, "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The program with a fake file system rooted at /work; it returns what the program wrote. */
function harness(options: { files?: Record<string, string> } = {}) {
  const fake = fakeIO(options.files ? { files: options.files } : {});
  return { files: fake.files, run: fake.cli, stdout: fake.stdout, stderr: fake.stderr, fetched: fake.fetched, runs: fake.runs };
}

function parseWranglerJsonc(text: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: false }) as Record<string, unknown>;
  expect(errors).toEqual([]);
  return value;
}

/** control-durable/wrangler.toml's `[[migrations]]` tables, read with a regex: the repository's own control Worker config. */
function repoMigrations(): { tag: string; new_sqlite_classes: string[] }[] {
  const blocks = read("control-durable/wrangler.toml").split(/^\[\[migrations\]\]\s*$/m).slice(1);
  return blocks.map((block) => {
    const tag = /^tag\s*=\s*"([^"]+)"/m.exec(block)?.[1];
    const classes = /^new_sqlite_classes\s*=\s*\[([^\]]*)\]/m.exec(block)?.[1];
    if (tag === undefined || classes === undefined) throw new Error(`cannot read migration block: ${block}`);
    return { tag, new_sqlite_classes: [...classes.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "") };
  });
}

const FILES = ["package.json", "wrangler.jsonc", "wrangler.control.jsonc", ".dev.vars", "mesh.yaml", "README.md", ".gitignore"];

describe("weft init", () => {
  it("is a command of weft, with help", async () => {
    const cli = harness();
    expect(await cli.run("init", "--help")).toBe(0);
    expect(cli.stdout()).toContain("Usage: weft init [options] [dir]");
    expect(cli.stdout()).toContain("--trust-domain <domain>");
    expect(cli.files).toEqual({});
  });

  it("writes every project file into the named folder, names the gateway after it, and exits 0", async () => {
    const cli = harness();
    expect(await cli.run("init", "shop-gateway")).toBe(0);
    expect(Object.keys(cli.files).sort()).toEqual(FILES.map((file) => `/work/shop-gateway/${file}`).sort());
    // Scaffolding is local: no network, no other program.
    expect(cli.fetched).toEqual([]);
    expect(cli.runs).toEqual([]);
    expect(cli.stderr()).toBe("");
    for (const file of FILES) expect(cli.stdout()).toContain(`  ${file}`);
    expect(cli.stdout()).toContain("cd shop-gateway\n");
    expect(cli.stdout()).toContain("npx weft validate -f mesh.yaml");

    const wrangler = parseWranglerJsonc(cli.files["/work/shop-gateway/wrangler.jsonc"] ?? "");
    expect(wrangler.name).toBe("shop-gateway");
    const manifest = JSON.parse(cli.files["/work/shop-gateway/package.json"] ?? "") as Record<string, Record<string, string>>;
    expect(manifest.name).toBe("shop-gateway");
  });

  it("writes into the current folder when given no folder", async () => {
    const cli = harness();
    expect(await cli.run("init")).toBe(0);
    expect(Object.keys(cli.files).sort()).toEqual(FILES.map((file) => `/work/${file}`).sort());
    expect(parseWranglerJsonc(cli.files["/work/wrangler.jsonc"] ?? "").name).toBe("work");
    expect(cli.stdout()).not.toContain("cd ");
  });

  it("writes a wrangler.jsonc that runs @weft/gateway bound to the control Worker's three Durable Objects, and a wrangler.control.jsonc with the repository's migrations", async () => {
    const cli = harness();
    expect(await cli.run("init", "gw", "--name", "acme-mesh")).toBe(0);
    const text = cli.files["/work/gw/wrangler.jsonc"] ?? "";
    const wrangler = parseWranglerJsonc(text);
    expect(wrangler).toMatchObject({
      name: "acme-mesh",
      main: "node_modules/@weft/gateway/dist/index.js",
      minify: true,
      keep_names: false,
      observability: { enabled: true },
      vars: { WEFT_CONFIG_REFRESH_MS: "5000", WEFT_TELEMETRY_FLUSH_MS: "5000", WEFT_ADMIN_HOST: "weft-admin.localhost" },
      services: [],
    });
    expect(wrangler.durable_objects).toEqual({
      bindings: [
        { name: "CONTROL", class_name: "ControlPlane", script_name: "acme-mesh-control" },
        { name: "RATE_LIMITER", class_name: "RateLimiter", script_name: "acme-mesh-control" },
        { name: "TELEMETRY", class_name: "TelemetryShard", script_name: "acme-mesh-control" },
      ],
    });
    // The Durable Objects' storage belongs to the Worker that defines the classes.
    expect(wrangler).not.toHaveProperty("migrations");
    const control = parseWranglerJsonc(cli.files["/work/gw/wrangler.control.jsonc"] ?? "");
    expect(control).toEqual({
      $schema: "node_modules/wrangler/config-schema.json",
      name: "acme-mesh-control",
      main: "node_modules/@weft/gateway/dist/control.js",
      compatibility_date: COMPATIBILITY_DATE,
      observability: { enabled: true },
      workers_dev: false,
      migrations: repoMigrations(),
    });
    expect(CONTROL_MIGRATIONS).toEqual(repoMigrations());
    expect(repoMigrations().map((m) => m.tag)).toEqual(["v1", "v2", "v3"]);
    // The custom domain is offered, commented out, and valid once uncommented.
    expect(wrangler).not.toHaveProperty("routes");
    const uncommented = parseWranglerJsonc(text.replace(/^(\s*)\/\/ ("routes":)/m, "$1$2"));
    expect(uncommented.routes).toEqual([{ pattern: "mesh.example.com", custom_domain: true }]);
  });

  it("uses the repository's compatibility date, weft version and wrangler version", async () => {
    expect(COMPATIBILITY_DATE).toBe(/COMPATIBILITY_DATE = "([^"]+)"/.exec(read("scripts/example-workers.ts"))?.[1]);
    expect(COMPATIBILITY_DATE).toBe(/^compatibility_date = "([^"]+)"/m.exec(read("wrangler.toml"))?.[1]);
    const root = JSON.parse(read("package.json")) as { version: string; devDependencies: Record<string, string> };
    expect(WEFT_VERSION).toBe(root.version);
    expect(WRANGLER_VERSION).toBe(root.devDependencies.wrangler);

    const cli = harness();
    expect(await cli.run("init", "gw")).toBe(0);
    expect(parseWranglerJsonc(cli.files["/work/gw/wrangler.jsonc"] ?? "").compatibility_date).toBe(COMPATIBILITY_DATE);
    expect(JSON.parse(cli.files["/work/gw/package.json"] ?? "")).toEqual({
      name: "gw",
      private: true,
      type: "module",
      scripts: {
        dev: "wrangler dev -c wrangler.jsonc -c wrangler.control.jsonc",
        deploy: "wrangler deploy -c wrangler.control.jsonc && wrangler deploy -c wrangler.jsonc",
        validate: "weft validate -f mesh.yaml",
      },
      dependencies: { "@weft/cli": `^${root.version}`, "@weft/gateway": `^${root.version}`, "@weft/sdk": `^${root.version}` },
      devDependencies: { wrangler: root.devDependencies.wrangler },
    });
  });

  it("writes a random admin token of at least 32 characters to .dev.vars, different each time, and never prints it", async () => {
    const tokens: string[] = [];
    for (const _ of [1, 2]) {
      const cli = harness();
      expect(await cli.run("init", "gw")).toBe(0);
      const vars = cli.files["/work/gw/.dev.vars"] ?? "";
      expect(vars).toMatch(/^WEFT_ENV=dev$/m);
      const token = /^WEFT_ADMIN_TOKEN=(.*)$/m.exec(vars)?.[1] ?? "";
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(cli.stdout() + cli.stderr()).not.toContain(token);
      tokens.push(token);
    }
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  it("writes a mesh.yaml that validates as written, with the editor schema line, and whose commented examples validate once uncommented", async () => {
    const cli = harness();
    expect(await cli.run("init", "gw", "--trust-domain", "acme.example")).toBe(0);
    const text = cli.files["/work/gw/mesh.yaml"] ?? "";
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./node_modules/@weft/sdk/weft.schema.json");
    const parsed = parseConfigText(text, "yaml");
    expect(parsed.ok ? [] : parsed.issues).toEqual([]);
    expect(parsed.raw).toEqual([{ apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "gw" }, spec: { trustDomain: "acme.example", identity: { mode: "STRICT" } } }]);

    // Uncommenting every example (a block "toggle comment" in an editor) gives a valid set.
    const uncommented = text.replace(/^# ?(.*)$/gm, (line, rest: string) => (/^(apiVersion|kind|metadata|spec|---|#|\s)/.test(rest) ? rest : line));
    const all = parseConfigText(uncommented, "yaml");
    expect(all.ok ? [] : all.issues).toEqual([]);
    expect(all.raw?.map((doc) => (doc as { kind: string }).kind)).toEqual(["Mesh", "Service", "Route", "AuthorizationPolicy"]);
    const examples = parseConfigText(EXAMPLE_DOCUMENTS, "yaml");
    expect(examples.ok ? [] : examples.issues).toEqual([]);
    expect(EXAMPLE_DOCUMENTS).toContain("endpoints: [{ binding: USERS, worker: users }]");
  });

  it("defaults the trust domain to <name>.weft", async () => {
    const cli = harness();
    expect(await cli.run("init", "gw", "--name", "shop")).toBe(0);
    const parsed = parseConfigText(cli.files["/work/gw/mesh.yaml"] ?? "", "yaml");
    expect(parsed.raw?.[0]).toMatchObject({ spec: { trustDomain: "shop.weft" } });
  });

  it("writes next steps with the deploy order, and puts them in WEFT.md when the folder has a README", async () => {
    const readme = harness();
    expect(await readme.run("init", "gw")).toBe(0);
    const steps = readme.files["/work/gw/README.md"] ?? "";
    /** Each step's position, searching on from the previous one: -1 once one is missing or out of order. */
    const inOrder = (text: string, wanted: string[]) => {
      let at = 0;
      return wanted.map((step) => (at = at < 0 ? -1 : text.indexOf(step, at)));
    };
    const [local = "", deploying = ""] = steps.split("## Deploying");
    expect(inOrder(local, ["npm install", "npx weft bindings -f mesh.yaml", "npx weft validate -f mesh.yaml", "npm run dev", "npx weft apply -f mesh.yaml", '"binding": "WEFT"', "npx weft credentials create"])).not.toContain(-1);
    // Control Worker, gateway without bindings, functions, gateway with bindings, apply, then a credential per caller.
    expect(inOrder(deploying, ["npx wrangler deploy -c wrangler.control.jsonc", "without function bindings: `npx wrangler deploy`", "wrangler secret put WEFT_ADMIN_TOKEN", "Your functions", "npx weft bindings -f mesh.yaml && npx wrangler deploy", "npx weft apply -f mesh.yaml", "npx wrangler secret put WEFT_CREDENTIAL", "custom domain"])).not.toContain(-1);
    expect(steps).toContain('"service": "gw"');

    const cli = harness({ files: { "/work/gw/README.md": "# my project\n" } });
    expect(await cli.run("init", "gw")).toBe(0);
    expect(cli.files["/work/gw/README.md"]).toBe("# my project\n");
    expect(cli.files["/work/gw/WEFT.md"]).toContain("npx weft bindings -f mesh.yaml");
    expect(cli.stdout()).toContain("See WEFT.md");
  });

  it("refuses to overwrite: names the existing files, writes nothing and exits 1", async () => {
    const before = { "/work/gw/mesh.yaml": "mine\n", "/work/gw/package.json": "{}\n", "/work/gw/.gitignore": "dist/\n" };
    const cli = harness({ files: before });
    expect(await cli.run("init", "gw")).toBe(1);
    expect(cli.files).toEqual(before);
    expect(cli.stderr()).toBe("weft: gw already has package.json, mesh.yaml; nothing was written (weft init never overwrites a file)\n");
    expect(cli.stdout()).toBe("");
  });

  it("appends the lines it needs to an existing .gitignore, once", async () => {
    const cli = harness({ files: { "/work/gw/.gitignore": "dist/\nnode_modules\n" } });
    expect(await cli.run("init", "gw")).toBe(0);
    expect(cli.files["/work/gw/.gitignore"]).toBe("dist/\nnode_modules\n\n# weft gateway (weft init)\n.dev.vars\n.wrangler/\n");
    expect(cli.stdout()).toContain(".gitignore  (added .dev.vars, .wrangler/)");

    expect(mergeGitignore("dist\n.dev.vars\n/node_modules/\n.wrangler/\n")).toBeUndefined();
    expect(mergeGitignore(undefined)).toEqual({ text: ".dev.vars\nnode_modules/\n.wrangler/\n", added: [".dev.vars", "node_modules/", ".wrangler/"] });
    expect(mergeGitignore("dist")?.text).toBe("dist\n\n# weft gateway (weft init)\n.dev.vars\nnode_modules/\n.wrangler/\n");
  });

  it("leaves a .gitignore that already has everything untouched", async () => {
    const gitignore = ".dev.vars\nnode_modules/\n.wrangler/\n";
    const cli = harness({ files: { "/work/gw/.gitignore": gitignore } });
    expect(await cli.run("init", "gw")).toBe(0);
    expect(cli.files["/work/gw/.gitignore"]).toBe(gitignore);
    expect(cli.stdout()).not.toContain(".gitignore");
  });

  it("names the control Worker <gateway>-control, within 63 characters", () => {
    expect(controlWorkerName("acme")).toBe("acme-control");
    expect(controlWorkerName("a".repeat(63))).toBe(`${"a".repeat(55)}-control`);
    expect(controlWorkerName(`${"a".repeat(54)}-bb`)).toBe(`${"a".repeat(54)}-control`);
    expect(controlWorkerName(`${"a".repeat(54)}-bb`)).toHaveLength(62);
  });

  it.each([
    ["My Shop", "my-shop"],
    ["shop_gateway.v2", "shop-gateway-v2"],
    ["---", "weft-gateway"],
    ["ünïcode", "n-code"],
    ["a".repeat(80), "a".repeat(63)],
  ])("names the gateway after the folder %j as %j", (folder, name) => {
    expect(workerNameFrom(folder)).toBe(name);
  });

  it("exits 2 for a --name that is no Worker name, and 1 for a --trust-domain the schema refuses, writing nothing", async () => {
    const badName = harness();
    expect(await badName.run("init", "gw", "--name", "Shop_Gateway")).toBe(2);
    expect(badName.stderr()).toContain("weft: option '--name <name>' argument 'Shop_Gateway' is invalid");
    expect(badName.files).toEqual({});

    const badDomain = harness();
    expect(await badDomain.run("init", "gw", "--trust-domain", "Not A Domain")).toBe(1);
    expect(badDomain.stderr()).toContain("trustDomain");
    expect(badDomain.files).toEqual({});
  });
});
