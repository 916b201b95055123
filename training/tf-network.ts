/**
 * A trainable TensorFlow.js mirror of an IR model over its T steps (dense, conv2d, avgpool2d, maxpool2d,
 * flatten, add, concat, batchnorm, delay, relu, neurons): variables initialised from the IR's weights, a
 * forward pass, and the weights written back into a copy of the IR. tfjs runs on its wasm backend (the
 * cpu backend is ~4× slower on matmul and 20× on conv); tfjs is loaded on first use, so commands that do
 * not train never pay for it.
 *
 * Layout: tfjs is channel-last, the IR channel-first. Images are transposed to NHWC once, conv
 * weights are [kh, kw, C, O] here and [O, C, kh, kw] in the IR, dense weights [in, out] here and
 * [out, in] in the IR, and flatten transposes back to C, H, W order as the IR's flatten defines.
 *
 * Time: the network runs layer by layer over all steps at once (a layer's value is [T·B, …],
 * time-major), so a synaptic layer is one large matmul or conv for all steps, and a value that does not
 * change over time (a direct-encoded input and the layers it feeds) is computed once, [B, …]. Each
 * neuron layer runs its model's program step by step: as one generated loop with a custom gradient
 * (training/tf-ops.ts, neuron-kernel.ts) or as tensor ops (training/tf-neurons.ts). Delays shift along
 * time; cycles are not trainable. With T=1 this is the single-step network of noise training.
 *
 * Batch normalisation (`trainBatchNorm`): each batchnorm layer's scale and shift are γ and β, and in the
 * `sample` and `smooth` modes it normalises by the statistics of its input over batch, time and space
 * (per channel); the running statistics (momentum 0.1) are what `toModel` folds into scale and shift.
 */
import type * as TF from '@tensorflow/tfjs';
import { badInput } from '../compiler/errors.js';
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel, averagesOverTime } from '../compiler/ir/model.js';
import { sizeOf, tensor } from '../compiler/ir/tensor.js';
import { type Const, type NeuronProgram, modelOf, neuronProgram } from '../compiler/ir/neuron-program.js';
import { type ParamSpec, isBurst, isGraded } from '../compiler/ir/neurons.js';
import { uniformValue } from '../compiler/ir/params.js';
import type { ShapeMap } from '../compiler/ir/shapes.js';
import { verifyModel } from '../compiler/ir/verify.js';
import { type NeuronKernel, compileNeuronKernel } from './neuron-kernel.js';
import { loadSparseKernel } from './sparse-wasm.js';
import type { Membrane } from './sparse-backward.js';
import { type LearnedParam, avgPoolOp, biasAddOp, convOp, fusedNeuronOp, sparseSynapseNeuronOp, staticDenseOp } from './tf-ops.js';
import { type ForwardMode, type LayerRun, type SpikeRule, runNeuronLayer } from './tf-neurons.js';

export type { ForwardMode, SpikeRule } from './tf-neurons.js';

let loaded: Promise<typeof TF> | undefined;

/** tfjs with its wasm backend, loaded once. */
export function loadTf(): Promise<typeof TF> {
  loaded ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
    await tf.ready();
    return tf;
  })();
  return loaded;
}

export const TRAINABLE_OPS: readonly L.LayerOp[] = ['dense', 'conv2d', 'avgpool2d', 'maxpool2d', 'flatten', 'add', 'concat', 'batchnorm', 'delay', 'neuron', 'relu'];

export interface TfNetworkOptions {
  /** How spiking layers are differentiated (required when the model has any). */
  readonly rule?: SpikeRule;
  /** Train batchnorm layers by batch statistics (γ, β trainable; see the module comment). */
  readonly trainBatchNorm?: boolean;
  /**
   * Surrogate-trained neuron layers: 'fused' (default) runs each layer's steps and their backward pass as
   * one generated loop (training/neuron-kernel.ts); 'tf' as tensor operations (the reference).
   */
  readonly engine?: 'fused' | 'tf';
  /** LocalZO: train the synaptic layers feeding IF/LIF neurons by the sparse backward (default true). */
  readonly sparseBackward?: boolean;
  /** Neuron parameters to train, by layer (e.g. beta, threshold): each as it is given, a number or per neuron. */
  readonly learn?: ReadonlyMap<string, readonly string[]>;
  /** Time each layer's backward pass (see takeBackwardTimes); for benchmarks. */
  readonly timeBackward?: boolean;
}

