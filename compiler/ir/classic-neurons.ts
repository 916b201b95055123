/**
 * The classic neuron record of IR and model.json version 1: `if`, `lif` and `cuba_lif` layers with one
 * number per parameter (θ, v0, β, α), an optional bias tensor and recurrent weight, reset subtract or
 * zero. A neuron layer that has this form keeps it where compatibility matters: model.json says
 * version 1 (older readers take it) and the content hash stays what it was (compiled artifacts of such
 * models are unchanged). This module owns that mapping only.
 */
import type { NeuronLayer } from './layers.js';
import { neuronModel } from './neurons.js';
import type { Tensor } from './tensor.js';

const CLASSIC_PARAMS: Readonly<Record<string, readonly string[]>> = { if: [], lif: ['beta'], cuba_lif: ['alpha', 'beta'] };

export interface ClassicNeuron {
  readonly op: 'if' | 'lif' | 'cuba_lif';
  readonly name: string;
  readonly inputs: readonly string[];
  readonly threshold: number;
  readonly reset: 'subtract' | 'zero';
  readonly v0: number;
  readonly beta?: number;
  readonly alpha?: number;
  readonly bias?: Tensor;
  readonly recurrent?: Tensor;
}

/** The layer as a classic record, or undefined when it needs IR version 2 to be said. */
export function classicNeuron(layer: NeuronLayer): ClassicNeuron | undefined {
  const own = CLASSIC_PARAMS[layer.model];
  if (!own || layer.reset === 'to_v_reset' || (layer.model === 'if' && layer.recurrent)) return undefined;
  const { bias, ...params } = layer.params;
  const numbers: Record<string, number> = {};
  for (const p of neuronModel(layer.model)!.params) {
    const v = params[p.name];
    if (p.name === 'bias') continue;
    if (typeof v !== 'number') return undefined;
    if (p.name === 'threshold' || p.name === 'v0' || own.includes(p.name)) numbers[p.name] = v;
    else if (v !== p.default) return undefined;
  }
  if (typeof bias === 'number' && bias !== 0) return undefined; // version 1 took a bias tensor only
  const tensorBias = typeof bias === 'number' ? undefined : bias;
  return {
    op: layer.model as ClassicNeuron['op'],
    name: layer.name,
    inputs: layer.inputs,
    threshold: numbers.threshold,
    reset: layer.reset,
    v0: numbers.v0,
    ...(own.includes('alpha') ? { alpha: numbers.alpha } : {}),
    ...(own.includes('beta') ? { beta: numbers.beta } : {}),
    ...(tensorBias ? { bias: tensorBias } : {}),
    ...(layer.recurrent ? { recurrent: layer.recurrent } : {}),
  };
}
