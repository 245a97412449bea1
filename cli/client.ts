/**
 * The admin API client the CLI uses: fetch with the admin bearer token, answers parsed at the
 * boundary with zod, and the mesh's `{"error":{code,message,issues}}` turned into `MeshApiError`.
 * The token is only ever put in the Authorization header, never in a message.
 */
import { z } from "zod";
import type { ConfigIssue } from "@weft/sdk/errors";

export const ADMIN_BASE = "/.weft/api/v1";
/** An admin call that has not answered in this long is reported as failed. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The part of `fetch` the client needs, so tests can hand in their own. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The mesh answered with an error body (or an unexpected status). */
export class MeshApiError extends Error {
  override readonly name = "MeshApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
    /** What the refused request was about (a file, a version), for issue lines. */
    readonly source?: string,
  ) {
    super(message);
  }

  /** The same error, about `source`. */
  about(source: string): MeshApiError {
    return new MeshApiError(this.status, this.code, this.message, this.issues, source);
  }
}

/** The mesh could not be reached, or answered with something that is not the admin API. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
}

const IssueSchema = z.object({
  document: z.number(),
  kind: z.string().optional(),
  name: z.string().optional(),
  path: z.string(),
  message: z.string(),
  line: z.number().optional(),
});

const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(IssueSchema).optional() }),
});

const RefSchema = z.object({ kind: z.string(), name: z.string() });

export const ConfigSnapshotSchema = z.object({ version: z.number(), createdAt: z.string().optional(), documents: z.array(z.unknown()) });
export type ConfigSnapshot = z.infer<typeof ConfigSnapshotSchema>;

export const ApplyResultSchema = z.object({
  dryRun: z.boolean(),
  changed: z.boolean(),
  version: z.number(),
  previousVersion: z.number(),
  summary: z.string(),
  diff: z.object({
    added: z.array(RefSchema),
    removed: z.array(RefSchema),
    changed: z.array(RefSchema.extend({ fields: z.array(z.string()) })),
    unchanged: z.number(),
  }),
  /** Accepted, but worth attention: e.g. endpoints whose service binding the gateway lacks. */
  warnings: z.array(IssueSchema).optional(),
});
export type ApplyResult = z.infer<typeof ApplyResultSchema>;

export const HistorySchema = z.object({
  versions: z.array(
    z.object({
      version: z.number(),
      createdAt: z.string(),
      actor: z.string(),
      source: z.string(),
      rollbackOf: z.number().nullable().optional(),
      summary: z.string(),
    }),
  ),
});
export type History = z.infer<typeof HistorySchema>;

export const ServicesSchema = z.object({
  version: z.number(),
  services: z.array(
    z.object({
      name: z.string(),
      subsets: z.array(
        z.object({
          name: z.string(),
          endpoints: z.array(z.object({ id: z.string(), status: z.string().optional(), health: z.string().optional() })),
        }),
      ),
    }),
  ),
});
export type Services = z.infer<typeof ServicesSchema>;

