/**
 * Calibration for ANN→SNN conversion: runs the ANN (the IR with relu layers, T = 1) over calibration
 * samples, batch by batch, on the reference simulator or any AnnSession (the runtime's onnxruntime one),
 * keeps each ReLU's activation statistics (activation-stats.ts: exact, or histograms past a memory
 * budget), and turns them into activation scales λ (conversion.md §2.2):
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
import { type ChannelValues, EXACT_BUDGET, LayerAccumulator, type LayerStats } from './activation-stats.js';

export { percentileOfSorted } from './activation-stats.js';

/** Each ReLU's activation statistics over the calibration samples. */
export interface ActivationSamples {
  readonly samples: number;
  readonly layers: ReadonlyMap<string, LayerStats>;
}

export interface ScaleOptions {
  readonly norm: Normalisation;
  /** Percentile for p99.9 and channel (default 99.9). */
  readonly percentile?: number;
  /** For mse: the T the network will run for, and its v(0). */
  readonly timesteps?: number;
  readonly v0?: 'half' | 'zero';
}

/**
 * The ANN run batch by batch: each recorded layer's values [count, ...shape] for `count` samples of x.
 * The reference simulator is one (simulatorAnnSession); the runtime has one on onnxruntime.
 */
export interface AnnSession {
  /** Samples per run the session wants (it pads the last one); else CollectOptions.batch. */
  readonly batch?: number;
  run(x: Float32Array, count: number): Promise<ReadonlyMap<string, Float32Array>> | ReadonlyMap<string, Float32Array>;
  release?(): Promise<void>;
}
export type OpenAnnSession = (ann: SnnModel, record: readonly string[]) => Promise<AnnSession>;

export interface CollectOptions {
  /** Samples per run (default 100). */
  readonly batch?: number;
  /** Keep per-channel statistics also when the activations are too many to keep exactly (for --norm channel). */
  readonly perChannel?: boolean;
  /** Activations (all ReLUs × samples) kept exactly; past it, histograms (default EXACT_BUDGET). */
  readonly exactBudget?: number;
  readonly onProgress?: (done: number) => void;
}

/** The ANN on the reference simulator (T = 1). */
export function simulatorAnnSession(ann: SnnModel, record: readonly string[]): AnnSession {
  return { run: (x, count) => simulate(ann, x, count, { timesteps: 1, record: [...record] }).values };
}

/** One accumulator per ReLU; exact when all their activations over n samples fit EXACT_BUDGET. */
function accumulators(model: SnnModel, n: number, { perChannel = false, exactBudget = EXACT_BUDGET }: CollectOptions): Map<string, LayerAccumulator> {
  const shapes = verifyModel(model);
  const relus = model.layers.filter((l): l is Relu => l.op === 'relu');
  const exact = relus.reduce((k, r) => k + n * sizeOf(shapes.get(r.name)!), 0) <= exactBudget;
  return new Map(relus.map((r) => [r.name, new LayerAccumulator(shapes.get(r.name)![0], sizeOf(shapes.get(r.name)!), { exact, perChannel, clip: r.max })]));
}

function finished(acc: Map<string, LayerAccumulator>, n: number): ActivationSamples {
  return { samples: n, layers: new Map([...acc].map(([name, a]) => [name, a.finish()])) };
}

/** Runs the ANN over the calibration data on the reference simulator and keeps each ReLU's statistics. */
export function collectActivations(model: SnnModel, x: Float32Array, n: number, options: CollectOptions = {}): ActivationSamples {
  const acc = accumulators(model, n, options);
  const session = simulatorAnnSession(model, [...acc.keys()]);
  for (const { chunk, count, done } of batches(model, x, n, options)) {
    add(acc, session.run(chunk, count) as ReadonlyMap<string, Float32Array>, count);
    options.onProgress?.(done);
  }
  return finished(acc, n);
}

/** collectActivations on any AnnSession (e.g. onnxruntime). */
export async function collectActivationsWith(open: OpenAnnSession, model: SnnModel, x: Float32Array, n: number, options: CollectOptions = {}): Promise<ActivationSamples> {
  const acc = accumulators(model, n, options);
  const session = await open(model, [...acc.keys()]);
  // The next batch runs while this one's values are accumulated.
  const all = [...batches(model, x, n, { batch: session.batch ?? options.batch })];
  let pending: ReturnType<AnnSession['run']> | undefined;
  try {
    pending = all.length ? session.run(all[0].chunk, all[0].count) : undefined;
    for (let k = 0; k < all.length; k++) {
      const values = await pending!;
      pending = k + 1 < all.length ? session.run(all[k + 1].chunk, all[k + 1].count) : undefined;
      add(acc, values, all[k].count);
      options.onProgress?.(all[k].done);
    }
  } finally {
    await Promise.resolve(pending).catch(() => undefined); // a run still in flight when accumulating failed
    await session.release?.();
  }
  return finished(acc, n);
}

