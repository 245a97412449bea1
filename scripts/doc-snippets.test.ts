import { describe, expect, it } from "vitest";
import { extractSnippets, mapDiagnostics, snippetModulePath, type DocSnippet } from "./doc-snippets.js";

const doc = (...lines: string[]) => lines.join("\n");

describe("extractSnippets", () => {
  it("returns ts and typescript blocks with the doc line of their first code line", () => {
    const markdown = doc(
      "# Title", // 1
      "", // 2
      "```ts", // 3
      'import { meshClient } from "@weft/sdk";', // 4
      "export const x = 1;", // 5
      "```", // 6
      "text", // 7
      "```typescript", // 8
      "export const y = 2;", // 9
      "```", // 10
    );
    expect(extractSnippets(markdown, "README.md")).toEqual([
      { file: "README.md", line: 4, code: 'import { meshClient } from "@weft/sdk";\nexport const x = 1;', skipped: false },
      { file: "README.md", line: 9, code: "export const y = 2;", skipped: false },
    ]);
  });

  it("ignores other languages, unlabelled fences and TypeScript shown inside them", () => {
    const markdown = doc("```sh", "npm test", "```", "```", "plain", "```", "````md", "```ts", "const inner = 1;", "```", "````", "```yaml", "kind: Mesh", "```", "```tsx", "<p/>", "```");
    expect(extractSnippets(markdown, "docs/x.md")).toEqual([]);
  });

  it("reads the language case-insensitively and ignores words after it", () => {
    const snippets = extractSnippets(doc("```TS title=worker.ts", "export {};", "```", "~~~TypeScript", "export {};", "~~~"), "a.md");
    expect(snippets.map((s) => [s.line, s.skipped])).toEqual([
      [2, false],
      [5, false],
    ]);
  });

  it("marks blocks fenced as ```ts snippet-fragment as skipped, still returning them to be counted", () => {
    const snippets = extractSnippets(doc("```ts snippet-fragment", "meshClient(binding, options): MeshClient", "```", "```ts", "export {};", "```"), "README.md");
    expect(snippets).toEqual([
      { file: "README.md", line: 2, code: "meshClient(binding, options): MeshClient", skipped: true },
      { file: "README.md", line: 5, code: "export {};", skipped: false },
    ]);
  });

  it("closes a fence only with the same character, at least as long, and nothing after it", () => {
    const markdown = doc(
      "````ts", // 1
      "const a = `x`;", // 2
      "```", // 3: too short, still code
      "~~~~", // 4: other character, still code
      "```` trailing", // 5: text after, still code
      "````", // 6: closes
    );
    const [snippet] = extractSnippets(markdown, "a.md");
    expect(snippet?.code).toBe(doc("const a = `x`;", "```", "~~~~", "```` trailing"));
  });

  it("removes a list item's fence indentation from the code, keeping the code's own", () => {
    const markdown = doc("1. Step:", "   ```ts", "   export function f() {", "     return 1;", "   }", "   ```");
    expect(extractSnippets(markdown, "a.md")).toEqual([{ file: "a.md", line: 3, code: "export function f() {\n  return 1;\n}", skipped: false }]);
  });

  it("counts lines across CRLF line endings and keeps empty blocks", () => {
    expect(extractSnippets("x\r\n```ts\r\n```\r\n", "a.md")).toEqual([{ file: "a.md", line: 3, code: "", skipped: false }]);
  });

  it("does not take inline code with backticks in the info string for a fence", () => {
    expect(extractSnippets(doc("```ts`` not a fence", "```ts", "export {};", "```"), "a.md").map((s) => s.line)).toEqual([3]);
  });

  it("refuses an unclosed fence, naming the doc and the line", () => {
    expect(() => extractSnippets(doc("ok", "```ts", "export {};"), "docs/x.md")).toThrow("docs/x.md:2: a code fence (```ts) is never closed");
  });
});

describe("snippetModulePath", () => {
  it("names the module after the doc and the snippet's line", () => {
    expect(snippetModulePath({ file: "README.md", line: 258 })).toBe("snippets/README-258.ts");
    expect(snippetModulePath({ file: "examples/README.md", line: 23 })).toBe("snippets/examples-README-23.ts");
    expect(snippetModulePath({ file: "docs/rate-limits.md", line: 9 })).toBe("snippets/docs-rate-limits-9.ts");
  });
});

describe("mapDiagnostics", () => {
  const snippets: DocSnippet[] = [
    { file: "README.md", line: 258, code: "", skipped: false },
    { file: "examples/README.md", line: 23, code: "", skipped: false },
  ];

  it("points each diagnostic in a snippet at the doc's line and column", () => {
    const output = doc(
      "snippets/README-258.ts(3,23): error TS2304: Cannot find name 'Env'.",
      "snippets/examples-README-23.ts(1,1): error TS2552: Cannot find name 'env'.",
    );
    expect(mapDiagnostics(output, snippets)).toEqual(["README.md:260:23 error TS2304: Cannot find name 'Env'.", "examples/README.md:23:1 error TS2552: Cannot find name 'env'."]);
  });

  it("keeps a message's continuation lines under it and other files' diagnostics as printed", () => {
    const output = doc(
      "snippets/README-258.ts(2,5): error TS2322: Type 'string' is not assignable to type 'number'.",
      "  Details follow.",
      "node_modules/x/index.d.ts(1,1): error TS1005: ';' expected.",
      "",
    );
    expect(mapDiagnostics(output, snippets)).toEqual([
      "README.md:259:5 error TS2322: Type 'string' is not assignable to type 'number'.\n  Details follow.",
      "node_modules/x/index.d.ts(1,1): error TS1005: ';' expected.",
    ]);
  });
});
