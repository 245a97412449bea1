/**
 * Key rotation under traffic (docs/reliability.md#key-rotation-under-traffic): the example shop in
 * one Miniflare on 127.0.0.1, STRICT, its functions holding real credentials and calling peers
 * through the SDK, while the signing keys rotate twice: on schedule (the control plane's key
 * schedule runs on a clock the test moves, test/support/key-schedule-control.ts), then on demand
 * with the real `weft keys rotate` a few seconds later, when the key it hands signing to has only
 * just been published.
 *
 * Traffic: GET /api/shop/orders/1001 at a steady rate, frontend → orders (→ catalog on v2). Every
 * answer must be a 200 in which orders names frontend as its verified caller, so every hop token
 * orders saw verified with the SDK. Alongside, four times a second, a fresh SVID is exchanged with
 * frontend's credential and verified with jose against the gateway's /.well-known/jwks.json, as a
 * function's verifier would, then presented to every gateway on a call to httpbin, which echoes the
 * hop token the gateway attached, verified the same way. A gateway isolate that starts after each
 * rotation (a gateway Worker of its own, with a frontend bound to it) mints its hop tokens with the
 * key signing then, so each new key reaches orders' verifier while the test runs, not when cached
 * hop tokens renew minutes later.
 *
 * Then, with traffic stopped (the retired keys' tokens are still live on the wall clock), the key
 * schedule is moved to each retired key's removal: published at removeAfter − 1 ms, gone at
 * removeAfter, which is the retirement plus the longest token lifetime plus clock skew.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOCK_SKEW_SECONDS } from "../sdk/src/identity.js";
import { CONFIG_DEFAULTS } from "../sdk/src/config/defaults.js";
import { CONTROL_PLANE_NAME } from "../wire/src/names.js";
import { formatTime } from "../cli/format.js";
import type { KeyScheduleState } from "../test/support/key-schedule-control.js";
import {
  bundleWorker,
  COMPATIBILITY_DATE,
  CONTROL_DURABLE_OBJECTS,
  CONTROL_NAME,
  controlBindings,
  EXAMPLE_WORKERS,
  exampleWorkerOptions,
  GATEWAY_NAME,
  GATEWAY_SERVICE_BINDINGS,
  ROOT,
} from "./example-workers.js";

/** Loopback only: the admin token is no secret. */
const HOST = "127.0.0.1";
const ADMIN_TOKEN = "key-rotation-admin-token";
const TRUST_DOMAIN = "shop.weft";
const FRONTEND_ID = `spiffe://${TRUST_DOMAIN}/ns/default/sa/frontend`;
/** The audience of the hop tokens a gateway attaches to calls to httpbin. */
const HTTPBIN_ID = `spiffe://${TRUST_DOMAIN}/ns/default/sa/httpbin`;
/** Order 1001: 2 × p1 (2400) + 1 × p3 (650), as orders v2 totals it through catalog. */
const ORDER_PATH = "/api/shop/orders/1001";
const ORDER_TOTAL_CENTS = 5450;

const HOUR = 3_600_000;
/** examples/mesh.yaml's key rotation period, as shipped (its SVIDs live 10 minutes, also as shipped). */
const KEY_ROTATION_MS = 24 * HOUR;
/** How long a retired key stays published: the longest token lifetime the mesh allows plus skew. */
const RETIRE_GRACE_MS = CONFIG_DEFAULTS.maxTokenTTLms + CLOCK_SKEW_SECONDS * 1000;
/**
 * How long after a key is first published every verifier can have it: a verifier that fetched
 * before the key existed refetches at most once per 30 s (the SDK's jose, the gateway's JWKS cache)
 * and functions read the gateway's copy, which is up to 30 s old (gateway-worker/src/endpoints/jwks.ts).
 */
const PROPAGATION_MS = 60_000;

/** The timeline, in ms after traffic starts. */
const SCHEDULED_ROTATION_AT = 2_000;
/** An operator rotates soon after the scheduled rotation: the next key was published seconds ago. */
const ROTATE_AT = 8_000;
/** When that key has been published long enough for every verifier (and a little more). */
const ROTATION_DUE_AT = SCHEDULED_ROTATION_AT + PROPAGATION_MS + 500;
/** Traffic goes on this long after the on-demand rotation took effect, through a gateway isolate started after it. */
const AFTER_ROTATION_MS = 6_000;

