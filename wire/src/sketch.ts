/**
 * A DDSketch (Masson, Rim, Lee, VLDB 2019): latency quantiles with a guaranteed relative error
 * (1% by default), mergeable by adding bin counts, so per-isolate sketches can be summed in the
 * telemetry objects and still answer p50/p99 within 1%. Values are mapped to logarithmic bins
 * i = ceil(log_γ(x)) with γ = (1 + α) / (1 − α); a bin's representative 2γ^i / (γ + 1) is within
 * α of every value in it.
 *
 * Written here rather than taken from @datadog/sketches-js: that package's serialization needs
 * protobufjs, which it does not declare, and weft needs a plain JSON form for RPC and SQLite.
 * Bins are a sparse map (a few hundred at most for latencies from 1 µs to hours).
 */

export const DEFAULT_RELATIVE_ACCURACY = 0.01;
/** Values at or below this (ms) count as zero: far below anything a network call takes. */
const MIN_INDEXABLE = 1e-6;

/** The JSON form: what crosses RPC and sits in SQLite. */
export interface SketchData {
  relativeAccuracy: number;
  count: number;
  zeroCount: number;
  sum: number;
  min: number;
  max: number;
  /** Bin index → count. */
  bins: Record<string, number>;
}

export class LatencySketch {
  readonly relativeAccuracy: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly bins = new Map<number, number>();
  count = 0;
  zeroCount = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) throw new RangeError("relativeAccuracy must be between 0 and 1");
    this.relativeAccuracy = relativeAccuracy;
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
  }

  /** Records one value (ms). Negative values are clamped to 0. O(1). */
  add(value: number, weight = 1): void {
    const v = Number.isFinite(value) && value > 0 ? value : 0;
    this.count += weight;
    this.sum += v * weight;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v <= MIN_INDEXABLE) {
      this.zeroCount += weight;
      return;
    }
    const index = Math.ceil(Math.log(v) / this.logGamma);
    this.bins.set(index, (this.bins.get(index) ?? 0) + weight);
  }

  /** Adds another sketch's counts (same accuracy only). */
  merge(other: LatencySketch | SketchData): void {
    const data = other instanceof LatencySketch ? other.toJSON() : other;
    if (data.relativeAccuracy !== this.relativeAccuracy) throw new RangeError("sketches with different accuracies cannot be merged");
    if (data.count === 0) return;
    this.count += data.count;
    this.zeroCount += data.zeroCount;
    this.sum += data.sum;
    if (data.min < this.min) this.min = data.min;
    if (data.max > this.max) this.max = data.max;
    for (const [key, count] of Object.entries(data.bins)) {
      const index = Number(key);
      this.bins.set(index, (this.bins.get(index) ?? 0) + count);
    }
  }

  /**
   * The value at quantile q (0..1), within relativeAccuracy of the true one; NaN when empty.
   * Uses the lower rank q × (count − 1), as DDSketch does.
   */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    if (rank < this.zeroCount) return 0;
    let seen = this.zeroCount;
    const indexes = [...this.bins.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      seen += this.bins.get(index) ?? 0;
      if (seen > rank) {
        const value = (2 * this.gamma ** index) / (this.gamma + 1);
        // Never answer outside what was seen.
        return Math.min(Math.max(value, this.min), this.max);
      }
    }
    return this.max;
  }

  toJSON(): SketchData {
    const bins: Record<string, number> = {};
    for (const [index, count] of this.bins) bins[String(index)] = count;
    return { relativeAccuracy: this.relativeAccuracy, count: this.count, zeroCount: this.zeroCount, sum: this.sum, min: this.min, max: this.max, bins };
  }

  static fromJSON(data: SketchData): LatencySketch {
    const sketch = new LatencySketch(data.relativeAccuracy);
    sketch.merge(data);
    return sketch;
  }
}
