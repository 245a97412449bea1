/**
 * `weft validate`: the whole check of a mesh file without a gateway. The same parse and schema
 * checks `weft apply` runs before it sends anything, plus what only the gateway project can tell:
 * every endpoint's `binding` must be one of the gateway's service bindings (its wrangler config's
 * `services`), reaching the Worker the endpoint names. Pure checks first, the command at the end.
 */
import type { Command } from "commander";
import { formatPath, parseJsonDocuments, parseYamlDocuments, validateDocuments, type LineLocator, type ValidConfigSet } from "@weft/sdk/config";
import { isRecord } from "@weft/sdk";
import type { ConfigIssue } from "@weft/sdk/errors";
import { formatIssue, plural } from "./format.js";
import { findGatewayConfig, readGatewayConfig, type GatewayConfig } from "./gateway-config.js";
import { CliFailure, readFileOrFail, type CliIO } from "./program.js";

/** A problem in one of the files: a config issue (document, path) or one about the file as a whole. */
export interface Problem {
  file: string;
  line?: number;
  /** 1-based document in the file, for problems inside one. */
  document?: number;
  kind?: string;
  name?: string;
  path?: string;
  message: string;
}

/** `mesh.yaml:12: document 2 (Service users) spec...: reason`, as `weft apply` prints it. */
export function formatProblem(problem: Problem): string {
  if (problem.document !== undefined) {
    const { file, document, message } = problem;
    const issue: ConfigIssue = { document, message, path: problem.path ?? "" };
    if (problem.kind !== undefined) issue.kind = problem.kind;
    if (problem.name !== undefined) issue.name = problem.name;
    if (problem.line !== undefined) issue.line = problem.line;
    return formatIssue(file, issue);
  }
  return `${problem.file}${problem.line === undefined ? "" : `:${problem.line}`}: ${problem.message}`;
}

/** A mesh file read and checked as `weft apply` checks it. */
export interface MeshFile {
  file: string;
  /** The documents as written; empty when the text did not parse. */
  raw: unknown[];
  locate: LineLocator | undefined;
  problems: Problem[];
  /** The validated set, when there were no problems. */
  set: ValidConfigSet | undefined;
}

/** Parses and validates mesh file text (YAML, or JSON for `.json`). */
export function checkMeshText(file: string, text: string): MeshFile {
  const parsed = /\.json$/i.test(file) ? parseJsonDocuments(text) : parseYamlDocuments(text);
  if (!parsed.ok) return { file, raw: [], locate: undefined, problems: parsed.issues.map((issue) => ({ file, ...issue })), set: undefined };
  const { documents, locate } = parsed.value;
  if (documents.length === 0) {
    return { file, raw: [], locate, problems: [{ file, message: "holds no documents (weft apply refuses an empty set: it would remove every document)" }], set: undefined };
  }
  const result = validateDocuments(documents, locate);
  return {
    file,
    raw: documents,
    locate,
    problems: result.ok ? [] : result.issues.map((issue) => ({ file, ...issue })),
    set: result.ok ? result.value : undefined,
  };
}

export async function readMeshFile(io: CliIO, file: string): Promise<MeshFile> {
  const text = await readFileOrFail(io, file);
  return checkMeshText(file, text);
}

/** A service binding the mesh uses: an endpoint's, or the trace collector's. */
export interface MeshBinding {
  binding: string;
  /** The Worker the endpoint says the binding reaches, if it says. */
  worker: string | undefined;
  /** Where it is written: document, kind, name, path of the binding field, line. */
  at: Omit<Problem, "message">;
  /** Where its `worker` is written, when it is. */
  workerAt: Omit<Problem, "message"> | undefined;
}

/**
 * Every binding the mesh's documents use, read from the documents as written (so they are found
 * even when other fields are invalid), in the order they appear.
 */
export function meshBindings(mesh: Pick<MeshFile, "file" | "raw" | "locate">): MeshBinding[] {
  const found: MeshBinding[] = [];
  mesh.raw.forEach((doc, index) => {
    if (!isRecord(doc) || !isRecord(doc.spec)) return;
    const named = {
      file: mesh.file,
      document: index + 1,
      ...(typeof doc.kind === "string" ? { kind: doc.kind } : {}),
      ...(isRecord(doc.metadata) && typeof doc.metadata.name === "string" ? { name: doc.metadata.name } : {}),
    };
    const place = (path: (string | number)[]): Omit<Problem, "message"> => {
      const line = mesh.locate?.(index, path);
      return { ...named, path: formatPath(path), ...(line === undefined ? {} : { line }) };
    };
    if (doc.kind === "Service" && Array.isArray(doc.spec.subsets)) {
      doc.spec.subsets.forEach((subset: unknown, s) => {
        if (!isRecord(subset) || !Array.isArray(subset.endpoints)) return;
        subset.endpoints.forEach((endpoint: unknown, e) => {
          if (!isRecord(endpoint) || typeof endpoint.binding !== "string") return;
          const path = ["spec", "subsets", s, "endpoints", e];
          const worker = typeof endpoint.worker === "string" ? endpoint.worker : undefined;
          found.push({ binding: endpoint.binding, worker, at: place([...path, "binding"]), workerAt: worker === undefined ? undefined : place([...path, "worker"]) });
        });
      });
    }
    if (doc.kind === "Mesh") {
      const telemetry = doc.spec.telemetry;
      const tracing = isRecord(telemetry) ? telemetry.tracing : undefined;
      const collector = isRecord(tracing) ? tracing.collector : undefined;
      if (isRecord(collector) && typeof collector.binding === "string") {
        found.push({ binding: collector.binding, worker: undefined, at: place(["spec", "telemetry", "tracing", "collector", "binding"]), workerAt: undefined });
      }
    }
  });
  return found;
}

