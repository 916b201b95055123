/**
 * NIR neuron primitives → IR neuron models, discretised with forward Euler at step h = dt (nir.md §5):
 * - LIF/LI:        τ·dv/dt = (v_leak − v) + R·x   →  lif/li:  β = 1 − h/τ, gain = R·h/τ, v_leak kept;
 * - CubaLIF/CubaLI: τ_syn·dI/dt = −I + w_in·x, τ_mem·dv/dt = (v_leak − v) + R·I  →  cuba_lif/cuba_li:
 *   α = 1 − h/τ_syn, β = 1 − h/τ_mem; the IR's current is (h/τ_mem)·R·I, so gain = (h/τ_mem)·R·(h/τ_syn)·w_in;
 * - IF/I:          dv/dt = R·x  →  if/i: gain = R·h;
 * - Threshold:     z = H(x − θ)  →  threshold (stateless), gain 1.
 * NIR spikes when v > θ (strict), the IR when v ≥ θ: θ becomes the next float32 above θ, exactly equivalent
 * on float32 membranes. Every parameter is per neuron (a NIR array of the population's shape); the gain is
 * returned per neuron for the reader to fold into weights or keep as the IR's `r`. This module also owns
 * the reset policy (v_reset, the user's --reset, snnc's metadata hint) and the default dt.
 */
import { badInput } from '../../errors.js';
import type { ResetMode } from '../../ir/layers.js';
import { type Param, broadcastsTo } from '../../ir/params.js';
import { sameShape, shapeToString, sizeOf, tensor } from '../../ir/tensor.js';
import { nextFloat32Up } from '../../ir/float32.js';
import { type NirNode, type Warn, toNumbers } from './graph.js';

/** NIR type → IR neuron model. */
export const NEURON_MODEL: Readonly<Record<string, string>> = { IF: 'if', LIF: 'lif', CubaLIF: 'cuba_lif', LI: 'li', CubaLI: 'cuba_li', I: 'i', Threshold: 'threshold' };
/** NIR types with a time constant (they fix what dt means). */
const TIMED = new Set(['LIF', 'LI', 'CubaLIF', 'CubaLI', 'Delay']);
export const DEFAULT_DT = 1e-4;

/** A discretised neuron node: the IR model, its parameters per neuron (float64) and the input gain per neuron. */
export interface Discretised {
  readonly model: string;
  readonly params: Record<string, Float64Array>;
  readonly gain: Float64Array;
}

/** Reads a node's parameters as one value per neuron of `shape`, repairing what can be repaired. */
export class NeuronParams {
  private warnedShape = false;
  constructor(
    private readonly node: NirNode,
    private readonly shape: readonly number[],
    private readonly where: string,
    private readonly warn: Warn,
  ) {}

  /** Neurons in the layer. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** One value per neuron of parameter `key` (`fallback` for every neuron when absent; absent without one: an error). */
  get(key: string, fallback?: number): Float64Array {
    const n = this.size;
    const p = this.node.params.get(key);
    if (!p) {
      if (fallback === undefined) throw badInput(`${this.where}: missing parameter "${key}"`);
      return new Float64Array(n).fill(fallback);
    }
    const values = toNumbers(p.value);
    if (values.length === 0) throw badInput(`${this.where}: parameter "${key}" is empty`);
    if (values.length === 1) {
      if (p.shape.length === 0 && n > 1) this.warn(this.node.name, `"${key}" is a 0-d scalar; broadcast to the layer`);
      return new Float64Array(n).fill(values[0]);
    }
    if (values.length === n) {
      if (!sameShape(p.shape, this.shape) && !(p.shape.length <= 1 && this.shape.length <= 1) && !this.warnedShape) {
        this.warn(this.node.name, `parameters of shape ${shapeToString(p.shape)} for an input of shape ${shapeToString(this.shape)}: read in row-major order`);
        this.warnedShape = true;
      }
      return Float64Array.from(values);
    }
    if (p.shape.length > 0 && broadcastsTo(p.shape, this.shape)) return broadcastValues(values, p.shape, this.shape);
    throw badInput(`${this.where}: parameter "${key}" has shape ${shapeToString(p.shape)}, which does not fit the node's input of shape ${shapeToString(this.shape)}`);
  }
}

