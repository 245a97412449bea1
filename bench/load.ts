/**
 * Load benchmark: the same request to httpbin v1 six ways, side by side, on local workerd.
 *
 *   direct       wrk → httpbin v1
 *   passthrough  wrk → a bare Worker forwarding to httpbin v1 over a service binding
 *   gateway      wrk → weft gateway (anonymous mesh call `Host: httpbin.mesh`, PERMISSIVE, route → v1) → httpbin v1
 *   full         wrk → a second weft gateway, STRICT: the caller's SVID verified (cached), an ALLOW
 *                policy, telemetry, a hop token in `x-weft-identity` → httpbin v1
 *   ablation     wrk → a Worker doing only what any forwarding gateway must (identity header,
 *                traceparent, one timeout) → httpbin v1
 *   floor        wrk → a Worker doing the work the `full` row's configuration requires, hand-inlined
 *                as leanly as it can be written (floor-worker.ts): `full` / `floor` is what weft's
 *                structure costs, `floor` / `passthrough` what the required work costs → httpbin v1
 *
 * All live in ONE Miniflare instance (one workerd process) on 127.0.0.1, so they share the
 * runtime and the machine: the differences between rows are the extra Worker hop and weft's own work.
 * The two gateways run the same bundle with their own control plane each (so two configs).
 *
 * How wrk reaches them (`--listen`):
 *   worker (default)  each of the six Workers on its own loopback port (Miniflare
 *                     `unsafeDirectSockets`), as on Cloudflare where a request lands on the Worker.
 *   entry             Miniflare's one shared port, routed by Host header (`routes`), as
 *                     `wrangler dev` serves. Its entry Worker adds a hop of its own (~0.25 ms of CPU
 *                     here) to every way, which dilutes the ratios. `full` is left out: its
 *                     Host, httpbin.mesh, is the other gateway's route.
 * `--telemetry` switches the `gateway` row's recording only; the `full` row always records.
 *
 * `npx tsx bench/load.ts [--duration 10s] [--connections 16] [--threads 1] [--warmup 5s] [--rounds 1] [--listen worker|entry] [--telemetry on|off]`
 * Needs `wrk` (apt-get install -y wrk).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { bundleWorker, COMPATIBILITY_DATE, controlBindings, controlWorkerOptions, exampleWorkerOptions, GATEWAY_NAME, GATEWAY_SERVICE_BINDINGS, ROOT } from "../scripts/example-workers.js";
import { table } from "./route-lookup.js";

/** Loopback only: the admin token below is no secret, and load must never leave the machine. */
const HOST = "127.0.0.1";
export const ADMIN_TOKEN = "bench-admin-token";
const MESH_FILE = "examples/mesh.yaml";
const DIRECT_WORKER = "weft-httpbin-v1";
const PASSTHROUGH_WORKER = "bench-passthrough";
const ABLATION_WORKER = "bench-ablation";
const FLOOR_WORKER = "bench-floor";
/** The STRICT gateway of the `full` row: the same code as GATEWAY_NAME, its own control plane. */
const FULL_GATEWAY = "bench-gateway-full";
/** The control Workers (the mesh's Durable Objects) of the two gateways: one each, so two configs. */
const CONTROL_WORKER = "bench-control";
const FULL_CONTROL_WORKER = "bench-control-full";
/** The caller the `full` row presents an SVID for, and the header the gateway forwards its hop token in. */
const FULL_CALLER = "frontend";
const IDENTITY_HEADER = "x-weft-identity";
const REQUEST_PATH = "/anything";

export interface Target {
  /** Row label. */
  name: "direct" | "passthrough" | "gateway" | "full" | "ablation" | "floor";
  /** The Miniflare worker wrk talks to. */
  worker: string;
  /** Host header wrk sends: Miniflare's entry routes on it, and the gateway routes `httpbin.mesh` on it. */
  host: string;
  what: string;
  /** Sends the minted SVID as `authorization: Bearer …` (the `full` row). */
  authenticated?: boolean;
  /** Needs its own port: its Host is another Worker's route, so Miniflare's entry cannot reach it. */
  ownPortOnly?: boolean;
}

