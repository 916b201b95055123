/**
 * Quantiser: float IR → a Loihi fixed-point network of populations (one per neuron layer, plus a
 * non-spiking readout for a synaptic output layer) and projections (the dense, conv and avg-pool
 * synapses between them), with integer weights, decays, thresholds and biases, per-layer quantisation
 * error, and the pipeline depth each population runs behind the float model (every synapse adds one
 * step; loihi.md §2.1). It does not place anything on cores (partition.ts) or write files.
 *
 * Units. For a population with scale λ (weight units per float unit): w_int = round(λ·w), and the chip
 * adds w_int·2⁶ to u, so v_int = 64·λ·v_float. For spiking populations λ = k/θ with k an integer, so θ
 * is exactly 64·k in v units; all inputs are multiples of 64 (weights, biases with exponent ≥ 6, v(0)),
 * hence Loihi's strict `v > 64·(k−1)` equals the IR's `v ≥ θ`, and a soft reset subtracts exactly 64·k.
 * A model already on Loihi's grid (metadata.fixedPoint.weightScale, set by the NetX reader) keeps its
 * integers: λ = that scale.
 *
 * Inputs. With direct encoding the static prefix (synaptic layers fed only by the input) runs on the
 * host, like netx's input block: its output enters the first neuron layer's a_in every step, without a
 * synaptic delay. Spike inputs (rate, events) enter through input axons like any population's spikes.
 * Max-pooling of time-varying currents becomes dendritic compartments joined by MAX into the soma.
 */
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import type * as L from '../../compiler/ir/layers.js';
import { ancestors, staticValues } from '../../compiler/ir/graph.js';
import { isNeuron } from '../../compiler/ir/layers.js';
import { type Decoding, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { convGeometry } from '../../compiler/ir/shapes.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import type { SignMode } from './arithmetic.js';

const VTH_MAX = 131071;
/** Largest per-step synaptic input (weight units) that keeps u = a·2⁶ inside 24 bits. */
const A_MAX = 2 ** 17 - 1;
/** Threshold resolution (units per θ) of a layer fed by the host. */
const HOST_STEPS = 4096;
const BIAS_MANT_MAX = 4095;
const WEIGHT_MAX = 254;

export interface LoihiProfile {
  /** Lava's du (current decay − 1; −1 = none) and dv. */
  readonly du: number;
  readonly dv: number;
  /** Threshold mantissa: spikes when v > vth·2⁶. */
  readonly vth: number;
  /** Soft reset amount in v units (Loihi 2 microcode); absent = reset to 0. */
  readonly resetSubtract?: number;
  /** v(0) in v units. */
  readonly v0: number;
  readonly biasExp: number;
  /** False for a non-spiking readout (vth at its maximum, v = u + b every step, summed by the host). */
  readonly spiking: boolean;
}

export interface MaxPoolJoin {
  readonly kernel: L.Pair;
  readonly stride: L.Pair;
  readonly padding: L.Padding4;
  /** Shape [C, H, W] of the current grid being pooled (the synapses' target grid). */
  readonly inShape: readonly number[];
}

export interface LoihiPopulation {
  /** The IR layer it implements. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly neurons: number;
  readonly profile: LoihiProfile;
  /** Per-neuron bias mantissas (exponent in the profile), or null. */
  readonly bias: Int32Array | null;
  /** Weight units per float unit (λ); v_int = 64·λ·v_float. */
  readonly scale: number;
  /** Steps this population runs behind the float model. */
  readonly depth: number;
  /** Dendrites joined by MAX (max-pool over currents), or absent. */
  readonly pool?: MaxPoolJoin;
  /** Fed by the host encoder on a_in (no synaptic delay). */
  readonly hostCurrent: boolean;
}

export type ProjectionGeometry =
  | { readonly kind: 'dense'; readonly nIn: number; readonly nOut: number }
  | {
      readonly kind: 'conv';
      readonly inShape: readonly [number, number, number];
      readonly outShape: readonly [number, number, number];
      readonly kernel: L.Pair;
      readonly stride: L.Pair;
      readonly padding: L.Padding4;
      readonly groups: number;
    };

export interface LoihiProjection {
  /** The IR layer (or `<neuron>.recurrent`). */
  readonly name: string;
  /** A population name, or "input" for spike inputs. */
  readonly source: string;
  readonly target: string;
  readonly geometry: ProjectionGeometry;
  /** Integer weights: dense [nOut, nIn]; conv [Cout, Cin/groups, kh, kw] (cross-correlation, as the IR). */
  readonly weights: Int32Array;
  readonly signMode: SignMode;
  /** Extra synaptic delay (steps) that lines up paths of different depth. */
  readonly delay: number;
}

export interface QuantisationRow {
  readonly layer: string;
  readonly [field: string]: string | number;
}

export interface LoihiNetwork {
  readonly name: string;
  readonly timesteps: number;
  readonly input: SnnModel['input'];
  /**
   * Direct encoding: the static prefix as a model (absent: the preprocessed input itself) whose output,
   * × the population's scale and rounded, is added to `population`'s a_in every step.
   */
  readonly host?: { readonly encoder?: SnnModel; readonly population: string };
  readonly populations: readonly LoihiPopulation[];
  readonly projections: readonly LoihiProjection[];
  readonly output: { readonly population: string; readonly decoding: Decoding };
  readonly quantisation: readonly QuantisationRow[];
}

export interface QuantiseOptions {
  readonly timesteps?: number;
}

function notSupported(layer: string, what: string): never {
  throw new SnncError(`layer "${layer}": ${what}`, ExitCode.doesNotFit);
}

/** One synaptic term of a population's input: coef · op(source spikes). */
interface Term {
  readonly layer: L.Dense | L.Conv2d | L.AvgPool2d;
  readonly source: string;
  readonly coef: number;
  readonly geometry: ProjectionGeometry;
}

interface InputExpression {
  terms: Term[];
  /** Constant input per element of the expression's output (float). */
  bias: Float64Array;
  pool?: MaxPoolJoin;
  /** Static (host-computed) node, for direct-encoded inputs. */
  hostNode?: string;
}

export function quantiseForLoihi(model: SnnModel, options: QuantiseOptions = {}): LoihiNetwork {
  const shapes = verifyModel(model);
  const T = options.timesteps ?? model.timesteps;
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const spikeInput = model.input.encoding.type !== 'direct';
  const staticNames = staticValues(model);
  const fixedScale = fixedPointScale(model);

  /** Skips flatten layers; the result must carry spikes. */
  function spikeSource(name: string, user: string): string {
    let n = name;
    while (n !== INPUT && byName.get(n)!.op === 'flatten') n = byName.get(n)!.inputs[0];
    if (n === INPUT ? spikeInput : isNeuron(byName.get(n)!)) return n;
    notSupported(user, `its input "${name}" is not spikes (a neuron layer or a rate/event-encoded input); Loihi synapses carry spikes only`);
  }

  function collect(name: string, coef: number, size: number, expr: InputExpression, root: string): void {
    if (staticNames.has(name)) {
      if (expr.terms.length || expr.hostNode || coef !== 1) notSupported(root, 'mixes host-computed (direct-input) values with spikes; only a whole input can come from the host');
      expr.hostNode = name;
      return;
    }
    const layer = byName.get(name)!;
    const outShape = shapes.get(name)!;
    switch (layer.op) {
      case 'dense': {
        const source = spikeSource(layer.inputs[0], name);
        const [nOut, nIn] = layer.weight.shape;
        expr.terms.push({ layer, source, coef, geometry: { kind: 'dense', nIn, nOut } });
        if (layer.bias) for (let i = 0; i < nOut; i++) expr.bias[i] += coef * layer.bias.data[i];
        return;
      }
      case 'conv2d':
      case 'avgpool2d': {
        const source = spikeSource(layer.inputs[0], name);
        const inShape = shapes.get(layer.inputs[0])! as [number, number, number];
        const g = layer.op === 'conv2d' ? convGeometry(layer, inShape, outShape) : undefined;
        expr.terms.push({
          layer,
          source,
          coef,
          geometry: {
            kind: 'conv',
            inShape: [...inShape] as [number, number, number],
            outShape: [...outShape] as [number, number, number],
            kernel: layer.op === 'conv2d' ? [g!.KH, g!.KW] : layer.kernel,
            stride: layer.stride,
            padding: layer.padding,
            groups: layer.op === 'conv2d' ? layer.groups : inShape[0],
          },
        });
        if (layer.op === 'conv2d' && layer.bias) {
          const hw = outShape[1] * outShape[2];
          for (let i = 0; i < size; i++) expr.bias[i] += coef * layer.bias.data[Math.floor(i / hw)];
        }
        return;
      }
      case 'add':
        layer.inputs.forEach((n, k) => collect(n, coef * (layer.coefficients?.[k] ?? 1), size, expr, root));
        return;
      case 'flatten':
        collect(layer.inputs[0], coef, size, expr, root);
        return;
      default:
        notSupported(name, `${layer.op} between spiking layers has no Loihi equivalent here${layer.op === 'maxpool2d' ? ' (a max-pool is supported only directly before a neuron layer)' : layer.op === 'gated_maxpool2d' ? ' (convert with --maxpool avg or auto)' : layer.op === 'batchnorm' ? ' (fold it into the preceding layer: snnc convert does)' : ''}`);
    }
  }

  function inputExpression(rootName: string, exprName: string, size: number): InputExpression {
    const top = exprName === INPUT ? undefined : byName.get(exprName);
    if (top?.op === 'maxpool2d' && !staticNames.has(exprName)) {
      const inShape = shapes.get(top.inputs[0])!;
      const expr: InputExpression = { terms: [], bias: new Float64Array(sizeOf(inShape)) };
      collect(top.inputs[0], 1, sizeOf(inShape), expr, rootName);
      if (expr.hostNode) notSupported(rootName, 'a max-pool of host values must be part of the host prefix');
      if (expr.terms.some((t) => t.geometry.kind !== 'conv')) notSupported(top.name, 'max-pool over a dense output');
      expr.pool = { kernel: top.kernel, stride: top.stride, padding: top.padding, inShape };
      expr.bias = pooledBias(expr.bias, expr.pool, shapes.get(exprName)!, top.name);
      return expr;
    }
    const expr: InputExpression = { terms: [], bias: new Float64Array(size) };
    collect(exprName, 1, size, expr, rootName);
    return expr;
  }

  const populations: LoihiPopulation[] = [];
  const projections: LoihiProjection[] = [];
  const rows: QuantisationRow[] = [];
  const depth = new Map<string, number>([[INPUT, 0]]);
  let host: LoihiNetwork['host'];

  const outputLayer = byName.get(model.output.layer)!;
  const roots = model.layers.filter((l) => isNeuron(l) || l === outputLayer);
  for (const layer of roots) {
    const shape = shapes.get(layer.name)!;
    const n = sizeOf(shape);
    const neuron = isNeuron(layer) ? layer : undefined;
    const expr = inputExpression(layer.name, neuron ? neuron.inputs[0] : layer.name, n);
    if (!neuron && expr.pool) notSupported(layer.name, 'a max-pooled readout');
    if (expr.hostNode) {
      if (host) notSupported(layer.name, `only one layer can take the host-computed input (already "${host.population}")`);
      const encoder = hostEncoder(model, expr.hostNode);
      host = { ...(encoder ? { encoder } : {}), population: layer.name };
    }
    const recurrent = neuron && neuron.op !== 'if' ? neuron.recurrent : undefined;
    const alpha = neuron?.op === 'cuba_lif' ? neuron.alpha : 0;
    if (alpha > 0 && expr.bias.some((b) => b !== 0)) {
      notSupported(layer.name, `a synaptic bias into a neuron with current decay α=${alpha} > 0: Loihi adds bias to v, not to the current`);
    }
    const bias = Float64Array.from(expr.bias);
    if (neuron?.op === 'cuba_lif' && neuron.bias) for (let i = 0; i < n; i++) bias[i] += neuron.bias.data[i];

    // Float weights per term, scaled by the term's coefficient.
    const termWeights = expr.terms.map((t) => floatWeights(t));
    let maxW = 0;
    for (const w of termWeights) for (const x of w) maxW = Math.max(maxW, Math.abs(x));
    if (recurrent) for (const x of recurrent.data) maxW = Math.max(maxW, Math.abs(x));
    let maxB = 0;
    for (const b of bias) maxB = Math.max(maxB, Math.abs(b));

    const d = expr.hostNode ? 0 : Math.max(0, ...expr.terms.map((t) => (depth.get(t.source) ?? 0) + 1));
    depth.set(layer.name, d);

    // |a| per step must stay below 2^17 so that u = a·2⁶ does not wrap (24-bit u).
    const rowSum = new Float64Array(n);
    expr.terms.forEach((t, k) => addRowSums(t.geometry, termWeights[k], rowSum));
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, rowSum[i] + Math.abs(bias[i]));
    const bounds = [maxW > 0 ? WEIGHT_MAX / maxW : Infinity, maxB > 0 ? (2 * BIAS_MANT_MAX) / maxB : Infinity, worst > 0 ? A_MAX / worst : Infinity];
    let lambda: number;
    let thetaInt: number;
    if (neuron) {
      const theta = neuron.threshold;
      if (fixedScale) {
        lambda = fixedScale;
        thetaInt = theta * 64 * lambda;
      } else {
        // A host-fed layer has no weights to bound it: θ gets HOST_STEPS units.
        const lam = Math.min(...bounds, (expr.hostNode ? HOST_STEPS : VTH_MAX + 1) / theta);
        const k = Math.floor(theta * lam);
        if (k < 1) notSupported(layer.name, `weights up to ${maxW.toPrecision(3)} (or bias ${maxB.toPrecision(3)}) against a threshold of ${theta} cannot be represented with 8-bit weights (needs a threshold above 1/${WEIGHT_MAX} of the largest weight)`);
        lambda = k / theta;
        thetaInt = 64 * k;
      }
    } else {
      // Readout: v = u + b each step (dv = 4096, as netx's non-spiking layers); the host sums v over the window.
      lambda = fixedScale ?? Math.min(...bounds);
      if (!Number.isFinite(lambda)) lambda = 64;
      thetaInt = VTH_MAX * 64 + 1;
    }

    const { mant, exp, clipped } = quantiseBias(bias, lambda, layer.name, !!fixedScale);
    const profile: LoihiProfile = {
      du: 4095 - Math.round(4096 * alpha),
      dv: 4096 - Math.round(4096 * (neuron ? (neuron.op === 'if' ? 1 : neuron.beta) : 0)),
      vth: neuron ? Math.floor((Math.ceil(thetaInt) - 1) / 64) : VTH_MAX,
      ...(neuron?.reset === 'subtract' ? { resetSubtract: Math.round(thetaInt) } : {}),
      v0: neuron ? 64 * Math.round(neuron.v0 * lambda) : 0,
      biasExp: exp,
      spiking: !!neuron,
    };
    populations.push({
      name: layer.name,
      shape,
      neurons: n,
      profile,
      bias: mant,
      scale: lambda,
      depth: d,
      ...(expr.pool ? { pool: expr.pool } : {}),
      hostCurrent: !!expr.hostNode,
    });

    let errNum = 0;
    let errDen = 0;
    let maxInt = 0;
    const addProjection = (name: string, source: string, geometry: ProjectionGeometry, w: Float64Array, delay: number) => {
      const signMode: SignMode = w.every((x) => x >= 0) ? 'excitatory' : w.every((x) => x <= 0) ? 'inhibitory' : 'mixed';
      // Mixed-sign Dense weights lose their LSB on the chip (8-bit mode): round to even here. A fixed-point
      // model keeps its integers as given, and the emulator truncates them as Lava does.
      const even = !fixedScale && geometry.kind === 'dense' && signMode === 'mixed';
      const weights = new Int32Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const exact = w[i] * lambda;
        const q = even ? 2 * Math.round(exact / 2) : Math.round(exact);
        if (fixedScale && (q !== exact || q < -256 || q > 255)) throw badInput(`layer "${name}": weight ${w[i]} is not on the Loihi grid (×${fixedScale} gives ${exact}, expected an integer in −256…255)`);
        weights[i] = q;
        errNum += (exact - q) ** 2;
        errDen += exact ** 2;
        maxInt = Math.max(maxInt, Math.abs(q));
      }
      projections.push({ name, source, target: layer.name, geometry, weights, signMode, delay });
    };
    expr.terms.forEach((t, k) => addProjection(t.layer.name, t.source, t.geometry, termWeights[k], d - (depth.get(t.source) ?? 0) - 1));
    if (recurrent) addProjection(`${layer.name}.recurrent`, layer.name, { kind: 'dense', nIn: n, nOut: n }, Float64Array.from(recurrent.data), 0);

    rows.push({
      layer: layer.name,
      kind: neuron ? neuron.op : 'readout',
      scale: Number(lambda.toPrecision(6)),
      'max |w_int|': maxInt,
      'weight err %': errDen > 0 ? Number((100 * Math.sqrt(errNum / errDen)).toFixed(3)) : 0,
      vth: profile.vth,
      du: profile.du,
      dv: profile.dv,
      'bias exp': exp,
      'bias clipped': clipped,
      depth: d,
    });
  }

  return {
    name: model.name,
    timesteps: T,
    input: model.input,
    ...(host ? { host } : {}),
    populations,
    projections,
    output: { population: outputLayer.name, decoding: model.output.decoding },
    quantisation: rows,
  };
}

