/**
 * `npm run dev`: the whole example mesh on one port.
 *
 * One `wrangler dev` serves the gateway (root wrangler.toml), its control Worker (the mesh's
 * Durable Objects, control-durable/wrangler.toml) and every example function (their own wrangler
 * configs) at http://127.0.0.1:8787, `PORT` to change it. Once the gateway answers /.weft/healthz, examples/mesh.yaml is applied through the
 * admin API when the control plane has no config yet (or with `--reset`), then the URLs to try are
 * printed. Wrangler's output is forwarded as is; Ctrl-C, SIGTERM or SIGHUP stops wrangler and its
 * workerd processes, and a watchdog stops them when this runner dies without cleaning up (SIGKILL).
 *
 * State (config versions, keys, telemetry) persists in wrangler's .wrangler/state, or in
 * `--persist-to <dir>`, so a restart keeps the config it finds, including one applied since.
 *
 * `npm run dev -- --traffic` (or WEFT_DEMO_TRAFFIC=1) also sends gentle demo traffic once the mesh
 * is up (scripts/demo-traffic.ts, as `npm run demo` does), so the telemetry has something to show.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { DEFAULT_PORT, readDevVar, runDevMesh, type DevMesh } from "../cli/dev-runner.js";
import { loadDevMesh } from "../cli/dev.js";
import { pathToFileURL } from "node:url";
import { DEFAULT_RATE as DEMO_RATE, startDemoTraffic, type DemoTraffic } from "./demo-traffic.js";
import { CONTROL_WRANGLER_CONFIG, EXAMPLE_WORKERS, ROOT } from "./example-workers.js";

export const MESH_FILE = "examples/mesh.yaml";
/** Used when .dev.vars has no WEFT_ADMIN_TOKEN (it ships with this value; README, Quick start). */
export const DEFAULT_ADMIN_TOKEN = "dev-admin-token";


/** The port from `PORT`, or 8787; throws on anything that is not a TCP port. */
export function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`PORT must be a TCP port number (1-65535), got "${value}"`);
  return port;
}

export interface DevOptions {
  /** Send demo traffic once the mesh is up (`--traffic` or WEFT_DEMO_TRAFFIC=1). */
  traffic: boolean;
  /** Apply examples/mesh.yaml even when the control plane already has a config (`--reset`). */
  reset: boolean;
  /** Where wrangler keeps local state (`--persist-to <dir>`); wrangler's default .wrangler/state when absent. */
  persistTo?: string;
  help: boolean;
}

export const DEV_USAGE = [
  "usage: npm run dev [-- --traffic] [--reset] [--persist-to <dir>]",
  "  --traffic   once the mesh is up, send gentle demo traffic through it (as npm run demo does);",
  "              also WEFT_DEMO_TRAFFIC=1",
  "  --reset     apply examples/mesh.yaml as a new version even if the mesh already has a config",
  "              (by default it is applied only when the control plane has none)",
  "  --persist-to <dir>  keep local state (config, keys, telemetry) there instead of .wrangler/state",
  "  PORT=<n>    serve on 127.0.0.1:<n> instead of 8787",
].join("\n");

/** `npm run dev`'s options from its arguments and environment; throws on an unknown argument. */
export function parseDevArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): DevOptions {
  const flag = (env.WEFT_DEMO_TRAFFIC ?? "").trim().toLowerCase();
  const options: DevOptions = { traffic: ["1", "true", "yes", "on"].includes(flag), reset: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--traffic") options.traffic = true;
    else if (arg === "--reset") options.reset = true;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg === "--persist-to" || arg.startsWith("--persist-to=")) {
      const dir = arg === "--persist-to" ? argv[++i] : arg.slice("--persist-to=".length);
      if (dir === undefined || dir === "" || dir.startsWith("--")) throw new Error("--persist-to needs a directory");
      options.persistTo = dir;
    } else throw new Error(`unknown argument "${arg}"`);
  }
  return options;
}


