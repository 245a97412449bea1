/**
 * Micro-benchmark of route lookup through regex rules, with the regex engine swapped: JS RegExp
 * (what weft used before: backtracking, exponential on patterns such as `(a+)+`) against re2js
 * (RE2, linear time, what the gateway uses now). Both compile the same config into the same
 * snapshot shape (`compileSnapshot`'s engine parameter); runs alternate engine by engine so
 * machine noise falls on both alike, and the ratio re2js / RegExp is reported.
 *
 * Run alone: `npx tsx bench/regex.ts [--lookups N] [--runs N]`.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { compileRouteRegex, validateDocuments, type RegexEngine, type RouteRegex } from "@weft/sdk/config";
import { compileSnapshot } from "../gateway-worker/src/routing/compile.js";
import { findRoute, type RequestFacts } from "../gateway-worker/src/routing/lookup.js";
import type { Snapshot } from "../gateway-worker/src/routing/snapshot.js";
import { facts, serviceDoc } from "../gateway-worker/src/routing/test-support.js";

export const DEFAULT_LOOKUPS = 100_000;
export const DEFAULT_RUNS = 5;
/** Regex rules in the table; every lookup that misses tests all of them. */
export const REGEX_RULES = 20;
/** Length of the `a` run in the adversarial path: enough for RegExp to show, little enough to finish. */
export const ADVERSARIAL_LENGTH = 20;

/** The engine weft used before re2js, kept here only to compare against. */
export const backtrackingEngine: RegexEngine = function backtrackingEngine(source): RouteRegex {
  const pattern = new RegExp(`^(?:${source})$`);
  return { source, test: (value) => pattern.test(value) };
};

export const ENGINES: readonly { readonly name: string; readonly engine: RegexEngine }[] = [
  { name: "RegExp", engine: backtrackingEngine },
  { name: "re2js", engine: compileRouteRegex },
];

export interface RegexBenchOptions {
  lookups?: number;
  runs?: number;
}

export interface RegexEngineRow {
  engine: string;
  /** Median over the runs of the mean time per lookup over the ordinary mix. */
  nsPerLookup: number;
  /** Median time of one lookup of the adversarial path against `(a+)+`. */
  adversarialMs: number;
}

export interface RegexBenchResult {
  lookups: number;
  runs: number;
  rows: RegexEngineRow[];
  /** re2js nsPerLookup / RegExp nsPerLookup. */
  ratio: number;
  /** RegExp adversarialMs / re2js adversarialMs. */
  adversarialRatio: number;
}

/** A table of REGEX_RULES path and header regex rules plus one `(a+)+` rule, all on host `*`. */
export function regexRoutes(): unknown[] {
  const http = Array.from({ length: REGEX_RULES }, (_, i) =>
    i % 2 === 0
      ? { match: [{ path: { regex: `/api/v[0-9]+/resource-${i}/[0-9a-f]{8}(/[a-z]+)*` } }], destinations: [{ service: "web" }] }
      : { match: [{ path: { prefix: "/h/" }, headers: { "x-tenant": { regex: `tenant-${i}-[a-z]+(-(eu|us))?` } } }], destinations: [{ service: "web" }] },
  );
  http.push({ match: [{ path: { regex: "/redos/(a+)+" } }], destinations: [{ service: "web" }] });
  return [serviceDoc("web"), { apiVersion: "weft/v1", kind: "Route", metadata: { name: "regexes" }, spec: { hosts: ["*"], http } }];
}

/** Hits on the last rules of each kind and misses that test every rule. */
export function regexRequestMix(): RequestFacts[] {
  const lastPath = REGEX_RULES - 2;
  const lastHeader = REGEX_RULES - 1;
  return [
    facts(`http://shop.example/api/v2/resource-${lastPath}/0123abcd/items/reviews`),
    facts(`http://shop.example/api/v10/resource-${lastPath}/deadbeef`),
    facts("http://shop.example/h/x", { headers: { "x-tenant": `tenant-${lastHeader}-acme-eu` } }),
    facts("http://shop.example/redos/aaaaaaaa"),
    // Misses.
    facts(`http://shop.example/api/v2/resource-${lastPath}/0123abcz`),
    facts("http://shop.example/h/x", { headers: { "x-tenant": "tenant-999-acme" } }),
    facts("http://shop.example/nothing/here/at/all"),
    facts("http://shop.example/redos/aaaab"),
  ];
}

