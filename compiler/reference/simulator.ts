/**
 * The float reference simulator: snnc's semantic oracle. Clock-driven and batched, it evaluates the IR
 * exactly as layers.ts defines it, in float32: every parameter is a float32 and every elementwise
 * operation is rounded to float32 in the order the ONNX lowering performs it, so compiled models can be
 * checked spike for spike. Weighted sums accumulate in float64 before one rounding, which is at least
 * as accurate as any float32 kernel.
 *
 * Two shortcuts keep it usable for evaluation without changing any value: synaptic layers whose
 * inputs do not change over time (direct encoding) are computed once, and weighted sums skip zero
 * inputs (spikes are sparse).
 */
import { badInput } from '../errors.js';
import type * as L from '../ir/layers.js';
import { staticValues } from '../ir/graph.js';
import { isSpikingLayer } from '../ir/layers.js';
import { type NeuronProgram, neuronProgram } from '../ir/neuron-program.js';
import { type NeuronStep, compileNeuronStep } from './neuron-step.js';
import { INPUT, type SnnModel, averagesOverTime } from '../ir/model.js';
import { type ConvGeometry, convGeometry } from '../ir/shapes.js';
import { drawSynapses, sparseRule } from '../ir/connectivity.js';
import { sizeOf, transposeMatrix } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import type { MembraneNoise } from '../ir/noise.js';
import { preprocess, rateEncode, timeMajor } from './encoders.js';
import { type NoiseSource, noiseSource } from './noise-sampler.js';

const f = Math.fround;

export interface SimulateOptions {
  /** Overrides the model's T. */
  readonly timesteps?: number;
  /** Global index of the first sample (seeds the rate encoder). */
  readonly sampleOffset?: number;
  /** Neuron layers whose spikes to record, or 'all'. */
  readonly probes?: readonly string[] | 'all';
  /** Any layers (or "input") whose per-step output values to record (e.g. ReLU activations for calibration). */
  readonly record?: readonly string[];
  /** Neuron layers whose per-step membrane (after reset) to record. */
  readonly membranes?: readonly string[];
  /** Also return the per-step output values [T, B, classes] (before decoding). */
  readonly outputSteps?: boolean;
  /**
   * Monte-Carlo runs of a T=1 noise-trained model: ε is added to the membrane of each noisy neuron
   * layer before the threshold test, s = [v + ε ≥ θ] (ε is not kept in v), drawn fresh per neuron,
   * sample and step from generators seeded by (seed, layer, sampleOffset + b).
   */
  readonly membraneNoise?: { readonly noise: MembraneNoise; readonly seed: number };
}

export interface SimulateResult {
  /** Decoded output [B, classes]. */
  readonly output: Float32Array;
  readonly classes: number;
  /** Recorded spikes per probed neuron layer, [T, B, N] with N = the layer's size: 1 where a neuron sent one (graded spikes: a non-zero payload; `record` gives the payloads). */
  readonly spikes: Map<string, Uint8Array>;
  /** Recorded output values per `record`ed layer, [T, B, N]. */
  readonly values: Map<string, Float32Array>;
  /** With `outputSteps`: the per-step output values [T, B, classes]. */
  readonly outputSteps?: Float32Array;
  /** Recorded membranes per neuron layer in `membranes`, [T, B, N]. */
  readonly membranes: Map<string, Float32Array>;
}

/** Per-layer state and precomputed operands. */
interface Kernel {
  readonly layer: L.Layer;
  readonly size: number;
  readonly isStatic: boolean;
  out: Float32Array;
  step(values: Map<string, Float32Array>): void;
}

/** Most values one simulator buffer may hold (a Float32Array's limit in Node 20 is 2^32 − 1; leave room). */
const MAX_BUFFER = 2 ** 31 - 1;

