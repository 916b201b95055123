/**
 * IR → ONNX node lowering shared by every schedule: input preprocessing, synaptic layers on a
 * batch-major tensor [X, ...shape] (X = B or T·B), and one time step of a neuron layer on [B, N].
 * The operation order matches runtime/simulator.ts exactly (one float32 rounding per op), which is
 * what makes 0 spike mismatches possible. Schedules decide where these nodes go; this module does not.
 */
import type { SnnModel } from '../../compiler/ir/model.js';
import type * as L from '../../compiler/ir/layers.js';
import { staticValues } from '../../compiler/ir/graph.js';
import { isStateful } from '../../compiler/ir/layers.js';
import type { ShapeMap } from '../../compiler/ir/shapes.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { type GraphBuilder, int, ints } from './onnx-builder.js';

/** What every schedule needs to know about a model. */
export interface LoweringContext {
  readonly model: SnnModel;
  readonly shapes: ShapeMap;
  readonly batch: number;
  readonly timesteps: number;
  /**
   * Values constant over time: the input under direct encoding, and synaptic layers reading only
   * static values. Schedules compute them once, at batch B, outside the time loop.
   */
  readonly isStatic: (name: string) => boolean;
  readonly stateful: readonly L.StatefulLayer[];
}

export function loweringContext(model: SnnModel, shapes: ShapeMap, batch: number, timesteps: number): LoweringContext {
  const statics = staticValues(model);
  return { model, shapes, batch, timesteps, isStatic: (n) => statics.has(n), stateful: model.layers.filter(isStateful) };
}

export function neuronCount(ctx: LoweringContext, layer: string): number {
  return sizeOf(ctx.shapes.get(layer)!);
}

/** (x·scale − mean) / std on [X, C, ...], skipping identity steps (as encoders.preprocess does). */
export function emitPreprocess(b: GraphBuilder, ctx: LoweringContext, x: string): string {
  const p = ctx.model.input.preprocess;
  const shape = ctx.model.input.shape;
  const perChannel = (values: readonly number[], hint: string) =>
    values.length === 1 ? b.constScalar(hint, values[0]) : b.constFloat(hint, Float32Array.from(values), [values.length, ...shape.slice(1).map(() => 1)]);
  let v = x;
  if (p.scale !== 1) v = b.node('Mul', [v, b.constScalar('input.scale', p.scale)], 'input.scaled');
  if (p.mean.some((m) => m !== 0)) v = b.node('Sub', [v, perChannel(p.mean, 'input.mean')], 'input.centred');
  if (p.std.some((s) => s !== 1)) v = b.node('Div', [v, perChannel(p.std, 'input.std')], 'input.normalised');
  return v;
}

