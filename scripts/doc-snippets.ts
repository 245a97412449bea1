/**
 * The TypeScript examples in weft's Markdown docs, pulled out so a test can compile each one
 * against the packed packages (scripts/docs-snippets.e2e.test.ts): an example that stops matching
 * the API fails `npm test` instead of misleading a reader.
 *
 * Pure: Markdown text in, snippets out; the test does the files and the compiler.
 */

/** One fenced TypeScript block of a doc. */
export interface DocSnippet {
  /** The doc it comes from, as given (a repository-relative path such as `README.md`). */
  readonly file: string;
  /** 1-based line in the doc of the block's first code line (the line after the opening fence). */
  readonly line: number;
  /** The block's text, without the fences and without the fence's own indentation. */
  readonly code: string;
  /** Marked as a fragment (```ts snippet-fragment): shown for explanation, not compiled. */
  readonly skipped: boolean;
}

/** Info-string languages that mark a block as TypeScript (compared case-insensitively). */
export const TYPESCRIPT_LANGUAGES: readonly string[] = ["ts", "typescript"];

/** The word after the language that exempts a block from compiling: ```ts snippet-fragment */
export const FRAGMENT_MARKER = "snippet-fragment";

/**
 * An opening or closing fence: 3+ backticks or tildes. Any indentation, not CommonMark's 0–3
 * spaces, because a fence inside a list item is indented by the item (and the docs use no
 * indented code blocks that could be mistaken for one).
 */
const FENCE = /^( *)(`{3,}|~{3,})(.*)$/;

interface OpenFence {
  readonly indent: number;
  readonly marker: string;
  readonly info: string;
  /** 0-based index of the fence line. */
  readonly at: number;
}

/** CommonMark: a closing fence uses the opening's character, at least as many, and nothing after. */
function closes(open: OpenFence, line: string): boolean {
  const found = FENCE.exec(line);
  if (!found) return false;
  const [, , marker = "", rest = ""] = found;
  return marker[0] === open.marker[0] && marker.length >= open.marker.length && rest.trim() === "";
}

/** Removes up to `indent` leading spaces, as CommonMark does inside a fence indented that much. */
function dedent(line: string, indent: number): string {
  let cut = 0;
  while (cut < indent && line[cut] === " ") cut += 1;
  return line.slice(cut);
}

/**
 * Every ```ts / ```typescript block of a Markdown document, in order. Blocks in other languages
 * (and TypeScript inside them, e.g. a ```md example) are not returned. An unclosed fence throws:
 * it would silently swallow the rest of the doc, examples included.
 */
export function extractSnippets(markdown: string, file: string): DocSnippet[] {
  const lines = markdown.split(/\r?\n/);
  const snippets: DocSnippet[] = [];
  let open: OpenFence | undefined;
  for (const [index, line] of lines.entries()) {
    if (open === undefined) {
      const found = FENCE.exec(line);
      if (!found) continue;
      const [, indent = "", marker = "", info = ""] = found;
      // A backtick fence's info string may not contain backticks (that is inline code instead).
      if (marker.startsWith("`") && info.includes("`")) continue;
      open = { indent: indent.length, marker, info: info.trim(), at: index };
      continue;
    }
    if (!closes(open, line)) continue;
    const [language = "", ...words] = open.info.split(/\s+/);
    if (TYPESCRIPT_LANGUAGES.includes(language.toLowerCase())) {
      const indent = open.indent;
      snippets.push({
        file,
        line: open.at + 2,
        code: lines.slice(open.at + 1, index).map((body) => dedent(body, indent)).join("\n"),
        skipped: words.includes(FRAGMENT_MARKER),
      });
    }
    open = undefined;
  }
  if (open !== undefined) throw new Error(`${file}:${open.at + 1}: a code fence (${open.marker}${open.info}) is never closed`);
  return snippets;
}

/**
 * Where a snippet is written in the checking project: `snippets/<doc path, / as ->-<line>.ts`, so
 * a compiler message already names the doc and the line (`snippets/examples-README-23.ts`).
 */
export function snippetModulePath(snippet: Pick<DocSnippet, "file" | "line">): string {
  const doc = snippet.file.replace(/\.md$/i, "").replace(/[^A-Za-z0-9_.-]+/g, "-");
  return `snippets/${doc}-${snippet.line}.ts`;
}

/** A `tsc --pretty false` diagnostic line: `path(line,column): error TS1234: message`. */
const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): (error|warning|message) (TS\d+): (.*)$/;

/**
 * Rewrites tsc's output so each diagnostic in a snippet names the doc and its line
 * (`README.md:260:15 error TS2304: Cannot find name 'Env'.`), with the message's continuation lines
 * kept under it. Diagnostics elsewhere (a library, the config) are kept as tsc printed them.
 */
export function mapDiagnostics(output: string, snippets: readonly DocSnippet[]): string[] {
  const byPath = new Map(snippets.map((snippet) => [snippetModulePath(snippet), snippet]));
  const mapped: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const found = DIAGNOSTIC.exec(line);
    if (!found) {
      // tsc indents a long message's further lines; they belong to the diagnostic above.
      const last = mapped.length - 1;
      if (/^\s/.test(line) && last >= 0) mapped[last] += `\n${line}`;
      else mapped.push(line);
      continue;
    }
    const [, path = "", row = "", column = "", severity = "", code = "", message = ""] = found;
    const snippet = byPath.get(path.replace(/\\/g, "/"));
    if (snippet === undefined) {
      mapped.push(line);
      continue;
    }
    mapped.push(`${snippet.file}:${snippet.line + Number(row) - 1}:${column} ${severity} ${code}: ${message}`);
  }
  return mapped;
}