export function simulate(model: SnnModel, raw: Float32Array, batch: number, options: SimulateOptions = {}): SimulateResult {
  const shapes = verifyModel(model);
  const T = options.timesteps ?? model.timesteps;
  const inShape = model.input.shape;
  const perSample = sizeOf(inShape);
  const enc = model.input.encoding;
  const expected = batch * perSample * (enc.type === 'events' ? T : 1);
  if (raw.length !== expected) throw new Error(`simulate: input has ${raw.length} values, expected ${expected}`);
  const largest = Math.max(perSample * (enc.type === 'events' ? T : 1), ...[...shapes.values()].map(sizeOf));
  if (batch * largest > MAX_BUFFER) throw badInput(`model "${model.name}": a batch of ${batch} samples needs buffers of ${batch * largest} values, more than ${MAX_BUFFER}; use a smaller --batch`);

  // Per-step input [B, ...] for each t.
  const x = preprocess(model.input.preprocess, raw, perSample, inShape[0]);
  let stepInput: (t: number) => Float32Array;
  if (enc.type === 'direct') stepInput = () => x;
  else {
    const steps = enc.type === 'rate' ? rateEncode(x, batch, perSample, T, enc.seed, options.sampleOffset ?? 0) : timeMajor(x, batch, T, perSample);
    stepInput = (t) => steps.subarray(t * batch * perSample, (t + 1) * batch * perSample);
  }

  const statics = staticValues(model);
  const kernels: Kernel[] = [];
  for (const layer of model.layers) {
    const isStatic = statics.has(layer.name);
    const inShapes = layer.inputs.map((n) => shapes.get(n)!);
    kernels.push(makeKernel(layer, inShapes, shapes.get(layer.name)!, batch, isStatic));
  }
  if (options.membraneNoise) {
    const { noise, seed } = options.membraneNoise;
    kernels.forEach((k, index) => {
      if (k instanceof NeuronKernel && (!noise.layers || noise.layers.includes(k.layer.name))) {
        k.noise = Array.from({ length: batch }, (_, b) => noiseSource(noise, seed, index, (options.sampleOffset ?? 0) + b));
      }
    });
  }

  const probeNames = new Set(options.probes === 'all' ? model.layers.filter(isSpikingLayer).map((l) => l.name) : (options.probes ?? []));
  const spikes = new Map<string, Uint8Array>();
  for (const k of kernels) if (probeNames.has(k.layer.name)) spikes.set(k.layer.name, new Uint8Array(T * batch * k.size));
  const recorded = new Map<string, Float32Array>();
  for (const name of options.record ?? []) {
    const size = name === INPUT ? perSample : kernels.find((x) => x.layer.name === name)?.size;
    if (size === undefined) throw new Error(`simulate: cannot record unknown layer "${name}"`);
    recorded.set(name, new Float32Array(T * batch * size));
  }
  const membranes = new Map<string, Float32Array>();
  for (const name of options.membranes ?? []) {
    const k = kernels.find((x) => x.layer.name === name);
    if (!(k instanceof NeuronKernel) || !k.membrane) throw new Error(`simulate: "${name}" is not a neuron layer with a membrane`);
    membranes.set(name, new Float32Array(T * batch * k.size));
  }

  const outKernel = kernels.find((k) => k.layer.name === model.output.layer)!;
  const classes = outKernel.size;
  const output = new Float32Array(batch * classes);
  const outputSteps = options.outputSteps ? new Float32Array(T * batch * classes) : undefined;
  // Before the first step every layer's output is 0: what a layer reading a later one (a neuron's
  // previous step, closing a cycle) sees at t = 1.
  const values = new Map<string, Float32Array>(kernels.map((k) => [k.layer.name, new Float32Array(k.out.length)]));
  const delays = kernels.filter((k): k is DelayKernel => k instanceof DelayKernel);
  for (let t = 0; t < T; t++) {
    for (const d of delays) d.begin();
    values.set(INPUT, stepInput(t));
    recorded.get(INPUT)?.set(stepInput(t), t * batch * perSample);
    for (const k of kernels) {
      if (!(k.isStatic && t > 0)) k.step(values);
      values.set(k.layer.name, k.out);
      const rec = spikes.get(k.layer.name);
      if (rec) for (let i = 0; i < k.out.length; i++) rec[t * k.out.length + i] = k.out[i] !== 0 ? 1 : 0; // sent: a spike, or a non-zero graded one
      recorded.get(k.layer.name)?.set(k.out, t * k.out.length);
      if (k instanceof NeuronKernel && k.membrane) membranes.get(k.layer.name)?.set(k.membrane, t * k.membrane.length);
    }
    for (const d of delays) d.end(values);
    const y = model.output.decoding === 'mean_membrane' ? (outKernel as NeuronKernel).membrane! : outKernel.out;
    for (let i = 0; i < output.length; i++) output[i] = f(output[i] + y[i]);
    outputSteps?.set(y, t * output.length);
  }
  if (averagesOverTime(model.output.decoding)) for (let i = 0; i < output.length; i++) output[i] = f(output[i] / T);
  return { output, classes, spikes, values: recorded, outputSteps, membranes };
}