/** One stateless layer on batch-major inputs [X, ...]. */
export function emitSynaptic(b: GraphBuilder, ctx: LoweringContext, layer: L.SynapticLayer, inputs: readonly string[]): string {
  const name = layer.name;
  const rank = ctx.shapes.get(layer.inputs[0])!.length;
  switch (layer.op) {
    case 'dense': {
      const w = b.constFloat(`${name}.weight`, layer.weight.data, layer.weight.shape);
      const args = layer.bias ? [inputs[0], w, b.constFloat(`${name}.bias`, layer.bias.data, layer.bias.shape)] : [inputs[0], w];
      return b.node('Gemm', args, name, { transB: int(1) });
    }
    case 'conv2d': {
      const w = b.constFloat(`${name}.weight`, layer.weight.data, layer.weight.shape);
      const args = layer.bias ? [inputs[0], w, b.constFloat(`${name}.bias`, layer.bias.data, layer.bias.shape)] : [inputs[0], w];
      return b.node('Conv', args, name, {
        kernel_shape: ints(layer.weight.shape.slice(2)),
        strides: ints(layer.stride),
        pads: ints(layer.padding),
        group: int(layer.groups),
        dilations: ints([1, 1]),
      });
    }
    case 'avgpool2d':
      return b.node('AveragePool', [inputs[0]], name, {
        kernel_shape: ints(layer.kernel),
        strides: ints(layer.stride),
        pads: ints(layer.padding),
        count_include_pad: int(1),
      });
    case 'maxpool2d':
      return b.node('MaxPool', [inputs[0]], name, { kernel_shape: ints(layer.kernel), strides: ints(layer.stride), pads: ints(layer.padding) });
    case 'flatten':
      return b.node('Flatten', [inputs[0]], name, { axis: int(1) });
    case 'add': {
      const c = layer.coefficients ?? inputs.map(() => 1);
      const term = (k: number) => (Math.fround(c[k]) === 1 ? inputs[k] : b.node('Mul', [inputs[k], b.constScalar(`${name}.coefficient${k}`, c[k])], `${name}.term${k}`));
      let acc = term(0);
      for (let i = 1; i < inputs.length; i++) acc = b.node('Add', [acc, term(i)], i === inputs.length - 1 ? name : `${name}.partial`);
      return acc;
    }
    case 'concat':
      return b.node('Concat', inputs, name, { axis: int(1) });
    case 'batchnorm': {
      // Per-channel constants [C, 1, …] broadcast against [X, C, …].
      const dims = [layer.scale.shape[0], ...Array(rank - 1).fill(1)];
      const scaled = b.node('Mul', [inputs[0], b.constFloat(`${name}.scale`, layer.scale.data, dims)], `${name}.scaled`);
      return b.node('Add', [scaled, b.constFloat(`${name}.shift`, layer.shift.data, dims)], name);
    }
    case 'relu':
      return layer.max === undefined
        ? b.node('Relu', [inputs[0]], name)
        : b.node('Clip', [inputs[0], b.constScalar(`${name}.min`, 0), b.constScalar(`${name}.max`, layer.max)], name);
  }
}

/**
 * One step of a gated max-pool on [B, C, H, W]: counts c ← c + x; per window, MaxPool's Indices output
 * gives the first position of the largest count (row-major, as the simulator), and Gather picks x there.
 */
export function emitGatedPoolStep(b: GraphBuilder, layer: L.GatedMaxPool2d, x: string, counts: string): { next: string; output: string } {
  const n = layer.name;
  const next = b.node('Add', [counts, x], `${n}.counts`);
  const [, indices] = b.nodeN('MaxPool', [next], [`${n}.max_counts`, `${n}.winner`], { kernel_shape: ints(layer.kernel), strides: ints(layer.stride) });
  const flat = b.node('Reshape', [x, b.constInt64(`${n}.flat`, [-1])], `${n}.x_flat`);
  return { next, output: b.node('Gather', [flat, indices], n, { axis: int(0) }) };
}

/** A state tensor a stateful layer carries from one step to the next: [B, ...dims], initially `init`. */
export interface StateVar {
  readonly key: 'v' | 'i' | 's' | 'c';
  readonly init: number;
  readonly dims: readonly number[];
}

/** Neurons keep v (and i for CUBA-LIF, s for recurrence) as [B, N]; a gated pool keeps its counts [B, C, H, W]. */
export function stateVars(ctx: LoweringContext, layer: L.StatefulLayer): StateVar[] {
  if (layer.op === 'gated_maxpool2d') return [{ key: 'c', init: 0, dims: ctx.shapes.get(layer.inputs[0])! }];
  const dims = [neuronCount(ctx, layer.name)];
  const vars: StateVar[] = [{ key: 'v', init: Math.fround(layer.v0), dims }];
  if (layer.op === 'cuba_lif') vars.push({ key: 'i', init: 0, dims });
  if (layer.op !== 'if' && layer.recurrent) vars.push({ key: 's', init: 0, dims });
  return vars;
}

/**
 * One step of a stateful layer on its input [B, ...input shape]: returns the next state (keyed as
 * `stateVars`), the output [B, ...output shape], and for neurons the spikes and membrane as [B, N].
 */