export const TARGETS: readonly Target[] = [
  { name: "direct", worker: DIRECT_WORKER, host: "direct.bench", what: `httpbin v1 itself` },
  { name: "passthrough", worker: PASSTHROUGH_WORKER, host: "passthrough.bench", what: "bare Worker → service binding → httpbin v1" },
  { name: "gateway", worker: GATEWAY_NAME, host: "httpbin.mesh", what: "weft gateway (anonymous mesh call, PERMISSIVE, route → v1) → httpbin v1" },
  {
    name: "full",
    worker: FULL_GATEWAY,
    host: "httpbin.mesh",
    what: `weft gateway, STRICT: ${FULL_CALLER}'s SVID, ALLOW policy, telemetry, hop token → httpbin v1`,
    authenticated: true,
    ownPortOnly: true,
  },
  { name: "ablation", worker: ABLATION_WORKER, host: "ablation.bench", what: "bare forwarder: identity header, traceparent, timeout → httpbin v1" },
  {
    name: "floor",
    worker: FLOOR_WORKER,
    host: "floor.bench",
    what: `full's required work hand-inlined: ${FULL_CALLER}'s token (cached), allowed caller, hop token, one pass each way → httpbin v1`,
    authenticated: true,
  },
];

/** The ways measured with `listen`: the `full` row shares its Host with `gateway`, so it needs its own port. */
export function targetsFor(listen: Listen): Target[] {
  return TARGETS.filter((target) => listen === "worker" || !target.ownPortOnly);
}

export type Listen = "worker" | "entry";

export interface LoadOptions {
  /** Measured seconds per target. */
  durationSeconds: number;
  connections: number;
  threads: number;
  /** Unmeasured seconds per target first (JIT, isolate caches, connection setup). */
  warmupSeconds: number;
  /** Measured passes over the ways; each figure is the median over them. */
  rounds: number;
  /** Which socket wrk connects to (see the file comment). */
  listen: Listen;
  /** Whether the gateway records telemetry (WEFT_TELEMETRY); "off" measures what it costs. */
  telemetry: "on" | "off";
}

export const DEFAULT_LOAD_OPTIONS: LoadOptions = { durationSeconds: 10, connections: 16, threads: 1, warmupSeconds: 5, rounds: 1, listen: "worker", telemetry: "on" };

export interface WrkResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors: anything but 0 makes the row suspect. */
  errors: number;
}

export interface LoadRow extends WrkResult {
  target: Target;
}

export interface LoadResult {
  options: LoadOptions;
  rows: LoadRow[];
}

export class WrkNotFoundError extends Error {
  constructor() {
    super("wrk not found: install it with apt-get install -y wrk");
  }
}

/** Milliseconds from a wrk duration such as `812.00us`, `4.30ms`, `1.20s`, `2.00m`. */
export function parseWrkDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`unexpected wrk duration "${text}"`);
  const value = Number(match[1]);
  const unit = match[2];
  const factor = unit === "us" ? 1e-3 : unit === "ms" ? 1 : unit === "s" ? 1e3 : unit === "m" ? 60e3 : 3600e3;
  return value * factor;
}

/** Figures from `wrk --latency` output. */
export function parseWrkOutput(output: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const total = /^\s*(\d+) requests in /m.exec(output);
  const p50 = /^\s*50%\s+(\S+)/m.exec(output);
  const p99 = /^\s*99%\s+(\S+)/m.exec(output);
  if (!rps?.[1] || !total?.[1] || !p50?.[1] || !p99?.[1]) throw new Error(`could not parse wrk output:\n${output}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(total[1]),
    requestsPerSecond: Number(rps[1]),
    p50Ms: parseWrkDuration(p50[1]),
    p99Ms: parseWrkDuration(p99[1]),
    errors: Number(non2xx?.[1] ?? 0) + socketErrors,
  };
}

/** Seconds from `10`, `10s`, `1500ms` or `1m`; whole seconds, since that is what wrk's -d takes. */
export function parseSeconds(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`${flag} takes a duration such as 10s, got "${text}"`);
  const value = Number(match[1]);
  const seconds = match[2] === "ms" ? value / 1000 : match[2] === "m" ? value * 60 : value;
  return Math.max(0, Math.round(seconds));
}

/** How a bench's flag handler reads the flag's value: as text, or as a positive integer. */
export interface FlagValue {
  text(): string;
  positive(): number;
}

/**
 * Walks `--flag value` and `--flag=value` arguments, handing each flag to `handle`, which returns
 * false for one it does not know (then the walk stops with the list of `known` options).
 */
export function readFlags(args: readonly string[], known: string, handle: (flag: string, value: FlagValue) => boolean): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const text = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positive = (): number => {
      const v = text();
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got "${v}"`);
      return n;
    };
    if (!handle(flag, { text, positive })) throw new Error(`unknown option ${arg} (options: ${known})`);
  }
}

