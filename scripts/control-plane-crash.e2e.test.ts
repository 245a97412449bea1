/**
 * The control plane's process killed (SIGKILL) mid-apply and mid-traffic, then started again on the
 * same state (docs/reliability.md#a-control-plane-that-crashes). The control Worker runs in a workerd
 * process of its own (scripts/control-host.ts); the gateway and the example functions in another,
 * bound to its objects through Miniflare's dev registry, as two `wrangler dev` sessions are. Traffic
 * (ingress calls and mesh calls with an SVID) runs through the gateway the whole time.
 *
 * What must hold: every apply the control plane acknowledged is there after the restart, with the
 * documents sent; every version is one whole set that was sent (nothing half-applied); history and
 * audit name the same versions, which count up by one; the gateway answers every request while the
 * control plane is dead, says so in healthz, and serves the newest version again by itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleWorkerOptions, GATEWAY_NAME, gatewayWorkerOptions, CONTROL_NAME, ROOT } from "./example-workers.js";
import { E2E_ENV } from "./e2e-support.js";

const ADMIN_TOKEN = "crash-test-admin-token-0123456789abcdef";
/** The example mesh without access logs (quiet output) and with the rollout's checks an hour apart, so it writes no versions of its own. */
const BASE_MESH = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8")
  .replace(/^ {2}telemetry: .*$/m, "")
  .replace("analysis: { interval: 1m,", "analysis: { interval: 1h,");
/** Rules in each round's extra Route: enough that an apply takes a while (it is stored in slices), so a kill can land inside it. */
const FILLER_RULES = 3_000;

/** The example mesh plus a Route named after the round, with FILLER_RULES rules on its own host. */
function roundSet(round: string): string {
  const filler = {
    apiVersion: "weft/v1",
    kind: "Route",
    metadata: { name: `round-${round}` },
    spec: {
      hosts: [`round-${round}.example.com`],
      http: Array.from({ length: FILLER_RULES }, (_, i) => ({ match: [{ path: { prefix: `/r${round}/item-${i}/` } }], destinations: [{ service: "httpbin", subset: "v1" }] })),
    },
  };
  return `${BASE_MESH}\n---\n${JSON.stringify(filler)}\n`;
}

const documentsOf = (text: string): unknown[] => parseAllDocuments(text).map((document) => document.toJSON() as unknown).filter((document) => document !== null);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

interface ControlHost {
  child: ChildProcess;
  workerdPids: number[];
}

interface VersionRecord {
  version: number;
  actor: string;
  source: string;
}
interface AuditEntry {
  version: number;
  action: string;
}
interface Health {
  configVersion: number | null;
  stale: boolean;
  lastRefreshError: string | null;
  refreshFailures: number;
}

