/**
 * `npm run soak`: the example mesh under steady mixed traffic for a long while, watched for
 * anything that grows (docs/reliability.md#soak).
 *
 *   npm run soak                                   # 15 minutes at 100 requests/s
 *   npm run soak -- --duration 5m --rate 50 --sample-every 30s --idle 1m --json soak.json
 *
 * Two workerd processes on 127.0.0.1, each its own Miniflare: the mesh (gateway, control Worker
 * with its Durable Objects persisted to a temporary directory, the example functions) and, as the
 * yardstick, a bare pass-through Worker in front of the same httpbin function. Both get the same
 * request rate. The mesh's traffic is mixed: ingress calls with random methods, hosts and paths,
 * random status codes 200–599, 1% slow and 1% failing upstream answers, flaky calls the retries
 * hide, mesh calls with frontend's SVID (to httpbin and to orders' canary split), the shop's
 * frontend → orders → catalog calls with the functions' own credentials, denied anonymous calls and
 * refused bad tokens.
 *
 * Every sample (each `--sample-every`, after a forced GC through the runtime's inspector): the
 * gateway isolate's JS heap, every per-isolate structure's size and cap (`weft_isolate_entries`,
 * `weft_isolate_entry_limit`), both workerd processes' RSS, the Durable Objects' storage on disk and
 * the length of /.weft/metrics. After the traffic, `--idle` without requests and a last GC show
 * whether the processes give memory back. `judgeSoak` says what failed; the exit code follows it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { MINUTE_RETENTION_MS } from "../control-durable/src/telemetry-rollup.js";
import { bounded } from "../gateway-worker/src/bounded.js";
import { InspectorSession } from "../bench/profile.js";
import { parseDuration } from "../sdk/src/config/duration.js";
import { seededRandom } from "./demo-traffic.js";
import { childWorkerdPids, freePort } from "./e2e-support.js";
import { bundleWorker, COMPATIBILITY_DATE, controlWorkerOptions, EXAMPLE_WORKERS, exampleWorkerOptions, GATEWAY_NAME, gatewayWorkerOptions, ROOT } from "./example-workers.js";

const HOST = "127.0.0.1";
const ADMIN_TOKEN = "soak-admin-token-0123456789abcdefghij";
const PASSTHROUGH_NAME = "soak-passthrough";
const TARGET_NAME = "weft-httpbin-v1";
/** The example mesh with the rollout's checks an hour apart: the canary split stays as shipped (90/10) for the whole soak. */
export const SOAK_MESH = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8").replace("analysis: { interval: 1m,", "analysis: { interval: 1h,");
/** Requests in flight at most per process: a slow mesh gets queued requests, not an unbounded pile. */
const MAX_IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 20_000;

export interface SoakOptions {
  durationMs: number;
  /** Requests per second to each process (the mesh, and the pass-through). */
  ratePerSecond: number;
  sampleEveryMs: number;
  /** Samples before this are warm-up: the heap and RSS are judged from the first one after it. */
  warmupMs: number;
  /** Quiet time after the traffic, before the last sample. */
  idleMs: number;
  seed: number;
  log: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = { durationMs: 15 * 60_000, ratePerSecond: 100, sampleEveryMs: 60_000, warmupMs: 2 * 60_000, idleMs: 60_000, seed: 1, log: (line) => console.log(line) };

export interface StructureSample {
  entries: number;
  limit: number | null;
}

export interface SoakSample {
  /** Since the traffic started. */
  atMs: number;
  phase: "traffic" | "idle";
  meshRequests: number;
  /** Worker invocations those requests made in the mesh's process (see REQUEST_KINDS). */
  meshInvocations: number;
  passthroughRequests: number;
  /** The gateway isolate's JS heap after a forced GC. */
  gatewayHeapBytes: number;
  meshRssBytes: number;
  passthroughRssBytes: number;
  /** The telemetry objects' SQLite databases (their size as SQLite counts it: pages in use, checkpointed or not). */
  storageBytes: number;
  /** All Durable Objects' files on disk: databases and write-ahead logs. */
  diskBytes: number;
  metricsLines: number;
  structures: Record<string, StructureSample>;
}

/** What one kind of request may answer; anything else is unexpected. */
interface RequestKind {
  name: string;
  /** Share of the mesh's requests. */
  weight: number;
  build: (random: () => number, tokens: Tokens) => { url: string; init: RequestInit; expected: readonly number[]; invocations: number };
}

interface Tokens {
  frontendSvid: string;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** The orders the example's orders function knows. */
const ORDER_IDS = ["1001", "1002", "1003"] as const;
const word = (random: () => number) => Math.floor(random() * 36 ** 6).toString(36);

/**
 * The mesh's mix. Each kind's expected answers are what the example mesh promises for it, and its
 * `invocations` the Worker invocations one request makes in the mesh's process (the gateway for
 * every hop, and each function), counted from the example's call graph and never more than
 * certain: retries, the orders v2 canary's call to catalog and the shop's SDK token exchanges are
 * left out, so the per-invocation comparison with the pass-through (two per request) errs against
 * the mesh.
 */
export const REQUEST_KINDS: readonly RequestKind[] = [
  {
    name: "ingress, random method, host and path",
    weight: 30,
    build: (random) => {
      const method = METHODS[Math.floor(random() * METHODS.length)] ?? "GET";
      const host = random() < 0.5 ? "shop.example" : `${word(random)}.example.org`;
      return { url: `http://${host}/httpbin/anything/${word(random)}/${word(random)}?q=${word(random)}`, init: { method, ...(method === "GET" || method === "DELETE" ? {} : { body: word(random) }) }, expected: [200], invocations: 2 };
    },
  },
  {
    name: "ingress, random status 200-599",
    weight: 8,
    build: (random) => {
      // 407 aside: a fetch client turns it into a network error by the Fetch standard, whoever sent it.
      const drawn = 200 + Math.floor(random() * 400);
      const code = drawn === 407 ? 408 : drawn;
      // 502, 503 and 504 are retried (3 attempts in all).
      return { url: `http://shop.example/httpbin/status/${code}`, init: {}, expected: [code], invocations: code >= 502 && code <= 504 ? 4 : 2 };
    },
  },
  { name: "slow upstream (1%)", weight: 1, build: (random) => ({ url: `http://shop.example/httpbin/delay/${200 + Math.floor(random() * 600)}`, init: {}, expected: [200], invocations: 2 }) },
  { name: "failing upstream (1%)", weight: 1, build: () => ({ url: "http://shop.example/httpbin/status/500", init: {}, expected: [500], invocations: 2 }) },
  // Fails 20% of the time at httpbin; three attempts on 503 leave 0.8% failed (retry budget permitting).
  { name: "flaky upstream, retried", weight: 5, build: () => ({ url: "http://shop.example/httpbin/flaky?rate=0.2", init: {}, expected: [200, 503], invocations: 2 }) },
  {
    name: "mesh call with an SVID",
    weight: 15,
    build: (random, tokens) => ({ url: `http://httpbin.mesh/anything/${word(random)}`, init: { headers: { authorization: `Bearer ${tokens.frontendSvid}` } }, expected: [200], invocations: 2 }),
  },
  {
    name: "mesh call to orders' canary split",
    weight: 10,
    build: (random, tokens) => ({ url: `http://orders.mesh/orders/${ORDER_IDS[Math.floor(random() * ORDER_IDS.length)]}`, init: { headers: { authorization: `Bearer ${tokens.frontendSvid}` } }, expected: [200], invocations: 2 }),
  },
  {
    name: "shop: frontend → orders → catalog",
    weight: 15,
    build: (random) => ({ url: `http://shop.example/api/shop/orders/${ORDER_IDS[Math.floor(random() * ORDER_IDS.length)]}`, init: random() < 0.2 ? { headers: { "x-canary": "1" } } : {}, expected: [200], invocations: 4 }),
  },
  // frontend renders the page from catalog's products.
  { name: "shop front page", weight: 5, build: () => ({ url: "http://shop.example/", init: {}, expected: [200], invocations: 4 }) },
  { name: "anonymous call to orders (denied)", weight: 5, build: (random) => ({ url: `http://orders.mesh/orders/${word(random)}`, init: {}, expected: [401, 403], invocations: 1 }) },
  {
    name: "bad token (refused)",
    weight: 5,
    build: (random) => ({ url: `http://httpbin.mesh/anything/${word(random)}`, init: { headers: { authorization: `Bearer ${word(random)}.${word(random)}.${word(random)}` } }, expected: [401], invocations: 1 }),
  },
];

export interface SoakReport {
  options: Omit<SoakOptions, "log">;
  samples: SoakSample[];
  /** Mesh answers by kind and status ("error" for no answer). */
  statuses: Record<string, Record<string, number>>;
  /** The first unexpected answers, to read. */
  unexpected: string[];
  unexpectedCount: number;
  passthroughFailures: number;
  /** Series rows the telemetry objects held at the end, per destination (the storage's main content). */
  configEndpoints: number;
}

/** Requests at a steady rate, at most MAX_IN_FLIGHT at once; a request that cannot start waits for a slot. */
class SteadyLoad {
  sent = 0;
  private inFlight = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(ratePerSecond: number, send: (index: number) => Promise<void>) {
    const interval = 1000 / ratePerSecond;
    const started = performance.now();
    this.done = (async () => {
      const pending = new Set<Promise<void>>();
      for (let index = 0; this.running; index++) {
        const due = started + index * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolveWait) => setTimeout(resolveWait, wait));
        while (this.inFlight >= MAX_IN_FLIGHT) await Promise.race(pending);
        if (!this.running) break;
        this.inFlight++;
        this.sent++;
        const request = send(index).finally(() => {
          this.inFlight--;
          pending.delete(request);
        });
        pending.add(request);
      }
      await Promise.all(pending);
    })();
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }
}

/** The request's answer, or an error once REQUEST_TIMEOUT_MS have passed without one (headers and body). */
function withTimeout(answer: Promise<Response>, what: string): Promise<Response> {
  // Read whole inside the limit, so a body that stalls counts as no answer too.
  const whole = answer.then(async (response) => new Response(NULL_BODY_STATUSES.has(response.status) ? null : await response.arrayBuffer(), { status: response.status, statusText: response.statusText, headers: response.headers }));
  return bounded(whole, REQUEST_TIMEOUT_MS, `no answer within ${REQUEST_TIMEOUT_MS} ms: ${what}`);
}

/** Statuses whose answers the Fetch standard gives no body. */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Bytes of the files under `dir`: the SQLite databases, and apart from them their write-ahead logs (-wal, -shm). */
function storageOnDisk(dir: string, into = { databases: 0, logs: 0 }): { databases: number; logs: number } {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) storageOnDisk(path, into);
    else if (/-(wal|shm)$/.test(entry.name)) into.logs += statSync(path).size;
    else into.databases += statSync(path).size;
  }
  return into;
}

