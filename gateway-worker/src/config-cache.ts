/**
 * The isolate's copy of the config: a compiled Snapshot, refreshed in the background
 * (stale-while-revalidate) so requests never wait on the control plane once warm. When the
 * control plane cannot be reached the last snapshot keeps serving and `status()` says so.
 */
import { MeshError } from "@weft/sdk";
import { configSetOf, type ConfigDoc, type ValidConfigSet } from "@weft/sdk/config";
import { NORMALIZED_FORMAT, type NormalizedDocuments, type SnapshotAnswer, type SnapshotPayload, type SnapshotText } from "../../wire/src/snapshot.js";
import { compileSnapshot, compileSnapshotInSlices } from "./routing/compile.js";
import type { Snapshot } from "./routing/snapshot.js";
import { bounded } from "./bounded.js";

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
  /**
   * The control plane could not be reached or answered with an error (the last pull failed or is
   * past its time limit): serving the last known config. Idleness alone is never stale.
   */
  stale: boolean;
  /** Milliseconds since the control plane last confirmed the version in use. */
  ageMs: number | null;
  lastError: string | null;
  /** Pulls that have failed in a row (0 once one succeeds); each doubles the wait before the next. */
  refreshFailures: number;
  ruleCount: number;
}

export const DEFAULT_REFRESH_INTERVAL_MS = 5_000;
export const DEFAULT_PULL_TIMEOUT_MS = 5_000;
/** While cold, after a failed pull, requests fail fast for this long instead of each waiting on a dead control plane. */
export const COLD_RETRY_MS = 1_000;
/** Longest wait between pulls while they keep failing (refreshes back off from the interval, doubling). */
export const MAX_REFRESH_BACKOFF_MS = 60_000;

/** Whatever keeps a background promise alive after the response: the request's `ctx.waitUntil`. */
export type KeepAlive = (promise: Promise<unknown>) => void;

interface Pull {
  readonly id: number;
  readonly startedAt: number;
  readonly promise: Promise<Snapshot>;
}

/**
 * Pulls are shared between requests, but on Workers a promise belongs to the request that made
 * it: once that request is gone its I/O and timers may never settle. So a pull is never trusted
 * to end by itself. Every waiter bounds its own wait with a timer of its own request, and a pull
 * older than its time limit is abandoned on the clock by whoever comes next, so no caller,
 * however careless with `waitUntil`, can stop this isolate's refreshes.
 */
export class ConfigCache {
  private snapshot: Snapshot | undefined;
  private confirmedAt = 0;
  private lastAttemptAt = 0;
  private lastError: string | null = null;
  /** Pulls failed in a row: an overloaded or dead control plane is asked less and less often. */
  private failures = 0;
  private inflight: Pull | undefined;
  private pulls = 0;

  constructor(
    private readonly source: ConfigSource,
    private readonly options: ConfigCacheOptions,
  ) {}

  private get pullTimeoutMs(): number {
    return this.options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
  }

  /**
   * The snapshot to serve this request with. Cold: waits for the first load (the only time a
   * request waits). Warm: returns at once and, when due, refreshes in the background, kept alive
   * by `keepAlive` (the request's `ctx.waitUntil`).
   */
  async get(keepAlive: KeepAlive): Promise<Snapshot> {
    const current = this.ready(keepAlive);
    if (!current) {
      if (this.lastError !== null && this.options.now() - this.lastAttemptAt < COLD_RETRY_MS && !this.inflight) {
        throw new MeshError("control_plane_unavailable", "the gateway has no configuration yet and the control plane did not answer");
      }
      return this.waitForPull();
    }
    return current;
  }

  /**
   * The snapshot in use without waiting (the steady state), starting a background refresh under
   * `keepAlive` when one is due; undefined while cold, when only `get` can wait for a first pull.
   */
  ready(keepAlive: KeepAlive): Snapshot | undefined {
    const current = this.snapshot;
    if (current && this.refreshDue()) keepAlive(this.waitForPull().catch(() => undefined));
    return current;
  }

  /**
   * The snapshot in use without starting a background refresh (operator reads: they need names,
   * not the newest version); loads it, waiting in the caller's own request, only when cold.
   */
  async currentOrLoad(): Promise<Snapshot> {
    return this.snapshot ?? this.waitForPull();
  }

