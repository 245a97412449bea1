/** The rollout records in the control plane's SQLite (migrations.ts `rollouts`), one JSON row each. */
import type { RolloutRecord, RolloutStore } from "./engine.js";

export class SqlRolloutStore implements RolloutStore {
  constructor(private readonly sql: SqlStorage) {}

  list(): RolloutRecord[] {
    return this.sql
      .exec<{ record: string }>("SELECT record FROM rollouts ORDER BY name")
      .toArray()
      .map((row) => JSON.parse(row.record) as RolloutRecord);
  }

  get(name: string): RolloutRecord | undefined {
    const row = this.sql.exec<{ record: string }>("SELECT record FROM rollouts WHERE name = ?", name).toArray()[0];
    return row ? (JSON.parse(row.record) as RolloutRecord) : undefined;
  }

  put(record: RolloutRecord): void {
    this.sql.exec("INSERT INTO rollouts (name, record) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET record = excluded.record", record.name, JSON.stringify(record));
  }

  delete(name: string): void {
    this.sql.exec("DELETE FROM rollouts WHERE name = ?", name);
  }
}
