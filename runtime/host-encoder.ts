/**
 * The host encoder of a `--numerics loihi|spinnaker` folder on onnxruntime's CPU provider, with every
 * host current certified equal to the one the chip's emulator computes from the reference simulator.
 * For an encoder of the common form (a conv2d or dense layer, then an optional max-pool: EncoderChain)
 * it replaces the JS simulator, several times slower on the MNIST examples.
 *
 * Why it is exact. onnxruntime's float32 value q of an output and the simulator's value r (a float64
 * sum rounded to float32) approximate the same exact sum S = b + Σ w·x of the same float32 operands:
 * |q − S| ≤ γ₃₂(n + 2)·A in any summation order (Higham, Accuracy and Stability of Numerical
 * Algorithms, §3.1), |r − S| ≤ (γ₆₄(n) + u₃₂(1 + γ₆₄(n)))·A, with n the fan-in and A = |b| + Σ|w|·|x|,
 * which a second float32 graph (|w|, |b| on |x|) gives per output value; a max-pool keeps the bound
 * (max is 1-Lipschitz), and a subnormal flushed to zero (FTZ/DAZ) adds at most
 * 2⁻¹²⁶·(1 + max|w|)(1 + max|x|) per operation. The host current rounds a monotone function of the
 * value (HostRounding), so where [q − E, q + E] maps inside (m − ½, m + ½) the current at r is m too.
 * Where it does not (a value that close to a rounding step: about 0.4 % of the Loihi example's, 1.4 %
 * of the SpiNNaker example's), where A is beyond 2¹⁰⁰ (the bound assumes no overflow) or the current
 * beyond 2³⁰, the value is recomputed exactly (chainValue) and rounded as the emulator does; a batch
 * whose input is not all finite runs in the simulator. The graphs run on the CPU (wasm) provider only:
 * other providers may use convolution algorithms (Winograd, FFT, TF32) that this bound does not cover.
 */
import type * as OrtTypes from 'onnxruntime-node';
import { IDENTITY_PREPROCESS, type SnnModel } from '../compiler/ir/model.js';
import type { Tensor } from '../compiler/ir/tensor.js';
import { type EncoderChain, chainValue, encoderChain } from '../compiler/reference/encoder-chain.js';
import { preprocess } from '../compiler/reference/encoders.js';
import { ANN_INPUT, annGraph, annOutput } from '../targets/gpu/ann-graph.js';

type Ort = typeof OrtTypes;

/**
 * How the emulator turns an encoder value v into a host current: it rounds ((v·multiplier) / divisor)·unit,
 * in float64, to the nearest integer (with its own tie rule), a monotone function of v. Numbers rather
 * than a function, so that the certifying loop computes it inline.
 */
export interface HostRounding {
  readonly multiplier: number;
  readonly divisor: number;
  readonly unit: number;
  /** The emulator's current for the exact value v of output i, reporting what it reports when it cannot send it. */
  exact(v: number, i: number): number;
}

const U32 = 2 ** -24;
const U64 = 2 ** -53;
const gamma = (m: number, u: number) => (m * u) / (1 - m * u);
/** Beyond this magnitude the error model (no overflow) is not relied on: the value is recomputed. */
const LARGEST = 2 ** 100;

export class CertifiedEncoder {
  private constructor(
    private readonly ort: Ort,
    private readonly model: SnnModel,
    private readonly chain: EncoderChain,
    private readonly batch: number,
    /** The encoder's float32 graph on x, and the same graph with |w|, |b| on |x|: A per output value. */
    private readonly values: OrtTypes.InferenceSession,
    private readonly magnitudes: OrtTypes.InferenceSession,
    /** The largest |w| or |b| of the weighted layer. */
    private readonly largestWeight: number,
  ) {}