const GoldenSchema = z.object({
  requests: z.number(),
  requestsPerSecond: z.number(),
  successRate: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

export const TelemetrySchema = z.object({
  windowMs: z.number(),
  services: z.array(
    z.object({
      service: z.string(),
      golden: GoldenSchema,
      // Gateways before per-route figures send none.
      byRoute: z.array(z.object({ route: z.string(), rule: z.string(), golden: GoldenSchema })).default([]),
    }),
  ),
});
export type Telemetry = z.infer<typeof TelemetrySchema>;

export const KeysSchema = z.object({
  keys: z.array(
    z.object({
      kid: z.string(),
      state: z.string(),
      createdAt: z.string(),
      activatedAt: z.string().nullable().optional(),
      retiredAt: z.string().nullable().optional(),
      removeAfter: z.string().nullable().optional(),
      activateAt: z.string().nullable().optional(),
    }),
  ),
});
export type Keys = z.infer<typeof KeysSchema>;

export const CredentialSchema = z.object({
  id: z.string(),
  service: z.string(),
  createdAt: z.string().optional(),
  createdBy: z.string().optional(),
  revokedAt: z.string().nullable().optional(),
});
export const CredentialsSchema = z.object({ credentials: z.array(CredentialSchema) });
export const CreatedCredentialSchema = z.object({ id: z.string(), service: z.string(), credential: z.string() });
export const TokenSchema = z.object({ token: z.string(), expiresAt: z.string() });
export const ExplainSchema = z.looseObject({ summary: z.array(z.string()) });

const RolloutCheckSchema = z.object({
  at: z.string(),
  outcome: z.enum(["passed", "failed", "inconclusive"]),
  canaryRequests: z.number(),
  successRate: z.number().nullable(),
  stableSuccessRate: z.number().nullable(),
  p99Ms: z.number().nullable(),
  findings: z.array(z.string()),
});
/** One rollout as `GET /rollouts` gives it (rates in percent, times ISO). */
export const RolloutSchema = z.object({
  name: z.string(),
  target: z.string(),
  stable: z.string(),
  canary: z.string(),
  strategy: z.string(),
  state: z.object({
    phase: z.string(),
    step: z.number(),
    canaryWeight: z.number(),
    mirrorPercent: z.number().optional(),
    failedChecks: z.number(),
    reason: z.string().optional(),
    lastCheckAt: z.string(),
    pauseUntil: z.string().optional(),
  }),
  steps: z.array(z.string()),
  nextCheckAt: z.string().nullable(),
  analysis: z.object({
    interval: z.string(),
    threshold: z.number(),
    minRequests: z.number(),
    successRateMin: z.number(),
    successRateMinRelativeToStable: z.number().optional(),
    latencyP99Max: z.string(),
  }),
  checks: z.array(RolloutCheckSchema),
});
export type Rollout = z.infer<typeof RolloutSchema>;
export const RolloutsSchema = z.object({ rollouts: z.array(RolloutSchema) });

export interface ClientOptions {
  /** The gateway, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  token: string;
  fetch: FetchLike;
  /** Labels changes in history and audit (`weft-actor`). */
  actor?: string | undefined;
}

/** An answer that parsed: the typed value and the JSON as sent, for `--json`. */
export interface Answer<T> {
  value: T;
  raw: unknown;
}

interface CallOptions {
  query?: Record<string, string>;
  /** A JSON value, or YAML/JSON text with its content type. */
  body?: { json: unknown } | { text: string; contentType: string };
}

export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ConnectionError(`--url must be an http(s) URL, got "${options.baseUrl}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConnectionError(`--url must be an http(s) URL, got "${options.baseUrl}"`);
    if (url.username !== "" || url.password !== "") throw new ConnectionError("--url must not hold credentials; pass the admin token with --token or WEFT_ADMIN_TOKEN");
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  }

  /** Where the client sends requests (for messages). */
  get baseUrl(): string {
    return this.base;
  }

  async get<S extends z.ZodType>(path: string, schema: S, query?: Record<string, string>): Promise<Answer<z.infer<S>>> {
    return this.call("GET", path, schema, query === undefined ? {} : { query });
  }

  async post<S extends z.ZodType>(path: string, schema: S, body: CallOptions["body"], query?: Record<string, string>): Promise<Answer<z.infer<S>>> {
    return this.call("POST", path, schema, { ...(body === undefined ? {} : { body }), ...(query === undefined ? {} : { query }) });
  }

  async delete<S extends z.ZodType>(path: string, schema: S): Promise<Answer<z.infer<S>>> {
    return this.call("DELETE", path, schema, {});
  }

  private async call<S extends z.ZodType>(method: string, path: string, schema: S, options: CallOptions): Promise<Answer<z.infer<S>>> {
    const search = options.query && Object.keys(options.query).length > 0 ? `?${new URLSearchParams(options.query).toString()}` : "";
    const url = `${this.base}${ADMIN_BASE}${path}${search}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, accept: "application/json" };
    if (this.options.actor) headers["weft-actor"] = this.options.actor;
    let body: string | undefined;
    if (options.body !== undefined) {
      if ("json" in options.body) {
        body = JSON.stringify(options.body.json);
        headers["content-type"] = "application/json";
      } else {
        body = options.body.text;
        headers["content-type"] = options.body.contentType;
      }
    }
    let response: Response;
    try {
      response = await this.options.fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw new ConnectionError(`cannot reach the mesh at ${this.base}: ${describeFetchError(error)}`);
    }
    const text = await response.text().catch(() => "");
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const parsed = ErrorBodySchema.safeParse(json);
      if (parsed.success) {
        const { code, message, issues } = parsed.data.error;
        throw new MeshApiError(response.status, code, message, (issues ?? []).map(withoutUndefined));
      }
      throw new MeshApiError(response.status, "http_error", `${method} ${ADMIN_BASE}${path} answered HTTP ${response.status}${snippet(text)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first && first.path.length > 0 ? ` at ${first.path.join(".")}` : "";
      throw new ConnectionError(`unexpected answer from ${method} ${ADMIN_BASE}${path}${where}: ${first?.message ?? "not the expected shape"}${snippet(text)}`);
    }
    return { value: parsed.data, raw: json };
  }
}

/** zod's optional fields come back as `key: undefined`; ConfigIssue wants them absent. */
export function withoutUndefined(issue: z.infer<typeof IssueSchema>): ConfigIssue {
  const out: ConfigIssue = { document: issue.document, path: issue.path, message: issue.message };
  if (issue.kind !== undefined) out.kind = issue.kind;
  if (issue.name !== undefined) out.name = issue.name;
  if (issue.line !== undefined) out.line = issue.line;
  return out;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "";
  return `: ${flat.length > 120 ? `${flat.slice(0, 119)}…` : flat}`;
}

/** undici says "fetch failed" and hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...). */
function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError") return `no answer in ${REQUEST_TIMEOUT_MS / 1000} s`;
    const cause: unknown = error.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (cause.message === "") return code ?? cause.name;
      return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
    }
    return error.message;
  }
  return String(error);
}
