/**
 * The IR's primitives: one small typed record per layer kind, with its equations here and its local
 * invariants (parameter ranges, weight ranks) checked by its constructor. How layers connect and
 * which shapes flow between them is the graph's business (graph.ts, shapes.ts), not this module's.
 *
 * Time is discrete: every layer is evaluated once per time step t = 1…T, in topological order, on
 * the values its inputs produced at the same step. Tensors are per sample (no batch axis); image
 * tensors are channel-first [C, H, W].
 */
import { badInput } from '../errors.js';
import { type Tensor, firstNonFinite, shapeToString } from './tensor.js';

/** Four paddings in ONNX order: [top, left, bottom, right]. */
export type Padding4 = readonly [number, number, number, number];
export type Pair = readonly [number, number];

interface LayerBase {
  /** Unique name; other layers refer to it in `inputs`. */
  readonly name: string;
  /** Names of the layers (or the model input, `"input"`) this layer reads. */
  readonly inputs: readonly string[];
}

/** y = W·x + b.  W: [out, in], b: [out]; x must be a vector (flatten images first). */
export interface Dense extends LayerBase {
  readonly op: 'dense';
  readonly weight: Tensor;
  readonly bias?: Tensor;
}

/**
 * y[o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · xpad[g(o)·C/G + c, i·sh + u, j·sw + v]
 * W: [out, in/groups, kh, kw], b: [out]; zero padding [top, left, bottom, right]; no dilation.
 */
export interface Conv2d extends LayerBase {
  readonly op: 'conv2d';
  readonly weight: Tensor;
  readonly bias?: Tensor;
  readonly stride: Pair;
  readonly padding: Padding4;
  readonly groups: number;
}

/**
 * y[c, i, j] = (1 / (kh·kw)) · Σ_{u, v} xpad[c, i·sh + u, j·sw + v]  (zero padding counts in the mean).
 * Output size floor((H + pads − kh) / sh) + 1.
 */
export interface AvgPool2d extends LayerBase {
  readonly op: 'avgpool2d';
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Padding4;
}

/**
 * y[c, i, j] = max_{u, v} xpad[c, i·sh + u, j·sw + v]  (padding is −∞). On binary spikes this is a
 * logical OR over the window.
 */
export interface MaxPool2d extends LayerBase {
  readonly op: 'maxpool2d';
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Padding4;
}

/** y = x reshaped to a vector, channel-major (C, H, W order), as ONNX Flatten(axis=1). */
export interface Flatten extends LayerBase {
  readonly op: 'flatten';
}

/**
 * y = c₁·x₁ + c₂·x₂ + … (all inputs the same shape; summed left to right). For residual connections.
 * The coefficients c_k default to 1; conversion uses them to bring branches of different scales together.
 */
export interface Add extends LayerBase {
  readonly op: 'add';
  readonly coefficients?: readonly number[];
}

/** y = x₁ ⊕ x₂ ⊕ … concatenated along the channel axis (the first per-sample axis). */
export interface Concat extends LayerBase {
  readonly op: 'concat';
}

/**
 * y[c, …] = x[c, …]·scale[c] + shift[c]: inference-time batch normalisation (scale = γ/√(σ²+ε),
 * shift = β − μ·scale), per channel (first per-sample axis). foldBatchNorm merges it into a preceding
 * dense or conv layer; it is linear, so a spiking network may also keep it.
 */
export interface BatchNorm extends LayerBase {
  readonly op: 'batchnorm';
  readonly scale: Tensor;
  readonly shift: Tensor;
}

/**
 * y = min(max(x, 0), max): the ANN activation (ReLU, or a clipped ReLU / QCFS with trained ceiling
 * `max` = λ). Stateless; ANN→SNN conversion replaces it with an IF neuron.
 */
export interface Relu extends LayerBase {
  readonly op: 'relu';
  readonly max?: number;
}

/**
 * Rueckauer's gated max-pool for spike inputs (snn_toolbox `fir_max`): a running count
 * c(t) = c(t−1) + x(t) of each input (c(0) = 0); per window, output x(t) of the input whose count c(t)
 * is largest, the first in row-major window order on ties. Output shape as maxpool2d; no padding.
 */
export interface GatedMaxPool2d extends LayerBase {
  readonly op: 'gated_maxpool2d';
  readonly kernel: Pair;
  readonly stride: Pair;
}

/** What happens to the membrane after a spike. */
export type ResetMode = 'subtract' | 'zero';

interface NeuronBase extends LayerBase {
  /** Firing threshold θ > 0: a neuron spikes when its membrane v ≥ θ. */
  readonly threshold: number;
  /** 'subtract': v ← v − θ·s (soft reset). 'zero': v ← v·(1 − s) (hard reset). */
  readonly reset: ResetMode;
  /** Membrane potential before the first step, v(0). */
  readonly v0: number;
}

/**
 * Integrate-and-fire. With input current I(t):
 *   v ← v + I(t);  s(t) = [v ≥ θ];  reset.
 * Output: the spikes s(t) ∈ {0, 1}, same shape as the input.
 */