/** A layer's value: time-major [T·B, …], or [B, …] when it is the same at every step. */
interface Value {
  readonly t: TF.Tensor;
  readonly static: boolean;
}

export interface RunResult {
  /** The decoded output [B, classes], as the model's output decoding defines it. */
  readonly output: TF.Tensor2D;
  /** Per spiking layer: the mean of its spikes over steps, samples and neurons (differentiable). */
  readonly rates: ReadonlyMap<string, TF.Scalar>;
}

interface NormVariables {
  readonly gamma: TF.Variable;
  readonly beta: TF.Variable;
  readonly mean: TF.Variable;
  readonly variance: TF.Variable;
}

const BN_EPSILON = 1e-5;
const BN_MOMENTUM = 0.1;

/** v_t = β·v_{t−1} + r·I_t (+ const) with the subtract reset: IF (β = 1) or LIF with one β and r for all neurons. */
function linearMembrane(layer: L.NeuronLayer): Membrane | undefined {
  if (layer.reset !== 'subtract' || layer.recurrent || (layer.model !== 'if' && layer.model !== 'lif')) return undefined;
  const beta = layer.model === 'if' ? 1 : uniformValue(layer.params.beta);
  const r = uniformValue(layer.params.r);
  return beta === undefined || r === undefined ? undefined : { beta, r };
}

/** LocalZO's sparse backward applies to a dense or ungrouped conv layer read only by IF/LIF neurons of linear membrane. */
function sparseBackwardPairs(model: SnnModel): Map<string, L.NeuronLayer> {
  const pairs = new Map<string, L.NeuronLayer>();
  for (const layer of model.layers) {
    if (!L.isNeuron(layer) || !linearMembrane(layer) || model.output.layer === layer.name && model.output.decoding === 'mean_membrane') continue;
    const syn = model.layers.find((l) => l.name === layer.inputs[0]);
    if (!syn || (syn.op !== 'dense' && !(syn.op === 'conv2d' && syn.groups === 1 && !syn.dilation?.some((d) => d !== 1)))) continue;
    if (model.layers.some((l) => l !== layer && l.inputs.includes(syn.name)) || model.output.layer === syn.name) continue;
    pairs.set(syn.name, layer);
  }
  return pairs;
}


/** For a [C, H, W] layer: the IR (channel-first) index of each channel-last lane; else undefined. */
function channelLastLanes(shape: readonly number[]): Int32Array | undefined {
  if (shape.length !== 3) return undefined;
  const [C, H, W] = shape;
  const lanes = new Int32Array(C * H * W);
  for (let h = 0, k = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++, k++) lanes[k] = c * H * W + h * W + w;
  return lanes;
}

export class TfNetwork {
  private readonly params = new Map<string, { weight: TF.Variable; bias?: TF.Variable }>();
  private readonly recurrent = new Map<string, TF.Variable>();
  private readonly norms = new Map<string, NormVariables>();
  /** Batch statistics of the last `sample` run, applied to the running statistics by `updateNormStatistics`. */
  private pendingMoments = new Map<string, { mean: TF.Tensor; variance: TF.Tensor }>();
  private readonly inputShape: readonly number[];
  private readonly shapes: ShapeMap;
  /** Each neuron layer's bound step, bound once (forward runs for every batch). */
  private readonly programs: ReadonlyMap<string, NeuronProgram>;
  private readonly kernels = new Map<string, NeuronKernel>();
  /** LocalZO: synaptic layers whose weights train by the sparse backward, and the neuron layer each feeds. */
  private readonly sparsePairs: ReadonlyMap<string, L.NeuronLayer>;
  private readonly backwardActivity = new Map<string, { active: number; total: number }>();
  /** timeBackward: when the gradient of each layer's output was complete, in the backward passes since the last take. */
  private backwardMarks: Array<{ layer: string; at: number }> = [];
  /** Learned neuron parameters by layer. */
  private readonly learned = new Map<string, { param: string; spec: ParamSpec; learned: LearnedParam }[]>();

