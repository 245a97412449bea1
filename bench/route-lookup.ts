/**
 * Micro-benchmark of the gateway's route lookup (`findRoute`) as the rule count grows.
 *
 * Per-request cost must not depend on the number of routes (docs/scale-model.md): the compiled snapshot
 * indexes exact paths in a map and prefixes by length, so a lookup should cost the same with 10
 * rules as with 10,000. This measures it in plain Node (V8, as in workerd) with the same snapshot
 * builder the routing tests use (`manyRoutes(n)`: n prefix rules and n exact rules on host `*`).
 *
 * Run alone: `npx tsx bench/route-lookup.ts [--lookups N] [--runs N]`.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { findRoute, type RequestFacts } from "../gateway-worker/src/routing/lookup.js";
import type { Snapshot } from "../gateway-worker/src/routing/snapshot.js";
import { facts, manyRoutes, snapshotOf } from "../gateway-worker/src/routing/test-support.js";

export const DEFAULT_SIZES: readonly number[] = [10, 100, 1_000, 10_000];
export const DEFAULT_LOOKUPS = 200_000;
export const DEFAULT_RUNS = 5;

export interface RouteLookupOptions {
  /** Rule counts to measure (each gives n prefix rules plus n exact rules). */
  sizes?: readonly number[];
  /** Lookups timed per run and size. */
  lookups?: number;
  /** Timed runs per size; the median is reported. */
  runs?: number;
}

export interface RouteLookupRow {
  /** The `n` given to `manyRoutes` (prefix rules; as many exact rules again). */
  rules: number;
  /** Rules in the compiled snapshot (2n plus one default rule per service). */
  compiledRules: number;
  /** Distinct prefix lengths in the host table: the one factor a lookup's cost still scales with. */
  prefixLengths: number;
  /** Time to validate and compile the config into a snapshot (once per config version). */
  compileMs: number;
  /** Median over the runs of the mean time per lookup. */
  nsPerLookup: number;
  /** nsPerLookup relative to the first (smallest) size. */
  ratio: number;
}

export interface RouteLookupResult {
  lookups: number;
  runs: number;
  rows: RouteLookupRow[];
}

/** The request mix: prefix hits on the last rules, exact hits on the last rules, and misses. */
export function requestMix(size: number): RequestFacts[] {
  const last = (k: number) => Math.max(0, size - 1 - k);
  return [
    // Prefix hits near the end of the list: a scan in rule order would visit nearly every rule.
    facts(`http://shop.example/api/v1/resource-${last(0)}/items/42`),
    facts(`http://shop.example/api/v1/resource-${last(1)}/`),
    facts(`http://shop.example/api/v1/resource-${last(2)}/orders?page=2`),
    facts(`http://shop.example/api/v1/resource-${last(3)}/a/b/c`),
    // Exact hits, also at the end of their route.
    facts(`http://shop.example/exact/${last(0)}`),
    facts(`http://shop.example/exact/${last(5)}`),
    // Misses: no such prefix, near-miss of an exact path, wrong method for a prefix rule.
    facts("http://shop.example/nothing/here"),
    facts(`http://shop.example/api/v1/resource-${size + 7}/items`),
    facts(`http://shop.example/exact/${last(0)}/more`),
    facts(`http://shop.example/api/v1/resource-${last(0)}/items`, { method: "DELETE" }),
  ];
}

interface Case {
  size: number;
  snapshot: Snapshot;
  requests: RequestFacts[];
  compileMs: number;
  expectedFound: number;
}

function prepare(size: number): Case {
  const started = process.hrtime.bigint();
  const snapshot = snapshotOf(manyRoutes(size));
  const compileMs = Number(process.hrtime.bigint() - started) / 1e6;
  const requests = requestMix(size);
  // Check the mix does what it says before timing it: 6 hits, 4 misses.
  const expectedFound = requests.filter((request) => findRoute(snapshot, request).found).length;
  if (expectedFound !== 6) throw new Error(`route-lookup bench: expected 6 hits of 10 with ${size} rules, got ${expectedFound}`);
  return { size, snapshot, requests, compileMs, expectedFound };
}

