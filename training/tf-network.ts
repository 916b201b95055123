/**
 * A trainable TensorFlow.js mirror of a T=1 IR model (dense, conv2d, avgpool2d, flatten, relu, neurons):
 * variables initialised from the IR's weights, a forward pass, and the weights written back into a copy
 * of the IR. tfjs runs on its wasm backend (the cpu backend is ~4× slower on matmul and 20× on conv);
 * tfjs is loaded on first use, so commands that do not train never pay for it.
 *
 * Layout: tfjs is channel-last, the IR channel-first. Images are transposed to NHWC once, conv
 * weights are [kh, kw, C, O] here and [O, C, kh, kw] in the IR, dense weights [in, out] here and
 * [out, in] in the IR, and flatten transposes back to C, H, W order as the IR's flatten defines.
 *
 * A neuron layer runs its model's one-step program (compiler/ir/neuron-program.ts) from the initial
 * state, as the simulator does at t = 1; a spiking model fires iff its value + ε ≥ its threshold
 * (compiler/ir/noise.ts; for IF, v(0) + z + ε ≥ θ). The forward modes:
 *   sample:        ε drawn fresh per neuron and sample (seeded per call); spikes are 0/1 and the
 *                  gradient is that of the expected spike, dP/dz = p_ε(θ − z) (the noise density);
 *   mean-field:    the neuron outputs P(s = 1) itself (the network the T=N conversion approaches);
 *   deterministic: ε = its mean (what the converted network computes at N = 1).
 */
import type * as TF from '@tensorflow/tfjs';
import { badInput } from '../compiler/errors.js';
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../compiler/ir/model.js';
import type { MembraneNoise } from '../compiler/ir/noise.js';
import { tensor } from '../compiler/ir/tensor.js';
import { type NeuronProgram, type Operand, neuronProgram } from '../compiler/ir/neuron-program.js';
import type { ShapeMap } from '../compiler/ir/shapes.js';
import { verifyModel } from '../compiler/ir/verify.js';

export type ForwardMode = { kind: 'sample'; seed: number } | { kind: 'mean-field' } | { kind: 'deterministic' };

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

export const TRAINABLE_OPS: readonly L.LayerOp[] = ['dense', 'conv2d', 'avgpool2d', 'flatten', 'neuron', 'relu'];

export class TfNetwork {
  private readonly params = new Map<string, { weight: TF.Variable; bias?: TF.Variable }>();

  private constructor(
    private readonly tf: typeof TF,
    readonly model: SnnModel,
    private readonly noise: Pick<MembraneNoise, 'dist' | 'mean' | 'std'> | undefined,
  ) {
    const shapes = verifyModel(model);
    if (model.timesteps !== 1) throw badInput(`model "${model.name}": training works on T=1 models, this one has T=${model.timesteps}`);
    for (const layer of model.layers) {
      if (!TRAINABLE_OPS.includes(layer.op)) throw badInput(`layer "${layer.name}": ${layer.op} layers cannot be trained (supported: ${TRAINABLE_OPS.join(', ')})`);
      if (L.isSpikingLayer(layer) && !noise) throw badInput(`layer "${layer.name}": training spiking ${layer.model} neurons needs membrane noise (--noise)`);
      if (L.isNeuron(layer) && layer.recurrent) throw badInput(`layer "${layer.name}": recurrent weights never act at T=1 (s(0) = 0); remove them`);
      if (layer.op === 'conv2d' && layer.groups !== 1) throw badInput(`layer "${layer.name}": grouped convolutions cannot be trained`);
      if (layer.op === 'conv2d' && layer.dilation?.some((d) => d !== 1)) throw badInput(`layer "${layer.name}": dilated convolutions cannot be trained`);
      if (layer.op === 'dense') {
        const [out, inn] = layer.weight.shape;
        const w = tf.tensor2d(layer.weight.data, [out, inn]).transpose();
        this.params.set(layer.name, { weight: tf.variable(w, true, `${layer.name}.weight`), bias: this.biasVariable(layer) });
        w.dispose();
      } else if (layer.op === 'conv2d') {
        const w = tf.tensor4d(layer.weight.data, layer.weight.shape as [number, number, number, number]).transpose([2, 3, 1, 0]);
        this.params.set(layer.name, { weight: tf.variable(w, true, `${layer.name}.weight`), bias: this.biasVariable(layer) });
        w.dispose();
      }
    }
    this.inputShape = shapes.get(INPUT)!;
    this.shapes = shapes;
    this.programs = new Map(model.layers.filter(L.isNeuron).map((l) => [l.name, neuronProgram(l, shapes.get(l.name)!)]));
  }

