/**
 * The mesh's own errors: one type with a stable `code`, one table that maps codes to HTTP status.
 * The gateway answers with `{"error":{"code","message"}}` and marks the response with the
 * `x-weft-error` header so callers (and the SDK) can tell a mesh answer from a destination's answer.
 */

/** Every code the mesh itself answers with, mapped to its HTTP status. The only such table. */
export const MESH_ERROR_STATUS = {
  bad_request: 400,
  invalid_config: 400,
  body_too_large: 400,
  unauthenticated: 401,
  forbidden: 403,
  no_route: 404,
  not_found: 404,
  method_not_allowed: 405,
  rate_limited: 429,
  headers_too_large: 431,
  upstream_failure: 502,
  no_healthy_upstream: 503,
  circuit_open: 503,
  /** Fault injection answered instead of the destination; the status is the one the rule configured. */
  fault_injected: 503,
  control_plane_unavailable: 503,
  admin_disabled: 503,
  timeout: 504,
  internal: 500,
} as const;

export type MeshErrorCode = keyof typeof MESH_ERROR_STATUS;

/** One problem found in a configuration document set. */
export interface ConfigIssue {
  /** 1-based position of the document in the submitted set. */
  document: number;
  /** `kind` of that document, when it could be read. */
  kind?: string;
  /** `metadata.name` of that document, when it could be read. */
  name?: string;
  /** Field path inside the document, e.g. `spec.http[0].destinations[1].weight`; empty for the whole document. */
  path: string;
  /** Why the document was refused. */
  message: string;
  /** 1-based line in the submitted YAML, when the input was YAML and the field could be located. */
  line?: number;
}

/** Wire shape of every mesh error body. */
export interface MeshErrorBody {
  error: { code: MeshErrorCode; message: string; issues?: ConfigIssue[] };
}

/** Header the gateway sets on every answer it produced itself (value: the error code). */
export const MESH_ERROR_HEADER = "x-weft-error";

export function isMeshErrorCode(value: unknown): value is MeshErrorCode {
  return typeof value === "string" && Object.hasOwn(MESH_ERROR_STATUS, value);
}

/**
 * An error produced by the mesh itself (not by the destination function).
 *
 * @example
 * try { await mesh.fetch("orders", "/orders/42"); }
 * catch (e) { if (e instanceof MeshError && e.code === "no_route") { ... } }
 */
export class MeshError extends Error {
  readonly code: MeshErrorCode;
  readonly status: number;
  readonly issues?: ConfigIssue[];
  /** Seconds to wait before trying again, when the mesh said so (`Retry-After`). */
  readonly retryAfterSeconds?: number;

  constructor(code: MeshErrorCode, message: string, options: { issues?: ConfigIssue[]; retryAfterSeconds?: number; status?: number } = {}) {
    super(message);
    this.name = "MeshError";
    this.code = code;
    // Only an injected fault answers with a status of the operator's choosing.
    this.status = code === "fault_injected" && options.status !== undefined ? options.status : MESH_ERROR_STATUS[code];
    if (options.issues) this.issues = options.issues;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): MeshErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) } };
  }

  toResponse(extraHeaders: Record<string, string> = {}): Response {
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      [MESH_ERROR_HEADER]: this.code,
      ...extraHeaders,
    };
    if (this.retryAfterSeconds !== undefined) headers["retry-after"] = String(this.retryAfterSeconds);
    if (this.code === "unauthenticated" && !Object.keys(headers).some((h) => h.toLowerCase() === "www-authenticate")) {
      headers["www-authenticate"] = 'Bearer realm="weft"';
    }
    return new Response(JSON.stringify(this.toBody()), { status: this.status, headers });
  }
}

/** Reads a mesh error out of a response the gateway produced; `undefined` when the destination answered. */
export async function meshErrorFromResponse(response: Response): Promise<MeshError | undefined> {
  const marked = response.headers.get(MESH_ERROR_HEADER);
  if (!isMeshErrorCode(marked)) return undefined;
  let message = `mesh answered ${response.status} ${marked}`;
  let issues: ConfigIssue[] | undefined;
  try {
    const body = (await response.clone().json()) as Partial<MeshErrorBody>;
    if (typeof body.error?.message === "string") message = body.error.message;
    if (Array.isArray(body.error?.issues)) issues = body.error.issues;
  } catch {
    // A marked response with an unreadable body still carries its code.
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return new MeshError(marked, message, {
    status: response.status,
    ...(issues ? { issues } : {}),
    ...(Number.isFinite(retryAfter) && response.headers.has("retry-after") ? { retryAfterSeconds: retryAfter } : {}),
  });
}
