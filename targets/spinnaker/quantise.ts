/**
 * Quantiser: float IR → IF_curr_exp populations in s16.15 and 16-bit ring-buffer weights
 * (spinnaker.md §3, §4.3). One population per neuron layer, per max-pool of spikes (an OR) and for the
 * non-spiking readout, plus a spike source for a rate/event-encoded input. It places nothing.
 *
 * How an IR neuron becomes IF_curr_exp (machine timestep 1 ms = one IR step):
 * - Membrane: V ← a − e·(a − V) with a = R·I, e = exp_TC. IF uses τ_m = 32768 ms (e = 1 − 2⁻¹⁴, the
 *   closest the closed form gets to no leak: a drift of 2⁻¹⁴·V per step); LIF uses τ_m = −1/ln β.
 *   c_m = (1 − e)·τ_m, so one nA held for one step raises V by G ≈ 1 mV (G computed exactly).
 * - Synapses: IF/LIF use τ_syn = 0.09375 ms, whose decay is exactly 0 on the chip, so a spike's current
 *   lasts exactly the step it lands in (a delta synapse); CUBA-LIF uses τ_syn = −1/ln α.
 * - Scale λ (mV per IR unit): V = λ·v, v_thresh = λθ, v(0) = λ·v0, i_offset = λ·b / G and a synaptic
 *   weight w becomes λ·w / (G·init) nA. λ is the largest value for which the worst step (every input
 *   spiking, |a| + |V| over T steps) stays inside s16.15 with 2× headroom.
 * - Neurons (SPINNAKER_NEURON_MODELS): IF, LIF and CUBA-LIF (common/cuba-neurons.ts), with θ, v(0), the
 *   decays, v_leak and v_reset one value per layer (a population has one parameter set here): a
 *   parameter that differs between neurons is refused by name. v_leak is v_rest (V ← a − e·(a − V) with
 *   a = v_rest + R·I); the input gain r is folded into the weights (common/synaptic-terms.ts).
 * - Reset: IF_curr_exp sets V to v_reset: IR reset "zero" (v_reset = 0) or "to_v_reset" (λ·v_reset);
 *   "subtract" is refused. Refractory period 0.
 * - Pipeline: every synapse has a delay of ≥ 1 step, so a population at depth d starts refractory for d
 *   steps (refract_timer(0) = d): it holds v(0) until its first input can arrive, as the float model.
 * - A max-pool of spikes is an OR population: unit weights, v_thresh = the response to one spike.
 * - Direct input: the static prefix runs on the host and its value becomes the first layer's i_offset.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import type * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { layerValue } from '../../compiler/ir/params.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { CUBA_MODELS, cubaDecays } from '../common/cuba-neurons.js';
import type { QuantisationRow, QuantisedNetwork } from '../common/network.js';
import { type ProjectionGeometry, addRowSums, hostEncoder, isStored, notSupported, populationDepth, synapticRoots } from '../common/synaptic-terms.js';
import type { SparseRule } from '../../compiler/ir/connectivity.js';
import { ACCUM_ONE, type IfCurrExpConstants, type IfCurrExpParams, deriveConstants, mulAccum, roundHalfEven, toS1615, u032 } from './fixed-point.js';
import { chipGraph } from '../common/chip-graph.js';

/**
 * The neuron models IF_curr_exp runs: IF, LIF and CUBA-LIF (a current decaying by α into a membrane
 * decaying by β towards v_rest). Refused: li, cuba_li and i (non-spiking; the only non-spiking population
 * here is the readout of a synaptic output layer), threshold (stateless; it equals a LIF with β = 0, so
 * write it as one), alif (IF_curr_exp has no adaptive threshold), and any other declared model.
 */
export const SPINNAKER_NEURON_MODELS: readonly string[] = CUBA_MODELS;
/** Ends the message refusing a parameter that differs between neurons. */
const ONE_SET = 'an IF_curr_exp population takes one value per layer';

/** τ_syn whose decay the chip computes as exactly 0 (kdivk(1 ms, τ) > 340 695): a one-step current. */
export const DELTA_TAU_SYN = 0.09375;
const IF_TAU_M = 32768;
/** Assumed bound on a direct input's current per step, in thresholds (the host checks every sample). */
export const HOST_INPUT_THETAS = 4;
const MAX_SHIFT = 15;

