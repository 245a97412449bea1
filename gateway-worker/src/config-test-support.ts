/** In-memory stand-ins for the colo cache and the control plane, shared by unit tests and the scale simulation. */
import type { SnapshotAnswer } from "../../wire/src/snapshot.js";
import type { SnapshotCache } from "./colo-cache.js";
import type { ConfigSource } from "./config-cache.js";

const service = { apiVersion: "weft/v1", kind: "Service", metadata: { name: "a" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A" }] }] } };

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
      return { changed: true, snapshot: { version: state.version, createdAt: "", documents: [service] } };
    },
  };
  return { source, state };
}

