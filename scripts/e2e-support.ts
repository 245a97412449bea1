/** What the system tests share: running a program to completion with readable failures, and a free loopback port. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The environment system tests run tools in: no telemetry, no update notices. */
export const E2E_ENV: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", npm_config_update_notifier: "false" };

/**
 * Runs a program to completion and returns its stdout. A failing exit throws with the command and
 * its whole output, unless it is `expectCode`, which is then what the test wants (stdout + stderr).
 */
export function runCommand(command: string, args: readonly string[], cwd: string, options: { expectCode?: number; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    const out = execFileSync(command, [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: options.env ?? E2E_ENV, timeout: 240_000 });
    if (options.expectCode !== undefined && options.expectCode !== 0) throw new Error(`${command} ${args.join(" ")} exited 0, expected ${options.expectCode}:\n${out}`);
    return out;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; status?: number };
    if (options.expectCode !== undefined && failed.status === options.expectCode) return `${failed.stdout ?? ""}${failed.stderr ?? ""}`;
    if (failed.status === undefined) throw error;
    throw new Error(`${command} ${args.join(" ")} exited ${failed.status}:\n${failed.stdout ?? ""}\n${failed.stderr ?? ""}`);
  }
}

/** A TCP port nothing listens on at the moment, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

/** The workerd processes `parent` started: its children named workerd (the runtime each Miniflare spawns). */
export function childWorkerdPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (ppid === parent && comm.startsWith("workerd")) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
