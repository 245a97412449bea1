/**
 * `weft deploy`: ships a mesh to Cloudflare as one checked sequence. The gateway binds the control
 * Worker's Durable Objects and the functions, and the functions that call peers bind the gateway,
 * so the gateway cannot be deployed first as it finally is. A deploy therefore goes:
 *   1. the control Worker (the mesh's Durable Objects, which the gateway binds by script_name; it
 *      also goes first on later deploys, so gateways never read a config form newer than theirs),
 *   2. the gateway without its function bindings (so it exists for the functions to bind),
 *   3. every function,
 *   4. the gateway with its bindings,
 *   5. the mesh config applied through the gateway's admin API,
 *   6. a credential for each function that calls peers, stored as its `WEFT_CREDENTIAL` secret.
 * `--dry-run` prints that plan and runs `wrangler deploy --dry-run` for every config in it, so a
 * broken config fails here rather than halfway through a real deploy.
 */
import { Command } from "commander";
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser";
import { parse as parseToml } from "smol-toml";
import { basename, dirname, isAbsolute, join } from "node:path";
import { parseConfigText } from "@weft/sdk/config";
import { CONTROL_CONFIG_FILE } from "./init.js";
import type { CliIO } from "./program.js";
import { CliFailure } from "./program.js";

/** What the plan needs to know about one wrangler config. */
export interface WorkerConfig {
  /** Path as the user gave it. */
  path: string;
  /** The Worker's `name`. */
  name: string;
  /** Service bindings: binding name → Worker name. */
  services: { binding: string; service: string }[];
}

export type DeployStep =
  | { kind: "deploy"; config: WorkerConfig; withoutServices: boolean; why: string }
  | { kind: "apply"; meshFile: string; why: string }
  | { kind: "credential"; config: WorkerConfig; service: string; why: string };

