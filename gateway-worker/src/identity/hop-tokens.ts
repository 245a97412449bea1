/**
 * Hop tokens the gateway attaches for destinations (`x-weft-identity`), minted by the control
 * plane and cached here per caller→destination pair. A cached token is used until half its
 * lifetime, then renewed in the background while it keeps being used, so the request path does
 * no signing and, in the steady state, no control-plane call.
 */
export interface MintedToken {
  token: string;
  expiresAt: string;
}

interface Entry {
  token: string;
  expiresAt: number;
  renewAt: number;
}

/** A token this close to expiry is not handed out. */
const EXPIRY_MARGIN_MS = 30_000;

export class HopTokens {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry | undefined>>();
  /** Tokens minted (for tests and status). */
  mints = 0;

  constructor(
    private readonly mint: (caller: string, destination: string) => Promise<MintedToken | null>,
    private readonly options: { now: () => number; capacity?: number },
  ) {}

  /** Caller→destination pairs holding a token (at most `capacity`, default 10,000). */
  get size(): number {
    return this.entries.size;
  }

  get capacity(): number {
    return this.options.capacity ?? 10_000;
  }

  async get(caller: string, destination: string, waitUntil: (promise: Promise<unknown>) => void): Promise<string | undefined> {
    return this.cached(caller, destination, waitUntil) ?? (await this.renew(`${caller} ${destination}`, caller, destination))?.token;
  }

  /**
   * The pair's token when one is in hand and not near expiry (renewed in the background past half
   * its lifetime), without a promise: the steady state of the request path. Otherwise undefined,
   * and the caller waits on `get`.
   */
  cached(caller: string, destination: string, waitUntil: (promise: Promise<unknown>) => void): string | undefined {
    const key = `${caller} ${destination}`;
    const now = this.options.now();
    const entry = this.entries.get(key);
    if (!entry || now >= entry.expiresAt - EXPIRY_MARGIN_MS) return undefined;
    if (now >= entry.renewAt) waitUntil(this.renew(key, caller, destination).catch(() => undefined));
    return entry.token;
  }

  private renew(key: string, caller: string, destination: string): Promise<Entry | undefined> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.load(key, caller, destination).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async load(key: string, caller: string, destination: string): Promise<Entry | undefined> {
    const requestedAt = this.options.now();
    const minted = await this.mint(caller, destination);
    this.mints++;
    if (!minted) return undefined;
    const expiresAt = Date.parse(minted.expiresAt);
    const entry = { token: minted.token, expiresAt, renewAt: requestedAt + (expiresAt - requestedAt) / 2 };
    if (this.entries.size >= this.capacity && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
    return entry;
  }
}
