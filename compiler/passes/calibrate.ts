/**
 * Calibration for ANN→SNN conversion: runs the ANN (the IR with relu layers, T = 1) in the reference
 * simulator over calibration samples, keeps each ReLU's non-zero activations, and turns them into
 * activation scales λ (conversion.md §2.2):
 * - max:     the largest activation;
 * - p99.9:   a percentile (default 99.9) of the non-zero activations (snn_toolbox semantics; linear
 *            interpolation between order statistics, as NumPy's default);
 * - channel: that percentile per output channel;
 * - mse:     quantisation-aware: the λ among the 90th–100th percentiles (steps of 0.05) that minimises
 *            Σ (a − Q_T(a))² over the activations, where Q_T is what an IF neuron computes in T steps
 *            from a constant input (§1.2): λ·clip(round(a·T/λ), 0, T)/T for v(0) = θ/2 (floor for v(0) = 0);
 * - qcfs:    the ReLU's trained clip ceiling, no data.
 */
import { badInput } from '../errors.js';
import type { Relu } from '../ir/layers.js';
import type { SnnModel } from '../ir/model.js';
import { sizeOf } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import type { ActivationScale, Normalisation } from './convert-ann.js';
import { simulate } from '../reference/simulator.js';

/** Sorted non-zero activations of each ReLU, per channel (first axis). */
export interface ActivationSamples {
  readonly samples: number;
  readonly layers: Map<string, { readonly channels: Float32Array[]; readonly max: number; readonly clip?: number }>;
}

export interface ScaleOptions {
  readonly norm: Normalisation;
  /** Percentile for p99.9 and channel (default 99.9). */
  readonly percentile?: number;
  /** For mse: the T the network will run for, and its v(0). */
  readonly timesteps?: number;
  readonly v0?: 'half' | 'zero';
}

/** NumPy's default (linear) percentile of a sorted array. */
export function percentileOfSorted(sorted: Float32Array, p: number): number {
  if (sorted.length === 0) return 0;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
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
  sorted(): Float32Array {
    return this.buf.slice(0, this.length).sort();
  }
}

/** Runs the ANN over the calibration data once and keeps every ReLU's non-zero activations. */
export function collectActivations(model: SnnModel, x: Float32Array, n: number, options: { batch?: number; onProgress?: (done: number) => void } = {}): ActivationSamples {
  const shapes = verifyModel(model);
  const relus = model.layers.filter((l): l is Relu => l.op === 'relu');
  const per = sizeOf(model.input.shape);
  const batch = options.batch ?? 100;
  const collectors = new Map(relus.map((r) => [r.name, Array.from({ length: shapes.get(r.name)![0] }, () => new Collector())]));
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const r = simulate(model, x.subarray(start * per, (start + count) * per), count, { timesteps: 1, record: relus.map((l) => l.name) });
    for (const relu of relus) {
      const values = r.values.get(relu.name)!;
      const cols = collectors.get(relu.name)!;
      const size = sizeOf(shapes.get(relu.name)!);
      const perC = size / cols.length;
      for (let i = 0; i < values.length; i++) if (values[i] > 0) cols[Math.floor((i % size) / perC)].push(values[i]);
    }
    options.onProgress?.(start + count);
  }
  const layers = new Map(
    relus.map((r) => {
      const channels = collectors.get(r.name)!.map((c) => c.sorted());
      return [r.name, { channels, max: Math.max(0, ...channels.map((c) => (c.length ? c[c.length - 1] : 0))), clip: r.max }];
    }),
  );
  return { samples: n, layers };
}

function merged(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const all = new Float32Array(channels.reduce((k, c) => k + c.length, 0));
  let k = 0;
  for (const c of channels) {
    all.set(c, k);
    k += c.length;
  }
  return all.sort();
}

/** The λ among percentiles 90…100 that minimises the T-step IF code's squared error (sorted input). */
export function quantisationOptimalScale(sorted: Float32Array, timesteps: number, v0: 'half' | 'zero'): number {
  if (sorted.length === 0) return 0;
  const stride = Math.max(1, Math.floor(sorted.length / 200_000)); // a subsample is plenty for the error
  const offset = v0 === 'half' ? 0.5 : 0;
  let best = sorted[sorted.length - 1];
  let bestErr = Infinity;
  for (let q = 90; q <= 100.0001; q += 0.05) {
    const lambda = percentileOfSorted(sorted, Math.min(q, 100));
    if (!(lambda > 0)) continue;
    let err = 0;
    for (let i = 0; i < sorted.length; i += stride) {
      const a = sorted[i];
      const code = Math.min(timesteps, Math.max(0, Math.floor((a * timesteps) / lambda + offset)));
      err += (a - (lambda * code) / timesteps) ** 2;
    }
    if (err < bestErr) {
      bestErr = err;
      best = lambda;
    }
  }
  return best;
}

export function scalesFromActivations(acts: ActivationSamples, options: ScaleOptions): Map<string, ActivationScale> {
  const scales = new Map<string, ActivationScale>();
  const p = options.percentile ?? 99.9;
  if (!(p > 0 && p <= 100)) throw badInput(`--percentile must be in (0, 100], got ${p}`);
  for (const [name, layer] of acts.layers) {
    const fallback = layer.max || 1; // a ReLU that never fired during calibration
    let lambda: number[];
    let method: string;
    switch (options.norm) {
      case 'qcfs':
        if (layer.clip === undefined) throw badInput(`--norm qcfs needs a trained clip ceiling on every activation, but layer "${name}" is a plain ReLU (use Clip(0, λ) in the ANN, or another --norm)`);
        lambda = [layer.clip];
        method = 'qcfs clip ceiling';
        break;
      case 'max':
        lambda = [fallback];
        method = 'max';
        break;
      case 'p99.9':
        lambda = [percentileOfSorted(merged(layer.channels), p) || fallback];
        method = `p${p} of non-zero activations`;
        break;
      case 'channel':
        lambda = layer.channels.map((c) => percentileOfSorted(c, p) || fallback);
        method = `per-channel p${p} of non-zero activations`;
        break;
      case 'mse': {
        const T = options.timesteps ?? 16;
        lambda = [quantisationOptimalScale(merged(layer.channels), T, options.v0 ?? 'half') || fallback];
        method = `quantisation-optimal for T=${T}`;
        break;
      }
    }
    scales.set(name, { lambda, method, samples: acts.samples });
  }
  return scales;
}

/** collectActivations + scalesFromActivations (no data needed for qcfs). */
export function calibrate(model: SnnModel, x: Float32Array, n: number, options: ScaleOptions & { batch?: number; onProgress?: (done: number) => void }): Map<string, ActivationScale> {
  if (options.norm !== 'qcfs' && n < 1) throw badInput('calibration needs at least one sample');
  return scalesFromActivations(collectActivations(model, x, options.norm === 'qcfs' ? 0 : n, options), options);
}
