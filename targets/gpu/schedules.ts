/**
 * Schedules: how the T time steps of an SNN are laid out in an ONNX graph.
 *
 * - layerwise: every synaptic op runs once over all T·B rows (the largest GEMM/Conv batch); each neuron
 *   layer is its own Scan over time with an elementwise body. Valid for every snnc model, since the IR
 *   only has layer-local recurrence.
 * - scan:      one Scan over time whose body is one step of the whole network.
 * - step:      one step per call, with explicit state inputs and outputs, for streaming.
 *
 * In all three, values that do not change over time (a direct-encoded input and the synaptic layers
 * fed only by it) are computed once at batch B before the time loop.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import type * as L from '../../compiler/ir/layers.js';
import { isStateful } from '../../compiler/ir/layers.js';
import { laterReads } from '../../compiler/ir/graph.js';
import { INPUT, averagesOverTime } from '../../compiler/ir/model.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { GraphBuilder, graphAttr, int } from '../common/onnx-builder.js';
import { type LoweringContext, emitDelayOutput, emitDelayPush, emitPreprocess, emitStatefulStep, emitSynaptic, filled, neuronCount, reshape, stateVars } from './lower.js';

export type Schedule = 'layerwise' | 'scan' | 'step';
export const SCHEDULES: readonly Schedule[] = ['layerwise', 'scan', 'step'];

/** The interface of a compiled graph, recorded in manifest.json for runners. */
export interface GraphIO {
  /** 'x': [B, ...input] when the input has no time axis, else [T, B, ...input] ([B, ...input] per call for `step`). */
  readonly input: { readonly name: string; readonly dims: number[]; readonly hasTimeAxis: boolean };
  /** 'y': decoded scores [B, classes] (for `step`: this step's contribution, summed by the runner). */
  readonly output: { readonly name: string; readonly dims: number[] };
  /** `step` only: state tensors to feed back, with their initial value (one, or one per neuron: [N] repeated over the batch). */
  readonly states: { layer: string; key: string; input: string; output: string; dims: number[]; init: number | number[] }[];
  /** Spike probes: [T, B, N] (for `step`: [B, N] per call). */
  readonly probes: { layer: string; name: string; dims: number[] }[];
  /** With `outputSteps`: each step's output value [T, B, classes] before decoding (for `step`, `y` itself). */
  readonly outputSteps?: { readonly name: string; readonly dims: number[] };
}

export interface ScheduledGraph {
  readonly builder: GraphBuilder;
  readonly io: GraphIO;
}

export interface ScheduleOptions {
  /** Neuron layers whose spikes become extra outputs. */
  readonly probes: readonly string[];
  /** Export the per-step output values too. */
  readonly outputSteps: boolean;
}

const INPUT_NAME = 'x';
const OUTPUT_NAME = 'y';
const STEPS_NAME = 'y_steps';
const probeName = (layer: string) => `spikes.${layer}`;

/** Elements of the output layer per sample: the decoded scores per class. */
function classes(ctx: LoweringContext): number {
  return sizeOf(ctx.shapes.get(ctx.model.output.layer)!);
}

/** Graph input, preprocessing, and the static (time-invariant) layers at batch B. */
function emitStaticPrefix(b: GraphBuilder, ctx: LoweringContext, perCall: 'all-steps' | 'one-step'): { values: Map<string, string>; inputDims: number[]; hasTimeAxis: boolean } {
  const { model, batch: B, timesteps: T } = ctx;
  const direct = model.input.encoding.type === 'direct';
  const hasTimeAxis = !direct && perCall === 'all-steps';
  const inputDims = hasTimeAxis ? [T, B, ...model.input.shape] : [B, ...model.input.shape];
  let x = b.input(INPUT_NAME, inputDims);
  // Rate coding happens in the runner (seeded, shared with the simulator), preprocessing included.
  if (model.input.encoding.type !== 'rate') x = emitPreprocess(b, ctx, x);
  const values = new Map<string, string>([[INPUT, x]]);
  for (const layer of model.layers) {
    if (ctx.isStatic(layer.name)) values.set(layer.name, emitSynaptic(b, ctx, layer as L.SynapticLayer, layer.inputs.map((n) => values.get(n)!)));
  }
  return { values, inputDims, hasTimeAxis };
}