export interface IFNeuron extends NeuronBase {
  readonly op: 'if';
}

/**
 * Leaky integrate-and-fire, with membrane decay factor β ∈ [0, 1] per step (β = 1 is IF):
 *   v ← β·v + I(t) [+ W_rec·s(t−1)];  s(t) = [v ≥ θ];  reset.
 * The optional recurrent weight W_rec: [N, N] (N = number of neurons) feeds the layer's own spikes
 * from the previous step back into its input; s(0) = 0.
 */
export interface LIFNeuron extends NeuronBase {
  readonly op: 'lif';
  readonly beta: number;
  readonly recurrent?: Tensor;
}

/**
 * Current-based LIF (as Loihi and NIR's CubaLIF), with current decay α and membrane decay β per step:
 *   i ← α·i + I(t) [+ W_rec·s(t−1)];  v ← β·v + i [+ b];  s(t) = [v ≥ θ];  reset v (i is never reset).
 * i(0) = 0. The optional per-neuron bias b (shape = the layer's shape) enters the membrane directly,
 * as Loihi's bias does. Recurrence as for LIF.
 */
export interface CubaLIFNeuron extends NeuronBase {
  readonly op: 'cuba_lif';
  readonly alpha: number;
  readonly beta: number;
  readonly bias?: Tensor;
  readonly recurrent?: Tensor;
}

/** Stateless layers: their output at step t depends only on their inputs at step t. */
export type SynapticLayer = Dense | Conv2d | AvgPool2d | MaxPool2d | Flatten | Add | Concat | BatchNorm | Relu;
export type NeuronLayer = IFNeuron | LIFNeuron | CubaLIFNeuron;
/** Layers that carry state from one step to the next. */
export type StatefulLayer = NeuronLayer | GatedMaxPool2d;
export type Layer = SynapticLayer | StatefulLayer;
export type LayerOp = Layer['op'];

export const NEURON_OPS: readonly LayerOp[] = ['if', 'lif', 'cuba_lif'];
export function isNeuron(layer: Layer): layer is NeuronLayer {
  return layer.op === 'if' || layer.op === 'lif' || layer.op === 'cuba_lif';
}

export function isStateful(layer: Layer): layer is StatefulLayer {
  return isNeuron(layer) || layer.op === 'gated_maxpool2d';
}

// ---------------------------------------------------------------------------------------------
// Constructors: each checks what can be checked without knowing the input's shape.

function fail(name: string, message: string): never {
  throw badInput(`layer "${name}": ${message}`);
}

function checkFinite(name: string, field: string, t: Tensor | undefined): void {
  if (!t) return;
  const i = firstNonFinite(t.data);
  if (i >= 0) fail(name, `${field} has a non-finite value (${t.data[i]}) at flat index ${i}`);
}

function checkRank(name: string, field: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) fail(name, `${field} must have rank ${rank}, got shape ${shapeToString(t.shape)}`);
}

function checkPositivePair(name: string, field: string, p: Pair): void {
  if (!p.every((v) => Number.isInteger(v) && v >= 1)) fail(name, `${field} must be positive integers, got [${p.join(', ')}]`);
}

function checkPadding(name: string, p: Padding4): void {
  if (!p.every((v) => Number.isInteger(v) && v >= 0)) fail(name, `padding must be non-negative integers, got [${p.join(', ')}]`);
}

export function dense(f: Omit<Dense, 'op'>): Dense {
  checkRank(f.name, 'weight', f.weight, 2);
  if (f.bias) {
    checkRank(f.name, 'bias', f.bias, 1);
    if (f.bias.shape[0] !== f.weight.shape[0]) {
      fail(f.name, `bias has ${f.bias.shape[0]} elements but weight ${shapeToString(f.weight.shape)} has ${f.weight.shape[0]} outputs`);
    }
  }
  checkFinite(f.name, 'weight', f.weight);
  checkFinite(f.name, 'bias', f.bias);
  return { op: 'dense', ...f };
}

export function conv2d(f: Omit<Conv2d, 'op'>): Conv2d {
  checkRank(f.name, 'weight', f.weight, 4);
  checkPositivePair(f.name, 'stride', f.stride);
  checkPadding(f.name, f.padding);
  if (!Number.isInteger(f.groups) || f.groups < 1) fail(f.name, `groups must be a positive integer, got ${f.groups}`);
  if (f.weight.shape[0] % f.groups !== 0) fail(f.name, `${f.weight.shape[0]} output channels are not divisible by groups=${f.groups}`);
  if (f.bias) {
    checkRank(f.name, 'bias', f.bias, 1);
    if (f.bias.shape[0] !== f.weight.shape[0]) fail(f.name, `bias has ${f.bias.shape[0]} elements, expected ${f.weight.shape[0]} (output channels)`);
  }
  checkFinite(f.name, 'weight', f.weight);
  checkFinite(f.name, 'bias', f.bias);
  return { op: 'conv2d', ...f };
}

