/**
 * The explain API's input: its JSON body, validated, and the request facts the gateway would
 * hold once sanitize and normalize have run (with the same functions those stages call), or the
 * refusal a stage before routing would answer with.
 */
import { HTTP_TOKEN, isRecord, MeshError, type MeshErrorCode } from "@weft/sdk";
import { ANONYMOUS, type Caller } from "../policy/authorize.js";
import { normalizeHost, type RequestFacts } from "../routing/lookup.js";
import { normalizePath, refusedPath } from "../routing/normalize-path.js";
import { sanitizeRequestHeaders } from "../stages/sanitize.js";
import { identityRefusalFor } from "./identity.js";

/** The explain API's body, validated. */
export interface ExplainInput {
  /** A service name, a SPIFFE ID, or undefined / "anonymous". */
  readonly from: string | undefined;
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const BODY_FIELDS: ReadonlySet<string> = new Set(["from", "method", "url", "headers"]);
const BODY_SHAPE = '{"from"?: "<service>", "method": "GET", "url": "http://<service>.mesh/<path>", "headers"?: {"name": "value"}}';

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** Parses and validates the explain API's JSON body; the message says what to fix. */
export function parseExplainBody(text: string): Parsed<ExplainInput> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(`the body must be JSON: ${BODY_SHAPE}`);
  }
  if (!isRecord(body)) return fail(`the body must be a JSON object: ${BODY_SHAPE}`);
  const unknown = Object.keys(body).filter((key) => !BODY_FIELDS.has(key));
  if (unknown.length > 0) return fail(`unknown field${unknown.length === 1 ? "" : "s"} ${unknown.map((k) => `"${k}"`).join(", ")}; expected from, method, url, headers`);

  const { from, method, url, headers } = body;
  if (from !== undefined && (typeof from !== "string" || from === "")) return fail('"from" must be a service name, a SPIFFE ID or "anonymous"');
  if (typeof method !== "string" || method.length > 32 || !HTTP_TOKEN.test(method)) return fail('"method" must be an HTTP method, such as "GET"');
  if (typeof url !== "string" || url === "") return fail('"url" must be an absolute http(s) URL, such as "http://orders.mesh/orders/1"');
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    return fail(`"url" must be an absolute http(s) URL, such as "http://orders.mesh/orders/1"; got "${url.slice(0, 200)}"`);
  }
  if (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:") return fail(`"url" must use http or https, not ${parsedUrl.protocol.slice(0, -1)}`);
  if (parsedUrl.hostname === "") return fail('"url" must name a host');

  const parsedHeaders = new Headers();
  if (headers !== undefined) {
    if (!isRecord(headers)) return fail('"headers" must be an object of header names to string values');
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== "string") return fail(`"headers.${name}" must be a string`);
      if (!HTTP_TOKEN.test(name)) return fail(`"headers": "${name.slice(0, 100)}" is not a valid header name`);
      try {
        parsedHeaders.append(name, value);
      } catch {
        return fail(`"headers.${name}" is not a valid header value`);
      }
    }
  }
  return { ok: true, value: { from, method, url: parsedUrl, headers: parsedHeaders } };
}

/** What the gateway knows about a request once sanitize and normalize have run. */
export interface ExplainedRequest extends RequestFacts {
  /** The query string as sent (`?a=1`, or empty). */
  readonly search: string;
}

/** A refusal before routing: the request never reaches a route. */
export interface Refusal {
  readonly stage: "sanitize" | "normalize" | "authenticate";
  readonly code: MeshErrorCode;
  readonly status: number;
  readonly message: string;
}

export interface PreparedRequest {
  readonly request: ExplainedRequest;
  readonly refusal: Refusal | undefined;
  /** Header names the sanitize stage drops before anything matches on headers. */
  readonly droppedHeaders: readonly string[];
}

function refusalOf(stage: Refusal["stage"], error: MeshError): Refusal {
  return { stage, code: error.code, status: error.status, message: error.message };
}

/**
 * Builds the request facts as the gateway does: host by normalizeHost, headers through the
 * sanitize stage's cleaning (client `x-weft-*`, Authorization and hop-by-hop headers dropped), the
 * path through normalizePath, then the authenticate stage's decision for `caller` (a token in the
 * URL is refused). The first stage to refuse is the answer, as in the pipeline.
 */
export function prepareRequest(input: ExplainInput, caller: Caller = ANONYMOUS): PreparedRequest {
  const headers = new Headers(input.headers);
  const before = new Set<string>();
  headers.forEach((_value, name) => before.add(name.toLowerCase()));
  let refusal: Refusal | undefined;
  try {
    sanitizeRequestHeaders(headers);
  } catch (error) {
    if (!(error instanceof MeshError)) throw error;
    refusal = refusalOf("sanitize", error);
  }
  const droppedHeaders = [...before].filter((name) => !headers.has(name));
  const normalized = normalizePath(input.url.pathname);
  if (!refusal && !normalized.ok) refusal = refusalOf("normalize", refusedPath(normalized.reason));
  refusal ??= identityRefusalFor(input.url.searchParams, caller);
  return {
    request: {
      host: normalizeHost(input.url.host),
      path: normalized.ok ? normalized.path : input.url.pathname,
      method: input.method.toUpperCase(),
      headers,
      query: input.url.searchParams,
      search: input.url.search,
    },
    refusal,
    droppedHeaders,
  };
}