/** Reads the part of a wrangler config (wrangler.jsonc, wrangler.json or wrangler.toml) the plan needs, with clear errors. */
export function readWorkerConfig(path: string, text: string): WorkerConfig {
  let value: unknown;
  if (/\.toml$/i.test(path)) {
    try {
      value = parseToml(text);
    } catch (error) {
      throw new CliFailure(`${path}: not valid TOML (${(error as Error).message.split("\n")[0]})`);
    }
  } else {
    const errors: ParseError[] = [];
    value = parseJsonc(text, errors, { allowTrailingComma: true });
    const first = errors[0];
    if (first) throw new CliFailure(`${path}: not valid JSONC (${printParseErrorCode(first.error)} at offset ${first.offset})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CliFailure(`${path}: expected a JSON object`);
  const config = value as { name?: unknown; services?: unknown };
  if (typeof config.name !== "string" || config.name === "") throw new CliFailure(`${path}: the config has no "name"`);
  const services: WorkerConfig["services"] = [];
  if (Array.isArray(config.services)) {
    for (const entry of config.services as unknown[]) {
      const { binding, service } = (entry ?? {}) as { binding?: unknown; service?: unknown };
      if (typeof binding === "string" && typeof service === "string") services.push({ binding, service });
    }
  }
  return { path, name: config.name, services };
}

/**
 * The deploy sequence for a gateway, its control Worker and the functions of its mesh. Pure.
 * `serviceOf` names the mesh service a Worker is (from the endpoints' `worker:`), whose identity
 * its credential carries.
 */
export function planDeploy(gateway: WorkerConfig, control: WorkerConfig, functions: readonly WorkerConfig[], meshFile: string, serviceOf: (worker: string) => string): DeployStep[] {
  const callers = functions.filter((fn) => fn.services.some((entry) => entry.service === gateway.name));
  const steps: DeployStep[] = [];
  steps.push({ kind: "deploy", config: control, withoutServices: false, why: "the control Worker first: the gateway binds its Durable Objects" });
  steps.push({
    kind: "deploy",
    config: gateway,
    withoutServices: gateway.services.length > 0,
    why: gateway.services.length > 0 ? "the gateway first, without its function bindings, so the functions can bind it" : "the gateway (it binds no function yet)",
  });
  for (const fn of functions) {
    steps.push({ kind: "deploy", config: fn, withoutServices: false, why: callers.includes(fn) ? `${fn.name}, which calls peers through the gateway` : `${fn.name}` });
  }
  if (gateway.services.length > 0) steps.push({ kind: "deploy", config: gateway, withoutServices: false, why: `the gateway again, now with its bindings to ${gateway.services.map((s) => s.service).join(", ")}` });
  steps.push({ kind: "apply", meshFile, why: "the mesh config, through the gateway's admin API" });
  for (const fn of callers) {
    const service = serviceOf(fn.name);
    steps.push({ kind: "credential", config: fn, service, why: `a credential for service ${service}, stored as ${fn.name}'s WEFT_CREDENTIAL secret` });
  }
  return steps;
}

export function describeStep(step: DeployStep, index: number): string {
  switch (step.kind) {
    case "deploy":
      return `${index + 1}. wrangler deploy -c ${step.config.path}${step.withoutServices ? " (services removed)" : ""}: ${step.why}`;
    case "apply":
      return `${index + 1}. weft apply -f ${step.meshFile}: ${step.why}`;
    case "credential":
      return `${index + 1}. weft credentials create ${step.service} | wrangler secret put WEFT_CREDENTIAL -c ${step.config.path}: ${step.why}`;
  }
}

/**
 * A copy of a gateway config without its `services`, for the first deploy. It lives under
 * `.wrangler/` (never committed) with `main` made absolute, since wrangler resolves a config's
 * paths from the config's own folder.
 */
function firstDeployConfig(text: string, configPath: string, cwd: string): { path: string; text: string } {
  const value = parseJsonc(text, [], { allowTrailingComma: true }) as Record<string, unknown>;
  const { services: _services, ...rest } = value;
  const configDir = dirname(isAbsolute(configPath) ? configPath : join(cwd, configPath));
  if (typeof rest.main === "string" && !isAbsolute(rest.main)) rest.main = join(configDir, rest.main);
  const name = basename(configPath).replace(/\.jsonc?$/i, "");
  return { path: join(cwd, ".wrangler", "weft", `${name}.first-deploy.jsonc`), text: `${JSON.stringify(rest, null, 2)}\n` };
}

/** Worker name → the mesh service whose endpoint names it (`worker:`); the file must validate. */
export function servicesByWorker(file: string, text: string): Map<string, string> {
  const parsed = parseConfigText(text, /\.json$/i.test(file) ? "json" : "yaml");
  if (!parsed.ok) throw new CliFailure(`${file}: ${parsed.issues.length} issue(s); check it with weft validate -f ${file}`);
  const byWorker = new Map<string, string>();
  for (const service of parsed.value.services) {
    for (const subset of service.spec.subsets) for (const endpoint of subset.endpoints) if (endpoint.worker !== undefined) byWorker.set(endpoint.worker, service.metadata.name);
  }
  return byWorker;
}

/** The control Worker's config, with a hint when it is missing (a project from before the control Worker existed has none). */
export async function readControlConfig(read: (path: string) => Promise<string>, path: string): Promise<string> {
  try {
    return await read(path);
  } catch {
    throw new CliFailure(`cannot read ${path}: the control Worker's config (the mesh's Durable Objects, which the gateway binds by script_name; weft init writes it, --control names another)`);
  }
}

export interface DeployOptions {
  gateway: string;
  control: string;
  config: string[];
  file: string;
  dryRun?: boolean;
  outdir?: string;
}

export function registerDeploy(program: Command, io: CliIO, apply: (meshFile: string, command: Command) => Promise<void>, createCredential: (service: string, command: Command) => Promise<string>): void {
  program
    .command("deploy")
    .description("deploy the control Worker, the gateway and your Workers in the order that avoids their binding cycle, apply the mesh, and give each caller its credential")
    .option("--gateway <config>", "the gateway's wrangler config", "wrangler.jsonc")
    .option("--control <config>", "the control Worker's wrangler config (the mesh's Durable Objects)", CONTROL_CONFIG_FILE)
    .requiredOption("-c, --config <config...>", "each function's wrangler config (jsonc, json or toml)")
    .requiredOption("-f, --file <file>", "the mesh's YAML file")
    .option("--dry-run", "print the plan and run `wrangler deploy --dry-run` for every config in it; deploys nothing")
    .option("--outdir <dir>", "where dry runs write their bundles", ".wrangler/weft-dry-run")
    .action(async (options: DeployOptions, command: Command) => {
      const resolvePath = (path: string) => (isAbsolute(path) ? path : join(io.cwd(), path));
      const read = async (path: string) => {
        try {
          return await io.readFile(resolvePath(path));
        } catch {
          throw new CliFailure(`cannot read ${path}`);
        }
      };
      const gateway = readWorkerConfig(options.gateway, await read(options.gateway));
      const control = readWorkerConfig(options.control, await readControlConfig(read, options.control));
      const functions = await Promise.all(options.config.map(async (path) => readWorkerConfig(path, await read(path))));
      const services = servicesByWorker(options.file, await read(options.file));
      const steps = planDeploy(gateway, control, functions, options.file, (worker) => services.get(worker) ?? worker);
      io.stdout.write(`${options.dryRun ? "plan (dry run)" : "plan"}:\n${steps.map((step, i) => `  ${describeStep(step, i)}`).join("\n")}\n`);

      for (const [index, step] of steps.entries()) {
        if (step.kind === "deploy") {
          let configPath = step.config.path;
          if (step.withoutServices) {
            const copy = firstDeployConfig(await read(step.config.path), step.config.path, io.cwd());
            await io.writeFile(copy.path, copy.text);
            configPath = copy.path;
          }
          const args = ["wrangler", "deploy", "-c", configPath, ...(options.dryRun ? ["--dry-run", "--outdir", join(options.outdir ?? ".wrangler/weft-dry-run", `${index + 1}-${step.config.name}`)] : [])];
          const result = await io.run("npx", args, { cwd: io.cwd(), inherit: !options.dryRun });
          if (result.code !== 0) throw new CliFailure(`step ${index + 1} failed: npx ${args.join(" ")} exited ${result.code}`, (result.stderr || result.stdout).trim().split("\n").slice(-15));
          io.stdout.write(`ok ${index + 1}: ${options.dryRun ? "dry run of " : ""}${step.config.path}${step.withoutServices ? " (services removed)" : ""}\n`);
        } else if (step.kind === "apply") {
          if (options.dryRun) io.stdout.write(`skip ${index + 1}: apply (dry run; check it with weft validate -f ${step.meshFile} --gateway ${gateway.path})\n`);
          else await apply(step.meshFile, command);
        } else if (options.dryRun) {
          io.stdout.write(`skip ${index + 1}: credential for ${step.config.name} (dry run)\n`);
        } else {
          const credential = await createCredential(step.service, command);
          const args = ["wrangler", "secret", "put", "WEFT_CREDENTIAL", "-c", step.config.path];
          const result = await io.run("npx", args, { cwd: io.cwd(), input: credential });
          if (result.code !== 0) throw new CliFailure(`step ${index + 1} failed: npx ${args.join(" ")} exited ${result.code}`, result.stderr.trim().split("\n").slice(-15));
          io.stdout.write(`ok ${index + 1}: ${step.config.name} has its WEFT_CREDENTIAL secret\n`);
        }
      }
      io.stdout.write(options.dryRun ? "dry run passed: every config in the plan deploys\n" : "deployed\n");
    });
}