export function parseLoadArgs(args: readonly string[]): LoadOptions {
  const options = { ...DEFAULT_LOAD_OPTIONS };
  readFlags(args, "--duration, --connections, --threads, --warmup, --rounds, --listen, --telemetry", (flag, { text: value, positive }) => {
    if (flag === "--duration") options.durationSeconds = Math.max(1, parseSeconds(value(), flag));
    else if (flag === "--warmup") options.warmupSeconds = parseSeconds(value(), flag);
    else if (flag === "--connections") options.connections = positive();
    else if (flag === "--threads") options.threads = positive();
    else if (flag === "--rounds") options.rounds = positive();
    else if (flag === "--listen") {
      const v = value();
      if (v !== "worker" && v !== "entry") throw new Error(`--listen takes worker or entry, got "${v}"`);
      options.listen = v;
    } else if (flag === "--telemetry") {
      const v = value();
      if (v !== "on" && v !== "off") throw new Error(`--telemetry takes on or off, got "${v}"`);
      options.telemetry = v;
    } else return false;
    return true;
  });
  // wrk refuses more threads than connections.
  options.threads = Math.min(options.threads, options.connections);
  return options;
}

export function wrkInstalled(): boolean {
  const probe = spawnSync("wrk", ["-v"], { stdio: "ignore" });
  // `wrk -v` exits non-zero even when present; only a spawn failure means it is missing.
  return !(probe.error && (probe.error as NodeJS.ErrnoException).code === "ENOENT");
}

interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTP/1.1 request to the local Miniflare with an explicit Host header (fetch() would not send it). */
export function send(port: number, host: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  return new Promise((done, fail) => {
    const req = httpRequest({ host: HOST, port, path, method: init.method ?? "GET", headers: { ...init.headers, host }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", fail);
    });
    req.on("timeout", () => req.destroy(new Error(`${host}${path}: no answer in 30 s`)));
    req.on("error", fail);
    req.end(init.body);
  });
}

export interface BenchMesh {
  mf: Miniflare;
  /** Miniflare's shared entry port (routes by Host). */
  entryPort: number;
  /** Each target Worker's own port. */
  workerPorts: ReadonlyMap<string, number>;
  /** Each Worker's bundle as workerd loaded it (bench/profile.ts maps profile lines to source files with it). */
  scripts: ReadonlyMap<string, string>;
}

/** Where wrk (and the checks) connect for a target. */
function portFor(mesh: BenchMesh, target: Target, listen: Listen): number {
  if (listen === "entry") return mesh.entryPort;
  const port = mesh.workerPorts.get(target.worker);
  if (port === undefined) throw new Error(`no socket for worker ${target.worker}`);
  return port;
}

/** What a caller other than the load benchmark may add to the one workerd (bench/profile.ts: its inspector). */
export interface StartMeshOptions {
  /** Opens workerd's DevTools inspector on this port (0: any free one); `mf.getInspectorURL()` says where. */
  inspectorPort?: number;
}

