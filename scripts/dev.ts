/**
 * `npm run dev`: the whole example mesh on one port.
 *
 * One `wrangler dev` serves the gateway (root wrangler.toml, with its control plane Durable Object)
 * and every example function (their own wrangler configs) at http://127.0.0.1:8787, `PORT` to
 * change it. Once the gateway answers /.weft/healthz, examples/mesh.yaml is applied through the
 * admin API when the control plane has no config yet (or with `--reset`), then the URLs to try are
 * printed. Wrangler's output is forwarded as is; Ctrl-C, SIGTERM or SIGHUP stops wrangler and its
 * workerd processes, and a watchdog stops them when this runner dies without cleaning up (SIGKILL).
 *
 * State (config versions, keys, telemetry) persists in wrangler's .wrangler/state, or in
 * `--persist-to <dir>`, so a restart keeps the config it finds, including one applied since.
 *
 * `npm run dev -- --traffic` (or WEFT_DEMO_TRAFFIC=1) also sends gentle demo traffic once the mesh
 * is up (scripts/demo-traffic.ts, as `npm run demo` does), so the telemetry has something to show.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_RATE as DEMO_RATE, startDemoTraffic, type DemoTraffic } from "./demo-traffic.js";
import { EXAMPLE_WORKERS, ROOT } from "./example-workers.js";

/** Loopback only: the dev admin token is public knowledge, so the mesh must not be reachable from the network. */
export const HOST = "127.0.0.1";
export const DEFAULT_PORT = 8787;
export const MESH_FILE = "examples/mesh.yaml";
/** Used when .dev.vars has no WEFT_ADMIN_TOKEN (it ships with this value; DESIGN §4). */
export const DEFAULT_ADMIN_TOKEN = "dev-admin-token";

const HEALTH_POLL_MS = 500;
/** How long a refusal-free apply may keep failing (gateway up, control plane still starting). */
const APPLY_RETRY_MS = 20_000;
/** How long wrangler gets to stop its workerd processes before they are killed. */
const STOP_GRACE_MS = 5_000;

/** The port from `PORT`, or 8787; throws on anything that is not a TCP port. */
export function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`PORT must be a TCP port number (1-65535), got "${value}"`);
  return port;
}

export interface DevOptions {
  /** Send demo traffic once the mesh is up (`--traffic` or WEFT_DEMO_TRAFFIC=1). */
  traffic: boolean;
  /** Apply examples/mesh.yaml even when the control plane already has a config (`--reset`). */
  reset: boolean;
  /** Where wrangler keeps local state (`--persist-to <dir>`); wrangler's default .wrangler/state when absent. */
  persistTo?: string;
  help: boolean;
}

export const DEV_USAGE = [
  "usage: npm run dev [-- --traffic] [--reset] [--persist-to <dir>]",
  "  --traffic   once the mesh is up, send gentle demo traffic through it (as npm run demo does);",
  "              also WEFT_DEMO_TRAFFIC=1",
  "  --reset     apply examples/mesh.yaml as a new version even if the mesh already has a config",
  "              (by default it is applied only when the control plane has none)",
  "  --persist-to <dir>  keep local state (config, keys, telemetry) there instead of .wrangler/state",
  "  PORT=<n>    serve on 127.0.0.1:<n> instead of 8787",
].join("\n");

/** `npm run dev`'s options from its arguments and environment; throws on an unknown argument. */
export function parseDevArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): DevOptions {
  const flag = (env.WEFT_DEMO_TRAFFIC ?? "").trim().toLowerCase();
  const options: DevOptions = { traffic: ["1", "true", "yes", "on"].includes(flag), reset: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--traffic") options.traffic = true;
    else if (arg === "--reset") options.reset = true;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg === "--persist-to" || arg.startsWith("--persist-to=")) {
      const dir = arg === "--persist-to" ? argv[++i] : arg.slice("--persist-to=".length);
      if (dir === undefined || dir === "" || dir.startsWith("--")) throw new Error("--persist-to needs a directory");
      options.persistTo = dir;
    } else throw new Error(`unknown argument "${arg}"`);
  }
  return options;
}

