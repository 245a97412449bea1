/**
 * Config pulls through the colo's Cache API: the first isolate in a colo to refresh reads the
 * control plane and leaves the snapshot in the colo cache for `ttlMs`; the other isolates there
 * read it from the cache. Control-plane reads then grow with colos ÷ interval, not with isolates
 * (docs/scale-model.md). Any cache failure falls through to the control plane: the cache may
 * only save work, never decide what config is served.
 */
import type { SnapshotAnswer, SnapshotPayload } from "../../control-durable/src/types.js";
import type { ConfigSource } from "./config-cache.js";

/** Internal cache key; never fetched, only used as a Cache API key. */
export const COLO_CACHE_KEY = "https://config.weft.internal/snapshot/current";
const STORED_AT = "x-weft-stored-at";

/** The part of the Cache API used here (a `Cache` satisfies it). */
export interface SnapshotCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
  delete(request: Request): Promise<boolean>;
}

export interface ColoCacheOptions {
  ttlMs: number;
  now: () => number;
}

export function coloCachedSource(inner: ConfigSource, cache: SnapshotCache, options: ColoCacheOptions): ConfigSource {
  const key = () => new Request(COLO_CACHE_KEY);

  async function fromCache(): Promise<SnapshotPayload | undefined> {
    try {
      const hit = await cache.match(key());
      if (!hit) return undefined;
      const storedAt = Number(hit.headers.get(STORED_AT));
      if (!Number.isFinite(storedAt) || options.now() - storedAt >= options.ttlMs) return undefined;
      return (await hit.json()) as SnapshotPayload;
    } catch {
      return undefined;
    }
  }

  async function store(payload: SnapshotPayload): Promise<void> {
    try {
      const seconds = Math.max(1, Math.ceil(options.ttlMs / 1000));
      await cache.put(
        key(),
        new Response(JSON.stringify(payload), {
          headers: { "content-type": "application/json", "cache-control": `max-age=${seconds}`, [STORED_AT]: String(options.now()) },
        }),
      );
    } catch {
      // A colo cache that refuses writes costs control-plane reads, nothing else.
    }
  }

  return {
    async getSnapshot(knownVersion): Promise<SnapshotAnswer> {
      const cached = await fromCache();
      if (cached) return cached.version === knownVersion ? { changed: false, version: cached.version } : { changed: true, snapshot: cached };
      // Ask unconditionally: the colo cache needs the whole snapshot for the isolates that follow.
      const answer = await inner.getSnapshot(null);
      if (!answer.changed) return answer;
      await store(answer.snapshot);
      return answer.snapshot.version === knownVersion ? { changed: false, version: knownVersion } : answer;
    },
  };
}

/** Drops the colo's copy, e.g. right after an apply through this gateway. */
export async function forgetColoSnapshot(cache: SnapshotCache): Promise<void> {
  try {
    await cache.delete(new Request(COLO_CACHE_KEY));
  } catch {
    // Expires by itself within its TTL.
  }
}
