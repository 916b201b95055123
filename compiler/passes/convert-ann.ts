/**
 * ANN→SNN conversion (conversion.md §1.4 and §2): a pure pass from an ANN in the IR (relu activations,
 * T = 1) and per-ReLU activation scales λ (from calibration, or a trained clip) to a spiking network of
 * IF neurons with reset by subtraction.
 *
 * Weight normalisation (form 1 of §1.4): every value carries a per-channel scale s (the ANN value that one
 * unit of the SNN value stands for): 1 for the input, λ for a converted ReLU's spikes. A weighted layer
 * whose output feeds ReLU r (directly or through pools and adds) is rescaled to r's scale:
 *   W'[o, i] = W[o, i]·s_in[i] / λ_r[o],   b'[o] = b[o] / λ_r[o]    (θ = 1),
 * and a weighted layer that feeds no ReLU (the readout) keeps ANN units (λ = 1), read out by accumulation.
 * Where values of different scales meet (an add; a ReLU fed by an unscaled path) they are brought to the
 * target scale by add coefficients, a per-channel batchnorm, or the IF threshold (threshold balancing).
 * Max-pools of spikes become Rueckauer gates (`gate`, `auto`) or stay max-pools, i.e. an OR (`spike-or`).
 * With bursts of up to Γ spikes per step (`burst`, Li & Zeng 2022) the ReLUs become burst_if neurons and one
 * spike stands for λ/Γ: the clip stays at λ (Γ spikes in every step) while T steps resolve Γ·T levels.
 * The λ per layer, the method and the calibration size are recorded in the model's metadata.
 */
import { badInput } from '../errors.js';
import * as L from '../ir/layers.js';
import { consumers } from '../ir/graph.js';
import { INPUT, type SnnModel } from '../ir/model.js';
import { sizeOf, tensor } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import type { MaxPoolPolicy } from './maxpool-policy.js';

export type Normalisation = 'max' | 'p99.9' | 'channel' | 'mse' | 'qcfs';
export const NORMALISATIONS: readonly Normalisation[] = ['max', 'p99.9', 'channel', 'mse', 'qcfs'];

/** λ of one ReLU: one value, or one per channel. */
export interface ActivationScale {
  readonly lambda: readonly number[];
  readonly method: string;
  readonly samples: number;
}

export interface ConversionOptions {
  /** v(0) = θ/2 ('half', the default in snnc) or 0. */
  readonly v0: 'half' | 'zero';
  /** IF reset after a spike: 'subtract' θ (soft, the default) or set v to 'zero' (hard; what IF_curr_exp does). */
  readonly reset?: L.ResetMode;
  readonly maxpool: MaxPoolPolicy;
  readonly timesteps: number;
  /** Γ ≥ 2: burst_if neurons sending up to Γ spikes per step, each worth λ/Γ; absent or 1: IF neurons. */
  readonly burst?: number;
  /** Recorded in the metadata (e.g. the normalisation name and calibration range). */
  readonly provenance?: Record<string, unknown>;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));

