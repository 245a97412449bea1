/**
 * The two Workers the README shows (a Hono `users` that checks who calls, a plain `billing` that
 * calls users through the mesh), taken from the README itself, so the tests that adopt weft as a
 * user would run exactly the code a user copies.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { extractSnippets } from "./doc-snippets.js";
import { ROOT } from "./example-workers.js";

export function readmeWorkers(): { users: string; billing: string } {
  const snippets = extractSnippets(readFileSync(join(ROOT, "README.md"), "utf8"), "README.md");
  const find = (marker: string) => {
    const found = snippets.filter((snippet) => snippet.code.startsWith(marker));
    if (found.length !== 1) throw new Error(`README.md should have exactly one TypeScript block starting "${marker}", found ${found.length}`);
    return (found[0] as { code: string }).code;
  };
  return { users: find("// users/src/index.ts"), billing: find("// billing/src/index.ts") };
}