/** The six entry Workers, the two gateways' control planes and every function it binds, in one workerd. */
export async function startMesh(outDir: string, gatewayVars: Record<string, string> = {}, extra: StartMeshOptions = {}): Promise<BenchMesh> {
  const [functions, gatewayScript, passthroughScript, ablationScript, floorScript, control, fullControl] = await Promise.all([
    exampleWorkerOptions(outDir, GATEWAY_NAME),
    bundleWorker("gateway-worker/src/index.ts", outDir, GATEWAY_NAME),
    bundleWorker("bench/passthrough-worker.ts", outDir, PASSTHROUGH_WORKER),
    bundleWorker("bench/ablation-worker.ts", outDir, ABLATION_WORKER),
    bundleWorker("bench/floor-worker.ts", outDir, FLOOR_WORKER),
    controlWorkerOptions(outDir, CONTROL_WORKER),
    controlWorkerOptions(outDir, FULL_CONTROL_WORKER),
  ]);
  const gateway: WorkerOptions = {
    name: GATEWAY_NAME,
    modules: true,
    scriptPath: gatewayScript,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { WEFT_ADMIN_TOKEN: ADMIN_TOKEN, WEFT_ENV: "dev", ...gatewayVars },
    durableObjects: controlBindings(CONTROL_WORKER),
    serviceBindings: GATEWAY_SERVICE_BINDINGS,
    routes: [`httpbin.mesh/*`, "gateway.bench/*"],
  };
  // The same gateway code again, with its own Durable Objects (so its own control plane and config:
  // the STRICT mesh) and telemetry always on, as production runs it. Reached on its own port only.
  const fullGateway: WorkerOptions = {
    ...gateway,
    name: FULL_GATEWAY,
    durableObjects: controlBindings(FULL_CONTROL_WORKER),
    bindings: { WEFT_ADMIN_TOKEN: ADMIN_TOKEN, WEFT_ENV: "dev", ...gatewayVars, WEFT_TELEMETRY: "on" },
    routes: ["full.bench/*"],
  };
  const ablation: WorkerOptions = {
    name: ABLATION_WORKER,
    modules: true,
    scriptPath: ablationScript,
    compatibilityDate: COMPATIBILITY_DATE,
    serviceBindings: { TARGET: DIRECT_WORKER },
    routes: ["ablation.bench/*"],
  };
  const floor: WorkerOptions = { ...ablation, name: FLOOR_WORKER, scriptPath: floorScript, routes: ["floor.bench/*"] };
  const passthrough: WorkerOptions = {
    name: PASSTHROUGH_WORKER,
    modules: true,
    scriptPath: passthroughScript,
    compatibilityDate: COMPATIBILITY_DATE,
    serviceBindings: { TARGET: DIRECT_WORKER },
    routes: ["passthrough.bench/*"],
  };
  const workers: WorkerOptions[] = [
    // First: Miniflare sends requests that match no route to the first worker, as `npm run dev` does.
    gateway,
    passthrough,
    fullGateway,
    ablation,
    floor,
    control,
    fullControl,
    ...functions.map((worker): WorkerOptions => (worker.name === DIRECT_WORKER ? { ...worker, routes: ["direct.bench/*"] } : worker)),
  ].map((worker) => ({
    ...worker,
    // Bundles sit in a temp dir; module names are resolved against modulesRoot (default: cwd),
    // and workerd refuses names that climb out of it with "..".
    modulesRoot: outDir,
    // The targets also get a loopback port of their own (port 0: workerd picks a free one).
    ...(TARGETS.some((t) => t.worker === worker.name) ? { unsafeDirectSockets: [{ host: HOST, port: 0 }] } : {}),
  }));
  // cf: false: no internet here, and no Worker under test reads request.cf.
  const mf = new Miniflare({ host: HOST, port: 0, cf: false, log: new Log(LogLevel.WARN), workers, ...(extra.inspectorPort !== undefined ? { inspectorPort: extra.inspectorPort } : {}) });
  try {
    const url = await mf.ready;
    const workerPorts = new Map<string, number>();
    for (const target of TARGETS) workerPorts.set(target.worker, Number((await mf.unsafeGetDirectURL(target.worker)).port));
    const scripts = new Map(workers.flatMap((worker) => ("scriptPath" in worker && typeof worker.scriptPath === "string" && worker.name !== undefined ? [[worker.name, worker.scriptPath] as const] : [])));
    return { mf, entryPort: Number(url.port), workerPorts, scripts };
  } catch (error) {
    await mf.dispose().catch(() => undefined);
    throw error;
  }
}

/** The example mesh without its access log: a console line per request would measure the log pipe, not the gateway. */
/**
 * The example mesh without access logs and without its Rollout: a rollout's checks on the control
 * plane's real alarm would move orders' split (and store versions) in the middle of a run.
 */
function benchMeshYaml(): string {
  return readFileSync(resolve(ROOT, MESH_FILE), "utf8")
    .replace(/^  telemetry: .*$/m, "")
    .split(/\n---\n/)
    .filter((document) => !/^kind: Rollout$/m.test(document))
    .join("\n---\n");
}