const MAIN_RATE = 25;
const LATE_RATE = 10;
const TOKEN_CHECKS_PER_SECOND = 4;
/** A request with no answer after this long counts as failed (the shop's own timeouts are 5 s). */
const REQUEST_TIMEOUT_MS = 10_000;

/** Gateway isolates that start later: the same gateway code, each with a frontend bound to it. */
const LATE_GATEWAYS = ["weft-gateway-after-rotate", "weft-gateway-after-rotation"] as const;
type LateGateway = (typeof LATE_GATEWAYS)[number];
const frontendFor = (gateway: LateGateway) => gateway.replace("weft-gateway", "weft-frontend");

/** examples/mesh.yaml as shipped (STRICT, 10m SVIDs, 24h rotation), without its Rollout and access log. */
const MESH_TEXT = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8")
  .replace(/^ {2}telemetry: .*$/m, "")
  .split(/\n---\n/)
  .filter((document) => !/^kind: Rollout$/m.test(document))
  .join("\n---\n");

/** The control plane's test RPC (test/support/key-schedule-control.ts), as the test calls it through Miniflare. */
interface KeySchedule {
  moveKeyScheduleClock(to: number, hold: boolean): Promise<KeyScheduleState>;
  runKeyScheduleAlarm(): Promise<KeyScheduleState>;
  keyScheduleState(): Promise<KeyScheduleState>;
}

interface Failure {
  at: number;
  what: string;
}

interface StreamResult {
  name: string;
  requests: number;
  ok: number;
  failures: Failure[];
  latenciesMs: number[];
  versions: Record<string, number>;
}