export function convertAnnToSnn(ann: SnnModel, scales: ReadonlyMap<string, ActivationScale>, options: ConversionOptions): SnnModel {
  const shapes = verifyModel(ann);
  const readers = consumers(ann);
  const channelsOf = (name: string) => shapes.get(name)![0];
  const burst = options.burst ?? 1;
  if (!(Number.isInteger(burst) && burst >= 1)) throw badInput(`burst: at most Γ spikes per step must be a whole number ≥ 1, got ${burst}`);
  /** What one spike of a converted ReLU stands for: λ/Γ per channel. */
  const lambdaOf = (relu: string): Float64Array => {
    const s = scales.get(relu);
    if (!s) throw badInput(`no activation scale for layer "${relu}" (calibration did not cover it)`);
    const C = channelsOf(relu);
    if (s.lambda.length !== 1 && s.lambda.length !== C) throw badInput(`layer "${relu}": ${s.lambda.length} scales for ${C} channels`);
    return Float64Array.from({ length: C }, (_, c) => s.lambda[s.lambda.length === 1 ? 0 : c] / burst);
  };
  /** The λ a value should carry: that of the ReLU it feeds through pools and adds, if any. */
  const targetOf = (name: string): Float64Array | undefined => {
    let cur = name;
    for (;;) {
      const rs = readers.get(cur)!;
      if (rs.length !== 1) return undefined;
      const r = rs[0];
      if (r.op === 'relu') return lambdaOf(r.name);
      if (r.op !== 'maxpool2d' && r.op !== 'avgpool2d' && r.op !== 'add') return undefined;
      cur = r.name;
    }
  };

  const scale = new Map<string, Float64Array>([[INPUT, new Float64Array(channelsOf(INPUT)).fill(1)]]);
  const layers: L.Layer[] = [];
  const fired = new Set<string>(); // layers whose output is spikes
  const used = new Set([INPUT, ...ann.layers.map((l) => l.name)]);
  const fresh = (hint: string) => {
    let n = hint;
    for (let k = 1; used.has(n); k++) n = `${hint}_${k}`;
    used.add(n);
    return n;
  };
  /** Brings `src` (scale s) to scale t: returns the value to read, adding a per-channel rescale if needed. */
  const rescaled = (src: string, t: Float64Array, hint: string): { name: string; factor: number } => {
    const s = scale.get(src)!;
    const ratio = Array.from(s, (v, c) => v / t[c]);
    if (ratio.every((r) => close(r, ratio[0]))) return { name: src, factor: ratio[0] };
    const name = fresh(hint);
    layers.push(L.batchNorm({ name, inputs: [src], scale: tensor([ratio.length], Float32Array.from(ratio)), shift: tensor([ratio.length], new Float32Array(ratio.length)) }));
    return { name, factor: 1 };
  };
  const thresholds: Record<string, { lambda: number | number[]; threshold: number; method: string; samples: number }> = {};

  for (const layer of ann.layers) {
    const sIn = layer.inputs.length ? scale.get(layer.inputs[0])! : undefined;
    switch (layer.op) {
      case 'dense':
      case 'conv2d':
      case 'batchnorm': {
        const outC = channelsOf(layer.name);
        const t = targetOf(layer.name) ?? new Float64Array(outC).fill(1);
        // Input scale per input element (dense after flatten: per element; conv: per input channel).
        if (layer.op === 'batchnorm') {
          const s = layer.scale.data.map((v, c) => (v * sIn![c]) / t[c]);
          const sh = layer.shift.data.map((v, c) => v / t[c]);
          layers.push(L.batchNorm({ ...layer, scale: tensor(layer.scale.shape, s), shift: tensor(layer.shift.shape, sh) }));
        } else {
          const perOut = layer.weight.data.length / outC;
          const inPerGroup = layer.weight.shape[1];
          const spatial = layer.op === 'conv2d' ? layer.weight.shape[2] * layer.weight.shape[3] : 1;
          const outPerGroup = layer.op === 'conv2d' ? outC / layer.groups : outC;
          const weight = layer.weight.data.map((w, i) => {
            const o = Math.floor(i / perOut);
            const inChannel = Math.floor((i % perOut) / spatial) + (layer.op === 'conv2d' ? Math.floor(o / outPerGroup) * inPerGroup : 0);
            return (w * sIn![inChannel]) / t[o];
          });
          const bias = layer.bias ? tensor([outC], layer.bias.data.map((b, o) => b / t[o])) : undefined;
          const fields = { weight: tensor(layer.weight.shape, weight), bias };
          layers.push(layer.op === 'dense' ? L.dense({ ...layer, ...fields }) : L.conv2d({ ...layer, ...fields }));
        }
        scale.set(layer.name, t);
        break;
      }
      case 'relu': {
        const lambda = lambdaOf(layer.name);
        const { name: src, factor } = rescaled(layer.inputs[0], lambda, `${layer.name}.rescale`);
        // factor = s_in/λ uniformly: threshold balancing θ = 1/factor keeps the spikes worth λ.
        const threshold = 1 / factor;
        const [reset, v0] = [options.reset ?? 'subtract', options.v0 === 'half' ? threshold / 2 : 0];
        layers.push(burst > 1 ? L.neuron('burst_if', { name: layer.name, inputs: [src], reset, params: { threshold, max_spikes: burst, v0 } }) : L.ifNeuron({ name: layer.name, inputs: [src], threshold, reset, v0 }));
        scale.set(layer.name, lambda);
        fired.add(layer.name);
        const s = scales.get(layer.name)!;
        // `lambda` is what one spike stands for (layer calibration decodes rates by it); the clip is Γ times that.
        thresholds[layer.name] = { lambda: lambda.length === 1 || s.lambda.length === 1 ? lambda[0] : [...lambda], threshold, method: s.method, samples: s.samples };
        break;
      }
      case 'maxpool2d': {
        const spikes = fired.has(layer.inputs[0]);
        if (spikes && (options.maxpool === 'gate' || options.maxpool === 'auto')) {
          if (layer.padding.some((p) => p !== 0)) throw badInput(`layer "${layer.name}": gated max-pooling does not support padding; use --maxpool spike-or, avg or pre`);
          layers.push(L.gatedMaxpool2d({ name: layer.name, inputs: layer.inputs, kernel: layer.kernel, stride: layer.stride }));
        } else layers.push(layer);
        if (spikes) fired.add(layer.name);
        scale.set(layer.name, sIn!);
        break;
      }
      case 'avgpool2d':
        layers.push(layer);
        scale.set(layer.name, sIn!);
        break;
      case 'flatten': {
        const per = sizeOf(shapes.get(layer.inputs[0])!) / sIn!.length;
        layers.push(layer);
        scale.set(layer.name, Float64Array.from({ length: sizeOf(shapes.get(layer.name)!) }, (_, i) => sIn![Math.floor(i / per)]));
        if (fired.has(layer.inputs[0])) fired.add(layer.name);
        break;
      }
      case 'add': {
        const t = targetOf(layer.name) ?? scale.get(layer.inputs[0])!;
        const terms = layer.inputs.map((src, k) => rescaled(src, t, `${layer.name}.rescale${k}`));
        const coefficients = terms.map((term, k) => term.factor * (layer.coefficients?.[k] ?? 1));
        layers.push(L.add({ name: layer.name, inputs: terms.map((term) => term.name), coefficients: coefficients.every((c) => c === 1) ? undefined : coefficients }));
        scale.set(layer.name, t);
        break;
      }
      case 'concat':
        layers.push(layer);
        scale.set(layer.name, Float64Array.from(layer.inputs.flatMap((src) => [...scale.get(src)!])));
        break;
      default:
        throw badInput(`layer "${layer.name}" (${layer.op}) is already spiking or stateful: convert takes an ANN (relu activations)`);
    }
  }
  const out = layers.find((l) => l.name === ann.output.layer)!;
  const snn: SnnModel = {
    ...ann,
    layers,
    timesteps: options.timesteps,
    output: { layer: out.name, decoding: L.isNeuron(out) ? 'spike_count' : 'accumulate' },
    metadata: {
      ...ann.metadata,
      conversion: { ...options.provenance, v0: options.v0 === 'half' ? 'θ/2' : '0', maxpool: options.maxpool, reset: options.reset ?? 'subtract', ...(burst > 1 ? { burst } : {}), layers: thresholds },
    },
  };
  verifyModel(snn);
  return snn;
}