  private readonly inputShape: readonly number[];
  private readonly shapes: ShapeMap;
  /** Each neuron layer's bound step, bound once (forward runs for every batch). */
  private readonly programs: ReadonlyMap<string, NeuronProgram>;

  static async create(model: SnnModel, noise?: Pick<MembraneNoise, 'dist' | 'mean' | 'std'>): Promise<TfNetwork> {
    return new TfNetwork(await loadTf(), model, noise);
  }

  private biasVariable(layer: L.Dense | L.Conv2d): TF.Variable {
    const out = layer.weight.shape[0];
    return this.tf.variable(this.tf.tensor1d(layer.bias?.data ?? new Float32Array(out)), true, `${layer.name}.bias`);
  }

  get variables(): TF.Variable[] {
    return [...this.params.values()].flatMap((p) => (p.bias ? [p.weight, p.bias] : [p.weight]));
  }

  /** The output layer's values [B, classes] for preprocessed inputs x [B, ...input shape]. */
  forward(x: TF.Tensor, mode: ForwardMode): TF.Tensor2D {
    const tf = this.tf;
    const values = new Map<string, TF.Tensor>();
    values.set(INPUT, this.inputShape.length === 3 ? tf.transpose(x, [0, 2, 3, 1]) : x);
    this.model.layers.forEach((layer, index) => {
      const input = values.get(layer.inputs[0])!;
      values.set(layer.name, this.layer(layer, input, mode, index));
    });
    return values.get(this.model.output.layer) as TF.Tensor2D;
  }