/** The weight scale of a model already in Loihi integers (NetX import), if it says so. */
function fixedPointScale(model: SnnModel): number | undefined {
  const fp = model.metadata.fixedPoint as { format?: string; weightScale?: number } | undefined;
  return fp?.format === 'loihi' && typeof fp.weightScale === 'number' ? fp.weightScale : undefined;
}

function floatWeights(t: Term): Float64Array {
  if (t.layer.op === 'avgpool2d') {
    const [kh, kw] = t.layer.kernel;
    const c = t.geometry.kind === 'conv' ? t.geometry.inShape[0] : 0;
    return new Float64Array(c * kh * kw).fill(t.coef / (kh * kw));
  }
  const w = new Float64Array(t.layer.weight.data.length);
  for (let i = 0; i < w.length; i++) w[i] = t.coef * t.layer.weight.data[i];
  return w;
}

/** Σ_j |w_ij| per output element (the worst case of one step's input with every source spiking). */
function addRowSums(g: ProjectionGeometry, w: Float64Array, out: Float64Array): void {
  if (g.kind === 'dense') {
    for (let o = 0; o < g.nOut; o++) for (let j = 0; j < g.nIn; j++) out[o] += Math.abs(w[o * g.nIn + j]);
    return;
  }
  const [co, ho, wo] = g.outShape;
  const perOut = w.length / co;
  for (let c = 0; c < co; c++) {
    let s = 0;
    for (let i = 0; i < perOut; i++) s += Math.abs(w[c * perOut + i]);
    for (let i = 0; i < ho * wo; i++) out[c * ho * wo + i] += s;
  }
}