/** Arguments to `wrangler`: the gateway's config first (it is the Worker that listens), then each function's. */
export function wranglerArgs(port: number, persistTo?: string): string[] {
  return [
    "dev",
    "-c",
    "wrangler.toml",
    ...EXAMPLE_WORKERS.flatMap((worker) => ["-c", worker.wranglerConfig]),
    "--ip",
    HOST,
    "--port",
    String(port),
    // Its hotkeys put the terminal in raw mode, where Ctrl-C would no longer reach this script.
    "--show-interactive-dev-session=false",
    ...(persistTo === undefined ? [] : ["--persist-to", persistTo]),
  ];
}

/**
 * The watchdog, a separate tiny node process in a session of its own: it reads "+<pgid>" and
 * "-<pgid>" lines (wrangler's process groups to stop, or to forget) on stdin, which only this
 * runner writes. When stdin ends, the runner is gone (exited, or killed with SIGKILL, which no
 * handler sees), and the watchdog stops whatever groups are left: SIGTERM, then SIGKILL. Being
 * in its own session, a signal to the runner's group (Ctrl-C, `kill -9 -- -<pgid>`) misses it.
 */
export const WATCHDOG_SCRIPT = `
const groups = new Set();
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
const alive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };
const signal = (name) => { for (const g of groups) { try { process.kill(-g, name); } catch {} } };
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  pending += chunk;
  let i;
  while ((i = pending.indexOf("\\n")) >= 0) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    const g = Number(line.slice(1));
    if (!Number.isInteger(g) || g <= 1) continue;
    if (line[0] === "+") groups.add(g); else groups.delete(g);
  }
});
const finish = () => {
  for (const g of [...groups]) if (!alive(g)) groups.delete(g);
  if (groups.size === 0) process.exit(0);
  signal("SIGTERM");
  const started = Date.now();
  setInterval(() => {
    for (const g of [...groups]) if (!alive(g)) groups.delete(g);
    if (groups.size === 0) process.exit(0);
    if (Date.now() - started > 3000) { signal("SIGKILL"); process.exit(0); }
  }, 100);
};
process.stdin.on("end", finish);
process.stdin.on("error", finish);
`;

/** A variable from a dotenv-style file such as .dev.vars; undefined when the file or the key is missing. */
export function readDevVar(text: string, key: string): string | undefined {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0 || line.slice(0, eq).trim() !== key) continue;
    const value = line.slice(eq + 1).trim();
    const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0];
    return quoted ? value.slice(1, -1) : value;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The lines explaining a refused apply, from the admin API's error body
 * `{"error":{"code","message","issues":[{document,kind?,name?,path,message,line?}]}}`.
 * Issues lead with `file:line` so terminals and editors can jump to them.
 */
export function describeRefusal(status: number, body: unknown, file: string = MESH_FILE): string[] {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (error === undefined) return [`HTTP ${status}: ${typeof body === "string" ? body : JSON.stringify(body)}`];
  const code = typeof error.code === "string" ? error.code : "error";
  const message = typeof error.message === "string" ? error.message : "";
  const lines = [`HTTP ${status} ${code}: ${message}`];
  const issues = Array.isArray(error.issues) ? error.issues.filter(isRecord) : [];
  for (const issue of issues) {
    const where = typeof issue.line === "number" ? `${file}:${issue.line}` : file;
    const documentNo = typeof issue.document === "number" ? `document ${issue.document}` : "document ?";
    const named = typeof issue.kind === "string" ? ` (${issue.kind}${typeof issue.name === "string" ? `/${issue.name}` : ""})` : "";
    const path = typeof issue.path === "string" && issue.path !== "" ? ` ${issue.path}` : "";
    lines.push(`  ${where}  ${documentNo}${named}${path}: ${String(issue.message)}`);
  }
  return lines;
}

