/**
 * weft adopted by someone with two Workers of their own, outside this repository, by the README's
 * path only: `npx @weft/cli init` (here from the packed tarballs, standing in for the registry),
 * `npm install`, a Hono `users` Worker and a plain `billing` Worker that calls users through the
 * mesh, a mesh.yaml, `weft bindings`, `weft validate`, `tsc --strict`, `weft deploy --dry-run`,
 * then `weft dev`: billing → users answers 200 with users seeing the caller `billing`, an
 * anonymous mesh call is refused 401, and a caller no AuthorizationPolicy allows is refused 403.
 * Nothing in the project is copied from the repository. It prints the steps and the time taken.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./example-workers.js";
import { E2E_ENV, freePort, runCommand } from "./e2e-support.js";
import { packAll, type PackedPackage } from "./pack.js";
import { readmeWorkers } from "./readme-workers.js";

const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const versionOf = (name: string) => rootManifest.dependencies[name] ?? rootManifest.devDependencies[name];

/** Each command the user types, for the closing summary. */
const steps: string[] = [];

function run(command: string, args: string[], cwd: string, options: { expectCode?: number } = {}): string {
  steps.push(`${command} ${args.join(" ")}`);
  return runCommand(command, args, cwd, options);
}

function write(path: string, text: string): void {
  steps.push(`write ${path.split("/acme/")[1] ?? path}`);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

/** A request with a Host header of our choosing (fetch refuses to set Host). */
function send(port: number, method: string, path: string, host: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolveAnswer, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: { host, ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolveAnswer({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The gateway's access-log lines (one JSON object per request) in `weft dev`'s output. */
function accessLines(output: string): { source: string; destination: string; traceId: string }[] {
  return output.split("\n").flatMap((line) => {
    const start = line.indexOf('{"type":"weft.access"');
    if (start < 0) return [];
    try {
      return [JSON.parse(line.slice(start)) as { source: string; destination: string; traceId: string }];
    } catch {
      return [];
    }
  });
}

// The user's own code, exactly as the README shows it.
const { users: USERS_WORKER, billing: BILLING_WORKER } = readmeWorkers();

const workerConfig = (name: string, bindsGateway: boolean) =>
  `${JSON.stringify(
    {
      name,
      main: "src/index.ts",
      compatibility_date: "2026-04-20",
      compatibility_flags: ["nodejs_compat"],
      ...(bindsGateway ? { services: [{ binding: "WEFT", service: "acme" }] } : {}),
    },
    null,
    2,
  )}\n`;

const MESH = `# yaml-language-server: $schema=./node_modules/@weft/sdk/weft.schema.json
apiVersion: weft/v1
kind: Mesh
metadata: { name: acme }
spec:
  trustDomain: acme.weft
  identity: { mode: STRICT }
  telemetry: { accessLog: { enabled: true } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: users }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: USERS, worker: users }] }]
---
apiVersion: weft/v1
kind: Service
metadata: { name: billing }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: BILLING, worker: billing }] }]
---
apiVersion: weft/v1
kind: Route
metadata: { name: billing-public }
spec:
  hosts: [billing.acme.test]
  public: true
  http: [{ destinations: [{ service: billing }] }]
---
apiVersion: weft/v1
kind: AuthorizationPolicy
metadata: { name: users-callers }
spec:
  target: users
  action: ALLOW
  rules: [{ from: [billing] }]
---
apiVersion: weft/v1
kind: AuthorizationPolicy
metadata: { name: billing-public }
spec:
  target: billing
  action: ALLOW
  rules: [{ from: [unauthenticated, "*"] }]
`;

describe("weft for one's own Workers, from an empty folder to a working mesh call", () => {
  let work = "";
  let project = "";
  let packed: PackedPackage[] = [];
  let dev: ChildProcess | undefined;
  let devOutput = "";
  let port = 0;
  const started = Date.now();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "weft-adoption-"));
    packed = await packAll(join(work, "tarballs"));
    const tarball = (name: PackedPackage["name"]) => packed.find((p) => p.name === name)?.tarball ?? "";
    // `npx @weft/cli init acme`, with the tarballs standing in for the registry.
    run("npx", ["--yes", `--package=${tarball("@weft/cli")}`, `--package=${tarball("@weft/sdk")}`, "--", "weft", "init", "acme"], work);
    project = join(work, "acme");
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => p.tarball)], project);
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `hono@${versionOf("hono")}`, `typescript@${versionOf("typescript")}`, `@cloudflare/workers-types@${versionOf("@cloudflare/workers-types")}`], project);
    write(join(project, "users/src/index.ts"), USERS_WORKER);
    // users binds the gateway too: it reads the mesh's signing keys through it to check who calls.
    write(join(project, "users/wrangler.jsonc"), workerConfig("users", true));
    write(join(project, "billing/src/index.ts"), BILLING_WORKER);
    write(join(project, "billing/wrangler.jsonc"), workerConfig("billing", true));
    write(join(project, "mesh.yaml"), MESH);
    write(join(project, "tsconfig.json"), `${JSON.stringify({ compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "bundler", strict: true, noEmit: true, lib: ["ES2023"], types: ["@cloudflare/workers-types"] }, include: ["users/src", "billing/src"] }, null, 2)}\n`);
  }, 300_000);

  afterAll(() => {
    if (dev?.pid !== undefined && dev.exitCode === null) {
      try {
        process.kill(-dev.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("writes the gateway's service bindings from mesh.yaml, and --check agrees afterwards", () => {
    run("npx", ["weft", "bindings", "-f", "mesh.yaml", "--check"], project, { expectCode: 1 });
    run("npx", ["weft", "bindings", "-f", "mesh.yaml"], project);
    run("npx", ["weft", "bindings", "-f", "mesh.yaml", "--check"], project);
    const config = readFileSync(join(project, "wrangler.jsonc"), "utf8");
    expect(config).toContain('"binding": "USERS"');
    expect(config).toContain("// The weft gateway"); // comments survive
  });

  it("validates the mesh offline, bindings included", () => {
    expect(run("npx", ["weft", "validate", "-f", "mesh.yaml"], project)).toMatch(/ok|valid/i);
  });

  it("type-checks both Workers with tsc --strict", () => {
    run("npx", ["tsc", "-p", "tsconfig.json"], project);
  });

  it("dry-runs the whole deploy in order, every wrangler deploy --dry-run passing", () => {
    const out = run("npx", ["weft", "deploy", "--dry-run", "-c", "users/wrangler.jsonc", "billing/wrangler.jsonc", "-f", "mesh.yaml"], project);
    expect(out).toContain("1. wrangler deploy -c wrangler.control.jsonc: the control Worker first");
    expect(out).toContain("2. wrangler deploy -c wrangler.jsonc (services removed)");
    expect(out).toContain("dry run passed");
    expect(out.match(/^ok \d+: dry run of/gm)).toHaveLength(5);
  }, 240_000);

  it("runs in weft dev: billing → users 200 as billing, anonymous 401, a caller no policy allows 403", async () => {
    port = await freePort();
    const args = ["weft", "dev", "-c", "users/wrangler.jsonc", "billing/wrangler.jsonc", "-f", "mesh.yaml", "--port", String(port), "--persist-to", join(work, "state")];
    steps.push(`npx ${args.join(" ")}`);
    dev = spawn("npx", args, { cwd: project, env: E2E_ENV, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    dev.stdout?.on("data", (chunk: Buffer) => (devOutput += chunk.toString("utf8")));
    dev.stderr?.on("data", (chunk: Buffer) => (devOutput += chunk.toString("utf8")));
    const deadline = Date.now() + 150_000;
    while (!devOutput.includes("weft dev mesh: gateway at") && Date.now() < deadline && dev.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(devOutput, devOutput.slice(-3000)).toContain(`weft dev mesh: gateway at http://127.0.0.1:${port}`);
    expect(devOutput).toContain("gave billing a credential");
    expect(readFileSync(join(project, "billing/.dev.vars"), "utf8")).toMatch(/^WEFT_CREDENTIAL=/m);

    let answer = { status: 0, text: "" };
    for (let i = 0; i < 20; i++) {
      answer = await send(port, "GET", "/", "billing.acme.test");
      if (answer.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ id: "42", caller: "billing" });
    const tookMs = Date.now() - started;

    // One trace across both hops, with only the README's code: the gateway's access log names the
    // trace of the ingress call to billing and of billing's call to users.
    const traced = await send(port, "GET", "/", "billing.acme.test", { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    expect(traced.status, traced.text).toBe(200);
    let hops: { source: string; destination: string; traceId: string }[] = [];
    for (let i = 0; i < 20 && hops.length < 2; i++) {
      hops = accessLines(devOutput).filter((line) => line.traceId === "4bf92f3577b34da6a3ce929d0e0e4736");
      if (hops.length < 2) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(hops.map((hop) => `${hop.source} → ${hop.destination}`).sort(), devOutput.slice(-3000)).toEqual(["anonymous → billing", "billing → users"]);

    const anonymous = await send(port, "GET", "/users/1", "users.mesh");
    expect(anonymous.status, anonymous.text).toBe(401);

    const token = readFileSync(join(project, ".dev.vars"), "utf8").match(/^WEFT_ADMIN_TOKEN=(.+)$/m)?.[1] ?? "";
    const minted = await send(port, "POST", "/.weft/api/v1/tokens", "127.0.0.1", { authorization: `Bearer ${token}`, "content-type": "application/json" }, JSON.stringify({ service: "users" }));
    expect(minted.status, minted.text).toBe(200);
    const svid = (JSON.parse(minted.text) as { token: string }).token;
    const notAllowed = await send(port, "GET", "/users/1", "users.mesh", { authorization: `Bearer ${svid}` });
    expect(notAllowed.status, notAllowed.text).toBe(403);

    console.log(`from an empty folder to billing → users answering 200: ${(tookMs / 1000).toFixed(1)} s, ${steps.length} steps:\n  ${steps.join("\n  ")}`);
  }, 200_000);
});