export function emitStatefulStep(
  b: GraphBuilder,
  ctx: LoweringContext,
  layer: L.StatefulLayer,
  input: string,
  state: Readonly<Record<string, string>>,
): { next: Record<string, string>; output: string; spikes?: string; membrane?: string } {
  if (layer.op === 'gated_maxpool2d') {
    const step = emitGatedPoolStep(b, layer, input, state.c);
    return { next: { c: step.next }, output: step.output };
  }
  const B = ctx.batch;
  const shape = ctx.shapes.get(layer.name)!;
  const N = neuronCount(ctx, layer.name);
  const current = shape.length === 1 ? input : reshape(b, input, [B, N], `${layer.name}.current_flat`);
  const step = emitNeuronStep(b, layer, current, state);
  const output = shape.length === 1 ? step.spikes : reshape(b, step.spikes, [B, ...shape], `${layer.name}.spikes_shaped`);
  return { next: step.next, output, spikes: step.spikes, membrane: step.membrane };
}

/**
 * One step of a neuron layer. `current` is the input [B, N]; `state` maps each state var to its
 * value name. Returns the new state (same keys), the spikes s [B, N] and the membrane after reset.
 */
export function emitNeuronStep(
  b: GraphBuilder,
  layer: L.NeuronLayer,
  current: string,
  state: Readonly<Record<string, string>>,
): { next: Record<string, string>; spikes: string; membrane: string } {
  const n = layer.name;
  const theta = b.constScalar(`${n}.threshold`, layer.threshold);
  let input = current;
  if (layer.op !== 'if' && layer.recurrent) {
    const wT = transpose(layer.recurrent.data, layer.recurrent.shape[0]);
    const r = b.node('MatMul', [state.s, b.constFloat(`${n}.recurrent_weight_t`, wT, layer.recurrent.shape)], `${n}.recurrent_current`);
    input = b.node('Add', [input, r], `${n}.total_current`);
  }
  const next: Record<string, string> = {};
  let u: string;
  if (layer.op === 'cuba_lif') {
    const decayedI = b.node('Mul', [state.i, b.constScalar(`${n}.alpha`, layer.alpha)], `${n}.i_decayed`);
    next.i = b.node('Add', [decayedI, input], `${n}.i`);
    const decayedV = b.node('Mul', [state.v, b.constScalar(`${n}.beta`, layer.beta)], `${n}.v_decayed`);
    u = b.node('Add', [decayedV, next.i], `${n}.u`);
    if (layer.bias) u = b.node('Add', [u, b.constFloat(`${n}.bias`, layer.bias.data, [layer.bias.data.length])], `${n}.u_biased`);
  } else if (layer.op === 'lif' && Math.fround(layer.beta) !== 1) {
    const decayedV = b.node('Mul', [state.v, b.constScalar(`${n}.beta`, layer.beta)], `${n}.v_decayed`);
    u = b.node('Add', [decayedV, input], `${n}.u`);
  } else {
    u = b.node('Add', [state.v, input], `${n}.u`);
  }
  const fired = b.node('GreaterOrEqual', [u, theta], `${n}.fired`);
  const spikes = b.node('Cast', [fired], `${n}.spikes`, { to: int(1) });
  next.v =
    layer.reset === 'subtract'
      ? b.node('Sub', [u, b.node('Mul', [spikes, theta], `${n}.reset_amount`)], `${n}.v`)
      : b.node('Where', [fired, b.constScalar(`${n}.zero`, 0), u], `${n}.v`);
  if (layer.op !== 'if' && layer.recurrent) next.s = spikes;
  return { next, spikes, membrane: next.v };
}

function transpose(w: Float32Array, n: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) t[c * n + r] = w[r * n + c];
  return t;
}

/** Reshape to the given dims (skipped when the caller knows it is already that shape). */
export function reshape(b: GraphBuilder, x: string, dims: readonly number[], hint: string): string {
  return b.node('Reshape', [x, b.constInt64(`${hint}.shape`, dims)], hint);
}

/** A [B, N] tensor filled with `value` (initial state). */
export function filled(b: GraphBuilder, value: number, dims: readonly number[], hint: string): string {
  return b.node('Expand', [b.constScalar(`${hint}.value`, value), b.constInt64(`${hint}.dims`, dims)], hint);
}