  private layer(layer: L.Layer, x: TF.Tensor, mode: ForwardMode, index: number): TF.Tensor {
    const tf = this.tf;
    switch (layer.op) {
      case 'dense': {
        const p = this.params.get(layer.name)!;
        return tf.add(tf.matMul(x as TF.Tensor2D, p.weight as TF.Tensor2D), p.bias!);
      }
      case 'conv2d': {
        const p = this.params.get(layer.name)!;
        const [top, left, bottom, right] = layer.padding;
        const padded = top || left || bottom || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
        return tf.add(this.conv(padded as TF.Tensor4D, p.weight as TF.Tensor4D, layer.stride), p.bias!);
      }
      case 'avgpool2d':
        return tf.avgPool(x as TF.Tensor4D, [...layer.kernel] as [number, number], [...layer.stride] as [number, number], 'valid');
      case 'flatten':
        return x.rank === 4 ? tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]) : tf.reshape(x, [x.shape[0], -1]);
      case 'relu':
        return layer.max === undefined ? tf.relu(x) : tf.clipByValue(x, 0, layer.max);
      case 'neuron':
        return this.neuronStep(layer, x, mode, index);
      default:
        throw badInput(`layer "${layer.name}": ${layer.op} layers cannot be trained`);
    }
  }

  /**
   * The first step of a neuron layer: its program's instructions as tf ops on the initial state (per
   * neuron constants laid out as x is, channel-last for images). Outputs the spikes, or the membrane of
   * a non-spiking model.
   */
  private neuronStep(layer: L.NeuronLayer, x: TF.Tensor, mode: ForwardMode, index: number): TF.Tensor {
    const tf = this.tf;
    const shape = this.shapes.get(layer.name)!;
    const program = this.programs.get(layer.name)!;
    const lanes = (values: Float32Array): TF.Tensor => {
      if (values.length === 1) return tf.scalar(values[0]);
      const t = tf.tensor(values, [...shape]);
      return shape.length === 3 ? tf.transpose(t, [1, 2, 0]) : t;
    };
    const state = new Map(program.state.map((s) => [s.name, tf.add(tf.zerosLike(x), lanes(s.init))]));
    const temps: TF.Tensor[] = [];
    let spikes: TF.Tensor | undefined;
    const value = (o: Operand): TF.Tensor => (o.kind === 'const' ? lanes(o.values) : o.kind === 'input' ? x : o.kind === 'spikes' ? spikes! : o.kind === 'state' ? state.get(o.name)! : temps[o.id]);
    for (const ins of program.instructions) {
      if (ins.do === 'op') temps[ins.id] = ins.op === 'add' ? tf.add(value(ins.a), value(ins.b)) : ins.op === 'sub' ? tf.sub(value(ins.a), value(ins.b)) : tf.mul(value(ins.a), value(ins.b));
      else if (ins.do === 'set') state.set(ins.state, value(ins.value));
      else spikes = this.fire(tf.sub(value(ins.value), value(ins.threshold)), mode, index);
    }
    return spikes ?? state.get(program.membrane!)!;
  }

  /**
   * s = [d + ε ≥ 0] with d = value − threshold. Gradient: the noise density at −d, i.e. the derivative
   * of the firing probability, for every mode (deterministic and mean-field are for evaluation).
   */
  private fire(z: TF.Tensor, mode: ForwardMode, index: number): TF.Tensor {
    const tf = this.tf;
    const { dist, mean, std } = this.noise!;
    const d = () => tf.add(z, mean); // value − threshold + μ
    if (mode.kind === 'mean-field') {
      if (dist === 'gaussian') return tf.mul(0.5, tf.add(1, tf.erf(tf.div(d(), std * Math.SQRT2))));
      return tf.clipByValue(tf.add(tf.div(d(), std * Math.sqrt(12)), 0.5), 0, 1);
    }
    const spike = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
      const [zIn, save] = args as [TF.Tensor, TF.GradSaveFunc];
      const shifted = tf.add(zIn, mean);
      let margin = shifted;
      if (mode.kind === 'sample') {
        const seed = mode.seed * 1000 + index;
        const eps =
          dist === 'gaussian' ? tf.randomNormal(zIn.shape, 0, std, 'float32', seed) : tf.randomUniform(zIn.shape, -std * Math.sqrt(3), std * Math.sqrt(3), 'float32', seed);
        margin = tf.add(shifted, eps);
      }
      save([shifted]);
      return {
        value: tf.cast(tf.greaterEqual(margin, 0), 'float32'),
        gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
          const u = saved[0];
          const density =
            dist === 'gaussian'
              ? tf.mul(tf.exp(tf.mul(tf.square(u), -0.5 / (std * std))), 1 / (std * Math.sqrt(2 * Math.PI)))
              : tf.mul(tf.cast(tf.lessEqual(tf.abs(u), std * Math.sqrt(3)), 'float32'), 1 / (std * Math.sqrt(12)));
          return tf.mul(dy, density);
        },
      };
    });
    return spike(z);
  }

  /**
   * 2-D convolution (NHWC, no padding) whose filter gradient is itself a convolution: the wasm backend
   * has no Conv2DBackpropFilter kernel. dW[u, v, c, o] = Σ_{b,i,j} x[b, i·s+u, j·s+v, c]·dy[b, i, j, o]
   * is a conv of x (channels as batch) with dy (batch as channels), dilated by the stride.
   */
  private conv(x: TF.Tensor4D, w: TF.Tensor4D, stride: L.Pair): TF.Tensor4D {
    const tf = this.tf;
    const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
      const [xIn, wIn, save] = args as [TF.Tensor4D, TF.Tensor4D, TF.GradSaveFunc];
      save([xIn, wIn]);
      return {
        value: tf.conv2d(xIn, wIn, [...stride] as [number, number], 'valid'),
        gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
          const [xs, ws] = saved as [TF.Tensor4D, TF.Tensor4D];
          const [kh, kw] = ws.shape;
          const dx = tf.conv2dTranspose(dy as TF.Tensor4D, ws, xs.shape, [...stride] as [number, number], 'valid');
          const xt = tf.transpose(xs, [3, 1, 2, 0]) as TF.Tensor4D; // [C, H, W, B]
          const dyt = tf.transpose(dy, [1, 2, 0, 3]) as TF.Tensor4D; // [H', W', B, O]
          const full = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [...stride] as [number, number]); // [C, ≥kh, ≥kw, O]
          const dw = tf.transpose(tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]), [1, 2, 0, 3]);
          return [dx, dw];
        },
      };
    });
    return op(x, w) as TF.Tensor4D;
  }

  /** A copy of the IR model with the trained weights and biases. */
  toModel(metadata: Record<string, unknown> = {}): SnnModel {
    const layers = this.model.layers.map((layer): L.Layer => {
      const p = this.params.get(layer.name);
      if (!p || (layer.op !== 'dense' && layer.op !== 'conv2d')) return layer;
      const w = layer.op === 'dense' ? this.tf.transpose(p.weight) : this.tf.transpose(p.weight, [3, 2, 0, 1]);
      const weight = tensor(layer.weight.shape, w.dataSync() as Float32Array);
      w.dispose();
      const bias = tensor([layer.weight.shape[0]], p.bias!.dataSync() as Float32Array);
      const { op: _op, ...fields } = layer;
      return layer.op === 'dense' ? L.dense({ ...fields, weight, bias }) : L.conv2d({ ...(fields as Omit<L.Conv2d, 'op'>), weight, bias });
    });
    const model = { ...this.model, layers, metadata: { ...this.model.metadata, ...metadata } };
    verifyModel(model);
    return model;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