// ---------------------------------------------------------------------------------------------
// layerwise

export function scheduleLayerwise(ctx: LoweringContext, options: ScheduleOptions): ScheduledGraph {
  const { model, batch: B, timesteps: T } = ctx;
  const root = new GraphBuilder();
  const { values, inputDims, hasTimeAxis } = emitStaticPrefix(root, ctx, 'all-steps');
  if (hasTimeAxis) values.set(INPUT, reshape(root, values.get(INPUT)!, [T * B, ...model.input.shape], 'input.steps'));
  const shapeOf = (name: string) => ctx.shapes.get(name)!;
  /** A value as [T·B, ...shape], repeating static values over time. */
  const overTime = (name: string): string => {
    const v = values.get(name)!;
    if (!ctx.isStatic(name)) return v;
    const shape = shapeOf(name);
    const repeated = root.node('Expand', [reshape(root, v, [1, B, ...shape], `${name}.once`), root.constInt64(`${name}.t_dims`, [T, B, ...shape])], `${name}.repeated`);
    return reshape(root, repeated, [T * B, ...shape], `${name}.over_time`);
  };

  const probes: GraphIO['probes'] = [];
  let outputMembrane: string | undefined;
  const early = laterReads(model.layers)[0];
  if (early) throw new SnncError(`layer "${early.layer.name}" reads "${early.src.name}" of an earlier step (a cycle or a delay listed later): the layerwise schedule runs each layer over all steps in turn; use --schedule scan or step`, ExitCode.doesNotFit);
  for (const layer of model.layers) {
    if (ctx.isStatic(layer.name)) continue;
    if (layer.op === 'delay') {
      values.set(layer.name, shiftInTime(root, ctx, layer, overTime(layer.inputs[0])));
      continue;
    }
    if (!isStateful(layer)) {
      values.set(layer.name, emitSynaptic(root, ctx, layer, layer.inputs.map(overTime)));
      continue;
    }
    // A stateful layer: a Scan over time of its own step, fed [T, B, ...input shape].
    const inShape = shapeOf(layer.inputs[0]);
    const outShape = shapeOf(layer.name);
    const steps = reshape(root, overTime(layer.inputs[0]), [T, B, ...inShape], `${layer.name}.input_steps`);
    const wantMembrane = layer.name === model.output.layer && model.output.decoding === 'mean_membrane';
    const probe = options.probes.includes(layer.name);

    const body = new GraphBuilder(root);
    const vars = stateVars(ctx, layer);
    const stateIn: Record<string, string> = {};
    for (const v of vars) stateIn[v.key] = body.input(body.fresh(`${layer.name}.${v.key}_in`), [B, ...v.dims]);
    const x = body.input(body.fresh(`${layer.name}.input_t`), [B, ...inShape]);
    const step = emitStatefulStep(body, ctx, layer, x, stateIn);
    for (const v of vars) body.output(step.next[v.key], [B, ...v.dims]);
    body.output(body.node('Identity', [step.output], `${layer.name}.output_t`), [B, ...outShape]);
    if (wantMembrane) body.output(body.node('Identity', [step.membrane!], `${layer.name}.v_t`), [B, sizeOf(outShape)]);

    const inits = vars.map((v) => filled(root, v.init, [B, ...v.dims], `${layer.name}.${v.key}_init`));
    const outs = root.nodeN(
      'Scan',
      [...inits, steps],
      [...vars.map((v) => `${layer.name}.${v.key}_final`), `${layer.name}.output_steps`, ...(wantMembrane ? [`${layer.name}.v_steps`] : [])],
      { body: graphAttr(body.graph(`${layer.name}_step`, false)), num_scan_inputs: int(1) },
    );
    const outSteps = outs[vars.length];
    if (wantMembrane) outputMembrane = outs[vars.length + 1];
    if (probe) {
      const N = sizeOf(outShape);
      probes.push({ layer: layer.name, name: root.output(reshape(root, outSteps, [T, B, N], `${layer.name}.probe`), [T, B, N], probeName(layer.name)), dims: [T, B, N] });
    }
    values.set(layer.name, reshape(root, outSteps, [T * B, ...outShape], `${layer.name}.over_time`));
  }

  const C = classes(ctx);
  const outName = model.output.layer;
  // Per-step output values [T, B, C]: the membrane, a static value repeated, or the layer's output.
  const ySteps = outputMembrane
    ? outputMembrane
    : reshape(root, ctx.isStatic(outName) ? overTime(outName) : values.get(outName)!, [T, B, C], 'y.steps');
  const y = averagesOverTime(model.output.decoding) ? meanOverTime(root, ySteps, T) : sumOverTime(root, ySteps);
  root.output(y, [B, C], OUTPUT_NAME);
  const outputSteps = options.outputSteps ? { name: root.output(ySteps, [T, B, C], STEPS_NAME), dims: [T, B, C] } : undefined;
  return { builder: root, io: { input: { name: INPUT_NAME, dims: inputDims, hasTimeAxis }, output: { name: OUTPUT_NAME, dims: [B, C] }, states: [], probes, outputSteps } };
}

