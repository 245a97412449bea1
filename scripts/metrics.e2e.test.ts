/**
 * The real /.weft/metrics output passes `promtool check metrics`: the gateway and the example
 * functions run in one workerd (the load benchmark's mesh), traffic goes through the ingress,
 * telemetry is flushed to the telemetry objects, and the scrape is checked by promtool.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, applyMesh, send, startMesh, type BenchMesh } from "../bench/load.js";
import { checkMetrics, findPromtool, PROMTOOL_INSTALL } from "./promtool.js";

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

const promtool = findPromtool();
const required = process.env.CI === "true";

describe("/.weft/metrics on a running mesh", () => {
  let mesh: BenchMesh | undefined;
  const outDir = mkdtempSync(join(tmpdir(), "weft-metrics-"));
  afterAll(async () => {
    await mesh?.mf.dispose();
    rmSync(outDir, { recursive: true, force: true });
  });

  it.skipIf(promtool === undefined && !required)(`passes promtool check metrics (needs promtool: ${PROMTOOL_INSTALL})`, { timeout: 120_000 }, async () => {
    if (promtool === undefined) expect.fail(`promtool is required when CI=true; install it with \`${PROMTOOL_INSTALL}\``);
    mesh = await startMesh(outDir, { WEFT_TELEMETRY_FLUSH_MS: "100" });
    await applyMesh(mesh.entryPort);
    const port = mesh.entryPort;
    for (let i = 0; i < 40; i++) {
      const path = i % 4 === 0 ? "/httpbin/status/500" : i % 5 === 0 ? "/httpbin/status/404" : "/httpbin/anything";
      await send(port, "shop.example", path);
    }
    await send(port, "shop.example", "/no-such-service/x", { headers: { authorization: "Bearer not-a-token" } });
    // Let the interval pass, then one more request starts the flush; poll until it has landed.
    let text = "";
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await send(port, "gateway.bench", "/.weft/healthz");
      const scrape = await send(port, "gateway.bench", "/.weft/metrics", { headers: ADMIN });
      expect(scrape.status).toBe(200);
      text = scrape.body;
      if (/weft_requests_total\{[^}]*code="500"[^}]*\} \d+/.test(text)) break;
    }
    expect(text).toMatch(/weft_requests_total\{[^}]*destination="httpbin"[^}]*code="200"[^}]*\} \d+/);
    expect(text).toMatch(/weft_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/);
    expect(text).toMatch(/weft_authentication_failures_total\{[^}]*\} 1/);
    // No allowed findings: promtool's linter is clean on a live scrape.
    const result = checkMetrics(text, { promtool });
    expect(result, `${result.output}\n---\n${text.slice(0, 3000)}`).toEqual({ ok: true, output: "", problems: [] });
  });
});
