/**
 * The whole-network IR record: the model input and its encoding, the layers in topological order,
 * the readout, and the time base. It is a plain immutable value: passes return new models.
 */
import type { Layer } from './layers.js';

/** The name layers use in `inputs` to read the model input. */
export const INPUT = 'input';

/**
 * How the (preprocessed) input x becomes a per-step input:
 * - direct: x is injected as a constant current at every step;
 * - rate:   at each step each element spikes with probability clip(x, 0, 1) (Bernoulli, seeded per sample);
 * - events: the data already carries a time axis [T, ...shape] of per-step values (e.g. binned events).
 */
export type Encoding = { type: 'direct' } | { type: 'rate'; seed: number } | { type: 'events' };

/**
 * Preprocessing applied to raw data before encoding: x' = (x·scale − mean) / std. `mean` and `std`
 * hold one value (for every element) or one per channel (first axis of the input shape).
 */
export interface Preprocess {
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * How the output layer's per-step values become one score per class:
 * - spike_count:   Σ_t s(t) of a spiking output layer;
 * - accumulate:    Σ_t y(t) of the output layer (typically a non-spiking dense readout);
 * - mean:          (1/T) Σ_t y(t) of the output layer (spikes or values): a rate, or the mean readout
 *                  current, on the same scale whatever T is (T=1→T=N conversion keeps the logits' scale);
 * - mean_membrane: (1/T) Σ_t v(t) of a neuron output layer (v after reset).
 */
export type Decoding = 'spike_count' | 'accumulate' | 'mean' | 'mean_membrane';
export const DECODINGS: readonly Decoding[] = ['spike_count', 'accumulate', 'mean', 'mean_membrane'];

/** Whether the decoded output is divided by T (a mean over the steps) rather than summed. */
export function averagesOverTime(decoding: Decoding): boolean {
  return decoding === 'mean' || decoding === 'mean_membrane';
}

export interface SnnModel {
  readonly name: string;
  readonly input: {
    /** Per-sample shape, without batch or time axes. */
    readonly shape: readonly number[];
    readonly encoding: Encoding;
    readonly preprocess: Preprocess;
  };
  /** In topological order: each layer only reads the input or layers before it. */
  readonly layers: readonly Layer[];
  readonly output: { readonly layer: string; readonly decoding: Decoding };
  /** Number of time steps T a sample is presented for. */
  readonly timesteps: number;
  /** Physical duration of one step in seconds (metadata for reports and NIR export; the dynamics are per step). */
  readonly dt: number;
  /** Free-form provenance (e.g. conversion statistics); copied to compiled artifacts. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export const IDENTITY_PREPROCESS: Preprocess = { scale: 1, mean: [0], std: [1] };

export function isIdentityPreprocess(p: Preprocess): boolean {
  return p.scale === 1 && p.mean.every((m) => m === 0) && p.std.every((s) => s === 1);
}

export function layerByName(model: SnnModel, name: string): Layer | undefined {
  return model.layers.find((l) => l.name === name);
}

/**
 * `first` then `second` as one preprocessing step: both are per-channel affine maps x ↦ a·x + b, so the
 * composition is too. Kept verbatim when either is the identity.
 */
export function composePreprocess(first: Preprocess, second: Preprocess): Preprocess {
  if (isIdentityPreprocess(second)) return first;
  if (isIdentityPreprocess(first)) return second;
  const n = Math.max(first.mean.length, first.std.length, second.mean.length, second.std.length);
  const at = (v: readonly number[], k: number) => v[v.length === 1 ? 0 : k];
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < n; k++) {
    const a1 = first.scale / at(first.std, k);
    const b1 = -at(first.mean, k) / at(first.std, k);
    const a2 = second.scale / at(second.std, k);
    const b2 = -at(second.mean, k) / at(second.std, k);
    const a = a2 * a1;
    const b = a2 * b1 + b2;
    std.push(1 / a);
    mean.push(-b / a + 0);
  }
  return { scale: 1, mean, std };
}
