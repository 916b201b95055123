/**
 * A neuron layer in TensorFlow.js over T steps: its model's bound program (compiler/ir/neuron-program.ts)
 * run instruction by instruction, in the order the simulator runs it, on [B, …] tensors (channel-last for
 * images), the state carried from step to step. How a spike is made differentiable is the layer's
 * `SpikeRule`:
 *   noise:     s = [u + ε ≥ 0] (u = value − θ) with the noise density as gradient (T=1 noise training);
 *   surrogate: s = H(u) forward, g(u) backward (training/surrogates.ts); in `smooth` mode s = S(u);
 *              LocalZO's expected surrogate here (its sampled estimate is the fused kernel's).
 * The reset after a spike is detached: v ← where(s, v − θ, v) passes the gradient of v unchanged and none
 * through the spike (as snnTorch's default), which is also what keeps LocalZO's backward local.
 *
 * Training runs the fused kernel (training/neuron-kernel.ts) wherever it applies; this tensor-op path is
 * the reference it is tested against, and runs noise-trained, recurrent and `smooth` layers.
 *
 * This module owns one layer's time loop; the network (training/tf-network.ts) owns variables and wiring.
 */
import type * as TF from '@tensorflow/tfjs';
import type { NeuronProgram, Operand } from '../compiler/ir/neuron-program.js';
import type { MembraneNoise } from '../compiler/ir/noise.js';
import { type Surrogate, type SurrogateOps, surrogateAntiderivative, surrogateGradient } from './surrogates.js';

export type ForwardMode =
  /** Training: noise drawn fresh (noise rule) or LocalZO's perturbations drawn (seeded); batch statistics in batchnorm. */
  | { kind: 'sample'; seed: number }
  /** Noise rule only: the neuron outputs P(s = 1) itself. */
  | { kind: 'mean-field' }
  /** Evaluation: ε at its mean, s = H(u); batchnorm with running statistics. */
  | { kind: 'deterministic' }
  /** Gradient checks (surrogate rule): s = S(u), the surrogate's antiderivative, with gradient g(u); batch statistics. */
  | { kind: 'smooth' };

export type SpikeRule = { readonly kind: 'noise'; readonly noise: Pick<MembraneNoise, 'dist' | 'mean' | 'std'> } | { readonly kind: 'surrogate'; readonly surrogate: Surrogate };

export interface LayerRun {
  /** The layer's outputs, time-major [T·B, …]: spikes, or the membrane of a non-spiking model. */
  readonly out: TF.Tensor;
  /** The reported membrane after each step (after reset), [T·B, …], when asked for. */
  readonly membrane?: TF.Tensor;
  /** Spiking layers: the mean of s over steps, samples and neurons (differentiable: the spike-loss term). */
  readonly rate?: TF.Scalar;
}

export interface NeuronRunInput {
  readonly program: NeuronProgram;
  /** The input current per step, [B, …] each (the same tensor T times for a static input). */
  readonly steps: readonly TF.Tensor[];
  /** Per-neuron constants laid out as the steps (channel-last for images). */
  readonly lanes: (values: Float32Array) => TF.Tensor;
  /** Recurrent weights, applied as x(t) += s(t−1)·W (W: [N, N], transposed from the IR's W_rec). */
  readonly recurrent?: TF.Tensor2D;
  readonly rule?: SpikeRule;
  readonly mode: ForwardMode;
  /** Seeds the layer's random draws. */
  readonly index: number;
  readonly reset: 'subtract' | 'zero' | 'to_v_reset';
  readonly recordMembrane: boolean;
}

/** Runs one neuron layer over all steps. */
export function runNeuronLayer(tf: typeof TF, r: NeuronRunInput): LayerRun {
  const { program, lanes } = r;
  const state = new Map(program.state.map((s) => [s.name, tf.add(tf.zerosLike(r.steps[0]), lanes(s.init))]));
  const outs: TF.Tensor[] = [];
  const membranes: TF.Tensor[] = [];
  let previous: TF.Tensor | undefined;
  r.steps.forEach((current, t) => {
    let x = current;
    if (r.recurrent && previous) x = tf.add(x, tf.matMul(tf.reshape(previous, [x.shape[0], -1]), r.recurrent).reshape(x.shape));
    const temps: TF.Tensor[] = [];
    let spikes: TF.Tensor | undefined;
    const value = (o: Operand): TF.Tensor => (o.kind === 'const' ? lanes(o.values) : o.kind === 'input' ? x : o.kind === 'spikes' ? spikes! : o.kind === 'state' ? state.get(o.name)! : temps[o.id]);
    for (const ins of program.instructions) {
      if (ins.do === 'op') temps[ins.id] = ins.op === 'add' ? tf.add(value(ins.a), value(ins.b)) : ins.op === 'sub' ? tf.sub(value(ins.a), value(ins.b)) : ins.op === 'mul' ? tf.mul(value(ins.a), value(ins.b)) : tf.maximum(value(ins.a), value(ins.b));
      else if (ins.do === 'set') state.set(ins.state, value(ins.value));
      else {
        const u = value(ins.value);
        const theta = value(ins.threshold);
        const fired = fire(tf, tf.sub(u, theta), r, t);
        spikes = fired.s;
        if (ins.resets !== undefined) {
          const target = state.get(ins.resets)!;
          const after = r.reset === 'subtract' ? tf.sub(u, theta) : r.reset === 'zero' ? tf.zerosLike(target) : tf.add(tf.zerosLike(target), value(program.vReset));
          state.set(ins.resets, tf.where(fired.hit, after, target));
        }
      }
    }
    const y = spikes ?? state.get(program.membrane!)!;
    outs.push(y);
    if (r.recordMembrane) membranes.push(state.get(program.membrane!)!);
    previous = spikes;
  });
  const out = outs.length === 1 ? outs[0] : tf.concat(outs, 0);
  return {
    out,
    ...(r.recordMembrane ? { membrane: membranes.length === 1 ? membranes[0] : tf.concat(membranes, 0) } : {}),
    ...(program.spiking ? { rate: tf.mean(out) as TF.Scalar } : {}),
  };
}

