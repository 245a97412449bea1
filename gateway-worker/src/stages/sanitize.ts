/**
 * First stage: nothing downstream may trust or forward a header it should not.
 * - Every `x-weft-*` request header is dropped: only the mesh writes that namespace.
 * - The caller's `Authorization` is dropped: it carries the caller's credential for the gateway
 *   and must never reach (and be replayable by) the destination.
 * - Hop-by-hop headers (RFC 9110 §7.6.1: Connection and the names it lists, Keep-Alive, Proxy-*,
 *   TE, Trailer, Transfer-Encoding, Upgrade) belong to one connection, not to the next hop.
 * - Oversized header sets are refused with 431 before any work is done on them.
 * Also gives every request an id to correlate logs and traces.
 */
import { DEADLINE_HEADER, MeshError, parseDeadlineHeader } from "@weft/sdk";
import { continueTrace, traceContextOf } from "../telemetry/trace-context.js";
import type { Stage } from "../stage.js";

export const MESH_HEADER_PREFIX = "x-weft-";
export const MAX_REQUEST_HEADERS = 100;
export const MAX_REQUEST_HEADER_BYTES = 60 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** One bearer token (RFC 6750 b64token: no commas or spaces), alone in the header. */
const BEARER = /^\s*Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i;
/** One credential of another scheme (e.g. Basic): not for the gateway, dropped like any Authorization. */
const OTHER_SCHEME = /^\s*[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]* +[^\s,]+\s*$/;

/**
 * What an Authorization header gives authentication: one bearer token; nothing (another scheme,
 * as Istio and Envoy ignore non-bearer credentials); or a refusal (401) for anything else. Several
 * headers arrive joined by ", ", which no single credential of the accepted forms contains, so a
 * doubled header is refused even when each copy is valid.
 */
export function readAuthorization(value: string): { token: string } | { malformed: true } | undefined {
  const bearer = BEARER.exec(value);
  if (bearer) return { token: bearer[1] as string };
  if (!/\bbearer\b/i.test(value) && OTHER_SCHEME.test(value)) return undefined;
  return { malformed: true };
}
const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "authorization"]);

// Header names come out of a Headers object in lower case, so the passes below compare them as they are.

export function stripMeshHeaders(headers: Headers): void {
  const names: string[] = [];
  headers.forEach((_value, name) => {
    if (name.startsWith(MESH_HEADER_PREFIX)) names.push(name);
  });
  for (const name of names) headers.delete(name);
}

/**
 * The request headers the gateway itself reads, picked up during the sanitize pass (which visits
 * every header anyway) so that none of them costs a lookup of its own. Values as `Headers.get`
 * gives them: several lines of one name arrive joined by ", ".
 */
export interface HeadersRead {
  authorization: string | null;
  deadline: string | null;
  traceparent: string | null;
  tracestate: string | null;
  requestId: string | null;
}

/**
 * Removes what must not cross the gateway; throws 431 for oversized header sets. One pass over the
 * headers, which also reads the values the gateway needs (before they are dropped, for Authorization
 * and the caller's deadline).
 */
export function sanitizeRequestHeaders(headers: Headers): HeadersRead {
  let count = 0;
  let bytes = 0;
  let drop: string[] | undefined;
  const read: HeadersRead = { authorization: null, deadline: null, traceparent: null, tracestate: null, requestId: null };
  headers.forEach((value, name) => {
    count++;
    bytes += name.length + value.length + 4; // "name: value\r\n"
    if (name.startsWith(MESH_HEADER_PREFIX)) {
      if (name === DEADLINE_HEADER) read.deadline = value;
      (drop ??= []).push(name);
      return;
    }
    switch (name) {
      case "authorization":
        read.authorization = value;
        break;
      case "traceparent":
        read.traceparent = value;
        return;
      case "tracestate":
        read.tracestate = value;
        return;
      case "x-request-id":
        read.requestId = value;
        return;
      case "connection":
        for (const listed of value.split(",")) {
          const token = listed.trim().toLowerCase();
          if (token) (drop ??= []).push(token);
        }
        break;
    }
    if (name.startsWith("proxy-") || HOP_BY_HOP.has(name)) (drop ??= []).push(name);
  });
  if (count > MAX_REQUEST_HEADERS) throw new MeshError("headers_too_large", `the request has ${count} headers; at most ${MAX_REQUEST_HEADERS} are accepted`);
  if (bytes > MAX_REQUEST_HEADER_BYTES) throw new MeshError("headers_too_large", `the request headers take ${bytes} bytes; at most ${MAX_REQUEST_HEADER_BYTES} are accepted`);
  if (drop) for (const name of drop) headers.delete(name);
  return read;
}

export function sanitizeStage(): Stage {
  return function sanitize(request, next) {
    const read = sanitizeRequestHeaders(request.headers);
    // A caller that sent a bearer token is never anonymous because it was malformed or doubled.
    if (read.authorization !== null) request.bearer = readAuthorization(read.authorization);
    // The caller's remaining budget may shorten this request's timeout (never lengthen it).
    request.callerBudgetMs = parseDeadlineHeader(read.deadline);
    // Continue the caller's trace or start one (W3C Trace Context). Ids and the sampling draw use
    // their own randomness, so they never disturb the isolate's random source (splits, balancing).
    request.trace = continueTrace(traceContextOf(read.traceparent, read.tracestate), request.snapshot.mesh.spec.telemetry.tracing.sampling);
    if (read.requestId !== null && REQUEST_ID.test(read.requestId)) {
      request.requestId = read.requestId;
    } else {
      request.headers.set("x-request-id", request.requestId);
    }
    return next(request);
  };
}