  private constructor(
    private readonly tf: typeof TF,
    readonly model: SnnModel,
    private readonly options: TfNetworkOptions,
  ) {
    const shapes = verifyModel(model);
    this.checkTrainable(shapes);
    for (const layer of model.layers) {
      if (layer.op === 'dense') this.params.set(layer.name, { weight: this.variable(tf.tensor2d(layer.weight.data, layer.weight.shape as [number, number]).transpose()), bias: this.biasVariable(layer) });
      else if (layer.op === 'conv2d') this.params.set(layer.name, { weight: this.variable(tf.tensor4d(layer.weight.data, layer.weight.shape as [number, number, number, number]).transpose([2, 3, 1, 0])), bias: this.biasVariable(layer) });
      else if (L.isNeuron(layer) && layer.recurrent) this.recurrent.set(layer.name, this.variable(tf.tensor2d(layer.recurrent.data, layer.recurrent.shape as [number, number]).transpose()));
      else if (layer.op === 'batchnorm' && options.trainBatchNorm) {
        const c = layer.scale.data.length;
        this.norms.set(layer.name, {
          gamma: this.variable(tf.tensor1d(layer.scale.data)),
          beta: this.variable(tf.tensor1d(layer.shift.data)),
          mean: tf.variable(tf.zeros([c]), false),
          variance: tf.variable(tf.ones([c]), false),
        });
      }
    }
    this.inputShape = shapes.get(INPUT)!;
    this.shapes = shapes;
    this.programs = new Map(model.layers.filter(L.isNeuron).map((l) => [l.name, neuronProgram(l, shapes.get(l.name)!)]));
    for (const [name, params] of options.learn ?? []) this.learned.set(name, params.map((param) => this.learnedParam(name, param)));
    const sparse = options.rule?.kind === 'surrogate' && options.rule.surrogate.name === 'localzo' && (options.engine ?? 'fused') === 'fused' && options.sparseBackward !== false;
    this.sparsePairs = sparse ? new Map([...sparseBackwardPairs(model)].filter(([, neuron]) => !this.learned.has(neuron.name))) : new Map();
  }

  /**
   * A trainable neuron parameter. It must reach the step as a constant of its own: a parameter that the
   * program folds into another constant (e.g. β into (1 − β)·v_leak with v_leak ≠ 0) is refused.
   */
  private learnedParam(layerName: string, param: string): { param: string; spec: ParamSpec; learned: LearnedParam } {
    const layer = this.model.layers.find((l) => l.name === layerName);
    const at = `layer "${layerName}"`;
    if (!layer || !L.isNeuron(layer)) throw badInput(`${at}: only neuron layers have parameters to learn`);
    const spec = modelOf(layer).params.find((p) => p.name === param);
    if (!spec) throw badInput(`${at}: ${layer.model} neurons have no parameter "${param}" (they take ${modelOf(layer).params.map((p) => p.name).join(', ')})`);
    if (this.options.rule?.kind !== 'surrogate' || (this.options.engine ?? 'fused') !== 'fused' || layer.recurrent) throw badInput(`${at}: learning ${param} needs --mode bptt and a layer without recurrent weights`);
    const name = `${layerName}.${param}`;
    const program = this.programs.get(layerName)!;
    const shape = this.shapes.get(layerName)!;
    const value = layer.params[param];
    const nudged = neuronProgram({ ...layer, params: { ...layer.params, [param]: typeof value === 'number' ? value * 0.5 + 0.25 : tensor(value.shape, value.data.map((v) => v * 0.5 + 0.25)) } }, shape);
    const consts = (p: NeuronProgram) => p.instructions.flatMap((i) => (i.do === 'op' ? [i.a, i.b] : i.do === 'set' ? [i.value] : [i.value, i.threshold])).filter((o): o is Const => o.kind === 'const');
    const direct = consts(program).some((c) => c.name === name);
    const folded = consts(nudged).some((c, k) => c.name !== name && consts(program)[k]?.values.some((v, i) => v !== c.values[i]));
    if (!direct || folded) throw badInput(`${at}: ${param} is folded into other constants of the ${layer.model} step (e.g. (1 − β)·v_leak with v_leak ≠ 0), so it cannot be learned here`);
    const values = typeof value === 'number' ? Float32Array.of(value) : value.data;
    return { param, spec, learned: { name, variable: this.tf.variable(this.tf.tensor1d(values), true) } };
  }

