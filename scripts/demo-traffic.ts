/**
 * `npm run demo`: gentle synthetic traffic through a running local mesh (`npm run dev`), so the
 * telemetry (the dashboard, `weft top`, /.weft/metrics) has rates, errors and latencies to show
 * within half a minute.
 *
 *   npm run demo                                   # 5 requests/s to http://127.0.0.1:8787 until Ctrl-C
 *   npm run demo -- --rate 10 --duration 2m        # or --url http://127.0.0.1:8899, --seed 42
 *
 * It only uses the example shop's public routes (examples/mesh.yaml): the front end (`/`, which
 * calls catalog; `/api/shop/products`; `/api/shop/orders/1001`, frontend → orders → catalog, some
 * opted into the orders canary with `x-canary: 1`) and httpbin through the ingress (`/anything`,
 * `/flaky` failing 30% of the time, an occasional `/status/503`, `/delay/<ms>` with a spread of
 * latencies). Every request goes to the given URL's origin only, redirects are not followed.
 * A summary line is printed every 5 s; SIGINT or SIGTERM stops it (in-flight requests are
 * abandoned) after a last summary.
 *
 * `npm run dev -- --traffic` runs the same thing in-process once the mesh is up.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { parseDuration } from "../sdk/src/config/duration.js";

/** Where `npm run dev` serves the mesh (scripts/dev.ts; loopback only). */
export const DEFAULT_URL = "http://127.0.0.1:8787";
export const DEFAULT_RATE = 5;
/** Gentle is the point: more than this is a load test (see bench/). */
export const MAX_RATE = 100;
export const SUMMARY_EVERY_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Scheduling that fell further behind than this (a suspended laptop) skips ahead instead of bursting. */
const MAX_LAG_MS = 1_000;

/** One request of the plan: always a GET of a path on the mesh's own origin. */
export interface PlannedRequest {
  /** What it exercises, e.g. "shop order (canary)". */
  name: string;
  /** Path and query, starting with a single "/". */
  path: string;
  headers: Record<string, string>;
}

// ------------------------------------------------------------------------------------- the plan

/** mulberry32: a small, fast, seeded PRNG giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * httpbin /delay: mostly quick, a tail of slow ones, so latency percentiles differ visibly
 * (p50 tens of ms, p99 around a second or two). Well under the mesh's timeouts (httpbin: 15s).
 */
const DELAY_BANDS: readonly { upTo: number; minMs: number; maxMs: number }[] = [
  { upTo: 0.6, minMs: 5, maxMs: 60 },
  { upTo: 0.9, minMs: 60, maxMs: 300 },
  { upTo: 0.98, minMs: 300, maxMs: 1_000 },
  { upTo: 1, minMs: 1_000, maxMs: 2_500 },
];

const CANARY = { "x-canary": "1" } as const;

/** The mix, in percent (adds up to 100). */
const MIX: readonly { weight: number; make: (random: () => number) => PlannedRequest }[] = [
  { weight: 10, make: () => ({ name: "shop page", path: "/", headers: { accept: "text/html" } }) },
  { weight: 14, make: () => ({ name: "shop products", path: "/api/shop/products", headers: {} }) },
  { weight: 14, make: () => ({ name: "shop order", path: "/api/shop/orders/1001", headers: {} }) },
  { weight: 6, make: () => ({ name: "shop order (canary)", path: "/api/shop/orders/1001", headers: { ...CANARY } }) },
  { weight: 14, make: () => ({ name: "httpbin anything", path: "/httpbin/anything", headers: {} }) },
  { weight: 4, make: () => ({ name: "httpbin anything (canary)", path: "/httpbin/anything", headers: { ...CANARY } }) },
  { weight: 12, make: () => ({ name: "httpbin flaky", path: "/httpbin/flaky?rate=0.3", headers: {} }) },
  { weight: 2, make: () => ({ name: "httpbin 503", path: "/httpbin/status/503", headers: {} }) },
  {
    weight: 24,
    make: (random) => {
      const r = random();
      const band = DELAY_BANDS.find((b) => r < b.upTo) ?? DELAY_BANDS[DELAY_BANDS.length - 1]!;
      const ms = Math.round(band.minMs + random() * (band.maxMs - band.minMs));
      return { name: "httpbin delay", path: `/httpbin/delay/${ms}`, headers: {} };
    },
  },
];
const TOTAL_WEIGHT = MIX.reduce((sum, entry) => sum + entry.weight, 0);

