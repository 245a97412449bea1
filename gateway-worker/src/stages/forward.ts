/**
 * One upstream attempt: sends the request to one endpoint (a service binding or a URL) and hands
 * back what happened, as data the retry logic can decide on. Timers and retries live in the
 * retry stage; this module only sends. A destination may not pose as the mesh: its `x-weft-*`
 * response headers are dropped, and so are its Set-Cookie lines for the mesh's own cookies (which
 * would otherwise reach any browser that visits the destination through the gateway).
 */
import { CONFIG_DEFAULTS } from "@weft/sdk/config";
import { bindingNamed, type Fetcherish } from "../bindings.js";
import { attemptBody } from "../request-body.js";
import type { CompiledEndpoint } from "../routing/snapshot.js";
import type { AttemptOutcome } from "../resilience/retry-policy.js";
import type { MeshRequest, PreparedBody } from "../stage.js";
import { MESH_HEADER_PREFIX, stripMeshHeaders } from "./sanitize.js";

/** Which attempt this is, on retries and hedges (2 and up; the first attempt carries none). */
export const ATTEMPT_HEADER = "x-weft-attempt";

/** Whole-request timeout: the rule's, else the service's, else the mesh default. */
export function effectiveTimeoutMs(request: Pick<MeshRequest, "route" | "service">): number {
  return request.route?.rule.timeoutMs ?? request.service?.timeoutMs ?? CONFIG_DEFAULTS.timeoutMs;
}

export type SendResult =
  | { readonly outcome: Extract<AttemptOutcome, { kind: "response" }>; readonly response: Response }
  | { readonly outcome: Exclude<AttemptOutcome, { kind: "response" }>; readonly error: string };

/**
 * Sends one attempt. Never rejects: failures come back as connect-failure or reset outcomes. Not an
 * async function: the answer is one step after the runtime's, with no frame of its own between.
 */
export function sendAttempt(request: MeshRequest, endpoint: CompiledEndpoint, body: PreparedBody, signal: AbortSignal): Promise<SendResult> {
  let target: Fetcherish;
  if (endpoint.target.kind === "binding") {
    const binding = bindingNamed(request.env, endpoint.target.binding);
    if (!binding) return Promise.resolve({ outcome: { kind: "connect-failure" }, error: `the gateway has no service binding named ${endpoint.target.binding}` });
    target = binding;
  } else {
    target = { fetch: (r) => fetch(r) };
  }
  let answer: Promise<Response>;
  try {
    answer = target.fetch(upstreamRequest(request, endpoint, body, signal));
  } catch (error) {
    return Promise.resolve(failureOf(error));
  }
  return answer.then((response) => answerOf(response, request.isolate.now()), failureOf);
}

function failureOf(error: unknown): SendResult {
  const message = error instanceof Error ? error.message : String(error);
  // Workers report a dropped connection as a thrown error; its text is all there is to tell.
  const kind = /reset|disconnect|closed|terminated/i.test(message) ? "reset" : "connect-failure";
  return { outcome: { kind }, error: message };
}

/**
 * The request one attempt sends. A service binding gets the incoming request itself, with the
 * gateway's headers and signal, whenever the path it is to receive is the one it came with (no
 * rewrite, nothing normalized): deriving keeps the parsed URL instead of building and parsing a
 * new one. A rewritten path, or a URL endpoint, gets a URL of its own.
 */
function upstreamRequest(request: MeshRequest, endpoint: CompiledEndpoint, body: PreparedBody, signal: AbortSignal): Request {
  const path = request.upstreamPath ?? request.path;
  const init: RequestInit = { headers: request.headers, redirect: "manual", signal };
  // A stream is the incoming body itself; replayable bytes were read from it and go again each time.
  if (body.kind !== "stream") init.body = attemptBody(body);
  if (endpoint.target.kind === "binding" && path === request.url.pathname && request.original.url === request.url.href) {
    return new Request(request.original, init);
  }
  const base = endpoint.target.kind === "binding" ? `${request.url.protocol}//${request.url.host}` : endpoint.target.baseUrl;
  return new Request(`${base}${path}${request.url.search}`, { ...init, method: request.method, body: attemptBody(body) });
}