  /** Keeps learned parameters in their range after a step: decays in [0, 1], positive values ≥ 1e-3, non-negative ≥ 0. */
  constrainParams(): void {
    const tf = this.tf;
    for (const list of this.learned.values()) {
      for (const { spec, learned } of list) {
        const [lo, hi] = spec.range === 'decay' ? [0, 1] : spec.range === 'positive' ? [1e-3, Infinity] : spec.range === 'nonnegative' ? [0, Infinity] : [-Infinity, Infinity];
        if (lo === -Infinity && hi === Infinity) continue;
        tf.tidy(() => learned.variable.assign(tf.clipByValue(learned.variable, lo, hi)));
      }
    }
  }

  private checkTrainable(shapes: ShapeMap): void {
    for (const layer of this.model.layers) {
      const at = `layer "${layer.name}"`;
      if (!TRAINABLE_OPS.includes(layer.op)) throw badInput(`${at}: ${layer.op} layers cannot be trained (supported: ${TRAINABLE_OPS.join(', ')})`);
      if (L.isNeuron(layer) && isGraded(modelOf(layer))) throw badInput(`${at}: ${layer.model} neurons send graded spikes, which training does not support (train the ANN and import it, or train with lava-dl)`);
      if (L.isNeuron(layer) && isBurst(modelOf(layer))) throw badInput(`${at}: ${layer.model} neurons send bursts of spikes, which training does not support (they come from ANN conversion: snnc convert --burst)`);
      if (L.isSpikingLayer(layer) && !this.options.rule) throw badInput(`${at}: training spiking ${layer.model} neurons needs membrane noise (--noise) or a surrogate gradient (--mode bptt)`);
      if (L.isNeuron(layer) && layer.recurrent && this.model.timesteps === 1) throw badInput(`${at}: recurrent weights never act at T=1 (s(0) = 0); remove them`);
      if (L.isNeuron(layer) && layer.recurrent && shapes.get(layer.name)!.length !== 1) throw badInput(`${at}: recurrent weights can be trained on vector layers only, this one has shape [${shapes.get(layer.name)!.join(', ')}]`);
      if (layer.op === 'conv2d' && layer.groups !== 1) throw badInput(`${at}: grouped convolutions cannot be trained`);
      if (layer.op === 'conv2d' && layer.dilation?.some((d) => d !== 1)) throw badInput(`${at}: dilated convolutions cannot be trained`);
      if (layer.op === 'maxpool2d' && layer.padding.some((p) => p !== 0)) throw badInput(`${at}: padded max-pools cannot be trained`);
      if (layer.op === 'delay' && layer.steps >= this.model.timesteps) throw badInput(`${at}: a delay of ${layer.steps} steps never delivers within T=${this.model.timesteps}`);
    }
  }

  static async create(model: SnnModel, options: TfNetworkOptions = {}): Promise<TfNetwork> {
    const network = new TfNetwork(await loadTf(), model, options);
    if (network.sparsePairs.size) await loadSparseKernel();
    return network;
  }

  /** A trainable variable (tfjs names it uniquely: two networks with the same layer names may coexist). */
  private variable(t: TF.Tensor): TF.Variable {
    const v = this.tf.variable(t, true);
    t.dispose();
    return v;
  }

  private biasVariable(layer: L.Dense | L.Conv2d): TF.Variable {
    const out = layer.weight.shape[0];
    return this.variable(this.tf.tensor1d(layer.bias?.data ?? new Float32Array(out)));
  }

  /** The trainable variables: weights, biases, recurrent weights, and batchnorm's γ and β. */
  get variables(): TF.Variable[] {
    return [
      ...[...this.params.values()].flatMap((p) => (p.bias ? [p.weight, p.bias] : [p.weight])),
      ...this.recurrent.values(),
      ...[...this.norms.values()].flatMap((n) => [n.gamma, n.beta]),
      ...[...this.learned.values()].flatMap((list) => list.map((p) => p.learned.variable)),
    ];
  }

  /** Neurons (values) per sample of `layer`. */
  layerSize(layer: string): number {
    return sizeOf(this.shapes.get(layer)!);
  }

  /** The trainable variables of `layer` (its weight first), for per-layer gradient reports. */
  layerVariables(layer: string): TF.Variable[] {
    const p = this.params.get(layer);
    const n = this.norms.get(layer);
    return [...(p ? [p.weight, ...(p.bias ? [p.bias] : [])] : []), ...(this.recurrent.has(layer) ? [this.recurrent.get(layer)!] : []), ...(n ? [n.gamma, n.beta] : [])];
  }

