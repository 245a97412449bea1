/**
 * CPU profile of weft's request path: the same workerd as bench/load.ts, started with its DevTools
 * inspector open; wrk loads the `full` gateway (STRICT, the caller's cached SVID, an ALLOW policy,
 * telemetry, the hop token) and then the bare pass-through while V8's sampling profiler runs in
 * that Worker's isolate only. Each sample's self time goes to a category of weft's code by the
 * source file of its function (bench/profile-aggregate.ts), divided by the requests wrk completed:
 * CPU per request, by category, for the gateway isolate and for the pass-through isolate.
 *
 * `npx tsx bench/profile.ts [--duration 10s] [--connections 16] [--threads 1] [--warmup 5s] [--interval 100] [--save <folder>]`
 * (`--interval`: sampling interval in µs; `--save`: write the raw profiles, which Chrome DevTools opens). `npm run bench` runs it after the load benchmark with the
 * load benchmark's duration, connections, threads and warm-up. Needs `wrk`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { categoryLabel, CATEGORIES, moduleMapOf, summarizeProfile, type CategoryId, type CpuProfile, type ModuleMap, type ProfileSummary } from "./profile-aggregate.js";
import {
  applyMesh,
  headersFor,
  mintSvid,
  parseLoadArgs,
  runWrk,
  send,
  strictMeshYaml,
  TARGETS,
  withBenchMesh,
  wrkInstalled,
  WrkNotFoundError,
  type LoadOptions,
  type Target,
  type WrkResult,
} from "./load.js";
import { table } from "./route-lookup.js";

export interface ProfileOptions extends Pick<LoadOptions, "durationSeconds" | "connections" | "threads" | "warmupSeconds"> {
  /** V8's sampling interval, µs. */
  intervalMicros: number;
  /** Folder to write each way's raw profile to (`<way>.cpuprofile`, opens in Chrome DevTools). */
  saveDir?: string;
}

export const DEFAULT_PROFILE_OPTIONS: ProfileOptions = { durationSeconds: 10, connections: 16, threads: 1, warmupSeconds: 5, intervalMicros: 100 };

/** The ways profiled, in order: weft's whole pipeline, and the cheapest Worker hop for comparison. */
const PROFILED = ["full", "floor", "ablation", "passthrough"] as const;
type ProfiledName = (typeof PROFILED)[number];

export interface ProfiledWay {
  target: Target;
  wrk: WrkResult;
  summary: ProfileSummary;
}

export interface ProfileResult {
  options: ProfileOptions;
  ways: ProfiledWay[];
}

/** The load benchmark's flags, plus `--interval <µs>` and `--save <folder>`. */
export function parseProfileArgs(args: readonly string[]): ProfileOptions {
  const rest: string[] = [];
  let intervalMicros = DEFAULT_PROFILE_OPTIONS.intervalMicros;
  let saveDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const flag = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    if (flag !== "--interval" && flag !== "--save") {
      rest.push(arg);
      continue;
    }
    const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--save") saveDir = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 10) throw new Error(`--interval takes a sampling interval in µs (at least 10), got "${value}"`);
      intervalMicros = n;
    }
  }
  const load = parseLoadArgs(rest);
  return { durationSeconds: load.durationSeconds, connections: load.connections, threads: load.threads, warmupSeconds: load.warmupSeconds, intervalMicros, ...(saveDir !== undefined ? { saveDir } : {}) };
}