describe("key rotation under traffic", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-key-rotation-"));
  let mf: Miniflare | undefined;
  let schedule: KeySchedule;
  let base = "";
  const lateBase = new Map<LateGateway, string>();
  let frontendCredential = "";
  let startedAt = 0;
  const since = () => Math.round(performance.now() - startedAt);
  const sleepUntil = (ms: number) => sleep(ms - since());

  beforeAll(async () => {
    const outDir = join(dir, "workers");
    const functions = await exampleWorkerOptions(outDir, GATEWAY_NAME);
    const frontend = functions.find((worker) => worker.name === "weft-frontend");
    if (!frontend) throw new Error("no weft-frontend in EXAMPLE_WORKERS");
    const gateway: WorkerOptions = {
      name: GATEWAY_NAME,
      modules: true,
      scriptPath: await bundleWorker("gateway-worker/src/index.ts", outDir, GATEWAY_NAME),
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { WEFT_ADMIN_TOKEN: ADMIN_TOKEN, WEFT_ENV: "dev" },
      durableObjects: controlBindings(CONTROL_NAME),
      serviceBindings: GATEWAY_SERVICE_BINDINGS,
    };
    const control: WorkerOptions = {
      name: CONTROL_NAME,
      modules: true,
      scriptPath: await bundleWorker("test/support/key-schedule-control.ts", outDir, CONTROL_NAME),
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: CONTROL_DURABLE_OBJECTS,
      // On disk: the functions get their credentials with a restart (setOptions), which must keep the mesh.
      durableObjectsPersist: join(dir, "durable-objects"),
    };
    const late = LATE_GATEWAYS.flatMap((name): WorkerOptions[] => [
      { ...gateway, name, serviceBindings: { ...GATEWAY_SERVICE_BINDINGS, FRONTEND: frontendFor(name) }, unsafeDirectSockets: [{ host: HOST, port: 0 }] },
      { ...frontend, name: frontendFor(name), serviceBindings: { WEFT: name } },
    ]);
    // First: requests that match no route (Host 127.0.0.1:<port>) go to the first worker.
    const workers = (credentials: Record<string, string>): WorkerOptions[] =>
      [gateway, control, ...functions, ...late].map((worker) => {
        const service = serviceOf(worker.name ?? "");
        const credential = service === undefined ? undefined : credentials[service];
        return { ...worker, modulesRoot: outDir, ...(credential ? { bindings: { ...(worker.bindings as Record<string, string>), WEFT_CREDENTIAL: credential } } : {}) } as WorkerOptions;
      });
    const options = (credentials: Record<string, string>) => ({ host: HOST, port: 0, cf: false, log: new Log(LogLevel.WARN), workers: workers(credentials) });

    mf = new Miniflare(options({}));
    base = (await mf.ready).origin;
    const applied = await fetch(`${base}/.weft/api/v1/config`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/yaml" }, body: MESH_TEXT });
    expect(applied.status, await applied.text()).toBe(200);
    // The functions that call peers get a credential each, as `npm run dev` gives them (cli/dev-runner.ts).
    const credentials: Record<string, string> = {};
    for (const service of ["frontend", "orders"]) {
      const created = await fetch(`${base}/.weft/api/v1/credentials`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ service }) });
      const body = (await created.json()) as { credential?: string };
      expect(created.status, JSON.stringify(body)).toBe(201);
      credentials[service] = body.credential ?? "";
    }
    frontendCredential = credentials.frontend ?? "";
    await mf.setOptions(options(credentials));
    base = (await mf.ready).origin;
    for (const name of LATE_GATEWAYS) lateBase.set(name, (await mf.unsafeGetDirectURL(name)).origin);
    const namespace = await mf.getDurableObjectNamespace("CONTROL", CONTROL_NAME);
    schedule = namespace.get(namespace.idFromName(CONTROL_PLANE_NAME)) as unknown as KeySchedule;
  }, 90_000);

  afterAll(async () => {
    await mf?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves every request and verifies every token through a scheduled rotation and a `weft keys rotate` seconds after it", async () => {
    // Warm: frontend's and orders' SVIDs, the gateway's hop tokens and orders' key set, all under the first key.
    for (const canary of [false, true, false, true]) expect(await shopRequest(base, canary)).not.toHaveProperty("problem");
    const initial = await schedule.keyScheduleState();
    const first = only(initial.keys, "active");
    const firstPrepared = only(initial.keys, "prepared");
    // The scheduled rotation is the alarm: the first key's period after it began signing.
    expect(initial.alarmAt).toBe(Date.parse(first.activatedAt ?? "") + KEY_ROTATION_MS);
    const rotationAt = initial.alarmAt ?? 0;

    const verifier = svidVerifier(base);
    startedAt = performance.now();
    const main = startStream("main", base, MAIN_RATE, since);
    const running = [{ name: GATEWAY_NAME, origin: base }];
    const tokens = startTokenChecks(base, frontendCredential, verifier, () => running, since);
    const lateStreams: Stream[] = [];
    let scheduledAt = 0;
    let scheduled: KeyScheduleState | undefined;
    let rotate: Run | undefined;
    let requested: KeyScheduleState | undefined;
    let rotated: KeyScheduleState | undefined;
    let results: StreamResult[] = [];
    let checks: TokenChecks = { svids: 0, hopTokens: 0, failures: [], svidsByKid: {}, firstSeen: {}, hopTokensByGateway: {} };
    try {
      await sleepUntil(SCHEDULED_ROTATION_AT);
      // Rotation 1, on schedule: the key schedule's clock moves to the alarm and runs on from there.
      scheduledAt = since();
      scheduled = await schedule.moveKeyScheduleClock(rotationAt, false);

      await sleepUntil(ROTATE_AT);
      // Rotation 2, on demand: `weft keys rotate`, the real CLI in its own process.
      rotate = await weftCli(base, "keys", "rotate");
      requested = await schedule.keyScheduleState();
      lateStreams.push(startStream("after-rotate", lateBase.get(LATE_GATEWAYS[0]) ?? "", LATE_RATE, since));
      running.push({ name: LATE_GATEWAYS[0], origin: lateBase.get(LATE_GATEWAYS[0]) ?? "" });

      await sleepUntil(ROTATION_DUE_AT);
      // The object's alarm is due on the schedule's clock, which has run on as the wall clock did.
      rotated = await schedule.runKeyScheduleAlarm();
      lateStreams.push(startStream("after-rotation", lateBase.get(LATE_GATEWAYS[1]) ?? "", LATE_RATE, since));
      running.push({ name: LATE_GATEWAYS[1], origin: lateBase.get(LATE_GATEWAYS[1]) ?? "" });
      await sleepUntil(ROTATION_DUE_AT + AFTER_ROTATION_MS);
    } finally {
      results = await Promise.all([main, ...lateStreams].map((stream) => stream.stop()));
      checks = await tokens.stop();
      report(results, checks);
    }

    // What traffic saw: every request answered 200 with frontend as orders' verified caller; every fresh SVID and echoed hop token verified.
    expect(results.flatMap((result) => result.failures.map((failure) => `${result.name} @${failure.at}ms: ${failure.what}`))).toEqual([]);
    expect(checks.failures.map((failure) => `tokens @${failure.at}ms: ${failure.what}`)).toEqual([]);
    for (const result of results) expect(result.ok, result.name).toBe(result.requests);
    expect(results[0]?.requests).toBeGreaterThan(((ROTATION_DUE_AT + AFTER_ROTATION_MS) / 1000) * MAIN_RATE * 0.9);
    // Both subsets of orders took traffic (v2 also calling catalog with its own SVID).
    for (const result of results) expect(Object.keys(result.versions).sort(), result.name).toEqual(["v1", "v2"]);

    // Rotation 1: the key published with the first one took over at the scheduled instant; the first retired then.
    expect(only(scheduled?.keys ?? [], "active").kid).toBe(firstPrepared.kid);
    expect(scheduled?.keys.find((key) => key.kid === first.kid)).toMatchObject({ state: "retired", retiredAt: iso(rotationAt), removeAfter: iso(rotationAt + RETIRE_GRACE_MS) });
    const next = only(scheduled?.keys ?? [], "prepared");
    expect(next.createdAt).toBe(iso(rotationAt));

    // Rotation 2 was requested seconds after that key was published: it signs once every verifier can have it.
    const signsFrom = rotationAt + PROPAGATION_MS;
    expect(rotate?.code, `${rotate?.stdout}${rotate?.stderr}`).toBe(0);
    expect(rotate?.stdout).toContain(`rotation scheduled: key ${next.kid} signs from ${formatTime(iso(signsFrom))}`);
    expect(only(requested?.keys ?? [], "active").kid).toBe(firstPrepared.kid);
    expect(requested?.alarmAt).toBe(signsFrom);
    const active = only(rotated?.keys ?? [], "active");
    expect(active.kid).toBe(next.kid);
    expect(Date.parse(active.activatedAt ?? "")).toBeGreaterThanOrEqual(signsFrom);
    expect(rotated?.keys.find((key) => key.kid === firstPrepared.kid)).toMatchObject({ state: "retired", retiredAt: active.activatedAt });
    // Every key that signed a token still in use is published, and so is the next one.
    expect(rotated?.published).toEqual(expect.arrayContaining([first.kid, firstPrepared.kid, next.kid, only(rotated?.keys ?? [], "prepared").kid]));
    // Fresh SVIDs came from each key in turn, the newest not before it had been published for the lead.
    expect(Object.keys(checks.firstSeen)).toEqual([first.kid, firstPrepared.kid, next.kid]);
    expect(checks.firstSeen[next.kid]).toBeGreaterThanOrEqual(scheduledAt + PROPAGATION_MS);
    // Each gateway isolate's hop tokens came from the key signing when it started, and all verified.
    expect(Object.keys(checks.hopTokensByGateway[GATEWAY_NAME] ?? {})).toEqual([first.kid]);
    expect(Object.keys(checks.hopTokensByGateway[LATE_GATEWAYS[0]] ?? {})).toEqual([firstPrepared.kid]);
    expect(Object.keys(checks.hopTokensByGateway[LATE_GATEWAYS[1]] ?? {})).toEqual([next.kid]);
  });

  it("keeps each retired key published until exactly its retirement plus the longest token lifetime and skew", async () => {
    const state = await schedule.keyScheduleState();
    const retired = state.keys.filter((key) => key.state === "retired").sort((a, b) => Date.parse(a.removeAfter ?? "") - Date.parse(b.removeAfter ?? ""));
    expect(retired).toHaveLength(2);
    // Production's alarm is set for the first removal, to the millisecond.
    expect(state.alarmAt).toBe(Date.parse(retired[0]?.removeAfter ?? ""));
    for (const key of retired) {
      const removeAfter = Date.parse(key.removeAfter ?? "");
      expect(removeAfter - Date.parse(key.retiredAt ?? "")).toBe(RETIRE_GRACE_MS);
      const before = await schedule.moveKeyScheduleClock(removeAfter - 1, true);
      expect(before.published).toContain(key.kid);
      expect(before.keys.find((view) => view.kid === key.kid)?.state).toBe("retired");
      const after = await schedule.moveKeyScheduleClock(removeAfter, true);
      expect(after.published).not.toContain(key.kid);
      expect(after.keys.map((view) => view.kid)).not.toContain(key.kid);
    }
    // Removing keys never touches the one that signs, nor the one published to sign next.
    const end = await schedule.keyScheduleState();
    expect(end.keys.map((key) => key.state).sort()).toEqual(["active", "prepared"]);
  });

  function report(results: StreamResult[], checks: TokenChecks): void {
    const latencies = results.flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
    const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const lines = results.map((result) => `  ${result.name}: ${result.requests} requests, ${result.ok} ok, ${result.failures.length} failed, versions ${JSON.stringify(result.versions)}`);
    console.log(
      [
        `key rotation under traffic: ${results.reduce((sum, result) => sum + result.requests, 0)} requests, p50 ${quantile(0.5).toFixed(1)} ms, p99 ${quantile(0.99).toFixed(1)} ms, max ${quantile(1).toFixed(1)} ms`,
        ...lines,
        `  tokens: ${checks.svids} fresh SVIDs and ${checks.hopTokens} hop tokens checked, ${checks.failures.length} failed; SVIDs by key ${JSON.stringify(checks.svidsByKid)}, first at (ms) ${JSON.stringify(checks.firstSeen)}; hop tokens by gateway and key ${JSON.stringify(checks.hopTokensByGateway)}`,
        ...[...results.flatMap((result) => result.failures.map((failure) => ({ ...failure, what: `${result.name}: ${failure.what}` }))), ...checks.failures.map((failure) => ({ ...failure, what: `tokens: ${failure.what}` }))]
          .sort((a, b) => a.at - b.at)
          .slice(0, 40)
          .map((failure) => `  @${failure.at}ms ${failure.what}`),
      ].join("\n"),
    );
  }
});