function quantiseBias(bias: Float64Array, lambda: number, layer: string, fixed: boolean): { mant: Int32Array | null; exp: number; clipped: number } {
  if (bias.every((b) => b === 0)) return { mant: null, exp: 6, clipped: 0 };
  const units = bias.map((b) => b * lambda);
  if (fixed && units.some((u) => !Number.isInteger(u))) throw badInput(`layer "${layer}": bias is not on the Loihi grid (×${lambda} is not an integer)`);
  const exp = units.some((u) => Math.abs(Math.round(u)) > BIAS_MANT_MAX) ? 7 : 6;
  const div = 2 ** (exp - 6);
  let clipped = 0;
  const mant = new Int32Array(bias.length);
  for (let i = 0; i < bias.length; i++) {
    const m = Math.round(units[i] / div);
    if (Math.abs(m) > BIAS_MANT_MAX) clipped++;
    mant[i] = Math.max(-BIAS_MANT_MAX, Math.min(BIAS_MANT_MAX, m));
  }
  return { mant, exp, clipped };
}

/** The constant input of each pooled neuron: the window's constants must agree (they do for conv biases). */
function pooledBias(bias: Float64Array, pool: MaxPoolJoin, outShape: readonly number[], layer: string): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  forEachPoolWindow(pool, outShape, (o, members) => {
    const b = bias[members[0]];
    if (members.some((m) => bias[m] !== b)) notSupported(layer, 'max-pool over inputs with different constant offsets');
    out[o] = b;
  });
  return out;
}