/** A DevTools-protocol session with one isolate of workerd (`ws://…/core:user:<worker>`). */
export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message?: string } };
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiter || message.id === undefined) return; // events (console messages and the like)
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`inspector: ${message.error.message ?? JSON.stringify(message.error)}`));
      else waiter.resolve(message.result);
    });
    socket.on("close", () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error("inspector connection closed"));
      this.pending.clear();
    });
  }

  /** The session with `worker`'s isolate: workerd names it `core:user:<worker>` on its inspector port. */
  static forWorker(inspectorUrl: URL, worker: string): Promise<InspectorSession> {
    return InspectorSession.open(`ws://${inspectorUrl.host}/core:user:${worker}`);
  }

  static open(url: string): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once("open", () => resolve(new InspectorSession(socket)));
      socket.once("error", reject);
    });
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Profiles one Worker's isolate while `load` runs. */
async function profileWhile<T>(inspectorUrl: URL, worker: string, intervalMicros: number, load: () => Promise<T>): Promise<{ profile: CpuProfile; value: T }> {
  const session = await InspectorSession.forWorker(inspectorUrl, worker);
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: intervalMicros });
    await session.send("Profiler.start");
    const value = await load();
    const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
    await session.send("Profiler.disable");
    return { profile, value };
  } finally {
    session.close();
  }
}

/** Every Worker with an isolate on workerd's inspector (its `/json` list names them `core:user:<worker>`). */
export async function inspectableWorkers(inspectorUrl: URL): Promise<string[]> {
  const list = (await (await fetch(`http://${inspectorUrl.host}/json`)).json()) as { id?: unknown }[];
  return list.flatMap((entry) => (typeof entry.id === "string" && entry.id.startsWith("core:user:") ? [entry.id.slice("core:user:".length)] : []));
}

function targetNamed(name: ProfiledName): Target {
  const target = TARGETS.find((candidate) => candidate.name === name);
  if (!target) throw new Error(`bench/load.ts has no ${name} way`);
  return target;
}

