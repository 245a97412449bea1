/**
 * Config versions in SQLite: every accepted document set is stored whole under a new number.
 * Version 0 is the empty set a fresh mesh starts with.
 */
import type { VersionRecord } from "./types.js";
import type { SnapshotPayload } from "../../wire/src/snapshot.js";

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

export class ConfigStore {
  constructor(private readonly sql: SqlStorage) {}

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

  /** Stores a new version; call inside the caller's transaction. */
  append(record: Omit<VersionRecord, "version">, documents: readonly unknown[]): number {
    const version = this.currentVersion() + 1;
    this.sql.exec(
      "INSERT INTO config_versions (version, created_at, actor, source, rollback_of, summary, documents) VALUES (?, ?, ?, ?, ?, ?, ?)",
      version,
      record.createdAt,
      record.actor,
      record.source,
      record.rollbackOf,
      record.summary,
      JSON.stringify(documents),
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