/** The mesh service a worker is (weft-orders-v2 → orders), or undefined for a gateway or the control Worker. */
function serviceOf(workerName: string): string | undefined {
  if (workerName.startsWith("weft-frontend")) return "frontend";
  return EXAMPLE_WORKERS.find((worker) => worker.name === workerName && worker.callsPeers) ? workerName.replace(/^weft-/, "").replace(/-v\d+$/, "") : undefined;
}

function only<T extends { state: string }>(keys: readonly T[], state: string): T {
  const found = keys.filter((key) => key.state === state);
  if (found.length !== 1) throw new Error(`expected one ${state} key, got ${JSON.stringify(keys)}`);
  return found[0] as T;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * One shop request: the orders subset that answered when it is what a healthy mesh answers (200,
 * orders' verified caller is frontend, v2's total computed through catalog), else what was wrong.
 */
async function shopRequest(origin: string, canary: boolean): Promise<{ problem: string } | { version: string }> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${origin}${ORDER_PATH}`, { headers: canary ? { "x-canary": "1" } : {}, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    text = await response.text();
  } catch (error) {
    return { problem: describeError(error) };
  }
  if (response.status !== 200) return { problem: `HTTP ${response.status} ${text.slice(0, 300)}` };
  const body = JSON.parse(text) as { order?: { caller?: unknown; totalCents?: unknown }; ordersVersion?: unknown };
  if (body.order?.caller !== "frontend") return { problem: `orders did not verify frontend: ${text.slice(0, 300)}` };
  if (canary && body.ordersVersion !== "v2") return { problem: `canary request answered by ${String(body.ordersVersion)}` };
  if (body.ordersVersion === "v2" && body.order.totalCents !== ORDER_TOTAL_CENTS) return { problem: `v2 total ${String(body.order.totalCents)}: ${text.slice(0, 300)}` };
  return { version: String(body.ordersVersion) };
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message}${"code" in error.cause ? ` ${String(error.cause.code)}` : ""})` : "";
  return `${error.name}: ${error.message}${cause}`;
}