/**
 * Forces a GC in the Worker's isolate through the runtime's inspector, then reads its heap. The
 * runtime reads inspector messages when the isolate runs, so an idle one is woken with `poke` (a
 * health check) until the answers come.
 */
async function heapAfterGc(inspectorPort: number, worker: string, poke: () => Promise<unknown>): Promise<number> {
  const session = await InspectorSession.forWorker(new URL(`ws://${HOST}:${inspectorPort}`), worker);
  let answered = false;
  const waking = (async () => {
    while (!answered) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
      if (!answered) await poke().catch(() => undefined);
    }
  })();
  try {
    await session.send("HeapProfiler.collectGarbage");
    return (await session.send<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize;
  } finally {
    answered = true;
    await waking;
    session.close();
  }
}

/** `weft_isolate_entries` and `weft_isolate_entry_limit` from the gateway's metrics, and the page's length. */
export function parseStructures(metrics: string): { structures: Record<string, StructureSample>; lines: number } {
  const structures: Record<string, StructureSample> = {};
  for (const line of metrics.split("\n")) {
    const match = /^weft_isolate_(entries|entry_limit)\{structure="([a-z_]+)"\} (\d+(?:\.\d+)?)$/.exec(line);
    if (!match) continue;
    const name = match[2] as string;
    const entry = (structures[name] ??= { entries: 0, limit: null });
    if (match[1] === "entries") entry.entries = Number(match[3]);
    else entry.limit = Number(match[3]);
  }
  return { structures, lines: metrics.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length };
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options;
  const dir = mkdtempSync(join(tmpdir(), "weft-soak-"));
  // Miniflare names modules by their path from the working directory: bundles stay in the repository.
  const outDir = join(ROOT, ".wrangler", "soak", String(process.pid));
  const state = join(dir, "state");
  let mesh: Miniflare | undefined;
  let passthrough: Miniflare | undefined;
  const runtimeOutput = { lines: 0, errors: [] as string[] };
  const drain = (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
    // Access logs and runtime chatter: counted, not printed (thousands a minute).
    stdout.on("data", (chunk: Buffer) => (runtimeOutput.lines += chunk.toString().split("\n").length - 1));
    stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      if (runtimeOutput.errors.length < 20 && /error/i.test(text)) runtimeOutput.errors.push(text.slice(0, 500));
    });
  };
  try {
    const inspectorPort = await freePort();
    const before = new Set(childWorkerdPids(process.pid));
    const gatewayVars = { WEFT_ADMIN_TOKEN: ADMIN_TOKEN, WEFT_ENV: "dev" };
    const functions = await exampleWorkerOptions(outDir, GATEWAY_NAME);
    const gatewayOptions: WorkerOptions = await gatewayWorkerOptions(outDir, "weft-control", gatewayVars);
    const controlOptions: WorkerOptions = await controlWorkerOptions(outDir);
    const meshWorkers = (credentials: Record<string, string>): WorkerOptions[] => [
      gatewayOptions,
      controlOptions,
      ...functions.map((worker) => (credentials[worker.name] ? { ...worker, bindings: { ...worker.bindings, WEFT_CREDENTIAL: credentials[worker.name] as string } } : worker)),
    ];
    const meshShared = { host: HOST, port: 0, inspectorPort, durableObjectsPersist: state, log: new Log(LogLevel.WARN), handleRuntimeStdio: drain };
    mesh = new Miniflare({ ...meshShared, workers: meshWorkers({}) });
    await mesh.ready;

    const call = (url: string, init: RequestInit = {}) => withTimeout((mesh as Miniflare).dispatchFetch(url, init as never) as unknown as Promise<Response>, `${init.method ?? "GET"} ${url}`);
    const admin = async (path: string, init: RequestInit = {}) => {
      const response = await call(`http://${HOST}/.weft/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...(init.headers ?? {}) } });
      const body = (await response.json()) as Record<string, unknown>;
      if (response.status >= 300) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
      return body;
    };
    await admin("/config", { method: "POST", headers: { "content-type": "application/yaml" }, body: SOAK_MESH });
    // The functions that call peers get their own credentials, as `npm run dev` gives them (STRICT mesh).
    const credentials: Record<string, string> = {};
    for (const worker of EXAMPLE_WORKERS.filter((candidate) => candidate.callsPeers)) {
      const service = worker.name.replace(/^weft-/, "").replace(/-v\d+$/, "");
      credentials[worker.name] = String((await admin("/credentials", { method: "POST", body: JSON.stringify({ service }) })).credential);
    }
    await mesh.setOptions({ ...meshShared, workers: meshWorkers(credentials) });
    // Found after the last restart of its runtime (new options may start a new process).
    const meshPid = childWorkerdPids(process.pid).find((pid) => !before.has(pid));
    if (meshPid === undefined) throw new Error("could not find the mesh's workerd process");
    const frontendSvid = async () => String((await admin("/tokens", { method: "POST", body: JSON.stringify({ service: "frontend" }) })).token);
    const tokens: Tokens = { frontendSvid: await frontendSvid() };
    const configEndpoints = ((await admin("/services")).services as { subsets: { endpoints: unknown[] }[] }[]).reduce((sum, service) => sum + service.subsets.reduce((inner, subset) => inner + subset.endpoints.length, 0), 0);

    const beforePassthrough = new Set(childWorkerdPids(process.pid));
    passthrough = new Miniflare({
      host: HOST,
      port: 0,
      log: new Log(LogLevel.WARN),
      handleRuntimeStdio: drain,
      workers: [
        { name: PASSTHROUGH_NAME, modules: true, scriptPath: await bundleWorker("bench/passthrough-worker.ts", outDir, PASSTHROUGH_NAME), compatibilityDate: COMPATIBILITY_DATE, serviceBindings: { TARGET: TARGET_NAME } },
        ...functions.filter((worker) => worker.name === TARGET_NAME),
      ],
    });
    await passthrough.ready;
    const passthroughPid = childWorkerdPids(process.pid).find((pid) => !beforePassthrough.has(pid));
    if (passthroughPid === undefined) throw new Error("could not find the pass-through's workerd process");

    // The mix, drawn from a seeded generator so two runs send the same requests.
    const random = seededRandom(options.seed);
    const totalWeight = REQUEST_KINDS.reduce((sum, kind) => sum + kind.weight, 0);
    const pick = (): RequestKind => {
      let at = random() * totalWeight;
      for (const kind of REQUEST_KINDS) if ((at -= kind.weight) < 0) return kind;
      return REQUEST_KINDS[0] as RequestKind;
    };
    const statuses: Record<string, Record<string, number>> = {};
    const unexpected: string[] = [];
    let unexpectedCount = 0;
    let passthroughFailures = 0;
    let meshInvocations = 0;
    const count = (kind: string, status: string) => {
      const byStatus = (statuses[kind] ??= {});
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    };
    const meshLoad = new SteadyLoad(options.ratePerSecond, async () => {
      const kind = pick();
      const { url, init, expected, invocations } = kind.build(random, tokens);
      meshInvocations += invocations;
      try {
        const response = await call(url, init);
        const body = await response.text();
        count(kind.name, String(response.status));
        if (!expected.includes(response.status)) {
          unexpectedCount++;
          if (unexpected.length < 20) unexpected.push(`${kind.name}: ${init.method ?? "GET"} ${url} → ${response.status} ${body.slice(0, 200)}`);
        }
      } catch (error) {
        count(kind.name, "error");
        unexpectedCount++;
        if (unexpected.length < 20) unexpected.push(`${kind.name}: ${url} → ${(error as Error).message}`);
      }
    });
    const passthroughLoad = new SteadyLoad(options.ratePerSecond, async () => {
      try {
        const url = `http://${HOST}/anything/${word(random)}`;
        const response = await withTimeout((passthrough as Miniflare).dispatchFetch(url) as unknown as Promise<Response>, `GET ${url}`);
        await response.arrayBuffer();
        if (response.status !== 200) passthroughFailures++;
      } catch {
        passthroughFailures++;
      }
    });
    const started = Date.now();
    // SVIDs live 10 minutes in the example mesh; the caller renews at about half.
    const renew = setInterval(() => void frontendSvid().then((token) => (tokens.frontendSvid = token), () => undefined), 4 * 60_000);

    // One telemetry object per destination, plus the mesh's own answers' (UNROUTED_SHARD).
    const telemetry = await mesh.getDurableObjectNamespace("TELEMETRY", "weft-control");
    const shards = [...new Set(((await admin("/services")).services as { name: string }[]).map((service) => service.name)), "_mesh"];
    const telemetryStorageBytes = async () => {
      let total = 0;
      for (const shard of shards) total += await (telemetry.get(telemetry.idFromName(shard)) as unknown as { storageBytes(): Promise<number> }).storageBytes();
      return total;
    };
    const samples: SoakSample[] = [];
    const sample = async (phase: SoakSample["phase"]): Promise<void> => {
      const metrics = await (await call(`http://${HOST}/.weft/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
      const { structures, lines } = parseStructures(metrics);
      const taken: SoakSample = {
        atMs: Date.now() - started,
        phase,
        meshRequests: meshLoad.sent,
        meshInvocations,
        passthroughRequests: passthroughLoad.sent,
        gatewayHeapBytes: await heapAfterGc(inspectorPort, GATEWAY_NAME, () => call(`http://${HOST}/.weft/healthz`)),
        meshRssBytes: rssBytes(meshPid),
        passthroughRssBytes: rssBytes(passthroughPid),
        storageBytes: await telemetryStorageBytes(),
        diskBytes: (({ databases, logs }) => databases + logs)(storageOnDisk(state)),
        metricsLines: lines,
        structures,
      };
      samples.push(taken);
      log(formatSample(taken));
    };
    log(`soak: ${Math.round(options.durationMs / 1000)} s at ${options.ratePerSecond} requests/s to the mesh and to the pass-through; a sample every ${Math.round(options.sampleEveryMs / 1000)} s`);
    log(SAMPLE_HEADER);
    await sample("traffic");
    while (Date.now() - started < options.durationMs) {
      await new Promise((resolveWait) => setTimeout(resolveWait, Math.min(options.sampleEveryMs, options.durationMs - (Date.now() - started))));
      await sample("traffic");
    }
    clearInterval(renew);
    await Promise.all([meshLoad.stop(), passthroughLoad.stop()]);
    if (options.idleMs > 0) {
      await new Promise((resolveWait) => setTimeout(resolveWait, options.idleMs));
      await sample("idle");
    }
    if (runtimeOutput.errors.length > 0) log(`runtime stderr (first lines with "error"):\n${runtimeOutput.errors.join("\n")}`);
    const { log: _log, ...shown } = options;
    return { options: shown, samples, statuses, unexpected, unexpectedCount, passthroughFailures, configEndpoints };
  } finally {
    await passthrough?.dispose();
    await mesh?.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
}

