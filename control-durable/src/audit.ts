/** The audit log: one entry per change to the mesh (who, when, what). Append-only. */
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry } from "./types.js";

interface AuditRow extends Record<string, SqlStorageValue> {
  id: number;
  at: string;
  actor: string;
  action: string;
  version: number;
  summary: string;
}

export class AuditLog {
  constructor(private readonly sql: SqlStorage) {}

  record(entry: Omit<AuditEntry, "id">): void {
    this.sql.exec("INSERT INTO audit_log (at, actor, action, version, summary) VALUES (?, ?, ?, ?, ?)", entry.at, entry.actor, entry.action, entry.version, entry.summary);
  }

  /** Newest first. */
  list(limit: number): AuditEntry[] {
    return this.sql
      .exec<AuditRow>("SELECT id, at, actor, action, version, summary FROM audit_log ORDER BY id DESC LIMIT ?", limit)
      .toArray()
      .map((row) => ({ id: row.id, at: row.at, actor: row.actor, action: (AUDIT_ACTIONS as readonly string[]).includes(row.action) ? (row.action as AuditAction) : "apply", version: row.version, summary: row.summary }));
  }
}
