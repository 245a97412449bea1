/**
 * Does an apply stall traffic? The bench's workerd (bench/load.ts `withBenchMesh`) with the example
 * functions; the `gateway` way (weft-gateway, PERMISSIVE example mesh) serves a closed loop of
 * `--concurrency` GETs of httpbin.mesh/anything from Node, each one timed, while its admin API
 * (`POST /.weft/api/v1/config`) takes the example mesh plus 10,000 rules (bench/apply.ts's
 * builder, `manyRoutes`: 5,000 prefix and 5,000 exact rules over 50 services) as JSON, then the
 * same set as YAML. Each apply goes from the plain example mesh to the big set, so each one changes
 * the config. Reported per format: latency before the apply, of the requests that overlapped it,
 * and after it; the apply's own time; and the extra wait, the slowest request during the apply
 * minus the p99 before it.
 *
 * Local workerd runs every isolate on one thread, so a request here also waits for work in other
 * isolates (the control plane's, once it is a Worker of its own), which on Cloudflare runs
 * elsewhere. So V8's sampler also runs in every Worker's isolate during each apply (through
 * workerd's inspector, 1 ms sampling): per isolate, how long it was busy, and its longest busy
 * stretch without a break, which a request on that isolate waits out whatever runs elsewhere.
 *
 * `npx tsx bench/apply-stall.ts [--rules 10000] [--concurrency 8] [--before 3s] [--after 1s] [--rounds 3]`
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { performance } from "node:perf_hooks";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Document, isMap, isSeq } from "yaml";
import { parseYamlDocuments } from "@weft/sdk/config";
import { manyRoutes } from "../gateway-worker/src/routing/test-support.js";
import { ADMIN_TOKEN, applyMesh, parseSeconds, permissiveMeshYaml, readFlags, send, TARGETS, withBenchMesh, type BenchMesh } from "./load.js";
import { busySampleTimes, isolateBusy, moduleMapOf, summarizeProfile, type CpuProfile, type ModuleMap } from "./profile-aggregate.js";
import { inspectableWorkers, InspectorSession } from "./profile.js";
import { table } from "./route-lookup.js";

/** What the admin API takes at most (gateway-worker/src/admin/body.ts MAX_ADMIN_BODY_BYTES). */
const MAX_BODY_BYTES = 1024 * 1024;
const TRAFFIC_PATH = "/anything";
const ADMIN_HOST = "gateway.bench";
/** µs between samples while an apply runs: stretches of interest are tens of ms, and every isolate is sampled at once. */
const SAMPLING_INTERVAL_MICROS = 1000;
/**
 * Wait between starting the profilers and the apply. Starting V8's profiler in the ~20 isolates
 * holds workerd's thread for 0.2–0.4 s here (each isolate logs its compiled code first); the
 * requests it held must be done before the apply, or they count as the apply's.
 */
const PROFILER_SETTLE_MS = 1000;

export type ApplyFormat = "json" | "yaml";

export interface ApplyStallOptions {
  /** Rules in the big apply (half prefix, half exact). */
  rules: number;
  /** Requests in flight at once from the closed loop. */
  concurrency: number;
  /** Seconds of traffic before the apply (its first half-second is warm-up, not counted). */
  beforeSeconds: number;
  /** Seconds of traffic after the apply answered. */
  afterSeconds: number;
  /** Times the JSON-then-YAML pair is run; the headline is the median JSON extra wait. */
  rounds: number;
}

// Three rounds: one request caught in one of workerd's own pauses (tens to hundreds of ms here) moves a single round's figure.
export const DEFAULT_APPLY_STALL_OPTIONS: ApplyStallOptions = { rules: 10_000, concurrency: 8, beforeSeconds: 3, afterSeconds: 1, rounds: 3 };

