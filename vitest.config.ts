import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { bundleWorker, COMPATIBILITY_DATE, CONTROL_DURABLE_OBJECTS, exampleWorkerOptions, GATEWAY_NAME, gatewayWorkerOptions, ROOT } from "./scripts/example-workers.js";

/** The name vitest-pool-workers gives the worker that runs the gateway and the tests. */
const WORKERS_PROJECT = "workers";
const GATEWAY_UNDER_TEST = `vitest-pool-workers-runner-${WORKERS_PROJECT}`;
const SYSTEM_TESTS = ["scripts/dev.e2e.test.ts", "scripts/adoption.e2e.test.ts", "scripts/packages.e2e.test.ts", "scripts/docs-snippets.e2e.test.ts", "scripts/deploy-dry-run.test.ts", "scripts/init.e2e.test.ts", "scripts/metrics.e2e.test.ts", "scripts/prometheus.e2e.test.ts", "scripts/dashboard.browser.test.ts", "scripts/operator-origin.browser.test.ts", "cli/cli.e2e.test.ts", "bench/bench.smoke.test.ts", "scripts/key-rotation.e2e.test.ts", "scripts/control-plane-crash.e2e.test.ts", "scripts/soak.e2e.test.ts"];
const TEST_VARS = { WEFT_ADMIN_TOKEN: "dev-admin-token", WEFT_ENV: "dev", WEFT_ADMIN_HOST: "weft-admin.localhost" };
/** A Worker that receives OTLP/HTTP JSON, so tracing tests can read what the gateways exported. */
const COLLECTOR_NAME = "weft-otel-collector";

export default defineConfig({
  test: {
    projects: [
      {
        // Unit tests beside the code: pure modules, run in Node.
        test: {
          name: "unit",
          environment: "node",
          include: ["{gateway-worker,control-durable,sdk,wire,cli,bench,scripts}/**/*.test.ts"],
          exclude: SYSTEM_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Tests that start real tools (wrangler dev, wrangler deploy --dry-run, wrk): heavy on a 2-core
        // machine, so they run after the workerd integration tests instead of beside them.
        test: {
          name: "system",
          environment: "node",
          include: SYSTEM_TESTS,
          testTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        // Integration tests inside workerd: the gateway and the control Worker's Durable Objects in
        // one main worker (test/support/mesh-under-test.ts), so tests can reach into the objects
        // with runInDurableObject; the example functions run beside it as auxiliary workers.
        plugins: [
          cloudflareTest(async () => {
            // WEFT_TEST_OUT_DIR lets two test runs on one checkout bundle into separate folders.
            const outDir = process.env.WEFT_TEST_OUT_DIR ?? join(ROOT, ".wrangler", "test-workers");
            return {
              main: "./test/support/mesh-under-test.ts",
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // No trailing telemetry flush in the gateway under test: the suites wait for every
                // waitUntil of a request, which would wait out each flush interval.
                bindings: { ...TEST_VARS, WEFT_CONFIG_REFRESH_MS: "5000", WEFT_TELEMETRY_TRAILING_FLUSH: "off" },
                // wrangler.toml binds these in the control Worker (script_name); here the main
                // worker exports the classes itself. SQLite, as control-durable/wrangler.toml's migrations create them.
                durableObjects: CONTROL_DURABLE_OBJECTS,
                // Lets tests ask the functions' gateway which config version it serves.
                serviceBindings: { FUNCTIONS_GATEWAY: GATEWAY_NAME, OTEL_COLLECTOR: COLLECTOR_NAME },
                workers: [
                  // Functions call peers through this second gateway isolate (one more gateway in
                  // the fleet, sharing the control plane): calls back into the worker under test
                  // would each take a slow round trip through the test runner.
                  await gatewayWorkerOptions(outDir, GATEWAY_UNDER_TEST, { ...TEST_VARS, WEFT_CONFIG_REFRESH_MS: "100", WEFT_TELEMETRY_FLUSH_MS: "100" }, { OTEL_COLLECTOR: COLLECTOR_NAME }),
                  ...(await exampleWorkerOptions(outDir, GATEWAY_NAME)),
                  {
                    name: COLLECTOR_NAME,
                    modules: true,
                    scriptPath: await bundleWorker("test/support/otel-collector.ts", outDir, COLLECTOR_NAME),
                    compatibilityDate: COMPATIBILITY_DATE,
                  },
                ],
              },
            };
          }),
        ],
        test: {
          name: WORKERS_PROJECT,
          include: ["test/**/*.test.ts"],
          // Files share one control plane and the gateway's isolate caches: run them one at a time.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