function sumOverTime(b: GraphBuilder, steps: string): string {
  return b.node('ReduceSum', [steps, b.constInt64('time_axis', [0])], 'y.sum', { keepdims: int(0) });
}

/** A delay over all steps: x [T·B, ...shape] shifted d steps later in time, zeros first. */
function shiftInTime(b: GraphBuilder, ctx: LoweringContext, layer: L.Delay, x: string): string {
  const { batch: B, timesteps: T } = ctx;
  const shape = ctx.shapes.get(layer.name)!;
  const rows = reshape(b, x, [T, B * sizeOf(shape)], `${layer.name}.rows`);
  const zeros = b.constFloat(`${layer.name}.zeros`, new Float32Array(Math.min(layer.steps, T) * B * sizeOf(shape)), [Math.min(layer.steps, T), B * sizeOf(shape)]);
  const padded = b.node('Concat', [zeros, rows], `${layer.name}.padded`, { axis: int(0) });
  const kept = b.node('Slice', [padded, b.constInt64(`${layer.name}.from`, [0]), b.constInt64(`${layer.name}.to`, [T]), b.constInt64(`${layer.name}.axis`, [0])], `${layer.name}.shifted`);
  return reshape(b, kept, [T * B, ...shape], layer.name);
}

function meanOverTime(b: GraphBuilder, steps: string, T: number): string {
  return b.node('Div', [sumOverTime(b, steps), b.constScalar('timesteps', T)], 'y.mean');
}

// ---------------------------------------------------------------------------------------------
// one step of the whole network (shared by scan and step)

interface StepOutputs {
  /** Next value of each state, keyed like `stateIn`. */
  readonly next: Map<string, string>;
  /** This step's output-layer value [B, C] (spikes, values or membrane, as the decoding needs). */
  readonly y: string;
  readonly probes: Map<string, string>;
}

const stateKey = (layer: string, key: string) => `${layer}/${key}`;

/**
 * Emits the non-static layers for one time step at batch B, reading states through `stateIn`. Delays
 * output the oldest entry of their ring first and push this step's input last; a layer reading a
 * neuron at the previous step reads that neuron's `previous` state.
 */