export function avgpool2d(f: Omit<AvgPool2d, 'op'>): AvgPool2d {
  checkPositivePair(f.name, 'kernel', f.kernel);
  checkPositivePair(f.name, 'stride', f.stride);
  checkPadding(f.name, f.padding);
  return { op: 'avgpool2d', ...f };
}

export function maxpool2d(f: Omit<MaxPool2d, 'op'>): MaxPool2d {
  checkPositivePair(f.name, 'kernel', f.kernel);
  checkPositivePair(f.name, 'stride', f.stride);
  checkPadding(f.name, f.padding);
  if (f.padding[0] >= f.kernel[0] || f.padding[2] >= f.kernel[0] || f.padding[1] >= f.kernel[1] || f.padding[3] >= f.kernel[1]) {
    fail(f.name, 'padding must be smaller than the kernel (a window of padding only has no maximum)');
  }
  return { op: 'maxpool2d', ...f };
}

export function flatten(f: Omit<Flatten, 'op'>): Flatten {
  return { op: 'flatten', ...f };
}

export function add(f: Omit<Add, 'op'>): Add {
  if (f.inputs.length < 2) fail(f.name, `add needs at least 2 inputs, got ${f.inputs.length}`);
  if (f.coefficients) {
    if (f.coefficients.length !== f.inputs.length) fail(f.name, `${f.coefficients.length} coefficients for ${f.inputs.length} inputs`);
    if (!f.coefficients.every(Number.isFinite)) fail(f.name, 'coefficients must be finite numbers');
  }
  return { op: 'add', ...f };
}

export function concat(f: Omit<Concat, 'op'>): Concat {
  if (f.inputs.length < 2) fail(f.name, `concat needs at least 2 inputs, got ${f.inputs.length}`);
  return { op: 'concat', ...f };
}

export function batchNorm(f: Omit<BatchNorm, 'op'>): BatchNorm {
  checkRank(f.name, 'scale', f.scale, 1);
  checkRank(f.name, 'shift', f.shift, 1);
  if (f.scale.shape[0] !== f.shift.shape[0]) fail(f.name, `scale has ${f.scale.shape[0]} channels but shift has ${f.shift.shape[0]}`);
  checkFinite(f.name, 'scale', f.scale);
  checkFinite(f.name, 'shift', f.shift);
  return { op: 'batchnorm', ...f };
}

export function relu(f: Omit<Relu, 'op'>): Relu {
  if (f.max !== undefined && !(Number.isFinite(f.max) && f.max > 0)) fail(f.name, `clip ceiling (max) must be a finite number > 0, got ${f.max}`);
  return { op: 'relu', ...f };
}

export function gatedMaxpool2d(f: Omit<GatedMaxPool2d, 'op'>): GatedMaxPool2d {
  checkPositivePair(f.name, 'kernel', f.kernel);
  checkPositivePair(f.name, 'stride', f.stride);
  return { op: 'gated_maxpool2d', ...f };
}

function checkNeuron(f: Omit<NeuronBase, 'op'>): void {
  if (!(Number.isFinite(f.threshold) && f.threshold > 0)) fail(f.name, `threshold must be a finite number > 0, got ${f.threshold}`);
  if (!Number.isFinite(f.v0)) fail(f.name, `v0 must be finite, got ${f.v0}`);
  if (f.reset !== 'subtract' && f.reset !== 'zero') fail(f.name, `reset must be "subtract" or "zero", got "${f.reset}"`);
  if (f.inputs.length !== 1) fail(f.name, `a neuron layer takes exactly 1 input, got ${f.inputs.length}`);
}

function checkDecay(name: string, field: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= 1)) fail(name, `${field} must be a decay factor in [0, 1], got ${value}`);
}

function checkRecurrent(name: string, w: Tensor | undefined): void {
  if (!w) return;
  checkRank(name, 'recurrent weight', w, 2);
  if (w.shape[0] !== w.shape[1]) fail(name, `recurrent weight must be square [N, N], got ${shapeToString(w.shape)}`);
  checkFinite(name, 'recurrent weight', w);
}

export function ifNeuron(f: Omit<IFNeuron, 'op'>): IFNeuron {
  checkNeuron(f);
  return { op: 'if', ...f };
}

export function lifNeuron(f: Omit<LIFNeuron, 'op'>): LIFNeuron {
  checkNeuron(f);
  checkDecay(f.name, 'beta', f.beta);
  checkRecurrent(f.name, f.recurrent);
  return { op: 'lif', ...f };
}

export function cubaLifNeuron(f: Omit<CubaLIFNeuron, 'op'>): CubaLIFNeuron {
  checkNeuron(f);
  checkDecay(f.name, 'alpha', f.alpha);
  checkDecay(f.name, 'beta', f.beta);
  checkRecurrent(f.name, f.recurrent);
  checkFinite(f.name, 'bias', f.bias);
  return { op: 'cuba_lif', ...f };
}