export interface SpinnakerPopulation {
  readonly name: string;
  /** 'neuron' | 'readout' | 'or' run IF_curr_exp; 'source' is a SpikeSourceArray (the encoded input). */
  readonly role: 'neuron' | 'readout' | 'or' | 'source';
  readonly shape: readonly number[];
  readonly neurons: number;
  /** Raw s16.15 parameters (i_offset here is 0: the per-neuron value is `iOffset`). */
  readonly params: IfCurrExpParams;
  readonly constants: IfCurrExpConstants;
  /** Per-neuron i_offset (raw s16.15), or null when all zero. */
  readonly iOffset: Int32Array | null;
  /** mV per IR unit of v. */
  readonly scale: number;
  /** mV of V per nA of I held one step. */
  readonly gain: number;
  readonly depth: number;
  /** Ring-buffer left shift per synapse type [excitatory, inhibitory] (§4.3). */
  readonly shift: readonly [number, number];
  /** Fed by the host (direct encoding): i_offset += round(host value · scale / gain) per sample. */
  readonly hostCurrent: boolean;
}

export interface SpinnakerProjection {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly geometry: ProjectionGeometry;
  /** Signed 16-bit ring-buffer weights (sign = synapse type: + excitatory, − inhibitory), same layout as the IR's; empty for a sparse rule. */
  readonly weights: Int32Array;
  /**
   * A sparse rule's weights (the rows generate its synapses): a drawn weight w becomes the ring-buffer
   * weight roundHalfEven(w·excitatory) where that is positive, else −roundHalfEven(−w·inhibitory) (each
   * multiplier is the projection's factor times 2^(15 − shift) of its synapse type).
   */
  readonly sparseScale?: { readonly excitatory: number; readonly inhibitory: number };
  /** Steps from the spike to the current (≥ 1). */
  readonly delay: number;
}

export type { QuantisationRow } from '../common/network.js';
export type SpinnakerNetwork = QuantisedNetwork<SpinnakerPopulation, SpinnakerProjection>;

export interface QuantiseOptions {
  readonly timesteps?: number;
  /** Expected summed weight per step and synapse type (nA), as sPyNNaker's max_expected_summed_weight: sets the ring-buffer shift instead of the all-inputs-at-once bound. */
  readonly maxSummedWeight?: number;
}

const fail = (layer: string, what: string): never => notSupported(layer, what, 'SpiNNaker');

/** IF_curr_exp parameters for a membrane with per-step decay β (1 = IF) and synaptic decay α (0 = delta). */
function membrane(beta: number, alpha: number, depth: number): { params: IfCurrExpParams; constants: IfCurrExpConstants; gain: number; aPerMv: number } {
  const tau = (x: number, fallback: number) => (x >= 1 ? IF_TAU_M : x > 0 ? Math.min(IF_TAU_M, -1 / Math.log(x)) : fallback);
  const tauM = toS1615(Math.max(0.05, tau(beta, 0.05)), 'tau_m');
  const expTc = deriveConstants({ ...ZERO, tauM, cm: ACCUM_ONE }).expTc;
  const cm = Math.max(1, roundHalfEven(((ACCUM_ONE - expTc) * tauM) / ACCUM_ONE));
  const tauSyn = toS1615(alpha > 0 ? Math.max(DELTA_TAU_SYN, tau(alpha, DELTA_TAU_SYN)) : DELTA_TAU_SYN, 'tau_syn');
  const params: IfCurrExpParams = { ...ZERO, tauM, cm, tauSynE: tauSyn, tauSynI: tauSyn, refractTimerInit: depth };
  const constants = deriveConstants(params);
  const r = constants.rMembrane / ACCUM_ONE;
  const e = constants.expTc / ACCUM_ONE;
  return { params, constants, gain: (1 - e) * r, aPerMv: 1 / (1 - e) };
}

const ZERO: IfCurrExpParams = { vInit: 0, vRest: 0, cm: ACCUM_ONE, tauM: ACCUM_ONE, iOffset: 0, vReset: 0, tauRefrac: 0, refractTimerInit: 0, vThresh: 0, tauSynE: ACCUM_ONE, tauSynI: ACCUM_ONE, timestep: ACCUM_ONE };

/** get_n_bits: 0 for 0, 1 for 1, else ⌈log2 n⌉ (spinnaker.md §4.1). */
export const nBits = (n: number) => (n <= 1 ? n : Math.ceil(Math.log2(n)));