  /** The output layer's decoded values [B, classes] for preprocessed inputs (see `run`). */
  forward(x: TF.Tensor, mode: ForwardMode): TF.Tensor2D {
    return this.run(x, mode).output;
  }

  /**
   * Runs the network on preprocessed inputs: x is [B, …input shape] for a direct-encoded model, or
   * [T, B, …input shape] of per-step inputs (rate-encoded or event data).
   */
  run(x: TF.Tensor, mode: ForwardMode): RunResult {
    const tf = this.tf;
    const direct = this.model.input.encoding.type === 'direct';
    const flat = direct ? x : tf.reshape(x, [-1, ...x.shape.slice(2)]);
    const values = new Map<string, Value>();
    const rates = new Map<string, TF.Scalar>();
    values.set(INPUT, { t: this.inputShape.length === 3 ? tf.transpose(flat, [0, 2, 3, 1]) : flat, static: direct });
    let membrane: TF.Tensor | undefined;
    this.model.layers.forEach((layer, index) => {
      if (values.has(layer.name)) return; // run with its synaptic layer (sparse LocalZO)
      const inputs = layer.inputs.map((n) => values.get(n)!);
      const sparse = mode.kind === 'sample' ? this.sparsePairs.get(layer.name) : undefined;
      if (sparse) {
        const run = this.sparseSynapseNeuron(layer as L.Dense | L.Conv2d, sparse, inputs[0], mode as Extract<ForwardMode, { kind: 'sample' }>);
        values.set(sparse.name, { t: run.out, static: false });
        rates.set(sparse.name, run.rate!);
      } else if (L.isNeuron(layer)) {
        const run = this.neuronLayer(layer, inputs[0], mode, index);
        values.set(layer.name, { t: run.out, static: false });
        if (run.rate) rates.set(layer.name, run.rate);
        if (run.membrane) membrane = run.membrane;
      } else values.set(layer.name, this.layer(layer, inputs, mode));
      if (this.options.timeBackward) this.markBackward(sparse?.name ?? layer.name, values);
    });
    const out = this.model.output.decoding === 'mean_membrane' ? { t: membrane!, static: false } : values.get(this.model.output.layer)!;
    return { output: this.decode(out), rates };
  }

  /** [T·B, C] (or static [B, C]) → [B, C] by the model's output decoding. */
  private decode(v: Value): TF.Tensor2D {
    const tf = this.tf;
    const T = this.model.timesteps;
    const mean = averagesOverTime(this.model.output.decoding);
    if (v.static) return (mean ? v.t : tf.mul(v.t, T)) as TF.Tensor2D;
    const perStep = tf.reshape(v.t, [T, -1, v.t.shape[v.t.rank - 1]]);
    return (mean ? tf.mean(perStep, 0) : tf.sum(perStep, 0)) as TF.Tensor2D;
  }

  /** A static value repeated for every step: [B, …] → [T·B, …]. */
  private dynamic(v: Value): TF.Tensor {
    if (!v.static) return v.t;
    return this.tf.concat(new Array<TF.Tensor>(this.model.timesteps).fill(v.t), 0);
  }

  private neuronLayer(layer: L.NeuronLayer, input: Value, mode: ForwardMode, index: number): LayerRun {
    const tf = this.tf;
    const shape = this.shapes.get(layer.name)!;
    const T = this.model.timesteps;
    const recordMembrane = this.model.output.decoding === 'mean_membrane' && this.model.output.layer === layer.name;
    const rule = this.options.rule;
    const fused = (this.options.engine ?? 'fused') === 'fused' && rule?.kind === 'surrogate' && (mode.kind === 'sample' || mode.kind === 'deterministic') && !layer.recurrent && !recordMembrane;
    if (fused) return this.fusedNeuronLayer(layer, input, mode, index);
    const lanes = (values: Float32Array): TF.Tensor => {
      if (values.length === 1) return tf.scalar(values[0]);
      const t = tf.tensor(values, [...shape]);
      return shape.length === 3 ? tf.transpose(t, [1, 2, 0]) : t;
    };
    const B = input.t.shape[0] / (input.static ? 1 : T);
    const steps = input.static ? new Array<TF.Tensor>(T).fill(input.t) : T === 1 ? [input.t] : Array.from({ length: T }, (_, t) => tf.slice(input.t, t * B, B));
    return runNeuronLayer(tf, { program: this.programs.get(layer.name)!, steps, lanes, recurrent: this.recurrent.get(layer.name) as TF.Tensor2D | undefined, rule, mode, index, reset: layer.reset, recordMembrane });
  }