interface Fired {
  /** The layer's output s (differentiable by the rule). */
  readonly s: TF.Tensor;
  /** Where the reset applies (no gradient). */
  readonly hit: TF.Tensor;
}

function fire(tf: typeof TF, u: TF.Tensor, r: NeuronRunInput, t: number): Fired {
  const rule = r.rule;
  if (!rule) throw new Error(`training a spiking layer needs a spike rule (noise or surrogate)`);
  if (rule.kind === 'noise') {
    // Seeds: step 0 keeps the T=1 trainer's seeds, so its runs reproduce.
    const seed = r.mode.kind === 'sample' ? r.mode.seed * 1000 + r.index + t * 7919 : 0;
    return noisyFire(tf, u, rule.noise, r.mode, seed);
  }
  if (r.mode.kind === 'mean-field') throw new Error('mean-field evaluation is for noise-trained layers');
  const ops = tfSurrogateOps(tf);
  const s = rule.surrogate;
  if (r.mode.kind === 'smooth') {
    const smooth = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
      const [z, save] = args as [TF.Tensor, TF.GradSaveFunc];
      save([z]);
      return { value: surrogateAntiderivative(s, z, ops), gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => tf.mul(dy, surrogateGradient(s, saved[0], ops)) };
    });
    return { s: smooth(u), hit: tf.greaterEqual(u, 0) };
  }
  const g = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const [z, save] = args as [TF.Tensor, TF.GradSaveFunc];
    save([z]);
    return { value: tf.cast(tf.greaterEqual(z, 0), 'float32'), gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => tf.mul(dy, surrogateGradient(s, saved[0], ops)) };
  });
  return { s: g(u), hit: tf.greaterEqual(u, 0) };
}

/**
 * s = [u + ε ≥ 0]. Gradient: the noise density at −(u + μ), i.e. the derivative of the firing
 * probability, for every mode (deterministic and mean-field are for evaluation).
 */
function noisyFire(tf: typeof TF, z: TF.Tensor, noise: NonNullable<Extract<SpikeRule, { kind: 'noise' }>['noise']>, mode: ForwardMode, seed: number): Fired {
  const { dist, mean, std } = noise;
  if (mode.kind === 'mean-field') {
    const d = tf.add(z, mean);
    const p = dist === 'gaussian' ? tf.mul(0.5, tf.add(1, tf.erf(tf.div(d, std * Math.SQRT2)))) : tf.clipByValue(tf.add(tf.div(d, std * Math.sqrt(12)), 0.5), 0, 1);
    return { s: p, hit: tf.greaterEqual(d, 0) };
  }
  if (mode.kind === 'smooth') throw new Error('smooth mode is for surrogate-trained layers');
  const spike = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const [zIn, save] = args as [TF.Tensor, TF.GradSaveFunc];
    const shifted = tf.add(zIn, mean);
    let margin = shifted;
    if (mode.kind === 'sample') {
      const eps = dist === 'gaussian' ? tf.randomNormal(zIn.shape, 0, std, 'float32', seed) : tf.randomUniform(zIn.shape, -std * Math.sqrt(3), std * Math.sqrt(3), 'float32', seed);
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
  const s = spike(z);
  return { s, hit: tf.greater(s, 0.5) };
}

/** The surrogate formulas' operations as tf ops. */
export function tfSurrogateOps(tf: typeof TF): SurrogateOps<TF.Tensor> {
  return {
    abs: (x) => tf.abs(x),
    mul: (x, c) => tf.mul(x, c),
    add: (x, c) => tf.add(x, c),
    div: (a, b) => tf.div(a, b),
    inv: (x) => tf.reciprocal(x),
    square: (x) => tf.square(x),
    atan: (x) => tf.atan(x),
    relu: (x) => tf.relu(x),
    clip: (x, lo, hi) => tf.clipByValue(x, lo, hi),
    mulT: (a, b) => tf.mul(a, b),
    sub: (a, b) => tf.sub(a, b),
    normalCdf: (x) => tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
    normalPdf: (x) => tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI)),
  };
}
