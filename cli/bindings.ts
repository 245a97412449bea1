/**
 * `weft bindings`: keeps the gateway project's wrangler config in step with the mesh. Every
 * endpoint that names its Worker (`{ binding: USERS, worker: users }`) becomes a service binding
 * `{ "binding": "USERS", "service": "users" }` in the config's `services`; entries the mesh does not
 * mention (a trace collector, say) are kept. The plan is pure; the edit goes through jsonc-parser.
 */
import type { Command } from "commander";
import { plural } from "./format.js";
import { appendBindings, findGatewayConfig, readGatewayConfig, setBindingService, type GatewayBinding, type GatewayConfig, type ServiceBindingEntry } from "./gateway-config.js";
import { CliFailure, type CliIO } from "./program.js";
import { formatProblem, meshBindings, readMeshFile, type MeshBinding } from "./validate.js";

/** What bringing the config in line with the mesh takes. */
export interface BindingsPlan {
  /** Bindings the config lacks, in the order the mesh first uses them. */
  add: ServiceBindingEntry[];
  /** Entries reaching another Worker than the mesh names. */
  fix: { binding: string; index: number; from: string | undefined; to: string }[];
  /** Entries already as the mesh says. */
  inSync: ServiceBindingEntry[];
  /** Entries the mesh does not use: kept as they are. */
  notInMesh: GatewayBinding[];
  /** Bindings the mesh uses without naming their Worker, so they cannot be written. */
  noWorker: { binding: string; inConfig: boolean }[];
  /** Bindings the mesh says reach more than one Worker. */
  conflicts: { binding: string; workers: string[] }[];
}

export function planBindings(bindings: readonly MeshBinding[], gateway: GatewayConfig): BindingsPlan {
  const plan: BindingsPlan = { add: [], fix: [], inSync: [], notInMesh: [], noWorker: [], conflicts: [] };
  const workers = new Map<string, Set<string>>();
  for (const used of bindings) {
    const set = workers.get(used.binding) ?? new Set<string>();
    if (used.worker !== undefined) set.add(used.worker);
    workers.set(used.binding, set);
  }
  for (const [binding, named] of workers) {
    const entries = gateway.services.filter((entry) => entry.binding === binding);
    if (named.size === 0) {
      plan.noWorker.push({ binding, inConfig: entries.length > 0 });
      continue;
    }
    if (named.size > 1) {
      plan.conflicts.push({ binding, workers: [...named] });
      continue;
    }
    const [worker = ""] = named;
    if (entries.length === 0) plan.add.push({ binding, service: worker });
    for (const entry of entries) {
      if (entry.service === worker) plan.inSync.push({ binding, service: worker });
      else plan.fix.push({ binding, index: entry.index, from: entry.service, to: worker });
    }
  }
  plan.notInMesh = gateway.services.filter((entry) => !workers.has(entry.binding));
  return plan;
}

/** How many ways the config and the mesh disagree (what `--check` fails on). */
export function driftCount(plan: BindingsPlan): number {
  return plan.add.length + plan.fix.length + plan.conflicts.length + plan.noWorker.filter((missing) => !missing.inConfig).length;
}

/** The config text with the plan's additions and fixes made; everything else as it was. */
export function applyBindingsPlan(text: string, plan: BindingsPlan): string {
  let out = text;
  for (const fix of plan.fix) out = setBindingService(out, fix.index, fix.to);
  return appendBindings(out, plan.add);
}

/** One line per binding that is not simply in sync; `check` words them as findings, not changes. */
export function planLines(plan: BindingsPlan, meshFile: string, configFile: string, check: boolean): string[] {
  const lines: string[] = [];
  for (const { binding, service } of plan.add) lines.push(check ? `missing   ${binding} → ${service}` : `added     ${binding} → ${service}`);
  for (const fix of plan.fix) {
    const was = fix.from === undefined ? "no Worker" : fix.from;
    lines.push(check ? `wrong     ${fix.binding} → ${was} (${meshFile} says ${fix.to})` : `fixed     ${fix.binding} → ${fix.to} (was ${was})`);
  }
  for (const conflict of plan.conflicts) {
    lines.push(`conflict  ${conflict.binding}: ${meshFile} names more than one Worker for it (${conflict.workers.join(", ")}); not written`);
  }
  for (const missing of plan.noWorker) {
    const state = missing.inConfig ? `kept as it is in ${configFile}` : `not in ${configFile} either, so the gateway lacks it`;
    lines.push(`no worker ${missing.binding}: its endpoint in ${meshFile} names no worker, so weft cannot write it (${state}); add worker: <its Worker's name>`);
  }
  for (const entry of plan.notInMesh) lines.push(`kept      ${entry.binding} → ${entry.service ?? "?"} (not in ${meshFile})`);
  return lines;
}

// ---- the command ------------------------------------------------------------------------------

/** Adds `weft bindings` to the program. */
export function registerBindings(program: Command, io: CliIO): void {
  program
    .command("bindings")
    .description("write the gateway's service bindings (wrangler.jsonc services) from the mesh's endpoints that name their worker")
    .requiredOption("-f, --file <file>", "YAML (or .json) file of weft documents")
    .option("-c, --config <file>", "the gateway project's wrangler.jsonc (or .json); default: the one in the current folder")
    .option("--check", "change nothing; exit 1 when the config and the mesh disagree (for CI)")
    .action(async (options: { file: string; config?: string; check?: boolean }) => {
      const out = (line: string) => io.stdout.write(`${line}\n`);
      const target: { file: string; path: string } | undefined = options.config === undefined ? await findGatewayConfig(io) : { file: options.config, path: options.config };
      if (target === undefined) throw new CliFailure("no wrangler.jsonc in this folder: name the gateway's config with -c <file>");
      const gateway = await readGatewayConfig(io, target.file, target.path);
      const mesh = await readMeshFile(io, options.file);
      if (mesh.problems.length > 0) {
        // Bindings written from a file apply would refuse could point the gateway anywhere.
        throw new CliFailure(`${mesh.file}: ${plural(mesh.problems.length, "problem")}; fix ${mesh.problems.length === 1 ? "it" : "them"} first (weft validate -f ${mesh.file})`, mesh.problems.map(formatProblem));
      }
      const plan = planBindings(meshBindings(mesh), gateway);
      const drift = driftCount(plan);
      const lines = planLines(plan, mesh.file, gateway.file, options.check === true);
      for (const line of lines) out(`  ${line}`);
      const inSync = `${plural(plan.inSync.length, "binding")} in sync`;
      if (options.check) {
        if (drift === 0) {
          out(`${gateway.file} is in sync with ${mesh.file}: ${inSync}`);
          return;
        }
        throw new CliFailure(`${gateway.file} is out of sync with ${mesh.file}: ${plural(drift, "difference")} (weft bindings -f ${mesh.file} writes what it can)`);
      }
      const changes = plan.add.length + plan.fix.length;
      if (changes > 0) await io.writeFile(target.path, applyBindingsPlan(gateway.text, plan));
      const summary = changes === 0 ? `${gateway.file}: nothing to change, ${inSync}` : `${gateway.file}: ${plan.add.length} added, ${plan.fix.length} fixed, ${inSync}`;
      const left = drift - changes;
      out(summary);
      if (left > 0) throw new CliFailure(`${gateway.file} still lacks what ${mesh.file} needs: ${plural(left, "binding")} could not be written (see above)`);
    });
}