const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const SAMPLE_HEADER = " time  phase     mesh req  pass req  gw heap MB  mesh RSS MB  pass RSS MB  telemetry MB  DO disk MB  metrics lines";

function formatSample(sample: SoakSample): string {
  return [
    `${(sample.atMs / 60_000).toFixed(1).padStart(4)}m`,
    sample.phase.padEnd(8),
    String(sample.meshRequests).padStart(9),
    String(sample.passthroughRequests).padStart(9),
    mb(sample.gatewayHeapBytes).padStart(11),
    mb(sample.meshRssBytes).padStart(12),
    mb(sample.passthroughRssBytes).padStart(12),
    mb(sample.storageBytes).padStart(13),
    mb(sample.diskBytes).padStart(11),
    String(sample.metricsLines).padStart(14),
  ].join(" ");
}

/** Least-squares slope of `y` over `x`. */
function slope(points: readonly [x: number, y: number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const numerator = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const denominator = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return denominator === 0 ? 0 : numerator / denominator;
}

export interface SoakFigures {
  /** Minutes between the first sample after warm-up and the last traffic sample. */
  measuredMinutes: number;
  /** Gateway heap growth over them, bytes, and its least-squares slope per minute. */
  heapGrowthBytes: number;
  heapSlopeBytesPerMinute: number;
  /** RSS growth from the first sample after warm-up to the last traffic sample, per request sent. */
  meshRssBytesPerRequest: number;
  passthroughRssBytesPerRequest: number;
  /** The same per Worker invocation: the mesh's from its call graph, the pass-through's two per request (itself and httpbin). */
  meshRssBytesPerInvocation: number;
  passthroughRssBytesPerInvocation: number;
  /** What the idle time and the last GC gave back, bytes (positive: the RSS went down). */
  meshRssReturnedBytes: number;
  passthroughRssReturnedBytes: number;
  storageBytesPerMinute: number;
  /** The storage at the end plus its growth per minute over the telemetry's 24 h of minute rows. */
  projectedStorageBytes: number;
  successRateOfRetriedFlaky: number | null;
}

/** How long the telemetry objects keep minute rows, in minutes. */
const MINUTE_ROWS_RETENTION_MINUTES = MINUTE_RETENTION_MS / 60_000;

export function soakFigures(report: SoakReport): SoakFigures {
  const traffic = report.samples.filter((sample) => sample.phase === "traffic");
  const warm = traffic.filter((sample) => sample.atMs >= report.options.warmupMs);
  const first = warm[0] ?? traffic[0];
  const last = traffic.at(-1);
  const idle = report.samples.find((sample) => sample.phase === "idle");
  const perRequest = (grown: number, requests: number) => (requests > 0 ? grown / requests : 0);
  const flaky = report.statuses["flaky upstream, retried"] ?? {};
  const flakyTotal = Object.values(flaky).reduce((sum, value) => sum + value, 0);
  const storageBytesPerMinute = slope(traffic.map((sample) => [sample.atMs / 60_000, sample.storageBytes]));
  return {
    measuredMinutes: first && last ? (last.atMs - first.atMs) / 60_000 : 0,
    heapGrowthBytes: first && last ? last.gatewayHeapBytes - first.gatewayHeapBytes : 0,
    heapSlopeBytesPerMinute: slope(warm.map((sample) => [sample.atMs / 60_000, sample.gatewayHeapBytes])),
    meshRssBytesPerRequest: first && last ? perRequest(last.meshRssBytes - first.meshRssBytes, last.meshRequests - first.meshRequests) : 0,
    passthroughRssBytesPerRequest: first && last ? perRequest(last.passthroughRssBytes - first.passthroughRssBytes, last.passthroughRequests - first.passthroughRequests) : 0,
    meshRssBytesPerInvocation: first && last ? perRequest(last.meshRssBytes - first.meshRssBytes, last.meshInvocations - first.meshInvocations) : 0,
    passthroughRssBytesPerInvocation: first && last ? perRequest(last.passthroughRssBytes - first.passthroughRssBytes, 2 * (last.passthroughRequests - first.passthroughRequests)) : 0,
    meshRssReturnedBytes: idle && last ? last.meshRssBytes - idle.meshRssBytes : 0,
    passthroughRssReturnedBytes: idle && last ? last.passthroughRssBytes - idle.passthroughRssBytes : 0,
    storageBytesPerMinute,
    projectedStorageBytes: (last?.storageBytes ?? 0) + Math.max(0, storageBytesPerMinute) * MINUTE_ROWS_RETENTION_MINUTES,
    successRateOfRetriedFlaky: flakyTotal === 0 ? null : (flaky["200"] ?? 0) / flakyTotal,
  };
}

/**
 * What failed, in words; empty when the soak passed. The bounds: every structure within its cap
 * (structures without one within what the config implies), the gateway's heap flat after warm-up,
 * the mesh process's RSS growth per request no worse than the pass-through's, no unexpected answer.
 */
export interface SoakLimits {
  /** Heap growth allowed after warm-up: this much, plus `heapSlopeBytesPerMinute` per measured minute. */
  heapGrowthBytes: number;
  heapSlopeBytesPerMinute: number;
  /**
   * The mesh process's RSS growth per Worker invocation, as a multiple of the pass-through's, plus
   * a slack in bytes: both grow with the runtime's own per-request memory (docs/reliability.md#soak),
   * which one sample to the next is noisy.
   */
  rssPerInvocationRatio: number;
  rssSlackBytesPerInvocation: number;
  /** The storage the measured growth would reach at the telemetry's retention. */
  projectedStorageBytes: number;
  minFlakySuccess: number;
}

export function judgeSoak(report: SoakReport, limits: SoakLimits): string[] {
  const problems: string[] = [];
  const figures = soakFigures(report);
  // One entry per endpoint, per service (4 services, plus the mesh's own answers), per pool at most.
  const configBound = Math.max(report.configEndpoints, 8) * 4;
  const overflowing = new Set<string>();
  for (const sample of report.samples) {
    for (const [name, { entries, limit }] of Object.entries(sample.structures)) {
      if (overflowing.has(name)) continue; // its first overflow says it
      const at = `at ${(sample.atMs / 60_000).toFixed(1)} min`;
      if (limit !== null && entries > limit) problems.push(`${name}: ${entries} entries over its cap ${limit} ${at}`);
      else if (limit === null && entries > configBound) problems.push(`${name}: ${entries} entries, more than the config accounts for (${configBound}) ${at}`);
      else continue;
      overflowing.add(name);
    }
  }
  if (report.samples.length > 0 && Object.keys(report.samples[0]?.structures ?? {}).length === 0) problems.push("the gateway reported no structure sizes (weft_isolate_entries)");
  const heapAllowance = limits.heapGrowthBytes + limits.heapSlopeBytesPerMinute * figures.measuredMinutes;
  if (figures.heapGrowthBytes > heapAllowance) {
    problems.push(`the gateway's heap grew ${mb(figures.heapGrowthBytes)} MB over ${figures.measuredMinutes.toFixed(1)} min after warm-up (${mb(figures.heapSlopeBytesPerMinute)} MB/min; allowed ${mb(heapAllowance)} MB)`);
  }
  if (figures.projectedStorageBytes > limits.projectedStorageBytes) {
    problems.push(`the Durable Objects' storage would reach ${mb(figures.projectedStorageBytes)} MB over the telemetry's 24 h retention of minute rows (limit ${mb(limits.projectedStorageBytes)} MB)`);
  }
  const rssLimit = Math.max(0, figures.passthroughRssBytesPerInvocation) * limits.rssPerInvocationRatio + limits.rssSlackBytesPerInvocation;
  if (figures.meshRssBytesPerInvocation > rssLimit) {
    problems.push(`the mesh process's RSS grew ${figures.meshRssBytesPerInvocation.toFixed(0)} bytes per Worker invocation, the pass-through's ${figures.passthroughRssBytesPerInvocation.toFixed(0)} (limit ${rssLimit.toFixed(0)})`);
  }
  if (report.unexpectedCount > 0) problems.push(`${report.unexpectedCount} unexpected answers, e.g. ${report.unexpected.slice(0, 3).join(" | ")}`);
  if (report.passthroughFailures > 0) problems.push(`${report.passthroughFailures} pass-through requests failed`);
  if (figures.successRateOfRetriedFlaky !== null && figures.successRateOfRetriedFlaky < limits.minFlakySuccess) {
    problems.push(`retries hid too little: ${(figures.successRateOfRetriedFlaky * 100).toFixed(2)}% of flaky calls succeeded (want ≥ ${(limits.minFlakySuccess * 100).toFixed(1)}%)`);
  }
  return problems;
}

/** The soak's limits (docs/reliability.md#soak). */
export const SOAK_LIMITS: SoakLimits = { heapGrowthBytes: 1 * MB, heapSlopeBytesPerMinute: 0.1 * MB, rssPerInvocationRatio: 1.25, rssSlackBytesPerInvocation: 256, projectedStorageBytes: 1024 * MB, minFlakySuccess: 0.97 };

/** Counts by status, or by class (2xx, 3xx, ...) when there are too many statuses to list. */
function statusSummary(byStatus: Record<string, number>): string {
  let entries = Object.entries(byStatus);
  if (entries.length > 8) {
    const byClass: Record<string, number> = {};
    for (const [status, n] of entries) byClass[status === "error" ? status : `${status[0]}xx`] = (byClass[status === "error" ? status : `${status[0]}xx`] ?? 0) + n;
    entries = Object.entries(byClass);
  }
  return entries
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}:${n}`)
    .join(" ");
}

export function formatSoakReport(report: SoakReport): string {
  const figures = soakFigures(report);
  const last = report.samples.filter((sample) => sample.phase === "traffic").at(-1);
  const lines = [
    "",
    SAMPLE_HEADER,
    ...report.samples.map(formatSample),
    "",
    "structures (entries at the last traffic sample / cap):",
    ...Object.entries(last?.structures ?? {}).map(([name, { entries, limit }]) => `  ${name.padEnd(26)} ${String(entries).padStart(7)} / ${limit === null ? "config" : limit}`),
    "",
    "answers by kind:",
    ...Object.entries(report.statuses).map(([kind, byStatus]) => `  ${kind.padEnd(40)} ${statusSummary(byStatus)}`),
    "",
    `gateway heap after warm-up: ${mb(figures.heapGrowthBytes)} MB over ${figures.measuredMinutes.toFixed(1)} min (${(figures.heapSlopeBytesPerMinute / 1024).toFixed(1)} KiB/min)`,
    `RSS growth after warm-up: per request, mesh ${figures.meshRssBytesPerRequest.toFixed(0)} B, pass-through ${figures.passthroughRssBytesPerRequest.toFixed(0)} B; per Worker invocation, mesh ${figures.meshRssBytesPerInvocation.toFixed(0)} B, pass-through ${figures.passthroughRssBytesPerInvocation.toFixed(0)} B`,
    `given back after ${Math.round(report.options.idleMs / 1000)} s idle and a GC: mesh ${mb(figures.meshRssReturnedBytes)} MB, pass-through ${mb(figures.passthroughRssReturnedBytes)} MB`,
    `telemetry objects' storage: ${mb(figures.storageBytesPerMinute)} MB/min; at the 24 h retention of minute rows: ${mb(figures.projectedStorageBytes)} MB (all objects' files on disk at the end: ${mb(report.samples.at(-1)?.diskBytes ?? 0)} MB)`,
    `flaky calls that succeeded (retries): ${figures.successRateOfRetriedFlaky === null ? "none sent" : `${(figures.successRateOfRetriedFlaky * 100).toFixed(2)}%`}`,
    `unexpected answers: ${report.unexpectedCount}; pass-through failures: ${report.passthroughFailures}`,
  ];
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "15m" },
      rate: { type: "string", default: String(DEFAULT_SOAK_OPTIONS.ratePerSecond) },
      "sample-every": { type: "string", default: "1m" },
      warmup: { type: "string", default: "2m" },
      idle: { type: "string", default: "1m" },
      seed: { type: "string", default: "1" },
      json: { type: "string" },
    },
  });
  const duration = (flag: string, text: string): number => {
    const ms = parseDuration(text);
    if (ms === undefined) throw new Error(`--${flag} must be a duration such as 90s or 15m, got "${text}"`);
    return ms;
  };
  const options: SoakOptions = {
    ...DEFAULT_SOAK_OPTIONS,
    durationMs: duration("duration", values.duration),
    ratePerSecond: Number(values.rate),
    sampleEveryMs: duration("sample-every", values["sample-every"]),
    warmupMs: duration("warmup", values.warmup),
    idleMs: duration("idle", values.idle),
    seed: Number(values.seed),
  };
  if (!(options.ratePerSecond > 0 && options.ratePerSecond <= 1000)) throw new Error("--rate must be between 1 and 1000 requests/s");
  const report = await runSoak(options);
  console.log(formatSoakReport(report));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ ...report, figures: soakFigures(report) }, null, 2)}\n`);
  const problems = judgeSoak(report, SOAK_LIMITS);
  console.log(problems.length === 0 ? "\nsoak passed" : `\nsoak FAILED:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  return problems.length === 0 ? 0 : 1;
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