export async function runProfileBench(options: ProfileOptions = DEFAULT_PROFILE_OPTIONS, progress: (line: string) => void = () => {}): Promise<ProfileResult> {
  if (!wrkInstalled()) throw new WrkNotFoundError();
  progress("bundling workers and starting workerd with its inspector…");
  return withBenchMesh({ WEFT_TELEMETRY: "on" }, { inspectorPort: 0 }, async (mesh) => {
    const targets = PROFILED.map(targetNamed);
    const portOf = (target: Target): number => {
      const port = mesh.workerPorts.get(target.worker);
      if (port === undefined) throw new Error(`no socket for worker ${target.worker}`);
      return port;
    };
    const full = targetNamed("full");
    await applyMesh(portOf(full), strictMeshYaml(), "full.bench");
    const svid = await mintSvid(portOf(full), "frontend");
    for (const target of targets) {
      const answer = await send(portOf(target), target.host, "/anything", { headers: headersFor(target, svid) });
      if (answer.status !== 200 || !answer.body.includes('"v1"')) throw new Error(`${target.name} did not reach httpbin v1: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
    }
    // Module maps from the very files workerd loaded; workerd names a module by its file name.
    const bundles = new Map<string, ModuleMap>();
    for (const target of targets) {
      const script = mesh.scripts.get(target.worker);
      if (script === undefined) throw new Error(`no bundle for ${target.worker}`);
      bundles.set(basename(script), moduleMapOf(readFileSync(script, "utf8"), basename(script)));
    }
    const inspectorUrl = await mesh.mf.getInspectorURL();
    const ways: ProfiledWay[] = [];
    for (const target of targets) {
      const headers = headersFor(target, svid);
      if (options.warmupSeconds > 0) {
        progress(`${target.name}: ${options.warmupSeconds}s warm-up`);
        await runWrk(portOf(target), target, options.warmupSeconds, options, headers);
      }
      progress(`${target.name}: profiling ${target.worker} for ${options.durationSeconds}s with ${options.connections} connections (${options.intervalMicros} µs sampling)`);
      const { profile, value: wrk } = await profileWhile(inspectorUrl, target.worker, options.intervalMicros, () => runWrk(portOf(target), target, options.durationSeconds, options, headers));
      if (options.saveDir !== undefined) {
        mkdirSync(options.saveDir, { recursive: true });
        writeFileSync(join(options.saveDir, `${target.name}.cpuprofile`), JSON.stringify(profile));
      }
      ways.push({ target, wrk, summary: summarizeProfile(profile, bundles, options.intervalMicros) });
    }
    return { options, ways };
  });
}

const micros = (value: number) => value.toFixed(1);

/** µs per request of one category in one way. */
function perRequest(way: ProfiledWay, id: CategoryId): number {
  return (way.summary.byCategory.get(id) ?? 0) / Math.max(1, way.wrk.requests);
}

export function formatProfile(result: ProfileResult): string {
  const { options, ways } = result;
  const header = ["category", ...ways.map((way) => `${way.target.name} µs/req`)];
  const rows: string[][] = [];
  for (const category of CATEGORIES) {
    if (category.id === "idle") continue;
    rows.push([category.label, ...ways.map((way) => micros(perRequest(way, category.id)))]);
  }
  rows.push(["weft code total", ...ways.map((way) => micros(way.summary.weftMicros / Math.max(1, way.wrk.requests)))]);
  rows.push(["busy total", ...ways.map((way) => micros(way.summary.busyMicros / Math.max(1, way.wrk.requests)))]);
  rows.push(["idle", ...ways.map((way) => micros(perRequest(way, "idle")))]);
  const facts = table(
    ["way", "requests", "requests/s", "µs/req (1 / requests/s)", "isolate busy % of wall", "samples", "period µs", "isolate"],
    ways.map((way) => [
      way.target.name,
      String(way.wrk.requests),
      way.wrk.requestsPerSecond.toFixed(0),
      micros(1e6 / Math.max(1, way.wrk.requestsPerSecond)),
      `${((100 * way.summary.busyMicros) / Math.max(1, way.summary.wallMicros)).toFixed(0)}%`,
      String(way.summary.samples),
      micros(way.summary.periodMicros),
      way.target.worker,
    ]),
    [0, 7],
  );
  const lines = [
    `CPU profile: V8 sampling every ${options.intervalMicros} µs in one Worker's isolate while wrk -t${options.threads} -c${options.connections} -d${options.durationSeconds}s loads it ` +
      `(after ${options.warmupSeconds}s warm-up); µs of self time per request by category`,
    "(natives count for their JavaScript caller; a sample counts for one sampling period, so time outside the isolate, in workerd's I/O or other isolates, is in neither column)",
    table(header, rows, [0]),
    "",
    facts,
  ];
  const gateway = ways.find((way) => way.target.name === "full");
  if (gateway) {
    const top = gateway.summary.functions.filter((entry) => entry.category !== "idle").slice(0, 15);
    lines.push(
      "",
      `${gateway.target.name}: the 15 largest self times`,
      table(
        ["µs/req", "category", "function (file, or native)"],
        top.map((entry) => [micros(entry.selfMicros / Math.max(1, gateway.wrk.requests)), categoryLabel(entry.category), entry.name]),
        [1, 2],
      ),
    );
  }
  for (const way of ways) {
    if (way.summary.unknownScriptMicros > 0) lines.push(`WARNING: ${way.target.name}: ${micros(way.summary.unknownScriptMicros / 1000)} ms in scripts with no bundle to attribute them (counted as runtime)`);
    if (way.wrk.errors > 0) lines.push(`WARNING: ${way.target.name}: ${way.wrk.errors} requests failed while profiled`);
  }
  return lines.join("\n");
}

/** CLI body shared with run-all.ts; returns the exit code. */
export async function profileMain(args: readonly string[]): Promise<number> {
  let options: ProfileOptions;
  try {
    options = parseProfileArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  try {
    const result = await runProfileBench(options, (line) => console.log(`[profile] ${line}`));
    console.log(formatProfile(result));
    return result.ways.some((way) => way.wrk.errors > 0) ? 1 : 0;
  } catch (error) {
    console.error(error instanceof WrkNotFoundError ? error.message : error);
    return 1;
  }
}

// Only as a script: run-all.ts imports the functions above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  void profileMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
