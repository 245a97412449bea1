/**
 * Signing keys in the control plane's SQLite: ES256 pairs generated here with WebCrypto (jose),
 * executed from the rotation plan (key-lifecycle.ts). Private key material never leaves this
 * module: the JWKS and the key list carry public parts and states only.
 */
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { applyPlan, planKeys, type KeyPlan, type KeyRecord, type RotationPolicy } from "./key-lifecycle.js";

export const SIGNING_ALG = "ES256";

interface KeyRow extends Record<string, SqlStorageValue> {
  kid: string;
  state: string;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  remove_after: number | null;
  activate_at: number | null;
  public_jwk: string;
}

/** What the key list shows: states and times, never key material beyond the public JWK's id. */
export interface KeyView {
  kid: string;
  state: KeyRecord["state"];
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  removeAfter: string | null;
  /** When an operator's rotation hands this prepared key signing; null when only the schedule will. */
  activateAt: string | null;
}

export interface PublicJwk extends JWK {
  kid: string;
  alg: typeof SIGNING_ALG;
  use: "sig";
}

export class KeyStore {
  private signer: { kid: string; key: CryptoKey } | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(work: () => T) => T,
  ) {}

  records(): KeyRecord[] {
    return this.rows().map(toRecord);
  }

  /** Plans and executes rotation at `now`; returns the plan (its `nextAt` is the next alarm). */
  async advance(now: number, policy: RotationPolicy, rotateNow = false): Promise<KeyPlan> {
    const before = this.records();
    const plan = planKeys(before, now, policy, rotateNow);
    if (plan.actions.length === 0) return plan;
    // Generate first (async), then write every change in one transaction.
    const fresh: { kid: string; publicJwk: string; privateJwk: string }[] = [];
    for (const action of plan.actions) if (action.type === "generate") fresh.push(await newKeyPair());
    let taken = 0;
    const after = applyPlan(before, plan, now, () => fresh[taken++]?.kid ?? "");
    const previous = new Map(before.map((key) => [key.kid, key]));
    const kept = new Set(after.map((key) => key.kid));
    this.transaction(() => {
      for (const key of before) if (!kept.has(key.kid)) this.sql.exec("DELETE FROM signing_keys WHERE kid = ?", key.kid);
      for (const key of after) {
        const material = fresh.find((pair) => pair.kid === key.kid);
        if (material) {
          this.sql.exec(
            "INSERT INTO signing_keys (kid, state, created_at, activated_at, retired_at, remove_after, activate_at, public_jwk, private_jwk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            key.kid,
            key.state,
            key.createdAt,
            key.activatedAt,
            key.retiredAt,
            key.removeAfter,
            key.activateAt,
            material.publicJwk,
            material.privateJwk,
          );
        } else if (previous.get(key.kid)?.state !== key.state || previous.get(key.kid)?.activateAt !== key.activateAt) {
          this.sql.exec(
            "UPDATE signing_keys SET state = ?, activated_at = ?, retired_at = ?, remove_after = ?, activate_at = ? WHERE kid = ?",
            key.state,
            key.activatedAt,
            key.retiredAt,
            key.removeAfter,
            key.activateAt,
            key.kid,
          );
        }
      }
    });
    this.signer = undefined;
    return plan;
  }

  /** The public keys gateways and functions verify with: prepared, active and retired ones. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: this.rows().map((row) => ({ ...(JSON.parse(row.public_jwk) as JWK), kid: row.kid, alg: SIGNING_ALG, use: "sig" as const })) };
  }

  list(): KeyView[] {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return this.records().map((key) => ({
      kid: key.kid,
      state: key.state,
      createdAt: new Date(key.createdAt).toISOString(),
      activatedAt: iso(key.activatedAt),
      retiredAt: iso(key.retiredAt),
      removeAfter: iso(key.removeAfter),
      activateAt: iso(key.activateAt),
    }));
  }

  /** The active key, imported once per activation, for signing inside the control plane. */
  async activeSigner(): Promise<{ kid: string; key: CryptoKey } | undefined> {
    const row = this.sql.exec<{ kid: string; private_jwk: string }>("SELECT kid, private_jwk FROM signing_keys WHERE state = 'active' LIMIT 1").toArray()[0];
    if (!row) return undefined;
    if (this.signer?.kid !== row.kid) {
      const key = await importJWK(JSON.parse(row.private_jwk) as JWK, SIGNING_ALG);
      if (!(key instanceof CryptoKey)) throw new Error("the active signing key did not import as a CryptoKey");
      this.signer = { kid: row.kid, key };
    }
    return this.signer;
  }

  private rows(): KeyRow[] {
    return this.sql.exec<KeyRow>("SELECT kid, state, created_at, activated_at, retired_at, remove_after, activate_at, public_jwk FROM signing_keys ORDER BY created_at").toArray();
  }
}

async function newKeyPair(): Promise<{ kid: string; publicJwk: string; privateJwk: string }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = base64url(crypto.getRandomValues(new Uint8Array(12)));
  return { kid, publicJwk: JSON.stringify(await exportJWK(publicKey)), privateJwk: JSON.stringify(await exportJWK(privateKey)) };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function toRecord(row: KeyRow): KeyRecord {
  return {
    kid: row.kid,
    state: row.state === "prepared" || row.state === "retired" ? row.state : "active",
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    retiredAt: row.retired_at,
    removeAfter: row.remove_after,
    activateAt: row.activate_at,
  };
}
