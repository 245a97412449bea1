/**
 * The `weft` command: commander 14 wiring around the admin API client and the pure formatters.
 * Everything it touches (stdout, stderr, fetch, env, files, Ctrl-C) comes in through `CliIO`,
 * so tests run the whole program in-process. `runCli` returns the exit code:
 * 0 ok, 1 failed (refused by the mesh, network error, invalid file), 2 usage error.
 */
import { Command, CommanderError, Option } from "commander";
import { stringify } from "yaml";
import { formatDuration, parseConfigText } from "@weft/sdk/config";
import { collectHeader, parseInterval, parseKind, parseMethod, parsePositiveInt, parseRequestUrl, parseVersion, parseWindow, type DocumentKind } from "./args.js";
import {
  AdminClient,
  ApplyResultSchema,
  ConfigSnapshotSchema,
  CreatedCredentialSchema,
  CredentialSchema,
  CredentialsSchema,
  ExplainSchema,
  HistorySchema,
  KeysSchema,
  MeshApiError,
  RolloutSchema,
  RolloutsSchema,
  ServicesSchema,
  TelemetrySchema,
  TokenSchema,
  type Answer,
  type ApplyResult,
  type FetchLike,
  type Keys,
  type Telemetry,
  withoutUndefined,
} from "./client.js";
import { documentLookup, documentRef, formatIssue, formatTime, plural, renderDiff, rolloutDetail, rolloutsTable, routesTable, statusRows, statusTable, summarizeDocument, table } from "./format.js";
import { registerInit } from "./init.js";
import { registerDeploy } from "./deploy.js";
import { registerDev } from "./dev.js";
import { registerValidate } from "./validate.js";
import { registerBindings } from "./bindings.js";
import type { RolloutCommandName } from "../wire/src/rollouts.js";