function emitOneStep(
  b: GraphBuilder,
  ctx: LoweringContext,
  values: Map<string, string>,
  readState: (layer: L.StatefulLayer | L.Delay, key: string) => string,
  probeLayers: readonly string[],
): StepOutputs {
  const { model, batch: B } = ctx;
  const read = new Map<string, string>();
  /** Each state is read through `readState` once (the step schedule makes a graph input per call). */
  const stateIn = (layer: L.StatefulLayer | L.Delay, key: string) => {
    const k = stateKey(layer.name, key);
    if (!read.has(k)) read.set(k, readState(layer, key));
    return read.get(k)!;
  };
  const next = new Map<string, string>();
  const probes = new Map<string, string>();
  let membrane: string | undefined;
  const delays = model.layers.filter((l): l is L.Delay => l.op === 'delay');
  for (const d of delays) values.set(d.name, emitDelayOutput(b, ctx, d, stateIn(d, 'ring')));
  const inputOf = (layer: L.Layer) => layer.inputs.map((src) => (ctx.readsPrevious(src, layer.name) ? stateIn(model.layers.find((l) => l.name === src) as L.NeuronLayer, 'previous') : values.get(src)!));
  for (const layer of model.layers) {
    if (ctx.isStatic(layer.name) || layer.op === 'delay') continue;
    if (!isStateful(layer)) {
      values.set(layer.name, emitSynaptic(b, ctx, layer, inputOf(layer)));
      continue;
    }
    const state: Record<string, string> = {};
    for (const v of stateVars(ctx, layer)) if (v.key !== 'previous') state[v.key] = stateIn(layer, v.key);
    const step = emitStatefulStep(b, ctx, layer, inputOf(layer)[0], state);
    for (const [key, value] of Object.entries(step.next)) next.set(stateKey(layer.name, key), value);
    if (ctx.keepsPrevious.has(layer.name)) next.set(stateKey(layer.name, 'previous'), step.output);
    if (probeLayers.includes(layer.name)) probes.set(layer.name, step.spikes!);
    if (layer.name === model.output.layer) membrane = step.membrane;
    values.set(layer.name, step.output);
  }
  for (const d of delays) next.set(stateKey(d.name, 'ring'), emitDelayPush(b, ctx, d, stateIn(d, 'ring'), values.get(d.inputs[0])!));
  const C = classes(ctx);
  const out = model.output.decoding === 'mean_membrane' ? membrane! : values.get(model.output.layer)!;
  const y = ctx.shapes.get(model.output.layer)!.length === 1 ? out : reshape(b, out, [B, C], 'y_t.flat');
  return { next, y, probes };
}

// ---------------------------------------------------------------------------------------------
// scan

