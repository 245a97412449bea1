/**
 * Config pulls through the colo's Cache API: the first isolate in a colo to refresh reads the
 * control plane and leaves the snapshot in the colo cache for `ttlMs`; the other isolates there
 * read it from the cache. Control-plane reads then grow with colos ÷ interval, not with isolates
 * (docs/scale-model.md).
 *
 * The cache may only save work, never decide what config is served. On Cloudflare every Worker
 * on a zone shares `caches.default`, so another mesh's gateway or any other Worker can read and
 * write it. Each entry is therefore
 * - keyed by the mesh's own identity (its control-plane object id, which only Workers bound to
 *   that namespace can derive), so two meshes on one zone never meet; and
 * - authenticated with an HMAC-SHA256 over the mesh id, the time it was stored and the body,
 *   under a secret only this mesh's gateways hold, so a forged, altered or replayed-late entry
 *   fails verification.
 * Any entry that fails (forged, foreign, older than the version held, expired, unreadable) is
 * ignored, counted, and the control plane asked instead. Any cache failure falls through too.
 */
import type { SnapshotAnswer, SnapshotPayload } from "../../wire/src/snapshot.js";
import type { ConfigSource } from "./config-cache.js";

/** Prefix of the internal cache keys; never fetched, only used as Cache API keys. */
const COLO_CACHE_KEY_PREFIX = "https://config.weft.internal/snapshot/";
const STORED_AT = "x-weft-stored-at";
const MESH = "x-weft-mesh";
const MAC = "x-weft-mac";

/** The part of the Cache API used here (a `Cache` satisfies it). */
export interface SnapshotCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
  delete(request: Request): Promise<boolean>;
}

/** Why a colo-cache entry was not used. */
export type RejectedEntry = "unauthenticated" | "foreign" | "older-version" | "malformed";

export interface ColoCacheOptions {
  ttlMs: number;
  now: () => number;
  /** The mesh's identity: its control-plane object id. Keys and authenticates the entries. */
  meshId: string;
  /** The secret only this mesh's gateways hold; entries are MACed with it. */
  secret: string;
  /** Told each time an entry is refused, so the gateway can count it. */
  onRejected?: (reason: RejectedEntry) => void;
}

/** The cache key of one mesh's snapshot. */
export function coloCacheKey(meshId: string): Request {
  return new Request(`${COLO_CACHE_KEY_PREFIX}${encodeURIComponent(meshId)}`);
}

const encoder = new TextEncoder();

function macInput(meshId: string, storedAt: string, body: string): Uint8Array {
  return encoder.encode(`weft colo snapshot v1\n${meshId}\n${storedAt}\n${body}`);
}

function toBase64Url(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined; // 32 bytes, unpadded
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function isPayload(value: unknown): value is SnapshotPayload {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<SnapshotPayload>;
  return typeof candidate.version === "number" && Number.isInteger(candidate.version) && typeof candidate.createdAt === "string" && Array.isArray(candidate.documents);
}

export function coloCachedSource(inner: ConfigSource, cache: SnapshotCache, options: ColoCacheOptions): ConfigSource {
  // One HMAC key per isolate: importing it per pull would waste work, not safety.
  let macKey: Promise<CryptoKey> | undefined;
  const key = () => (macKey ??= crypto.subtle.importKey("raw", encoder.encode(options.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));
  const reject = (reason: RejectedEntry): undefined => {
    options.onRejected?.(reason);
    return undefined;
  };

  async function fromCache(knownVersion: number | null): Promise<SnapshotPayload | undefined> {
    let hit: Response | undefined;
    try {
      hit = await cache.match(coloCacheKey(options.meshId));
    } catch {
      return undefined;
    }
    if (!hit) return undefined;
    try {
      const storedAtText = hit.headers.get(STORED_AT) ?? "";
      const mesh = hit.headers.get(MESH);
      const mac = fromBase64Url(hit.headers.get(MAC) ?? "");
      const body = await hit.text();
      if (mesh !== null && mesh !== options.meshId) return reject("foreign");
      if (!mac || !(await crypto.subtle.verify("HMAC", await key(), mac, macInput(options.meshId, storedAtText, body)))) return reject("unauthenticated");
      // Authentic from here on; an expired entry is simply old, not an attack.
      const storedAt = Number(storedAtText);
      if (!Number.isFinite(storedAt) || options.now() - storedAt >= options.ttlMs) return undefined;
      const payload: unknown = JSON.parse(body);
      if (!isPayload(payload)) return reject("malformed");
      // Never step back: an entry older than what this isolate holds (a replay, or a slow writer) is refused.
      if (knownVersion !== null && payload.version < knownVersion) return reject("older-version");
      return payload;
    } catch {
      return reject("malformed");
    }
  }

  async function store(payload: SnapshotPayload): Promise<void> {
    try {
      const seconds = Math.max(1, Math.ceil(options.ttlMs / 1000));
      const body = JSON.stringify(payload);
      const storedAt = String(options.now());
      const mac = await crypto.subtle.sign("HMAC", await key(), macInput(options.meshId, storedAt, body));
      await cache.put(
        coloCacheKey(options.meshId),
        new Response(body, {
          headers: { "content-type": "application/json", "cache-control": `max-age=${seconds}`, [STORED_AT]: storedAt, [MESH]: options.meshId, [MAC]: toBase64Url(mac) },
        }),
      );
    } catch {
      // A colo cache that refuses writes costs control-plane reads, nothing else.
    }
  }

  return {
    async getSnapshot(knownVersion): Promise<SnapshotAnswer> {
      const cached = await fromCache(knownVersion);
      if (cached) return cached.version === knownVersion ? { changed: false, version: cached.version } : { changed: true, snapshot: cached };
      // Ask unconditionally: the colo cache needs the whole snapshot for the isolates that follow.
      const answer = await inner.getSnapshot(null);
      if (!answer.changed) return answer;
      await store(answer.snapshot);
      return answer.snapshot.version === knownVersion ? { changed: false, version: knownVersion } : answer;
    },
  };
}

/** Drops the colo's copy of one mesh's snapshot, e.g. right after an apply through this gateway. */
export async function forgetColoSnapshot(cache: SnapshotCache, meshId: string): Promise<void> {
  try {
    await cache.delete(coloCacheKey(meshId));
  } catch {
    // Expires by itself within its TTL.
  }
}
