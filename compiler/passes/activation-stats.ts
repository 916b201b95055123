/**
 * Streamed statistics of each ReLU's activations for calibration, in bounded memory. Per output
 * channel it keeps the non-zero activations either exactly (every value, sorted at the end: NumPy's
 * percentiles to the last bit) or, when the calibration would produce more values than EXACT_BUDGET,
 * as a histogram on the float32 bit pattern: a bin is one binary exponent and the top HISTOGRAM_BITS
 * mantissa bits, so its width is at most 2^-HISTOGRAM_BITS of its values (0.4 %), rows of a channel
 * are allocated only for exponents it reaches, and a percentile interpolates linearly inside its bin.
 * It also counts every value (zeros included) for the sparsity figure. It does not choose λ
 * (calibrate.ts does) and does not run the network.
 */

/** Largest number of activations (all ReLUs × samples, zeros included) kept exactly: 256 MiB of float32. */
export const EXACT_BUDGET = 2 ** 26;
/** Mantissa bits per histogram bin. */
export const HISTOGRAM_BITS = 8;

const SHIFT = 23 - HISTOGRAM_BITS;
const ROW = 1 << HISTOGRAM_BITS;

/** Sorted points with weights (how many activations each stands for). */
export interface WeightedPoints {
  readonly values: Float64Array;
  readonly weights: Float64Array;
}

/** The non-zero activations of one channel (or of several merged). */
export interface ChannelValues {
  /** Number of non-zero activations. */
  readonly count: number;
  readonly max: number;
  /** NumPy's linear percentile of the non-zero activations (0 when there are none). */
  percentile(p: number): number;
  /** How many non-zero activations exceed x. */
  countAbove(x: number): number;
  /** At most about maxPoints sorted points standing for all the activations. */
  points(maxPoints: number): WeightedPoints;
}

/** NumPy's default (linear) percentile of a sorted array. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Every value; sorted on first use (a channel's percentiles are needed only for per-channel λ). */
class ExactValues implements ChannelValues {
  private data: Float32Array;
  private isSorted = false;
  constructor(values: Float32Array) {
    this.data = values;
  }
  /** The values, in no particular order until sorted. */
  get values(): Float32Array {
    return this.data;
  }
  get sorted(): Float32Array {
    if (!this.isSorted) {
      this.data.sort();
      this.isSorted = true;
    }
    return this.data;
  }
  get count(): number {
    return this.data.length;
  }
  get max(): number {
    if (this.isSorted) return this.data.length ? this.data[this.data.length - 1] : 0;
    let m = 0;
    for (let i = 0; i < this.data.length; i++) if (this.data[i] > m) m = this.data[i];
    return m;
  }
  percentile(p: number): number {
    return percentileOfSorted(this.sorted, p);
  }
  countAbove(x: number): number {
    let above = 0;
    for (let i = 0; i < this.data.length; i++) if (this.data[i] > x) above++;
    return above;
  }
  points(maxPoints: number): WeightedPoints {
    const sorted = this.sorted;
    const stride = Math.max(1, Math.floor(sorted.length / maxPoints));
    const n = Math.ceil(sorted.length / stride);
    return { values: Float64Array.from({ length: n }, (_, k) => sorted[k * stride]), weights: new Float64Array(n).fill(stride) };
  }
}

const bitsView = new Uint32Array(1);
const floatView = new Float32Array(bitsView.buffer);
/** The smallest float32 of bin `bin` (bin = bits >>> SHIFT). */
function binStart(bin: number): number {
  bitsView[0] = bin << SHIFT;
  return floatView[0];
}

/** A log-histogram: counts per bin, in rows of ROW bins per binary exponent. */
class HistogramValues implements ChannelValues {
  /** Per binary exponent (0…255), the counts of its ROW bins, allocated when first reached. */
  readonly rows: (Float64Array | undefined)[] = new Array(256).fill(undefined);
  max = 0;

  /**
   * Adds values[from, to) (bits: the same memory as uint32), zeros too, without a data-dependent
   * branch (half the values of a ReLU are zeros, at random): a zero lands in bin 0, which is not
   * counted as an activation (nor are the positive values below 2^-141 that share it; −0 is +0 here).
   */
  addRange(values: Float32Array, bits: Uint32Array, from: number, to: number): void {
    const rows = this.rows;
    let max = this.max;
    for (let i = from; i < to; i++) {
      const bin = (bits[i] & 0x7fffffff) >>> SHIFT;
      (rows[bin >>> HISTOGRAM_BITS] ?? this.newRow(bin >>> HISTOGRAM_BITS))[bin & (ROW - 1)]++;
      const v = values[i];
      if (v > max) max = v;
    }
    this.max = max;
  }

  private newRow(e: number): Float64Array {
    return (this.rows[e] = new Float64Array(ROW));
  }

  /** Non-zero activations: everything added but bin 0. */
  get count(): number {
    let n = 0;
    this.rows.forEach((row, e) => {
      if (row) for (let i = e === 0 ? 1 : 0; i < ROW; i++) n += row[i];
    });
    return n;
  }