const EXPECTED_HITS = 4;

function snapshotWith(engine: RegexEngine): Snapshot {
  const result = validateDocuments(regexRoutes());
  if (!result.ok) throw new Error(`regex bench: config refused: ${JSON.stringify(result.issues)}`);
  return compileSnapshot(result.value, 1, engine);
}

function timeMix(snapshot: Snapshot, requests: readonly RequestFacts[], count: number): number {
  let found = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) if (findRoute(snapshot, requests[i % requests.length] as RequestFacts).found) found++;
  const elapsed = process.hrtime.bigint() - started;
  // Using the result keeps the JIT from dropping the call; checking it keeps the engines honest.
  const perMix = Math.floor(count / requests.length) * EXPECTED_HITS;
  if (found < perMix) throw new Error(`regex bench: ${found} hits, expected at least ${perMix}`);
  return Number(elapsed) / count;
}

function timeOnce(snapshot: Snapshot, request: RequestFacts): number {
  const started = process.hrtime.bigint();
  if (findRoute(snapshot, request).found) throw new Error("regex bench: the adversarial path must not match");
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function runRegexBench(options: RegexBenchOptions = {}): RegexBenchResult {
  const lookups = options.lookups ?? DEFAULT_LOOKUPS;
  const runs = options.runs ?? DEFAULT_RUNS;
  if (!(lookups > 0) || !(runs > 0)) throw new Error("regex bench: lookups and runs must be positive");
  const requests = regexRequestMix();
  const adversarial = facts(`http://shop.example/redos/${"a".repeat(ADVERSARIAL_LENGTH)}!`);
  const cases = ENGINES.map(({ name, engine }) => ({ name, snapshot: snapshotWith(engine), mix: [] as number[], attack: [] as number[] }));
  for (const c of cases) {
    const hits = requests.filter((request) => findRoute(c.snapshot, request).found).length;
    if (hits !== EXPECTED_HITS) throw new Error(`regex bench: ${c.name} found ${hits} of the mix, expected ${EXPECTED_HITS}`);
    timeMix(c.snapshot, requests, Math.min(lookups, 10_000));
  }
  for (let run = 0; run < runs; run++) {
    for (const c of cases) {
      c.mix.push(timeMix(c.snapshot, requests, lookups));
      c.attack.push(timeOnce(c.snapshot, adversarial));
    }
  }
  const rows = cases.map((c) => ({ engine: c.name, nsPerLookup: median(c.mix), adversarialMs: median(c.attack) }));
  const [regexp, re2] = rows as [RegexEngineRow, RegexEngineRow];
  return { lookups, runs, rows, ratio: re2.nsPerLookup / regexp.nsPerLookup, adversarialRatio: regexp.adversarialMs / re2.adversarialMs };
}

export function formatRegexBench(result: RegexBenchResult): string {
  const lines = [
    `Route lookup through ${REGEX_RULES + 1} regex rules (${result.lookups.toLocaleString("en-US")} lookups × ${result.runs} interleaved runs, median; half the mix misses every rule)`,
    `${"engine".padEnd(8)} ${"ns/lookup".padStart(10)} ${`(a+)+ vs ${ADVERSARIAL_LENGTH} a's + '!' (ms)`.padStart(30)}`,
  ];
  for (const row of result.rows) lines.push(`${row.engine.padEnd(8)} ${row.nsPerLookup.toFixed(0).padStart(10)} ${row.adversarialMs.toFixed(3).padStart(30)}`);
  lines.push(`re2js / RegExp lookup cost: ${result.ratio.toFixed(2)}×; RegExp / re2js on the adversarial path: ${result.adversarialRatio.toFixed(0)}× (and doubling per extra 'a' for RegExp)`);
  return lines.join("\n");
}

function numberArg(args: readonly string[], name: string): number | undefined {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

// Only as a script: run-all.ts imports the functions above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  const args = process.argv.slice(2);
  const lookups = numberArg(args, "--lookups");
  const runs = numberArg(args, "--runs");
  console.log(formatRegexBench(runRegexBench({ ...(lookups !== undefined ? { lookups } : {}), ...(runs !== undefined ? { runs } : {}) })));
}