function add(acc: Map<string, LayerAccumulator>, values: ReadonlyMap<string, Float32Array>, count: number): void {
  for (const [name, a] of acc) a.add(values.get(name)!, count);
}

function* batches(model: SnnModel, x: Float32Array, n: number, options: CollectOptions): Generator<{ chunk: Float32Array; count: number; done: number }> {
  const per = sizeOf(model.input.shape);
  const batch = options.batch ?? 100;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    yield { chunk: x.subarray(start * per, (start + count) * per), count, done: start + count };
  }
}

/**
 * The λ among percentiles 90…100 that minimises the T-step IF code's squared error. The points are
 * sorted, so each code k takes a contiguous run of them, [(k − o)·λ/T, (k + 1 − o)·λ/T) (o = 1/2 for
 * v(0) = θ/2), and its error Σ w·(a − kλ/T)² comes from prefix sums of w, w·a and w·a²: O(T log n) per λ.
 */
export function quantisationOptimalScale(values: ChannelValues, timesteps: number, v0: 'half' | 'zero'): number {
  if (values.count === 0) return 0;
  const { values: a, weights: w } = values.points(200_000); // a subsample is plenty for the error
  const W = new Float64Array(a.length + 1);
  const S1 = new Float64Array(a.length + 1);
  const S2 = new Float64Array(a.length + 1);
  for (let i = 0; i < a.length; i++) {
    W[i + 1] = W[i] + w[i];
    S1[i + 1] = S1[i] + w[i] * a[i];
    S2[i + 1] = S2[i] + w[i] * a[i] * a[i];
  }
  /** Index of the first point ≥ x. */
  const lowerBound = (x: number) => {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const offset = v0 === 'half' ? 0.5 : 0;
  let best = values.max;
  let bestErr = Infinity;
  for (let q = 90; q <= 100.0001; q += 0.05) {
    const lambda = values.percentile(Math.min(q, 100));
    if (!(lambda > 0)) continue;
    const step = lambda / timesteps;
    let err = 0;
    let from = 0;
    for (let k = 0; k <= timesteps && from < a.length; k++) {
      const to = k === timesteps ? a.length : lowerBound((k + 1 - offset) * step);
      const c = k * step;
      err += S2[to] - S2[from] - 2 * c * (S1[to] - S1[from]) + c * c * (W[to] - W[from]);
      from = to;
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
    const fallback = layer.merged.max || 1; // a ReLU that never fired during calibration
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
        lambda = [layer.merged.percentile(p) || fallback];
        method = `p${p} of non-zero activations`;
        break;
      case 'channel':
        if (!layer.channels) throw new Error(`internal error: layer "${name}" was calibrated without per-channel statistics`);
        lambda = layer.channels.map((c) => c.percentile(p) || fallback);
        method = `per-channel p${p} of non-zero activations`;
        break;
      case 'mse': {
        const T = options.timesteps ?? 16;
        lambda = [quantisationOptimalScale(layer.merged, T, options.v0 ?? 'half') || fallback];
        method = `quantisation-optimal for T=${T}`;
        break;
      }
    }
    scales.set(name, { lambda, method, samples: acts.samples });
  }
  return scales;
}

/** One ReLU's line of the conversion table. */
export interface CalibrationRow {
  readonly layer: string;
  /** λ (the largest over channels for per-channel scales). */
  readonly lambda: number;
  readonly perChannel: boolean;
  /** Fraction of the non-zero activations above λ (they saturate the IF neuron). */
  readonly clipped: number;
  /** Fraction of the activations that are zero. */
  readonly sparsity: number;
  readonly method: string;
}

export function calibrationTable(acts: ActivationSamples, scales: ReadonlyMap<string, ActivationScale>): CalibrationRow[] {
  return [...acts.layers].map(([layer, stats]) => {
    const s = scales.get(layer)!;
    const perChannel = s.lambda.length > 1;
    const above = perChannel && stats.channels ? stats.channels.reduce((k, c, i) => k + c.countAbove(s.lambda[i]), 0) : stats.merged.countAbove(s.lambda[0]);
    const nonZero = stats.merged.count;
    return { layer, lambda: Math.max(...s.lambda), perChannel, clipped: nonZero ? above / nonZero : 0, sparsity: stats.total ? 1 - nonZero / stats.total : 0, method: s.method };
  });
}

/** collectActivations + scalesFromActivations (no data needed for qcfs). */
export function calibrate(model: SnnModel, x: Float32Array, n: number, options: ScaleOptions & CollectOptions): Map<string, ActivationScale> {
  if (options.norm !== 'qcfs' && n < 1) throw badInput('calibration needs at least one sample');
  return scalesFromActivations(collectActivations(model, x, options.norm === 'qcfs' ? 0 : n, options), options);
}