/** numpy broadcasting of float64 values (index arithmetic, so no precision is lost). */
function broadcastValues(values: number[], from: readonly number[], to: readonly number[]): Float64Array {
  const f = [...Array(to.length - from.length).fill(1), ...from];
  const out = new Float64Array(sizeOf(to));
  const index = new Array<number>(to.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let d = 0; d < to.length; d++) src = src * f[d] + (f[d] === 1 ? 0 : index[d]);
    out[i] = values[src];
    for (let d = to.length - 1; d >= 0 && ++index[d] >= to[d]; d--) index[d] = 0;
  }
  return out;
}

/**
 * Per-neuron values as the smallest IR parameter that broadcasts to `shape`: a number (kept in float64,
 * as the IR keeps one-value parameters) when every neuron has the same value, one float32 per channel
 * ([C, 1, …]) when the values only vary between channels, else one float32 per neuron.
 */
export function compact(values: ArrayLike<number>, shape: readonly number[]): Param {
  const all = Array.from(values);
  if (all.every((v) => v === all[0])) return all[0];
  const f = Float32Array.from(all);
  if (f.every((v) => v === f[0])) return f[0];
  if (shape.length >= 2) {
    const per = f.length / shape[0];
    const channel = Float32Array.from({ length: shape[0] }, (_, c) => f[c * per]);
    if (f.every((v, i) => v === channel[Math.floor(i / per)])) return tensor([shape[0], ...shape.slice(1).map(() => 1)], channel);
  }
  return tensor(shape, f);
}

const map = (a: Float64Array, f: (v: number, i: number) => number) => Float64Array.from(a, f);

/** β = 1 − h/τ per neuron, refusing τ ≤ 0 and τ < h by name. */
function decay(p: NeuronParams, key: string, dt: number, where: string): { tau: Float64Array; decay: Float64Array } {
  const tau = p.get(key);
  const bad = tau.findIndex((t) => !(t > 0));
  if (bad >= 0) throw badInput(`${where}: ${key} must be a positive time constant, got ${tau[bad]}${tau.length > 1 ? ` at flat index ${bad}` : ''}`);
  const short = tau.findIndex((t) => t < dt);
  if (short >= 0) throw badInput(`${where}: dt = ${dt} is larger than a time constant (${key} = ${tau[short]}); choose a smaller --dt`);
  return { tau, decay: map(tau, (t) => 1 - dt / t) };
}

/** The IR threshold θ' = next float32 above θ (NIR's v > θ ⇔ the IR's v ≥ θ'), refusing θ < 0. */
function threshold(p: NeuronParams, key: string, where: string): Float64Array {
  const theta = p.get(key);
  const bad = theta.findIndex((t) => t < 0);
  if (bad >= 0) throw badInput(`${where}: ${key} = ${theta[bad]} is negative; snnc's neurons need a threshold ≥ 0`);
  return map(theta, (t) => nextFloat32Up(Math.fround(t)));
}

/** The IR model, per-neuron parameters and input gain of a NIR neuron node at step `dt`. */
export function discretise(node: NirNode, p: NeuronParams, dt: number, where: string, warn: Warn): Discretised {
  const model = NEURON_MODEL[node.type];
  const spikes = node.type === 'IF' || node.type === 'LIF' || node.type === 'CubaLIF';
  const params: Record<string, Float64Array> = spikes ? { threshold: threshold(p, 'v_threshold', where) } : {};
  if (node.type === 'Threshold') return { model, params: { threshold: threshold(p, 'threshold', where) }, gain: new Float64Array(p.size).fill(1) };
  const r = p.get('r');
  if (node.type === 'IF' || node.type === 'I') return { model, params, gain: map(r, (R) => R * dt) };
  const vLeak = p.get('v_leak', 0);
  if (!node.params.has('v_leak')) warn(node.name, 'no v_leak: taken as 0');
  if (node.type === 'LIF' || node.type === 'LI') {
    const { tau, decay: beta } = decay(p, 'tau', dt, where);
    return { model, params: { ...params, beta, v_leak: vLeak }, gain: map(r, (R, i) => (R * dt) / tau[i]) };
  }
  const syn = decay(p, 'tau_syn', dt, where);
  const mem = decay(p, 'tau_mem', dt, where);
  if (!node.params.has('w_in')) warn(node.name, 'no w_in: taken as 1');
  const wIn = p.get('w_in', 1);
  const gain = map(r, (R, i) => ((dt / mem.tau[i]) * R * dt * wIn[i]) / syn.tau[i]);
  return { model, params: { ...params, alpha: syn.decay, beta: mem.decay, v_leak: vLeak }, gain };
}

