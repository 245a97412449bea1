/**
 * Startup benchmark: how much longer a cold gateway Worker takes than a pass-through Worker to
 * answer its first request, on local workerd.
 *
 * Each start is a fresh Miniflare (a fresh workerd, so nothing is cached between starts) holding
 * the Worker under test and a tiny `target` Worker that answers "ok". The clock runs from
 * `new Miniflare(...)` to the first answer's body read. Every start pays the same workerd launch;
 * what differs is the script: loading and compiling it, evaluating its modules (the gateway builds
 * its pipeline, routers and dashboard at module scope) and handling one request.
 *
 *   passthrough       bench/passthrough-worker.ts, asked `GET /`, which it forwards to `target`
 *   gateway           the gateway Worker exactly as `wrangler deploy` would upload it (the script
 *                     from `wrangler deploy --dry-run -c <config> --outdir`), given to Miniflare as
 *                     a module, asked `GET /.weft/startup`: a reserved path it answers itself (404)
 *                     before touching any binding. The runtime's part: what a Worker's cold start costs
 *   gateway (scanned) the same script given as `scriptPath`, which Miniflare first parses in Node
 *                     (acorn, to find its imports) before workerd starts: what `new Miniflare` with a
 *                     bundle costs locally, and a cost that grows with the script's size
 *
 * Why not `/.weft/healthz`: on a cold isolate healthz waits for the first config pull from the
 * control plane, a Durable Object in another Worker (its own startup, SQLite, a validated config).
 * That measures the control plane, not the gateway's script; the reserved-path probe measures the
 * script and nothing else, the way the pass-through's `/` measures its own.
 *
 * The three are started in turn (the order rotates every round) for `--rounds` rounds; each figure
 * is the median over rounds, and "over passthrough" is the median of the per-round differences.
 *
 * `npx tsx bench/startup.ts [--rounds 7] [--config wrangler.toml]`
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { bundleWorker, COMPATIBILITY_DATE, ROOT } from "../scripts/example-workers.js";

export interface StartupOptions {
  /** Rounds; each starts every way once. */
  rounds: number;
  /** The gateway's wrangler config, relative to the repository root. */
  config: string;
}

export const DEFAULT_STARTUP_OPTIONS: StartupOptions = { rounds: 7, config: "wrangler.toml" };

const WAYS = ["passthrough", "gateway", "gateway (scanned)"] as const;
export type StartupWay = (typeof WAYS)[number];

export interface StartupRow {
  name: StartupWay;
  /** The script's size as uploaded, and gzipped. */
  bytes: number;
  gzipBytes: number;
  /** Per round, milliseconds from `new Miniflare` to the first answer. */
  samplesMs: number[];
  medianMs: number;
}

export interface StartupResult {
  options: StartupOptions;
  rows: StartupRow[];
  /** Median over rounds of (gateway − passthrough): the runtime's part. */
  gatewayOverPassthroughMs: number;
  /** The same with Miniflare's scan of the script in Node included. */
  scannedOverPassthroughMs: number;
}

const PROBES: Record<StartupWay, { path: string; status: number }> = {
  passthrough: { path: "/", status: 200 },
  gateway: { path: "/.weft/startup", status: 404 },
  "gateway (scanned)": { path: "/.weft/startup", status: 404 },
};