/** The local mesh (`npm run dev`) and its dev admin token, which is no secret. */
export const DEFAULT_URL = "http://127.0.0.1:8787";
export const DEFAULT_TOKEN = "dev-admin-token";
export const DEFAULT_ACTOR = "cli";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliWriter {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/** What the program may touch; `main.ts` passes the real process, tests their own. */
export interface CliIO {
  stdout: CliWriter;
  stderr: CliWriter;
  fetch: FetchLike;
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Promise<string>;
  /** Writes a file, creating its folder; with `exclusive` an existing file is never overwritten (rejects, code EEXIST). */
  writeFile(path: string, text: string, options?: { exclusive?: boolean }): Promise<void>;
  /** Whether a file or folder exists at `path`. */
  exists(path: string): Promise<boolean>;
  /** The folder relative paths are resolved against. */
  cwd(): string;
  /**
   * Runs a program (e.g. `npx wrangler deploy`) to completion in `cwd`, with `input` on its stdin,
   * and returns its exit code and output. `inherit` streams its output to the user instead.
   */
  run(command: string, args: readonly string[], options: { cwd: string; input?: string; inherit?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Calls `listener` on Ctrl-C; returns the function that stops listening. */
  onInterrupt(listener: () => void): () => void;
  now(): Date;
}

/** A failure the CLI explains itself: one message line, then optional detail lines (issues). */
export class CliFailure extends Error {
  override readonly name = "CliFailure";
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

type GlobalOptions = { url?: string; token?: string; actor?: string };
type JsonOption = { json?: boolean };

/** Runs `weft <args>` (arguments after the program name) and returns the exit code. */
export async function runCli(args: readonly string[], io: CliIO): Promise<number> {
  const secrets = new Set<string>();
  const context = new Context(io, secrets);
  const program = buildProgram(context);
  try {
    await program.parseAsync([...args], { from: "user" });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; everything else commander refuses is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    context.fail(error);
    return EXIT_FAILED;
  }
}

/** Resolved settings, the client, and output helpers shared by the commands. */
class Context {
  constructor(
    readonly io: CliIO,
    private readonly secrets: Set<string>,
  ) {}

  client(command: Command): AdminClient {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const token = globals.token ?? nonEmpty(this.io.env.WEFT_ADMIN_TOKEN) ?? DEFAULT_TOKEN;
    if (token.length >= 6) this.secrets.add(token);
    return new AdminClient({
      baseUrl: globals.url ?? nonEmpty(this.io.env.WEFT_URL) ?? DEFAULT_URL,
      token,
      fetch: this.io.fetch,
      actor: globals.actor ?? nonEmpty(this.io.env.WEFT_ACTOR) ?? DEFAULT_ACTOR,
    });
  }

  out(...lines: string[]): void {
    for (const line of lines) this.io.stdout.write(`${line}\n`);
  }

  json(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  /** One `weft: <message>` line on stderr (plus issue lines); never the token. */
  fail(error: unknown): void {
    const lines: string[] = [];
    if (error instanceof CliFailure) lines.push(error.message, ...error.details);
    else if (error instanceof MeshApiError) {
      lines.push(error.message);
      for (const issue of error.issues) lines.push(formatIssue(error.source ?? "config", issue));
    } else if (error instanceof Error) lines.push(error.message);
    else lines.push(String(error));
    const [first = "failed", ...rest] = lines.map((line) => this.redact(line.replace(/\s*\n\s*/g, " ")));
    this.io.stderr.write(`weft: ${first}\n`);
    for (const line of rest) this.io.stderr.write(`${line}\n`);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join("<token>");
    return out;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Tags a server refusal with what it is about, so its issues read `file:line: ...`. */
function aboutFile<T>(source: string, work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    throw error instanceof MeshApiError ? error.about(source) : error;
  });
}

function buildProgram(context: Context): Command {
  const { io } = context;
  const program = new Command("weft");
  program
    .description("Operate a weft service mesh through its gateway's admin API.")
    .addOption(new Option("--url <url>", `the gateway (env WEFT_URL; default ${DEFAULT_URL})`))
    .addOption(new Option("--token <token>", "admin token (env WEFT_ADMIN_TOKEN; default: the local dev mesh's token)"))
    .addOption(new Option("--actor <name>", `labels your changes in history and audit (env WEFT_ACTOR; default ${DEFAULT_ACTOR})`))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's "error: ..." (and its "(Did you mean ...?)" line) as one `weft:` line.
      outputError: (text, write) => write(`weft: ${text.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")}\n`),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      [
        "",
        "Exit codes: 0 ok, 1 failed (refused by the mesh, unreachable, invalid file), 2 usage error.",
        "Examples:",
        "  weft apply -f examples/mesh.yaml",
        "  weft get services",
        "  weft status",
        "  weft explain GET http://orders.mesh/orders/1 --from frontend",
      ].join("\n"),
    );

  const withJson = (command: Command) => command.option("--json", "print the mesh's JSON answer as it is");

  // ---- config --------------------------------------------------------------------------------

  withJson(
    program
      .command("apply")
      .description("validate a YAML file locally, show what it changes, then replace the mesh's config with it")
      .requiredOption("-f, --file <file>", "YAML (or .json) file of weft documents")
      .option("--dry-run", "show the diff only; change nothing"),
  ).action(async (options: { file: string; dryRun?: boolean } & JsonOption, command: Command) => {
    const local = await loadLocal(io, options.file);
    const client = context.client(command);
    const preview = await previewApply(client, local);
    if (!options.json) context.out(...preview.lines);
    if (!preview.answer.value.changed) {
      if (options.json) context.json(preview.answer.raw);
      else context.out(`no change: version ${preview.answer.value.version}`);
      return;
    }
    if (options.dryRun) {
      if (options.json) context.json(preview.answer.raw);
      else context.out(`dry run: nothing applied (version ${preview.answer.value.version} stays current)`);
      return;
    }
    const applied = await aboutFile(local.file, client.post("/config", ApplyResultSchema, local.body));
    if (options.json) context.json(applied.raw);
    else context.out(applied.value.changed ? `applied version ${applied.value.version}` : `no change: version ${applied.value.version}`);
  });

  withJson(
    program
      .command("diff")
      .description("show what applying a file would change (a dry run; changes nothing)")
      .requiredOption("-f, --file <file>", "YAML (or .json) file of weft documents"),
  ).action(async (options: { file: string } & JsonOption, command: Command) => {
    const local = await loadLocal(io, options.file);
    const preview = await previewApply(context.client(command), local);
    if (options.json) context.json(preview.answer.raw);
    else context.out(...preview.lines);
  });

  withJson(
    program
      .command("get")
      .description("list the current config's documents of a kind: mesh, service(s), route(s), authorizationpolicy/policies, all")
      .argument("<kind>", "mesh | service(s) | route(s) | authorizationpolicy/policies | all (any case)", parseKind)
      .argument("[name]", "one document's metadata.name")
      .addOption(new Option("-o, --output <format>", "table, yaml or json").choices(["table", "yaml", "json"]).default("table")),
  ).action(async (kind: DocumentKind | "all", name: string | undefined, options: { output: string } & JsonOption, command: Command) => {
    const { value } = await context.client(command).get("/config", ConfigSnapshotSchema);
    const documents = value.documents.filter((doc) => {
      const ref = documentRef(doc);
      return (kind === "all" || ref.kind === kind) && (name === undefined || ref.name === name);
    });
    if (name !== undefined && documents.length === 0) {
      throw new CliFailure(`no ${kind === "all" ? "document" : kind} named "${name}" in config version ${value.version}`);
    }
    const output = options.json ? "json" : options.output;
    if (output === "json") context.json(name !== undefined && documents.length === 1 ? documents[0] : { version: value.version, documents });
    else if (output === "yaml") context.out(documents.map((doc) => stringify(doc).trimEnd()).join("\n---\n"));
    else if (documents.length === 0) context.out(`no ${kind === "all" ? "documents" : `${kind} documents`} in config version ${value.version}`);
    else {
      context.out(
        table(
          ["kind", "name", "summary"],
          documents.map((doc) => {
            const ref = documentRef(doc);
            return [ref.kind, ref.name, summarizeDocument(doc)];
          }),
        ),
      );
    }
  });

  withJson(
    program
      .command("history")
      .description("config versions, newest first")
      .option("--limit <n>", "how many versions", parsePositiveInt),
  ).action(async (options: { limit?: number } & JsonOption, command: Command) => {
    const answer = await context.client(command).get("/config/history", HistorySchema, options.limit === undefined ? undefined : { limit: String(options.limit) });
    if (options.json) return context.json(answer.raw);
    const rows = answer.value.versions.map((v, i) => [
      `${v.version}${i === 0 ? "*" : ""}`,
      formatTime(v.createdAt),
      v.actor,
      v.source === "rollback" && typeof v.rollbackOf === "number" ? `rollback to ${v.rollbackOf}` : v.source,
      v.summary,
    ]);
    context.out(rows.length === 0 ? "no config versions yet" : table(["version", "created", "actor", "source", "summary"], rows, ["right"]));
  });

  withJson(
    program
      .command("rollback")
      .description("make a new version with the content of an older one")
      .argument("<version>", "the version whose content to restore", parseVersion),
  ).action(async (version: number, options: JsonOption, command: Command) => {
    const answer = await aboutFile(`version ${version}`, context.client(command).post("/config/rollback", ApplyResultSchema, { json: { version } }));
    if (options.json) return context.json(answer.raw);
    context.out(...renderDiff(answer.value.diff), `applied version ${answer.value.version} (the content of version ${version})`);
  });

  // ---- traffic -------------------------------------------------------------------------------

  withJson(
    program
      .command("status")
      .description("golden metrics per service (requests/s, success rate, p50, p99) and ejected endpoints; --routes: per Route document and rule")
      .option("--window <duration>", "telemetry window, such as 1m or 1h", parseWindow, "1m")
      .option("--routes", "one row per Route document and rule that carried traffic, instead of per service"),
  ).action(async (options: { window: string; routes?: boolean } & JsonOption, command: Command) => {
    const snapshot = await readStatus(context.client(command), options.window);
    if (options.json) return context.json({ services: snapshot.services.raw, telemetry: snapshot.telemetry?.raw ?? null });
    if (options.routes) {
      if (!snapshot.telemetry) throw new CliFailure(`no per-route figures: ${snapshot.telemetryNote ?? "the gateway serves no telemetry"}`);
      return context.out(routesTable(snapshot.telemetry.value.services));
    }
    context.out(...statusLines(snapshot));
  });

  program
    .command("top")
    .description("status, redrawn in place until Ctrl-C")
    .option("--interval <duration>", "time between redraws, such as 2s", parseInterval, 2000)
    .option("--window <duration>", "telemetry window, such as 1m", parseWindow, "1m")
    .action(async (options: { interval: number; window: string }, command: Command) => {
      const client = context.client(command);
      let stop: () => void = () => undefined;
      const interrupted = new Promise<void>((resolve) => {
        stop = io.onInterrupt(resolve);
      });
      let done = false;
      void interrupted.then(() => (done = true));
      try {
        while (!done) {
          let body: string[];
          try {
            body = statusLines(await readStatus(client, options.window));
          } catch (error) {
            // A blip (the mesh restarting, a timeout) shows in the frame; top keeps going.
            body = [`weft: ${context.redact(error instanceof Error ? error.message : String(error))}`];
          }
          if (done) break;
          const header = `weft top · ${client.baseUrl} · window ${options.window} · every ${formatDuration(options.interval)} · ${formatTime(io.now().toISOString())}  (Ctrl-C to quit)`;
          io.stdout.write(`\x1b[2J\x1b[H${header}\n\n${body.join("\n")}\n`);
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([interrupted, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.interval)))]);
          clearTimeout(timer);
        }
      } finally {
        stop();
      }
    });

  withJson(
    program
      .command("explain")
      .description("ask the gateway how it would handle a request: route, policy, destination, and why")
      .argument("<method>", "HTTP method, such as GET", parseMethod)
      .argument("<url>", "the request URL, such as http://orders.mesh/orders/1, or a path such as /httpbin/anything (an ingress request to --url)", parseRequestUrl)
      .option("--from <service>", "the calling service or its SPIFFE ID (default: an anonymous caller)")
      .option("-H, --header <name:value>", "a request header (repeatable)", collectHeader, {}),
  ).action(async (method: string, url: string, options: { from?: string; header: Record<string, string> } & JsonOption, command: Command) => {
    const client = context.client(command);
    // A bare path is an ingress request to the gateway itself.
    const target = url.startsWith("/") ? `${client.baseUrl}${url}` : url;
    const body = { ...(options.from === undefined ? {} : { from: options.from }), method, url: target, headers: options.header };
    let answer: Answer<{ summary: string[] }>;
    try {
      answer = await client.post("/explain", ExplainSchema, { json: body });
    } catch (error) {
      if (error instanceof MeshApiError && error.status === 404 && error.message.startsWith("no admin route")) {
        throw new CliFailure("this gateway has no explain endpoint (POST /.weft/api/v1/explain answered 404 not_found); it runs a weft version without `explain`");
      }
      throw error;
    }
    if (options.json) return context.json(answer.raw);
    context.out(...answer.value.summary);
  });

  // ---- rollouts ------------------------------------------------------------------------------

  const rollout = program.command("rollout").description("progressive releases (Rollout documents): status, pause, resume, promote, abort");
  withJson(rollout.command("status").description("each rollout's phase, step and weights; with a name, its plan and checks against the bounds").argument("[name]", "one rollout")).action(
    async (name: string | undefined, options: JsonOption, command: Command) => {
      const client = context.client(command);
      if (name !== undefined) {
        const answer = await client.get(`/rollouts/${encodeURIComponent(name)}`, RolloutSchema);
        if (options.json) return context.json(answer.raw);
        return context.out(...rolloutDetail(answer.value, io.now()));
      }
      const answer = await client.get("/rollouts", RolloutsSchema);
      if (options.json) return context.json(answer.raw);
      context.out(answer.value.rollouts.length === 0 ? "no rollouts in the current config" : rolloutsTable(answer.value.rollouts, io.now()));
    },
  );
  const rolloutCommands: Record<RolloutCommandName, string> = {
    pause: "stop moving the rollout where it is (its weights stay) until resumed",
    resume: "go on from where the rollout was paused",
    promote: "send all of the target's traffic to the canary now, skipping the remaining steps and checks",
    abort: "send all of the target's traffic back to stable now; the rollout ends Failed",
  };
  for (const [verb, description] of Object.entries(rolloutCommands)) {
    withJson(rollout.command(verb).description(description).argument("<name>", "the rollout (its metadata.name)")).action(async (name: string, options: JsonOption, command: Command) => {
      const answer = await context.client(command).post(`/rollouts/${encodeURIComponent(name)}/${verb}`, RolloutSchema, undefined);
      if (options.json) return context.json(answer.raw);
      const { state } = answer.value;
      context.out(`${verb === "abort" ? "aborted" : `${verb}d`} rollout ${name}: ${state.phase}, ${answer.value.stable} ${100 - state.canaryWeight}%, ${answer.value.canary} ${state.canaryWeight}%${state.reason !== undefined ? ` (${state.reason})` : ""}`);
    });
  }

  // ---- identity ------------------------------------------------------------------------------

  const credentials = program.command("credentials").description("functions' bootstrap credentials (create, list, revoke)");
  withJson(
    credentials
      .command("create")
      .description("create a bootstrap credential for a service; it is shown once")
      .argument("<service>", "the service the credential identifies"),
  ).action(async (service: string, options: JsonOption, command: Command) => {
    const answer = await context.client(command).post("/credentials", CreatedCredentialSchema, { json: { service } });
    if (options.json) return context.json(answer.raw);
    const { id, credential } = answer.value;
    context.out(
      `id:         ${id}`,
      `service:    ${answer.value.service}`,
      `credential: ${credential}`,
      "",
      "Shown once: store it as the function's WEFT_CREDENTIAL secret (npx wrangler secret put WEFT_CREDENTIAL).",
    );
  });
  withJson(credentials.command("list").description("list credentials (never their secrets)")).action(async (options: JsonOption, command: Command) => {
    const answer = await context.client(command).get("/credentials", CredentialsSchema);
    if (options.json) return context.json(answer.raw);
    const rows = answer.value.credentials.map((c) => [c.id, c.service, formatTime(c.createdAt), c.createdBy ?? "-", c.revokedAt ? `revoked ${formatTime(c.revokedAt)}` : "active"]);
    context.out(rows.length === 0 ? "no credentials" : table(["id", "service", "created", "by", "state"], rows));
  });
  withJson(credentials.command("revoke").description("revoke a credential by id").argument("<id>", "the credential's id (see `weft credentials list`)")).action(
    async (id: string, options: JsonOption, command: Command) => {
      const answer = await context.client(command).delete(`/credentials/${encodeURIComponent(id)}`, CredentialSchema);
      if (options.json) return context.json(answer.raw);
      context.out(`revoked credential ${answer.value.id} (service ${answer.value.service})`);
    },
  );

  withJson(
    program
      .command("token")
      .description("mint an SVID for a service (debugging and tests; audited); prints the token")
      .argument("<service>", "the service the token identifies")
      .option("--ttl <seconds>", "lifetime in seconds (the mesh allows at most 900)", parsePositiveInt),
  ).action(async (service: string, options: { ttl?: number } & JsonOption, command: Command) => {
    const answer = await context.client(command).post("/tokens", TokenSchema, { json: { service, ...(options.ttl === undefined ? {} : { ttlSeconds: options.ttl }) } });
    if (options.json) return context.json(answer.raw);
    context.out(answer.value.token);
  });

  const keys = program.command("keys").description("the mesh's signing keys (list, rotate)");
  withJson(keys.command("list").description("signing keys and their states (never key material)")).action(async (options: JsonOption, command: Command) => {
    const answer = await context.client(command).get("/keys", KeysSchema);
    if (options.json) return context.json(answer.raw);
    context.out(keysTable(answer.value.keys));
  });
  withJson(
    keys
      .command("rotate")
      .description("rotate now: the next key signs (once every verifier can have it, if it was published under a minute ago), the old one stays published until its tokens expire"),
  ).action(async (options: JsonOption, command: Command) => {
    const answer = await context.client(command).post("/keys/rotate", KeysSchema, undefined);
    if (options.json) return context.json(answer.raw);
    const pending = answer.value.keys.find((key) => key.state === "prepared" && key.activateAt);
    const active = answer.value.keys.find((key) => key.state === "active");
    const outcome = pending
      ? `rotation scheduled: key ${pending.kid} signs from ${formatTime(pending.activateAt)} (published ${formatTime(pending.createdAt)}: a key signs only once every gateway and function can have fetched it)`
      : `rotated: ${active ? `key ${active.kid} now signs` : "no active key reported"}`;
    context.out(outcome, "", keysTable(answer.value.keys));
  });

  // ---- project ------------------------------------------------------------------------------

  registerInit(program, io);
  registerValidate(program, io);
  registerBindings(program, io);
  registerDev(program, io);
  registerDeploy(
    program,
    io,
    async (meshFile, command) => {
      const local = await loadLocal(io, meshFile);
      const applied = await aboutFile(local.file, context.client(command).post("/config", ApplyResultSchema, local.body));
      context.out(applied.value.changed ? `applied version ${applied.value.version}` : `no change: version ${applied.value.version}`);
    },
    async (service, command) => (await context.client(command).post("/credentials", CreatedCredentialSchema, { json: { service } })).value.credential,
  );

  return program;
}

// ---- helpers the commands share --------------------------------------------------------------

interface LocalFile {
  file: string;
  documents: unknown[];
  body: { text: string; contentType: string };
}

/** A file's text, or a one-line CliFailure naming it (`file`) and why it cannot be read from `path`. */
export async function readFileOrFail(io: CliIO, path: string, file: string = path): Promise<string> {
  try {
    return await io.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliFailure(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads and validates a config file with the mesh's own schemas; nothing is sent if it fails. */
async function loadLocal(io: CliIO, file: string): Promise<LocalFile> {
  const text = await readFileOrFail(io, file);
  const format = /\.json$/i.test(file) ? "json" : "yaml";
  const result = parseConfigText(text, format);
  if (!result.ok) {
    // One problem: one line. Several: a line saying how many, then one per problem.
    const [only] = result.issues;
    if (only && result.issues.length === 1) throw new CliFailure(`${formatIssue(file, only)} (nothing was sent to the mesh)`);
    throw new CliFailure(`${file}: ${plural(result.issues.length, "issue")}; nothing was sent to the mesh`, result.issues.map((issue) => formatIssue(file, issue)));
  }
  const documents = result.raw ?? [];
  if (documents.length === 0 && format === "yaml") {
    throw new CliFailure(`${file} holds no documents; nothing was sent to the mesh (applying an empty set would remove every document)`);
  }
  return { file, documents, body: { text, contentType: format === "json" ? "application/json" : "application/yaml" } };
}

/** A dry-run apply, rendered with the old and new value of each changed field. */
async function previewApply(client: AdminClient, local: LocalFile): Promise<{ answer: Answer<ApplyResult>; lines: string[] }> {
  const [current, answer] = await Promise.all([
    client.get("/config", ConfigSnapshotSchema),
    aboutFile(local.file, client.post("/config", ApplyResultSchema, local.body, { dryRun: "1" })),
  ]);
  const lines = [
    `${local.file} against version ${answer.value.version}:`,
    ...renderDiff(answer.value.diff, { before: documentLookup(current.value.documents), after: documentLookup(local.documents) }).map((line) => `  ${line}`),
    // Accepted, but the gateway says requests there would fail (e.g. a binding it does not have).
    ...(answer.value.warnings ?? []).map((warning) => `warning: ${formatIssue(local.file, withoutUndefined(warning))}`),
  ];
  return { answer, lines };
}

interface StatusSnapshot {
  services: Answer<{ services: { name: string; subsets: { name: string; endpoints: { id: string; status?: string | undefined; health?: string | undefined }[] }[] }[] }>;
  telemetry: Answer<Telemetry> | undefined;
  telemetryNote: string | undefined;
}

async function readStatus(client: AdminClient, window: string): Promise<StatusSnapshot> {
  const [services, telemetry] = await Promise.all([
    client.get("/services", ServicesSchema),
    client.get("/telemetry", TelemetrySchema, { window }).then(
      (answer) => ({ answer, note: undefined }),
      (error: unknown) => {
        // A gateway without telemetry still has a registry worth showing.
        if (error instanceof MeshApiError && error.code === "not_found") return { answer: undefined, note: error.message };
        throw error;
      },
    ),
  ]);
  return { services, telemetry: telemetry.answer, telemetryNote: telemetry.note };
}

function statusLines(snapshot: StatusSnapshot): string[] {
  const rows = statusRows(snapshot.services.value.services, snapshot.telemetry?.value.services);
  const lines = [rows.length === 0 ? "no services in the current config" : statusTable(rows)];
  if (snapshot.telemetryNote !== undefined) lines.push("", `(no metrics: ${snapshot.telemetryNote})`);
  return lines;
}

function keysTable(keys: readonly Keys["keys"][number][]): string {
  if (keys.length === 0) return "no signing keys yet";
  return table(
    ["kid", "state", "created", "activated", "retired", "remove after"],
    keys.map((key) => [
      key.kid,
      key.state,
      formatTime(key.createdAt),
      // A prepared key an operator's rotation is waiting for: when it will sign.
      key.activatedAt ? formatTime(key.activatedAt) : key.activateAt ? `from ${formatTime(key.activateAt)}` : "-",
      formatTime(key.retiredAt),
      formatTime(key.removeAfter),
    ]),
  );
}
