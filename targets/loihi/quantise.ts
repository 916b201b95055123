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
 * A sparse projection by rule keeps its rule: each drawn weight w becomes round(w·sparseScale)
 * (sparseWeight), and its quantisation error is measured on the first SAMPLED_TARGETS targets' draws.
 *
 * Sigma-delta networks (delta → sigma_delta … → i, lava-dl's SDNN): populations of lava's Delta,
 * SigmaDelta and Sigma with graded spikes (SigmaDeltaProfile), for models on Loihi's grid (NetX
 * imports): the units chain through the layers (loihi.md §2.6), so a float sigma-delta network would
 * need one scale for the whole network; it is refused by name. Graded and binary spikes do not mix:
 * sigma-delta populations read graded ones (or the host), CUBA populations binary ones.
 *
 * Neurons (LOIHI_NEURON_MODELS). A compartment is u ← (1 − du/4096)·u + a_in; v ← (1 − dv/4096)·v + u + b;
 * spike when v > vth·2⁶, then v ← 0 (Loihi 2 microcode: v ← v − θ). IF, LIF and CUBA-LIF are such
 * compartments (common/cuba-neurons.ts), with one profile (θ, v(0), decays) per layer: a parameter that
 * differs between neurons is refused by name (a population has one profile, and a core one profile per
 * population). A non-zero v_leak enters the bias as (1 − β)·v_leak per step; the input gain r is folded
 * into the weights (common/synaptic-terms.ts); a reset to a non-zero v_reset is refused.
 */
import { badInput } from '../../compiler/errors.js';
import type * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { layerValue, paramValues } from '../../compiler/ir/params.js';
import { modelOf } from '../../compiler/ir/neuron-program.js';
import { isGraded } from '../../compiler/ir/neurons.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { CUBA_MODELS, allZero, cubaDecays, describeValues, nonZeroLeak, resetsToZero } from '../common/cuba-neurons.js';
import type { QuantisationRow, QuantisedNetwork } from '../common/network.js';
import { type MaxPoolJoin, type ProjectionGeometry, type Root, addRowSums, hostEncoder, notSupported, populationDepth, synapticRoots } from '../common/synaptic-terms.js';
import { type SignMode, UV_MAX } from './arithmetic.js';
import { chipGraph } from '../common/chip-graph.js';
import type { SparseRule } from '../../compiler/ir/connectivity.js';

export type { MaxPoolJoin, ProjectionGeometry } from '../common/synaptic-terms.js';
export { forEachPoolWindow } from '../common/synaptic-terms.js';

/**
 * The neuron models Loihi runs: those a CUBA compartment is (IF, LIF, CUBA-LIF). Refused: li, cuba_li
 * and i (non-spiking; the only non-spiking population here is the readout of a synaptic output layer,
 * v = u + b without decay, summed by the host), threshold (stateless; it equals a LIF with β = 0, so
 * write it as one), alif (its adaptive threshold needs Loihi 2 microcode that the emulator does not
 * model), and any other declared model.
 */
export const LOIHI_NEURON_MODELS: readonly string[] = [...CUBA_MODELS, 'delta', 'sigma_delta', 'i'];
/** netx's sigma-delta settings: spike_exp = state_exp = 6, 16-bit graded messages (loihi.md §3.2). */
export const NETX_SIGMA_DELTA = { spikeExp: 6, stateExp: 6, messageBits: 16 } as const;
/** Ends the message refusing a parameter that differs between neurons. */
const ONE_PROFILE = 'a Loihi compartment profile takes one value per layer';

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
  /** A sigma-delta population (lava's Delta, SigmaDelta or Sigma; loihi.md §2.6) instead of a CUBA compartment: du, dv and v0 unused. */
  readonly sigmaDelta?: SigmaDeltaProfile;
  /** A relay of a split fan-in (fan-in.ts): forwards its summed input as a graded spike each step; no state. */
  readonly relay?: boolean;
}