/** The `gateway` row's mesh: PERMISSIVE, so it measures the routing path with anonymous calls. */
export function permissiveMeshYaml(): string {
  return benchMeshYaml().replace("mode: STRICT", "mode: PERMISSIVE");
}

/**
 * The `full` row's mesh: STRICT as shipped, with httpbin's allow-anyone policy replaced by one that
 * lets only FULL_CALLER in, so the policy is evaluated against a named caller.
 */
export function strictMeshYaml(): string {
  const documents = benchMeshYaml().split(/\n---\n/);
  const kept = documents.filter((document) => !/^metadata: \{ name: httpbin-public \}$/m.test(document));
  if (kept.length !== documents.length - 1 || !/mode: STRICT/.test(benchMeshYaml())) throw new Error(`${MESH_FILE} changed: no STRICT mode or no httpbin-public policy to replace`);
  kept.push(
    ["apiVersion: weft/v1", "kind: AuthorizationPolicy", "metadata: { name: httpbin-from-caller }", "spec:", "  target: httpbin", "  action: ALLOW", `  rules: [{ from: [${FULL_CALLER}] }]`, ""].join("\n"),
  );
  return kept.join("\n---\n");
}

/** Applies a variant of examples/mesh.yaml through a gateway's admin API, as an operator would. */
export async function applyMesh(port: number, yaml: string = permissiveMeshYaml(), host = "gateway.bench"): Promise<number> {
  const answer = await send(port, host, "/.weft/api/v1/config", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/yaml" },
    body: yaml,
  });
  if (answer.status !== 200) throw new Error(`applying ${MESH_FILE} failed: HTTP ${answer.status} ${answer.body}`);
  const parsed: unknown = JSON.parse(answer.body);
  const version = typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined;
  return typeof version === "number" ? version : -1;
}

/** An SVID for `service`, minted by a gateway's control plane through its admin API. */
export async function mintSvid(port: number, service: string, host = "full.bench"): Promise<string> {
  const answer = await send(port, host, "/.weft/api/v1/tokens", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ service, ttlSeconds: 900 }),
  });
  let token: unknown;
  try {
    const parsed: unknown = JSON.parse(answer.body);
    token = typeof parsed === "object" && parsed !== null && "token" in parsed ? parsed.token : undefined;
  } catch {
    token = undefined;
  }
  if (answer.status !== 200 || typeof token !== "string" || token === "") throw new Error(`minting an SVID for ${service} failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  return token;
}

/** Request headers wrk (and the checks) send to a target, besides Host. */
export function headersFor(target: Target, svid: string | undefined): Record<string, string> {
  if (!target.authenticated) return {};
  if (svid === undefined) throw new Error(`${target.name} needs an SVID`);
  return { authorization: `Bearer ${svid}` };
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Each way must reach httpbin v1 with a 200 before load numbers about it mean anything; the ways
 * that vouch for a caller (full, ablation) must also have delivered `x-weft-identity` to httpbin,
 * which echoes the request headers it saw on /headers. Returns the identity header's size per way.
 */
async function checkTargets(mesh: BenchMesh, targets: readonly Target[], listen: Listen, svid: string | undefined): Promise<Map<string, number>> {
  const identitySizes = new Map<string, number>();
  for (const target of targets) {
    const port = portFor(mesh, target, listen);
    const headers = headersFor(target, svid);
    for (const path of [REQUEST_PATH, "/headers"]) {
      const answer = await send(port, target.host, path, { headers });
      const parsed = parseJson(answer.body);
      if (answer.status !== 200 || parsed?.version !== "v1") {
        throw new Error(`${target.name} (Host: ${target.host}) did not reach httpbin v1 at ${path}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
      }
      if (path !== "/headers" || (target.name !== "full" && target.name !== "ablation" && target.name !== "floor")) continue;
      const seen = parsed.headers as Record<string, unknown> | undefined;
      const identity = seen?.[IDENTITY_HEADER];
      if (typeof identity !== "string" || identity === "") {
        throw new Error(`${target.name} (Host: ${target.host}) reached httpbin v1 without an ${IDENTITY_HEADER} header: ${answer.body.slice(0, 500)}`);
      }
      identitySizes.set(target.name, identity.length);
    }
  }
  return identitySizes;
}

/** The wrk child currently running, so a signal handler can stop it. */
let runningWrk: ChildProcess | undefined;

