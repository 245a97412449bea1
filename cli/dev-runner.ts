/**
 * The local mesh runner behind `weft dev` and `npm run dev`: one `wrangler dev` serving the
 * gateway and the mesh's Workers on loopback. Once the gateway answers /.weft/healthz, the mesh
 * file is applied when the control plane has no config (or with `reset`), each Worker that calls
 * peers gets a credential in its .dev.vars (and wrangler restarts once so they read it), then the
 * caller prints its banner. Ctrl-C, SIGTERM or SIGHUP stops wrangler and its workerd processes,
 * and a watchdog stops them when the runner dies without cleaning up (SIGKILL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { isRecord } from "@weft/sdk";

/** Loopback only: the dev admin token is no secret, so the mesh must not be reachable from the network. */
export const HOST = "127.0.0.1";
export const DEFAULT_PORT = 8787;

const HEALTH_POLL_MS = 500;
/** How long a refusal-free apply may keep failing (gateway up, control plane still starting). */
const APPLY_RETRY_MS = 20_000;
/** How long wrangler gets to stop its workerd processes before they are killed. */
const STOP_GRACE_MS = 5_000;

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

/**
 * The lines explaining a refused apply, from the admin API's error body
 * `{"error":{"code","message","issues":[{document,kind?,name?,path,message,line?}]}}`.
 * Issues lead with `file:line` so terminals and editors can jump to them.
 */