/**
 * Sigma-delta arithmetic (lava's fixed-point models): activations are held ×2^(spikeExp + stateExp)
 * (vth and the bias too), graded spikes carry s >> stateExp, with up to `messageBits` bits of payload.
 */
export interface SigmaDeltaProfile {
  readonly kind: SigmaDeltaKind;
  readonly spikeExp: number;
  readonly stateExp: number;
  readonly messageBits: number;
}
export type SigmaDeltaKind = 'delta' | 'sigma_delta' | 'sigma';

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

export interface LoihiProjection {
  /** The IR layer (or `<neuron>.recurrent`). */
  readonly name: string;
  /** A population name, or "input" for spike inputs. */
  readonly source: string;
  readonly target: string;
  readonly geometry: ProjectionGeometry;
  /** Integer weights: dense [nOut, nIn]; conv [Cout, Cin/groups, kh, kw] (cross-correlation, as the IR); empty for a sparse rule. */
  readonly weights: Int32Array;
  /** A sparse rule's weight units per drawn weight (λ times the term's factor): see sparseWeight. */
  readonly sparseScale?: number;
  readonly signMode: SignMode;
  /** Extra synaptic delay (steps) that lines up paths of different depth. */
  readonly delay: number;
  /** Source neuron of the geometry's input 0 (fan-in.ts: a part of a split projection reads a block of its source); absent: 0. */
  readonly sourceOffset?: number;
}

export type { QuantisationRow } from '../common/network.js';
export type LoihiNetwork = QuantisedNetwork<LoihiPopulation, LoihiProjection>;

export interface QuantiseOptions {
  readonly timesteps?: number;
}