export function scheduleScan(ctx: LoweringContext, options: ScheduleOptions): ScheduledGraph {
  const { model, batch: B, timesteps: T } = ctx;
  const root = new GraphBuilder();
  const { values, inputDims, hasTimeAxis } = emitStaticPrefix(root, ctx, 'all-steps');
  const body = new GraphBuilder(root);
  const bodyValues = new Map(values); // static values are read from the outer scope

  const stateList: { layer: L.StatefulLayer | L.Delay; key: string; init: Float32Array; dims: number[]; input: string }[] = [];
  for (const layer of ctx.stateful) {
    for (const v of stateVars(ctx, layer)) {
      const dims = [B, ...v.dims];
      stateList.push({ layer, key: v.key, init: v.init, dims, input: body.input(body.fresh(`${layer.name}.${v.key}_in`), dims) });
    }
  }
  // The scan input: the per-step input, or (direct encoding) a dummy that only sets the length T.
  let scanInput: string;
  if (hasTimeAxis) {
    scanInput = values.get(INPUT)!;
    bodyValues.set(INPUT, body.input(body.fresh('x_t'), [B, ...model.input.shape]));
  } else {
    scanInput = root.constFloat('steps', new Float32Array(T), [T, 1]);
    body.input(body.fresh('step_t'), [1]);
  }
  const step = emitOneStep(body, ctx, bodyValues, (layer, key) => stateList.find((s) => s.layer === layer && s.key === key)!.input, options.probes);
  const C = classes(ctx);
  for (const s of stateList) body.output(step.next.get(stateKey(s.layer.name, s.key))!, s.dims);
  body.output(body.node('Identity', [step.y], 'y_t'), [B, C]);
  const probeLayers = [...step.probes.keys()];
  for (const layer of probeLayers) body.output(body.node('Identity', [step.probes.get(layer)!], `${layer}.spikes_t`), [B, neuronCount(ctx, layer)]);

  const inits = stateList.map((s) => filled(root, s.init, s.dims, `${s.layer.name}.${s.key}_init`));
  const outs = root.nodeN(
    'Scan',
    [...inits, scanInput],
    [...stateList.map((s) => `${s.layer.name}.${s.key}_final`), 'y.steps', ...probeLayers.map((l) => `${l}.spike_steps`)],
    { body: graphAttr(body.graph('network_step', false)), num_scan_inputs: int(1) },
  );
  const ySteps = outs[stateList.length];
  const y = averagesOverTime(model.output.decoding) ? meanOverTime(root, ySteps, T) : sumOverTime(root, ySteps);
  root.output(y, [B, C], OUTPUT_NAME);
  const probes = probeLayers.map((layer, k) => {
    const dims = [T, B, neuronCount(ctx, layer)];
    return { layer, name: root.output(outs[stateList.length + 1 + k], dims, probeName(layer)), dims };
  });
  const outputSteps = options.outputSteps ? { name: root.output(ySteps, [T, B, C], STEPS_NAME), dims: [T, B, C] } : undefined;
  return { builder: root, io: { input: { name: INPUT_NAME, dims: inputDims, hasTimeAxis }, output: { name: OUTPUT_NAME, dims: [B, C] }, states: [], probes, outputSteps } };
}

// ---------------------------------------------------------------------------------------------
// step

export function scheduleStep(ctx: LoweringContext, options: ScheduleOptions): ScheduledGraph {
  const { batch: B } = ctx;
  const root = new GraphBuilder();
  const { values, inputDims } = emitStaticPrefix(root, ctx, 'one-step');
  const states: GraphIO['states'] = [];
  const step = emitOneStep(root, ctx, values, (layer, key) => {
    const v = stateVars(ctx, layer).find((x) => x.key === key)!;
    const dims = [B, ...v.dims];
    const init = v.init.length === 1 ? v.init[0] : [...v.init];
    const input = root.input(`state.${layer.name}.${key}`, dims);
    states.push({ layer: layer.name, key, input, output: `state.${layer.name}.${key}.next`, dims, init });
    return input;
  }, options.probes);
  const C = classes(ctx);
  root.output(step.y, [B, C], OUTPUT_NAME);
  for (const s of states) root.output(step.next.get(stateKey(s.layer, s.key))!, s.dims, s.output);
  const probes = [...step.probes].map(([layer, value]) => {
    const dims = [B, neuronCount(ctx, layer)];
    return { layer, name: root.output(value, dims, probeName(layer)), dims };
  });
  const outputSteps = options.outputSteps ? { name: OUTPUT_NAME, dims: [B, C] } : undefined;
  return { builder: root, io: { input: { name: INPUT_NAME, dims: inputDims, hasTimeAxis: false }, output: { name: OUTPUT_NAME, dims: [B, C] }, states, probes, outputSteps } };
}

export function schedule(kind: Schedule, ctx: LoweringContext, options: ScheduleOptions): ScheduledGraph {
  switch (kind) {
    case 'layerwise':
      return scheduleLayerwise(ctx, options);
    case 'scan':
      return scheduleScan(ctx, options);
    case 'step':
      return scheduleStep(ctx, options);
  }
}
