/** In-memory stand-ins for the colo cache and the control plane, shared by unit tests and the scale simulation. */
import { validateDocuments } from "@weft/sdk/config";
import { NORMALIZED_FORMAT, type SnapshotAnswer, type SnapshotPayload } from "../../wire/src/snapshot.js";
import type { SnapshotCache } from "./colo-cache.js";
import type { ConfigSource } from "./config-cache.js";

const service = { apiVersion: "weft/v1", kind: "Service", metadata: { name: "a" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A" }] }] } };

/**
 * A version as the control Worker ships it: raw documents plus their normalized form, validated
 * here as the control plane validates an apply (tests run in Node; the gateway Worker itself has
 * no validator). Through JSON, as the wire and the colo cache carry it.
 */
export function shipped(version: number, documents: unknown[], createdAt = ""): SnapshotPayload {
  const result = validateDocuments(documents);
  if (!result.ok) throw new Error(`test documents do not validate: ${JSON.stringify(result.issues)}`);
  const payload: SnapshotPayload = { version, createdAt, documents, normalized: { format: NORMALIZED_FORMAT, documents: result.value.documents, mesh: result.value.mesh } };
  return JSON.parse(JSON.stringify(payload)) as SnapshotPayload;
}

/** A colo cache kept in memory, with the Cache API's match/put/delete. */
export function memoryCache(): SnapshotCache & { entries: Map<string, Response>; broken: boolean } {
  const entries = new Map<string, Response>();
  const state = {
    entries,
    broken: false,
    async match(request: Request) {
      if (state.broken) throw new Error("cache unavailable");
      return entries.get(request.url)?.clone();
    },
    async put(request: Request, response: Response) {
      if (state.broken) throw new Error("cache unavailable");
      entries.set(request.url, response);
    },
    async delete(request: Request) {
      return entries.delete(request.url);
    },
  };
  return state;
}

/** The control plane as a counter of reads. */
export function countingControlPlane(version = 1) {
  const state = { version, reads: 0, fail: false };
  const source: ConfigSource = {
    async getSnapshot(known): Promise<SnapshotAnswer> {
      state.reads++;
      if (state.fail) throw new Error("down");
      if (known === state.version) return { changed: false, version: state.version };
      return { changed: true, snapshot: shipped(state.version, [service]) };
    },
  };
  return { source, state };
}

