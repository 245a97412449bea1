/**
 * Docs as code: every TypeScript example in README.md, docs/*.md and examples/README.md compiles,
 * as written, against weft's packages as a user installs them (tarballs from `packAll`, in a
 * project outside the repository, next to Hono, itty-router and the Workers types), under
 * `tsc --strict`. Each example is its own module, so none leans on another's declarations, and a
 * failure names the doc and its line.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractSnippets, mapDiagnostics, snippetModulePath, type DocSnippet } from "./doc-snippets.js";
import { ROOT } from "./example-workers.js";
import { packAll } from "./pack.js";

const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const versionOf = (name: string) => rootManifest.dependencies[name] ?? rootManifest.devDependencies[name];

/** The docs whose TypeScript blocks are checked (repository-relative). */
const DOCS = [
  "README.md",
  "examples/README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/**
 * A deliberately cruder count of TypeScript fences than the extractor's, so an extractor that
 * stops recognising blocks fails the count check instead of passing by checking nothing.
 */
function countTypeScriptFences(markdown: string): number {
  return markdown.split("\n").filter((line) => /^\s*(```|~~~)\s*(ts|typescript)(\s|$)/i.test(line)).length;
}

/** Runs a command; the exit status and both streams, without throwing on failure. */
function run(command: string, args: string[], cwd: string): { status: number; output: string } {
  try {
    const stdout = execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_update_notifier: "false" } });
    return { status: 0, output: stdout };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; status?: number | null };
    return { status: failed.status ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe("the TypeScript examples in weft's docs", () => {
  const snippetsByDoc = new Map<string, DocSnippet[]>(DOCS.map((doc) => [doc, extractSnippets(readFileSync(join(ROOT, doc), "utf8"), doc)]));
  const checked = [...snippetsByDoc.values()].flat().filter((snippet) => !snippet.skipped);
  let work = "";
  let project = "";

  beforeAll(async () => {
    // Real path: tsc --listFiles prints resolved paths, compared with this one below.
    work = realpathSync(mkdtempSync(join(tmpdir(), "weft-docs-")));
    const packed = await packAll(join(work, "tarballs"));
    project = join(work, "docs-project");
    mkdirSync(join(project, "snippets"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "weft-docs-snippets", private: true, type: "module" }, null, 2));
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "ESNext",
            moduleResolution: "bundler",
            lib: ["ES2023"],
            types: ["@cloudflare/workers-types"],
            strict: true,
            noEmit: true,
            // Every snippet is a module even without import/export: examples cannot share globals.
            moduleDetection: "force",
            // Workers are bundled file by file (esbuild), so examples must compile that way too.
            isolatedModules: true,
            // itty-router 5's own declarations import a module named "types" that it does not ship;
            // Cloudflare's templates skip library checks too. weft's declarations are checked
            // without this in packages.e2e.test.ts; the snippets themselves are checked in full.
            skipLibCheck: true,
          },
          include: ["snippets"],
        },
        null,
        2,
      ),
    );
    for (const snippet of checked) writeFileSync(join(project, snippetModulePath(snippet)), `${snippet.code}\n`);
    const thirdParty = ["hono", "itty-router", "typescript", "@cloudflare/workers-types"].map((name) => `${name}@${versionOf(name)}`);
    const install = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => p.tarball), ...thirdParty], project);
    if (install.status !== 0) throw new Error(`npm install exited ${install.status}:\n${install.output}`);
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("finds every TypeScript block of every doc, and some in README.md", () => {
    const counts = Object.fromEntries(
      DOCS.map((doc) => {
        const snippets = snippetsByDoc.get(doc) ?? [];
        return [doc, { fences: countTypeScriptFences(readFileSync(join(ROOT, doc), "utf8")), checked: snippets.filter((s) => !s.skipped).length, skipped: snippets.filter((s) => s.skipped).length }];
      }),
    );
    console.log(`doc snippets: ${Object.entries(counts).map(([doc, c]) => `${doc} ${c.checked} checked, ${c.skipped} skipped`).join("; ")}`);
    for (const [doc, count] of Object.entries(counts)) {
      expect(count.checked + count.skipped, doc).toBe(count.fences);
      if (count.fences > 0) expect(count.checked + count.skipped, doc).toBeGreaterThan(0);
    }
    expect(counts["README.md"]?.checked).toBeGreaterThan(0);
    // Fragments are for the odd signature shown in passing; the examples themselves compile.
    expect(checked.length).toBeGreaterThan([...snippetsByDoc.values()].flat().length / 2);
  });

  it("type-checks each as its own module with tsc --strict against the installed packages", () => {
    const tsc = run(process.execPath, [join(project, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--strict", "--noEmit", "--pretty", "false", "--listFiles"], project);
    const diagnostics = mapDiagnostics(tsc.output.split("\n").filter((line) => !line.startsWith(project)).join("\n"), checked);
    expect(diagnostics, `tsc exited ${tsc.status}; the docs' examples that do not compile:\n${diagnostics.join("\n")}\n`).toEqual([]);
    expect(tsc.status).toBe(0);
    // The compiler saw every snippet (a tsconfig that includes nothing would pass too).
    const compiled = new Set(tsc.output.split("\n").filter((line) => line.startsWith(project)).map((line) => line.slice(project.length + 1).replace(/\\/g, "/")));
    for (const snippet of checked) expect(compiled, `${snippet.file}:${snippet.line}`).toContain(snippetModulePath(snippet));
  });
});
