/**
 * The repository documents itself: comments and Markdown cite weft's own docs/ pages, never the
 * team's external design page, and every docs/ path they cite exists (for an `#anchor` into
 * docs/architecture.md, so does the heading).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const SKIPPED_DIRS = new Set(["node_modules", ".wrangler", ".pack", ".git"]);
/** Spelled in pieces so this file does not cite the page itself. */
const EXTERNAL_PAGE = ["DESIGN", ".md"].join("");
const EXTERNAL_SECTION = ["DESIGN", " §"].join("");
/** Other projects whose own docs/ folders comments cite by name ("opentelemetry-proto docs/…"). */
const OTHER_PROJECTS = ["opentelemetry-proto"];

function sourceFiles(dir: string = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(join(dir, entry.name));
    return /\.(ts|tsx|md)$/.test(entry.name) ? [join(dir, entry.name)] : [];
  });
}

/** The text of a file's comments (TypeScript) or the whole file (Markdown). */
function citingText(file: string, text: string): string {
  if (file.endsWith(".md")) return text;
  return [...text.matchAll(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g)].map((match) => match[0]).join("\n");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(markdownFile: string): Set<string> {
  const text = readFileSync(markdownFile, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((match) => headingAnchor(match[1] as string)));
}

interface Citation {
  readonly from: string;
  readonly target: string;
  readonly anchor: string | undefined;
}

/**
 * docs/ paths cited in comments and Markdown. A Markdown link `](…)` resolves against the file's own
 * folder, as renderers do; a path written in prose or a comment names a path from the repository root.
 * Paths inside URLs (`https://…/docs/…`) and after another project's name are not weft's.
 */
export function docsCitations(file: string, text: string): Citation[] {
  const citations: Citation[] = [];
  const from = relative(ROOT, file);
  for (const match of text.matchAll(/\]\(((?:\.{1,2}\/)*(?:[\w-]+\/)*[\w.-]+\.md)(?:#([\w-]+))?\)/g)) {
    const target = resolve(dirname(file), match[1] as string);
    if (relative(ROOT, target).startsWith("docs/") || relative(ROOT, dirname(file)) === "docs") citations.push({ from, target, anchor: match[2] });
  }
  for (const match of text.matchAll(/(?<![\w./:-])((?:\.{1,2}\/)*)(docs\/[\w./-]*?)\.?(?:#([\w-]+))?(?=[^\w./#-]|$)/g)) {
    const [whole, up, path, anchor] = match as unknown as [string, string, string, string | undefined];
    if (text[(match.index ?? 0) - 2] === "]" && text[(match.index ?? 0) - 1] === "(") continue; // a Markdown link: handled above
    if (whole.length === 0) continue;
    const before = text.slice(Math.max(0, (match.index ?? 0) - 40), match.index);
    if (OTHER_PROJECTS.some((project) => before.endsWith(`${project} `))) continue;
    const target = up ? resolve(dirname(file), up + path) : resolve(ROOT, path);
    citations.push({ from, target, anchor });
  }
  return citations;
}

const files = sourceFiles();

describe("the repository documents itself", () => {
  it("finds the sources and the docs it checks", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(existsSync(join(ROOT, "docs/architecture.md"))).toBe(true);
  });

  it("no comment or Markdown file cites the external design page", () => {
    const offenders = files.flatMap((file) => {
      const text = readFileSync(file, "utf8");
      return text
        .split("\n")
        .map((line, index) => ({ line, index }))
        .filter(({ line }) => line.includes(EXTERNAL_PAGE) || line.includes(EXTERNAL_SECTION))
        .map(({ index }) => `${relative(ROOT, file)}:${index + 1}`);
    });
    expect(offenders).toEqual([]);
  });

  it("every docs/ path cited in comments and Markdown exists, and so does every anchor into docs/architecture.md", () => {
    const architecture = join(ROOT, "docs/architecture.md");
    const anchors = anchorsOf(architecture);
    const broken = files.flatMap((file) =>
      docsCitations(file, citingText(file, readFileSync(file, "utf8"))).flatMap((citation) => {
        const where = `${citation.from} → ${relative(ROOT, citation.target)}${citation.anchor ? `#${citation.anchor}` : ""}`;
        if (!existsSync(citation.target)) return [`${where}: no such file`];
        if (citation.anchor && citation.target === architecture && !anchors.has(citation.anchor)) return [`${where}: no such heading`];
        if (citation.anchor && statSync(citation.target).isFile() && citation.target.endsWith(".md") && !anchorsOf(citation.target).has(citation.anchor)) {
          return [`${where}: no such heading`];
        }
        return [];
      }),
    );
    expect(broken).toEqual([]);
  });

  it("reads citations the way a reader follows them", () => {
    const readme = join(ROOT, "README.md");
    const nested = join(ROOT, "examples/README.md");
    expect(docsCitations(readme, "see [the page](docs/architecture.md#hot-path-rule).").map((c) => [relative(ROOT, c.target), c.anchor])).toEqual([["docs/architecture.md", "hot-path-rule"]]);
    expect(docsCitations(nested, "[x](../docs/scale-model.md)").map((c) => relative(ROOT, c.target))).toEqual(["docs/scale-model.md"]);
    expect(docsCitations(readme, "(docs/scale-model.md; a comment)").map((c) => relative(ROOT, c.target))).toEqual(["docs/scale-model.md"]);
    expect(docsCitations(readme, "https://prometheus.io/docs/instrumenting/").length).toBe(0);
    expect(docsCitations(readme, "(opentelemetry-proto docs/specification.md)").length).toBe(0);
    expect(headingAnchor("The request context (MeshRequest)")).toBe("the-request-context-meshrequest");
  });
});
