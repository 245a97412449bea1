/**
 * `wrangler deploy --dry-run` bundles and checks each Worker config without uploading: proof that
 * the gateway (with its Durable Object) and every example function deploy as configured.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { EXAMPLE_WORKERS, ROOT } from "./example-workers.js";

const run = promisify(execFile);

async function dryRun(config: string): Promise<string> {
  const outdir = mkdtempSync(join(tmpdir(), "weft-dry-run-"));
  const { stdout, stderr } = await run(process.execPath, [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "-c", config, "--outdir", outdir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    timeout: 120_000,
  });
  return stdout + stderr;
}

describe("wrangler deploy --dry-run", () => {
  it("accepts the root wrangler.toml: the gateway with its control plane and service bindings", { timeout: 120_000 }, async () => {
    const output = await dryRun("wrangler.toml");
    expect(output).toContain("--dry-run: exiting now.");
    expect(output).toMatch(/env\.CONTROL \(ControlPlane\)\s+Durable Object/);
    for (const binding of ["HTTPBIN_V1", "HTTPBIN_V2", "CATALOG", "ORDERS_V1", "ORDERS_V2", "FRONTEND"]) expect(output).toContain(`env.${binding}`);
  });

  it("accepts every example function's config", { timeout: 240_000 }, async () => {
    for (const worker of EXAMPLE_WORKERS) {
      const output = await dryRun(worker.wranglerConfig);
      expect(output, worker.wranglerConfig).toContain("--dry-run: exiting now.");
      if (worker.callsPeers) expect(output, worker.wranglerConfig).toContain("env.WEFT (weft-gateway)");
    }
  });
});
