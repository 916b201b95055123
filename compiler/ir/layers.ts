/**
 * The IR's primitives: one small typed record per layer kind, with its equations here and its local
 * invariants (parameter ranges, weight ranks) checked by its constructor. How layers connect and
 * which shapes flow between them is the graph's business (graph.ts, shapes.ts), not this module's.
 *
 * Time is discrete: every layer is evaluated once per time step t = 1…T, in the model's listed order,
 * on the values its inputs produced at the same step — except that a layer reading a neuron listed at
 * or after it reads that neuron's output of the previous step (0 at t = 1; how cycles close), and a
 * delay's output is x(t − d). Neuron models are declared in neurons.ts. Tensors are per sample (no
 * batch axis); image tensors are channel-first [C, H, W].
 */
import { badInput } from '../errors.js';
import { type ParamSpec, RESET_MODES, type ResetMode, isSpiking, neuronModel, neuronModels } from './neurons.js';
import { type Param, paramData } from './params.js';
import { type Tensor, firstNonFinite, shapeToString } from './tensor.js';

export type { ResetMode } from './neurons.js';

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
 * A sparse projection described by a rule, never by a matrix (PyNN's FixedNumberPreConnector):
 * y[j] = Σ_{i ∈ pre(j)} w(j, i)·x[i] over the flattened input, j < size. Each target j reads `fanIn`
 * distinct sources pre(j), drawn with their weights (uniform in [low, high]) from a generator seeded by
 * (seed, j), so that any target's synapses can be generated alone (connectivity.ts). With `columns`,
 * input and output are each cut into `count` equal blocks on a ring, and target j of block c draws only
 * from blocks c + offset − radius … c + offset + radius (offset 0: the local projections of cortical
 * columns; another offset: a long-range projection from distant columns); without, from all inputs.
 */
export interface Sparse extends LayerBase {
  readonly op: 'sparse';
  readonly size: number;
  readonly fanIn: number;
  readonly seed: number;
  readonly weight: { readonly low: number; readonly high: number };
  readonly columns?: { readonly count: number; readonly radius: number; readonly offset?: number };
}

/**
 * y[o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · xpad[g(o)·C/G + c, i·sh + u·dh, j·sw + v·dw]
 * W: [out, in/groups, kh, kw], b: [out]; zero padding [top, left, bottom, right]; dilation [dh, dw]
 * (absent: [1, 1]).
 */
export interface Conv2d extends LayerBase {
  readonly op: 'conv2d';
  readonly weight: Tensor;
  readonly bias?: Tensor;
  readonly stride: Pair;
  readonly padding: Padding4;
  readonly groups: number;
  readonly dilation?: Pair;
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

/** y = x with another per-sample shape of the same size, elements in row-major order (ONNX Reshape). */
export interface Reshape extends LayerBase {
  readonly op: 'reshape';
  readonly shape: readonly number[];
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

/**
 * y(t) = x(t − d) for an integer delay d ≥ 1 steps; y(t) = 0 for t ≤ d. Explicit time: a delayed skip
 * connection, or what closes a cycle (its output at step t is known before its input is).
 */
export interface Delay extends LayerBase {
  readonly op: 'delay';
  readonly steps: number;
}

/**
 * A layer of neurons of one declared model (neurons.ts: the equations, parameters and state). Every
 * declared parameter is present (defaults filled in): a number, or a tensor broadcasting to the layer.
 * Output: the spikes s(t) ∈ {0, 1} of a spiking model, or the membrane of a readout; same shape as the
 * input.
 *
 * The optional recurrent weight W_rec: [N, N] (N = number of neurons) of a spiking layer adds
 * W_rec·s(t−1) to the input current (s(0) = 0).
 */
export interface NeuronLayer extends LayerBase {
  readonly op: 'neuron';
  /** The neuron model's name (neurons.ts). */
  readonly model: string;
  /** Every declared parameter (defaults filled in): a number, or a tensor broadcasting to the layer. */
  readonly params: Readonly<Record<string, Param>>;
  /** After a spike: 'subtract' v ← v − θ·s (soft), 'zero' v ← 0, 'to_v_reset' v ← v_reset (models that reset). */
  readonly reset: ResetMode;
  readonly recurrent?: Tensor;
}

/** Stateless layers: their output at step t depends only on their inputs at step t. */
export type SynapticLayer = Dense | Sparse | Conv2d | AvgPool2d | MaxPool2d | Flatten | Reshape | Add | Concat | BatchNorm | Relu;
/** Layers that carry state from one step to the next. */
export type StatefulLayer = NeuronLayer | GatedMaxPool2d;
/** Layers whose output at step t comes from earlier steps only. */
export type TimeLayer = Delay;
export type Layer = SynapticLayer | StatefulLayer | TimeLayer;
export type LayerOp = Layer['op'];

export function isNeuron(layer: Layer): layer is NeuronLayer {
  return layer.op === 'neuron';
}

/** Whether `layer` is a neuron layer whose model spikes (its output is s(t) ∈ {0, 1}). */
export function isSpikingLayer(layer: Layer): layer is NeuronLayer {
  return layer.op === 'neuron' && neuronModel(layer.model)?.fire !== undefined;
}

/** What a reader calls the layer: its op, or its neuron model's name (e.g. "lif"). */
export function layerKind(layer: Layer): string {
  return layer.op === 'neuron' ? layer.model : layer.op;
}

/** Whether `layer` is a neuron layer of the named model. */
export function isModel(layer: Layer, model: string): layer is NeuronLayer {
  return layer.op === 'neuron' && layer.model === model;
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

const isWhole = (v: number, min: number) => Number.isSafeInteger(v) && v >= min;

export function sparse(f: Omit<Sparse, 'op'>): Sparse {
  if (!isWhole(f.size, 1)) fail(f.name, `size must be a positive integer, got ${f.size}`);
  if (!isWhole(f.fanIn, 1)) fail(f.name, `fan_in must be a positive integer, got ${f.fanIn}`);
  if (!isWhole(f.seed, 0) || f.seed >= 2 ** 32) fail(f.name, `seed must be an integer in [0, 2^32), got ${f.seed}`);
  const { low, high } = f.weight;
  if (!Number.isFinite(low) || !Number.isFinite(high) || low > high) fail(f.name, `weight must be {low, high} with finite low ≤ high, got {${low}, ${high}}`);
  if (f.columns) {
    const { count, radius } = f.columns;
    if (!isWhole(count, 1)) fail(f.name, `columns.count must be a positive integer, got ${count}`);
    if (!isWhole(radius, 0)) fail(f.name, `columns.radius must be a non-negative integer, got ${radius}`);
    if (f.columns.offset !== undefined && !Number.isSafeInteger(f.columns.offset)) fail(f.name, `columns.offset must be an integer, got ${f.columns.offset}`);
    if (f.size % count !== 0) fail(f.name, `size ${f.size} is not divisible into ${count} columns`);
  }
  return { op: 'sparse', ...f };
}

export function conv2d(f: Omit<Conv2d, 'op'>): Conv2d {
  checkRank(f.name, 'weight', f.weight, 4);
  checkPositivePair(f.name, 'stride', f.stride);
  checkPadding(f.name, f.padding);
  if (f.dilation) checkPositivePair(f.name, 'dilation', f.dilation);
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

export function reshape(f: Omit<Reshape, 'op'>): Reshape {
  if (f.shape.length === 0 || !f.shape.every((d) => Number.isInteger(d) && d >= 1)) fail(f.name, `shape must be positive integers, got ${shapeToString(f.shape)}`);
  return { op: 'reshape', ...f };
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

export function delay(f: Omit<Delay, 'op'>): Delay {
  if (!(Number.isInteger(f.steps) && f.steps >= 1 && f.steps <= MAX_DELAY_STEPS)) fail(f.name, `delay must be a whole number of steps in 1…${MAX_DELAY_STEPS}, got ${f.steps}`);
  if (f.inputs.length !== 1) fail(f.name, `a delay takes exactly 1 input, got ${f.inputs.length}`);
  return { op: 'delay', ...f };
}

/** Longest delay (steps) a model may hold. */
export const MAX_DELAY_STEPS = 100_000;

export function gatedMaxpool2d(f: Omit<GatedMaxPool2d, 'op'>): GatedMaxPool2d {
  checkPositivePair(f.name, 'kernel', f.kernel);
  checkPositivePair(f.name, 'stride', f.stride);
  return { op: 'gated_maxpool2d', ...f };
}

/** Parameter values as numbers (scalars) or tensors (broadcast to the layer). */
export type ParamValues = Readonly<Record<string, Param | undefined>>;

function checkParam(name: string, spec: ParamSpec, p: Param): void {
  const data = paramData(p);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const ok = Number.isFinite(v) && (spec.range === 'positive' ? v > 0 : spec.range === 'decay' ? v >= 0 && v <= 1 : spec.range === 'nonnegative' ? v >= 0 : spec.range === 'count' ? Number.isInteger(v) && v >= 1 : true);
    if (!ok) {
      const want = { positive: 'a finite number > 0', decay: 'a decay factor in [0, 1]', nonnegative: 'a finite number ≥ 0', count: 'a whole number ≥ 1', finite: 'a finite number' }[spec.range];
      fail(name, `${spec.name} must be ${want}, got ${v}${data.length > 1 ? ` at flat index ${i}` : ''}`);
    }
  }
}

/**
 * A neuron layer of the declared model `model`: fills in defaults, refuses unknown and missing
 * parameters and values out of range (per element), and checks the reset mode and recurrence.
 */
export function neuron(model: string, f: { name: string; inputs: readonly string[]; params: ParamValues; reset?: ResetMode; recurrent?: Tensor }): NeuronLayer {
  const decl = neuronModel(model);
  if (!decl) fail(f.name, `unknown neuron model "${model}" (declared: ${neuronModels().map((m) => m.name).join(', ')})`);
  if (f.inputs.length !== 1) fail(f.name, `a neuron layer takes exactly 1 input, got ${f.inputs.length}`);
  for (const key of Object.keys(f.params)) {
    if (f.params[key] !== undefined && !decl.params.some((p) => p.name === key)) fail(f.name, `${model} neurons have no parameter "${key}" (they take ${decl.params.map((p) => p.name).join(', ')})`);
  }
  const params: Record<string, Param> = {};
  for (const spec of decl.params) {
    const v = f.params[spec.name] ?? spec.default;
    if (v === undefined) fail(f.name, `${model} neurons need the parameter "${spec.name}" (${spec.doc})`);
    checkParam(f.name, spec, v);
    params[spec.name] = v;
  }
  const reset = f.reset ?? 'subtract';
  if (!RESET_MODES.includes(reset)) fail(f.name, `reset must be one of ${RESET_MODES.map((r) => `"${r}"`).join(', ')}, got "${reset}"`);
  if (reset === 'to_v_reset' && params.v_reset === undefined) fail(f.name, `reset "to_v_reset" needs a model with a v_reset parameter; ${model} has none`);
  if (f.recurrent) {
    if (!isSpiking(decl)) fail(f.name, `recurrent weights feed back spikes, and ${model} neurons do not spike`);
    checkRank(f.name, 'recurrent weight', f.recurrent, 2);
    if (f.recurrent.shape[0] !== f.recurrent.shape[1]) fail(f.name, `recurrent weight must be square [N, N], got ${shapeToString(f.recurrent.shape)}`);
    checkFinite(f.name, 'recurrent weight', f.recurrent);
  }
  return { op: 'neuron', name: f.name, inputs: f.inputs, model, params, reset, ...(f.recurrent ? { recurrent: f.recurrent } : {}) };
}

interface NeuronFields {
  name: string;
  inputs: readonly string[];
  threshold: number;
  reset: ResetMode;
  v0: number;
}

/** Shorthands for the three classic models (passes, frontends and tests build these most). */
export function ifNeuron(f: NeuronFields & { recurrent?: Tensor }): NeuronLayer {
  return neuron('if', { name: f.name, inputs: f.inputs, reset: f.reset, recurrent: f.recurrent, params: { threshold: f.threshold, v0: f.v0 } });
}

export function lifNeuron(f: NeuronFields & { beta: number | Tensor; recurrent?: Tensor }): NeuronLayer {
  return neuron('lif', { name: f.name, inputs: f.inputs, reset: f.reset, recurrent: f.recurrent, params: { threshold: f.threshold, v0: f.v0, beta: f.beta } });
}

export function cubaLifNeuron(f: NeuronFields & { alpha: number | Tensor; beta: number | Tensor; bias?: Tensor; recurrent?: Tensor }): NeuronLayer {
  return neuron('cuba_lif', { name: f.name, inputs: f.inputs, reset: f.reset, recurrent: f.recurrent, params: { threshold: f.threshold, v0: f.v0, alpha: f.alpha, beta: f.beta, bias: f.bias } });
}