/** Retry-After in ms, from seconds or an HTTP date. */
function retryAfterMs(value: string, now: number): number | undefined {
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Every Set-Cookie line of a header set (the Fetch standard's getSetCookie; the types in use predate it). */
export function setCookieLines(headers: Headers): string[] {
  return (headers as Headers & { getSetCookie(): string[] }).getSetCookie();
}

/** Cookie names the mesh keeps for itself (its session cookie and any it adds), in lower case. */
const MESH_COOKIE_PREFIXES = ["weft_", "__host-weft", "__secure-weft"] as const;
/** The mesh's reserved paths: a cookie scoped to them is meant for the mesh, not the destination. */
const MESH_PATH = "/.weft";

/**
 * Whether a destination's Set-Cookie would plant a cookie the mesh reads (a weft_ or __Host-weft
 * name) or one scoped to the mesh's own /.weft paths. Names are compared ignoring case, as
 * browsers do for the __Host- prefix; a destination has no business near these names either way.
 */
export function setCookieTargetsMesh(setCookie: string): boolean {
  const [pair = "", ...attributes] = setCookie.split(";");
  const eq = pair.indexOf("=");
  const name = (eq === -1 ? "" : pair.slice(0, eq)).trim().toLowerCase();
  if (MESH_COOKIE_PREFIXES.some((prefix) => name.startsWith(prefix))) return true;
  for (const attribute of attributes) {
    const at = attribute.indexOf("=");
    if (at === -1 || attribute.slice(0, at).trim().toLowerCase() !== "path") continue;
    const path = attribute.slice(at + 1).trim().toLowerCase();
    if (path === MESH_PATH || path.startsWith(`${MESH_PATH}/`)) return true;
  }
  return false;
}

/**
 * What an attempt's answer tells the retry logic, and the answer as the caller may see it: without
 * what only the mesh may say, x-weft-* headers (x-weft-error among them: only the mesh may say an
 * answer is its own), Set-Cookie lines aimed at the mesh's cookies, and a Content-Length that is not
 * a plain number (a framing header a client could misread; the runtime frames the body itself). One
 * pass over the headers finds those and Retry-After; the hot path (nothing to drop) hands back the
 * same Response.
 */
export function answerOf(response: Response, now: number): Extract<SendResult, { response: Response }> {
  let spoofed = false;
  let cookies = false;
  let badLength = false;
  let retryAfter: string | null = null;
  // Header names come out of a Headers object in lower case.
  response.headers.forEach((value, name) => {
    if (name.startsWith(MESH_HEADER_PREFIX)) spoofed = true;
    else if (name === "set-cookie") cookies = true;
    else if (name === "retry-after") retryAfter = value;
    else if (name === "content-length") badLength = !PLAIN_LENGTH.test(value);
  });
  const waitMs = retryAfter === null ? undefined : retryAfterMs(retryAfter, now);
  const outcome: Extract<AttemptOutcome, { kind: "response" }> = waitMs === undefined ? { kind: "response", status: response.status } : { kind: "response", status: response.status, retryAfterMs: waitMs };
  return { outcome, response: spoofed || cookies || badLength ? withoutMeshHeaders(response, spoofed, badLength) : response };
}

/** A Content-Length as HTTP allows it: decimal digits only (a list such as "5, 5" is refused too). */
const PLAIN_LENGTH = /^\d{1,16}$/;

/** A copy of `response` without its x-weft-* headers (when `spoofed`), a malformed Content-Length (when `badLength`) and Set-Cookie lines aimed at the mesh. */
function withoutMeshHeaders(response: Response, spoofed: boolean, badLength: boolean): Response {
  let kept: string[] | undefined;
  const lines = setCookieLines(response.headers);
  if (lines.some(setCookieTargetsMesh)) kept = lines.filter((line) => !setCookieTargetsMesh(line));
  if (!spoofed && !badLength && kept === undefined) return response;
  const copy = new Response(response.body, response);
  if (spoofed) stripMeshHeaders(copy.headers);
  if (badLength) copy.headers.delete("content-length");
  if (kept !== undefined) {
    copy.headers.delete("set-cookie");
    for (const line of kept) copy.headers.append("set-cookie", line);
  }
  return copy;
}