export interface ResetChoice {
  readonly reset?: ResetMode;
  /** The per-neuron v_reset, for reset "to_v_reset". */
  readonly vReset?: Float64Array;
}

/**
 * The reset of a spiking node. The user's --reset wins (with a diagnostic when it overrides the file);
 * else snnc's own metadata hint reset = "subtract"; else v_reset: all zero → "zero", otherwise
 * "to_v_reset"; else (files before NIR 1.0.6) "zero", as the reference reader does, with a diagnostic.
 */
export function resetOf(node: NirNode, p: NeuronParams, userReset: ResetMode | undefined, version: string, warn: Warn): ResetChoice {
  if (node.type !== 'IF' && node.type !== 'LIF' && node.type !== 'CubaLIF') return {};
  const hint = node.metadata.get('reset');
  const vReset = node.params.has('v_reset') ? p.get('v_reset') : undefined;
  const zero = vReset?.every((v) => v === 0);
  if (userReset) {
    const mode = `reset ${userReset === 'zero' ? 'to zero' : userReset === 'subtract' ? 'by subtraction' : 'to v_reset'} (--reset ${userReset})`;
    const file = hint === 'subtract' ? 'metadata reset = "subtract"' : vReset && !zero ? 'non-zero v_reset' : vReset ? 'v_reset = 0' : undefined;
    const agrees = hint === 'subtract' ? userReset === 'subtract' : vReset ? userReset === (zero ? 'zero' : 'to_v_reset') : false;
    if (!file) warn(node.name, `${mode}: the file has no v_reset (NIR ${version} predates it)${userReset === 'zero' ? '; use --reset subtract for models trained with subtraction' : ''}`);
    else if (!agrees) warn(node.name, `${mode}, overriding the file's ${file}`);
    return userReset === 'to_v_reset' ? { reset: userReset, vReset: vReset ?? new Float64Array(p.size) } : { reset: userReset };
  }
  if (hint === 'subtract') {
    warn(node.name, 'reset by subtraction, from the node metadata');
    return { reset: 'subtract' };
  }
  if (vReset) return zero ? { reset: 'zero' } : { reset: 'to_v_reset', vReset };
  warn(node.name, `no v_reset (NIR ${version} predates it): reset to zero, as the reference reader does; use --reset subtract for models trained with subtraction`);
  return { reset: 'zero' };
}

/**
 * dt when the user gave none. A time constant fixes its meaning: 1e-4 (the NIR paper's convention). A
 * graph of IF/I nodes only has no time constant, and dt only scales their input (gain R·dt): dt = 1/R
 * when every IF/I node has the same R > 0, which integrates 1× the input per step whether the exporter
 * wrote R = 1 for one step (Sinabs) or R = 1/dt (SpikingJelly). One diagnostic says what was assumed.
 */
export function defaultDt(nodes: Iterable<NirNode>, warn: Warn): number {
  const list = [...nodes];
  if (list.some((n) => TIMED.has(n.type))) {
    warn('(graph)', `no --dt given: using dt = ${DEFAULT_DT} (the NIR paper's convention); NIR files carry no time step`);
    return DEFAULT_DT;
  }
  const integrators = list.filter((n) => n.type === 'IF' || n.type === 'I');
  if (integrators.length === 0) return DEFAULT_DT;
  const rs = integrators.flatMap((n) => toNumbers(n.params.get('r')?.value));
  if (rs.length > 0 && rs[0] > 0 && rs.every((r) => r === rs[0])) {
    const dt = 1 / rs[0];
    warn('(graph)', `no --dt given and no time constant in the graph: using dt = 1/R = ${dt}, so that IF/I neurons add R·dt = 1 × their input per step; pass --dt to choose`);
    return dt;
  }
  warn('(graph)', `no --dt given: using dt = ${DEFAULT_DT}; IF/I neurons add R·dt × their input per step (R differs between neurons)`);
  return DEFAULT_DT;
}
