/**
 * `wrangler deploy --dry-run` bundles and checks each Worker config without uploading: proof that
 * the control Worker (the mesh's Durable Objects), the gateway (binding them by script_name) and
 * every example function deploy as configured, and that the gateway's upload stays small: every
 * cold gateway isolate loads all of it before it answers (docs/architecture.md#why-two-workers).
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CONTROL_NAME, CONTROL_WRANGLER_CONFIG, EXAMPLE_WORKERS, ROOT } from "./example-workers.js";

const run = promisify(execFile);

/** The gateway Worker's upload, gzipped, as wrangler reports it (issue 12: at most 120 KiB). */
const GATEWAY_GZIP_BUDGET_KIB = 120;

/** Wrangler's "Total Upload: X KiB / gzip: Y KiB" line, as numbers. */
function uploadSize(output: string): { kib: number; gzipKib: number } {
  const found = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  if (!found) throw new Error(`no upload size in wrangler's output:\n${output}`);
  return { kib: Number(found[1]), gzipKib: Number(found[2]) };
}

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
  it("accepts the control Worker's config: the mesh's Durable Objects, bound only to its own telemetry objects (for rollouts)", { timeout: 120_000 }, async () => {
    const output = await dryRun(CONTROL_WRANGLER_CONFIG);
    expect(output).toContain("--dry-run: exiting now.");
    expect(output).toMatch(/env\.TELEMETRY \(TelemetryShard\)\s+Durable Object/);
    expect(output).not.toMatch(/env\.(CONTROL|RATE_LIMITER)\b/);
    const size = uploadSize(output);
    console.log(`control upload: ${size.kib} KiB / gzip: ${size.gzipKib} KiB`);
  });

  it("accepts the root wrangler.toml: the gateway bound to the control Worker's objects and to the functions, within its size budget", { timeout: 120_000 }, async () => {
    const output = await dryRun("wrangler.toml");
    expect(output).toContain("--dry-run: exiting now.");
    for (const [binding, className] of [
      ["CONTROL", "ControlPlane"],
      ["RATE_LIMITER", "RateLimiter"],
      ["TELEMETRY", "TelemetryShard"],
    ]) {
      expect(output).toMatch(new RegExp(`env\\.${binding} \\(${className}, defined in ${CONTROL_NAME}\\)\\s+Durable Object`));
    }
    for (const binding of ["HTTPBIN_V1", "HTTPBIN_V2", "CATALOG", "ORDERS_V1", "ORDERS_V2", "FRONTEND"]) expect(output).toContain(`env.${binding}`);
    const size = uploadSize(output);
    console.log(`gateway upload: ${size.kib} KiB / gzip: ${size.gzipKib} KiB`);
    expect(size.gzipKib).toBeLessThanOrEqual(GATEWAY_GZIP_BUDGET_KIB);
  });

  it("accepts every example function's config", { timeout: 240_000 }, async () => {
    for (const worker of EXAMPLE_WORKERS) {
      const output = await dryRun(worker.wranglerConfig);
      expect(output, worker.wranglerConfig).toContain("--dry-run: exiting now.");
      if (worker.callsPeers) expect(output, worker.wranglerConfig).toContain("env.WEFT (weft-gateway)");
    }
  });
});