/** What to try once the mesh is up. */
export function banner(base: string, token: string, options: { traffic?: boolean } = {}): string[] {
  const auth = `-H 'authorization: Bearer ${token}'`;
  const tryIt: [command: string, why: string][] = [
    [`curl ${base}/httpbin/anything`, `httpbin, split 90/10 between v1 and v2 (see "version")`],
    [`curl -H 'x-canary: 1' ${base}/httpbin/headers`, "httpbin v2, the canary"],
    [`curl -i ${base}/httpbin/flaky?rate=0.3`, "fails 30% of the time at httpbin; the mesh's retries hide most of it"],
    [`curl -i -H 'x-chaos: abort' ${base}/httpbin/anything`, "an injected fault (503 fault_injected) from the ingress rule's fault injection"],
    [`curl -H 'Host: orders.mesh' ${base}/orders/1001`, "refused (401): the mesh is STRICT, mesh calls need an identity"],
    [`curl ${base}/`, "the shop front end (or open it in a browser)"],
    [`curl ${base}/api/shop/orders/1001`, "frontend → orders (→ catalog on v2) with their own identities; orders reports its caller"],
    [`curl ${base}/.weft/healthz`, "gateway health and the config version in use"],
  ];
  const width = Math.max(...tryIt.map(([command]) => command.length));
  const rule = "─".repeat(78);
  return [
    "",
    rule,
    ` weft dev mesh: gateway at ${base}  (dev admin token: ${token})`,
    rule,
    " Try it:",
    ...tryIt.map(([command, why]) => `   ${command.padEnd(width)}  # ${why}`),
    " Admin API:",
    `   curl ${auth} ${base}/.weft/api/v1/config`,
    `   curl ${auth} ${base}/.weft/api/v1/config/history`,
    `   curl ${auth} ${base}/.weft/api/v1/services`,
    `   curl -X POST ${auth} -H 'content-type: application/yaml' \\`,
    `        --data-binary @${MESH_FILE} ${base}/.weft/api/v1/config   # re-apply after editing`,
    ` Dashboard (its own host, WEFT_ADMIN_HOST; sign in with the dev admin token): http://weft-admin.localhost:${new URL(base).port}/.weft/dashboard`,
    " Demo traffic:",
    options.traffic
      ? `   on: ~${DEMO_RATE} requests/s through the shop and httpbin routes, a summary every 5 s (npm run demo sends the same)`
      : `   npm run dev -- --traffic   (or WEFT_DEMO_TRAFFIC=1), or in another terminal: npm run demo -- --url ${base}`,
    " All Workers run in this one wrangler dev, so its \"[not connected]\" binding labels above are",
    " stale: the bindings work. Wrangler reloads the Workers when their code changes. Ctrl-C stops everything.",
    rule,
    "",
  ];
}