export function quantiseForLoihi(source: SnnModel, options: QuantiseOptions = {}): LoihiNetwork {
  const model = chipGraph(source, 'Loihi');
  const T = options.timesteps ?? model.timesteps;
  const fixedScale = fixedPointScale(model);
  const roots = synapticRoots(model, 'Loihi');

  const populations: LoihiPopulation[] = [];
  const projections: LoihiProjection[] = [];
  const rows: QuantisationRow[] = [];
  const depth = new Map<string, number>([[INPUT, 0]]);
  let host: LoihiNetwork['host'];

  const fail = (layer: string, what: string): never => notSupported(layer, what, 'Loihi');
  const graded = new Set(model.layers.filter((l) => l.op === 'neuron' && isGraded(modelOf(l))).map((l) => l.name));
  for (const root of roots) {
    const { layer, shape } = root;
    if (root.kind === 'spike-max') fail(layer.name, 'a max-pool of spikes (an OR) has no Loihi equivalent here; convert with --maxpool avg or auto');
    const n = sizeOf(shape);
    const sd = root.kind === 'neuron' ? sigmaDeltaKind(layer as L.NeuronLayer) : undefined;
    const neuron = root.kind === 'neuron' && !sd ? compartment(layer as L.NeuronLayer, shape) : undefined;
    for (const t of root.terms) {
      if (graded.has(t.source) === !!sd) continue;
      fail(layer.name, sd ? `its ${(layer as L.NeuronLayer).model} neurons read binary spikes of "${t.source}"; Loihi's sigma-delta populations here read graded spikes (of delta or sigma_delta layers)` : `it reads the graded spikes of "${t.source}"; only sigma-delta populations (sigma_delta, i) read graded spikes here`);
    }
    if (root.hostNode) {
      const encoder = hostEncoder(model, root.hostNode);
      host = { ...(encoder ? { encoder } : {}), population: layer.name };
    }
    const recurrent = root.recurrent;
    const alpha = neuron?.alpha ?? 0;
    const bias = neuron?.leak ? root.bias.map((b, i) => b + neuron.leak![i]) : root.bias;

    const termWeights = root.terms.map((t) => t.weights);
    let maxW = 0;
    root.terms.forEach((t, k) => {
      const most = t.geometry.kind === 'sparse' ? t.geometry.rule.maxAbsWeight : 1;
      for (const x of termWeights[k]) maxW = Math.max(maxW, most * Math.abs(x));
    });
    if (recurrent) for (const x of recurrent) maxW = Math.max(maxW, Math.abs(x));
    let maxB = 0;
    for (const b of bias) maxB = Math.max(maxB, Math.abs(b));

    const d = populationDepth(root, depth, 'Loihi');
    depth.set(layer.name, d);

    const q = sd
      ? sigmaDeltaQuantities(layer as L.NeuronLayer, sd, root, bias, fixedScale)
      : cubaQuantities({ layer: layer.name, neuron, root, bias, n, maxW, maxB, alpha, fixedScale }, fail);
    const { lambda, profile, mant, exp, clipped } = q;
    populations.push({
      name: layer.name,
      shape,
      neurons: n,
      profile,
      bias: mant,
      scale: lambda,
      depth: d,
      ...(root.pool ? { pool: root.pool } : {}),
      hostCurrent: !!root.hostNode,
    });

    let errNum = 0;
    let errDen = 0;
    let maxInt = 0;
    const addProjection = (name: string, source: string, geometry: ProjectionGeometry, w: Float64Array, delay: number) => {
      if (geometry.kind === 'sparse') {
        if (fixedScale) fail(name, `a sparse rule's drawn weights are not on the Loihi grid of a fixed-point model`);
        const sparseScale = w[0] * lambda;
        const [lo, hi] = geometry.rule.weightRange.map((x) => x * sparseScale).sort((a, b) => a - b);
        const signMode: SignMode = lo >= 0 ? 'excitatory' : hi <= 0 ? 'inhibitory' : 'mixed';
        const proj: LoihiProjection = { name, source, target: layer.name, geometry, weights: new Int32Array(0), sparseScale, signMode, delay };
        forEachSampledSparseWeight(geometry.rule, (x) => measure(x * sparseScale, sparseWeight(proj, x)));
        projections.push(proj);
        return;
      }
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
        measure(exact, q);
      }
      projections.push({ name, source, target: layer.name, geometry, weights, signMode, delay });
    };
    const measure = (exact: number, q: number) => {
      errNum += (exact - q) ** 2;
      errDen += exact ** 2;
      maxInt = Math.max(maxInt, Math.abs(q));
    };
    root.terms.forEach((t, k) => addProjection(t.name, t.source, t.geometry, termWeights[k], t.source === layer.name ? 0 : d - depth.get(t.source)! - 1)); // a recurrence: the next step
    if (recurrent) addProjection(`${layer.name}.recurrent`, layer.name, { kind: 'dense', nIn: n, nOut: n }, recurrent, 0);

    rows.push({
      layer: layer.name,
      kind: neuron ? neuron.model : sd ? (layer as L.NeuronLayer).model : 'readout',
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
    output: { population: model.output.layer, decoding: model.output.decoding },
    quantisation: rows,
  };
}

/**
 * A sparse rule's drawn weight w as the chip's integer weight: round(w·sparseScale), to even for mixed
 * signs (the chip drops a mixed-sign weight's LSB, as for dense weights).
 */
export function sparseWeight(p: Pick<LoihiProjection, 'sparseScale' | 'signMode'>, w: number): number {
  const exact = w * p.sparseScale!;
  return p.signMode === 'mixed' ? 2 * Math.round(exact / 2) : Math.round(exact);
}

/** Targets whose drawn weights measure a sparse rule's quantisation error (generating all of them costs a pass over every synapse). */
const SAMPLED_TARGETS = 256;

function forEachSampledSparseWeight(rule: SparseRule, fn: (w: number) => void): void {
  const [sources, weights] = [new Int32Array(rule.fanIn), new Float32Array(rule.fanIn)];
  for (let j = 0; j < Math.min(rule.nOut, SAMPLED_TARGETS); j++) {
    rule.fill(j, sources, weights, true);
    weights.forEach(fn);
  }
}

interface PopulationQuantities {
  readonly lambda: number;
  readonly profile: LoihiProfile;
  readonly mant: Int32Array | null;
  readonly exp: number;
  readonly clipped: number;
}

interface CubaInputs {
  readonly layer: string;
  readonly neuron: Compartment | undefined;
  readonly root: Root;
  readonly bias: Float64Array;
  readonly n: number;
  readonly maxW: number;
  readonly maxB: number;
  readonly alpha: number;
  readonly fixedScale: number | undefined;
}

/** λ, the profile and the bias of a CUBA compartment population (neuron) or a non-spiking readout. */
function cubaQuantities({ layer, neuron, root, bias, n, maxW, maxB, alpha, fixedScale }: CubaInputs, fail: (layer: string, what: string) => never): PopulationQuantities {
  // |a| per step must stay below 2^17 so that u = a·2⁶ does not wrap (24-bit u).
  const rowSum = new Float64Array(n);
  root.terms.forEach((t) => addRowSums(t.geometry, t.weights, rowSum));
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, rowSum[i] + Math.abs(bias[i]));
  const bounds = [maxW > 0 ? WEIGHT_MAX / maxW : Infinity, maxB > 0 ? (2 * BIAS_MANT_MAX) / maxB : Infinity, worst > 0 ? A_MAX / worst : Infinity];
  let lambda: number;
  let thetaInt: number;
  if (neuron) {
    const theta = neuron.theta;
    if (fixedScale) {
      lambda = fixedScale;
      thetaInt = theta * 64 * lambda;
    } else {
      // A host-fed layer has no weights to bound it: θ gets HOST_STEPS units.
      const lam = Math.min(...bounds, (root.hostNode ? HOST_STEPS : VTH_MAX + 1) / theta);
      const k = Math.floor(theta * lam);
      if (k < 1) fail(layer, `weights up to ${maxW.toPrecision(3)} (or bias ${maxB.toPrecision(3)}) against a threshold of ${theta} cannot be represented with 8-bit weights (needs a threshold above 1/${WEIGHT_MAX} of the largest weight)`);
      lambda = k / theta;
      thetaInt = 64 * k;
    }
  } else {
    // Readout: v = u + b each step (dv = 4096, as netx's non-spiking layers); the host sums v over the window.
    lambda = fixedScale ?? Math.min(...bounds);
    if (!Number.isFinite(lambda)) lambda = 64;
    thetaInt = VTH_MAX * 64 + 1;
  }

  const { mant, exp, clipped } = quantiseBias(bias, lambda, layer, !!fixedScale);
  const profile: LoihiProfile = {
    du: 4095 - Math.round(4096 * alpha),
    dv: 4096 - Math.round(4096 * (neuron ? neuron.beta : 0)),
    vth: neuron ? Math.floor((Math.ceil(thetaInt) - 1) / 64) : VTH_MAX,
    ...(neuron?.subtract ? { resetSubtract: Math.round(thetaInt) } : {}),
    v0: neuron ? 64 * Math.round(neuron.v0 * lambda) : 0,
    biasExp: exp,
    spiking: !!neuron,
  };
  if (!(Math.abs(profile.v0) < UV_MAX)) fail(layer, `v(0) = ${neuron!.v0} is ${profile.v0} in Loihi units, beyond the 24-bit membrane (|v| < 2^23)`);
  return { lambda, profile, mant, exp, clipped };
}