function makeKernel(layer: L.Layer, inShapes: (readonly number[])[], outShape: readonly number[], batch: number, isStatic: boolean): Kernel {
  const size = sizeOf(outShape);
  const base = { layer, size, isStatic, out: new Float32Array(batch * size) };
  switch (layer.op) {
    case 'dense':
      return denseKernel(base, layer, batch);
    case 'sparse':
      return sparseKernel(base, layer, sizeOf(inShapes[0]), batch);
    case 'conv2d':
      return convKernel(base, layer, inShapes[0], outShape, batch);
    case 'avgpool2d':
    case 'maxpool2d':
      return poolKernel(base, layer, inShapes[0], outShape, batch);
    case 'flatten':
    case 'reshape':
      return { ...base, step(values) { this.out = values.get(layer.inputs[0])!; } };
    case 'add': {
      const c = (layer.coefficients ?? layer.inputs.map(() => 1)).map(f);
      const term = (x: number, k: number) => (c[k] === 1 ? x : f(x * c[k]));
      return {
        ...base,
        step(values) {
          const ins = layer.inputs.map((n) => values.get(n)!);
          for (let i = 0; i < this.out.length; i++) {
            let s = term(ins[0][i], 0);
            for (let j = 1; j < ins.length; j++) s = f(s + term(ins[j][i], j));
            this.out[i] = s;
          }
        },
      };
    }
    case 'concat': {
      const sizes = inShapes.map(sizeOf);
      return {
        ...base,
        step(values) {
          const ins = layer.inputs.map((n) => values.get(n)!);
          let k = 0;
          for (let b = 0; b < batch; b++) for (let j = 0; j < ins.length; j++) for (let i = 0; i < sizes[j]; i++) this.out[k++] = ins[j][b * sizes[j] + i];
        },
      };
    }
    case 'batchnorm': {
      const C = inShapes[0][0];
      const per = sizeOf(inShapes[0]) / C;
      const scale = layer.scale.data;
      const shift = layer.shift.data;
      return {
        ...base,
        step(values) {
          const x = values.get(layer.inputs[0])!;
          for (let i = 0; i < x.length; i++) {
            const c = Math.floor(i / per) % C;
            this.out[i] = f(f(x[i] * scale[c]) + shift[c]);
          }
        },
      };
    }
    case 'relu': {
      const max = layer.max === undefined ? Infinity : f(layer.max);
      return {
        ...base,
        step(values) {
          const x = values.get(layer.inputs[0])!;
          for (let i = 0; i < x.length; i++) this.out[i] = Math.min(Math.max(x[i], 0), max);
        },
      };
    }
    case 'gated_maxpool2d':
      return gatedPoolKernel(base, layer, inShapes[0], outShape, batch);
    case 'delay':
      return new DelayKernel(layer, size, batch);
    case 'neuron':
      return new NeuronKernel(layer, neuronProgram(layer, outShape), batch);
  }
}

type KernelBase = Omit<Kernel, 'step'>;

/** y = W·x + b: scatter each non-zero input through a transposed copy of W. */
function denseKernel(base: KernelBase, layer: L.Dense, batch: number): Kernel {
  const [nOut, nIn] = layer.weight.shape;
  const wT = transposeMatrix(layer.weight.data, nOut, nIn);
  const acc = new Float64Array(nOut);
  return {
    ...base,
    step(values) {
      const x = values.get(layer.inputs[0])!;
      for (let b = 0; b < batch; b++) {
        matVecScatter(wT, x, b * nIn, nIn, nOut, acc, layer.bias?.data);
        for (let o = 0; o < nOut; o++) this.out[b * nOut + o] = acc[o];
      }
    },
  };
}