/** An endless, seeded sequence of requests: the same seed gives the same sequence. */
export function* requestStream(seed: number): Generator<PlannedRequest, never, undefined> {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a number, got ${seed}`);
  const random = seededRandom(seed);
  for (;;) {
    let pick = random() * TOTAL_WEIGHT;
    const entry = MIX.find((candidate) => (pick -= candidate.weight) < 0) ?? MIX[MIX.length - 1]!;
    yield entry.make(random);
  }
}

/** The first `n` requests of the plan for `seed`; pure (no clock, no I/O). */
export function planRequests(seed: number, n: number): PlannedRequest[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a whole number ≥ 0, got ${n}`);
  const stream = requestStream(seed);
  return Array.from({ length: n }, () => stream.next().value);
}

// --------------------------------------------------------------------------------- the summary

/** Requests finished in one summary window. */
export interface WindowStats {
  /** By outcome: an HTTP status ("200", "503"), "timeout" or "error" (no answer). */
  outcomes: Record<string, number>;
  latenciesMs: number[];
}

export interface DemoTrafficSummary {
  /** Requests sent since the start. */
  sent: number;
  /** Requests answered or failed (not those abandoned at stop). */
  finished: number;
  /** Requests not sent because too many were still in flight. */
  skipped: number;
  /** Outcomes since the start, as in {@link WindowStats}. */
  outcomes: Record<string, number>;
}

/** Outcomes in a stable order: statuses ascending, then timeout, error. */
export function formatOutcomes(outcomes: Record<string, number>): string {
  const rank = (key: string) => (/^\d+$/.test(key) ? Number(key) : key === "timeout" ? 1_000 : 1_001);
  const keys = Object.keys(outcomes).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return keys.length === 0 ? "no answers" : keys.map((key) => `${key}×${outcomes[key]}`).join(" ");
}

function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One summary line: the last window's requests, rate, outcomes and latency, then the totals. */
export function formatSummary(window: WindowStats, windowMs: number, elapsedMs: number, total: DemoTrafficSummary, inFlight: number): string {
  const count = Object.values(window.outcomes).reduce((sum, n) => sum + n, 0);
  const sorted = [...window.latenciesMs].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  const latency = p50 === undefined || p95 === undefined ? "" : ` · p50 ${Math.round(p50)}ms p95 ${Math.round(p95)}ms`;
  const skipped = total.skipped > 0 ? `, ${total.skipped} skipped` : "";
  return (
    `+${Math.round(elapsedMs / 1000)}s: ${count} requests (${(count / Math.max(windowMs / 1000, 0.001)).toFixed(1)}/s) · ${formatOutcomes(window.outcomes)}${latency}` +
    ` · total ${total.sent} sent, ${inFlight} in flight${skipped}`
  );
}

// ---------------------------------------------------------------------------------- the runner

export interface DemoTrafficOptions {
  /** The mesh; only its origin is used. Default http://127.0.0.1:8787. */
  url?: string;
  /** Requests per second, at most {@link MAX_RATE}. Default 5. */
  rate?: number;
  /** Stops by itself after this long. Default: runs until stopped. */
  durationMs?: number;
  /** Seed of the request plan. Default: from the clock. */
  seed?: number;
  /** Where the summary lines go. Default console.log. */
  log?: (line: string) => void;
  /** Default: every 5 s. */
  summaryEveryMs?: number;
  /** Default: the global fetch (tests pass their own). */
  fetch?: typeof fetch;
}

