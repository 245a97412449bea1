/**
 * The README's first quick-start command, for real: `npm run dev` brings up the gateway, the
 * control plane and every example function on loopback, applies examples/mesh.yaml, and serves
 * ingress and mesh calls; stopping it leaves nothing behind, however the runner is stopped
 * (SIGTERM to it, SIGKILL of it, or a signal to its whole process group). Restarted on the same
 * state, it keeps the config it finds (a newer one included) unless asked to `--reset`.
 *
 * Three starts on one state folder of its own (not the developer's .wrangler/state), in one test
 * because each costs a wrangler startup; the first also restarts once to hand the functions credentials.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./e2e-support.js";
import { ROOT } from "./example-workers.js";

/** GET with an explicit Host header (fetch may not set one). */
function get(port: number, path: string, host = `127.0.0.1:${port}`, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host, ...extraHeaders } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error("timed out")));
    req.end();
  });
}

interface DevRun {
  child: ChildProcess;
  output: () => string;
  /** The node process running scripts/dev.ts (npm and sh sit above it in the group). */
  runnerPid: () => number;
  /** SIGTERM to the whole group (a terminal's Ctrl-C), then SIGKILL if it lingers. */
  stopGroup: () => Promise<void>;
}

/** `npm run dev -- <args>` in a process group of its own, as a terminal would run it. */
function startDev(port: number, args: string[]): DevRun {
  const child = spawn("npm", ["run", "dev", "--", ...args], { cwd: ROOT, env: { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: "false" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const group = child.pid as number;
  return {
    child,
    output: () => output,
    runnerPid: () => {
      const table = execFileSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" });
      for (const line of table.split("\n")) {
        const match = /^\s*(\d+)\s+(\d+)\s+(\S+)(.*)$/.exec(line);
        if (match && Number(match[2]) === group && /(^|\/)node$/.test(match[3] as string) && (match[4] as string).includes("scripts/dev.ts")) return Number(match[1]);
      }
      throw new Error(`no scripts/dev.ts runner in process group ${group}:\n${table}`);
    },
    stopGroup: async () => {
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(-group, name);
        } catch {
          // Already gone.
        }
      };
      if (child.exitCode === null && child.signalCode === null) {
        signal("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
      signal("SIGKILL");
    },
  };
}

async function waitForBanner(run: DevRun, port: number): Promise<void> {
  const deadline = Date.now() + 150_000;
  while (!run.output().includes("weft dev mesh: gateway at") && Date.now() < deadline && run.child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(run.output(), run.output().slice(-3000)).toContain(`weft dev mesh: gateway at http://127.0.0.1:${port}`);
}

/** True once nothing answers on the port any more (within `withinMs`). */
async function portCloses(port: number, withinMs: number): Promise<boolean> {
  const closedBy = Date.now() + withinMs;
  while (Date.now() < closedBy) {
    const closed = await get(port, "/.weft/healthz").then(
      () => false,
      () => true,
    );
    if (closed) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function configVersion(port: number): Promise<number> {
  const config = await get(port, "/.weft/api/v1/config", undefined, { authorization: "Bearer dev-admin-token" });
  expect(config.status, config.body).toBe(200);
  return (JSON.parse(config.body) as { version: number }).version;
}

/** POSTs YAML to the admin API (node:http, to keep the Host header ours). */
function applyYaml(port: number, yaml: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePost, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/.weft/api/v1/config", method: "POST", headers: { host: `127.0.0.1:${port}`, authorization: "Bearer dev-admin-token", "content-type": "application/yaml" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolvePost({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error("timed out")));
    req.end(yaml);
  });
}

describe("npm run dev", () => {
  const state = mkdtempSync(join(tmpdir(), "weft-dev-state-"));
  const runs: DevRun[] = [];
  afterAll(async () => {
    for (const run of runs) await run.stopGroup();
    rmSync(state, { recursive: true, force: true });
  });

  it("serves the example mesh with the config applied; restarts keep a newer config unless --reset; SIGTERM or SIGKILL of the runner closes the port", { timeout: 480_000 }, async () => {
    const port = await freePort();
    const run = startDev(port, ["--persist-to", state]);
    runs.push(run);
    await waitForBanner(run, port);
    expect(run.output()).toMatch(/applied examples\/mesh\.yaml as config version \d+ \(the control plane had no config\)/);
    expect(run.output()).not.toMatch(/could not create a credential/);

    const httpbin = await get(port, "/httpbin/anything");
    expect(httpbin.status).toBe(200);
    expect(JSON.parse(httpbin.body)).toMatchObject({ service: "httpbin", version: expect.stringMatching(/^v[12]$/) });

    // The ingress rule's fault injection, on request.
    const chaos = await get(port, "/httpbin/anything", undefined, { "x-chaos": "abort" });
    expect(chaos.status).toBe(503);
    expect(JSON.parse(chaos.body)).toMatchObject({ error: { code: "fault_injected" } });

    // STRICT: a caller without an identity is refused; the shop's functions hold credentials.
    const anonymous = await get(port, "/orders/1001", "orders.mesh");
    expect(anonymous.status).toBe(401);

    for (let i = 0; i < 20; i++) {
      const shop = await get(port, "/api/shop/orders/1001");
      expect(shop.status, shop.body).toBe(200);
      // frontend → orders (→ catalog on v2), each hop with the caller's identity, which orders reports.
      expect(JSON.parse(shop.body)).toMatchObject({ ordersVersion: expect.stringMatching(/^v[12]$/), order: { caller: "frontend" } });
    }

    const health = await get(port, "/.weft/healthz");
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok", stale: false });

    // The user changes the mesh (a newer config than examples/mesh.yaml), which a restart must keep.
    // (Not orders' weights: the example's rollout owns those, so changing them alone changes nothing.)
    const changed = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8").replace("timeout: 15s", "timeout: 20s");
    expect(changed).not.toBe(readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8"));
    const applied = await applyYaml(port, changed);
    expect(applied.status, applied.body).toBe(200);
    const newer = (JSON.parse(applied.body) as { version: number; changed: boolean }).version;

    // A SIGTERM to the runner alone (not its group), as `kill <pid>` would send.
    process.kill(run.runnerPid(), "SIGTERM");
    expect(await portCloses(port, 15_000), "the mesh still answers after the runner got SIGTERM").toBe(true);

    // Second start on the same state: the newer config stays; nothing is applied.
    const port2 = await freePort();
    const again = startDev(port2, ["--persist-to", state]);
    runs.push(again);
    await waitForBanner(again, port2);
    expect(again.output()).toContain(`the control plane already has config version ${newer}`);
    expect(again.output()).not.toMatch(/applied examples\/mesh\.yaml/);
    expect(await configVersion(port2)).toBe(newer);

    // SIGKILL of the runner: it cannot clean up, yet wrangler and workerd must not outlive it.
    process.kill(again.runnerPid(), "SIGKILL");
    expect(await portCloses(port2, 10_000), "the mesh still answers after the runner was killed with SIGKILL").toBe(true);

    // --reset applies examples/mesh.yaml again, as a new version.
    const port3 = await freePort();
    const reset = startDev(port3, ["--persist-to", state, "--reset"]);
    runs.push(reset);
    await waitForBanner(reset, port3);
    expect(reset.output()).toContain(`applied examples/mesh.yaml as config version ${newer + 1} (--reset)`);
    expect(await configVersion(port3)).toBe(newer + 1);

    // Ctrl-C in a terminal: the whole group gets the signal.
    await reset.stopGroup();
    expect(await portCloses(port3, 15_000), "the mesh still answers after npm run dev was stopped").toBe(true);
  });
});
