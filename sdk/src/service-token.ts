/**
 * The calling function's own identity: its bootstrap credential (a wrangler secret) exchanged at
 * the gateway (`POST /.weft/token`) for a short-lived SVID, cached, renewed at about half its
 * lifetime (with jitter, so a fleet does not renew in step), one exchange at a time however many
 * requests need a token at once.
 */
import { MeshError, meshErrorFromResponse } from "./errors.js";
import type { MeshBinding } from "./client.js";

export interface ServiceTokenOptions {
  now?: () => number;
  random?: () => number;
}

interface Held {
  token: string;
  expiresAt: number;
  renewAt: number;
}

/** Tokens this close to expiry are never used. */
const EXPIRY_MARGIN_MS = 30_000;

export class ServiceToken {
  private held: Held | undefined;
  private inflight: Promise<Held> | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Exchanges made (for tests and diagnostics). */
  exchanges = 0;

  constructor(
    private readonly binding: MeshBinding,
    private readonly credential: string,
    options: ServiceTokenOptions = {},
  ) {
    if (!/^weft1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential)) {
      throw new TypeError("the weft credential is malformed; create one with POST /.weft/api/v1/credentials and store it as a secret");
    }
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** A valid SVID, exchanging or renewing first when needed. */
  async get(): Promise<string> {
    const held = this.held;
    const now = this.now();
    if (held && now < held.renewAt && now < held.expiresAt - EXPIRY_MARGIN_MS) return held.token;
    return (await this.exchange()).token;
  }

  /** Forget the held token (the gateway refused it); the next `get` exchanges again. */
  invalidate(token: string): void {
    if (this.held?.token === token) this.held = undefined;
  }

  private exchange(): Promise<Held> {
    this.inflight ??= this.performExchange().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async performExchange(): Promise<Held> {
    this.exchanges++;
    const requestedAt = this.now();
    const response = await this.binding.fetch("http://gateway.mesh/.weft/token", { method: "POST", headers: { authorization: `Bearer ${this.credential}` } });
    if (!response.ok) {
      const meshError = await meshErrorFromResponse(response);
      throw meshError ?? new MeshError("unauthenticated", `the token exchange answered ${response.status}`);
    }
    const body = (await response.json()) as { token?: unknown; expiresAt?: unknown };
    const expiresAt = typeof body.expiresAt === "string" ? Date.parse(body.expiresAt) : Number.NaN;
    if (typeof body.token !== "string" || !Number.isFinite(expiresAt)) throw new MeshError("unauthenticated", "the token exchange answered without a token");
    const lifetime = Math.max(0, expiresAt - requestedAt);
    // Renew at 40–60% of the lifetime.
    const held = { token: body.token, expiresAt, renewAt: requestedAt + lifetime * (0.4 + 0.2 * this.random()) };
    this.held = held;
    return held;
  }
}
