/**
 * Weighted choice among a rule's destinations. Pure: the caller passes a random number in [0, 1),
 * so tests can drive every branch and the gateway can use Math.random.
 */
export interface Weighted {
  /** Running total of weights up to and including this entry. */
  readonly cumulativeWeight: number;
}

/** Picks the entry whose cumulative-weight band contains `random × total`. Binary search: O(log n). */
export function pickWeighted<T extends Weighted>(entries: readonly T[], random: number): T {
  const last = entries[entries.length - 1];
  if (!last) throw new RangeError("pickWeighted needs at least one entry");
  const target = Math.min(Math.max(random, 0), 0.999_999_999) * last.cumulativeWeight;
  let low = 0;
  let high = entries.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (target < (entries[mid] as T).cumulativeWeight) high = mid;
    else low = mid + 1;
  }
  return entries[low] as T;
}

/** Adds running totals to weighted items, in order. */
export function withCumulativeWeights<T extends { weight: number }>(items: readonly T[]): (T & Weighted)[] {
  let total = 0;
  return items.map((item) => {
    total += item.weight;
    return { ...item, cumulativeWeight: total };
  });
}