const say = (line = "") => console.log(line === "" ? "" : `[weft dev] ${line}`);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Resolves when nothing listens on the port yet; rejects with a readable error otherwise. */
function checkPortFree(port: number): Promise<void> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      // Another server there would answer our health checks and take our config: refuse to start.
      fail(new Error(error.code === "EADDRINUSE" ? `${HOST}:${port} is already in use (another npm run dev?); set PORT to use another port` : error.message));
    });
    probe.listen(port, HOST, () => probe.close(() => done()));
  });
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Directories of example functions that call peers (and so need an identity of their own). */
export function peerCallerDirs(): string[] {
  return [...new Set(EXAMPLE_WORKERS.filter((worker) => worker.callsPeers).map((worker) => worker.wranglerConfig.split("/").slice(0, -1).join("/")))];
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

class DevServer {
  private readonly base: string;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private stopping = false;
  private restarting = false;
  private restarted: (() => void) | undefined;
  private exited: Promise<number>;
  private onExit: (code: number) => void = () => {};

  constructor(
    private readonly port: number,
    private readonly persistTo?: string,
  ) {
    this.base = `http://${HOST}:${port}`;
    this.exited = new Promise((done) => (this.onExit = done));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.stopping) {
      // Stopped before it started (a Ctrl-C during startup): nothing to run.
      this.onExit(0);
      return;
    }
    // The repo's own wrangler (what `npx wrangler` would pick), run by this node: no npm exec layer
    // between us and the process we must stop.
    const wranglerBin = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
    const args = [wranglerBin, ...wranglerArgs(this.port, this.persistTo)];
    say(`starting: wrangler ${args.slice(1).join(" ")}`);
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "inherit", "inherit"],
      // Its own process group, so stopping it reaches workerd and esbuild too, not just wrangler.
      detached: process.platform !== "win32",
    });
    this.child = child;
    const group = child.pid;
    if (group !== undefined) this.tellWatchdog(`+${group}`);
    child.once("error", (error) => {
      say(`could not start wrangler: ${error.message}`);
      this.onExit(1);
    });
    child.once("exit", (code, signal) => {
      // Whatever wrangler left behind in its group goes with it.
      this.signalGroup("SIGKILL");
      if (group !== undefined) this.tellWatchdog(`-${group}`);
      if (this.restarting) {
        this.restarted?.();
        return;
      }
      if (!this.stopping) say(`wrangler exited (${signal ?? `code ${code ?? "?"}`})`);
      this.onExit(this.stopping ? 0 : (code ?? 1));
    });
  }

  /**
   * Wrangler runs in a process group of its own (so a stop reaches workerd and esbuild too), which a
   * signal to this runner's group does not reach, and nothing of ours runs when this runner is
   * killed with SIGKILL: the watchdog (WATCHDOG_SCRIPT) covers both.
   */
  private tellWatchdog(line: string): void {
    if (process.platform === "win32") return;
    if (!this.watchdog) {
      const watchdog = spawn(process.execPath, ["-e", WATCHDOG_SCRIPT], { stdio: ["pipe", "ignore", "ignore"], detached: true });
      watchdog.once("error", (error) => say(`could not start the watchdog: ${error.message}`));
      // EPIPE once the watchdog is gone must not take the runner down.
      watchdog.stdin?.on("error", () => undefined);
      watchdog.unref();
      this.watchdog = watchdog;
    }
    this.watchdog.stdin?.write(`${line}\n`);
  }

  /** Stops wrangler and starts it again (new secrets in .dev.vars are read at start); true once serving. */
  async restart(): Promise<boolean> {
    if (!this.running) return false;
    say("restarting wrangler so the functions read their new credentials…");
    this.restarting = true;
    const gone = new Promise<void>((done) => (this.restarted = done));
    this.signalGroup("SIGTERM");
    const force = setTimeout(() => this.signalGroup("SIGKILL"), STOP_GRACE_MS);
    await gone;
    clearTimeout(force);
    this.restarting = false;
    if (this.stopping) {
      this.onExit(0);
      return false;
    }
    this.start();
    return this.waitForGateway();
  }

  /**
   * Gives every example function that calls peers a bootstrap credential in its own .dev.vars
   * (gitignored), so the mesh runs STRICT: reuses a credential that still exchanges, creates one
   * otherwise. Returns whether any file changed (the functions then need a restart to read it).
   */
  async provisionCredentials(token: string): Promise<boolean> {
    let changed = false;
    for (const dir of peerCallerDirs()) {
      const file = resolve(ROOT, dir, ".dev.vars");
      const current = readFileOr(file);
      const existing = readDevVar(current, "WEFT_CREDENTIAL");
      if (existing && (await this.exchangeWorks(existing))) continue;
      const service = dir.split("/").at(-1) ?? dir;
      const { status, body } = await fetchJson(`${this.base}/.weft/api/v1/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "weft-actor": "npm-run-dev" },
        body: JSON.stringify({ service }),
      });
      const credential = isRecord(body) && typeof body.credential === "string" ? body.credential : undefined;
      if (status !== 201 || !credential) {
        say(`could not create a credential for ${service}: ${describeRefusal(status, body).join(" ")}`);
        continue;
      }
      const kept = current.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.trim().startsWith("WEFT_CREDENTIAL="));
      writeFileSync(file, `${[...kept, `WEFT_CREDENTIAL=${credential}`].join("\n")}\n`, { mode: 0o600 });
      say(`gave ${service} a credential (${dir}/.dev.vars, not committed)`);
      changed = true;
    }
    return changed;
  }

  private async exchangeWorks(credential: string): Promise<boolean> {
    try {
      const { status } = await fetchJson(`${this.base}/.weft/token`, { method: "POST", headers: { authorization: `Bearer ${credential}` } });
      return status === 200;
    } catch {
      return false;
    }
  }

  /** Resolves with the exit code to use once wrangler is gone. */
  wait(): Promise<number> {
    return this.exited;
  }

  /**
   * Forwards a stop signal (as a terminal's Ctrl-C would reach the whole group), then kills after
   * a grace period. Asked again while stopping (a second Ctrl-C), it kills at once unless `gently`.
   */
  stop(signal: NodeJS.Signals, gently = false): void {
    if (this.stopping) {
      if (!gently) this.signalGroup("SIGKILL");
      return;
    }
    this.stopping = true;
    if (!this.running) return;
    say(`stopping wrangler (${signal})…`);
    this.signalGroup(signal);
    setTimeout(() => this.signalGroup("SIGKILL"), STOP_GRACE_MS).unref();
  }

  /** Synchronous, for process exit: asks wrangler's group to stop if it still runs. */
  abandon(): void {
    if (this.running) this.signalGroup("SIGTERM");
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      if (process.platform === "win32") this.child?.kill(signal);
      else process.kill(-pid, signal);
    } catch (error) {
      // ESRCH: the group is already empty, which is the goal.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  /** Polls /.weft/healthz until the gateway answers with its JSON; false if wrangler stopped first. */
  async waitForGateway(): Promise<boolean> {
    const started = Date.now();
    let nextNote = 60_000;
    while (this.running && !this.stopping) {
      try {
        const { body } = await fetchJson(`${this.base}/.weft/healthz`);
        // Any JSON health answer (even 503 "unconfigured") means the gateway Worker is serving.
        if (isRecord(body) && typeof body.status === "string") return true;
      } catch {
        // Not listening yet, or workerd still loading the Workers.
      }
      if (Date.now() - started > nextNote) {
        say(`still waiting for ${this.base}/.weft/healthz (${Math.round((Date.now() - started) / 1000)}s); see wrangler's output above`);
        nextNote += 60_000;
      }
      await sleep(HEALTH_POLL_MS);
    }
    return false;
  }

  /**
   * The control plane's current config version: a number, null when it has none (version 0, the
   * empty set a new control plane answers, or 404), or undefined when it could not tell (not
   * ready, or the admin API refused us).
   */
  private async storedVersion(token: string): Promise<number | null | undefined> {
    const deadline = Date.now() + APPLY_RETRY_MS;
    while (this.running && !this.stopping) {
      try {
        const { status, body } = await fetchJson(`${this.base}/.weft/api/v1/config`, { headers: { authorization: `Bearer ${token}` } });
        if (status === 200 && isRecord(body) && typeof body.version === "number") return body.version > 0 ? body.version : null;
        if (status === 404) return null;
        if (status === 401 || status === 403) return undefined;
      } catch {
        // Not ready yet: ask again.
      }
      if (Date.now() > deadline) return undefined;
      await sleep(1_000);
    }
    return undefined;
  }

  /**
   * Applies examples/mesh.yaml when the control plane has no config, or always with `reset`; a
   * config already there (maybe newer, applied since) is kept. Says which happened; never throws.
   */
  async applyMesh(token: string, reset = false): Promise<void> {
    let why = "--reset";
    if (!reset) {
      const stored = await this.storedVersion(token);
      if (typeof stored === "number") {
        say(`the control plane already has config version ${stored}; keeping it (npm run dev -- --reset applies ${MESH_FILE} again)`);
        return;
      }
      // Could not tell (e.g. a refused token): try to apply, which reports the reason.
      why = stored === null ? "the control plane had no config" : "could not read the current config";
    }
    const yaml = readFileSync(resolve(ROOT, MESH_FILE), "utf8");
    const deadline = Date.now() + APPLY_RETRY_MS;
    let lastProblem = "";
    while (this.running && !this.stopping) {
      try {
        const { status, body } = await fetchJson(`${this.base}/.weft/api/v1/config`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/yaml" },
          body: yaml,
        });
        if (status >= 200 && status < 300) {
          const version = String(isRecord(body) ? body.version : undefined);
          if (isRecord(body) && body.changed === false) {
            say(`${MESH_FILE} is already config version ${version} (unchanged)`);
          } else {
            const summary = isRecord(body) && typeof body.summary === "string" && body.summary !== "" ? `: ${body.summary}` : "";
            say(`applied ${MESH_FILE} as config version ${version} (${why})${summary}`);
          }
          return;
        }
        if (status < 500) {
          // A refusal is an answer, not a transient failure: say why and keep serving.
          say(`${MESH_FILE} was REFUSED by the admin API; the mesh keeps serving its previous config.`);
          for (const line of describeRefusal(status, body)) say(line);
          if (status === 401 || status === 403) say("check WEFT_ADMIN_TOKEN in .dev.vars");
          return;
        }
        lastProblem = describeRefusal(status, body).join(" ");
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      if (Date.now() > deadline) {
        say(`could not apply ${MESH_FILE} (${lastProblem}); the gateway keeps serving. Apply it with the curl line below.`);
        return;
      }
      await sleep(1_000);
    }
  }

  printBanner(token: string, traffic = false): void {
    // One write, so wrangler's request log cannot land in the middle of it.
    process.stdout.write(`${banner(this.base, token, { traffic }).join("\n")}\n`);
  }

  /** Starts the demo traffic against this mesh (see scripts/demo-traffic.ts). */
  startTraffic(): DemoTraffic {
    return startDemoTraffic({ url: this.base, log: (line) => say(`demo traffic: ${line}`) });
  }
}

