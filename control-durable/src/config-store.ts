/**
 * Config versions in SQLite: every accepted document set is stored whole under a new number.
 * Version 0 is the empty set a fresh mesh starts with.
 *
 * Beside the rows, the store keeps the current version's *validated* config in memory: validating
 * a 10,000-rule set costs ~150 ms, and mints, JWKS reads, registry views and snapshot pulls all
 * need it. Apply and rollback hand over what they validated; otherwise the first read after a
 * new version (or after the object woke up) validates once. Writes go only through this single
 * Durable Object, so the version number is a sound cache key.
 */
import { validateDocuments, validateDocumentsInSlices, type LineLocator, type Result, type ValidConfigSet } from "@weft/sdk/config";
import type { VersionRecord } from "./types.js";
import { NORMALIZED_FORMAT, type NormalizedText, type SnapshotPayload, type SnapshotText } from "../../wire/src/snapshot.js";
import { jsonItemsInSlices, type Pause } from "./slices.js";

interface VersionRow extends Record<string, SqlStorageValue> {
  version: number;
  created_at: string;
  actor: string;
  source: string;
  rollback_of: number | null;
  summary: string;
}

interface DocumentsRow extends Record<string, SqlStorageValue> {
  version: number;
  created_at: string;
  documents: string;
}

export const EMPTY_VERSION: SnapshotPayload = { version: 0, createdAt: new Date(0).toISOString(), documents: [] };

/** Why a whole document set was validated; counted apart so tests and benchmarks can hold each to its budget. */
export type ValidationReason = "apply" | "rollback" | "load";

/** The current version as stored, with what validating it gave. */
export interface CurrentConfig {
  /** Raw documents plus, when they validate, their normalized form (what gateways compile). */
  payload: SnapshotPayload;
  /** Undefined when the stored documents no longer validate (the schema tightened since). */
  set: ValidConfigSet | undefined;
  /** Service name → namespace, so a mint finds its service without scanning every document. */
  namespaces: ReadonlyMap<string, string>;
  /** The normalized documents as JSON, once a gateway asked for them (`ConfigStore.snapshotText`). */
  normalizedText?: NormalizedText;
}

export class ConfigStore {
  /** Whole-set validations this object ran, by reason. */
  readonly validations: Record<ValidationReason, number> = { apply: 0, rollback: 0, load: 0 };
  private cached: CurrentConfig | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /** The one place the control plane validates a document set, so every validation is counted. */
  validate(documents: readonly unknown[], reason: ValidationReason, locate?: LineLocator): Result<ValidConfigSet> {
    this.validations[reason]++;
    return validateDocuments(documents, locate);
  }

  /** `validate` in slices, pausing between them (an apply's validation: ~150 ms at 10,000 rules). */
  validateInSlices(documents: readonly unknown[], reason: ValidationReason, locate: LineLocator | undefined, pause: Pause): Promise<Result<ValidConfigSet>> {
    this.validations[reason]++;
    return validateDocumentsInSlices(documents, locate, pause);
  }

  /** The current version and its validated config, validated at most once per version. */
  currentConfig(): CurrentConfig {
    const head = this.head();
    const cached = this.cachedFor(head);
    if (cached) return cached;
    const payload = this.get(head.version) ?? EMPTY_VERSION;
    const validation = this.validate(payload.documents, "load");
    return (this.cached = currentConfig(payload, validation.ok ? validation.value : undefined));
  }

  /** `currentConfig`, validating in slices when this version is not in memory yet (an apply's reading of what it replaces). */
  async currentConfigInSlices(pause: Pause): Promise<CurrentConfig> {
    const head = this.head();
    const cached = this.cachedFor(head);
    if (cached) return cached;
    const payload = this.get(head.version) ?? EMPTY_VERSION;
    const validation = await this.validateInSlices(payload.documents, "load", undefined, pause);
    // Another caller may have loaded it meanwhile: keep one cached config per version.
    return (this.cachedFor(head) ?? (this.cached = currentConfig(payload, validation.ok ? validation.value : undefined)));
  }

