/**
 * First stage: nothing downstream may trust a header the client wrote in the mesh's own
 * namespace, so every `x-weft-*` request header is dropped here, before authentication, routing
 * or forwarding can see it. Also gives every request an id to correlate logs and traces.
 */
import type { Stage } from "../stage.js";

export const MESH_HEADER_PREFIX = "x-weft-";
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function stripMeshHeaders(headers: Headers): void {
  const names: string[] = [];
  headers.forEach((_value, name) => {
    if (name.toLowerCase().startsWith(MESH_HEADER_PREFIX)) names.push(name);
  });
  for (const name of names) headers.delete(name);
}

export function sanitizeStage(): Stage {
  return function sanitize(request, next) {
    stripMeshHeaders(request.headers);
    const supplied = request.headers.get("x-request-id");
    if (supplied !== null && REQUEST_ID.test(supplied)) {
      request.requestId = supplied;
    } else {
      request.headers.set("x-request-id", request.requestId);
    }
    return next(request);
  };
}
