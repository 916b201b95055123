/**
 * IR neuron layers → NIR neuron nodes, the inverse of the NIR frontend's forward-Euler mapping at the
 * model's dt = h (compiler/frontends/nir/neurons.ts), per neuron:
 *   lif/li:           τ = h/(1 − β), R = r·τ/h, v_leak;
 *   cuba_lif/cuba_li: τ_syn = h/(1 − α), w_in = τ_syn/h, τ_mem = h/(1 − β), R = r·τ_mem/h, v_leak;
 *   if/i:             R = r/h;
 *   threshold:        threshold; an input gain r ≠ 1 becomes a Scale node "<name>.r" in front;
 *   spiking models:   v_threshold = the float32 below θ (NIR spikes on v > θ, the IR on v ≥ θ).
 * With r = 1 the input gain is exactly 1 (the snnTorch convention), so weights are written unchanged.
 * Derived parameters are float64 datasets, so that reading the file back gives the same float32 values.
 * Reset "zero" is v_reset = 0, "to_v_reset" is v_reset; "subtract" cannot be expressed in NIR ≥ 1.0.6
 * and is written as v_reset = 0 with node metadata reset = "subtract" (a warning). NIR has no initial
 * state: v0 ≠ 0 goes to node metadata v0 (a warning). This module owns that mapping.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import type { NeuronLayer } from '../../compiler/ir/layers.js';
import { type Param, broadcastTo } from '../../compiler/ir/params.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { prevFloat32 } from '../../compiler/ir/float32.js';

/** The neuron models this writer can express (compiler/ir/neurons.ts names). */
export const NIR_NEURON_MODELS = ['if', 'lif', 'cuba_lif', 'li', 'cuba_li', 'i', 'threshold'] as const;

export type NirParamOut = { kind: 'float'; data: Float32Array | Float64Array; shape: number[] } | { kind: 'int'; data: number[]; shape: number[] } | { kind: 'string'; value: string };
export interface NirNodeOut {
  readonly name: string;
  readonly type: string;
  readonly params: Record<string, NirParamOut>;
  readonly metadata?: Record<string, string | Float64Array>;
}

export interface NeuronNodes {
  readonly nodes: NirNodeOut[];
  /** Edges inside the group (a recurrent cycle, a gain Scale → the neuron). */
  readonly edges: [string, string][];
  /** The node the layer's input edge goes to. */
  readonly entry: string;
}

const NIR_TYPE: Readonly<Record<string, string>> = { if: 'IF', lif: 'LIF', cuba_lif: 'CubaLIF', li: 'LI', cuba_li: 'CubaLI', i: 'I', threshold: 'Threshold' };

const fail = (layer: NeuronLayer, why: string): never => {
  throw new SnncError(`layer "${layer.name}" (${layer.model}): ${why}; NIR cannot express it`, ExitCode.doesNotFit);
};

/** A parameter's value per neuron, in float64 (a one-value parameter keeps its float64 value). */
function perNeuron(p: Param | undefined, shape: readonly number[], fallback: number): Float64Array {
  if (p === undefined) return new Float64Array(sizeOf(shape)).fill(fallback);
  return typeof p === 'number' ? new Float64Array(sizeOf(shape)).fill(p) : Float64Array.from(broadcastTo(p, shape));
}

const map = (a: Float64Array, f: (v: number, i: number) => number) => Float64Array.from(a, f);

/** Builds the NIR parameters of one layer, checking each is finite (and time constants positive) in float32. */
class Params {
  readonly out: Record<string, NirParamOut> = {};
  constructor(
    private readonly layer: NeuronLayer,
    private readonly shape: readonly number[],
    readonly dt: number,
  ) {}

  get(name: string, fallback = 0): Float64Array {
    return perNeuron(this.layer.params[name], this.shape, fallback);
  }

  set(key: string, values: Float64Array, from = `dt = ${this.dt}`): void {
    const k = values.findIndex((v) => !Number.isFinite(Math.fround(v)) || (key.startsWith('tau') && !(Math.fround(v) > 0)));
    const v = Math.fround(values[k]);
    if (k >= 0) fail(this.layer, `${key} = ${v} in float32 (from ${from}), not ${Number.isFinite(v) ? 'a positive time constant' : 'a finite number'}`);
    this.out[key] = { kind: 'float', data: values, shape: [...this.shape] };
  }