/** Bindings the mesh uses that the gateway config lacks, or that reach another Worker there. */
export function bindingProblems(bindings: readonly MeshBinding[], gateway: GatewayConfig): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(gateway.services.map((entry) => [entry.binding, entry]));
  const names = gateway.services.map((entry) => entry.binding);
  for (const used of bindings) {
    const entry = byName.get(used.binding);
    if (entry === undefined) {
      const fix = used.worker !== undefined ? "; weft bindings adds it" : "; name its Worker (worker: <name>) and run weft bindings, or add it there by hand";
      const has = names.length === 0 ? "it has none" : `it has ${names.join(", ")}`;
      problems.push({ ...used.at, message: `binding "${used.binding}" is not a service binding in ${gateway.file} (${has})${fix}` });
    } else if (used.worker !== undefined && entry.service !== used.worker) {
      const reaches = entry.service === undefined ? "names no Worker" : `reaches Worker "${entry.service}"`;
      problems.push({
        ...(used.workerAt ?? used.at),
        message: `binding "${used.binding}" ${reaches} in ${gateway.file}:${entry.line}, not "${used.worker}"; weft bindings fixes it`,
      });
    }
  }
  return problems;
}

/** What `weft validate` found. */
export interface ValidateReport {
  ok: boolean;
  file: string;
  /** The gateway config checked against, or undefined when there was none. */
  gateway: string | undefined;
  documents: number;
  services: number;
  routes: number;
  policies: number;
  rollouts: number;
  /** How many binding uses were checked against the gateway config (0 without one). */
  bindings: number;
  problems: Problem[];
}

/** The whole check: the mesh's own problems, then its bindings against the gateway (when given). */
export function validateMesh(mesh: MeshFile, gateway: GatewayConfig | undefined): ValidateReport {
  const bindings = gateway === undefined ? [] : meshBindings(mesh);
  const problems = [...mesh.problems, ...(gateway === undefined ? [] : bindingProblems(bindings, gateway))];
  // In file order, so the lines read top to bottom like the file.
  const order = (p: Problem) => [p.document ?? 0, p.line ?? Number.MAX_SAFE_INTEGER] as const;
  const sorted = problems
    .map((problem, i) => ({ problem, i }))
    .sort((a, b) => {
      const [da, la] = order(a.problem);
      const [db, lb] = order(b.problem);
      return da - db || la - lb || a.i - b.i;
    })
    .map(({ problem }) => problem);
  const kinds = mesh.raw.map((doc) => (isRecord(doc) ? doc.kind : undefined));
  return {
    ok: sorted.length === 0,
    file: mesh.file,
    gateway: gateway?.file,
    documents: mesh.raw.length,
    services: kinds.filter((kind) => kind === "Service").length,
    routes: kinds.filter((kind) => kind === "Route").length,
    policies: kinds.filter((kind) => kind === "AuthorizationPolicy").length,
    rollouts: kinds.filter((kind) => kind === "Rollout").length,
    bindings: bindings.length,
    problems: sorted,
  };
}

/** The one line `weft validate` prints when all is well. */
export function validSummary(report: ValidateReport): string {
  const rollouts = report.rollouts > 0 ? `, ${plural(report.rollouts, "rollout")}` : "";
  const counts = `${plural(report.documents, "document")} (${plural(report.services, "service")}, ${plural(report.routes, "route")}, ${report.policies} ${report.policies === 1 ? "policy" : "policies"}${rollouts})`;
  const bindings = report.gateway === undefined ? "" : `; ${plural(report.bindings, "binding")} match ${report.gateway}`;
  return `${report.file} is valid: ${counts}${bindings}`;
}

// ---- the command ------------------------------------------------------------------------------

/** Adds `weft validate` to the program. */
export function registerValidate(program: Command, io: CliIO): void {
  program
    .command("validate")
    .description("check a mesh file offline as apply would, and that its bindings are in the gateway's wrangler config (no gateway needed)")
    .requiredOption("-f, --file <file>", "YAML (or .json) file of weft documents")
    .option("--gateway <file>", "the gateway project's wrangler.jsonc (or .json); default: the one in the current folder, if any")
    .option("--json", "print { ok, issues: [...] } (and the counts) as JSON")
    .action(async (options: { file: string; gateway?: string; json?: boolean }) => {
      const out = (line: string) => io.stdout.write(`${line}\n`);
      let gateway: GatewayConfig | undefined;
      let note: string | undefined;
      if (options.gateway !== undefined) gateway = await readGatewayConfig(io, options.gateway);
      else {
        const found = await findGatewayConfig(io);
        if (found !== undefined) gateway = await readGatewayConfig(io, found.file, found.path);
        else note = "bindings not checked: no wrangler.jsonc in this folder (name the gateway's config with --gateway)";
      }
      const report = validateMesh(await readMeshFile(io, options.file), gateway);
      if (options.json) {
        const { problems, ...counts } = report;
        io.stdout.write(`${JSON.stringify({ ...counts, gateway: report.gateway ?? null, issues: problems }, null, 2)}\n`);
      } else {
        if (note !== undefined) out(note);
        if (report.ok) out(validSummary(report));
      }
      if (report.ok) return;
      // With --json the issues are on stdout already; stderr just says why the exit code is 1.
      if (options.json) throw new CliFailure(`${report.file}: ${plural(report.problems.length, "problem")}`);
      const lines = report.problems.map(formatProblem);
      const [only] = lines;
      if (only !== undefined && lines.length === 1) throw new CliFailure(only);
      throw new CliFailure(`${report.file}: ${plural(lines.length, "problem")}`, lines);
    });
}