/** Calls fn(pooledIndex, flat indices into the pooled grid of the valid window members) for each output. */
export function forEachPoolWindow(pool: MaxPoolJoin, outShape: readonly number[], fn: (o: number, members: number[]) => void): void {
  const [c, ho, wo] = outShape;
  const [, hi, wi] = pool.inShape;
  const [kh, kw] = pool.kernel;
  const [sh, sw] = pool.stride;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const members: number[] = [];
        for (let u = 0; u < kh; u++) {
          const y = i * sh - pool.padding[0] + u;
          if (y < 0 || y >= hi) continue;
          for (let v = 0; v < kw; v++) {
            const x = j * sw - pool.padding[1] + v;
            if (x >= 0 && x < wi) members.push((ch * hi + y) * wi + x);
          }
        }
        fn((ch * ho + i) * wo + j, members);
      }
    }
  }
}

/**
 * The static prefix as a model of its own (T = 1), whose output is `node`: what the host computes.
 * Undefined when the input itself (preprocessed) is the current.
 */
function hostEncoder(model: SnnModel, node: string): SnnModel | undefined {
  if (node === INPUT) return undefined;
  const needed = ancestors(model, node);
  return { ...model, layers: model.layers.filter((l) => needed.has(l.name)), output: { layer: node, decoding: 'accumulate' }, timesteps: 1, metadata: {} };
}