  /** The certified encoder of `model`, or undefined when it is not of the form certified here. */
  static async open(ort: Ort, model: SnnModel, batch: number, backend: 'node' | 'web'): Promise<CertifiedEncoder | undefined> {
    const chain = encoderChain(model);
    if (!chain) return undefined;
    // One thread: the encoder is small, and more sessions with their own spinning thread pools slow the main graph.
    const sessionOptions: OrtTypes.InferenceSession.SessionOptions = backend === 'web' ? { executionProviders: ['wasm'] } : { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 };
    const session = (m: SnnModel) => ort.InferenceSession.create(annGraph({ ...m, input: { ...m.input, preprocess: IDENTITY_PREPROCESS } }, batch, [m.output.layer]), sessionOptions);
    const largest = (t?: Tensor) => (t ? t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) : 0);
    const largestWeight = Math.max(largest(chain.linear.weight), largest(chain.linear.bias));
    return new CertifiedEncoder(ort, model, chain, batch, await session(model), await session(magnitudeModel(model, chain)), largestWeight);
  }

  /**
   * The host currents of one padded batch of raw samples, each certified or recomputed exactly, and how
   * many were recomputed; undefined for input that is not all finite (onnxruntime's max-pool drops NaN
   * where the simulator's keeps it, and the bound assumes finite sums): the caller runs the simulator.
   */
  async currents(raw: Float32Array, rounding: HostRounding): Promise<{ currents: Int32Array; recomputed: number } | undefined> {
    const { chain, model } = this;
    const x = preprocess(model.input.preprocess, raw, chain.inputSize, model.input.shape[0]);
    const magnitude = new Float32Array(x.length);
    let largest = 0;
    for (let i = 0; i < x.length; i++) {
      magnitude[i] = Math.abs(x[i]);
      largest = Math.max(largest, magnitude[i]); // NaN once any is NaN
    }
    if (!(largest < Infinity)) return undefined;
    const run = async (session: OrtTypes.InferenceSession, input: Float32Array) => {
      const r = await session.run({ [ANN_INPUT]: new this.ort.Tensor('float32', input, [this.batch, ...model.input.shape]) });
      return r[annOutput(model.output.layer)].data as Float32Array;
    };
    const q = await run(this.values, x);
    const a = await run(this.magnitudes, magnitude);
    // Subnormals flushed to zero (FTZ/DAZ) in q and in a: at most 2⁻¹²⁶·(1 + max|w|)(1 + max|x|) per operation.
    const flushed = 2 * (3 * chain.fanIn + 6) * 2 ** -126 * (1 + this.largestWeight) * (1 + largest);
    return certify(q, a, chain, rounding, flushed, (i) => rounding.exact(chainValue(chain, x, i), i));
  }

  async close(): Promise<void> {
    await Promise.all([this.values.release(), this.magnitudes.release()]);
  }
}

/** The host currents of values q (onnxruntime's float32) whose magnitudes a bound their error: each certified where it can be, else `exact(i)`. */
function certify(q: Float32Array, a: Float32Array, chain: EncoderChain, rounding: HostRounding, flushed: number, exact: (i: number) => number): { currents: Int32Array; recomputed: number } {
  const n = chain.fanIn;
  // |q − r| ≤ c·A; A ≤ a / (1 − γ₃₂(n + 2)) (a is A in float32); (1 + 2⁻³⁰) covers the float64 products here.
  const c = ((gamma(n + 2, U32) + U32 * (1 + gamma(n, U64)) + gamma(n, U64)) / (1 - gamma(n + 2, U32))) * (1 + 2 ** -30);
  const { multiplier, divisor, unit } = rounding;
  const currents = new Int32Array(q.length);
  let recomputed = 0;
  for (let i = 0; i < q.length; i++) {
    const value = q[i];
    const bound = c * a[i] + flushed;
    // fl(q ± slack) lies outside [q − bound, q + bound]: the slack covers the rounding of the subtraction.
    const slack = bound * (1 + 2 ** -50) + Math.abs(value) * 2 ** -50;
    const below = (((value - slack) * multiplier) / divisor) * unit;
    const above = (((value + slack) * multiplier) / divisor) * unit;
    const low = below < above ? below : above;
    const high = below < above ? above : below;
    // Every value in [low, high] rounds to m, whatever the tie rule, if the interval lies inside
    // (m − ½, m + ½); all of this is exact in float64 for |m| < 2³⁰ (NaN fails every comparison).
    const m = Math.floor(low + 0.5);
    if (Math.abs(m) < 2 ** 30 && low >= m - 0.5 + 2 ** -20 && high <= m + 0.5 - 2 ** -20 && a[i] < LARGEST) {
      currents[i] = m;
      continue;
    }
    currents[i] = exact(i);
    recomputed++;
  }
  return { currents, recomputed };
}

/** The encoder with |w| and |b| in its weighted layer: on |x| it gives A = |b| + Σ|w|·|x| per output value, max-pooled as the values are. */
function magnitudeModel(model: SnnModel, chain: EncoderChain): SnnModel {
  const abs = (t: Tensor): Tensor => ({ ...t, data: t.data.map(Math.abs) });
  const { linear } = chain;
  const positive = { ...linear, weight: abs(linear.weight), ...(linear.bias ? { bias: abs(linear.bias) } : {}) };
  return { ...model, layers: model.layers.map((l) => (l === linear ? positive : l)) };
}
