/**
 * Bootstrap credentials: one per function (a wrangler secret on its side), shown once at
 * creation and stored only as a SHA-256 hash, revocable. A credential reads
 * `weft1.<id>.<secret>`: the id finds the row, the secret is checked by hash.
 */
export const CREDENTIAL_PREFIX = "weft1";

interface CredentialRow extends Record<string, SqlStorageValue> {
  id: string;
  service: string;
  secret_hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

export interface CredentialView {
  id: string;
  service: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

export type CredentialCheck = { ok: true; id: string; service: string } | { ok: false; reason: "malformed" | "unknown" | "revoked" };

export class CredentialStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Creates a credential; the returned secret exists nowhere else afterwards. */
  async create(service: string, actor: string, now: number): Promise<{ view: CredentialView; credential: string }> {
    const id = newCredentialId();
    const secret = randomToken(32);
    this.sql.exec(
      "INSERT INTO credentials (id, service, secret_hash, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)",
      id,
      service,
      await sha256(secret),
      now,
      actor,
    );
    return { view: { id, service, createdAt: new Date(now).toISOString(), createdBy: actor, revokedAt: null }, credential: `${CREDENTIAL_PREFIX}.${id}.${secret}` };
  }

  /** False when there is no such credential; revoking twice keeps the first time. */
  revoke(id: string, now: number): CredentialView | undefined {
    this.sql.exec("UPDATE credentials SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", now, id);
    return this.list().find((credential) => credential.id === id);
  }

  list(): CredentialView[] {
    return this.sql
      .exec<CredentialRow>("SELECT id, service, secret_hash, created_at, created_by, revoked_at FROM credentials ORDER BY created_at")
      .toArray()
      .map((row) => ({
        id: row.id,
        service: row.service,
        createdAt: new Date(row.created_at).toISOString(),
        createdBy: row.created_by,
        revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
      }));
  }

  async check(credential: string): Promise<CredentialCheck> {
    const parts = credential.split(".");
    if (parts.length !== 3 || parts[0] !== CREDENTIAL_PREFIX || !/^[A-Za-z0-9_-]{8,64}$/.test(parts[1] ?? "") || !/^[A-Za-z0-9_-]{20,128}$/.test(parts[2] ?? "")) {
      return { ok: false, reason: "malformed" };
    }
    const row = this.sql.exec<CredentialRow>("SELECT id, service, secret_hash, created_at, created_by, revoked_at FROM credentials WHERE id = ?", parts[1] as string).toArray()[0];
    const supplied = await sha256(parts[2] as string);
    // Compare even when the row is missing, so a wrong id and a wrong secret take the same time.
    const matches = constantTimeEqual(supplied, row?.secret_hash ?? "0".repeat(supplied.length));
    if (!row || !matches) return { ok: false, reason: "unknown" };
    if (row.revoked_at !== null) return { ok: false, reason: "revoked" };
    return { ok: true, id: row.id, service: row.service };
  }
}

/**
 * A credential's id: 72 random bits as 18 hex digits. Operators pass it on command lines
 * (`weft credentials revoke <id>`), where a base64url id starting with "-" read as an option.
 */
export function newCredentialId(): string {
  return [...crypto.getRandomValues(new Uint8Array(9))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function randomToken(bytes: number): string {
  let binary = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(bytes))) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function constantTimeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) difference |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return difference === 0;
}
