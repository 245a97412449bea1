/**
 * The example mesh's functions as one list, bundled with esbuild for Miniflare (tests, bench).
 * `npm run dev` uses their wrangler configs instead; the names here match those configs.
 */
import { build, type BuildOptions } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const GATEWAY_NAME = "weft-gateway";
/** The control Worker: the mesh's Durable Objects, which the gateway binds by `script_name`. */
export const CONTROL_NAME = "weft-control";
export const CONTROL_ENTRY = "control-durable/src/worker.ts";
/** Its wrangler config, relative to the repository root (`npm run dev` passes it after the gateway's). */
export const CONTROL_WRANGLER_CONFIG = "control-durable/wrangler.toml";
/** The control Worker's Durable Objects as Miniflare declares them where the classes live (SQLite, as its migrations create them). */
export const CONTROL_DURABLE_OBJECTS = {
  CONTROL: { className: "ControlPlane", useSQLite: true },
  RATE_LIMITER: { className: "RateLimiter", useSQLite: true },
  TELEMETRY: { className: "TelemetryShard", useSQLite: true },
} as const;

export interface ExampleWorker {
  /** Worker name (as in its wrangler config and the gateway's [[services]]). */
  name: string;
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Wrangler config used by `npm run dev`, relative to the repository root. */
  wranglerConfig: string;
  vars: Record<string, string>;
  /** Whether the function calls peers through the gateway (a WEFT service binding). */
  callsPeers: boolean;
}

export const EXAMPLE_WORKERS: readonly ExampleWorker[] = [
  { name: "weft-httpbin-v1", entry: "examples/httpbin/src/index.ts", wranglerConfig: "examples/httpbin/wrangler.v1.toml", vars: { VERSION: "v1" }, callsPeers: false },
  { name: "weft-httpbin-v2", entry: "examples/httpbin/src/index.ts", wranglerConfig: "examples/httpbin/wrangler.v2.toml", vars: { VERSION: "v2" }, callsPeers: false },
  { name: "weft-catalog", entry: "examples/catalog/src/index.ts", wranglerConfig: "examples/catalog/wrangler.toml", vars: {}, callsPeers: false },
  { name: "weft-orders-v1", entry: "examples/orders/src/index.ts", wranglerConfig: "examples/orders/wrangler.v1.toml", vars: { VERSION: "v1", WEFT_TRUST_DOMAIN: "shop.weft" }, callsPeers: true },
  { name: "weft-orders-v2", entry: "examples/orders/src/index.ts", wranglerConfig: "examples/orders/wrangler.v2.toml", vars: { VERSION: "v2", WEFT_TRUST_DOMAIN: "shop.weft" }, callsPeers: true },
  { name: "weft-frontend", entry: "examples/frontend/src/index.ts", wranglerConfig: "examples/frontend/wrangler.toml", vars: {}, callsPeers: true },
];

export const COMPATIBILITY_DATE = "2026-04-20";
/** As in the functions' wrangler configs. */
export const FUNCTION_COMPATIBILITY_FLAGS = ["nodejs_compat"] as const;

/** How a Worker is bundled for workerd: one ES module, `cloudflare:*` left to the runtime, Hono's JSX. */
export const WORKER_BUILD_OPTIONS = {
  bundle: true,
  format: "esm",
  platform: "browser",
  conditions: ["workerd", "worker", "browser"],
  target: "es2022",
  logLevel: "warning",
  external: ["cloudflare:*"],
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
} satisfies BuildOptions;

/** Bundles one entry module into a single ES module file for workerd; returns its path. */
export async function bundleWorker(entry: string, outDir: string, name: string): Promise<string> {
  // `cloudflare:*` modules are provided by workerd itself.
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${name}.mjs`);
  await build({ ...WORKER_BUILD_OPTIONS, entryPoints: [join(ROOT, entry)], outfile });
  return outfile;
}

/** Service bindings the gateway needs to reach the example functions (as in wrangler.toml). */
export const GATEWAY_SERVICE_BINDINGS: Record<string, string> = {
  HTTPBIN_V1: "weft-httpbin-v1",
  HTTPBIN_V2: "weft-httpbin-v2",
  CATALOG: "weft-catalog",
  ORDERS_V1: "weft-orders-v1",
  ORDERS_V2: "weft-orders-v2",
  FRONTEND: "weft-frontend",
};

/** The gateway's bindings to the Durable Objects of the Worker `controlScript` (as wrangler.toml's `script_name`). */
export function controlBindings(controlScript: string) {
  return Object.fromEntries(Object.entries(CONTROL_DURABLE_OBJECTS).map(([binding, { className }]) => [binding, { className, scriptName: controlScript }]));
}

/**
 * The control Worker (bundled) for Miniflare, named `name`: it owns the Durable Objects, and a
 * gateway binds them with `controlBindings(name)`. Two names, two meshes (bench/load.ts).
 */
export async function controlWorkerOptions(outDir: string, name: string = CONTROL_NAME) {
  return {
    name,
    modules: true,
    scriptPath: await bundleWorker(CONTROL_ENTRY, outDir, name),
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: CONTROL_DURABLE_OBJECTS,
  };
}

/**
 * A second gateway Worker (the same code, bundled) sharing the control plane of `controlScript`.
 * Functions reach the mesh through it, as they reach one of many gateway isolates in production.
 */
export async function gatewayWorkerOptions(outDir: string, controlScript: string, vars: Record<string, string>, extraServiceBindings: Record<string, string> = {}) {
  return {
    name: GATEWAY_NAME,
    modules: true,
    scriptPath: await bundleWorker("gateway-worker/src/index.ts", outDir, GATEWAY_NAME),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: vars,
    durableObjects: controlBindings(controlScript),
    serviceBindings: { ...GATEWAY_SERVICE_BINDINGS, ...extraServiceBindings },
  };
}

/** Miniflare worker options for every example function, `WEFT` bound to `gatewayName`. */
export async function exampleWorkerOptions(outDir: string, gatewayName: string) {
  return Promise.all(
    EXAMPLE_WORKERS.map(async (worker) => ({
      name: worker.name,
      modules: true,
      scriptPath: await bundleWorker(worker.entry, outDir, worker.name),
      compatibilityDate: COMPATIBILITY_DATE,
      // The SDK carries a request's trace context and deadline to peer calls through AsyncLocalStorage.
      compatibilityFlags: [...FUNCTION_COMPATIBILITY_FLAGS],
      bindings: worker.vars,
      ...(worker.callsPeers ? { serviceBindings: { WEFT: gatewayName } } : {}),
    })),
  );
}