  /**
   * Refreshes now when one is due or the last one failed, waiting at most `boundMs` for it (the
   * pull itself goes on under `keepAlive`). For health checks: an idle isolate answers with a
   * confirmed version instead of an old one. Never rejects.
   */
  async refreshIfDue(boundMs: number, keepAlive: KeepAlive): Promise<void> {
    // After failures the backoff decides too: health checks must not hammer a struggling control plane.
    if (this.snapshot && !this.refreshDue()) return;
    const pull = this.waitForPull().catch(() => undefined);
    keepAlive(pull);
    await this.bounded(pull, boundMs).catch(() => undefined);
  }

  /** Pulls from the source now (single-flight) and waits for it. Rejects only when there is nothing to serve. */
  refresh(): Promise<Snapshot> {
    return this.waitForPull();
  }

  /** Installs a version the admin surface just applied, so this isolate serves it at once. */
  install(payload: SnapshotPayload): Snapshot {
    return this.installCompiled(compilePayload(payload));
  }

  /**
   * `install` from the control plane's JSON text of the version: read a document at a time and
   * compiled in slices, with `pause` between them, so requests waiting on this isolate are served
   * in between. A newer version a pull installed meanwhile stays.
   */
  async installText(text: SnapshotText, pause: () => Promise<void>): Promise<Snapshot> {
    const held = this.snapshot;
    const normalized = readable(text.version, text.documentCount, text.normalized && { ...text.normalized, documents: await parseInSlices(text.normalized.documents, pause) });
    await pause();
    const compiled = await compileSnapshotInSlices(normalizedSet(normalized), text.version, pause);
    if (this.snapshot && this.snapshot !== held && this.snapshot.version > compiled.version) return this.snapshot;
    return this.installCompiled(compiled);
  }

  private installCompiled(snapshot: Snapshot): Snapshot {
    this.snapshot = snapshot;
    this.confirmedAt = this.lastAttemptAt = this.options.now();
    this.lastError = null;
    this.failures = 0;
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
      stale: snapshot !== undefined && (this.lastError !== null || this.pullOverdue(now)),
      ageMs: snapshot ? now - this.confirmedAt : null,
      lastError: this.lastError ?? (this.pullOverdue(now) ? this.overdueMessage() : null),
      refreshFailures: this.failures,
      ruleCount: snapshot?.ruleCount ?? 0,
    };
  }

  private refreshDue(): boolean {
    const now = this.options.now();
    if (this.inflight && !this.pullOverdue(now)) return false;
    return now - this.lastAttemptAt >= this.refreshDelayMs() || this.pullOverdue(now);
  }

  /** The interval, doubled for each pull failed in a row, up to MAX_REFRESH_BACKOFF_MS. */
  private refreshDelayMs(): number {
    const interval = this.options.refreshIntervalMs;
    if (this.failures === 0) return interval;
    return Math.min(Math.max(MAX_REFRESH_BACKOFF_MS, interval), interval * 2 ** Math.min(this.failures, 16));
  }

  private pullOverdue(now: number): boolean {
    return this.inflight !== undefined && now - this.inflight.startedAt >= this.pullTimeoutMs;
  }

  private overdueMessage(): string {
    return `control plane did not answer within ${this.pullTimeoutMs} ms`;
  }

  /** The running pull, or a new one when there is none or the running one is past its time limit. */
  private currentPull(): Pull {
    const now = this.options.now();
    if (this.inflight && this.pullOverdue(now)) {
      this.lastError = this.overdueMessage();
      this.failures++;
      this.inflight = undefined; // abandoned: whatever it brings later is ignored
    }
    if (!this.inflight) {
      const id = ++this.pulls;
      const promise = this.pull(id).finally(() => {
        if (this.inflight?.id === id) this.inflight = undefined;
      });
      this.inflight = { id, startedAt: now, promise };
    }
    return this.inflight;
  }

  /** Waits for the shared pull with a timer of the caller's own request, for what is left of the pull's time. */
  private async waitForPull(): Promise<Snapshot> {
    const pull = this.currentPull();
    const left = Math.max(1, this.pullTimeoutMs - (this.options.now() - pull.startedAt));
    try {
      return await this.bounded(pull.promise, left);
    } catch (error) {
      if (this.inflight?.id === pull.id) {
        this.lastError = describe(error);
        this.inflight = undefined;
      }
      if (this.snapshot) return this.snapshot;
      throw error instanceof MeshError ? error : new MeshError("control_plane_unavailable", "the gateway has no configuration yet and the control plane did not answer");
    }
  }

  private bounded<T>(pending: Promise<T>, limitMs: number): Promise<T> {
    // The message names the pull timeout (healthz's lastRefreshError), whatever is left of it.
    return bounded(pending, limitMs, `control plane did not answer within ${this.pullTimeoutMs} ms`);
  }

  /** One pull. Results of a pull that was abandoned meanwhile are dropped. */
  private async pull(id: number): Promise<Snapshot> {
    this.lastAttemptAt = this.options.now();
    const current = () => this.inflight?.id === id;
    try {
      const answer = await this.bounded(this.source.getSnapshot(this.snapshot?.version ?? null), this.pullTimeoutMs);
      let next = this.snapshot;
      if (answer.changed) {
        next = compilePayload(answer.snapshot);
      } else if (!next || next.version !== answer.version) {
        // The source claims "unchanged" for a version this isolate does not hold: ask in full.
        const full = await this.bounded(this.source.getSnapshot(null), this.pullTimeoutMs);
        if (!full.changed) throw new Error("control plane answered 'unchanged' to an unconditional pull");
        next = compilePayload(full.snapshot);
      }
      if (current()) {
        // Versions only grow (a rollback is a new version): never go back to an older one.
        if (!this.snapshot || next.version >= this.snapshot.version) this.snapshot = next;
        this.confirmedAt = this.options.now();
        this.lastError = null;
        this.failures = 0;
      }
      return this.snapshot ?? next;
    } catch (error) {
      if (current()) {
        this.lastError = describe(error);
        this.failures++;
      }
      if (this.snapshot) return this.snapshot;
      throw new MeshError("control_plane_unavailable", "the gateway has no configuration yet and the control plane did not answer");
    }
  }
}

