/**
 * `weft init` as a user meets it: the command writes a gateway project into a folder outside the
 * repository, weft's packed tarballs (and the wrangler the project pins) install into it, and
 * then the project deploys (`wrangler deploy --dry-run` of the control Worker with its three
 * Durable Objects, then of the gateway binding them, within the gateway's size budget) and runs
 * (its `npm run dev`: both Workers in one `wrangler dev`, with the config applied using the admin
 * token from the project's own .dev.vars). The packed `weft` bin scaffolds the same project as
 * the repo's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./example-workers.js";
import { E2E_ENV, freePort, runCommand } from "./e2e-support.js";
import { packAll, type PackedPackage } from "./pack.js";

const ENV = { ...E2E_ENV, CI: "true" };

function run(command: string, args: string[], cwd: string): string {
  return runCommand(command, args, cwd, { env: ENV });
}

describe("weft init: a gateway project of one's own that deploys and runs", () => {
  let work = "";
  let project = "";
  let packed: PackedPackage[] = [];
  let initOutput = "";
  let initManifest = "";
  let dev: ChildProcess | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "weft-init-"));
    packed = await packAll(join(work, "tarballs"));
    // The repository's own `weft` bin: the project folder must exist before the packed CLI can be installed in it.
    initOutput = run(process.execPath, [join(ROOT, "cli/weft.mjs"), "init", "acme-gateway"], work);
    project = join(work, "acme-gateway");
    initManifest = readFileSync(join(project, "package.json"), "utf8");
    // The tarballs stand in for the registry's @weft packages; wrangler comes as the project pins it.
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => p.tarball)], project);
  }, 300_000);

  afterAll(() => {
    if (dev?.pid !== undefined && dev.exitCode === null) process.kill(-dev.pid, "SIGKILL");
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("writes the project and says what to run next, without printing the admin token", () => {
    for (const file of ["package.json", "wrangler.jsonc", "wrangler.control.jsonc", ".dev.vars", ".gitignore", "mesh.yaml", "README.md"]) expect(existsSync(join(project, file)), file).toBe(true);
    const token = /^WEFT_ADMIN_TOKEN=(.+)$/m.exec(readFileSync(join(project, ".dev.vars"), "utf8"))?.[1] ?? "";
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(initOutput).not.toContain(token);
    expect(initOutput).toContain("cd acme-gateway");
  });

  it("installs the wrangler it pins, and @weft/sdk's JSON schema where mesh.yaml's $schema line points", () => {
    expect(JSON.parse(readFileSync(join(project, "node_modules/wrangler/package.json"), "utf8")).version).toBe("4.86.0");
    const schemaLine = readFileSync(join(project, "mesh.yaml"), "utf8").split("\n")[0] ?? "";
    const schemaPath = /\$schema=(\S+)/.exec(schemaLine)?.[1] ?? "";
    expect(JSON.parse(readFileSync(join(project, schemaPath), "utf8")).title).toBe("weft configuration document");
  });

  it("deploys: wrangler deploy --dry-run bundles the control Worker, then the gateway bound to its three Durable Objects, small", () => {
    const wrangler = join(project, "node_modules/wrangler/bin/wrangler.js");
    const control = run(process.execPath, [wrangler, "deploy", "--dry-run", "-c", "wrangler.control.jsonc", "--outdir", join(work, "dry-run-control")], project);
    expect(control).toContain("--dry-run: exiting now.");
    const output = run(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", join(work, "dry-run")], project);
    expect(output).toContain("--dry-run: exiting now.");
    expect(output).toMatch(/env\.CONTROL \(ControlPlane, defined in acme-gateway-control\)\s+Durable Object/);
    expect(output).toMatch(/env\.RATE_LIMITER \(RateLimiter, defined in acme-gateway-control\)\s+Durable Object/);
    expect(output).toMatch(/env\.TELEMETRY \(TelemetryShard, defined in acme-gateway-control\)\s+Durable Object/);
    // The user's gateway, bundled from the package by their own wrangler, is as small as weft's own.
    const gzipKib = Number(/Total Upload: [\d.]+ KiB \/ gzip: ([\d.]+) KiB/.exec(output)?.[1]);
    console.log(`weft init project's gateway upload: ${/Total Upload: .*/.exec(output)?.[0] ?? "?"}`);
    expect(gzipKib).toBeGreaterThan(0);
    expect(gzipKib).toBeLessThanOrEqual(120);
  });

  it("runs: its npm run dev serves the gateway with its control Worker, and the packed weft applies mesh.yaml with the token from .dev.vars (not the repo's dev token)", { timeout: 120_000 }, async () => {
    const port = await freePort();
    // The project's own dev script (`wrangler dev -c wrangler.jsonc -c wrangler.control.jsonc`), run by the wrangler it pins.
    const script = (JSON.parse(initManifest) as { scripts: { dev: string } }).scripts.dev.split(" ");
    expect(script.slice(0, 2)).toEqual(["wrangler", "dev"]);
    expect(script).toContain("wrangler.control.jsonc");
    dev = spawn(process.execPath, [join(project, "node_modules/wrangler/bin/wrangler.js"), ...script.slice(1), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0"], {
      cwd: project,
      env: ENV,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    dev.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    dev.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    const url = `http://127.0.0.1:${port}`;
    let healthy = false;
    for (let i = 0; i < 120 && !healthy; i++) {
      healthy = await fetch(`${url}/.weft/healthz`).then(
        (response) => response.ok,
        () => false,
      );
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(healthy, log.slice(-3000)).toBe(true);

    const token = /^WEFT_ADMIN_TOKEN=(.+)$/m.exec(readFileSync(join(project, ".dev.vars"), "utf8"))?.[1] ?? "";
    const weft = join(project, "node_modules/.bin/weft");
    expect(() => run(weft, ["--url", url, "--token", "dev-admin-token", "get", "mesh"], project)).toThrow(/exited 1/);
    const applied = run(weft, ["--url", url, "--token", token, "apply", "-f", "mesh.yaml"], project);
    expect(applied).toContain("applied version 1");
    expect(run(weft, ["--url", url, "--token", token, "get", "mesh"], project)).toMatch(/acme-gateway\s+trustDomain acme-gateway\.weft; identity STRICT/);

    const exited = new Promise<void>((resolve) => dev?.once("exit", () => resolve()));
    if (dev.pid !== undefined) process.kill(-dev.pid, "SIGTERM");
    await exited;
  });

  it("the packed weft bin scaffolds the same project (its init is in the bundle)", () => {
    run(join(project, "node_modules/.bin/weft"), ["init", "again", "--name", "acme-gateway"], work);
    for (const file of ["wrangler.jsonc", "wrangler.control.jsonc", "mesh.yaml", "README.md", ".gitignore"]) {
      expect(readFileSync(join(work, "again", file), "utf8"), file).toBe(readFileSync(join(project, file), "utf8"));
    }
    // npm install rewrote the first project's dependencies to the tarballs: compare with what init wrote.
    expect(readFileSync(join(work, "again", "package.json"), "utf8")).toBe(initManifest);
  });
});