async function main(): Promise<number> {
  let options: DevOptions;
  try {
    options = parseDevArgs(process.argv.slice(2), process.env);
  } catch (error) {
    say((error as Error).message);
    console.error(DEV_USAGE);
    return 2;
  }
  if (options.help) {
    console.log(DEV_USAGE);
    return 0;
  }
  let port: number;
  try {
    port = parsePort(process.env.PORT);
    await checkPortFree(port);
  } catch (error) {
    say((error as Error).message);
    return 1;
  }
  let devVars = "";
  try {
    devVars = readFileSync(resolve(ROOT, ".dev.vars"), "utf8");
  } catch {
    say("no .dev.vars: the gateway's admin API stays off, so the example mesh cannot be applied");
  }
  const token = readDevVar(devVars, "WEFT_ADMIN_TOKEN") ?? DEFAULT_ADMIN_TOKEN;

  const server = new DevServer(port, options.persistTo);
  let traffic: DemoTraffic | undefined;
  let stopRequested = false;
  const stopAll = (signal: NodeJS.Signals, gently = false) => {
    stopRequested = true;
    void traffic?.stop();
    server.stop(signal, gently);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stopAll(signal));
  // Exiting any other way (an error) must not leave wrangler serving either; the watchdog
  // follows up with SIGKILL if it lingers.
  process.on("exit", () => server.abandon());
  // `npm run` starts us through `sh -c`, and a SIGTERM sent to npm kills that shell without
  // passing the signal on: we would be orphaned with wrangler still serving. Losing the parent
  // is therefore a stop request too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stopAll("SIGTERM", true);
  }, 1_000).unref();
  server.start();

  if (await server.waitForGateway()) {
    await server.applyMesh(token, options.reset);
    const ready = (await server.provisionCredentials(token)) ? await server.restart() : true;
    if (ready && server.running) {
      server.printBanner(token, options.traffic);
      if (options.traffic && !stopRequested) traffic = server.startTraffic();
    }
  }
  const code = await server.wait();
  // Wrangler is gone (stopped, or exited by itself): the traffic has nowhere to go.
  await traffic?.stop();
  return code;
}

// Only as a script: the test imports the helpers above.
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