/** What the pass-through forwards to: answers at once, so its first answer measures its own start. */
const TARGET_SCRIPT = `export default { fetch() { return new Response("ok"); } };`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The gateway's script as `wrangler deploy` would upload it (wrangler's bundling, its minify setting). */
function wranglerBundle(config: string, outDir: string): string {
  const result = spawnSync(process.execPath, [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "-c", config, "--outdir", outDir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run -c ${config} failed:\n${result.stdout}\n${result.stderr}`);
  const script = readdirSync(outDir).find((file) => /\.m?js$/.test(file) && statSync(join(outDir, file)).isFile());
  if (!script) throw new Error(`wrangler deploy --dry-run wrote no script into ${outDir}`);
  return join(outDir, script);
}

/** The Worker under test as Miniflare options: its one module given as is, or its path to scan. */
function subject(way: StartupWay, scriptPath: string): WorkerOptions {
  const common = {
    name: "startup-subject",
    compatibilityDate: COMPATIBILITY_DATE,
    // Dev settings, so the gateway's settings parse without warnings; the probe reads no binding.
    bindings: { WEFT_ADMIN_TOKEN: "startup-bench-token", WEFT_ENV: "dev" },
    serviceBindings: { TARGET: "startup-target" },
    modulesRoot: dirname(scriptPath),
  };
  if (way === "gateway (scanned)") return { ...common, modules: true, scriptPath };
  return { ...common, modules: [{ type: "ESModule", path: join(dirname(scriptPath), "worker.mjs"), contents: readFileSync(scriptPath, "utf8") }] };
}

/** One cold start: a fresh workerd with the Worker under test, until its first answer. */
async function startOnce(way: StartupWay, scriptPath: string): Promise<number> {
  const probe = PROBES[way];
  const started = performance.now();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    log: new Log(LogLevel.WARN),
    workers: [subject(way, scriptPath), { name: "startup-target", modules: true, script: TARGET_SCRIPT, compatibilityDate: COMPATIBILITY_DATE }],
  });
  try {
    const response = await mf.dispatchFetch(`http://startup.bench${probe.path}`);
    const body = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== probe.status) throw new Error(`${way} answered ${probe.path} with HTTP ${response.status}, expected ${probe.status}: ${body.slice(0, 300)}`);
    return elapsed;
  } finally {
    await mf.dispose();
  }
}

export async function runStartupBench(options: StartupOptions = DEFAULT_STARTUP_OPTIONS): Promise<StartupResult> {
  if (options.rounds < 1) throw new Error("--rounds must be at least 1");
  const outDir = mkdtempSync(join(tmpdir(), "weft-startup-"));
  try {
    const gateway = wranglerBundle(options.config, join(outDir, "gateway"));
    const scripts: Record<StartupWay, string> = {
      passthrough: await bundleWorker("bench/passthrough-worker.ts", join(outDir, "passthrough"), "bench-passthrough"),
      gateway,
      "gateway (scanned)": gateway,
    };
    const samples: Record<StartupWay, number[]> = { passthrough: [], gateway: [], "gateway (scanned)": [] };
    // One unmeasured start of each first: the first workerd launch pays for the binary's page cache.
    for (const way of WAYS) await startOnce(way, scripts[way]);
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < WAYS.length; i++) {
        const way = WAYS[(round + i) % WAYS.length] as StartupWay;
        samples[way].push(await startOnce(way, scripts[way]));
      }
    }
    const rows = WAYS.map((name): StartupRow => {
      const bytes = readFileSync(scripts[name]);
      return { name, bytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength, samplesMs: samples[name], medianMs: median(samples[name]) };
    });
    const over = (way: StartupWay) => median(samples[way].map((ms, index) => ms - (samples.passthrough[index] ?? 0)));
    return { options, rows, gatewayOverPassthroughMs: over("gateway"), scannedOverPassthroughMs: over("gateway (scanned)") };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export function formatStartup(result: StartupResult): string {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  return [
    `Cold start to first answer, a fresh workerd each (${result.options.rounds} rounds, rotating order, median; gateway from ${result.options.config})`,
    `${"worker".padEnd(18)} ${"script".padStart(11)} ${"gzip".padStart(10)} ${"median".padStart(9)}   samples (ms)`,
    ...result.rows.map(
      (row) => `${row.name.padEnd(18)} ${kib(row.bytes).padStart(11)} ${kib(row.gzipBytes).padStart(10)} ${`${row.medianMs.toFixed(0)} ms`.padStart(9)}   ${row.samplesMs.map((ms) => ms.toFixed(0)).join(" ")}`,
    ),
    `gateway startup over passthrough: ${result.gatewayOverPassthroughMs.toFixed(0)} ms`,
    `gateway startup over passthrough, with Miniflare's scan of the script: ${result.scannedOverPassthroughMs.toFixed(0)} ms`,
  ].join("\n");
}

export function parseStartupArgs(argv: readonly string[]): StartupOptions {
  const options = { ...DEFAULT_STARTUP_OPTIONS };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--rounds" && value !== undefined && /^\d+$/.test(value)) options.rounds = Number(value);
    else if (flag === "--config" && value !== undefined) options.config = value;
    else throw new Error(`unknown or incomplete argument ${flag ?? ""}; usage: npx tsx bench/startup.ts [--rounds 7] [--config wrangler.toml]`);
  }
  return options;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(formatStartup(await runStartupBench(parseStartupArgs(process.argv.slice(2)))));
}
