import { describe, expect, it } from "vitest";
import { describeStep, planDeploy, readWorkerConfig, type WorkerConfig } from "./deploy.js";
import { fakeIO } from "./fake-io.js";

const gateway: WorkerConfig = { path: "wrangler.jsonc", name: "acme-gateway", services: [{ binding: "USERS", service: "users" }, { binding: "BILLING", service: "billing" }] };
const control: WorkerConfig = { path: "wrangler.control.jsonc", name: "acme-gateway-control", services: [] };
const users: WorkerConfig = { path: "users/wrangler.jsonc", name: "users", services: [] };
const billing: WorkerConfig = { path: "billing/wrangler.jsonc", name: "billing", services: [{ binding: "WEFT", service: "acme-gateway" }] };

const GATEWAY_JSONC = `// the acme mesh's gateway
{
  "name": "acme-gateway",
  "main": "node_modules/@weft/gateway/dist/index.js", // the package's Worker
  "services": [
    { "binding": "USERS", "service": "users" },
    { "binding": "BILLING", "service": "billing" },
  ],
}
`;
const CONTROL_JSONC = `{ "name": "acme-gateway-control", "main": "node_modules/@weft/gateway/dist/control.js" }`;
const MESH = `apiVersion: weft/v1
kind: Mesh
metadata: { name: acme }
spec: { trustDomain: acme.weft }
---
apiVersion: weft/v1
kind: Service
metadata: { name: users }
spec: { subsets: [{ name: v1, endpoints: [{ binding: USERS, worker: users }] }] }
---
apiVersion: weft/v1
kind: Service
metadata: { name: billing-svc }
spec: { subsets: [{ name: v1, endpoints: [{ binding: BILLING, worker: billing }] }] }
`;

describe("the deploy plan", () => {
  it("breaks the binding cycle: control Worker, gateway without bindings, functions, gateway with bindings, apply, then callers' credentials", () => {
    const steps = planDeploy(gateway, control, [users, billing], "mesh.yaml", (worker) => (worker === "billing" ? "billing-svc" : worker));
    expect(steps.map((step) => [step.kind, "config" in step ? step.config.name : step.meshFile, step.kind === "deploy" ? step.withoutServices : step.kind === "credential" ? step.service : null])).toEqual([
      ["deploy", "acme-gateway-control", false],
      ["deploy", "acme-gateway", true],
      ["deploy", "users", false],
      ["deploy", "billing", false],
      ["deploy", "acme-gateway", false],
      ["apply", "mesh.yaml", null],
      ["credential", "billing", "billing-svc"],
    ]);
    expect(describeStep(steps[0] as (typeof steps)[number], 0)).toBe("1. wrangler deploy -c wrangler.control.jsonc: the control Worker first: the gateway binds its Durable Objects");
    expect(describeStep(steps[6] as (typeof steps)[number], 6)).toBe("7. weft credentials create billing-svc | wrangler secret put WEFT_CREDENTIAL -c billing/wrangler.jsonc: a credential for service billing-svc, stored as billing's WEFT_CREDENTIAL secret");
  });

  it("deploys a gateway that binds nothing just once, after its control Worker", () => {
    const steps = planDeploy({ ...gateway, services: [] }, control, [users], "mesh.yaml", (worker) => worker);
    expect(steps.filter((step) => step.kind === "deploy").map((step) => step.config.name)).toEqual(["acme-gateway-control", "acme-gateway", "users"]);
  });

  it("reads a wrangler.jsonc with comments and trailing commas or a wrangler.toml, and refuses configs without a name", () => {
    expect(readWorkerConfig("wrangler.jsonc", GATEWAY_JSONC)).toEqual({ path: "wrangler.jsonc", name: "acme-gateway", services: gateway.services });
    expect(readWorkerConfig("wrangler.toml", 'name = "x"\n\n[[services]]\nbinding = "WEFT"\nservice = "g"\n')).toEqual({ path: "wrangler.toml", name: "x", services: [{ binding: "WEFT", service: "g" }] });
    expect(() => readWorkerConfig("wrangler.toml", "name = ")).toThrow(/not valid TOML/);
    expect(() => readWorkerConfig("w.jsonc", "{}")).toThrow(/no "name"/);
    expect(() => readWorkerConfig("w.jsonc", "{ nope")).toThrow(/not valid JSONC/);
  });
});

