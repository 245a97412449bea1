/**
 * The admin API under /.weft/api/v1: JSON in and out, every route behind the admin token
 * (checked before routing, so an unknown path answers 401 to a caller without the token too).
 * Config bodies go to the control Worker as text with their format: it parses, validates and stores
 * them, so this Worker carries no YAML parser and no validator (docs/architecture.md#why-two-workers).
 */
import { ROLLOUT_COMMANDS, type RolloutCommandName, type RolloutView } from "../../../wire/src/rollouts.js";
import { Hono } from "hono";
import { isRecord, MeshError, type ConfigIssue } from "@weft/sdk";
import { missingBindingWarnings } from "./binding-warnings.js";
import type { ApplyOutcome, ConfigInput, EndpointBinding, RegistryView } from "../../../control-durable/src/types.js";
import type { SnapshotPayload, SnapshotText } from "../../../wire/src/snapshot.js";
import type { KeyView, PublicJwk } from "../../../control-durable/src/keys.js";
import type { CredentialView } from "../../../control-durable/src/credentials.js";
import type { IssuedToken } from "../../../control-durable/src/tokens.js";
import type { GatewayEnv } from "../env.js";
import { requireAdmin } from "./auth.js";
import { bodyFormat, readBodyText } from "./body.js";
import { bindingNamed } from "../bindings.js";
import type { EndpointHealthView } from "../resilience/state.js";
import type { TelemetryView } from "../../../control-durable/src/telemetry-store.js";
import { parseDuration } from "@weft/sdk/config";
import type { Snapshot } from "../routing/snapshot.js";
import { explain, parseExplainBody } from "../explain/explain.js";

export const ADMIN_BASE = "/.weft/api/v1";
/** Largest explain body: a request line and its headers. */
const MAX_EXPLAIN_BODY_BYTES = 64 * 1024;

export interface AdminDependencies {
  control(env: GatewayEnv): ControlPlaneApi;
  /** Called after a new version is stored, so this isolate serves it at once. */
  onApplied(snapshot: SnapshotText, env: GatewayEnv): Promise<void>;
  /** What this gateway isolate has seen of each service and endpoint (ejections, in-flight, budgets). */
  liveHealth?(env: GatewayEnv): LiveHealth | undefined;
  /** The telemetry objects (one per destination service) and the services the current config names. */
  telemetry?(env: GatewayEnv): TelemetryAccess;
  /** The snapshot this isolate serves requests with (the explain API traces against it). */
  servedSnapshot?(env: GatewayEnv, waitUntil: (promise: Promise<unknown>) => void): Promise<Snapshot>;
}

/** What the admin API reads from the telemetry objects. */
export interface TelemetryAccess {
  services(): Promise<string[]>;
  query(service: string, windowMs: number): Promise<TelemetryView>;
}

/** Longest window the telemetry API answers for: the hour rollups' retention. */
export const MAX_TELEMETRY_WINDOW_MS = 7 * 24 * 60 * 60_000;
export const DEFAULT_TELEMETRY_WINDOW_MS = 5 * 60_000;

/** Isolate-local health as the services view reports it. */
export interface LiveHealth {
  service(name: string): { inFlight: number; retryBudget: { requests: number; retries: number; allowance: number } } | undefined;
  endpoint(service: string, endpointId: string): EndpointHealthView | undefined;
}

