import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { exampleWorkerOptions, ROOT } from "./scripts/example-workers.js";

/** The name vitest-pool-workers gives the worker that runs the gateway and the tests. */
const WORKERS_PROJECT = "workers";
const GATEWAY_UNDER_TEST = `vitest-pool-workers-runner-${WORKERS_PROJECT}`;

export default defineConfig({
  test: {
    projects: [
      {
        // Unit tests beside the code: pure modules, run in Node.
        test: {
          name: "unit",
          environment: "node",
          include: ["{gateway-worker,control-durable,sdk,cli,bench,scripts}/**/*.test.ts"],
        },
      },
      {
        // Integration tests inside workerd: the gateway (with the control plane Durable Object)
        // is the main worker; the example functions run beside it as auxiliary workers.
        plugins: [
          cloudflareTest(async () => ({
            main: "./gateway-worker/src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { WEFT_ADMIN_TOKEN: "dev-admin-token", WEFT_ENV: "dev", WEFT_CONFIG_REFRESH_MS: "5000" },
              workers: await exampleWorkerOptions(join(ROOT, ".wrangler", "test-workers"), GATEWAY_UNDER_TEST),
            },
          })),
        ],
        test: {
          name: WORKERS_PROJECT,
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
