/**
 * SQLite schema of the control plane. Statements are idempotent so they can run in every
 * constructor (inside blockConcurrencyWhile) without a separate migration step.
 */
export const SCHEMA_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS config_versions (
     version     INTEGER PRIMARY KEY,
     created_at  TEXT    NOT NULL,
     actor       TEXT    NOT NULL,
     source      TEXT    NOT NULL,
     rollback_of INTEGER,
     summary     TEXT    NOT NULL,
     documents   TEXT    NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS audit_log (
     id      INTEGER PRIMARY KEY AUTOINCREMENT,
     at      TEXT    NOT NULL,
     actor   TEXT    NOT NULL,
     action  TEXT    NOT NULL,
     version INTEGER NOT NULL,
     summary TEXT    NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS signing_keys (
     kid          TEXT    PRIMARY KEY,
     state        TEXT    NOT NULL,
     created_at   INTEGER NOT NULL,
     activated_at INTEGER,
     retired_at   INTEGER,
     remove_after INTEGER,
     activate_at  INTEGER,
     public_jwk   TEXT    NOT NULL,
     private_jwk  TEXT    NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS credentials (
     id          TEXT    PRIMARY KEY,
     service     TEXT    NOT NULL,
     secret_hash TEXT    NOT NULL,
     created_at  INTEGER NOT NULL,
     created_by  TEXT    NOT NULL,
     revoked_at  INTEGER
   )`,
  // One row per Rollout document in the current config: its spec, state and recent checks (JSON).
  `CREATE TABLE IF NOT EXISTS rollouts (
     name   TEXT PRIMARY KEY,
     record TEXT NOT NULL
   )`,
] as const;

/** Columns added to a table after it was first created: a mesh created before them gets them here. */
const ADDED_COLUMNS = [{ table: "signing_keys", column: "activate_at", type: "INTEGER" }] as const;

export function migrate(sql: SqlStorage): void {
  for (const statement of SCHEMA_STATEMENTS) sql.exec(statement);
  for (const { table, column, type } of ADDED_COLUMNS) {
    const present = sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().some((row) => row.name === column);
    if (!present) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}
