/**
 * In-flight request counts by key (per destination service, per endpoint): the counters behind
 * Envoy's circuit breaker (max_requests) and the least-request balancer. Keys at zero are deleted,
 * so memory follows what is in flight now, not every key ever seen.
 */
export class InFlight {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Counts one more request unless `limit` are already in flight; false means shed it. */
  tryAcquire(key: string, limit: number): boolean {
    const current = this.get(key);
    if (current >= limit) return false;
    this.counts.set(key, current + 1);
    return true;
  }

  /** Counts one more request with no limit (bookkeeping only, e.g. per endpoint). */
  acquire(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }

  /** Ends one request. A release without an acquire is ignored rather than driving the count negative. */
  release(key: string): void {
    const current = this.get(key);
    if (current <= 1) this.counts.delete(key);
    else this.counts.set(key, current - 1);
  }

  /** Keys with requests in flight. */
  get size(): number {
    return this.counts.size;
  }
}
