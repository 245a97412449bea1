/**
 * Request bodies and replay. An attempt can only be repeated (retry, hedge) or copied (mirror)
 * if its body can be sent again: bodies with a declared length up to 64 KiB are read once into
 * memory; larger or streamed bodies (no Content-Length) pass through once and are never retried,
 * so a retry can never hold a large upload in the isolate's memory.
 */
import { CONFIG_DEFAULTS } from "@weft/sdk/config";
import type { MeshRequest, PreparedBody } from "./stage.js";

const NONE: PreparedBody = { kind: "none" };

export function methodHasBody(method: string): boolean {
  return method !== "GET" && method !== "HEAD";
}

/**
 * The body as the attempts will send it, when that needs no reading: already prepared, none, or a
 * stream passed through. Undefined when a replayable body must be read first (prepareBody).
 */
export function preparedBodyNow(request: MeshRequest): PreparedBody | undefined {
  if (request.body) return request.body;
  const stream = methodHasBody(request.method) ? request.original.body : null;
  if (stream === null) return (request.body = NONE);
  if (replayableLength(request.original.headers.get("content-length")) !== undefined) return undefined;
  return (request.body = { kind: "stream", stream });
}

/** Reads (once) what the attempts will send; later calls return the same body. */
export async function prepareBody(request: MeshRequest): Promise<PreparedBody> {
  return preparedBodyNow(request) ?? (request.body = { kind: "bytes", bytes: await request.original.arrayBuffer() });
}

/** A declared length small enough to hold for replay, or undefined. */
function replayableLength(declared: string | null): number | undefined {
  const length = declared !== null && /^\d{1,12}$/.test(declared) ? Number(declared) : undefined;
  return length !== undefined && length <= CONFIG_DEFAULTS.maxRetryableBodyBytes ? length : undefined;
}

export function isReplayable(body: PreparedBody): boolean {
  return body.kind !== "stream";
}

/** The body for one attempt: a stream is handed over the first time only. */
export function attemptBody(body: PreparedBody): BodyInit | null {
  if (body.kind === "bytes") return body.bytes;
  if (body.kind === "stream") return body.stream;
  return null;
}
