/**
 * Config distribution on the wire between the control plane and gateways. Lives in neither, so
 * neither imports the other for it.
 */
import type { ConfigDoc } from "@weft/sdk/config";

/**
 * Shape of `NormalizedDocuments.documents`. Bump it whenever the schema's *output* changes shape
 * (a new default, a new transform): a gateway compiles normalized documents only when they were
 * made by a control plane with the same normalized shape, and validates the raw documents itself
 * otherwise (mid-deploy, one side newer than the other).
 */
export const NORMALIZED_FORMAT = "weft/v1#1";

/** The documents of a version as the control plane's one validation left them: defaults applied, durations in ms. */
export interface NormalizedDocuments {
  format: string;
  /** In the order of the raw documents, one for one (a stored version validated whole). */
  documents: ConfigDoc[];
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