  merge(other: HistogramValues): void {
    other.rows.forEach((r, e) => {
      if (!r) return;
      const row = this.rows[e];
      if (row) for (let i = 0; i < ROW; i++) row[i] += r[i];
      else this.rows[e] = r.slice();
    });
    this.max = Math.max(this.max, other.max);
  }

  /** Bins in increasing order with their counts and value ranges [lo, hi) (the top bin ends at max). */
  private *bins(): Generator<{ count: number; lo: number; hi: number }> {
    for (let e = 0; e < this.rows.length; e++) {
      const row = this.rows[e];
      if (!row) continue;
      for (let i = e === 0 ? 1 : 0; i < ROW; i++) {
        if (row[i] === 0) continue;
        const bin = (e << HISTOGRAM_BITS) | i;
        yield { count: row[i], lo: binStart(bin), hi: Math.min(binStart(bin + 1), this.max) };
      }
    }
  }

  percentile(p: number): number {
    const count = this.count;
    if (count === 0) return 0;
    const pos = (p / 100) * (count - 1);
    let seen = 0;
    for (const b of this.bins()) {
      // Inside a bin the values are taken as evenly spread from its start to its end (the top bin ends at max).
      if (pos < seen + b.count) return b.count === 1 ? (b.hi === this.max ? this.max : b.lo) : b.lo + ((b.hi - b.lo) * (pos - seen)) / (b.count - 1);
      seen += b.count;
    }
    return this.max;
  }

  countAbove(x: number): number {
    let above = 0;
    for (const b of this.bins()) {
      if (b.lo > x) above += b.count;
      else if (b.hi > x) above += (b.count * (b.hi - x)) / (b.hi - b.lo);
    }
    return above;
  }

  points(): WeightedPoints {
    const all = [...this.bins()];
    return { values: Float64Array.from(all, (b) => (b.lo + b.hi) / 2), weights: Float64Array.from(all, (b) => b.count) };
  }
}

/** A growable float32 buffer. */
class Collector {
  private buf = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Float32Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = v;
  }
  values(): Float32Array {
    return this.buf.slice(0, this.length);
  }
}

/** One ReLU's statistics: its channels' non-zero activations and the count of all activations. */
export interface LayerStats {
  /** Per channel (first axis); kept exactly, or as histograms when asked for (per-channel λ). */
  readonly channels?: readonly ChannelValues[];
  /** All channels together. */
  readonly merged: ChannelValues;
  /** Activations seen, zeros included. */
  readonly total: number;
  /** The ReLU's trained clip ceiling, if any. */
  readonly clip?: number;
}

export interface AccumulatorOptions {
  /** Keep every value (else histograms). */
  readonly exact: boolean;
  /** With histograms: one per channel too (only per-channel λ needs them). */
  readonly perChannel: boolean;
  readonly clip?: number;
}

/**
 * Accumulates batches of one ReLU's activations [count, C, ...] (channel-major per sample). Exact or
 * histograms: the caller decides up front from the expected number of values.
 */
export class LayerAccumulator {
  private readonly exact: Collector[] | undefined;
  private readonly merged = new HistogramValues();
  private readonly channelHistograms: HistogramValues[] | undefined;
  private total = 0;

  constructor(private readonly channels: number, private readonly perSample: number, private readonly options: AccumulatorOptions) {
    if (options.exact) this.exact = Array.from({ length: channels }, () => new Collector());
    else if (options.perChannel) this.channelHistograms = Array.from({ length: channels }, () => new HistogramValues());
  }

  add(values: Float32Array, count: number): void {
    const perC = this.perSample / this.channels;
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    this.total += count * this.perSample;
    if (!this.exact && !this.channelHistograms) return this.merged.addRange(values, bits, 0, count * this.perSample);
    for (let s = 0; s < count; s++) {
      for (let c = 0; c < this.channels; c++) {
        const from = s * this.perSample + c * perC;
        if (this.channelHistograms) {
          this.channelHistograms[c].addRange(values, bits, from, from + perC);
          continue;
        }
        const col = this.exact![c];
        for (let i = from; i < from + perC; i++) if (values[i] > 0) col.push(values[i]);
      }
    }
  }

  finish(): LayerStats {
    const { clip } = this.options;
    if (this.exact) {
      const channels = this.exact.map((c) => new ExactValues(c.values()));
      return { channels, merged: mergeExact(channels), total: this.total, clip };
    }
    if (this.channelHistograms) for (const h of this.channelHistograms) this.merged.merge(h);
    return { channels: this.channelHistograms, merged: this.merged, total: this.total, clip };
  }
}
function mergeExact(channels: readonly ExactValues[]): ExactValues {
  if (channels.length === 1) return channels[0];
  const all = new Float32Array(channels.reduce((k, c) => k + c.count, 0));
  let k = 0;
  for (const c of channels) {
    all.set(c.values, k);
    k += c.count;
  }
  return new ExactValues(all);
}