export interface Latencies {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ApplyStallRow {
  format: ApplyFormat;
  round: number;
  bodyBytes: number;
  /** From sending the apply to its answer, as Node saw it. */
  applyMs: number;
  /** The config version the apply created. */
  version: number;
  before: Latencies;
  /** Requests in flight at any time while the apply ran. */
  during: Latencies;
  /** Requests that finished while the apply ran. */
  completedDuring: number;
  after: Latencies;
  /** Slowest request during the apply minus the p99 before it. */
  extraWaitMs: number;
  /** Requests that did not answer 200. */
  errors: number;
  /** The serving gateway's isolate. */
  servingWorker: string;
  /** Per Worker that was busy during the apply (≥ 1 ms), busiest first. */
  isolates: IsolateBusy[];
}

export interface IsolateBusy {
  worker: string;
  busyMs: number;
  /** Its longest busy stretch without a break. */
  longestStretchMs: number;
  /** The functions with the most self time (natives on their own), largest first. */
  top: { name: string; ms: number }[];
}

export interface ApplyStallResult {
  options: ApplyStallOptions;
  rows: ApplyStallRow[];
}

export function parseApplyStallArgs(args: readonly string[]): ApplyStallOptions {
  const options = { ...DEFAULT_APPLY_STALL_OPTIONS };
  readFlags(args, "--rules, --concurrency, --before, --after, --rounds", (flag, value) => {
    if (flag === "--rules") options.rules = value.positive();
    else if (flag === "--concurrency") options.concurrency = value.positive();
    else if (flag === "--rounds") options.rounds = value.positive();
    else if (flag === "--before") options.beforeSeconds = Math.max(1, parseSeconds(value.text(), flag));
    else if (flag === "--after") options.afterSeconds = parseSeconds(value.text(), flag);
    else return false;
    return true;
  });
  return options;
}

/** The example mesh (PERMISSIVE, as the `gateway` way serves it) plus `rules` rules from bench/apply.ts's builder. */
export function bigConfigDocuments(rules: number): unknown[] {
  const mesh = parseYamlDocuments(permissiveMeshYaml());
  if (!mesh.ok) throw new Error(`the example mesh does not parse: ${JSON.stringify(mesh.issues)}`);
  return [...mesh.value.documents, ...manyRoutes(Math.ceil(rules / 2))];
}

/** The same documents as an operator would write them in YAML: block style, one flow mapping per rule. */
export function yamlBody(documents: readonly unknown[]): string {
  return documents
    .map((value) => {
      const document = new Document(value);
      const http = document.getIn(["spec", "http"]);
      if (isSeq(http)) for (const rule of http.items) if (isMap(rule)) rule.flow = true;
      return document.toString({ lineWidth: 0, flowCollectionPadding: false });
    })
    .join("---\n");
}

export function latencies(values: readonly number[]): Latencies {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? Number.NaN };
}

interface Timed {
  start: number;
  end: number;
  status: number;
}