/** What to try once the mesh is up. */
export function banner(base: string, token: string, options: { traffic?: boolean } = {}): string[] {
  const auth = `-H 'authorization: Bearer ${token}'`;
  const tryIt: [command: string, why: string][] = [
    [`curl ${base}/httpbin/anything`, `httpbin, split 90/10 between v1 and v2 (see "version")`],
    [`curl -H 'x-canary: 1' ${base}/httpbin/headers`, "httpbin v2, the canary"],
    [`curl -i ${base}/httpbin/flaky?rate=0.3`, "fails 30% of the time at httpbin; the mesh's retries hide most of it"],
    [`curl -i -H 'x-chaos: abort' ${base}/httpbin/anything`, "an injected fault (503 fault_injected) from the ingress rule's fault injection"],
    [`curl -H 'Host: orders.mesh' ${base}/orders/1001`, "refused (401): the mesh is STRICT, mesh calls need an identity"],
    [`curl ${base}/`, "the shop front end (or open it in a browser)"],
    [`curl ${base}/api/shop/orders/1001`, "frontend → orders (→ catalog on v2) with their own identities; orders reports its caller"],
    [`curl ${base}/.weft/healthz`, "gateway health and the config version in use"],
  ];
  const width = Math.max(...tryIt.map(([command]) => command.length));
  const rule = "─".repeat(78);
  return [
    "",
    rule,
    ` weft dev mesh: gateway at ${base}  (dev admin token: ${token})`,
    rule,
    " Try it:",
    ...tryIt.map(([command, why]) => `   ${command.padEnd(width)}  # ${why}`),
    " Admin API:",
    `   curl ${auth} ${base}/.weft/api/v1/config`,
    `   curl ${auth} ${base}/.weft/api/v1/config/history`,
    `   curl ${auth} ${base}/.weft/api/v1/services`,
    `   curl -X POST ${auth} -H 'content-type: application/yaml' \\`,
    `        --data-binary @${MESH_FILE} ${base}/.weft/api/v1/config   # re-apply after editing`,
    ` Dashboard (its own host, WEFT_ADMIN_HOST; sign in with the dev admin token): http://weft-admin.localhost:${new URL(base).port}/.weft/dashboard`,
    " Rollout (orders v2 goes 10 → 25 → 50 → 100% a minute at a time while it stays healthy; needs traffic):",
    `   npm run weft -- --url ${base} rollout status orders-v2`,
    `   with FAILURE_RATE = "0.2" in examples/orders/wrangler.v2.toml and npm run dev -- --traffic --reset, v2 fails 20%`,
    "   of its requests and the rollout sends everything back to v1 after two failed checks",
    " Demo traffic:",
    options.traffic
      ? `   on: ~${DEMO_RATE} requests/s through the shop and httpbin routes, a summary every 5 s (npm run demo sends the same)`
      : `   npm run dev -- --traffic   (or WEFT_DEMO_TRAFFIC=1), or in another terminal: npm run demo -- --url ${base}`,
    " All Workers run in this one wrangler dev, so its \"[not connected]\" binding labels above are",
    " stale: the bindings work. Wrangler reloads the Workers when their code changes. Ctrl-C stops everything.",
    rule,
    "",
  ];
}

/**
 * The example shop as `weft dev` would run it (`weft dev --gateway wrangler.toml --control
 * control-durable/wrangler.toml -c <each example's config> -f examples/mesh.yaml`): the same
 * description, with this repository's messages.
 */
export async function exampleMesh(): Promise<DevMesh> {
  const { mesh } = await loadDevMesh(
    ROOT,
    (path) => readFile(resolve(ROOT, path), "utf8"),
    "wrangler.toml",
    CONTROL_WRANGLER_CONFIG,
    EXAMPLE_WORKERS.map((worker) => worker.wranglerConfig),
    MESH_FILE,
    createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js"),
  );
  return { ...mesh, actor: "npm-run-dev", resetHint: "npm run dev -- --reset" };
}

async function main(): Promise<number> {
  let options: DevOptions;
  try {
    options = parseDevArgs(process.argv.slice(2), process.env);
  } catch (error) {
    console.log(`[weft dev] ${(error as Error).message}`);
    console.error(DEV_USAGE);
    return 2;
  }
  if (options.help) {
    console.log(DEV_USAGE);
    return 0;
  }
  let port: number;
  try {
    port = parsePort(process.env.PORT);
  } catch (error) {
    console.log(`[weft dev] ${(error as Error).message}`);
    return 1;
  }
  let devVars = "";
  try {
    devVars = readFileSync(resolve(ROOT, ".dev.vars"), "utf8");
  } catch {
    console.log("[weft dev] no .dev.vars: the gateway's admin API stays off, so the example mesh cannot be applied");
  }
  const token = readDevVar(devVars, "WEFT_ADMIN_TOKEN") ?? DEFAULT_ADMIN_TOKEN;
  return runDevMesh(await exampleMesh(), {
    port,
    token,
    ...(options.reset ? { reset: true } : {}),
    ...(options.persistTo === undefined ? {} : { persistTo: options.persistTo }),
    banner: (url) => banner(url, token, { traffic: options.traffic }),
    onReady: (url) => {
      if (!options.traffic) return undefined;
      const traffic: DemoTraffic = startDemoTraffic({ url, log: (line) => console.log(`[weft dev] demo traffic: ${line}`) });
      return () => traffic.stop();
    },
  });
}

// Only as a script: the test imports the helpers above.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
