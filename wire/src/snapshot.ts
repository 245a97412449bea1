/**
 * Config distribution on the wire between the control plane and gateways. Lives in neither, so
 * neither imports the other for it.
 */
import type { ConfigDoc, MeshDoc } from "@weft/sdk/config";

/**
 * Shape of `NormalizedDocuments.documents`. Bump it whenever the schema's *output* changes shape
 * (a new default, a new transform): a gateway compiles normalized documents only when they were
 * made by a control plane with the same normalized shape. A gateway carries no validator of its
 * own (docs/architecture.md#why-two-workers): a snapshot of another format is refused, and the
 * gateway keeps serving the version it has until the control Worker and it run the same release.
 * #2 added `mesh`.
 */
export const NORMALIZED_FORMAT = "weft/v1#2";

/** The documents of a version as the control plane's one validation left them: defaults applied, durations in ms. */
export interface NormalizedDocuments {
  format: string;
  /** In the order of the raw documents, one for one (a stored version validated whole). */
  documents: ConfigDoc[];
  /** The Mesh in force: the set's Mesh document, or the default one when it has none. */
  mesh: MeshDoc;
}

/** A config version as the gateway pulls it: raw documents, validated when they were applied. */
export interface SnapshotPayload {
  version: number;
  createdAt: string;
  documents: unknown[];
  /**
   * The same documents, validated and normalized by the control plane. Present when the version
   * validates against the control plane's schema; gateways compile it without validating again.
   */
  normalized?: NormalizedDocuments;
}

/** Answer to a conditional pull: the gateway sends the version it holds (its ETag). */
export type SnapshotAnswer = { changed: true; snapshot: SnapshotPayload } | { changed: false; version: number };

/**
 * The current version as the gateway that applied it installs it: the normalized documents as
 * JSON text, one string each. Strings cross RPC as blocks of bytes, and the gateway parses them
 * one per turn (the largest of 10,000 rules in ~5 ms), where the same object graph took the
 * receiving isolate 20–50 ms to deserialize in one turn. The raw documents stay behind:
 * compiling does not read them.
 */
export interface SnapshotText {
  version: number;
  createdAt: string;
  /** How many raw documents the version holds; its normalized form has as many. */
  documentCount: number;
  /** Absent when the version does not validate against today's schema. */
  normalized?: NormalizedText;
}

/** `NormalizedDocuments` with each document as its JSON text. */
export interface NormalizedText {
  format: string;
  documents: string[];
  mesh: MeshDoc;
}