/** The control-plane calls the admin API makes (the Durable Object's RPC surface). */
export interface ControlPlaneApi {
  /** The current set, or a given version of it, as applied (raw documents). */
  getConfig(version?: number): Promise<SnapshotPayload | null>;
  /** The current version's normalized form as JSON text (what this gateway installs after an apply). */
  snapshotText(): Promise<SnapshotText>;
  /** Parses and validates (the apply's one validation); an accepted set's endpoint bindings come back with their lines. */
  applyConfig(input: ConfigInput, options: { actor: string; dryRun?: boolean }): Promise<ApplyOutcome | (Extract<ApplyOutcome, { ok: true }> & { bindings?: EndpointBinding[] })>;
  rollback(version: number, actor: string): Promise<ApplyOutcome>;
  history(limit?: number): Promise<unknown>;
  auditLog(limit?: number): Promise<unknown>;
  services(): Promise<RegistryView>;
  jwks(): Promise<{ keys: PublicJwk[] }>;
  listKeys(): Promise<KeyView[]>;
  rotateKeys(actor: string): Promise<KeyView[]>;
  createCredential(service: string, actor: string): Promise<{ ok: true; id: string; service: string; credential: string } | { ok: false; message: string }>;
  revokeCredential(id: string, actor: string): Promise<CredentialView | null>;
  listCredentials(): Promise<CredentialView[]>;
  exchangeCredential(credential: string): Promise<({ ok: true } & IssuedToken) | { ok: false; reason: string }>;
  mintHopToken(caller: string, destination: string): Promise<IssuedToken | null>;
  mintToken(service: string, ttlSeconds: number | undefined, actor: string): Promise<({ ok: true } & IssuedToken) | { ok: false; message: string }>;
  /** Every rollout of the current config (plan, state, recent checks), passed on as JSON. */
  rolloutStatus(): Promise<RolloutView[]>;
  /** Carries out an operator's command on a rollout, or says why not. */
  rolloutCommand(name: string, command: RolloutCommandName, actor: string): Promise<{ ok: true } | { ok: false; reason: string }>;
}


const ACTOR_LABEL = /^[A-Za-z0-9@._+-]{1,64}$/;

/** The authenticated principal is the admin token holder; callers may add a label (`weft-actor`). */
function actorOf(request: Request): string {
  const label = request.headers.get("weft-actor");
  return label !== null && ACTOR_LABEL.test(label) ? `admin:${label}` : "admin";
}

function positiveInt(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new MeshError("bad_request", `${what} must be a non-negative whole number`);
  return Number(text);
}

/** An apply's answer; `warnings` (accepted, but worth the operator's attention) ride along with a success. */
function outcomeResponse(outcome: ApplyOutcome, warnings: readonly ConfigIssue[] = []): Response {
  if (outcome.ok) {
    const { ok: _ok, ...body } = outcome;
    return Response.json(warnings.length > 0 ? { ...body, warnings } : body);
  }
  if (outcome.reason === "invalid_config") {
    return new MeshError("invalid_config", `the document set was refused: ${outcome.issues.length} issue${outcome.issues.length === 1 ? "" : "s"}`, { issues: outcome.issues }).toResponse();
  }
  return new MeshError("not_found", outcome.message).toResponse();
}

