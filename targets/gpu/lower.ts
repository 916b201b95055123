/**
 * IR → ONNX node lowering shared by every schedule: input preprocessing, synaptic layers on a
 * batch-major tensor [X, ...shape] (X = B or T·B), and one time step of a neuron layer on [B, N].
 * The operation order matches compiler/reference/simulator.ts exactly (one float32 rounding per op), which is
 * what makes 0 spike mismatches possible. Schedules decide where these nodes go; this module does not.
 */
import { materialise, sparseRule } from '../../compiler/ir/connectivity.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import type * as L from '../../compiler/ir/layers.js';
import { previousStepReads, staticValues } from '../../compiler/ir/graph.js';
import { isNeuron, isStateful } from '../../compiler/ir/layers.js';
import type { ShapeMap } from '../../compiler/ir/shapes.js';
import { sizeOf, transposeMatrix } from '../../compiler/ir/tensor.js';
import { type Const, type NeuronProgram, type Operand, neuronProgram } from '../../compiler/ir/neuron-program.js';
import { type GraphBuilder, int, ints } from '../common/onnx-builder.js';

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
  readonly stateful: readonly (L.StatefulLayer | L.Delay)[];
  /** Whether dst reads src's output of the previous step (a back edge: src is a neuron listed at or after dst). */
  readonly readsPrevious: (src: string, dst: string) => boolean;
  /** Neurons some layer reads at the previous step: they keep their last output as a state. */
  readonly keepsPrevious: ReadonlySet<string>;
  /** Each neuron layer's bound step (compiler/ir/neuron-program.ts), bound once. */
  readonly programs: ReadonlyMap<string, NeuronProgram>;
}