/**
 * y[j] = Σ w·x over target j's sources, generated once (connectivity.ts), in ascending source order
 * and skipping zero inputs in float64: the sums a dense layer holding the same weights computes.
 */
function sparseKernel(base: KernelBase, layer: L.Sparse, nIn: number, batch: number): Kernel {
  const rule = sparseRule(layer, nIn);
  const k = rule.fanIn;
  const { sources, weights } = drawSynapses(rule);
  return {
    ...base,
    step(values) {
      const x = values.get(layer.inputs[0])!;
      const out = this.out;
      for (let b = 0; b < batch; b++) {
        const xOff = b * nIn;
        for (let j = 0; j < rule.nOut; j++) {
          let acc = 0;
          for (let i = j * k; i < (j + 1) * k; i++) {
            const v = x[xOff + sources[i]];
            if (v !== 0) acc += weights[i] * v;
          }
          out[b * rule.nOut + j] = acc;
        }
      }
    },
  };
}

/** acc = bias + Σ_j wT[j, :]·x[offset + j], skipping zero x. */
function matVecScatter(wT: Float32Array, x: Float32Array, offset: number, nIn: number, nOut: number, acc: Float64Array, bias?: Float32Array): void {
  if (bias) for (let o = 0; o < nOut; o++) acc[o] = bias[o];
  else acc.fill(0);
  for (let j = 0; j < nIn; j++) {
    const v = x[offset + j];
    if (v === 0) continue;
    const row = j * nOut;
    for (let o = 0; o < nOut; o++) acc[o] += wT[row + o] * v;
  }
}

/**
 * Scatters each non-zero input through the kernel. The weights are regrouped as [group, c, ky, kx, o] and the
 * sums kept as [position, o], so the innermost loop runs over contiguous output channels; each output still
 * adds its bias, then its inputs in (c, iy, ix) order, in float64 as before.
 */
function convKernel(base: KernelBase, layer: L.Conv2d, inShape: readonly number[], outShape: readonly number[], batch: number): Kernel {
  const geo = convGeometry(layer, inShape, outShape);
  const { O, KH, KW, cinPG, coutPG } = geo;
  const w = layer.weight.data;
  const wT = new Float32Array(w.length); // [g][cg][ky][kx][o in group]
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / coutPG);
    for (let cg = 0; cg < cinPG; cg++) for (let k = 0; k < KH * KW; k++) wT[((g * cinPG + cg) * KH * KW + k) * coutPG + (o - g * coutPG)] = w[(o * cinPG + cg) * KH * KW + k];
  }
  const acc = new Float64Array(geo.OH * geo.OW * O); // [position][o]
  const bias = layer.bias?.data ?? new Float32Array(O);
  return {
    ...base,
    step(values) {
      const x = values.get(layer.inputs[0])!;
      for (let b = 0; b < batch; b++) convolveSample(x, b, this.out, acc, wT, bias, geo);
    },
  };
}

/**
 * convKernel's step for sample b, x → out. A function of its own, taking everything as arguments: V8
 * compiles these loops nearly twice as fast as the same loops reading a kernel closure's variables.
 */
