/**
 * A real Prometheus server (Debian's `prometheus` package) scrapes a running local mesh with the
 * metrics token, as grafana/prometheus.yml shows. The test sends known traffic in two rounds, asks
 * Prometheus's HTTP API for the totals, rates and quantiles, and checks them against what it sent;
 * then it runs every PromQL query of grafana/weft-dashboard.json and fails on a query error, or on
 * an empty answer for traffic it sent.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { applyMesh, mintSvid, send, startMesh, type BenchMesh } from "../bench/load.js";
import { freePort } from "./e2e-support.js";
import { ROOT } from "./example-workers.js";

const PROMETHEUS = "/usr/bin/prometheus";
const INSTALL = "apt-get install -y prometheus";
const required = process.env.CI === "true";
const METRICS_TOKEN = "prometheus-scrape-token-0123456789abcdef";
const INGRESS = "shop.example";

/** Panels whose series exist only after events this test does not cause, with the reason. */
const MAY_BE_EMPTY: Record<string, string> = {
  "Endpoints ejected": "no endpoint fails five times in a row in this traffic",
  "Rate limited/s": "the example mesh sets no rate limit",
};

interface PromAnswer {
  status: "success" | "error";
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}

describe("Prometheus scraping a running mesh, and the Grafana dashboard's queries", () => {
  let mesh: BenchMesh | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = "";
  const dir = mkdtempSync(join(tmpdir(), "weft-prometheus-"));

  afterAll(async () => {
    prometheus?.kill("SIGKILL");
    await mesh?.mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  if (!existsSync(PROMETHEUS) && !required) console.warn(`skipping the Prometheus server test: ${PROMETHEUS} is missing; ${INSTALL}`);

  it.skipIf(!existsSync(PROMETHEUS) && !required)(`answers PromQL about the traffic sent, and every dashboard panel has data (needs prometheus: ${INSTALL})`, { timeout: 240_000 }, async () => {
    if (!existsSync(PROMETHEUS)) expect.fail(`prometheus is required when CI=true; ${INSTALL}`);
    mesh = await startMesh(join(dir, "workers"), { WEFT_TELEMETRY_FLUSH_MS: "100", WEFT_METRICS_TOKEN: METRICS_TOKEN });
    const port = mesh.entryPort;
    // The example as shipped (STRICT, its policies and its rollout), without the access log.
    const example = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8").replace(/^ {2}telemetry: .*$/m, "");
    await applyMesh(port, example);

    // Prometheus, configured as grafana/prometheus.yml shows, against this mesh, once a second.
    const shipped = parse(readFileSync(join(ROOT, "grafana/prometheus.yml"), "utf8")) as { scrape_configs: { job_name: string; metrics_path: string; authorization: Record<string, string> }[] };
    const job = shipped.scrape_configs[0];
    expect(job).toMatchObject({ job_name: "weft", metrics_path: "/.weft/metrics" });
    const tokenFile = join(dir, "metrics-token");
    writeFileSync(tokenFile, METRICS_TOKEN);
    const config = { global: { scrape_interval: "1s", evaluation_interval: "1s" }, scrape_configs: [{ job_name: job?.job_name, metrics_path: job?.metrics_path, scheme: "http", authorization: { credentials_file: tokenFile }, static_configs: [{ targets: [`127.0.0.1:${port}`] }] }] };
    writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config));
    const promPort = await freePort();
    prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"], { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stdout?.on("data", (chunk: Buffer) => (prometheusLog += chunk.toString("utf8")));
    prometheus.stderr?.on("data", (chunk: Buffer) => (prometheusLog += chunk.toString("utf8")));

    const query = async (promql: string): Promise<PromAnswer> => {
      const response = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      return (await response.json()) as PromAnswer;
    };
    const scalar = async (promql: string): Promise<number | undefined> => {
      const answer = await query(promql);
      expect(answer.status, `${promql}: ${answer.error ?? ""}`).toBe("success");
      const value = answer.data?.result[0]?.value[1];
      return value === undefined ? undefined : Number(value);
    };
    const until = async (promql: string, done: (value: number | undefined) => boolean, what: string): Promise<number | undefined> => {
      const deadline = Date.now() + 60_000;
      let value: number | undefined;
      while (Date.now() < deadline) {
        try {
          value = await scalar(promql);
          if (done(value)) return value;
        } catch (error) {
          if (!(error instanceof TypeError)) throw error; // TypeError: Prometheus not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      throw new Error(`${what}: ${promql} is ${value} after 60 s\n${prometheusLog.slice(-2000)}`);
    };
    await until('up{job="weft"}', (v) => v === 1, "Prometheus never scraped the mesh");

    // Round one: ingress requests to httpbin's "httpbin" rule (all answered 200), flaky ones through
    // the canary rule (so retries and 5xx have data), shop pages, a forged token (authentication
    // failure) and calls to orders as catalog, whom orders' policy does not allow (denials).
    const httpbinOk = async (count: number) => {
      for (let i = 0; i < count; i++) expect((await send(port, INGRESS, "/httpbin/anything")).status).toBe(200);
    };
    await httpbinOk(60);
    for (let i = 0; i < 20; i++) await send(port, INGRESS, "/httpbin/flaky?rate=0.5", { headers: { "x-canary": "1" } });
    for (let i = 0; i < 10; i++) await send(port, INGRESS, "/api/shop/orders/1001");
    await send(port, "orders.mesh", "/orders/1001", { headers: { authorization: "Bearer not-a-token" } });
    // catalog may not call orders (only frontend may): 403 from orders' policy.
    const catalog = await mintSvid(port, "catalog", "gateway.bench");
    for (let i = 0; i < 3; i++) expect((await send(port, "orders.mesh", "/orders/1001", { headers: { authorization: `Bearer ${catalog}` } })).status).toBe(403);
    const sent = 'sum(weft_route_requests_total{route="ingress",rule="httpbin"})';
    await until(sent, (v) => v === 60, "the first round never reached Prometheus");

    // Round two, after a scrape of round one, so rates are over a change Prometheus has seen.
    await httpbinOk(40);
    // Exact: the counters are the telemetry objects' totals.
    await until(sent, (v) => v === 100, "the second round never reached Prometheus");
    expect(await scalar('sum(weft_route_requests_total{route="ingress",rule="httpbin",code="200"})')).toBe(100);
    const rate = await scalar('sum(rate(weft_requests_total{destination="httpbin"}[1m]))');
    expect(rate).toBeGreaterThan(0);
    // A minute's worth of that rate is no more than all the httpbin requests sent (Prometheus extrapolates within the window).
    expect((rate ?? 0) * 60).toBeLessThanOrEqual(2 * 120);
    const p99 = await scalar('histogram_quantile(0.99, sum by (le) (rate(weft_request_duration_seconds_bucket{destination="httpbin"}[1m])))');
    // httpbin answers in milliseconds: the p99 lies within the histogram's range, well under a second.
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(1);
    expect(await scalar('max(weft_config_version)')).toBeGreaterThanOrEqual(1);
    expect(await scalar('max by (rollout) (weft_rollout_canary_ratio{rollout="orders-v2"})')).toBe(0.1);

    // Every query of every panel of the shipped dashboard, as Grafana would send it.
    const dashboard = JSON.parse(readFileSync(join(ROOT, "grafana/weft-dashboard.json"), "utf8")) as { panels: Panel[] };
    const panels = dashboard.panels.filter((panel) => panel.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(15);
    // A rate needs two scrapes of a series: a counter first scraped a moment ago gets a few seconds.
    const problems: string[] = [];
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const promql = target.expr.replaceAll("$__rate_interval", "1m").replaceAll("$service", ".*");
        const deadline = Date.now() + (panel.title in MAY_BE_EMPTY ? 0 : 15_000);
        let answer = await query(promql);
        while (answer.status === "success" && (answer.data?.result.length ?? 0) === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          answer = await query(promql);
        }
        if (answer.status !== "success") problems.push(`${panel.title}: ${promql}: ${answer.error ?? "error"}`);
        else if ((answer.data?.result.length ?? 0) === 0 && !(panel.title in MAY_BE_EMPTY)) problems.push(`${panel.title}: ${promql}: no data`);
      }
    }
    expect(problems, prometheusLog.slice(-2000)).toEqual([]);
  });
});
