/**
 * The isolate's copy of the config: a compiled Snapshot, refreshed in the background
 * (stale-while-revalidate) so requests never wait on the control plane once warm. When the
 * control plane cannot be reached the last snapshot keeps serving and `status()` says so.
 */
import { MeshError } from "@weft/sdk";
import { validateDocuments } from "@weft/sdk/config";
import type { SnapshotAnswer, SnapshotPayload } from "../../control-durable/src/types.js";
import { compileSnapshot } from "./routing/compile.js";
import type { Snapshot } from "./routing/snapshot.js";

/** Where snapshots come from: the control plane, or a stand-in in tests. */
export interface ConfigSource {
  getSnapshot(knownVersion: number | null): Promise<SnapshotAnswer>;
}

export interface ConfigCacheOptions {
  refreshIntervalMs: number;
  now: () => number;
  /** A pull that has not answered after this long counts as failed, so a hung control plane cannot stop refreshes. */
  pullTimeoutMs?: number;
}

export interface ConfigStatus {
  /** Version in use; null before the first successful load. */
  version: number | null;
  /** The last refresh failed, or none succeeded for three intervals: serving the last known config. */
  stale: boolean;
  /** Milliseconds since the control plane last confirmed the version in use. */
  ageMs: number | null;
  lastError: string | null;
  ruleCount: number;
}

export const DEFAULT_REFRESH_INTERVAL_MS = 5_000;
export const DEFAULT_PULL_TIMEOUT_MS = 5_000;
/** While cold, after a failed pull, requests fail fast for this long instead of each waiting on a dead control plane. */
export const COLD_RETRY_MS = 1_000;

export class ConfigCache {
  private snapshot: Snapshot | undefined;
  private confirmedAt = 0;
  private lastAttemptAt = 0;
  private lastError: string | null = null;
  private inflight: Promise<Snapshot> | undefined;

  constructor(
    private readonly source: ConfigSource,
    private readonly options: ConfigCacheOptions,
  ) {}

  /**
   * The snapshot to serve this request with. Cold: waits for the first load (the only time a
   * request waits). Warm: returns at once and, when due, refreshes through `waitUntil`.
   */
  async get(waitUntil: (promise: Promise<unknown>) => void): Promise<Snapshot> {
    const current = this.snapshot;
    if (!current) {
      if (this.lastError !== null && this.options.now() - this.lastAttemptAt < COLD_RETRY_MS && !this.inflight) {
        throw new MeshError("control_plane_unavailable", "the gateway has no configuration yet and the control plane did not answer");
      }
      return this.refresh();
    }
    if (this.options.now() - this.lastAttemptAt >= this.options.refreshIntervalMs && !this.inflight) {
      waitUntil(this.refresh().catch(() => undefined));
    }
    return current;
  }

  /** Pulls from the source now (single-flight). Rejects only when there is nothing to serve. */
  refresh(): Promise<Snapshot> {
    this.inflight ??= this.pull().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Installs a version the admin surface just applied, so this isolate serves it at once. */
  install(payload: SnapshotPayload): Snapshot {
    const snapshot = compilePayload(payload);
    this.snapshot = snapshot;
    this.confirmedAt = this.lastAttemptAt = this.options.now();
    this.lastError = null;
    return snapshot;
  }

  /** The snapshot in use, if any (no refresh). */
  current(): Snapshot | undefined {
    return this.snapshot;
  }

  status(): ConfigStatus {
    const now = this.options.now();
    const snapshot = this.snapshot;
    return {
      version: snapshot?.version ?? null,
      stale: snapshot !== undefined && (this.lastError !== null || now - this.confirmedAt > 3 * this.options.refreshIntervalMs),
      ageMs: snapshot ? now - this.confirmedAt : null,
      lastError: this.lastError,
      ruleCount: snapshot?.ruleCount ?? 0,
    };
  }

  private async withTimeout<T>(pending: Promise<T>): Promise<T> {
    const limit = this.options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expiry = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`control plane did not answer within ${limit} ms`)), limit);
    });
    try {
      return await Promise.race([pending, expiry]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  private async pull(): Promise<Snapshot> {
    this.lastAttemptAt = this.options.now();
    try {
      const answer = await this.withTimeout(this.source.getSnapshot(this.snapshot?.version ?? null));
      if (answer.changed) {
        this.snapshot = compilePayload(answer.snapshot);
      } else if (!this.snapshot || this.snapshot.version !== answer.version) {
        // The source claims "unchanged" for a version this isolate does not hold: ask in full.
        const full = await this.withTimeout(this.source.getSnapshot(null));
        if (!full.changed) throw new Error("control plane answered 'unchanged' to an unconditional pull");
        this.snapshot = compilePayload(full.snapshot);
      }
      this.confirmedAt = this.options.now();
      this.lastError = null;
      return this.snapshot;
    } catch (error) {
      this.lastError = describe(error);
      if (this.snapshot) return this.snapshot;
      throw new MeshError("control_plane_unavailable", "the gateway has no configuration yet and the control plane did not answer");
    }
  }
}

function compilePayload(payload: SnapshotPayload): Snapshot {
  const validation = validateDocuments(payload.documents);
  if (!validation.ok) {
    const first = validation.issues[0];
    throw new Error(`config version ${payload.version} does not validate: ${first ? `${first.path} ${first.message}` : "unknown issue"}`);
  }
  return compileSnapshot(validation.value, payload.version);
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
