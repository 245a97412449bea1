/**
 * Config distribution on the wire between the control plane and gateways. Lives in neither, so
 * neither imports the other for it.
 */

/** A config version as the gateway pulls it: raw documents, validated when they were applied. */
export interface SnapshotPayload {
  version: number;
  createdAt: string;
  documents: unknown[];
}

/** Answer to a conditional pull: the gateway sends the version it holds (its ETag). */
export type SnapshotAnswer = { changed: true; snapshot: SnapshotPayload } | { changed: false; version: number };