/** Ring-buffer shift for an expected summed weight W (nA): the smallest s with W < 2^s, s ≥ 0 (§4.3). */
export function ringBufferShift(w: number): number {
  if (w <= 0) return 0;
  let s = Math.ceil(Math.max(0, Math.log2(w)));
  if (2 ** s <= w) s++;
  return s;
}

export function quantiseForSpinnaker(source: SnnModel, options: QuantiseOptions = {}): SpinnakerNetwork {
  const model = chipGraph(source, 'SpiNNaker');
  const T = options.timesteps ?? model.timesteps;
  const roots = synapticRoots(model, 'SpiNNaker');
  const populations: SpinnakerPopulation[] = [];
  const projections: SpinnakerProjection[] = [];
  const rows: QuantisationRow[] = [];
  const depth = new Map<string, number>([[INPUT, 0]]);
  let host: SpinnakerNetwork['host'];
  const inputShape = model.input.shape;

  if (model.input.encoding.type !== 'direct' && roots.some((r) => r.terms.some((t) => t.source === INPUT))) {
    const n = sizeOf(inputShape);
    const m = membrane(1, 0, 0);
    populations.push({ name: INPUT, role: 'source', shape: inputShape, neurons: n, params: m.params, constants: m.constants, iOffset: null, scale: 1, gain: m.gain, depth: 0, shift: [0, 0], hostCurrent: false });
  }

  for (const root of roots) {
    const { layer, shape } = root;
    const n = sizeOf(shape);
    if (root.pool) fail(layer.name, 'a max-pool of spike-driven currents has no IF_curr_exp equivalent; pool the spikes instead (make the model with max-pooling after the neuron layer, e.g. snnc convert --maxpool spike-or)');
    const neuron = root.kind === 'neuron' ? ifCurrExp(layer as L.NeuronLayer) : undefined;
    if (root.hostNode) {
      const encoder = hostEncoder(model, root.hostNode);
      host = { ...(encoder ? { encoder } : {}), population: layer.name };
    }
    const d = populationDepth(root, depth, 'SpiNNaker');
    depth.set(layer.name, d);

    const beta = neuron?.beta ?? 1;
    const alpha = neuron?.alpha ?? 0;
    const m = membrane(beta, alpha, d);
    const initE = u032(m.constants.initE);
    const recurrent = root.recurrent;

    const role: SpinnakerPopulation['role'] = root.kind === 'spike-max' ? 'or' : neuron ? 'neuron' : 'readout';
    const theta = neuron ? neuron.theta : 1;
    // Worst |input| per step (IR units), |a| = λ·x/(1−e), and V's range over T steps (an OR resets every step).
    const rowSum = new Float64Array(n);
    root.terms.forEach((t) => addRowSums(t.geometry, t.weights, rowSum));
    if (recurrent) addRowSums({ kind: 'dense', nIn: n, nOut: n }, recurrent, rowSum);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, rowSum[i] + Math.abs(root.bias[i]));
    if (root.hostNode) worst += HOST_INPUT_THETAS * theta;
    const vRange = (role === 'or' ? 1 : beta >= 1 ? T : 1 / (1 - beta)) * worst + theta + Math.abs(neuron?.v0 ?? 0) + Math.abs(neuron?.vRest ?? 0) + Math.abs(neuron?.vReset ?? 0);
    const lambda = worst > 0 ? 32768 / (worst * m.aPerMv + vRange) : 1;

    // Synaptic weights in nA (PyNN units): λ·w / (G·init).
    const toNa = lambda / (m.gain * initE);
    const terms = root.terms.map((t) => ({ t, w: t.weights.map((x) => x * toNa) }));
    const rec = recurrent ? recurrent.map((x) => x * toNa) : undefined;
    // Expected summed weight per type: every input spiking at once (identical delays, §4.3 step 1).
    const summed = [0, 0];
    const rowSums = [new Float64Array(n), new Float64Array(n)];
    const signed = (w: Float64Array, sign: number) => w.map((x) => (Math.sign(x) === sign ? x : 0));
    for (const [k, sign] of [[0, 1], [1, -1]] as const) {
      for (const { t, w } of terms) {
        if (t.geometry.kind === 'sparse') addSparseBound(t.geometry.rule, w[0], sign, rowSums[k]);
        else addRowSums(t.geometry, signed(w, sign), rowSums[k]);
      }
      if (rec) addRowSums({ kind: 'dense', nIn: n, nOut: n }, signed(rec, sign), rowSums[k]);
      summed[k] = rowSums[k].reduce((a, b) => Math.max(a, b), 0); // not Math.max(...): 10⁷ arguments overflow the stack
    }
    const shift: [number, number] = [0, 1].map((k) => ringBufferShift(options.maxSummedWeight ?? summed[k])) as [number, number];
    for (const k of [0, 1]) if (shift[k] > MAX_SHIFT) fail(layer.name, `${k ? 'inhibitory' : 'excitatory'} input sums to ${summed[k].toPrecision(4)} nA per step, beyond the 16-bit ring buffer's range (shift ${shift[k]} > ${MAX_SHIFT})`);

    let errNum = 0;
    let errDen = 0;
    let zeroed = 0;
    /** |w| (nA, non-zero) in ring-buffer units, and its 16-bit weight; refuses one the field cannot hold, naming the layer. */
    const ringWeight = (name: string, w: number): { exact: number; q: number } => {
      const type = w > 0 ? 0 : 1;
      const exact = Math.abs(w) * 2 ** (15 - shift[type]);
      const q = roundHalfEven(exact);
      if (q > 0xffff) {
        throw new SnncError(`layer "${name}": weight ${(w / toNa).toPrecision(5)} (${Math.abs(w).toPrecision(5)} nA) overflows the 16-bit synaptic weight field with ring-buffer shift ${shift[type]} (at most ${(0xffff * 2 ** (shift[type] - 15)).toPrecision(5)} nA); raise --max-summed-weight or leave it unset`, ExitCode.doesNotFit);
      }
      return { exact, q };
    };
    const quantiseWeights = (name: string, w: Float64Array): Int32Array => {
      const out = new Int32Array(w.length);
      for (let i = 0; i < w.length; i++) {
        if (w[i] === 0) continue;
        const { exact, q } = ringWeight(name, w[i]);
        if (q === 0) zeroed++;
        out[i] = w[i] < 0 ? -q : q;
        errNum += (exact - q) ** 2;
        errDen += exact ** 2;
      }
      return out;
    };
    /** A sparse rule's weights times `factor` (nA), quantised as quantiseWeights does, checked for overflow at the rule's extremes. */
    const sparseScale = (name: string, rule: SparseRule, factor: number) => {
      for (const w of rule.weightRange) if (w * factor !== 0) ringWeight(name, w * factor); // the extremes fit, so every drawn weight does
      return { excitatory: factor * 2 ** (15 - shift[0]), inhibitory: factor * 2 ** (15 - shift[1]) };
    };
    for (const { t, w } of terms) {
      const delay = t.source === layer.name ? 1 : d - depth.get(t.source)!; // a recurrence: one step
      const base = { name: t.name, source: t.source, target: layer.name, geometry: t.geometry, delay };
      projections.push(t.geometry.kind === 'sparse' ? { ...base, weights: new Int32Array(0), sparseScale: sparseScale(t.name, t.geometry.rule, w[0]) } : { ...base, weights: quantiseWeights(t.name, w) });
    }
    if (rec) projections.push({ name: `${layer.name}.recurrent`, source: layer.name, target: layer.name, geometry: { kind: 'dense', nIn: n, nOut: n }, weights: quantiseWeights(layer.name, rec), delay: 1 });

    const at = (field: string, value: number) => {
      try {
        return toS1615(value, field);
      } catch (e) {
        return fail(layer.name, (e as Error).message);
      }
    };
    let vThresh: number;
    if (role === 'or') vThresh = orThreshold(m, projections[projections.length - 1].weights, shift[0]);
    else if (role === 'readout') vThresh = 2 ** 31 - 1;
    else vThresh = at('v_thresh', lambda * theta);
    if (role === 'neuron' && vThresh < 1) fail(layer.name, `threshold ${theta} × scale ${lambda.toPrecision(3)} mV is below the s16.15 resolution`);
    const biasNa = root.bias.map((b) => (lambda * b) / m.gain);
    const iOffset = biasNa.some((b) => b !== 0) ? Int32Array.from(biasNa, (b, i) => at(`i_offset[${i}]`, b)) : null;
    const params: IfCurrExpParams = { ...m.params, vThresh, vInit: at('v', lambda * (neuron?.v0 ?? 0)), ...(neuron?.vRest ? { vRest: at('v_rest', lambda * neuron.vRest) } : {}), ...(neuron?.vReset ? { vReset: at('v_reset', lambda * neuron.vReset) } : {}) };
    populations.push({ name: layer.name, role, shape, neurons: n, params, constants: m.constants, iOffset, scale: lambda, gain: m.gain, depth: d, shift, hostCurrent: !!root.hostNode });
    const onlyRules = errDen === 0 && terms.some(({ t }) => !isStored(t.geometry));
    rows.push({
      layer: layer.name,
      kind: neuron ? neuron.model : role,
      'scale mV': Number(lambda.toPrecision(6)),
      'v_thresh mV': role === 'neuron' ? Number((vThresh / ACCUM_ONE).toPrecision(6)) : role === 'or' ? Number((vThresh / ACCUM_ONE).toPrecision(6)) : '-',
      'tau_m ms': Number((m.params.tauM / ACCUM_ONE).toPrecision(6)),
      'tau_syn ms': Number((m.params.tauSynE / ACCUM_ONE).toPrecision(6)),
      'shift exc/inh': `${shift[0]}/${shift[1]}`,
      // Over the stored weights; a sparse rule's drawn weights are quantised as the rows are built, unmeasured here.
      'weight err %': errDen > 0 ? Number((100 * Math.sqrt(errNum / errDen)).toFixed(3)) : onlyRules ? '-' : 0,
      'weights → 0': onlyRules ? '-' : zeroed,
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

/** A sparse rule's drawn weight w as its signed ring-buffer weight (see SpinnakerProjection.sparseScale). */
export function sparseRingWeight(scale: { readonly excitatory: number; readonly inhibitory: number }, w: number): number {
  const e = w * scale.excitatory;
  const x = e > 0 ? e : -w * scale.inhibitory;
  if (!(x > 0)) return 0;
  const q = roundHalfEven(x);
  return e > 0 ? q : -q;
}

/** Adds to each target's summed input of one sign (nA) the most a sparse rule can put there: its fan-in at the rule's largest weight of that sign. */
function addSparseBound(rule: SparseRule, factor: number, sign: 1 | -1, out: Float64Array): void {
  const largest = Math.max(0, ...rule.weightRange.map((w) => sign * w * factor));
  for (let o = 0; o < out.length; o++) out[o] += rule.fanIn * largest;
}

/** What IF_curr_exp takes of a neuron layer: one value per layer of each parameter, in IR units. */
interface IfCurrExpNeuron {
  readonly model: string;
  readonly theta: number;
  readonly v0: number;
  readonly alpha: number;
  readonly beta: number;
  /** v_leak (the membrane's resting potential); 0 for IF. */
  readonly vRest: number;
  /** The membrane after a spike. */
  readonly vReset: number;
}

function ifCurrExp(layer: L.NeuronLayer): IfCurrExpNeuron {
  if (!SPINNAKER_NEURON_MODELS.includes(layer.model)) fail(layer.name, `IF_curr_exp does not run ${layer.model} neurons (it runs ${SPINNAKER_NEURON_MODELS.join(', ')})`);
  if (layer.reset === 'subtract') fail(layer.name, 'reset "subtract" has no IF_curr_exp equivalent (sPyNNaker sets v to v_reset after a spike); use a model with reset "zero" (snnc convert --reset zero)');
  const { alpha, beta } = cubaDecays(layer, ONE_SET);
  return {
    model: layer.model,
    theta: layerValue(layer, 'threshold', ONE_SET),
    v0: layerValue(layer, 'v0', ONE_SET),
    alpha,
    beta,
    vRest: layer.params.v_leak ? layerValue(layer, 'v_leak', ONE_SET) : 0,
    vReset: layer.reset === 'to_v_reset' ? layerValue(layer, 'v_reset', ONE_SET) : 0,
  };
}

/** v_thresh of an OR population: V after one step with the smallest single-spike current, from V = 0. */
function orThreshold(m: { constants: IfCurrExpConstants }, weights: Int32Array, shift: number): number {
  let smallest = Infinity;
  for (const w of weights) if (w > 0) smallest = Math.min(smallest, w);
  const current = Number((BigInt(smallest * 2 ** shift) * BigInt(m.constants.initE)) >> 32n);
  const a = mulAccum(current, m.constants.rMembrane);
  const v = a - mulAccum(m.constants.expTc, a);
  if (v < 1) throw new SnncError('an OR population cannot detect a single spike (its response rounds to 0)', ExitCode.doesNotFit);
  return v;
}
