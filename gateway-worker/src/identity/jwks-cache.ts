/**
 * The isolate's copy of the mesh's public signing keys. Loaded once, refreshed in the background,
 * and refreshed on demand when a token names a key it has not seen, at most once per 30 s and
 * single-flight, so a flood of tokens with made-up `kid`s cannot hammer the control plane.
 */
import { JWKS_REFETCH_COOLDOWN_SECONDS } from "@weft/sdk";
import { importJWK, type JWK } from "jose";

export interface JwksCacheOptions {
  now: () => number;
  /** Background refresh period. */
  refreshIntervalMs?: number;
  /** Least time between refreshes caused by an unknown `kid`. */
  unknownKidIntervalMs?: number;
}

export class JwksCache {
  private keys = new Map<string, CryptoKey>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private lastUnknownKidRefresh = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  /** How many times the key set was fetched, and how many fetches failed (for metrics and tests). */
  refreshes = 0;
  refreshFailures = 0;

  constructor(
    private readonly fetchKeys: () => Promise<{ keys: JWK[] }>,
    private readonly options: JwksCacheOptions,
  ) {}

  /** The verification key for `kid`, or undefined when the mesh has no such key. */
  async key(kid: string, waitUntil: (promise: Promise<unknown>) => void): Promise<CryptoKey | undefined> {
    const now = this.options.now();
    if (this.fetchedAt === Number.NEGATIVE_INFINITY) await this.refresh();
    else if (now - this.fetchedAt >= (this.options.refreshIntervalMs ?? 60_000)) waitUntil(this.refresh().catch(() => undefined));
    const known = this.keys.get(kid);
    if (known) return known;
    if (now - this.lastUnknownKidRefresh < (this.options.unknownKidIntervalMs ?? JWKS_REFETCH_COOLDOWN_SECONDS * 1000)) return undefined;
    this.lastUnknownKidRefresh = now;
    await this.refresh().catch(() => undefined);
    return this.keys.get(kid);
  }

  /** Starts a background refresh when one is due (callers that only use `has` keep the set fresh too). */
  refreshIfDue(waitUntil: (promise: Promise<unknown>) => void): void {
    if (this.fetchedAt !== Number.NEGATIVE_INFINITY && this.options.now() - this.fetchedAt >= (this.options.refreshIntervalMs ?? 60_000) && !this.inflight) {
      waitUntil(this.refresh().catch(() => undefined));
    }
  }

  /** Whether `kid` is still published (a removed key's tokens stop working at once). */
  has(kid: string): boolean {
    return this.keys.has(kid);
  }

  refresh(): Promise<void> {
    this.inflight ??= this.load()
      .catch((error: unknown) => {
        this.refreshFailures++;
        throw error;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async load(): Promise<void> {
    const { keys } = await this.fetchKeys();
    const next = new Map<string, CryptoKey>();
    for (const jwk of keys) {
      if (typeof jwk.kid !== "string" || jwk.kty !== "EC" || jwk.crv !== "P-256") continue;
      const existing = this.keys.get(jwk.kid);
      if (existing) {
        next.set(jwk.kid, existing);
        continue;
      }
      const { d: _private, ...publicPart } = jwk; // never import anything but the public part
      const key = await importJWK({ ...publicPart, alg: "ES256" }, "ES256");
      if (key instanceof CryptoKey) next.set(jwk.kid, key);
    }
    this.keys = next;
    this.fetchedAt = this.options.now();
    this.refreshes++;
  }
}