describe("a control plane killed mid-apply and mid-traffic", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-crash-"));
  const state = join(dir, "state");
  const registry = join(dir, "registry");
  // Miniflare names modules by their path from the working directory: bundles stay in the repository.
  const outDir = join(ROOT, ".wrangler", "crash-test", String(process.pid));
  let gateway: Miniflare | undefined;
  let host: ControlHost | undefined;
  const hostLogs: string[] = [];

  function startHost(): Promise<ControlHost> {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts/control-host.ts"), "--state", state, "--registry", registry, "--out", outDir], {
      cwd: ROOT,
      env: E2E_ENV,
      // Its own process group: the kill takes the host and its workerd together, as a crash would.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`the control host did not start in 90 s:\n${out}\n${hostLogs.join("")}`)), 90_000);
      child.stderr?.on("data", (chunk: Buffer) => hostLogs.push(chunk.toString()));
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split("\n").find((candidate) => candidate.startsWith("{"));
        if (line === undefined) return;
        clearTimeout(timer);
        resolve({ child, workerdPids: (JSON.parse(line) as { workerdPids: number[] }).workerdPids });
      });
      child.once("exit", (code) => reject(new Error(`the control host exited (${code}) before it was ready:\n${out}\n${hostLogs.join("")}`)));
    });
  }

  /** SIGKILL to the host's whole process group: workerd dies with no chance to finish anything. */
  async function killHost(): Promise<void> {
    const current = host;
    if (current?.child.pid === undefined) throw new Error("no control host to kill");
    host = undefined;
    const exited = new Promise((done) => current.child.once("exit", done));
    process.kill(-current.child.pid, "SIGKILL");
    await exited;
    for (const pid of current.workerdPids) {
      // Reparented and reaped once dead; a zombie would still be listed, so wait for it to go.
      for (let i = 0; i < 50 && processExists(pid); i++) await sleep(100);
      expect(processExists(pid), `workerd ${pid} still running after SIGKILL`).toBe(false);
    }
  }

  async function call(url: string, init: RequestInit = {}): Promise<Response> {
    if (gateway === undefined) throw new Error("no gateway");
    return (await gateway.dispatchFetch(url, init as never)) as unknown as Response;
  }

  async function admin<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const response = await call(`http://127.0.0.1/.weft/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "weft-actor": "crash-test", ...(init.headers ?? {}) } });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: kept as text for the failure message.
    }
    return { status: response.status, body: body as T };
  }

  const apply = (text: string) => admin<{ version?: number }>("/config", { method: "POST", headers: { "content-type": "application/yaml" }, body: text });
  const health = async () => (await (await call("http://127.0.0.1/.weft/healthz")).json()) as Health;

  beforeAll(async () => {
    host = await startHost();
    gateway = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      unsafeDevRegistryPath: registry,
      log: new Log(LogLevel.ERROR),
      workers: [
        await gatewayWorkerOptions(outDir, CONTROL_NAME, { WEFT_ADMIN_TOKEN: ADMIN_TOKEN, WEFT_ENV: "dev", WEFT_CONFIG_REFRESH_MS: "1000", WEFT_TELEMETRY_FLUSH_MS: "1000" }),
        ...(await exampleWorkerOptions(outDir, GATEWAY_NAME)),
      ],
    });
    await gateway.ready;
  }, 180_000);

  afterAll(async () => {
    if (host?.child.pid !== undefined) process.kill(-host.child.pid, "SIGKILL");
    await gateway?.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it("keeps every acknowledged apply and only whole sets, while the gateway serves throughout and recovers by itself", async () => {
    const sent = new Map<string, unknown[]>();
    const acknowledged = new Map<number, string>();
    const send = async (round: string) => {
      const text = roundSet(round);
      sent.set(round, documentsOf(text));
      const started = Date.now();
      const answer = await apply(text);
      if (answer.status === 200 && answer.body.version !== undefined) acknowledged.set(answer.body.version, round);
      return { ...answer, ms: Date.now() - started };
    };

    const first = await send("0");
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const svid = await admin<{ token: string }>("/tokens", { method: "POST", body: JSON.stringify({ service: "frontend" }) });
    expect(svid.status).toBe(200);

    // Traffic the whole time: ingress calls on random paths and mesh calls carrying frontend's SVID.
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    let running = true;
    const worker = async (lane: number) => {
      for (let i = 0; running; i++) {
        const mesh = (i + lane) % 2 === 0;
        const url = mesh ? `http://httpbin.mesh/anything/${lane}-${i}` : `http://shop.example/httpbin/anything/${Math.random().toString(36).slice(2)}`;
        try {
          const response = await call(url, mesh ? { headers: { authorization: `Bearer ${svid.body.token}` } } : {});
          const key = `${mesh ? "mesh" : "ingress"} ${response.status}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          if (response.status !== 200) failures.push(`${url} → ${response.status} ${(await response.text()).slice(0, 200)}`);
          else await response.arrayBuffer();
        } catch (error) {
          failures.push(`${url} → ${(error as Error).message}`);
        }
        await sleep(40);
      }
    };
    const traffic = [0, 1, 2].map(worker);
    // Warm first: the gateway holds the config, the JWKS and frontend's hop token before the first kill
    // (a gateway isolate that never reached the control plane has nothing to serve from).
    for (let i = 0; i < 100 && !((outcomes.get("mesh 200") ?? 0) >= 10 && (outcomes.get("ingress 200") ?? 0) >= 10); i++) await sleep(100);
    expect(failures).toEqual([]);

    // A few rounds: an apply, the process killed part-way through it, a while dead, a restart.
    const timeline: string[] = [`apply 0 acknowledged as v${first.body.version} in ${first.ms} ms`];
    for (const [round, fraction] of [["1", 0.2], ["2", 0.5], ["3", 0.9]] as const) {
      const pending = send(round);
      await sleep(Math.round(first.ms * fraction));
      await killHost();
      const answer = await pending;
      timeline.push(`apply ${round}: killed at ${Math.round(fraction * 100)}% of an apply's time → HTTP ${answer.status}${answer.status === 200 ? ` v${answer.body.version}` : ""}`);
      expect([200, 500, 502, 503, 504]).toContain(answer.status);

      // Dead for a few refresh intervals: the gateway keeps serving its config and says why it cannot refresh.
      await sleep(3_000);
      const whileDead = await health();
      expect(whileDead.refreshFailures, JSON.stringify(whileDead)).toBeGreaterThan(0);
      expect(whileDead.lastRefreshError).not.toBeNull();
      expect(whileDead.configVersion, `${JSON.stringify(whileDead)} ${failures.slice(0, 5).join(" | ")} ${JSON.stringify(Object.fromEntries(outcomes))}`).not.toBeNull();

      host = await startHost();
      // The gateway's runtime learns the new process's address from the registry shortly after it
      // starts; until then its calls fail as they did while the process was dead.
      const restarted = Date.now();
      let again = await send(`${round}-after`);
      while (again.status === 503 && Date.now() - restarted < 30_000) {
        await sleep(250);
        again = await send(`${round}-after`);
      }
      timeline.push(`control plane reachable again ${Date.now() - restarted} ms after its restart`);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      timeline.push(`apply ${round}-after restart → v${again.body.version}`);
    }

    // The gateway, never restarted, converges on the newest version by itself.
    const history = await admin<{ versions: VersionRecord[] }>("/config/history?limit=100");
    expect(history.status).toBe(200);
    const newest = Math.max(...history.body.versions.map((record) => record.version));
    let converged: Health | undefined;
    for (let i = 0; i < 150; i++) {
      const now = await health();
      if (now.configVersion === newest && now.refreshFailures === 0 && !now.stale) {
        converged = now;
        break;
      }
      await sleep(200);
    }
    expect(converged, "the gateway did not pick up the newest version within 30 s of the last restart").toBeDefined();
    running = false;
    await Promise.all(traffic);

    // Every version counts up by one from 1, and is one whole set that was sent.
    const versions = history.body.versions.map((record) => record.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    for (const version of versions) {
      const stored = await admin<{ documents: unknown[] }>(`/config?version=${version}`);
      expect(stored.status).toBe(200);
      const marker = (stored.body.documents as { kind?: string; metadata?: { name?: string } }[]).find((document) => document.kind === "Route" && document.metadata?.name?.startsWith("round-"));
      const round = marker?.metadata?.name?.slice("round-".length) ?? "?";
      expect(stored.body.documents, `version ${version} (round ${round}) is not a whole set that was sent`).toEqual(sent.get(round));
      if (acknowledged.has(version)) expect(round).toBe(acknowledged.get(version));
    }
    // What became of the applies the kills interrupted (either is right; a half is not).
    const storedRounds = new Set<string>();
    for (const version of versions) {
      const stored = await admin<{ documents: { kind?: string; metadata?: { name?: string } }[] }>(`/config?version=${version}`);
      const name = stored.body.documents.find((document) => document.kind === "Route" && document.metadata?.name?.startsWith("round-"))?.metadata?.name;
      if (name !== undefined) storedRounds.add(name.slice("round-".length));
    }
    timeline.push(`interrupted applies stored whole: ${["1", "2", "3"].filter((round) => storedRounds.has(round)).join(", ") || "none"}; not stored: ${["1", "2", "3"].filter((round) => !storedRounds.has(round)).join(", ") || "none"}`);
    // Every acknowledged apply is there.
    for (const version of acknowledged.keys()) expect(versions).toContain(version);

    // History and audit name the same versions: one apply entry each, no more, no less.
    const audit = await admin<{ entries: AuditEntry[] }>("/audit?limit=500");
    const applied = audit.body.entries.filter((entry) => entry.action === "apply").map((entry) => entry.version).sort((a, b) => a - b);
    expect(applied).toEqual(versions);

    // The data plane answered every request, dead control plane or not.
    const total = [...outcomes.values()].reduce((sum, count) => sum + count, 0);
    console.log(`[control-plane crash] ${timeline.join("; ")}; requests ${JSON.stringify(Object.fromEntries(outcomes))} (${total} in all)`);
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThan(300);
  });
});

function processExists(pid: number): boolean {
  try {
    // A zombie keeps its /proc entry with state Z: count it as gone.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