/** The sigma-delta kind of a layer's model, or undefined for a CUBA model. */
function sigmaDeltaKind(layer: L.NeuronLayer): SigmaDeltaKind | undefined {
  return layer.model === 'delta' ? 'delta' : layer.model === 'sigma_delta' ? 'sigma_delta' : layer.model === 'i' ? 'sigma' : undefined;
}

/** An integer from a value on Loihi's grid (×λ), or a refusal naming the layer and the value. */
function onGrid(layer: string, what: string, value: number, lambda: number): number {
  const x = value * lambda;
  if (!Number.isInteger(x)) throw badInput(`layer "${layer}": ${what} ${value} is not on the Loihi grid (×${lambda} gives ${x}, expected an integer)`);
  return x;
}

/**
 * λ, the profile and the bias of a sigma-delta population. In Lava's units an activation of 1.0 is
 * 2^(spikeExp + stateExp)·λ: vth and the bias are integers ×λ shifted by that exponent.
 */
function sigmaDeltaQuantities(layer: L.NeuronLayer, kind: SigmaDeltaKind, root: Root, bias: Float64Array, fixedScale: number | undefined): PopulationQuantities {
  const fail = (what: string): never => notSupported(layer.name, what, 'Loihi');
  if (!fixedScale) fail(`${layer.model} neurons compile for Loihi from networks on Loihi's integer grid (lava-dl NetX imports); a float sigma-delta network would need one scale for all its layers, which is not supported yet`);
  const lambda = fixedScale!;
  const own = layer.params.bias === undefined ? undefined : paramValues(layer.params.bias, root.shape);
  if (bias.some((b, i) => b !== (own ? own[i] : 0))) fail(`a synaptic bias into σ (it would be added every step); lava's sigma-delta neurons add their bias after σ: give it as the neuron's bias`);
  if (layer.params.v0 !== undefined && !allZero(layer.params.v0)) fail(`v(0) = ${describeValues(layer, 'v0')}: Lava's Sigma starts at 0`);
  const mant = own && own.some((b) => b !== 0) ? Int32Array.from(own, (b) => onGrid(layer.name, 'bias', b, lambda)) : null;
  const vth = kind === 'sigma' ? 0 : onGrid(layer.name, 'threshold', layerValue(layer, 'threshold', ONE_PROFILE), lambda);
  const profile: LoihiProfile = {
    du: 4095,
    dv: 0,
    vth,
    v0: 0,
    biasExp: NETX_SIGMA_DELTA.spikeExp + NETX_SIGMA_DELTA.stateExp,
    spiking: kind !== 'sigma',
    sigmaDelta: { kind, ...NETX_SIGMA_DELTA },
  };
  return { lambda, profile, mant, exp: profile.biasExp, clipped: 0 };
}