export function describeRefusal(status: number, body: unknown, file: string): string[] {
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

const say = (line = "") => console.log(line === "" ? "" : `[weft dev] ${line}`);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Resolves when nothing listens on the port yet; rejects with a readable error otherwise. */
export function checkPortFree(port: number): Promise<void> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      // Another server there would answer our health checks and take our config: refuse to start.
      fail(new Error(error.code === "EADDRINUSE" ? `${HOST}:${port} is already in use (another dev mesh?); choose another port` : error.message));
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

function readFileOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** A local mesh: one `wrangler dev` serving the gateway and the Workers of the mesh. */
export interface DevMesh {
  /** Where wrangler runs; relative paths below resolve against it. */
  cwd: string;
  /** `wrangler dev` arguments before the address: `-c <gateway config> -c <worker config>…` and more. */
  wranglerArgs: readonly string[];
  /** The wrangler entry script (`wrangler/bin/wrangler.js`) of the project. */
  wranglerBin: string;
  /** The mesh's YAML file, relative to `cwd`. */
  meshFile: string;
  /** Workers that call peers: the mesh service each is, and the .dev.vars file (relative to `cwd`) its credential goes in. */
  callers: readonly { service: string; devVarsFile: string }[];
  /** Labels changes in history and audit. */
  actor: string;
  /** How the user asks to re-apply the mesh file, for the messages. */
  resetHint: string;
}

/** Arguments to `wrangler`: `dev`, the mesh's configs (the gateway's first: it is the Worker that listens), then the address. */
export function devWranglerArgs(mesh: Pick<DevMesh, "wranglerArgs">, port: number, persistTo?: string): string[] {
  return [
    "dev",
    ...mesh.wranglerArgs,
    "--ip",
    HOST,
    "--port",
    String(port),
    // Its hotkeys put the terminal in raw mode, where Ctrl-C would no longer reach this runner.
    "--show-interactive-dev-session=false",
    ...(persistTo === undefined ? [] : ["--persist-to", persistTo]),
  ];
}

export class DevServer {
  private readonly base: string;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private stopping = false;
  private restarting = false;
  private restarted: (() => void) | undefined;
  private exited: Promise<number>;
  private onExit: (code: number) => void = () => {};

  constructor(
    private readonly mesh: DevMesh,
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
    // The project's own wrangler (what `npx wrangler` would pick), run by this node: no npm exec
    // layer between us and the process we must stop.
    const args = [this.mesh.wranglerBin, ...devWranglerArgs(this.mesh, this.port, this.persistTo)];
    say(`starting: wrangler ${args.slice(1).join(" ")}`);
    const child = spawn(process.execPath, args, {
      cwd: this.mesh.cwd,
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
   * Gives every Worker that calls peers a bootstrap credential in its own .dev.vars (gitignored),
   * so the mesh can run STRICT: reuses a credential that still exchanges, creates one otherwise.
   * Returns whether any file changed (the Workers then need a restart to read it).
   */
  async provisionCredentials(token: string): Promise<boolean> {
    let changed = false;
    for (const { service, devVarsFile } of this.mesh.callers) {
      const file = resolve(this.mesh.cwd, devVarsFile);
      const current = readFileOr(file);
      const existing = readDevVar(current, "WEFT_CREDENTIAL");
      if (existing && (await this.exchangeWorks(existing))) continue;
      const { status, body } = await fetchJson(`${this.base}/.weft/api/v1/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "weft-actor": this.mesh.actor },
        body: JSON.stringify({ service }),
      });
      const credential = isRecord(body) && typeof body.credential === "string" ? body.credential : undefined;
      if (status !== 201 || !credential) {
        say(`could not create a credential for ${service}: ${describeRefusal(status, body, this.mesh.meshFile).join(" ")}`);
        continue;
      }
      const kept = current.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.trim().startsWith("WEFT_CREDENTIAL="));
      writeFileSync(file, `${[...kept, `WEFT_CREDENTIAL=${credential}`].join("\n")}\n`, { mode: 0o600 });
      say(`gave ${service} a credential (${devVarsFile}, not committed)`);
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
   * Applies the mesh file when the control plane has no config, or always with `reset`; a
   * config already there (maybe newer, applied since) is kept. Says which happened; never throws.
   */
  async applyMesh(token: string, reset = false): Promise<void> {
    let why = "--reset";
    if (!reset) {
      const stored = await this.storedVersion(token);
      if (typeof stored === "number") {
        say(`the control plane already has config version ${stored}; keeping it (${this.mesh.resetHint} applies ${this.mesh.meshFile} again)`);
        return;
      }
      // Could not tell (e.g. a refused token): try to apply, which reports the reason.
      why = stored === null ? "the control plane had no config" : "could not read the current config";
    }
    const file = this.mesh.meshFile;
    const yaml = readFileSync(resolve(this.mesh.cwd, file), "utf8");
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
            say(`${file} is already config version ${version} (unchanged)`);
          } else {
            const summary = isRecord(body) && typeof body.summary === "string" && body.summary !== "" ? `: ${body.summary}` : "";
            say(`applied ${file} as config version ${version} (${why})${summary}`);
          }
          return;
        }
        if (status < 500) {
          // A refusal is an answer, not a transient failure: say why and keep serving.
          say(`${file} was REFUSED by the admin API; the mesh keeps serving its previous config.`);
          for (const line of describeRefusal(status, body, file)) say(line);
          if (status === 401 || status === 403) say("check WEFT_ADMIN_TOKEN in .dev.vars");
          return;
        }
        lastProblem = describeRefusal(status, body, file).join(" ");
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      if (Date.now() > deadline) {
        say(`could not apply ${file} (${lastProblem}); the gateway keeps serving. Apply it with the curl line below.`);
        return;
      }
      await sleep(1_000);
    }
  }

  /** The gateway's base URL on loopback. */
  get url(): string {
    return this.base;
  }
}

export interface RunDevOptions {
  port: number;
  token: string;
  reset?: boolean;
  persistTo?: string;
  /** Printed (one write) once the mesh serves. */
  banner(url: string): string[];
  /** Called once the mesh serves; returns a stop function (e.g. demo traffic). */
  onReady?(url: string): (() => Promise<unknown>) | undefined;
}

/** Runs the local mesh until it is stopped; resolves with the exit code. */
export async function runDevMesh(mesh: DevMesh, options: RunDevOptions): Promise<number> {
  try {
    await checkPortFree(options.port);
  } catch (error) {
    say((error as Error).message);
    return 1;
  }
  const server = new DevServer(mesh, options.port, options.persistTo);
  let stopExtra: (() => Promise<unknown>) | undefined;
  let stopRequested = false;
  const stopAll = (signal: NodeJS.Signals, gently = false) => {
    stopRequested = true;
    void stopExtra?.();
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
    await server.applyMesh(options.token, options.reset);
    const ready = (await server.provisionCredentials(options.token)) ? await server.restart() : true;
    if (ready && server.running) {
      process.stdout.write(`${options.banner(server.url).join("\n")}\n`);
      if (!stopRequested) stopExtra = options.onReady?.(server.url);
    }
  }
  const code = await server.wait();
  // Wrangler is gone (stopped, or exited by itself): whatever ran beside it has nowhere to go.
  await stopExtra?.();
  return code;
}