/**
 * A pulled or applied version → a compiled snapshot. The control plane validated the set once
 * when it was applied and ships its normalized form; that is compiled as is. The gateway Worker
 * carries no validator (docs/architecture.md#why-two-workers), so a version without the normalized
 * form it reads (a control Worker of another release, or a stored version today's schema refuses)
 * is refused: a warm isolate keeps serving what it has, and healthz names the reason.
 */
function compilePayload(payload: SnapshotPayload): Snapshot {
  return compileSnapshot(normalizedSet(readable(payload.version, payload.documents.length, payload.normalized)), payload.version);
}

/** Characters of JSON read between two pauses of `installText`: a few milliseconds of work. */
const JSON_CHARS_PER_SLICE = 192 * 1024;

/** The documents of their JSON texts, pausing between slices. */
async function parseInSlices(texts: readonly string[], pause: () => Promise<void>): Promise<ConfigDoc[]> {
  const documents: ConfigDoc[] = [];
  let chars = 0;
  for (const text of texts) {
    if (chars > 0 && chars + text.length > JSON_CHARS_PER_SLICE) {
      chars = 0;
      await pause();
    }
    documents.push(JSON.parse(text) as ConfigDoc);
    chars += text.length;
  }
  return documents;
}

/** A version's normalized form (of `documentCount` raw documents) when this gateway can compile it; otherwise throws why not. */
function readable(version: number, documentCount: number, normalized: NormalizedDocuments | undefined): NormalizedDocuments {
  if (normalized?.format !== NORMALIZED_FORMAT || normalized.documents.length !== documentCount) {
    const found = normalized === undefined ? "no normalized form" : `normalized format ${JSON.stringify(normalized.format)} with ${normalized.documents.length} of ${documentCount} documents`;
    throw new Error(`config version ${version} cannot be compiled: it comes with ${found}, and this gateway reads ${NORMALIZED_FORMAT}; deploy the control Worker and the gateway from the same weft release`);
  }
  return normalized;
}

/** The set exactly as `validateDocuments` built it from the raw documents, rebuilt from their normalized form. */
function normalizedSet(normalized: NormalizedDocuments): ValidConfigSet {
  return configSetOf(normalized.mesh, normalized.documents);
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
