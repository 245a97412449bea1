/**
 * `weft dev`: your gateway, its control Worker and your Workers in one local workerd
 * (`wrangler dev`), the way `npm run dev` runs weft's example shop. The mesh file is applied when the control plane has no
 * config (or with `--reset`); every Worker that binds the gateway gets a credential for its mesh
 * service in its own .dev.vars, and wrangler restarts once so they read it.
 */
import { Command, Option } from "commander";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative } from "node:path";
import { CONTROL_CONFIG_FILE } from "./init.js";
import { readControlConfig, readWorkerConfig, servicesByWorker, type WorkerConfig } from "./deploy.js";
import { DEFAULT_PORT, readDevVar, runDevMesh, type DevMesh } from "./dev-runner.js";
import { CliFailure, type CliIO } from "./program.js";

export interface DevCommandOptions {
  gateway: string;
  control: string;
  config: string[];
  file: string;
  port: string;
  reset?: boolean;
  persistTo?: string;
}

/**
 * The local mesh for a gateway config, its control Worker's config, the Workers' configs and the
 * mesh file. Pure apart from what it is given. The gateway's config comes first: its Worker is the
 * one that listens.
 */
export function describeDevMesh(cwd: string, gateway: WorkerConfig, control: WorkerConfig, workers: readonly WorkerConfig[], meshFile: string, serviceOf: (worker: string) => string, wranglerBin: string): DevMesh {
  const callers = workers.filter((worker) => worker.services.some((entry) => entry.service === gateway.name));
  return {
    cwd,
    wranglerArgs: ["-c", gateway.path, "-c", control.path, ...workers.flatMap((worker) => ["-c", worker.path])],
    wranglerBin,
    meshFile,
    callers: callers.map((worker) => ({ service: serviceOf(worker.name), devVarsFile: join(dirname(worker.path), ".dev.vars") })),
    actor: "weft-dev",
    resetHint: "weft dev --reset",
  };
}

/**
 * Reads the configs and the mesh file and describes the local mesh: the gateway's config first,
 * then its control Worker's, callers (Workers that bind the gateway) credentialed as the mesh
 * service whose endpoint names them.
 */
export async function loadDevMesh(cwd: string, read: (path: string) => Promise<string>, gatewayPath: string, controlPath: string, workerPaths: readonly string[], meshFile: string, wranglerBin: string): Promise<{ mesh: DevMesh; services: string[] }> {
  const gateway = readWorkerConfig(gatewayPath, await read(gatewayPath));
  const control = readWorkerConfig(controlPath, await readControlConfig(read, controlPath));
  const workers = await Promise.all(workerPaths.map(async (path) => readWorkerConfig(path, await read(path))));
  const services = servicesByWorker(meshFile, await read(meshFile));
  const mesh = describeDevMesh(cwd, gateway, control, workers, meshFile, (worker) => services.get(worker) ?? worker, wranglerBin);
  return { mesh, services: [...new Set(services.values())] };
}

/** What to try once the mesh is up: the services' mesh hosts, the tools, the dashboard. Never the admin token. */
export function devBanner(url: string, services: readonly string[], gatewayDevVars: string): string[] {
  const rule = "─".repeat(78);
  const port = new URL(url).port;
  return [
    "",
    rule,
    ` weft dev mesh: gateway at ${url}  (admin token: WEFT_ADMIN_TOKEN in ${gatewayDevVars})`,
    rule,
    " Mesh calls (a Worker with a WEFT binding calls these through meshClient; curl gets 401 in STRICT mode):",
    ...services.map((service) => `   curl -H 'Host: ${service}.mesh' ${url}/`),
    " Operate it (in another terminal):",
    `   export WEFT_URL=${url} WEFT_ADMIN_TOKEN=$(grep WEFT_ADMIN_TOKEN ${gatewayDevVars} | cut -d= -f2)`,
    "   npx weft status    npx weft explain GET http://<service>.mesh/<path> --from <caller>    npx weft apply -f <mesh.yaml>",
    ` Dashboard (its own host; sign in with the admin token): http://weft-admin.localhost:${port}/.weft/dashboard`,
    " Wrangler reloads the Workers when their code changes. Ctrl-C stops everything.",
    rule,
    "",
  ];
}

export function registerDev(program: Command, io: CliIO): void {
  program
    .command("dev")
    .description("run your gateway, its control Worker and your Workers in one local wrangler dev, apply the mesh, and give each caller a credential")
    .option("--gateway <config>", "the gateway's wrangler config", "wrangler.jsonc")
    .option("--control <config>", "the control Worker's wrangler config (the mesh's Durable Objects)", CONTROL_CONFIG_FILE)
    .requiredOption("-c, --config <config...>", "each Worker's wrangler config (jsonc, json or toml)")
    .requiredOption("-f, --file <file>", "the mesh's YAML file")
    .addOption(new Option("--port <port>", "the port on 127.0.0.1").default(String(DEFAULT_PORT)))
    .option("--reset", "apply the mesh file even when the control plane already has a config")
    .option("--persist-to <dir>", "where the local state (config versions, keys, telemetry) lives")
    .action(async (options: DevCommandOptions) => {
      const cwd = io.cwd();
      const read = async (path: string) => {
        try {
          return await io.readFile(isAbsolute(path) ? path : join(cwd, path));
        } catch {
          throw new CliFailure(`cannot read ${path}`);
        }
      };
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new CliFailure(`--port must be a TCP port, got "${options.port}"`);
      const gatewayDevVars = relative(cwd, join(dirname(isAbsolute(options.gateway) ? options.gateway : join(cwd, options.gateway)), ".dev.vars")) || ".dev.vars";
      const token = readDevVar(await read(gatewayDevVars).catch(() => ""), "WEFT_ADMIN_TOKEN");
      if (token === undefined) throw new CliFailure(`no WEFT_ADMIN_TOKEN in ${gatewayDevVars}: the gateway's admin API would stay off (weft init writes one)`);
      let wranglerBin: string;
      try {
        wranglerBin = createRequire(join(cwd, "package.json")).resolve("wrangler/bin/wrangler.js");
      } catch {
        throw new CliFailure("wrangler is not installed in this project: npm install --save-dev wrangler");
      }
      const { mesh, services } = await loadDevMesh(cwd, read, options.gateway, options.control, options.config, options.file, wranglerBin);
      const code = await runDevMesh(mesh, {
        port,
        token,
        ...(options.reset ? { reset: true } : {}),
        ...(options.persistTo === undefined ? {} : { persistTo: options.persistTo }),
        banner: (url) => devBanner(url, services, gatewayDevVars),
      });
      if (code !== 0) throw new CliFailure(`the local mesh stopped (exit code ${code})`);
    });
}