/** `wrk --latency` against one way for `seconds`; a Ctrl-C during a bench run stops it. */
export function runWrk(port: number, target: Target, seconds: number, options: Pick<LoadOptions, "threads" | "connections">, headers: Record<string, string> = {}): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${seconds}s`,
    "--latency",
    // A stalled request should show as a timeout, not hang the run.
    "--timeout",
    "10s",
    "-H",
    `Host: ${target.host}`,
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    `http://${HOST}:${port}${REQUEST_PATH}`,
  ];
  return new Promise((done, fail) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    runningWrk = child;
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.once("error", (error: NodeJS.ErrnoException) => {
      runningWrk = undefined;
      fail(error.code === "ENOENT" ? new WrkNotFoundError() : error);
    });
    child.once("close", (code, signal) => {
      runningWrk = undefined;
      if (code !== 0) {
        fail(new Error(`wrk ${args.join(" ")} exited with ${signal ?? code}: ${stderr || stdout}`));
        return;
      }
      try {
        done(parseWrkOutput(stdout));
      } catch (error) {
        fail(error);
      }
    });
  });
}

/**
 * Bundles and starts the bench's workerd (`startMesh`) in a temporary folder, runs `body` against it,
 * and always tears it down: on return, on error, and on Ctrl-C (which also stops a running wrk).
 * Every bench that needs the running mesh (load, profile, apply-stall) starts it through here, so a
 * change of layout is made in `startMesh` once.
 */
export async function withBenchMesh<T>(gatewayVars: Record<string, string>, extra: StartMeshOptions, body: (mesh: BenchMesh) => Promise<T>): Promise<T> {
  const outDir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  let mf: Miniflare | undefined;
  const stop = async () => {
    runningWrk?.kill("SIGTERM");
    const instance = mf;
    mf = undefined;
    try {
      await instance?.dispose();
    } catch {
      // On Ctrl-C the terminal signals workerd too, so it may already be gone.
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  };
  // Ctrl-C mid-run still stops wrk and workerd and removes the bundles. The synchronous part
  // matters: Miniflare's own exit hook calls process.exit() in the same tick (after killing
  // workerd), before an async dispose could finish. `on`, not `once`: the signal can arrive twice
  // (from the terminal and relayed by tsx), and with no listener left a second one would kill us.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    runningWrk?.kill("SIGTERM");
    rmSync(outDir, { recursive: true, force: true });
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const mesh = await startMesh(outDir, gatewayVars, extra);
    mf = mesh.mf;
    return await body(mesh);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await stop();
  }
}

