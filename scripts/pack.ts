/**
 * Builds weft's three installable packages and packs each as an npm tarball:
 * - `@weft/sdk`: the SDK compiled by tsc (ESM + .d.ts, no sources, no tests);
 * - `@weft/gateway`: the gateway Worker (`dist/index.js`) and the control Worker with the mesh's
 *   Durable Object classes (`dist/control.js`), each bundled and minified by esbuild;
 * - `@weft/cli`: the `weft` command, bundled by esbuild for Node (no tsx at run time).
 * Each is staged in `<out>/<package>/` with its own package.json, then `npm pack`ed into `<out>`.
 * The repository itself keeps resolving `@weft/sdk` to its TypeScript sources; only the staged
 * copies point at built files.
 *
 * Usage: `npm run pack [-- --out <dir>]` (default `.pack`).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { CONTROL_ENTRY, WORKER_BUILD_OPTIONS } from "./example-workers.js";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; license: string; dependencies: Record<string, string> };
export const VERSION = rootManifest.version;

/** The exact versions this repository is tested with, for the packages' dependency ranges. */
function pinned(name: string): string {
  const version = rootManifest.dependencies[name];
  if (version === undefined) throw new Error(`${name} is not a dependency of the repository`);
  return version;
}

export interface PackedPackage {
  readonly name: "@weft/sdk" | "@weft/gateway" | "@weft/cli";
  /** The staged package folder (what the tarball holds). */
  readonly dir: string;
  /** Absolute path of the `.tgz`. */
  readonly tarball: string;
}

const COMMON = {
  version: VERSION,
  license: rootManifest.license,
  type: "module",
  engines: { node: ">=20.19.0" },
} as const;

function writeManifest(dir: string, manifest: Record<string, unknown>): void {
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(ROOT, "LICENSE"), join(dir, "LICENSE"));
}

function entry(path: string) {
  return { types: `./dist/${path}.d.ts`, default: `./dist/${path}.js` };
}

async function stageSdk(dir: string): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "sdk/tsconfig.build.json"), "--outDir", join(dir, "dist")], { stdio: "inherit" });
  writeManifest(dir, {
    name: "@weft/sdk",
    ...COMMON,
    description: "What weft functions import: peer calls through the mesh, inbound identity checks, typed mesh errors; the config schema behind @weft/sdk/config.",
    sideEffects: false,
    exports: { ".": entry("index"), "./errors": entry("errors"), "./hono": entry("hono"), "./config": entry("config/index"), "./weft.schema.json": "./weft.schema.json", "./package.json": "./package.json" },
    main: "./dist/index.js",
    types: "./dist/index.d.ts",
    files: ["dist", "weft.schema.json"],
    // Only @weft/sdk/hono needs Hono (its types); everything else works without it.
    peerDependencies: { hono: "^4.0.0" },
    peerDependenciesMeta: { hono: { optional: true } },
    // jose verifies inbound tokens; zod, yaml and re2js serve only @weft/sdk/config, so a
    // function that imports just "@weft/sdk" bundles none of them.
    dependencies: { jose: pinned("jose"), zod: pinned("zod"), yaml: pinned("yaml"), re2js: pinned("re2js") },
  });
  writeFileSync(join(dir, "README.md"), readFileSync(join(ROOT, "sdk/README.md"), "utf8"));
  // The JSON Schema for editors: a mesh.yaml's `$schema` line points at node_modules/@weft/sdk/weft.schema.json.
  copyFileSync(join(ROOT, "schema/weft.schema.json"), join(dir, "weft.schema.json"));
}

async function stageGateway(dir: string): Promise<void> {
  // Minified: every cold gateway isolate loads the whole script before it answers.
  const worker = { ...WORKER_BUILD_OPTIONS, minify: true, legalComments: "none" } as const;
  await build({ ...worker, entryPoints: [join(ROOT, "gateway-worker/src/index.ts")], outfile: join(dir, "dist/index.js") });
  await build({ ...worker, entryPoints: [join(ROOT, CONTROL_ENTRY)], outfile: join(dir, "dist/control.js") });
  copyFileSync(join(ROOT, "gateway-worker/package/index.d.ts"), join(dir, "dist/index.d.ts"));
  copyFileSync(join(ROOT, "gateway-worker/package/control.d.ts"), join(dir, "dist/control.d.ts"));
  writeManifest(dir, {
    name: "@weft/gateway",
    ...COMMON,
    description: "The weft gateway Worker and its control Worker (the mesh's Durable Objects: control plane, rate limiter, telemetry): point two wrangler configs at them and deploy.",
    sideEffects: true,
    exports: { ".": entry("index"), "./control": entry("control"), "./package.json": "./package.json" },
    main: "./dist/index.js",
    types: "./dist/index.d.ts",
    files: ["dist"],
  });
  writeFileSync(join(dir, "README.md"), readFileSync(join(ROOT, "gateway-worker/package/README.md"), "utf8"));
}

async function stageCli(dir: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, "cli/main.ts")],
    outfile: join(dir, "dist/weft.js"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
    // Dependencies stay packages of their own (installed beside the CLI), so one config validator
    // is shared with @weft/sdk/config.
    packages: "external",
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
  });
  writeManifest(dir, {
    name: "@weft/cli",
    ...COMMON,
    description: "The weft command: validate, apply, diff, explain and watch a weft mesh.",
    bin: { weft: "./dist/weft.js" },
    files: ["dist"],
    dependencies: { "@weft/sdk": VERSION, commander: pinned("commander"), "jsonc-parser": pinned("jsonc-parser"), "smol-toml": pinned("smol-toml") },
  });
  writeFileSync(join(dir, "README.md"), readFileSync(join(ROOT, "cli/README.md"), "utf8"));
}

/** Builds and packs all three packages into `outDir` (emptied first); returns where each went. */
export async function packAll(outDir: string): Promise<PackedPackage[]> {
  const out = resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  const stages: [PackedPackage["name"], string, (dir: string) => Promise<void>][] = [
    ["@weft/sdk", "sdk", stageSdk],
    ["@weft/gateway", "gateway", stageGateway],
    ["@weft/cli", "cli", stageCli],
  ];
  const packed: PackedPackage[] = [];
  for (const [name, folder, stage] of stages) {
    const dir = join(out, folder);
    mkdirSync(dir, { recursive: true });
    await stage(dir);
    const file = execFileSync("npm", ["pack", "--silent", "--pack-destination", out], { cwd: dir, encoding: "utf8" }).trim().split("\n").at(-1) ?? "";
    packed.push({ name, dir, tarball: join(out, file) });
  }
  return packed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--out");
  const outDir = at === -1 ? join(ROOT, ".pack") : (process.argv[at + 1] ?? ".pack");
  for (const { name, tarball } of await packAll(outDir)) console.log(`${name}: ${tarball}`);
}