/** What a CUBA compartment takes of a neuron layer: one value per layer of θ, v(0) and the decays. */
interface Compartment {
  readonly model: string;
  readonly theta: number;
  readonly v0: number;
  readonly alpha: number;
  readonly beta: number;
  /** Soft reset (v ← v − θ); else v ← 0. */
  readonly subtract: boolean;
  /** (1 − β)·v_leak per neuron, added to the bias; absent when v_leak is 0. */
  readonly leak?: Float64Array;
}

function compartment(layer: L.NeuronLayer, shape: readonly number[]): Compartment {
  if (!LOIHI_NEURON_MODELS.includes(layer.model)) notSupported(layer.name, `Loihi does not run ${layer.model} neurons (it runs ${LOIHI_NEURON_MODELS.join(', ')})`, 'Loihi');
  if (layer.reset === 'to_v_reset' && !resetsToZero(layer)) notSupported(layer.name, `reset to v_reset = ${describeValues(layer, 'v_reset')}: Loihi resets v to 0 (or, on Loihi 2, subtracts θ)`, 'Loihi');
  const { alpha, beta } = cubaDecays(layer, ONE_PROFILE);
  const vLeak = nonZeroLeak(layer, shape);
  return {
    model: layer.model,
    theta: layerValue(layer, 'threshold', ONE_PROFILE),
    v0: layerValue(layer, 'v0', ONE_PROFILE),
    alpha,
    beta,
    subtract: layer.reset === 'subtract',
    ...(vLeak ? { leak: Float64Array.from(vLeak, (x) => (1 - beta) * x) } : {}),
  };
}

/** The weight scale of a model already in Loihi integers (NetX import), if it says so. */
function fixedPointScale(model: SnnModel): number | undefined {
  const fp = model.metadata.fixedPoint as { format?: string; weightScale?: number } | undefined;
  return fp?.format === 'loihi' && typeof fp.weightScale === 'number' ? fp.weightScale : undefined;
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