function convolveSample(x: Float32Array, b: number, out: Float32Array, acc: Float64Array, wT: Float32Array, bias: ArrayLike<number>, geo: ConvGeometry): void {
  const { C, H, W, O, OH, OW, KH, KW, cinPG, coutPG, sh, sw, dh, dw, pt, pl } = geo;
  const unit = sh === 1 && sw === 1 && dh === 1 && dw === 1;
  const plane = OH * OW;
  for (let pos = 0; pos < plane; pos++) for (let o = 0; o < O; o++) acc[pos * O + o] = bias[o];
  for (let c = 0; c < C; c++) {
    const g = Math.floor(c / cinPG);
    const weightsOf = c * KH * KW; // wT's [g][cg] is c's own index: g·cinPG + cg = c
    for (let iy = 0; iy < H; iy++) {
      for (let ix = 0; ix < W; ix++) {
        const v = x[((b * C + c) * H + iy) * W + ix];
        if (v === 0) continue;
        if (unit) {
          // Strides and dilations of 1: the taps that land on an output are ky ∈ [ky0, ky1], kx ∈ [kx0, kx1], at (iy + pt − ky, ix + pl − kx).
          const ky1 = Math.min(KH - 1, iy + pt);
          const kx0 = Math.max(0, ix + pl - OW + 1);
          const kx1 = Math.min(KW - 1, ix + pl);
          for (let ky = Math.max(0, iy + pt - OH + 1); ky <= ky1; ky++) {
            const row = (iy + pt - ky) * OW + ix + pl;
            for (let kx = kx0; kx <= kx1; kx++) {
              const a = (row - kx) * O + g * coutPG;
              const k = (weightsOf + ky * KW + kx) * coutPG;
              for (let oo = 0; oo < coutPG; oo++) acc[a + oo] += wT[k + oo] * v;
            }
          }
          continue;
        }
        for (let ky = 0; ky < KH; ky++) {
          const ty = iy + pt - ky * dh;
          if (ty < 0 || ty % sh !== 0) continue;
          const oy = ty / sh;
          if (oy >= OH) continue;
          for (let kx = 0; kx < KW; kx++) {
            const tx = ix + pl - kx * dw;
            if (tx < 0 || tx % sw !== 0) continue;
            const ox = tx / sw;
            if (ox >= OW) continue;
            const a = (oy * OW + ox) * O + g * coutPG;
            const k = (weightsOf + ky * KW + kx) * coutPG;
            for (let oo = 0; oo < coutPG; oo++) acc[a + oo] += wT[k + oo] * v;
          }
        }
      }
    }
  }
  const outOff = b * O * plane;
  for (let o = 0; o < O; o++) for (let pos = 0; pos < plane; pos++) out[outOff + o * plane + pos] = acc[pos * O + o];
}

function poolKernel(base: KernelBase, layer: L.AvgPool2d | L.MaxPool2d, inShape: readonly number[], outShape: readonly number[], batch: number): Kernel {
  return {
    ...base,
    step(values) {
      pool(values.get(layer.inputs[0])!, batch, this.out, layer, inShape, outShape);
    },
  };
}

/** poolKernel's step, x → out (a function of its own for speed, as convolveSample). */
function pool(x: Float32Array, batch: number, out: Float32Array, layer: L.AvgPool2d | L.MaxPool2d, inShape: readonly number[], outShape: readonly number[]): void {
  const [C, H, W] = inShape;
  const [, OH, OW] = outShape;
  const [KH, KW] = layer.kernel;
  const [sh, sw] = layer.stride;
  const [pt, pl] = layer.padding;
  const isMax = layer.op === 'maxpool2d';
  const area = KH * KW;
  let k = 0;
  for (let bc = 0; bc < batch * C; bc++) {
    const plane = bc * H * W;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = isMax ? -Infinity : 0;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= W) continue;
            const v = x[plane + iy * W + ix];
            acc = isMax ? Math.max(acc, v) : acc + v;
          }
        }
        out[k++] = isMax ? acc : acc / area;
      }
    }
  }
}

/** Rueckauer gating (layers.ts): per window, pass the current input of the largest running count. */
function gatedPoolKernel(base: KernelBase, layer: L.GatedMaxPool2d, inShape: readonly number[], outShape: readonly number[], batch: number): Kernel {
  const [C, H, W] = inShape;
  const [, OH, OW] = outShape;
  const [KH, KW] = layer.kernel;
  const [sh, sw] = layer.stride;
  const counts = new Float32Array(batch * C * H * W);
  return {
    ...base,
    isStatic: false,
    step(values) {
      const x = values.get(layer.inputs[0])!;
      for (let i = 0; i < x.length; i++) counts[i] = f(counts[i] + x[i]);
      let k = 0;
      for (let bc = 0; bc < batch * C; bc++) {
        const plane = bc * H * W;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            let best = -1;
            let bestCount = -Infinity;
            for (let ky = 0; ky < KH; ky++) {
              for (let kx = 0; kx < KW; kx++) {
                const idx = plane + (oy * sh + ky) * W + ox * sw + kx;
                if (counts[idx] > bestCount) {
                  bestCount = counts[idx];
                  best = idx;
                }
              }
            }
            this.out[k++] = x[best];
          }
        }
      }
    },
  };
}