export interface DemoTraffic {
  readonly seed: number;
  /** Stops sending, abandons what is in flight, logs a last summary; resolves with the totals. */
  stop(): Promise<DemoTrafficSummary>;
  /** Resolves with the totals once stopped (by `stop()` or the duration). */
  readonly done: Promise<DemoTrafficSummary>;
}

/** The mesh's origin, refusing anything but an absolute http(s) URL. */
export function meshOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--url must be an absolute http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`--url must be an http(s) URL, got "${url}"`);
  if (parsed.username !== "" || parsed.password !== "") throw new Error("--url must not carry credentials");
  return parsed.origin;
}

/** The URL of a planned request: on `origin`, or an error (a plan must never send traffic elsewhere). */
export function targetUrl(origin: string, path: string): URL {
  if (!path.startsWith("/") || path.startsWith("//")) throw new Error(`not a path on the mesh: ${path}`);
  const target = new URL(path, origin);
  if (target.origin !== origin) throw new Error(`${path} leaves ${origin}`);
  return target;
}

export function validateRate(rate: number): number {
  if (!Number.isFinite(rate) || rate <= 0 || rate > MAX_RATE) throw new Error(`rate must be a number of requests per second above 0 and at most ${MAX_RATE}, got ${rate}`);
  return rate;
}