  /**
   * The current version as a gateway installs it: its normalized documents as JSON text, encoded
   * a document at a time (pausing between slices) and kept with the version's cached config.
   */
  async snapshotText(pause: Pause): Promise<SnapshotText> {
    const current = await this.currentConfigInSlices(pause);
    const { version, createdAt, documents, normalized } = current.payload;
    if (normalized && current.normalizedText === undefined) {
      current.normalizedText = { format: normalized.format, documents: await jsonItemsInSlices(normalized.documents, pause), mesh: normalized.mesh };
    }
    return { version, createdAt, documentCount: documents.length, ...(current.normalizedText === undefined ? {} : { normalized: current.normalizedText }) };
  }

  // Keyed by number and time: storage restored under the object (point-in-time recovery, test
  // isolation) may reuse a number for other content, never also its creation time.
  private head(): { version: number; createdAt: string } {
    const head = this.sql.exec<{ version: number; created_at: string }>("SELECT version, created_at FROM config_versions ORDER BY version DESC LIMIT 1").toArray()[0];
    return { version: head?.version ?? 0, createdAt: head?.created_at ?? EMPTY_VERSION.createdAt };
  }

  private cachedFor(head: { version: number; createdAt: string }): CurrentConfig | undefined {
    return this.cached?.payload.version === head.version && this.cached.payload.createdAt === head.createdAt ? this.cached : undefined;
  }

  /** After a commit: what apply or rollback validated is the config of the version it created. */
  remember(version: number, createdAt: string, documents: unknown[], set: ValidConfigSet): void {
    this.cached = currentConfig({ version, createdAt, documents }, set);
  }

  currentVersion(): number {
    const row = this.sql.exec<{ version: number | null }>("SELECT MAX(version) AS version FROM config_versions").one();
    return row.version ?? 0;
  }

  current(): SnapshotPayload {
    return this.get(this.currentVersion()) ?? EMPTY_VERSION;
  }

  get(version: number): SnapshotPayload | undefined {
    if (version === 0) return EMPTY_VERSION;
    const rows = this.sql.exec<DocumentsRow>("SELECT version, created_at, documents FROM config_versions WHERE version = ?", version).toArray();
    const row = rows[0];
    if (!row) return undefined;
    return { version: row.version, createdAt: row.created_at, documents: JSON.parse(row.documents) as unknown[] };
  }

  /** Stores a new version (`documents` as JSON text); call inside the caller's transaction. */
  append(record: Omit<VersionRecord, "version">, documents: string): number {
    const version = this.currentVersion() + 1;
    this.sql.exec(
      "INSERT INTO config_versions (version, created_at, actor, source, rollback_of, summary, documents) VALUES (?, ?, ?, ?, ?, ?, ?)",
      version,
      record.createdAt,
      record.actor,
      record.source,
      record.rollbackOf,
      record.summary,
      documents,
    );
    return version;
  }

  /** Newest first. */
  history(limit: number): VersionRecord[] {
    return this.sql
      .exec<VersionRow>("SELECT version, created_at, actor, source, rollback_of, summary FROM config_versions ORDER BY version DESC LIMIT ?", limit)
      .toArray()
      .map((row) => ({
        version: row.version,
        createdAt: row.created_at,
        actor: row.actor,
        source: row.source === "rollback" ? "rollback" : "apply",
        rollbackOf: row.rollback_of,
        summary: row.summary,
      }));
  }
}

function currentConfig(payload: SnapshotPayload, set: ValidConfigSet | undefined): CurrentConfig {
  const namespaces = new Map<string, string>();
  for (const service of set?.services ?? []) namespaces.set(service.metadata.name, service.metadata.namespace);
  return {
    payload: set ? { ...payload, normalized: { format: NORMALIZED_FORMAT, documents: set.documents, mesh: set.mesh } } : payload,
    set,
    namespaces,
  };
}