interface Stream {
  stop(): Promise<StreamResult>;
}

/**
 * Requests at a steady rate (open loop: each is sent on time whether or not earlier ones have
 * answered), canary and not in turn, so orders v1 and v2 both take traffic.
 */
function startStream(name: string, origin: string, ratePerSecond: number, clock: () => number): Stream {
  const result: StreamResult = { name, requests: 0, ok: 0, failures: [], latenciesMs: [], versions: {} };
  const pending = new Set<Promise<void>>();
  const began = performance.now();
  let sent = 0;
  const send = (canary: boolean) => {
    const at = clock();
    const start = performance.now();
    result.requests++;
    const request = shopRequest(origin, canary).then((outcome) => {
      result.latenciesMs.push(performance.now() - start);
      if ("problem" in outcome) result.failures.push({ at, what: outcome.problem });
      else {
        result.ok++;
        result.versions[outcome.version] = (result.versions[outcome.version] ?? 0) + 1;
      }
    });
    pending.add(request);
    void request.finally(() => pending.delete(request));
  };
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - began) / 1000) * ratePerSecond);
    while (sent < due) send(sent++ % 2 === 1);
  }, 5);
  let stopped: Promise<StreamResult> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await Promise.all(pending);
        return result;
      })();
      return stopped;
    },
  };
}