export function loweringContext(model: SnnModel, shapes: ShapeMap, batch: number, timesteps: number): LoweringContext {
  const statics = staticValues(model);
  const back = previousStepReads(model);
  return {
    model,
    shapes,
    batch,
    timesteps,
    isStatic: (n) => statics.has(n),
    stateful: model.layers.filter((l): l is L.StatefulLayer | L.Delay => isStateful(l) || l.op === 'delay'),
    readsPrevious: (src, dst) => back.has(`${src}→${dst}`),
    keepsPrevious: new Set([...back].map((e) => e.slice(0, e.indexOf('→')))),
    programs: new Map(model.layers.filter(isNeuron).map((l) => [l.name, neuronProgram(l, shapes.get(l.name)!)])),
  };
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
    case 'sparse': {
      // onnxruntime has no sparse kernel for this: the projection goes in as its dense weight matrix.
      const nIn = sizeOf(ctx.shapes.get(layer.inputs[0])!);
      const rule = sparseRule(layer, nIn);
      const w = b.constFloat(`${name}.weight`, materialise(layer, rule, 'the gpu target'), [rule.nOut, nIn]);
      const x = rank === 1 ? inputs[0] : b.node('Flatten', [inputs[0]], `${name}.flat`, { axis: int(1) });
      return b.node('Gemm', [x, w], name, { transB: int(1) });
    }
    case 'conv2d': {
      const w = b.constFloat(`${name}.weight`, layer.weight.data, layer.weight.shape);
      const args = layer.bias ? [inputs[0], w, b.constFloat(`${name}.bias`, layer.bias.data, layer.bias.shape)] : [inputs[0], w];
      return b.node('Conv', args, name, {
        kernel_shape: ints(layer.weight.shape.slice(2)),
        strides: ints(layer.stride),
        pads: ints(layer.padding),
        group: int(layer.groups),
        dilations: ints(layer.dilation ?? [1, 1]),
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
    case 'reshape':
      return b.node('Reshape', [inputs[0], b.constInt64(`${name}.shape`, [-1, ...layer.shape])], name);
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

/** A state tensor a stateful layer carries from one step to the next: [B, ...dims], initially `init` (one value, or one per element of dims). */
export interface StateVar {
  readonly key: string;
  readonly init: Float32Array;
  readonly dims: readonly number[];
}

/**
 * Neurons keep their model's state as [B, N] (s for recurrence, and their last output [B, ...shape]
 * when read at the previous step); a gated pool keeps its counts [B, C, H, W]; a delay of d steps its
 * ring [B, d, N] of the last d inputs, oldest first.
 */
export function stateVars(ctx: LoweringContext, layer: L.StatefulLayer | L.Delay): StateVar[] {
  const zero = Float32Array.of(0);
  if (layer.op === 'gated_maxpool2d') return [{ key: 'c', init: zero, dims: ctx.shapes.get(layer.inputs[0])! }];
  if (layer.op === 'delay') return [{ key: 'ring', init: zero, dims: [layer.steps, neuronCount(ctx, layer.name)] }];
  const dims = [neuronCount(ctx, layer.name)];
  const vars: StateVar[] = ctx.programs.get(layer.name)!.state.map((s) => ({ key: s.name, init: s.init, dims }));
  if (layer.recurrent) vars.push({ key: 's', init: zero, dims });
  if (ctx.keepsPrevious.has(layer.name)) vars.push({ key: 'previous', init: zero, dims: ctx.shapes.get(layer.name)! });
  return vars;
}

/** A delay's output this step, x(t − d) [B, ...shape]: the oldest entry of its ring [B, d, N]. */
export function emitDelayOutput(b: GraphBuilder, ctx: LoweringContext, layer: L.Delay, ring: string): string {
  const oldest = b.node('Gather', [ring, b.constInt64(`${layer.name}.oldest`, [0])], `${layer.name}.oldest_entry`, { axis: int(1) });
  return reshape(b, oldest, [ctx.batch, ...ctx.shapes.get(layer.name)!], layer.name);
}

/** A delay's ring after this step: the last d − 1 entries, then this step's input x(t). */
export function emitDelayPush(b: GraphBuilder, ctx: LoweringContext, layer: L.Delay, ring: string, x: string): string {
  const N = neuronCount(ctx, layer.name);
  const latest = reshape(b, x, [ctx.batch, 1, N], `${layer.name}.latest`);
  if (layer.steps === 1) return latest;
  const rest = b.node('Slice', [ring, b.constInt64(`${layer.name}.from`, [1]), b.constInt64(`${layer.name}.to`, [layer.steps]), b.constInt64(`${layer.name}.axis`, [1])], `${layer.name}.kept`);
  return b.node('Concat', [rest, latest], `${layer.name}.ring`, { axis: int(1) });
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
  const step = emitNeuronStep(b, ctx.programs.get(layer.name)!, current, state);
  const flat = step.spikes ?? step.membrane!;
  const output = shape.length === 1 ? flat : reshape(b, flat, [B, ...shape], `${layer.name}.${step.spikes ? 'spikes' : 'output'}_shaped`);
  return { next: step.next, output, spikes: step.spikes, membrane: step.membrane };
}

/**
 * One step of a neuron layer: its program's instructions as ONNX nodes, in order. `current` is the
 * input [B, N]; `state` maps each state var to its value name. Returns the new state (same keys), the
 * spikes s [B, N] of a spiking model, and the membrane after reset.
 */
export function emitNeuronStep(
  b: GraphBuilder,
  program: NeuronProgram,
  current: string,
  state: Readonly<Record<string, string>>,
): { next: Record<string, string>; spikes?: string; membrane?: string } {
  const layer = program.layer;
  const n = layer.name;
  const consts = new Map<string, string>();
  const constant = (c: Const) => {
    let name = consts.get(c.name);
    if (!name) consts.set(c.name, (name = c.values.length === 1 ? b.constScalar(c.name, c.values[0]) : b.constFloat(c.name, c.values, [c.values.length])));
    return name;
  };
  const fire = program.instructions.find((i) => i.do === 'fire');
  if (fire?.threshold.kind === 'const') constant(fire.threshold); // the threshold first, as graphs have always had it
  let input = current;
  if (layer.recurrent) {
    const wT = transposeMatrix(layer.recurrent.data, layer.recurrent.shape[0], layer.recurrent.shape[0]);
    const r = b.node('MatMul', [state.s, b.constFloat(`${n}.recurrent_weight_t`, wT, layer.recurrent.shape)], `${n}.recurrent_current`);
    input = b.node('Add', [input, r], `${n}.total_current`);
  }
  const next: Record<string, string> = { ...state };
  const temps: string[] = [];
  let spikes: string | undefined;
  const value = (o: Operand): string => {
    switch (o.kind) {
      case 'const':
        return constant(o);
      case 'input':
        return input;
      case 'spikes':
        return spikes!;
      case 'state':
        return next[o.name];
      case 'temp':
        return temps[o.id];
    }
  };
  for (const ins of program.instructions) {
    if (ins.do === 'op') temps[ins.id] = b.node(ONNX_OP[ins.op], [value(ins.a), value(ins.b)], ins.name);
    else if (ins.do === 'set') next[ins.state] = ins.value.kind === 'temp' || ins.value.kind === 'state' ? value(ins.value) : b.node('Identity', [value(ins.value)], ins.name);
    else {
      const u = value(ins.value);
      const theta = value(ins.threshold);
      if (ins.graded) {
        const sent = b.node('GreaterOrEqual', [b.node('Abs', [u], `${n}.magnitude`), theta], `${n}.sent`);
        spikes = b.node('Where', [sent, u, b.constScalar(`${n}.nothing`, 0)], `${n}.spikes`);
        continue;
      }
      const fired = b.node('GreaterOrEqual', [u, theta], `${n}.fired`);
      spikes = ins.burst ? emitBurst(b, n, { u, theta, fired, burst: value(ins.burst) }) : b.node('Cast', [fired], `${n}.spikes`, { to: int(1) });
      if (ins.resets) next[ins.resets] = emitReset(b, layer.reset, { u, theta, fired, spikes, vReset: () => constant(program.vReset) }, `${n}.${ins.resets}`);
    }
  }
  if (layer.recurrent) next.s = spikes!;
  return { next, spikes, membrane: program.membrane ? next[program.membrane] : undefined };
}

const ONNX_OP = { add: 'Add', sub: 'Sub', mul: 'Mul', max: 'Max' } as const;

/** A burst's spike count: min(⌊u/θ⌋, Γ) where fired, else 0 (Div rounds to float32 before Floor, as the simulator). */
function emitBurst(b: GraphBuilder, n: string, v: { u: string; theta: string; fired: string; burst: string }): string {
  const count = b.node('Min', [b.node('Floor', [b.node('Div', [v.u, v.theta], `${n}.thresholds`)], `${n}.whole_thresholds`), v.burst], `${n}.count`);
  return b.node('Where', [v.fired, count, b.constScalar(`${n}.silent`, 0)], `${n}.spikes`);
}

/** The membrane after a spike: u − θ·s, 0 where fired, or v_reset where fired. */
function emitReset(b: GraphBuilder, mode: L.ResetMode, v: { u: string; theta: string; fired: string; spikes: string; vReset: () => string }, name: string): string {
  const layer = name.slice(0, name.lastIndexOf('.'));
  if (mode === 'subtract') return b.node('Sub', [v.u, b.node('Mul', [v.spikes, v.theta], `${layer}.reset_amount`)], name);
  const after = mode === 'zero' ? b.constScalar(`${layer}.zero`, 0) : v.vReset();
  return b.node('Where', [v.fired, after, v.u], name);
}

/** Reshape to the given dims (skipped when the caller knows it is already that shape). */
export function reshape(b: GraphBuilder, x: string, dims: readonly number[], hint: string): string {
  return b.node('Reshape', [x, b.constInt64(`${hint}.shape`, dims)], hint);
}

/** A [B, ...] tensor filled with `init`: one value, or one per element of the trailing dims (initial state). */
export function filled(b: GraphBuilder, init: Float32Array, dims: readonly number[], hint: string): string {
  const value = init.length === 1 ? b.constScalar(`${hint}.value`, init[0]) : b.constFloat(`${hint}.value`, init, [init.length]);
  return b.node('Expand', [value, b.constInt64(`${hint}.dims`, dims)], hint);
}