/** Runs `count` lookups cycling through the mix; returns ns per lookup. */
function timeLookups(c: Case, count: number): number {
  const { snapshot, requests } = c;
  const mix = requests.length;
  let found = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    // Using the result keeps the JIT from dropping the call as dead code.
    if (findRoute(snapshot, requests[i % mix] as RequestFacts).found) found++;
  }
  const elapsed = process.hrtime.bigint() - started;
  const expected = Math.floor(count / mix) * c.expectedFound + requests.slice(0, count % mix).filter((r) => findRoute(snapshot, r).found).length;
  if (found !== expected) throw new Error(`route-lookup bench: ${found} hits, expected ${expected}`);
  return Number(elapsed) / count;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function runRouteLookupBench(options: RouteLookupOptions = {}): RouteLookupResult {
  const sizes = options.sizes ?? DEFAULT_SIZES;
  const lookups = options.lookups ?? DEFAULT_LOOKUPS;
  const runs = options.runs ?? DEFAULT_RUNS;
  if (sizes.length === 0) throw new Error("route-lookup bench: no sizes");
  if (!(lookups > 0) || !(runs > 0)) throw new Error("route-lookup bench: lookups and runs must be positive");

  const cases = sizes.map(prepare);
  // Warm up every case before timing any, so the JIT has seen all snapshot shapes and the first
  // size measured does not pay for (or profit from) a state the others never see.
  for (const c of cases) timeLookups(c, Math.min(lookups, 50_000));

  const samples = cases.map((): number[] => []);
  // Runs interleave the sizes, so slow drift (thermal, GC, neighbours) spreads over all of them.
  for (let run = 0; run < runs; run++) {
    cases.forEach((c, i) => samples[i]?.push(timeLookups(c, lookups)));
  }

  const medians = samples.map(median);
  const base = medians[0] as number;
  return {
    lookups,
    runs,
    rows: cases.map((c, i) => ({
      rules: c.size,
      compiledRules: c.snapshot.ruleCount,
      prefixLengths: c.snapshot.anyHost?.prefixLengths.length ?? 0,
      compileMs: c.compileMs,
      nsPerLookup: medians[i] as number,
      ratio: (medians[i] as number) / base,
    })),
  };
}

export function formatRouteLookup(result: RouteLookupResult): string {
  const header = ["rules", "compiled rules", "prefix lengths", "compile ms", "ns/lookup", "vs 10 rules"];
  const rows = result.rows.map((row) => [
    row.rules.toLocaleString("en-US"),
    row.compiledRules.toLocaleString("en-US"),
    String(row.prefixLengths),
    row.compileMs.toFixed(1),
    row.nsPerLookup.toFixed(1),
    `${row.ratio.toFixed(2)}×`,
  ]);
  const first = result.rows[0];
  return [
    `route lookup (findRoute): median of ${result.runs} runs × ${result.lookups.toLocaleString("en-US")} lookups per size; ` +
      `mix = 4 prefix hits near the end, 2 exact hits, 4 misses`,
    table(header, rows),
    first ? `ratio is against the ${first.rules}-rule case; flat (≈ 1×) means cost does not grow with the route count` : "",
  ].join("\n");
}

/** A text table: numbers right-aligned; the columns listed in `left` (labels) left-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], left: readonly number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const pad = (cell: string, i: number) => (left.includes(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0));
  const line = (cells: readonly string[]) => cells.map(pad).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function numberFlag(args: readonly string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

// Only as a script: run-all.ts and the test import the functions above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  const args = process.argv.slice(2);
  const lookups = numberFlag(args, "--lookups");
  const runs = numberFlag(args, "--runs");
  console.log(formatRouteLookup(runRouteLookupBench({ ...(lookups !== undefined ? { lookups } : {}), ...(runs !== undefined ? { runs } : {}) })));
}
