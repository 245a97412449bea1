/**
 * The `weft` CLI against a real local mesh: the gateway, its control Worker (the control plane and
 * telemetry objects) and the example functions in one Miniflare on 127.0.0.1, started the way the load
 * benchmark starts it. The CLI talks to Miniflare's entry port; requests whose Host matches no
 * route (here `127.0.0.1:<port>`) reach the gateway, the first worker, as with `npm run dev`.
 * The tests run in order and build on each other: apply, diff, get, history, rollback, traffic
 * and status, explain, identity commands, then refusals.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startMesh, type BenchMesh } from "../bench/load.js";
import { startDemoTraffic } from "../scripts/demo-traffic.js";
import { ROOT } from "../scripts/example-workers.js";
import { runCli, type CliIO } from "./program.js";

/** examples/mesh.yaml, PERMISSIVE so anonymous test traffic is allowed, without the per-request access log. */
const MESH_TEXT = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8")
  .replace("mode: STRICT", "mode: PERMISSIVE")
  .replace(/^ {2}telemetry: .*$/m, "")
  // The orders-v2 rollout takes its first step at once and then holds: its checks come an hour apart.
  .replace("analysis: { interval: 1m,", "analysis: { interval: 1h,");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("the weft CLI against a running mesh", { timeout: 60_000 }, () => {
  let mesh: BenchMesh | undefined;
  let base = "";
  const dir = mkdtempSync(join(tmpdir(), "weft-cli-e2e-"));
  const outDir = join(dir, "workers");
  const meshFile = join(dir, "mesh.yaml");
  const changedFile = join(dir, "mesh-changed.yaml");
  let firstVersion = 0;
  let secondVersion = 0;

  /** `weft --url <mesh> --token <admin token> ...args`, in-process with real fetch and files. */
  async function weft(...args: string[]): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      fetch: (input, init) => fetch(input, init),
      env: {},
      readFile: (path) => readFile(path, "utf8"),
      writeFile: () => Promise.reject(new Error("the e2e commands write no files")),
      exists: async () => false,
      cwd: () => ROOT,
      run: () => Promise.reject(new Error("the e2e commands run no programs")),
      onInterrupt: () => () => undefined,
      now: () => new Date(),
    };
    const code = await runCli(["--url", base, "--token", ADMIN_TOKEN, "--actor", "e2e", ...args], io);
    return { code, stdout, stderr };
  }

  async function currentVersion(): Promise<number> {
    const run = await weft("get", "all", "-o", "json");
    expect(run.code, run.stderr).toBe(0);
    return (JSON.parse(run.stdout) as { version: number }).version;
  }

  beforeAll(async () => {
    writeFileSync(meshFile, MESH_TEXT);
    writeFileSync(changedFile, MESH_TEXT.replace("timeout: 15s", "timeout: 20s"));
    mesh = await startMesh(outDir, { WEFT_TELEMETRY_FLUSH_MS: "100" });
    base = `http://127.0.0.1:${mesh.entryPort}`;
  }, 180_000);

  afterAll(async () => {
    await mesh?.mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies examples/mesh.yaml and prints the new version", async () => {
    const run = await weft("apply", "-f", meshFile);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("+ Service/httpbin");
    const applied = /^applied version (\d+)$/m.exec(run.stdout);
    expect(applied, run.stdout).not.toBeNull();
    firstVersion = Number(applied?.[1]);
    expect(await currentVersion()).toBe(firstVersion);
    expect(run.stdout + run.stderr).not.toContain(ADMIN_TOKEN);
  });

  it("applying the same file again changes nothing", async () => {
    const run = await weft("apply", "-f", meshFile);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`no change: version ${firstVersion}`);
    expect(await currentVersion()).toBe(firstVersion);
  });

  it("diff and apply --dry-run show the changed field with its old and new value and change nothing", async () => {
    const diff = await weft("diff", "-f", changedFile);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain("~ Service/httpbin");
    expect(diff.stdout).toContain("spec.trafficPolicy.timeout: 15s → 20s");
    const dryRun = await weft("apply", "-f", changedFile, "--dry-run");
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain(`dry run: nothing applied (version ${firstVersion} stays current)`);
    expect(await currentVersion()).toBe(firstVersion);
  });

  it("gets services as a table and one service as JSON", async () => {
    const list = await weft("get", "services");
    expect(list.code, list.stderr).toBe(0);
    for (const name of ["httpbin", "catalog", "orders", "frontend"]) expect(list.stdout).toMatch(new RegExp(`^Service\\s+${name}\\s`, "m"));
    const one = await weft("get", "service", "httpbin", "-o", "json");
    expect(one.code, one.stderr).toBe(0);
    const doc = JSON.parse(one.stdout) as { kind: string; metadata: { name: string }; spec: { subsets: { name: string }[] } };
    expect(doc.kind).toBe("Service");
    expect(doc.spec.subsets.map((subset) => subset.name)).toEqual(["v1", "v2"]);
  });

  it("applies a change, lists it in history and rolls it back", async () => {
    const apply = await weft("apply", "-f", changedFile);
    expect(apply.code, apply.stderr).toBe(0);
    secondVersion = Number(/^applied version (\d+)$/m.exec(apply.stdout)?.[1]);
    expect(secondVersion).toBe(firstVersion + 1);

    const history = await weft("history");
    expect(history.code, history.stderr).toBe(0);
    const rows = history.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^VERSION\s+CREATED\s+ACTOR\s+SOURCE\s+SUMMARY$/);
    expect(rows[1]).toMatch(new RegExp(`^\\s*${secondVersion}\\*\\s.*admin:e2e\\s+apply\\s+changed Service/httpbin \\(1 field\\)`));

    const rollback = await weft("rollback", String(firstVersion));
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(`applied version ${secondVersion + 1} (the content of version ${firstVersion})`);
    const restored = await weft("get", "service", "httpbin", "-o", "json");
    expect((JSON.parse(restored.stdout) as { spec: { trafficPolicy: { timeout: string } } }).spec.trafficPolicy.timeout).toBe("15s");

    const json = await weft("history", "--json");
    const versions = (JSON.parse(json.stdout) as { versions: { version: number; source: string; rollbackOf: number | null }[] }).versions;
    expect(versions[0]).toMatchObject({ version: secondVersion + 1, source: "rollback", rollbackOf: firstVersion });
  });

  it("shows a burst in status right after it, with no traffic after the burst", async () => {
    for (let i = 0; i < 20; i++) {
      const answer = await fetch(`${base}/httpbin/anything`);
      expect(answer.status).toBe(200);
      await answer.arrayBuffer();
    }
    // The gateway flushes every 100 ms; the burst's last interval is delivered by the flush the
    // interval's first request armed, so nothing but the CLI's admin calls comes after it.
    let telemetry: { service: string; golden: { requests: number } }[] = [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const run = await weft("status", "--json");
      expect(run.code, run.stderr).toBe(0);
      telemetry = (JSON.parse(run.stdout) as { telemetry: { services: typeof telemetry } }).telemetry.services;
      if ((telemetry.find((view) => view.service === "httpbin")?.golden.requests ?? 0) >= 20) break;
    }
    expect(telemetry.find((view) => view.service === "httpbin")?.golden.requests).toBeGreaterThanOrEqual(20);

    const status = await weft("status");
    expect(status.code, status.stderr).toBe(0);
    const lines = status.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SERVICE\s+REQUESTS\/S\s+SUCCESS\s+P50\s+P99\s+EJECTED$/);
    expect(lines.find((line) => line.startsWith("httpbin"))).toMatch(/^httpbin\s+\d+(\.\d)?\s+100%\s+\S+ms\s+\S+ms\s+0\/2$/);
    expect(lines.find((line) => line.startsWith("catalog"))).toMatch(/^catalog\s+-\s+-\s+-\s+-\s+0\/1$/);

    // Per Route document and rule: the burst went through the ingress route's "httpbin" rule.
    const routes = await weft("status", "--routes", "--window", "1h");
    expect(routes.code, routes.stderr).toBe(0);
    const routeLines = routes.stdout.trimEnd().split("\n");
    expect(routeLines[0]).toMatch(/^ROUTE\s+RULE\s+DESTINATION\s+REQUESTS\/S\s+SUCCESS\s+P50\s+P99$/);
    expect(routeLines.find((line) => /^ingress\s+httpbin\s+httpbin\s/.test(line))).toMatch(/^ingress\s+httpbin\s+httpbin\s+\d+(\.\d+)?\s+100%\s+\S+ms\s+\S+ms$/);
  });

  it("the demo traffic shows up in weft status within 30 s, failures included", async () => {
    const started = Date.now();
    const demo = startDemoTraffic({ url: base, rate: 20, durationMs: 6_000, seed: 7, log: () => undefined });
    let services: { service: string; golden: { requests: number; successRate: number | null } }[] = [];
    try {
      while (Date.now() - started < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await (await fetch(`${base}/.weft/healthz`)).arrayBuffer();
        const run = await weft("status", "--json");
        expect(run.code, run.stderr).toBe(0);
        services = (JSON.parse(run.stdout) as { telemetry: { services: typeof services } }).telemetry.services;
        const frontend = services.find((view) => view.service === "frontend")?.golden.requests ?? 0;
        const failing = services.some((view) => view.golden.successRate !== null && view.golden.successRate < 1);
        if (frontend > 0 && failing) break;
      }
    } finally {
      await demo.stop();
    }
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(services.find((view) => view.service === "frontend")?.golden.requests).toBeGreaterThan(0);
    expect(services.find((view) => view.service === "httpbin")?.golden.requests).toBeGreaterThan(0);
    expect(services.some((view) => view.golden.successRate !== null && view.golden.successRate < 1)).toBe(true);
  });

  it("explains a mesh call and an ingress path, printing the trace's summary lines", async () => {
    const meshCall = await weft("explain", "GET", "http://httpbin.mesh/anything", "--from", "frontend", "-H", "x-version: v2");
    expect(meshCall.code, meshCall.stderr).toBe(0);
    expect(meshCall.stdout).toMatch(/^request: GET httpbin\.mesh\/anything as frontend /m);
    expect(meshCall.stdout).toMatch(/^split: httpbin\/v2 100%$/m);

    // A bare path is an ingress request to the gateway --url names.
    const ingress = await weft("explain", "GET", "/httpbin/anything", "--json");
    expect(ingress.code, ingress.stderr).toBe(0);
    const summary = (JSON.parse(ingress.stdout) as { summary: string[] }).summary;
    expect(summary).toContain("split: httpbin/v1 90%, httpbin/v2 10%");
  });

  it("shows the example's rollout, its plan and checks, then aborts it back to stable", async () => {
    const list = await weft("rollout", "status");
    expect(list.code, list.stderr).toBe(0);
    const [header, row, ...rest] = list.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ROLLOUT\s+TARGET\s+PHASE\s+STEP\s+WEIGHTS\s+FAILED CHECKS\s+LAST CHECK\s+NEXT CHECK$/);
    expect(row).toMatch(/^orders-v2\s+orders\s+Progressing\s+1 of 4\s+v1 90%, v2 10%\s+0\/2\s+-\s+in 60m$/);
    expect(rest).toEqual([]);

    const one = await weft("rollout", "status", "orders-v2");
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.split("\n").slice(0, 7)).toEqual([
      "rollout     orders-v2 (Canary)",
      "target      orders: stable v1, canary v2",
      "phase       Progressing",
      "step        1 of 4: setWeight 10",
      "steps       setWeight 10 → setWeight 25 → setWeight 50 → setWeight 100",
      "weights     v1 90%, v2 10%",
      "analysis    every 1h; success ≥ 99%, p99 ≤ 500ms, ≥ 10 canary requests; roll back after 2 failed checks",
    ]);
    expect(one.stdout).toMatch(/\nno checks yet\n$/);

    const paused = await weft("rollout", "pause", "orders-v2");
    expect([paused.code, paused.stdout]).toEqual([0, "paused rollout orders-v2: Paused, v1 90%, v2 10% (paused by admin:e2e)\n"]);
    const aborted = await weft("rollout", "abort", "orders-v2");
    expect([aborted.code, aborted.stdout, aborted.stderr]).toEqual([0, "aborted rollout orders-v2: Failed, v1 100%, v2 0% (aborted by admin:e2e)\n", ""]);
    // The abort is a config version: every orders request that is not opted in goes to v1.
    const route = JSON.parse((await weft("get", "route", "orders-canary", "-o", "json")).stdout) as { spec: { http: { name?: string; destinations: unknown[] }[] } };
    expect(route.spec.http.find((rule) => rule.name === "split")?.destinations).toEqual([{ service: "orders", subset: "v1" }]);
    const history = await weft("history", "--limit", "1");
    expect(history.stdout).toMatch(/rollout:orders-v2 +apply +rollout orders-v2 rolled back \(aborted by admin:e2e\); orders: v1 100%, v2 0%/);

    const again = await weft("rollout", "resume", "orders-v2");
    expect([again.code, again.stdout, again.stderr]).toEqual([1, "", "weft: the rollout has failed; a new one starts when its Rollout document is applied again\n"]);
    const unknown = await weft("rollout", "abort", "nope");
    expect([unknown.code, unknown.stderr]).toEqual([1, 'weft: no rollout named "nope"\n']);
  });

  it("creates, lists and revokes a credential, mints a token and rotates keys", async () => {
    const created = await weft("credentials", "create", "orders", "--json");
    expect(created.code, created.stderr).toBe(0);
    const { id, credential } = JSON.parse(created.stdout) as { id: string; credential: string };
    expect(credential).not.toBe("");

    const list = await weft("credentials", "list");
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+orders\\s.*active$`, "m"));
    expect(list.stdout).not.toContain(credential);
    const revoke = await weft("credentials", "revoke", id);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toBe(`revoked credential ${id} (service orders)\n`);

    const token = await weft("token", "orders", "--ttl", "60");
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);

    const rotate = await weft("keys", "rotate");
    expect(rotate.code, rotate.stderr).toBe(0);
    const kid = /^rotated: key (\S+) now signs$/m.exec(rotate.stdout)?.[1];
    expect(kid).toBeDefined();
    const keys = await weft("keys", "list");
    expect(keys.stdout).toMatch(new RegExp(`^${kid}\\s+active\\s`, "m"));
  });

  it("refuses a bad file with a one-line error, exit 1, and the version unchanged", async () => {
    const before = await currentVersion();
    const badFile = join(dir, "bad.yaml");
    writeFileSync(badFile, MESH_TEXT.replace("subset: v2, weight: 10", "subset: v9, weight: 10"));
    const run = await weft("apply", "-f", badFile);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^weft: ${badFile.replace(/[.]/g, "\\.")}:\\d+: document \\d+ \\(Route orders-canary\\) spec\\.http\\[1\\]\\.destinations\\[1\\]\\.subset: service "orders" has no subset "v9" \\(it has v1, v2\\) \\(nothing was sent to the mesh\\)$`));
    expect(await currentVersion()).toBe(before);
  });

  it("reports a mesh refusal in one line with exit 1", async () => {
    const run = await weft("rollback", "999");
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("weft: no config version 999\n");
  });

  it("exits 2 on an unknown option without contacting the mesh", async () => {
    const run = await weft("status", "--frobnicate");
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("weft: unknown option '--frobnicate'\n");
  });
});
