/**
 * Finds and runs Prometheus' `promtool`, so tests can check that `GET /.weft/metrics` output is
 * text that Prometheus parses and its linter accepts. Debian ships it in the `prometheus` package
 * (`apt-get install -y --no-install-recommends prometheus`; the daemon is not needed).
 *
 * As a script: `tsx scripts/promtool.ts < metrics.txt` checks its standard input and exits 0 when
 * promtool reports nothing, 1 otherwise.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** How to get promtool on a Debian machine (this project's machines and CI). */
export const PROMTOOL_INSTALL = "apt-get install -y prometheus";

/** One problem `promtool check metrics` reported about one metric family. */
export interface LintProblem {
  metric: string;
  text: string;
}

export interface CheckResult {
  /** True when promtool exited 0, or reported only lint problems listed in `allow`. */
  ok: boolean;
  /** promtool's stdout and stderr, trimmed. */
  output: string;
  /** Lint problems promtool reported (exit code 3), allowed or not. */
  problems: LintProblem[];
}

export interface CheckOptions {
  /** Path of promtool; defaults to `findPromtool()`. */
  promtool?: string;
  /**
   * Lint problems to accept, matched exactly by metric and text: for names the project has
   * committed to that the linter dislikes. Parse errors are never accepted.
   */
  allow?: readonly LintProblem[];
}

/** promtool's exit code when the text parsed but the linter found problems (1 is a parse or usage error). */
const LINT_PROBLEMS_EXIT = 3;

/**
 * The promtool to run: `$PROMTOOL` when it names an executable file, else the first `promtool`
 * on `$PATH`; undefined when there is none.
 */
export function findPromtool(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.PROMTOOL;
  if (fromEnv !== undefined && fromEnv !== "") return isExecutable(fromEnv) ? resolve(fromEnv) : undefined;
  const names = process.platform === "win32" ? ["promtool.exe"] : ["promtool"];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    for (const name of names) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Runs `promtool check metrics` with `text` on stdin. Only a clean run passes: promtool exits
 * non-zero for lint problems as well as parse errors, and either fails the check unless every
 * reported problem is in `options.allow`. Throws when promtool cannot be found or started.
 */
export function checkMetrics(text: string, options: CheckOptions = {}): CheckResult {
  const promtool = options.promtool ?? findPromtool();
  if (promtool === undefined) throw new Error(`promtool not found (set PROMTOOL or put it on PATH; install it with \`${PROMTOOL_INSTALL}\`)`);
  const run = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
  if (run.error !== undefined) throw new Error(`could not run ${promtool}: ${run.error.message}`);
  const output = `${run.stdout}${run.stderr}`.trim();
  const problems = run.status === LINT_PROBLEMS_EXIT ? parseProblems(run.stderr) : [];
  if (run.status === 0) return { ok: true, output, problems };
  const allow = options.allow ?? [];
  const allAllowed =
    run.status === LINT_PROBLEMS_EXIT &&
    problems.length > 0 &&
    // Every stderr line must have parsed as a problem, so nothing unexpected slips through.
    problems.length === nonEmptyLines(run.stderr).length &&
    problems.every((p) => allow.some((a) => a.metric === p.metric && a.text === p.text));
  return { ok: allAllowed, output, problems };
}

/** promtool prints one lint problem per line as `<metric> <text>`. */
function parseProblems(stderr: string): LintProblem[] {
  const problems: LintProblem[] = [];
  for (const line of nonEmptyLines(stderr)) {
    const space = line.indexOf(" ");
    if (space > 0) problems.push({ metric: line.slice(0, space), text: line.slice(space + 1) });
  }
  return problems;
}

function nonEmptyLines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Run only as a script, so tests can import the functions above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  const result = checkMetrics(readFileSync(0, "utf8"));
  if (result.output !== "") console.error(result.output);
  process.exit(result.ok ? 0 : 1);
}