/** A verifier as a function builds one (sdk/src/inbound.ts): jose's remote key set with its defaults, over the gateway's JWKS. */
function svidVerifier(origin: string) {
  return createRemoteJWKSet(new URL(`${origin}/.well-known/jwks.json`));
}

interface TokenChecks {
  /** Fresh SVIDs exchanged, and hop tokens read back through httpbin. */
  svids: number;
  hopTokens: number;
  failures: Failure[];
  /** Verified SVIDs by the key that signed them, and when (ms into traffic) each key's first one arrived. */
  svidsByKid: Record<string, number>;
  firstSeen: Record<string, number>;
  /** Verified hop tokens by gateway and the key that signed them. */
  hopTokensByGateway: Record<string, Record<string, number>>;
}

/**
 * Every so often: exchanges frontend's credential for a fresh SVID and verifies it as a peer would;
 * then presents it to each gateway running (which must verify it too, whichever key signed it) on a
 * call to httpbin, which echoes the hop token the gateway attached, and verifies that as well.
 */
function startTokenChecks(origin: string, credential: string, keys: ReturnType<typeof svidVerifier>, gateways: () => readonly { name: string; origin: string }[], clock: () => number): { stop(): Promise<TokenChecks> } {
  const checks: TokenChecks = { svids: 0, hopTokens: 0, failures: [], svidsByKid: {}, firstSeen: {}, hopTokensByGateway: {} };
  let running = true;
  const verify = async (what: string, token: string, audience: string, subject: string): Promise<string> => {
    const kid = String(decodeProtectedHeader(token).kid);
    try {
      const { payload } = await jwtVerify(token, keys, { algorithms: ["ES256"], issuer: `weft://${TRUST_DOMAIN}`, audience, clockTolerance: CLOCK_SKEW_SECONDS });
      if (payload.sub !== subject) throw new Error(`subject ${String(payload.sub)}`);
      return kid;
    } catch (error) {
      throw new Error(`${what} signed by ${kid} did not verify: ${error instanceof errors.JOSEError ? error.code : describeError(error)}`);
    }
  };
  const loop = (async () => {
    while (running) {
      const at = clock();
      try {
        checks.svids++;
        const response = await fetch(`${origin}/.weft/token`, { method: "POST", headers: { authorization: `Bearer ${credential}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const body = (await response.json()) as { token?: string };
        if (response.status !== 200 || typeof body.token !== "string") throw new Error(`exchange answered ${response.status}: ${JSON.stringify(body)}`);
        const svid = body.token;
        // When it arrived: the control plane signed it before then, whichever key it used.
        checks.firstSeen[String(decodeProtectedHeader(svid).kid)] ??= clock();
        const kid = await verify("SVID", svid, "weft-gateway", FRONTEND_ID);
        checks.svidsByKid[kid] = (checks.svidsByKid[kid] ?? 0) + 1;
        await Promise.all(
          gateways().map(async (gateway) => {
            try {
              checks.hopTokens++;
              const echoed = await fetch(`${gateway.origin}/httpbin/headers`, { headers: { authorization: `Bearer ${svid}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
              const text = await echoed.text();
              const hopToken = echoed.status === 200 ? (JSON.parse(text) as { headers?: Record<string, string> }).headers?.["x-weft-identity"] : undefined;
              if (hopToken === undefined) throw new Error(`HTTP ${echoed.status} without a hop token: ${text.slice(0, 300)}`);
              const hopKid = await verify("hop token", hopToken, HTTPBIN_ID, FRONTEND_ID);
              const byKid = (checks.hopTokensByGateway[gateway.name] ??= {});
              byKid[hopKid] = (byKid[hopKid] ?? 0) + 1;
            } catch (error) {
              checks.failures.push({ at, what: `${gateway.name}: ${error instanceof Error ? error.message : String(error)}` });
            }
          }),
        );
      } catch (error) {
        checks.failures.push({ at, what: error instanceof Error ? error.message : String(error) });
      }
      await sleep(1000 / TOKEN_CHECKS_PER_SECOND);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return checks;
    },
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real `weft` CLI in a process of its own (the event loop keeps sending traffic meanwhile). */
function weftCli(origin: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "--url", origin, "--token", ADMIN_TOKEN, "--actor", "rotation-e2e", ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