export function createAdminApi(deps: AdminDependencies) {
  const app = new Hono<{ Bindings: GatewayEnv }>().basePath(ADMIN_BASE);

  app.use("*", async function authenticateAdmin(c, next) {
    await requireAdmin(c.req.raw, c.env);
    await next();
  });

  app.get("/config", async (c) => {
    const version = positiveInt(c.req.query("version"), "version");
    const config = await deps.control(c.env).getConfig(version);
    if (!config) throw new MeshError("not_found", `no config version ${version}`);
    return c.json(config);
  });

  app.post("/config", async (c) => {
    const text = await readBodyText(c.req.raw);
    const format = bodyFormat(c.req.header("content-type") ?? null, text);
    const dryRun = ["1", "true"].includes(c.req.query("dryRun") ?? "");
    // The control Worker parses the body and validates it, the apply's only validation (it cannot
    // trust callers to have checked); its issues come back with the YAML lines they point at.
    const answer = await deps.control(c.env).applyConfig({ format, text }, { actor: actorOf(c.req.raw), dryRun });
    if (!answer.ok) return outcomeResponse(answer);
    const { bindings, ...outcome } = "bindings" in answer ? answer : { ...answer, bindings: undefined };
    // This gateway knows its own env: endpoints it has no binding for would answer 503.
    const warnings = bindings ? missingBindingWarnings(bindings, (name) => bindingNamed(c.env, name) !== undefined) : [];
    if (outcome.changed && !outcome.dryRun) await installCurrent(deps, c.env);
    return outcomeResponse(outcome, warnings);
  });

  app.get("/config/history", async (c) => {
    const limit = positiveInt(c.req.query("limit"), "limit");
    return c.json({ versions: await deps.control(c.env).history(limit) });
  });

  app.post("/config/rollback", async (c) => {
    const text = await readBodyText(c.req.raw, 4096);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new MeshError("bad_request", 'the body must be JSON: {"version": <number>}');
    }
    const version = (body as { version?: unknown } | null)?.version;
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
      throw new MeshError("bad_request", '"version" must be a positive whole number');
    }
    const outcome = await deps.control(c.env).rollback(version, actorOf(c.req.raw));
    if (outcome.ok) await installCurrent(deps, c.env);
    return outcomeResponse(outcome);
  });

  app.get("/rollouts", async (c) => c.json({ rollouts: await deps.control(c.env).rolloutStatus() }));

  app.get("/rollouts/:name", async (c) => {
    const name = c.req.param("name");
    const rollout = (await deps.control(c.env).rolloutStatus()).find((candidate) => candidate.name === name);
    if (!rollout) throw new MeshError("not_found", `no rollout named "${name}" in the current config`);
    return c.json(rollout);
  });

  app.post("/rollouts/:name/:command", async (c) => {
    const { name, command } = c.req.param();
    if (!(ROLLOUT_COMMANDS as readonly string[]).includes(command)) throw new MeshError("bad_request", `unknown rollout command "${command}"; one of ${ROLLOUT_COMMANDS.join(", ")}`);
    const control = deps.control(c.env);
    const result = await control.rolloutCommand(name, command as RolloutCommandName, actorOf(c.req.raw));
    if (!result.ok) throw new MeshError(result.reason.startsWith("no rollout named") ? "not_found" : "bad_request", result.reason);
    // A promote or abort stored a version: this gateway serves it at once, as after an apply.
    await installCurrent(deps, c.env);
    return c.json((await control.rolloutStatus()).find((candidate) => candidate.name === name) ?? { name });
  });

  app.get("/audit", async (c) => {
    const limit = positiveInt(c.req.query("limit"), "limit");
    return c.json({ entries: await deps.control(c.env).auditLog(limit) });
  });

  app.get("/services", async (c) => {
    const registry = await deps.control(c.env).services();
    const live = deps.liveHealth?.(c.env);
    return c.json({
      version: registry.version,
      // Health is what this gateway isolate has seen; other isolates keep their own view.
      healthScope: "isolate",
      services: registry.services.map((service) => ({
        ...service,
        ...(live?.service(service.name) ?? {}),
        subsets: service.subsets.map((subset) => ({
          ...subset,
          endpoints: subset.endpoints.map((endpoint) => {
            const health = live?.endpoint(service.name, endpoint.id);
            const reachable = endpoint.binding === undefined || bindingNamed(c.env, endpoint.binding) !== undefined;
            return {
              ...endpoint,
              status: !reachable ? "missing-binding" : health ? health.health : "configured",
              ...(health ?? {}),
            };
          }),
        })),
      })),
    });
  });

  // Golden metrics per service and per caller→destination edge, fleet-wide (from the telemetry
  // objects, not this isolate). Without ?service=, the whole service graph.
  app.get("/telemetry", async (c) => {
    const access = deps.telemetry?.(c.env);
    if (!access) throw new MeshError("not_found", "telemetry is not served by this gateway");
    const windowText = c.req.query("window");
    const windowMs = windowText === undefined ? DEFAULT_TELEMETRY_WINDOW_MS : parseDuration(windowText);
    if (windowMs === undefined || windowMs < 1000 || windowMs > MAX_TELEMETRY_WINDOW_MS) {
      throw new MeshError("bad_request", '"window" must be a duration between 1s and 168h (7 days), such as 5m or 1h');
    }
    const service = c.req.query("service");
    const services = await access.services();
    if (service !== undefined) {
      if (!services.includes(service)) throw new MeshError("not_found", `no service named "${service}" in the current config`);
      return c.json(await access.query(service, windowMs));
    }
    const views = await Promise.all(services.map((name) => access.query(name, windowMs)));
    return c.json({
      windowMs,
      services: views.map((view) => ({ service: view.service, golden: view.golden, bySubset: view.bySubset, byRoute: view.byRoute })),
      // The service graph: every caller→destination edge that carried traffic in the window.
      edges: views.flatMap((view) => view.edges).filter((edge) => edge.golden.requests > 0),
    });
  });

  app.get("/keys", async (c) => c.json({ keys: await deps.control(c.env).listKeys() }));

  app.post("/keys/rotate", async (c) => c.json({ keys: await deps.control(c.env).rotateKeys(actorOf(c.req.raw)) }));

  app.get("/credentials", async (c) => c.json({ credentials: await deps.control(c.env).listCredentials() }));

  app.post("/credentials", async (c) => {
    const body = await readJsonObject(c.req.raw);
    if (typeof body.service !== "string" || body.service === "") throw new MeshError("bad_request", '"service" must name a service');
    const created = await deps.control(c.env).createCredential(body.service, actorOf(c.req.raw));
    if (!created.ok) throw new MeshError("bad_request", created.message);
    const { ok: _ok, ...shown } = created;
    // Shown once: never stored in plain text, never cached by anything between.
    return c.json(shown, 201, { "cache-control": "no-store" });
  });

  app.delete("/credentials/:id", async (c) => {
    const revoked = await deps.control(c.env).revokeCredential(c.req.param("id"), actorOf(c.req.raw));
    if (!revoked) throw new MeshError("not_found", `no credential ${c.req.param("id")}`);
    return c.json(revoked);
  });

  app.post("/tokens", async (c) => {
    const body = await readJsonObject(c.req.raw);
    if (typeof body.service !== "string" || body.service === "") throw new MeshError("bad_request", '"service" must name a service');
    if (body.ttlSeconds !== undefined && typeof body.ttlSeconds !== "number") throw new MeshError("bad_request", '"ttlSeconds" must be a number');
    const minted = await deps.control(c.env).mintToken(body.service, body.ttlSeconds, actorOf(c.req.raw));
    if (!minted.ok) throw new MeshError("bad_request", minted.message);
    const { ok: _ok, ...token } = minted;
    return c.json(token, 200, { "cache-control": "no-store" });
  });

  // What this gateway would do with a request, step by step, against the snapshot it serves (the
  // decisions come from the gateway's own pure modules; nothing is sent to any function).
  app.post("/explain", async (c) => {
    const input = parseExplainBody(await readBodyText(c.req.raw, MAX_EXPLAIN_BODY_BYTES));
    if (!input.ok) throw new MeshError("bad_request", input.message);
    if (!deps.servedSnapshot) throw new MeshError("not_found", "explain is not served by this gateway");
    const snapshot = await deps.servedSnapshot(c.env, (promise) => c.executionCtx.waitUntil(promise));
    const live = deps.liveHealth?.(c.env);
    // Which rollout set a rule's weights: the control plane knows; without it, explain still answers.
    const rollouts = await deps
      .control(c.env)
      .rolloutStatus()
      .catch(() => []);
    const explained = explain(snapshot, input.value, {
      endpoint: (service, endpointId) => live?.endpoint(service, endpointId),
      hasBinding: (binding) => bindingNamed(c.env, binding) !== undefined,
      rollouts,
    });
    if (!explained.ok) throw new MeshError("bad_request", explained.message);
    return c.json(explained.value, 200, { "cache-control": "no-store" });
  });

  app.notFound((c) => new MeshError("not_found", `no admin route ${c.req.method} ${new URL(c.req.url).pathname}`).toResponse());
  app.onError((error) => {
    if (error instanceof MeshError) return error.toResponse();
    console.error(JSON.stringify({ level: "error", msg: "admin API failed", error: String(error) }));
    return new MeshError("control_plane_unavailable", "the control plane could not complete the request").toResponse();
  });
  return app;
}

async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const text = await readBodyText(request, 4096);
  try {
    const body = JSON.parse(text) as unknown;
    if (isRecord(body)) return body;
  } catch {
    // Answered below.
  }
  throw new MeshError("bad_request", "the body must be a JSON object");
}

async function installCurrent(deps: AdminDependencies, env: GatewayEnv): Promise<void> {
  // Normalized: the isolate compiles what the control plane validated, without validating again.
  // As text: strings to receive and parse a slice at a time, not 10,000 rules' objects to deserialize at once.
  await deps.onApplied(await deps.control(env).snapshotText(), env);
}
