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

/** Reads (once) what the attempts will send; later calls return the same body. */
export async function prepareBody(request: MeshRequest): Promise<PreparedBody> {
  if (request.body) return request.body;
  const stream = methodHasBody(request.method) ? request.original.body : null;
  if (stream === null) return (request.body = NONE);
  const declared = request.original.headers.get("content-length");
  const length = declared !== null && /^\d{1,12}$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length <= CONFIG_DEFAULTS.maxRetryableBodyBytes) {
    return (request.body = { kind: "bytes", bytes: await request.original.arrayBuffer() });
  }
  return (request.body = { kind: "stream", stream });
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
