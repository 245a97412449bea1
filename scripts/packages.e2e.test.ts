/**
 * weft's packages as a user outside this repository gets them: packed into tarballs, checked with
 * publint and attw, installed into a new project in the system's temp folder next to Hono and
 * TypeScript, and used by two Workers of the user's own (a Hono `users` that checks who calls, a
 * plain `billing` that calls users through the mesh). The project type-checks under `--strict`,
 * the `weft` bin runs without tsx, and a Worker that only calls peers bundles no config schema.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "./e2e-support.js";
import { packAll, type PackedPackage } from "./pack.js";
import { readmeWorkers } from "./readme-workers.js";
import { ROOT } from "./example-workers.js";

/** A bundle of a Worker that only calls peers must stay small (gzip). */
const PEER_CALLER_BUDGET_BYTES = 20 * 1024;

const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const versionOf = (name: string) => rootManifest.dependencies[name] ?? rootManifest.devDependencies[name];

// The user's own code, exactly as the README shows it.
const { users: USERS_WORKER, billing: BILLING_WORKER } = readmeWorkers();

describe("weft's packages, installed from tarballs into a project of one's own", () => {
  let work = "";
  let project = "";
  let packed: PackedPackage[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "weft-packages-"));
    packed = await packAll(join(work, "tarballs"));
    project = join(work, "my-mesh");
    mkdirSync(join(project, "users/src"), { recursive: true });
    mkdirSync(join(project, "billing/src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "my-mesh", private: true, type: "module" }, null, 2));
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "bundler", strict: true, noEmit: true, lib: ["ES2023"], types: ["@cloudflare/workers-types"] }, include: ["users/src", "billing/src"] }, null, 2),
    );
    writeFileSync(join(project, "users/src/index.ts"), USERS_WORKER);
    writeFileSync(join(project, "billing/src/index.ts"), BILLING_WORKER);
    const thirdParty = ["hono", "typescript", "@cloudflare/workers-types", "esbuild"].map((name) => `${name}@${versionOf(name)}`);
    runCommand("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => p.tarball), ...thirdParty], project);
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("packs built JavaScript and declarations only: no TypeScript sources, no tests", () => {
    expect(packed.map((p) => p.name)).toEqual(["@weft/sdk", "@weft/gateway", "@weft/cli"]);
    for (const { name, tarball } of packed) {
      const files = runCommand("tar", ["-tzf", tarball], work).trim().split("\n");
      expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts")), name).toEqual([]);
      expect(files.filter((file) => /test/.test(file)), name).toEqual([]);
      expect(files, name).toContain("package/package.json");
    }
  });

  it("passes publint and attw (ESM-only profile) for every package", () => {
    for (const { tarball } of packed) {
      runCommand(process.execPath, [join(ROOT, "node_modules/publint/src/cli.js"), tarball, "--strict"], work);
      runCommand(process.execPath, [join(ROOT, "node_modules/@arethetypeswrong/cli/dist/index.js"), tarball, "--profile", "esm-only"], work);
    }
  });

  it("type-checks two Workers written against the installed packages with tsc --strict", () => {
    runCommand(process.execPath, [join(project, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project);
  });

  it("runs the weft bin without tsx", () => {
    expect(runCommand(join(project, "node_modules/.bin/weft"), ["--help"], project)).toContain("Usage: weft");
    expect(JSON.parse(readFileSync(join(project, "node_modules/@weft/cli/package.json"), "utf8")).dependencies).not.toHaveProperty("tsx");
  });

  it("bundles a peer-calling Worker without the config schema, small; prints the sizes", async () => {
    const sizes: Record<string, { bytes: number; gzip: number }> = {};
    const bundles: Record<string, string> = {};
    for (const [name, entry] of [
      ["billing", join(project, "billing/src/index.ts")],
      ["users", join(project, "users/src/index.ts")],
      ["gateway", join(project, "node_modules/@weft/gateway/dist/index.js")],
    ] as const) {
      const result = await build({ entryPoints: [entry], bundle: true, write: false, minify: true, format: "esm", platform: "browser", conditions: ["workerd", "worker", "browser"], external: ["cloudflare:*"], absWorkingDir: project, logLevel: "silent" });
      const text = result.outputFiles[0]?.text ?? "";
      bundles[name] = text;
      sizes[name] = { bytes: text.length, gzip: gzipSync(text).length };
    }
    console.log(`bundle sizes (minified / gzip): ${Object.entries(sizes).map(([name, size]) => `${name} ${(size.bytes / 1024).toFixed(1)} KiB / ${(size.gzip / 1024).toFixed(1)} KiB`).join(", ")}`);
    const billing = bundles.billing ?? "";
    expect(billing).not.toMatch(/ZodError|\$ZodType|zod/);
    expect(billing).not.toMatch(/YAMLParseError|yaml/i);
    expect(sizes.billing?.gzip).toBeLessThan(PEER_CALLER_BUDGET_BYTES);
    // The gateway package runs with no dependencies of its own: everything it needs is in its bundles.
    expect(JSON.parse(readFileSync(join(project, "node_modules/@weft/gateway/package.json"), "utf8")).dependencies).toBeUndefined();
  });

  it("ships the gateway without the config schema or a YAML parser, and the control Worker with its three Durable Object classes", async () => {
    const gateway = readFileSync(join(project, "node_modules/@weft/gateway/dist/index.js"), "utf8");
    expect(gateway).not.toMatch(/ZodError|\$ZodType/);
    expect(gateway).not.toMatch(/YAMLParseError/);
    const control = readFileSync(join(project, "node_modules/@weft/gateway/dist/control.js"), "utf8");
    expect(control).toMatch(/YAMLParseError/);
    const exported = await build({ stdin: { contents: 'export * from "@weft/gateway/control"; export { default } from "@weft/gateway/control";', resolveDir: project }, bundle: true, write: false, metafile: true, format: "esm", platform: "browser", conditions: ["workerd", "worker", "browser"], external: ["cloudflare:*"], absWorkingDir: project, logLevel: "silent" });
    const names = Object.values(exported.metafile.outputs)[0]?.exports ?? [];
    expect([...names].sort()).toEqual(["ControlPlane", "RateLimiter", "TelemetryShard", "default"]);
  });
});