/** y(t) = x(t − d): a ring of d slots, read before the step and written after it (so cycles may pass through it). */
class DelayKernel implements Kernel {
  readonly isStatic = false;
  readonly out: Float32Array;
  private readonly ring: Float32Array;
  private slot = 0;

  constructor(
    readonly layer: L.Delay,
    readonly size: number,
    batch: number,
  ) {
    this.out = new Float32Array(batch * size);
    this.ring = new Float32Array(layer.steps * batch * size);
  }

  /** Before step t: the output is x(t − d) (0 in the first d steps). */
  begin(): void {
    const n = this.out.length;
    this.out.set(this.ring.subarray(this.slot * n, (this.slot + 1) * n));
  }

  step(): void {}

  /** After step t: keep x(t) for step t + d. */
  end(values: Map<string, Float32Array>): void {
    const n = this.out.length;
    this.ring.set(values.get(this.layer.inputs[0])!, this.slot * n);
    this.slot = (this.slot + 1) % this.layer.steps;
  }
}

/**
 * A neuron layer of any declared model: its bound program (compiler/ir/neuron-program.ts), compiled to
 * one fused loop (neuron-step.ts) that rounds to float32 after each operation, exactly as the ONNX
 * lowering does.
 */
class NeuronKernel implements Kernel {
  readonly isStatic = false;
  out: Float32Array;
  private readonly state: Float32Array[];
  private readonly run: NeuronStep;
  private readonly rec?: { wT: Float32Array; acc: Float64Array; prev: Float32Array };
  private readonly current: Float32Array;
  /** Per sample, the membrane noise added before the threshold test (SimulateOptions.membraneNoise). */
  noise?: NoiseSource[];

  constructor(
    readonly layer: L.NeuronLayer,
    private readonly program: NeuronProgram,
    private readonly batch: number,
  ) {
    const n = program.size;
    this.out = new Float32Array(batch * n);
    this.current = new Float32Array(batch * n);
    this.state = program.state.map((s) => broadcastLane(s.init, batch * n, n));
    this.run = compileNeuronStep(program, batch, layer.reset);
    if (layer.recurrent) this.rec = { wT: transposeMatrix(layer.recurrent.data, n, n), acc: new Float64Array(n), prev: new Float32Array(batch * n) };
    if (!program.spiking) this.out = this.membrane!;
  }

  get size(): number {
    return this.program.size;
  }

  /** The membrane state after the last step (undefined for stateless models). */
  get membrane(): Float32Array | undefined {
    const k = this.program.state.findIndex((s) => s.name === this.program.membrane);
    return k < 0 ? undefined : this.state[k];
  }

  step(values: Map<string, Float32Array>): void {
    this.run({ input: this.currentWithRecurrence(values.get(this.layer.inputs[0])!), out: this.out, state: this.state, noise: this.noise });
  }

  /** I(t), plus W_rec·s(t − 1) for a recurrent layer. */
  private currentWithRecurrence(input: Float32Array): Float32Array {
    const rec = this.rec;
    if (!rec) return input;
    const n = this.size;
    rec.prev.set(this.out);
    for (let b = 0; b < this.batch; b++) {
      matVecScatter(rec.wT, rec.prev, b * n, n, n, rec.acc);
      for (let k = 0; k < n; k++) this.current[b * n + k] = f(input[b * n + k] + f(rec.acc[k]));
    }
    return this.current;
  }
}

/** A length-1 or length-N initial value repeated to [B, N]. */
function broadcastLane(init: Float32Array, total: number, n: number): Float32Array {
  const out = new Float32Array(total);
  for (let i = 0; i < total; i++) out[i] = init[init.length === 1 ? 0 : i % n];
  return out;
}