describe("weft deploy --dry-run", () => {
  it("prints the plan in order and dry-runs wrangler for every config in it, deploying nothing", async () => {
    const files: Record<string, string> = {
      "/p/wrangler.jsonc": GATEWAY_JSONC,
      "/p/wrangler.control.jsonc": CONTROL_JSONC,
      "/p/users/wrangler.jsonc": '{ "name": "users", "main": "src/index.ts" }',
      "/p/billing/wrangler.jsonc": '{ "name": "billing", "main": "src/index.ts", "services": [{ "binding": "WEFT", "service": "acme-gateway" }] }',
      "/p/mesh.yaml": MESH,
    };
    const fake = fakeIO({ files, cwd: "/p" });
    const runs = fake.runs;
    expect(await fake.cli("deploy", "--dry-run", "-c", "users/wrangler.jsonc", "billing/wrangler.jsonc", "-f", "mesh.yaml"), fake.stderr()).toBe(0);
    const stdout = fake.stdout();
    const lines = stdout.split("\n");
    expect(fake.fetched).toEqual([]); // a dry run calls no gateway
    expect(lines.slice(0, 8)).toEqual([
      "plan (dry run):",
      "  1. wrangler deploy -c wrangler.control.jsonc: the control Worker first: the gateway binds its Durable Objects",
      "  2. wrangler deploy -c wrangler.jsonc (services removed): the gateway first, without its function bindings, so the functions can bind it",
      "  3. wrangler deploy -c users/wrangler.jsonc: users",
      "  4. wrangler deploy -c billing/wrangler.jsonc: billing, which calls peers through the gateway",
      "  5. wrangler deploy -c wrangler.jsonc: the gateway again, now with its bindings to users, billing",
      "  6. weft apply -f mesh.yaml: the mesh config, through the gateway's admin API",
      "  7. weft credentials create billing-svc | wrangler secret put WEFT_CREDENTIAL -c billing/wrangler.jsonc: a credential for service billing-svc, stored as billing's WEFT_CREDENTIAL secret",
    ]);
    expect(runs.map((run) => run.args.slice(0, 4).join(" "))).toEqual([
      "wrangler deploy -c wrangler.control.jsonc",
      "wrangler deploy -c /p/.wrangler/weft/wrangler.first-deploy.jsonc",
      "wrangler deploy -c users/wrangler.jsonc",
      "wrangler deploy -c billing/wrangler.jsonc",
      "wrangler deploy -c wrangler.jsonc",
    ]);
    expect(runs.every((run) => run.args.includes("--dry-run"))).toBe(true);
    const firstDeploy = JSON.parse(fake.files["/p/.wrangler/weft/wrangler.first-deploy.jsonc"] ?? "{}") as { services?: unknown; main: string };
    expect(firstDeploy.services).toBeUndefined();
    expect(firstDeploy.main).toBe("/p/node_modules/@weft/gateway/dist/index.js");
    expect(stdout).toContain("dry run passed");
  });

  it("needs the control Worker's config, and says what it is when it is missing", async () => {
    const fake = fakeIO({ files: { "/p/wrangler.jsonc": GATEWAY_JSONC, "/p/users/wrangler.jsonc": '{ "name": "users" }', "/p/mesh.yaml": MESH }, cwd: "/p" });
    expect(await fake.cli("deploy", "--dry-run", "-c", "users/wrangler.jsonc", "-f", "mesh.yaml")).toBe(1);
    expect(fake.stderr()).toContain("cannot read wrangler.control.jsonc: the control Worker's config");
    expect(fake.runs).toEqual([]);
  });

  it("stops at the first config whose dry run fails, saying which", async () => {
    const files: Record<string, string> = { "/p/wrangler.jsonc": '{ "name": "g", "main": "x.js" }', "/p/wrangler.control.jsonc": CONTROL_JSONC, "/p/users/wrangler.jsonc": '{ "name": "users" }', "/p/mesh.yaml": MESH };
    const fake = fakeIO({
      files,
      cwd: "/p",
      run: (_command, args) => (args.includes("users/wrangler.jsonc") ? { code: 1, stdout: "", stderr: "✘ [ERROR] Missing entry-point" } : { code: 0, stdout: "", stderr: "" }),
    });
    expect(await fake.cli("deploy", "--dry-run", "-c", "users/wrangler.jsonc", "-f", "mesh.yaml")).toBe(1);
    const stderr = fake.stderr();
    expect(stderr).toContain("step 3 failed: npx wrangler deploy -c users/wrangler.jsonc --dry-run");
    expect(stderr).toContain("Missing entry-point");
  });

  it("without --dry-run runs the plan for real: deploys, applies through the admin API, stores each caller's new credential as its secret (never printed)", async () => {
    const files: Record<string, string> = {
      "/p/wrangler.jsonc": GATEWAY_JSONC,
      "/p/wrangler.control.jsonc": CONTROL_JSONC,
      "/p/users/wrangler.jsonc": '{ "name": "users", "main": "src/index.ts" }',
      "/p/billing/wrangler.jsonc": '{ "name": "billing", "main": "src/index.ts", "services": [{ "binding": "WEFT", "service": "acme-gateway" }] }',
      "/p/mesh.yaml": MESH,
      // `weft apply` reads the file as given, relative to the process's folder, as a real file system would.
      "mesh.yaml": MESH,
    };
    const posts: { path: string; body: string }[] = [];
    const fake = fakeIO({
      files,
      cwd: "/p",
      fetch: async (input, init) => {
        const path = new URL(input).pathname;
        posts.push({ path, body: typeof init.body === "string" ? init.body : "" });
        if (path.endsWith("/config")) return Response.json({ dryRun: false, changed: true, version: 1, previousVersion: 0, summary: "", diff: { added: [], removed: [], changed: [], unchanged: 0 } });
        return Response.json({ id: "c1", service: "billing-svc", credential: "wcred_secret_value_123" }, { status: 201 });
      },
    });
    const runs = fake.runs;
    const code = await fake.cli("--url", "https://mesh.acme.test", "--token", "t".repeat(32), "deploy", "-c", "users/wrangler.jsonc", "billing/wrangler.jsonc", "-f", "mesh.yaml");
    const stdout = fake.stdout();
    expect(code, `${stdout}${fake.stderr()}`).toBe(0);
    expect(runs.map((run) => run.args.join(" "))).toEqual([
      "wrangler deploy -c wrangler.control.jsonc",
      "wrangler deploy -c /p/.wrangler/weft/wrangler.first-deploy.jsonc",
      "wrangler deploy -c users/wrangler.jsonc",
      "wrangler deploy -c billing/wrangler.jsonc",
      "wrangler deploy -c wrangler.jsonc",
      "wrangler secret put WEFT_CREDENTIAL -c billing/wrangler.jsonc",
    ]);
    expect(runs.at(-1)?.input).toBe("wcred_secret_value_123");
    expect(posts.map((post) => post.path)).toEqual(["/.weft/api/v1/config", "/.weft/api/v1/credentials"]);
    expect(JSON.parse(posts[1]?.body ?? "{}")).toEqual({ service: "billing-svc" });
    expect(stdout).not.toContain("wcred_secret_value_123");
    expect(stdout).toContain("ok 7: billing has its WEFT_CREDENTIAL secret");
  });
});