  /** τ = h/(1 − d) for a decay d per step, refusing d = 1 (no decay). */
  tau(key: string, decay: string): Float64Array {
    const d = this.get(decay);
    const n = d.filter((v) => v >= 1).length;
    if (n > 0) fail(this.layer, `${decay} = 1 (no decay) for ${n} neuron(s)${decay === 'beta' ? ' (an IF or I layer has no leak)' : ''}`);
    const tau = map(d, (v) => this.dt / (1 - v));
    this.set(key, tau);
    return tau;
  }

  threshold(key: string): void {
    const theta = this.get('threshold', 1);
    const k = theta.findIndex((t) => !Number.isFinite(Math.fround(t)));
    if (k >= 0) fail(this.layer, `threshold ${theta[k]} is beyond float32 (${key} would be infinite)`);
    this.set(key, map(theta, (t) => prevFloat32(Math.fround(t))), 'the threshold');
  }
}

/** v_reset (and snnc's metadata reset = "subtract", with a warning) for the layer's reset mode. */
function resetParams(layer: NeuronLayer, p: Params, metadata: Record<string, string | Float64Array>, warnings: string[]): void {
  if (layer.reset === 'subtract') {
    metadata.reset = 'subtract';
    warnings.push(`layer "${layer.name}": reset by subtraction is written as v_reset = 0 with metadata reset = "subtract"; most NIR readers will reset to zero`);
  }
  p.set('v_reset', layer.reset === 'to_v_reset' ? p.get('v_reset') : p.get('v_reset').fill(0), 'v_reset');
}

/** The NIR parameters of a layer's model (the reset and threshold aside). */
function modelParams(layer: NeuronLayer, p: Params): void {
  const [dt, r] = [p.dt, p.get('r', 1)];
  const noBias = () => p.get('bias').every((b) => b === 0) || fail(layer, 'a membrane bias');
  switch (layer.model) {
    case 'if':
    case 'i':
      return p.set('r', map(r, (g) => g / dt));
    case 'lif':
    case 'li': {
      const tau = p.tau('tau', 'beta');
      p.set('r', map(r, (g, k) => (g * tau[k]) / dt));
      return p.set('v_leak', p.get('v_leak'), 'v_leak');
    }
    default: {
      noBias();
      const [tauSyn, tauMem] = [p.tau('tau_syn', 'alpha'), p.tau('tau_mem', 'beta')];
      p.set('r', map(r, (g, k) => (g * tauMem[k]) / dt));
      p.set('v_leak', p.get('v_leak'), 'v_leak');
      return p.set('w_in', map(tauSyn, (t) => t / dt));
    }
  }
}

/** The NIR node(s) of a neuron layer of per-sample shape `shape`. */
export function neuronNodes(layer: NeuronLayer, shape: readonly number[], dt: number, warnings: string[]): NeuronNodes {
  const type = NIR_TYPE[layer.model];
  if (!type) fail(layer, `the ${layer.model} neuron model`);
  const p = new Params(layer, shape, dt);
  const metadata: Record<string, string | Float64Array> = {};
  const nodes: NirNodeOut[] = [];
  const edges: [string, string][] = [];
  let entry = layer.name;
  if (layer.model === 'threshold') {
    p.threshold('threshold');
    const r = p.get('r', 1);
    if (r.some((g) => g !== 1)) {
      if (layer.recurrent) fail(layer, 'a Threshold layer with both recurrent weights and an input gain r ≠ 1');
      entry = `${layer.name}.r`;
      nodes.push({ name: entry, type: 'Scale', params: { scale: { kind: 'float', data: r, shape: [...shape] } } });
      edges.push([entry, layer.name]);
    }
  } else {
    if (layer.model === 'if' || layer.model === 'lif' || layer.model === 'cuba_lif') {
      p.threshold('v_threshold');
      resetParams(layer, p, metadata, warnings);
    }
    modelParams(layer, p);
    const v0 = p.get('v0');
    if (v0.some((v) => v !== 0)) {
      metadata.v0 = v0.every((v) => v === v0[0]) ? v0.subarray(0, 1) : v0;
      warnings.push(`layer "${layer.name}": NIR has no initial membrane; v0 is kept in node metadata only`);
    }
  }
  nodes.push({ name: layer.name, type, params: p.out, metadata: Object.keys(metadata).length ? metadata : undefined });
  if (layer.recurrent) {
    const rec = `${layer.name}.w_rec`;
    nodes.push({ name: rec, type: 'Linear', params: { weight: { kind: 'float', data: layer.recurrent.data, shape: [...layer.recurrent.shape] } } });
    edges.push([layer.name, rec], [rec, layer.name]);
  }
  return { nodes, edges, entry };
}