/** Starts sending; returns at once. */
export function startDemoTraffic(options: DemoTrafficOptions = {}): DemoTraffic {
  const origin = meshOrigin(options.url ?? DEFAULT_URL);
  const rate = validateRate(options.rate ?? DEFAULT_RATE);
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const log = options.log ?? ((line: string) => console.log(line));
  const fetchImpl = options.fetch ?? fetch;
  const summaryEveryMs = options.summaryEveryMs ?? SUMMARY_EVERY_MS;
  const intervalMs = 1000 / rate;
  // Room for the slowest /delay requests at this rate, and no more: a struggling mesh is not piled onto.
  const maxInFlight = Math.max(8, Math.ceil(rate * 4));

  const plan = requestStream(seed);
  const abandon = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const total: DemoTrafficSummary = { sent: 0, finished: 0, skipped: 0, outcomes: {} };
  let window: WindowStats = { outcomes: {}, latenciesMs: [] };
  const started = performance.now();
  let windowStarted = started;
  let scheduled = 0;
  let stopped = false;
  let warnedUnreachable = false;
  let sendTimer: ReturnType<typeof setTimeout> | undefined;
  let durationTimer: ReturnType<typeof setTimeout> | undefined;
  let finish: (summary: DemoTrafficSummary) => void = () => {};
  const done = new Promise<DemoTrafficSummary>((resolveDone) => (finish = resolveDone));

  const record = (outcome: string, latencyMs: number | undefined) => {
    total.finished += 1;
    total.outcomes[outcome] = (total.outcomes[outcome] ?? 0) + 1;
    window.outcomes[outcome] = (window.outcomes[outcome] ?? 0) + 1;
    if (latencyMs !== undefined) window.latenciesMs.push(latencyMs);
  };

  const send = (planned: PlannedRequest) => {
    const target = targetUrl(origin, planned.path);
    const begun = performance.now();
    total.sent += 1;
    const request = (async () => {
      try {
        const res = await fetchImpl(target, {
          headers: { "user-agent": "weft-demo-traffic", ...planned.headers },
          redirect: "manual",
          signal: AbortSignal.any([abandon.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
        });
        // Read to the end: the latency users see includes the body.
        await res.arrayBuffer();
        record(String(res.status), performance.now() - begun);
      } catch (error) {
        if (abandon.signal.aborted) return; // stopped: not an outcome of the mesh
        if (error instanceof Error && error.name === "TimeoutError") {
          record("timeout", performance.now() - begun);
          return;
        }
        record("error", undefined);
        if (!warnedUnreachable) {
          warnedUnreachable = true;
          const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
          log(`no answer from ${origin} (${cause}); is the mesh running (npm run dev)?`);
        }
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    // Behind by more than MAX_LAG_MS (the process was suspended): skip ahead rather than burst.
    const due = Math.floor((now - started) / intervalMs);
    if ((due - scheduled) * intervalMs > MAX_LAG_MS) scheduled = due;
    while (scheduled <= due) {
      scheduled += 1;
      const planned = plan.next().value;
      if (inFlight.size >= maxInFlight) total.skipped += 1;
      else send(planned);
    }
    sendTimer = setTimeout(tick, Math.max(0, started + scheduled * intervalMs - performance.now()));
  };

  const summarize = () => {
    const now = performance.now();
    log(formatSummary(window, now - windowStarted, now - started, total, inFlight.size));
    window = { outcomes: {}, latenciesMs: [] };
    windowStarted = now;
  };
  const summaryTimer = setInterval(summarize, summaryEveryMs);

  const stop = async (): Promise<DemoTrafficSummary> => {
    if (stopped) return done;
    stopped = true;
    clearTimeout(sendTimer);
    clearTimeout(durationTimer);
    clearInterval(summaryTimer);
    abandon.abort();
    await Promise.allSettled([...inFlight]);
    const elapsedMs = performance.now() - started;
    log(`stopped after ${Math.round(elapsedMs / 1000)}s: ${total.sent} sent, ${total.finished} answered or failed · ${formatOutcomes(total.outcomes)}`);
    const summary: DemoTrafficSummary = { ...total, outcomes: { ...total.outcomes } };
    finish(summary);
    return summary;
  };

  if (options.durationMs !== undefined) durationTimer = setTimeout(() => void stop(), options.durationMs);
  log(`sending ~${rate} requests/s to ${origin} through the example shop and httpbin (seed ${seed}); a summary every ${Math.round(summaryEveryMs / 1000)}s`);
  tick();
  return { seed, stop, done };
}

// ------------------------------------------------------------------------------------------ CLI

export interface DemoCliOptions {
  url: string;
  rate: number;
  durationMs: number | undefined;
  seed: number | undefined;
  help: boolean;
}

export const USAGE = [
  "usage: npm run demo -- [--url <mesh URL>] [--rate <requests/s>] [--duration <time>] [--seed <n>]",
  `  --url       the mesh to send to (default ${DEFAULT_URL}, where npm run dev serves it)`,
  `  --rate      requests per second (default ${DEFAULT_RATE}, at most ${MAX_RATE})`,
  "  --duration  stop after this long: 30s, 5m, or seconds (default: until Ctrl-C)",
  "  --seed      seed of the request mix (default: from the clock)",
].join("\n");

/** The command line of `npm run demo`; throws with a readable message on anything wrong. */
export function parseDemoArgs(argv: readonly string[]): DemoCliOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      url: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument: ${positionals[0]}`);
  const url = values.url ?? DEFAULT_URL;
  meshOrigin(url);
  const rate = values.rate === undefined ? DEFAULT_RATE : validateRate(Number(values.rate));
  let durationMs: number | undefined;
  if (values.duration !== undefined) {
    const text = values.duration.trim();
    durationMs = /^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : parseDuration(text);
    if (durationMs === undefined || durationMs <= 0) throw new Error(`--duration must be a time such as 30s, 5m or 90, got "${values.duration}"`);
  }
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got "${values.seed}"`);
  }
  return { url, rate, durationMs, seed, help: values.help === true };
}

async function main(): Promise<number> {
  let options: DemoCliOptions;
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`[weft demo] ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const traffic = startDemoTraffic({
    url: options.url,
    rate: options.rate,
    ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    log: (line) => console.log(`[weft demo] ${line}`),
  });
  let signals = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      signals += 1;
      // A second Ctrl-C while stopping: leave at once.
      if (signals > 1) process.exit(130);
      void traffic.stop();
    });
  }
  await traffic.done;
  return 0;
}

// Only as a script: scripts/dev.ts and the test import the functions above.
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
