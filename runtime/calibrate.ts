/**
 * Calibration for ANN→SNN conversion: runs the ANN (the IR with relu layers, T = 1) in the reference
 * simulator over calibration samples and computes each ReLU's activation scale λ (conversion.md §2.2):
 * - max:     the largest activation;
 * - pXX.X:   the XX.X-th percentile of the non-zero activations (snn_toolbox semantics, linear interpolation
 *            between order statistics, as NumPy's default);
 * - channel: the same percentile per output channel;
 * - qcfs:    the ReLU's trained clip ceiling, no data.
 */
import { badInput } from '../compiler/errors.js';
import type { Relu } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import type { ActivationScale, Normalisation } from '../compiler/passes/convert-ann.js';
import { simulate } from './simulator.js';

export interface CalibrationOptions {
  readonly norm: Normalisation;
  /** Percentile for p-norms and channel-wise normalisation (default 99.9). */
  readonly percentile?: number;
  /** Samples simulated together. */
  readonly batch?: number;
  /** Global index of the first sample, for the record. */
  readonly offset?: number;
  readonly onProgress?: (done: number) => void;
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
    return this.buf.subarray(0, this.length).sort();
  }
}

export function calibrate(model: SnnModel, x: Float32Array, n: number, options: CalibrationOptions): Map<string, ActivationScale> {
  const shapes = verifyModel(model);
  const relus = model.layers.filter((l): l is Relu => l.op === 'relu');
  const scales = new Map<string, ActivationScale>();
  if (options.norm === 'qcfs') {
    for (const r of relus) {
      if (r.max === undefined) throw badInput(`--norm qcfs needs a trained clip ceiling on every activation, but layer "${r.name}" is a plain ReLU (use Clip(0, λ) in the ANN, or another --norm)`);
      scales.set(r.name, { lambda: [r.max], method: 'qcfs clip ceiling', samples: 0 });
    }
    return scales;
  }
  if (n < 1) throw badInput('calibration needs at least one sample');
  const p = options.percentile ?? 99.9;
  if (!(p > 0 && p <= 100)) throw badInput(`--percentile must be in (0, 100], got ${p}`);
  const perChannel = options.norm === 'channel';
  const channels = (name: string) => (perChannel ? shapes.get(name)![0] : 1);
  const collectors = new Map(relus.map((r) => [r.name, Array.from({ length: channels(r.name) }, () => new Collector())]));
  const maxima = new Map(relus.map((r) => [r.name, 0]));
  const per = sizeOf(model.input.shape);
  const batch = options.batch ?? 100;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const r = simulate(model, x.subarray(start * per, (start + count) * per), count, { timesteps: 1, record: relus.map((l) => l.name) });
    for (const relu of relus) {
      const values = r.values.get(relu.name)!;
      const size = sizeOf(shapes.get(relu.name)!);
      const perC = size / channels(relu.name);
      const cols = collectors.get(relu.name)!;
      let max = maxima.get(relu.name)!;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v > 0) {
          if (v > max) max = v;
          if (options.norm !== 'max') cols[Math.floor((i % size) / perC)].push(v);
        }
      }
      maxima.set(relu.name, max);
    }
    options.onProgress?.(start + count);
  }
  for (const relu of relus) {
    const samples = n;
    if (options.norm === 'max') {
      scales.set(relu.name, { lambda: [maxima.get(relu.name)! || 1], method: 'max', samples });
      continue;
    }
    const lambda = collectors.get(relu.name)!.map((c) => percentileOfSorted(c.sorted(), p));
    // A channel that never fired during calibration keeps λ = the layer's maximum (it cannot matter much).
    const fallback = maxima.get(relu.name)! || 1;
    scales.set(relu.name, { lambda: lambda.map((l) => (l > 0 ? l : fallback)), method: `${perChannel ? 'per-channel ' : ''}p${p} of non-zero activations`, samples });
  }
  return scales;
}
