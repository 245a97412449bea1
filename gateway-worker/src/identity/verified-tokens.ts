/**
 * Tokens this isolate has already verified, so a caller's repeat token costs a map lookup instead
 * of a signature check. Bounded: the oldest entries go first. An entry is used only while the token
 * is unexpired and its key is still published (a removed key's tokens stop working at once).
 */
import { CLOCK_SKEW_SECONDS } from "@weft/sdk";
import type { VerifiedCaller } from "./verify-svid.js";

export interface VerifiedEntry {
  caller: VerifiedCaller;
  kid: string;
  exp: number;
}

export class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedEntry>();

  constructor(readonly capacity = 10_000) {}

  get(token: string, nowSeconds: number, keyPublished: (kid: string) => boolean): VerifiedEntry | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.exp + CLOCK_SKEW_SECONDS <= nowSeconds || !keyPublished(entry.kid)) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, entry: VerifiedEntry): void {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, entry);
  }

  get size(): number {
    return this.entries.size;
  }
}