/** Starts the mesh, measures the ways one after the other, and always tears everything down. */
export async function runLoadBench(options: LoadOptions = DEFAULT_LOAD_OPTIONS, progress: (line: string) => void = () => {}): Promise<LoadResult> {
  if (!wrkInstalled()) throw new WrkNotFoundError();
  progress("bundling workers and starting workerd…");
  return withBenchMesh({ WEFT_TELEMETRY: options.telemetry }, {}, async (mesh) => {
    const targets = targetsFor(options.listen);
    const version = await applyMesh(mesh.entryPort);
    progress(`applied ${MESH_FILE} (PERMISSIVE) to ${GATEWAY_NAME} as config version ${version}`);
    let svid: string | undefined;
    if (targets.some((target) => target.authenticated)) {
      const fullPort = mesh.workerPorts.get(FULL_GATEWAY);
      if (fullPort === undefined) throw new Error(`no socket for worker ${FULL_GATEWAY}`);
      const fullVersion = await applyMesh(fullPort, strictMeshYaml(), "full.bench");
      svid = await mintSvid(fullPort, FULL_CALLER);
      progress(`applied ${MESH_FILE} (STRICT, httpbin allows ${FULL_CALLER}) to ${FULL_GATEWAY} as config version ${fullVersion}; minted an SVID for ${FULL_CALLER}`);
    } else progress(`--listen entry: no full row (its Host, httpbin.mesh, is the other gateway's route on the shared port)`);
    progress("checking each way reaches httpbin v1");
    const identitySizes = await checkTargets(mesh, targets, options.listen, svid);
    if (identitySizes.size > 0) progress(`${IDENTITY_HEADER} as httpbin saw it: ${[...identitySizes].map(([name, size]) => `${name} ${size} bytes`).join(", ")}`);
    // Warm every way up before measuring any: workerd's heap grows under load for a while, and
    // whichever way ran first against a fresh process would look better than it is.
    if (options.warmupSeconds > 0) {
      progress(`warming up each way for ${options.warmupSeconds}s`);
      for (const target of targets) await runWrk(portFor(mesh, target, options.listen), target, options.warmupSeconds, options, headersFor(target, svid));
    }
    const samples = targets.map((): WrkResult[] => []);
    // Rounds interleave the ways, so drift on a shared machine spreads over all of them.
    for (let round = 1; round <= options.rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const port = portFor(mesh, target, options.listen);
        const of = options.rounds > 1 ? ` [round ${round}/${options.rounds}]` : "";
        progress(`${target.name}: ${options.durationSeconds}s with ${options.connections} connections to :${port} (Host: ${target.host})${of}`);
        samples[i]?.push(await runWrk(port, target, options.durationSeconds, options, headersFor(target, svid)));
      }
    }
    return { options, rows: targets.map((target, i) => ({ target, ...combine(samples[i] ?? []) })) };
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

/** One row from several rounds: the median of each figure, the sum of the counts. */
export function combine(results: readonly WrkResult[]): WrkResult {
  return {
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

const fmt = (n: number, digits: number) => n.toFixed(digits);

export function formatLoad(result: LoadResult): string {
  const { options, rows } = result;
  const byName = new Map(rows.map((row) => [row.target.name, row]));
  const lines = [
    `load (wrk -t${options.threads} -c${options.connections} -d${options.durationSeconds}s, GET ${REQUEST_PATH}, after ${options.warmupSeconds}s warm-up of each` +
      `${options.rounds > 1 ? `; median of ${options.rounds} interleaved rounds` : ""}; one workerd on ${HOST}, ` +
      `${options.listen === "worker" ? "each Worker on its own port" : "through Miniflare's entry Worker"}; gateway telemetry ${options.telemetry}, full: on)`,
    table(
      ["way", "requests/s", "p50 ms", "p99 ms", "requests", "errors", "path"],
      rows.map((row) => [
        row.target.name,
        fmt(row.requestsPerSecond, 0),
        fmt(row.p50Ms, 2),
        fmt(row.p99Ms, 2),
        String(row.requests),
        String(row.errors),
        row.target.what,
      ]),
      [0, 6],
    ),
  ];
  const ratios: string[][] = [];
  const pairs = [
    ["gateway", "gateway", "direct"],
    ["gateway", "gateway", "passthrough"],
    ["full pipeline", "full", "passthrough"],
    ["full pipeline", "full", "ablation"],
    ["floor", "floor", "passthrough"],
    ["full pipeline", "full", "floor"],
  ] as const;
  for (const [label, name, base] of pairs) {
    const row = byName.get(name);
    const other = byName.get(base);
    if (!row || !other) continue;
    ratios.push([
      `${label} / ${base}`,
      `${fmt(row.requestsPerSecond / other.requestsPerSecond, 2)}×`,
      `${fmt(row.p50Ms / other.p50Ms, 2)}×`,
      `${fmt(row.p99Ms / other.p99Ms, 2)}×`,
      `${fmt(row.p50Ms - other.p50Ms, 2)} ms`,
    ]);
  }
  if (ratios.length > 0) lines.push("", table(["ratio", "requests/s", "p50", "p99", "p50 added"], ratios, [0]));
  if (rows.some((row) => row.errors > 0)) lines.push("", "WARNING: some requests failed (non-2xx or socket errors); those rows are suspect.");
  return lines.join("\n");
}

/** CLI body shared with run-all.ts; returns the exit code. */
export async function loadMain(args: readonly string[]): Promise<number> {
  let options: LoadOptions;
  try {
    options = parseLoadArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  try {
    const result = await runLoadBench(options, (line) => console.log(`[load] ${line}`));
    console.log(formatLoad(result));
    return result.rows.some((row) => row.errors > 0) ? 1 : 0;
  } catch (error) {
    if (error instanceof WrkNotFoundError) {
      console.error(error.message);
      return 1;
    }
    console.error(error);
    return 1;
  }
}

// Only as a script: run-all.ts imports the functions above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  // exitCode, not exit(): let piped stdout drain; nothing keeps the loop alive once Miniflare is disposed.
  void loadMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