/** `concurrency` loops, each sending its next request when the last one answered, until `stop` is set. */
function closedLoop(port: number, host: string, concurrency: number): { done: Promise<Timed[]>; stop(): void } {
  const timings: Timed[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const start = performance.now();
      let status = 0;
      try {
        status = (await send(port, host, TRAFFIC_PATH)).status;
      } catch {
        status = 0;
      }
      timings.push({ start, end: performance.now(), status });
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    done: Promise.all(loops).then(() => timings),
    stop: () => {
      stopped = true;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The apply, on a connection of its own: Node's default agent keeps connections alive, and a
 * 1 MiB body written into one that workerd has just closed as idle fails with EPIPE.
 */
function sendApply(port: number, body: string, format: ApplyFormat): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const headers = { host: ADMIN_HOST, authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": format === "json" ? "application/json" : "application/yaml" };
    const req = httpRequest({ host: "127.0.0.1", port, path: "/.weft/api/v1/config", method: "POST", headers, agent: false, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", fail);
    });
    req.on("timeout", () => req.destroy(new Error("the apply got no answer in 60 s")));
    req.on("error", fail);
    req.end(body);
  });
}

/** Profilers in every Worker's isolate, started around each apply. */
class IsolateProfilers {
  /** Per Worker: Node's `performance.now()` (ms) once its profiler had started. */
  private readonly started = new Map<string, number>();

  private constructor(
    private readonly sessions: ReadonlyMap<string, InspectorSession>,
    private readonly bundles: ReadonlyMap<string, ModuleMap>,
  ) {}

  /** `scripts`: each Worker's bundle, so samples name their source files. */
  static async open(inspectorUrl: URL, scripts: ReadonlyMap<string, string>): Promise<IsolateProfilers> {
    const sessions = new Map<string, InspectorSession>();
    try {
      for (const worker of await inspectableWorkers(inspectorUrl)) {
        const session = await InspectorSession.forWorker(inspectorUrl, worker);
        sessions.set(worker, session);
        await session.send("Profiler.enable");
        await session.send("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_MICROS });
      }
    } catch (error) {
      for (const session of sessions.values()) session.close();
      throw error;
    }
    const bundles = new Map([...new Set(scripts.values())].map((script) => [basename(script), moduleMapOf(readFileSync(script, "utf8"), basename(script))] as const));
    return new IsolateProfilers(sessions, bundles);
  }

  async start(): Promise<void> {
    this.started.clear();
    await Promise.all(
      [...this.sessions].map(async ([worker, session]) => {
        await session.send("Profiler.start");
        this.started.set(worker, performance.now());
      }),
    );
  }

  /** Busy time and stretches between `from` and `to` (Node's `performance.now()`), from profiles running since `start`. */
  async stop(from: number, to: number): Promise<IsolateBusy[]> {
    const wholes = await Promise.all(
      [...this.sessions].map(async ([worker, session]) => {
        const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
        return { worker, profile };
      }),
    );
    // Every isolate's profile runs on workerd's one clock (µs). Its value at Node's time 0: each
    // profile started between Node asking and Node hearing back, so the clock's offset is at least
    // its start less the answer's time; the largest of these bounds is the closest.
    const offset = Math.max(...wholes.map(({ worker, profile }) => profile.startTime - (this.started.get(worker) ?? Number.POSITIVE_INFINITY) * 1000));
    const profiles = wholes.map(({ worker, profile: whole }) => {
      const profile = Number.isFinite(offset) ? profileWindow(whole, offset + from * 1000, offset + to * 1000) : whole;
      return { worker, profile, busyAt: busySampleTimes(profile) };
    });
    const busy = profiles.map(({ worker, profile }) => {
      // One workerd thread runs every isolate: a gap in this isolate's samples while another ran is a break.
      const othersBusy = profiles.flatMap((other) => (other.worker === worker ? [] : other.busyAt)).sort((a, b) => a - b);
      const { busyMicros, longestStretchMicros } = isolateBusy(profile, SAMPLING_INTERVAL_MICROS, othersBusy);
      const top = summarizeProfile(profile, this.bundles, SAMPLING_INTERVAL_MICROS)
        .functions.filter((entry) => entry.category !== "idle")
        .slice(0, 5)
        .map((entry) => ({ name: shortName(entry.name), ms: entry.selfMicros / 1000 }));
      return { worker, busyMs: busyMicros / 1000, longestStretchMs: longestStretchMicros / 1000, top };
    });
    return busy.filter((isolate) => isolate.busyMs >= 1).sort((a, b) => b.busyMs - a.busyMs);
  }

  close(): void {
    for (const session of this.sessions.values()) session.close();
  }
}

/** The samples of `profile` taken from `fromMicros` to `toMicros` (its own clock), as a profile of their own. */
export function profileWindow(profile: CpuProfile, fromMicros: number, toMicros: number): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let at = profile.startTime;
  let last = fromMicros;
  (profile.samples ?? []).forEach((id, i) => {
    at += profile.timeDeltas?.[i] ?? 0;
    if (at < fromMicros || at > toMicros) return;
    samples.push(id);
    timeDeltas.push(at - last);
    last = at;
  });
  return { ...profile, startTime: fromMicros, endTime: Math.min(profile.endTime, toMicros), samples, timeDeltas };
}

/** `node_modules/yaml/browser/dist/parse/lexer.js lex` → `lex (yaml)`; `gateway-worker/src/routing/compile.ts compileSnapshot` → `compileSnapshot (routing/compile.ts)`. */
function shortName(name: string): string {
  const space = name.indexOf(" ");
  if (space === -1 || name.startsWith("(")) return name;
  const file = name.slice(0, space);
  const fn = name.slice(space + 1);
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  return `${fn} (${module ?? file.split("/").slice(-2).join("/")})`;
}

/** One measured apply of `body` while the closed loop runs. */
async function measureApply(port: number, host: string, body: string, format: ApplyFormat, round: number, options: ApplyStallOptions, profilers: IsolateProfilers, servingWorker: string): Promise<ApplyStallRow> {
  const traffic = closedLoop(port, host, options.concurrency);
  const trafficStart = performance.now();
  let profiling: number, applyStart: number, applyEnd: number, answer: { status: number; body: string }, isolates: IsolateBusy[];
  try {
    await sleep(options.beforeSeconds * 1000);
    profiling = performance.now();
    await profilers.start();
    await sleep(PROFILER_SETTLE_MS);
    applyStart = performance.now();
    answer = await sendApply(port, body, format);
    applyEnd = performance.now();
    isolates = await profilers.stop(applyStart, applyEnd);
    await sleep(options.afterSeconds * 1000);
  } finally {
    // Also when the apply failed: loops left running would keep the process (and workerd) busy.
    traffic.stop();
  }
  const timings = await traffic.done;
  if (answer.status !== 200) throw new Error(`the ${format} apply failed: HTTP ${answer.status} ${answer.body.slice(0, 500)}`);
  const parsed = JSON.parse(answer.body) as { version?: unknown };
  const warmedUp = trafficStart + 500;
  // Before: up to the profilers' start, which holds workerd's thread (PROFILER_SETTLE_MS).
  const before = timings.filter((t) => t.start >= warmedUp && t.end <= profiling);
  const during = timings.filter((t) => t.start < applyEnd && t.end > applyStart);
  const after = timings.filter((t) => t.start >= applyEnd);
  const ms = (list: readonly Timed[]) => list.map((t) => t.end - t.start);
  const beforeLatencies = latencies(ms(before));
  const duringLatencies = latencies(ms(during));
  return {
    format,
    round,
    bodyBytes: Buffer.byteLength(body),
    applyMs: applyEnd - applyStart,
    version: typeof parsed.version === "number" ? parsed.version : -1,
    before: beforeLatencies,
    during: duringLatencies,
    completedDuring: timings.filter((t) => t.end > applyStart && t.end <= applyEnd).length,
    after: latencies(ms(after)),
    extraWaitMs: duringLatencies.maxMs - beforeLatencies.p99Ms,
    errors: timings.filter((t) => t.status !== 200).length,
    servingWorker,
    isolates,
  };
}

export async function runApplyStallBench(options: ApplyStallOptions = DEFAULT_APPLY_STALL_OPTIONS, progress: (line: string) => void = () => {}): Promise<ApplyStallResult> {
  const documents = bigConfigDocuments(options.rules);
  const bodies: Record<ApplyFormat, string> = { json: JSON.stringify({ documents }), yaml: yamlBody(documents) };
  for (const [format, body] of Object.entries(bodies)) {
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw new Error(`the ${format} body for ${options.rules} rules is ${Buffer.byteLength(body)} bytes, over the admin API's ${MAX_BODY_BYTES}`);
  }
  progress("bundling workers and starting workerd…");
  return withBenchMesh({}, { inspectorPort: 0 }, async (mesh: BenchMesh) => {
    const target = TARGETS.find((candidate) => candidate.name === "gateway");
    if (!target) throw new Error("bench/load.ts has no gateway way");
    const port = mesh.workerPorts.get(target.worker);
    if (port === undefined) throw new Error(`no socket for worker ${target.worker}`);
    const profilers = await IsolateProfilers.open(await mesh.mf.getInspectorURL(), mesh.scripts);
    try {
      const rows: ApplyStallRow[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        for (const format of ["json", "yaml"] as const) {
          // From the plain example mesh each time, so every measured apply changes the config.
          const base = await applyMesh(port, permissiveMeshYaml(), ADMIN_HOST);
          const check = await send(port, target.host, TRAFFIC_PATH);
          if (check.status !== 200) throw new Error(`${target.host}${TRAFFIC_PATH} answered HTTP ${check.status} on config version ${base}: ${check.body.slice(0, 300)}`);
          progress(`${format}${options.rounds > 1 ? ` [round ${round}/${options.rounds}]` : ""}: ${options.concurrency} requests in flight to ${target.worker} (Host: ${target.host}); applying ${options.rules.toLocaleString("en-US")} rules after ${options.beforeSeconds}s`);
          rows.push(await measureApply(port, target.host, bodies[format], format, round, options, profilers, target.worker));
        }
      }
      return { options, rows };
    } finally {
      profilers.close();
    }
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

const f1 = (value: number) => value.toFixed(1);
const signedMs = (value: number) => `${value < 0 ? "-" : "+"}${Math.abs(value).toFixed(0)} ms`;
const trio = (l: Latencies) => `${f1(l.p50Ms)} / ${f1(l.p99Ms)} / ${f1(l.maxMs)}`;

export function formatApplyStall(result: ApplyStallResult): string {
  const { options, rows } = result;
  const rules = options.rules.toLocaleString("en-US");
  const lines = [
    `apply stall (${options.concurrency} requests in flight to weft-gateway, GET httpbin.mesh${TRAFFIC_PATH}, while its admin API applies the example mesh + ${rules} rules; ` +
      `latency p50 / p99 / max in ms as Node saw it)`,
    table(
      ["apply", "body", "apply ms", "before", "during the apply", "done during", "after", "extra wait", "errors"],
      rows.map((row) => [
        `${row.format}${options.rounds > 1 ? ` #${row.round}` : ""}`,
        `${Math.round(row.bodyBytes / 1024)} KiB`,
        row.applyMs.toFixed(0),
        trio(row.before),
        trio(row.during),
        String(row.completedDuring),
        trio(row.after),
        signedMs(row.extraWaitMs),
        String(row.errors),
      ]),
      [0],
    ),
  ];
  lines.push(
    "",
    `isolates busy during the apply (V8 sampling every ${SAMPLING_INTERVAL_MICROS} µs in each Worker's isolate; longest stretch: busy without a break, which requests on that isolate wait out)`,
    table(
      ["apply", "isolate", "busy ms", "longest stretch ms"],
      rows.flatMap((row) =>
        row.isolates.map((isolate) => [
          `${row.format}${options.rounds > 1 ? ` #${row.round}` : ""}`,
          `${isolate.worker}${isolate.worker === row.servingWorker ? " (serving)" : ""}`,
          isolate.busyMs.toFixed(0),
          isolate.longestStretchMs.toFixed(0),
        ]),
      ),
      [0, 1],
    ),
    "",
  );
  for (const row of rows) {
    const serving = row.isolates.find((isolate) => isolate.worker === row.servingWorker);
    if (serving) lines.push(`${row.format}${options.rounds > 1 ? ` #${row.round}` : ""}, ${serving.worker}'s largest self times: ${serving.top.map((entry) => `${entry.name} ${entry.ms.toFixed(0)} ms`).join(", ")}`);
  }
  lines.push("");
  for (const format of ["json", "yaml"] as const) {
    const serving = rows.filter((row) => row.format === format).map((row) => row.isolates.find((isolate) => isolate.worker === row.servingWorker)?.longestStretchMs ?? 0);
    if (serving.length > 0) lines.push(`serving isolate's longest busy stretch during the apply (${rules}-rule ${format.toUpperCase()}): ${median(serving).toFixed(0)} ms`);
  }
  for (const format of ["json", "yaml"] as const) {
    const extra = rows.filter((row) => row.format === format).map((row) => row.extraWaitMs);
    if (extra.length === 0) continue;
    const range = extra.length > 1 ? ` (median of ${extra.length}; ${Math.min(...extra).toFixed(0)}–${Math.max(...extra).toFixed(0)})` : "";
    lines.push(`apply stall (${rules}-rule ${format.toUpperCase()}): ${signedMs(median(extra))}${range}`);
  }
  if (rows.some((row) => row.errors > 0)) lines.push("WARNING: some requests failed during the run; the figures are suspect.");
  return lines.join("\n");
}

/** CLI body shared with run-all.ts; returns the exit code. */
export async function applyStallMain(args: readonly string[]): Promise<number> {
  let options: ApplyStallOptions;
  try {
    options = parseApplyStallArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  try {
    const result = await runApplyStallBench(options, (line) => console.log(`[apply-stall] ${line}`));
    console.log(formatApplyStall(result));
    return result.rows.some((row) => row.errors > 0) ? 1 : 0;
  } catch (error) {
    console.error(error);
    return 1;
  }
}

// Only as a script: run-all.ts imports the functions above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  void applyStallMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