  /** Passes the value of `layer` through an identity whose gradient notes the time. */
  private markBackward(layer: string, values: Map<string, Value>): void {
    const v = values.get(layer)!;
    const mark = this.tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => ({
      value: this.tf.clone(args[0] as TF.Tensor),
      gradFunc: (dy: TF.Tensor) => {
        this.backwardMarks.push({ layer, at: performance.now() });
        return dy;
      },
    }));
    values.set(layer, { ...v, t: mark(v.t) });
  }

  /**
   * timeBackward: ms of each layer's backward pass in the one backward pass since the last call, which
   * ended at `end` (e.g. when its gradients were read): the time from the gradient of the layer's output
   * being complete to that of the next layer below it (or to the end). A synaptic layer trained by
   * LocalZO's sparse backward is timed with its neuron layer, under the neuron layer's name. Exact for a
   * chain of layers; where branches join, the backward pass may interleave them.
   */
  takeBackwardTimes(end = performance.now()): Map<string, number> {
    const times = new Map<string, number>();
    this.backwardMarks.forEach((m, i) => times.set(m.layer, (times.get(m.layer) ?? 0) + (this.backwardMarks[i + 1]?.at ?? end) - m.at));
    this.backwardMarks = [];
    return times;
  }

  /** Whether a value depends on no trainable variable (the input, and pools or flattenings of it): it needs no gradient. */
  private isConstant(name: string): boolean {
    if (name === INPUT) return true;
    const layer = this.model.layers.find((l) => l.name === name)!;
    return (layer.op === 'flatten' || layer.op === 'avgpool2d' || layer.op === 'maxpool2d') && layer.inputs.every((n) => this.isConstant(n));
  }

  private recordActivity(layer: string, active: number, total: number): void {
    const seen = this.backwardActivity.get(layer) ?? { active: 0, total: 0 };
    this.backwardActivity.set(layer, { active: seen.active + active, total: seen.total + total });
  }

  /** A surrogate-trained layer as one custom op: the fused kernel forward, its BPTT backward. */
  private fusedNeuronLayer(layer: L.NeuronLayer, input: Value, mode: ForwardMode, index: number): LayerRun {
    const seed = mode.kind === 'sample' ? mode.seed * 1000 + index : 0;
    const learned = (this.learned.get(layer.name) ?? []).map((p) => p.learned);
    const out = fusedNeuronOp(this.tf, this.kernel(layer), input.t, input.static, this.model.timesteps, seed, (active, total) => this.recordActivity(layer.name, active, total), learned);
    return { out, ...(this.programs.get(layer.name)!.spiking ? { rate: this.tf.mean(out) as TF.Scalar } : {}) };
  }

  /** A synaptic layer and the IF/LIF layer it feeds as one op with LocalZO's sparse backward. */
  private sparseSynapseNeuron(syn: L.Dense | L.Conv2d, neuron: L.NeuronLayer, input: Value, mode: Extract<ForwardMode, { kind: 'sample' }>): LayerRun {
    const p = this.params.get(syn.name)!;
    const out = sparseSynapseNeuronOp(this.tf, {
      synapse: syn,
      x: syn.op === 'conv2d' ? this.pad(input.t, syn.padding, 0) : input.t,
      isStatic: input.static,
      constantInput: this.isConstant(syn.inputs[0]),
      weight: p.weight,
      bias: p.bias!,
      kernel: this.kernel(neuron),
      membrane: linearMembrane(neuron)!,
      T: this.model.timesteps,
      seed: mode.seed * 1000 + this.model.layers.indexOf(neuron), // as the neuron's own kernel would draw
      onActive: (active, total) => this.recordActivity(neuron.name, active, total),
    });
    return { out, rate: this.tf.mean(out) as TF.Scalar };
  }

  private kernel(layer: L.NeuronLayer): NeuronKernel {
    let k = this.kernels.get(layer.name);
    if (!k) {
      const rule = this.options.rule as Extract<SpikeRule, { kind: 'surrogate' }>;
      const learn = (this.learned.get(layer.name) ?? []).map((p) => p.learned.name);
      k = compileNeuronKernel(this.programs.get(layer.name)!, layer.reset, rule.surrogate, channelLastLanes(this.shapes.get(layer.name)!), learn);
      this.kernels.set(layer.name, k);
    }
    return k;
  }

  /**
   * LocalZO layers: the fraction of (step, sample, neuron) with a non-zero gradient estimate in the
   * backward passes since the last call.
   */
  takeBackwardActivity(): Map<string, number> {
    const out = new Map([...this.backwardActivity].filter(([, v]) => v.total > 0).map(([k, v]) => [k, v.active / v.total]));
    this.backwardActivity.clear();
    return out;
  }

  private layer(layer: L.Layer, inputs: Value[], mode: ForwardMode): Value {
    const tf = this.tf;
    const [v] = inputs;
    const same = (t: TF.Tensor): Value => ({ t, static: v.static });
    switch (layer.op) {
      case 'dense': {
        const p = this.params.get(layer.name)!;
        // T = 1 networks (ann, t1-noise) keep tf's gradient, as examples/mnist-t1-noise's models were trained.
        const product = v.static && this.model.timesteps > 1 ? staticDenseOp(tf, v.t as TF.Tensor2D, p.weight as TF.Tensor2D, this.isConstant(layer.inputs[0])) : tf.matMul(v.t as TF.Tensor2D, p.weight as TF.Tensor2D);
        return same(biasAddOp(tf, product, p.bias!));
      }
      case 'conv2d': {
        const p = this.params.get(layer.name)!;
        return same(biasAddOp(tf, convOp(tf, v.t as TF.Tensor4D, p.weight as TF.Tensor4D, layer.stride, layer.padding, this.isConstant(layer.inputs[0])), p.bias!));
      }
      case 'avgpool2d':
        return same(avgPoolOp(tf, this.pad(v.t, layer.padding, 0) as TF.Tensor4D, layer.kernel, layer.stride));
      case 'maxpool2d':
        return same(tf.maxPool(v.t as TF.Tensor4D, [...layer.kernel] as [number, number], [...layer.stride] as [number, number], 'valid'));
      case 'flatten':
        return same(v.t.rank === 4 ? tf.reshape(tf.transpose(v.t, [0, 3, 1, 2]), [v.t.shape[0], -1]) : tf.reshape(v.t, [v.t.shape[0], -1]));
      case 'relu':
        return same(layer.max === undefined ? tf.relu(v.t) : tf.clipByValue(v.t, 0, layer.max));
      case 'add': {
        const isStatic = inputs.every((i) => i.static);
        const terms = inputs.map((i, k) => {
          const t = isStatic ? i.t : this.dynamic(i);
          const c = layer.coefficients?.[k] ?? 1;
          return c === 1 ? t : tf.mul(t, c);
        });
        return { t: terms.reduce((a, b) => tf.add(a, b)), static: isStatic };
      }
      case 'concat': {
        const isStatic = inputs.every((i) => i.static);
        const parts = inputs.map((i) => (isStatic ? i.t : this.dynamic(i)));
        return { t: tf.concat(parts, parts[0].rank - 1), static: isStatic };
      }
      case 'batchnorm':
        return same(this.batchNorm(layer, v.t, mode));
      case 'delay': {
        const t = this.dynamic(v);
        const B = t.shape[0] / this.model.timesteps;
        const shift = layer.steps * B;
        return { t: tf.concat([tf.zeros([shift, ...t.shape.slice(1)]), tf.slice(t, 0, t.shape[0] - shift)], 0), static: false };
      }
      default:
        throw badInput(`layer "${layer.name}": ${layer.op} layers cannot be trained`);
    }
  }

  /** Zero padding [top, left, bottom, right] of an NHWC tensor. */
  private pad(x: TF.Tensor, p: L.Padding4, value: number): TF.Tensor {
    const [top, left, bottom, right] = p;
    return top || left || bottom || right ? this.tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], value) : x;
  }

  /** y = x·s + t per channel (the last axis); trained layers normalise by batch statistics while training. */
  private batchNorm(layer: L.BatchNorm, x: TF.Tensor, mode: ForwardMode): TF.Tensor {
    const tf = this.tf;
    const n = this.norms.get(layer.name);
    if (!n) return tf.add(tf.mul(x, tf.tensor1d(layer.scale.data)), tf.tensor1d(layer.shift.data));
    if (mode.kind === 'sample' || mode.kind === 'smooth') {
      const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
      if (mode.kind === 'sample') this.pendingMoments.set(layer.name, { mean: tf.keep(mean), variance: tf.keep(variance) });
      const { scale, shift } = this.normAffine(n, mean, variance);
      return tf.add(tf.mul(x, scale), shift);
    }
    const { scale, shift } = this.normAffine(n, n.mean, n.variance);
    return tf.add(tf.mul(x, scale), shift);
  }

  /**
   * (x − μ)/σ·γ + β as one scale and one shift per channel (two passes over x instead of four):
   * scale = γ/√(σ² + ε), shift = β − μ·scale; μ, σ² the batch's or the running statistics.
   */
  private normAffine(n: NormVariables, mean: TF.Tensor, variance: TF.Tensor): { scale: TF.Tensor; shift: TF.Tensor } {
    const tf = this.tf;
    const scale = tf.div(n.gamma, tf.sqrt(tf.add(variance, BN_EPSILON)));
    return { scale, shift: tf.sub(n.beta, tf.mul(mean, scale)) };
  }

  /** Moves the running statistics towards the last `sample` run's batch statistics (call after each step). */
  updateNormStatistics(): void {
    const tf = this.tf;
    for (const [name, m] of this.pendingMoments) {
      const n = this.norms.get(name)!;
      tf.tidy(() => {
        n.mean.assign(tf.add(tf.mul(n.mean, 1 - BN_MOMENTUM), tf.mul(m.mean, BN_MOMENTUM)));
        n.variance.assign(tf.add(tf.mul(n.variance, 1 - BN_MOMENTUM), tf.mul(m.variance, BN_MOMENTUM)));
      });
      m.mean.dispose();
      m.variance.dispose();
    }
    this.pendingMoments = new Map();
  }

  /** A copy of the IR model with the trained weights, biases, recurrent weights and batchnorm statistics. */
  toModel(metadata: Record<string, unknown> = {}): SnnModel {
    const tf = this.tf;
    const read = (t: TF.Tensor) => tf.tidy(() => t.dataSync() as Float32Array).slice();
    const layers = this.model.layers.map((layer): L.Layer => {
      const p = this.params.get(layer.name);
      if (p && (layer.op === 'dense' || layer.op === 'conv2d')) {
        const weight = tensor(layer.weight.shape, read(tf.tidy(() => (layer.op === 'dense' ? tf.transpose(p.weight) : tf.transpose(p.weight, [3, 2, 0, 1])))));
        const bias = tensor([layer.weight.shape[0]], read(p.bias!));
        const { op: _op, ...fields } = layer;
        return layer.op === 'dense' ? L.dense({ ...fields, weight, bias }) : L.conv2d({ ...(fields as Omit<L.Conv2d, 'op'>), weight, bias });
      }
      const rec = this.recurrent.get(layer.name);
      if (rec && L.isNeuron(layer)) return { ...layer, recurrent: tensor(layer.recurrent!.shape, read(tf.tidy(() => tf.transpose(rec)))) };
      const learned = this.learned.get(layer.name);
      if (learned && L.isNeuron(layer)) {
        const params = { ...layer.params };
        for (const { param, learned: p } of learned) {
          const values = read(p.variable);
          const before = layer.params[param];
          params[param] = typeof before === 'number' ? values[0] : tensor(before.shape, values);
        }
        return { ...layer, params };
      }
      const n = this.norms.get(layer.name);
      if (n && layer.op === 'batchnorm') {
        const [scale, shift] = tf.tidy(() => Object.values(this.normAffine(n, n.mean, n.variance)).map((t) => t.dataSync().slice() as Float32Array));
        return L.batchNorm({ ...layer, scale: tensor(layer.scale.shape, scale), shift: tensor(layer.shift.shape, shift) });
      }
      return layer;
    });
    const model = { ...this.model, layers, metadata: { ...this.model.metadata, ...metadata } };
    verifyModel(model);
    return model;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    for (const n of this.norms.values()) {
      n.mean.dispose();
      n.variance.dispose();
    }
    this.updateNormStatistics = () => {};
  }
}
