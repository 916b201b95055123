/**
 * Neuron models as data. Each model is one declaration: its parameters (each a tensor that broadcasts to
 * the layer: a scalar, per channel or per neuron), its state variables and their initial values, one
 * discrete time step as a few elementwise equations, and whether and how it spikes. The reference
 * simulator, the ONNX lowering and training interpret these declarations (through neuron-program.ts);
 * none of them knows a model by name. Targets say which models they support (targets/*).
 *
 * Adding a model is adding one entry to NEURON_MODELS (or calling registerNeuronModel). This module
 * owns the declarations and their vocabulary; it must not know about layers, shapes or targets.
 *
 * One step at time t, with synaptic input current I(t):
 *   1. `update`: the state assignments, in order (each sees the values assigned before it);
 *   2. spiking models: s(t) = [value ≥ threshold] (`fire`), then the membrane is reset (the layer's
 *      reset mode: subtract v ← v − θ·s, zero v ← 0 where s, to_v_reset v ← v_reset where s);
 *      graded models (sigma-delta) send the value itself: s(t) = value where |value| ≥ threshold, else 0;
 *      burst models send a count of spikes: s(t) = min(⌊value/threshold⌋, burst) where value ≥ threshold,
 *      else 0, and the subtractive reset takes θ·s;
 *   3. `after`: assignments that may read s(t) (e.g. threshold adaptation).
 * The layer outputs s(t) for spiking models, else its `membrane` state (a readout).
 */

/** An elementwise expression over parameters, state, the input current and (in `after`) the spikes. */
export type Expr =
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'state'; readonly name: string }
  | { readonly kind: 'input' }
  | { readonly kind: 'spikes' }
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: BinaryOp; readonly a: Expr; readonly b: Expr; /** Name of the value (ONNX node names follow it). */ readonly as: string };

/** The elementwise operations of a step: a + b, a − b, a·b, max(a, b) (ReLU is max(x, 0)). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'max';

/** What values a parameter may take. */
export type ParamRange = 'positive' | 'decay' | 'finite' | 'nonnegative' | 'count';

export interface ParamSpec {
  readonly name: string;
  /** Absent: the parameter is required. */
  readonly default?: number;
  readonly range: ParamRange;
  readonly doc: string;
}

export interface StateSpec {
  readonly name: string;
  /** The initial value: a number, or the name of a parameter holding it. */
  readonly init: number | string;
}

export interface Assignment {
  readonly state: string;
  readonly expr: Expr;
}

export interface NeuronModel {
  /** The model's name in model.json (`"type"`) and in the IR (`layer.model`). */
  readonly name: string;
  /** One line for --help, docs and errors. */
  readonly title: string;
  /** The equations, as a reader would write them. */
  readonly equations: string;
  readonly params: readonly ParamSpec[];
  readonly state: readonly StateSpec[];
  readonly update: readonly Assignment[];
  /**
   * Spiking models: s = [value ≥ threshold]; `resets` names the state reset after a spike (absent:
   * stateless). Graded: s = value where |value| ≥ threshold, else 0 (a graded spike: its payload is the value).
   * Burst: up to `burst` spikes in one step, s = min(⌊value/threshold⌋, burst) where value ≥ threshold, else 0
   * (the payload is the count; a subtractive reset takes θ·s).
   */
  readonly fire?: { readonly value: Expr; readonly threshold: Expr; readonly resets?: string; readonly graded?: boolean; readonly burst?: Expr };
  readonly after?: readonly Assignment[];
  /** The state reported as the membrane (recordings, mean_membrane decoding) and output by non-spiking models. */
  readonly membrane?: string;
}

export const RESET_MODES = ['subtract', 'zero', 'to_v_reset'] as const;
export type ResetMode = (typeof RESET_MODES)[number];

// ---------------------------------------------------------------------------------------------
// Expression helpers for the declarations below.

const param = (name: string): Expr => ({ kind: 'param', name });
const state = (name: string): Expr => ({ kind: 'state', name });
const input: Expr = { kind: 'input' };
const spikes: Expr = { kind: 'spikes' };
const one: Expr = { kind: 'const', value: 1 };
const add = (a: Expr, b: Expr, as: string): Expr => ({ kind: 'add', a, b, as });
const sub = (a: Expr, b: Expr, as: string): Expr => ({ kind: 'sub', a, b, as });
const mul = (a: Expr, b: Expr, as: string): Expr => ({ kind: 'mul', a, b, as });
const max = (a: Expr, b: Expr, as: string): Expr => ({ kind: 'max', a, b, as });

/** r·I: the input current times the per-neuron gain r (NIR's R·dt/τ, folded at import). */
const gainedInput = mul(input, param('r'), 'input_scaled');
/** (1 − β)·v_leak: the leak towards v_leak of a membrane decaying by β per step. */
const leak = (decay: string) => mul(sub(one, param(decay), `one_minus_${decay}`), param('v_leak'), 'leak');

const P = {
  threshold: { name: 'threshold', default: 1, range: 'positive', doc: 'θ: spike when the membrane reaches θ.' },
  beta: { name: 'beta', range: 'decay', doc: 'β: membrane decay per step (1 − dt/τ_mem).' },
  alpha: { name: 'alpha', range: 'decay', doc: 'α: synaptic-current decay per step (1 − dt/τ_syn).' },
  r: { name: 'r', default: 1, range: 'finite', doc: 'Input gain: the current adds r·I.' },
  vLeak: { name: 'v_leak', default: 0, range: 'finite', doc: 'Resting potential the membrane decays towards.' },
  vReset: { name: 'v_reset', default: 0, range: 'finite', doc: 'Membrane after a spike with reset "to_v_reset".' },
  v0: { name: 'v0', default: 0, range: 'finite', doc: 'Initial membrane potential v(0).' },
  bias: { name: 'bias', default: 0, range: 'finite', doc: 'Constant added to the membrane every step.' },
  deltaThreshold: { name: 'threshold', default: 0, range: 'nonnegative', doc: 'θ: a change is sent once its magnitude reaches θ (0: every change).' },
  activationBias: { name: 'bias', default: 0, range: 'finite', doc: 'b: added to σ before the activation.' },
  maxSpikes: { name: 'max_spikes', default: 2, range: 'count', doc: 'Γ: at most Γ spikes in one step (a burst).' },
} satisfies Record<string, ParamSpec>;

const spiking = (membrane: string, threshold: Expr = param('threshold')) => ({ fire: { value: state(membrane), threshold, resets: membrane }, membrane });

/** v ← β·v + r·I + (1 − β)·v_leak: a leaky membrane. */
const leakyMembrane: Assignment = { state: 'v', expr: add(add(mul(state('v'), param('beta'), 'v_decayed'), gainedInput, 'u'), leak('beta'), 'u_leaky') };
/** i ← α·i + r·I;  v ← β·v + i + b + (1 − β)·v_leak: a current-based membrane. */
const cubaMembrane: Assignment[] = [
  { state: 'i', expr: add(mul(state('i'), param('alpha'), 'i_decayed'), gainedInput, 'i') },
  { state: 'v', expr: add(add(add(mul(state('v'), param('beta'), 'v_decayed'), state('i'), 'u'), param('bias'), 'u_biased'), leak('beta'), 'u_leaky') },
];
const integrator: Assignment = { state: 'v', expr: add(state('v'), gainedInput, 'u') };

const IF: NeuronModel = {
  name: 'if',
  title: 'integrate-and-fire',
  equations: 'v ← v + r·I;  s = [v ≥ θ];  reset v',
  params: [P.threshold, P.v0, P.vReset, P.r],
  state: [{ name: 'v', init: 'v0' }],
  update: [integrator],
  ...spiking('v'),
};

// Burst spikes (Li & Zeng 2022, "Efficient and accurate conversion of spiking neural network with burst
// spikes"): a neuron whose membrane holds several thresholds' worth sends that many spikes at once (at
// most Γ), so a converted network resolves Γ·T levels in T steps. Γ = 1 is the IF neuron.
const BURST_IF: NeuronModel = {
  name: 'burst_if',
  title: 'integrate-and-fire with burst spikes (up to Γ spikes per step; ANN conversion at low T)',
  equations: 'v ← v + r·I;  s = min(⌊v/θ⌋, Γ) if v ≥ θ else 0;  reset v (subtract: v ← v − θ·s)',
  params: [P.threshold, P.maxSpikes, P.v0, P.vReset, P.r],
  state: [{ name: 'v', init: 'v0' }],
  update: [integrator],
  fire: { value: state('v'), threshold: param('threshold'), resets: 'v', burst: param('max_spikes') },
  membrane: 'v',
};

const LIF: NeuronModel = {
  name: 'lif',
  title: 'leaky integrate-and-fire',
  equations: 'v ← β·v + r·I + (1 − β)·v_leak;  s = [v ≥ θ];  reset v',
  params: [P.threshold, P.v0, P.beta, P.vLeak, P.vReset, P.r],
  state: [{ name: 'v', init: 'v0' }],
  update: [leakyMembrane],
  ...spiking('v'),
};

const CUBA_LIF: NeuronModel = {
  name: 'cuba_lif',
  title: 'current-based leaky integrate-and-fire (Loihi, NIR CubaLIF)',
  equations: 'i ← α·i + r·I;  v ← β·v + i + b + (1 − β)·v_leak;  s = [v ≥ θ];  reset v (i is never reset)',
  params: [P.threshold, P.v0, P.alpha, P.beta, P.bias, P.vLeak, P.vReset, P.r],
  state: [
    { name: 'v', init: 'v0' },
    { name: 'i', init: 0 },
  ],
  update: cubaMembrane,
  ...spiking('v'),
};

const LI: NeuronModel = {
  name: 'li',
  title: 'leaky integrator (non-spiking readout)',
  equations: 'v ← β·v + r·I + (1 − β)·v_leak;  output v',
  params: [P.v0, P.beta, P.vLeak, P.r],
  state: [{ name: 'v', init: 'v0' }],
  update: [leakyMembrane],
  membrane: 'v',
};

const CUBA_LI: NeuronModel = {
  name: 'cuba_li',
  title: 'current-based leaky integrator (non-spiking readout)',
  equations: 'i ← α·i + r·I;  v ← β·v + i + b + (1 − β)·v_leak;  output v',
  params: [P.v0, P.alpha, P.beta, P.bias, P.vLeak, P.r],
  state: [
    { name: 'v', init: 'v0' },
    { name: 'i', init: 0 },
  ],
  update: cubaMembrane,
  membrane: 'v',
};

const I: NeuronModel = {
  name: 'i',
  title: 'integrator (non-spiking)',
  equations: 'v ← v + r·I;  output v',
  params: [P.v0, P.r],
  state: [{ name: 'v', init: 'v0' }],
  update: [integrator],
  membrane: 'v',
};

const THRESHOLD: NeuronModel = {
  name: 'threshold',
  title: 'stateless threshold (Heaviside)',
  equations: 's = [r·I ≥ θ]',
  params: [P.threshold, P.r],
  state: [],
  update: [],
  fire: { value: gainedInput, threshold: param('threshold') },
};

const ALIF: NeuronModel = {
  name: 'alif',
  title: 'adaptive LIF (threshold adaptation, as in LSNN)',
  equations: 'v ← β·v + r·I + (1 − β)·v_leak;  θ_t = θ + κ·a;  s = [v ≥ θ_t];  reset v (by θ_t);  a ← ρ·a + s',
  params: [P.threshold, P.v0, P.beta, { name: 'rho', range: 'decay', doc: 'ρ: decay of the adaptation a per step.' }, { name: 'kappa', range: 'nonnegative', doc: 'κ: threshold increase per unit of adaptation.' }, P.vLeak, P.vReset, P.r],
  state: [
    { name: 'v', init: 'v0' },
    { name: 'a', init: 0 },
  ],
  update: [leakyMembrane],
  ...spiking('v', add(param('threshold'), mul(state('a'), param('kappa'), 'adaptation'), 'threshold_adapted')),
  after: [{ state: 'a', expr: add(mul(state('a'), param('rho'), 'a_decayed'), spikes, 'a') }],
};

/** − θ·p: the reset of the previous step's spike p, applied one step late and undecayed. */
const lateReset = (membrane: Expr): Expr => sub(membrane, mul(state('p'), param('threshold'), 'reset_amount'), 'u_reset');
const rememberSpike: Assignment = { state: 'p', expr: spikes };

const LIF_DELAYED_RESET: NeuronModel = {
  name: 'lif_delayed_reset',
  title: 'LIF with the reset one step late (snnTorch Leaky\'s default, reset_delay)',
  equations: 'v ← β·v + r·I + (1 − β)·v_leak − θ·p;  s = [v ≥ θ];  p ← s',
  params: [P.threshold, P.v0, P.beta, P.vLeak, P.r],
  state: [
    { name: 'v', init: 'v0' },
    { name: 'p', init: 0 },
  ],
  update: [{ state: 'v', expr: lateReset(leakyMembrane.expr) }],
  fire: { value: state('v'), threshold: param('threshold') },
  after: [rememberSpike],
  membrane: 'v',
};

const CUBA_LIF_DELAYED_RESET: NeuronModel = {
  name: 'cuba_lif_delayed_reset',
  title: 'CUBA-LIF with the reset one step late (snnTorch Synaptic\'s default, reset_delay)',
  equations: 'i ← α·i + r·I;  v ← β·v + i + b + (1 − β)·v_leak − θ·p;  s = [v ≥ θ];  p ← s',
  params: [P.threshold, P.v0, P.alpha, P.beta, P.bias, P.vLeak, P.r],
  state: [
    { name: 'v', init: 'v0' },
    { name: 'i', init: 0 },
    { name: 'p', init: 0 },
  ],
  update: [cubaMembrane[0], { state: 'v', expr: lateReset(cubaMembrane[1].expr) }],
  fire: { value: state('v'), threshold: param('threshold') },
  after: [rememberSpike],
  membrane: 'v',
};

// Sigma-delta networks (lava SDNN; loihi.md §2.6): a neuron sends the change of its activation as a graded
// spike once the change (plus what it has not sent yet) reaches θ; the next layer's σ sums the changes back.
// With θ = 0 every layer's σ equals the ANN's pre-activation a step later; the last layer is a Sigma (`i`).

/** d ← residue − act;  act ← activation;  d ← d + act: the change since the last step plus what was not sent. */
const deltaEncoder = (activation: Expr): Assignment[] => [
  { state: 'd', expr: sub(state('residue'), state('act'), 'unsent') },
  { state: 'act', expr: activation },
  { state: 'd', expr: add(state('d'), state('act'), 'delta') },
];
const sendsDelta = {
  fire: { value: state('d'), threshold: param('threshold'), graded: true },
  after: [{ state: 'residue', expr: sub(state('d'), spikes, 'residue') }],
};
const deltaState: StateSpec[] = [
  { name: 'act', init: 0 },
  { name: 'residue', init: 0 },
  { name: 'd', init: 0 },
];

const DELTA: NeuronModel = {
  name: 'delta',
  title: 'delta encoder (lava Delta: the input layer of a sigma-delta network; graded spikes)',
  equations: 'd = r·I − act + residue;  act ← r·I;  s = d if |d| ≥ θ else 0;  residue ← d − s',
  params: [P.deltaThreshold, P.r],
  state: deltaState,
  update: deltaEncoder(gainedInput),
  ...sendsDelta,
  membrane: 'act',
};

const SIGMA_DELTA: NeuronModel = {
  name: 'sigma_delta',
  title: 'sigma-delta neuron with ReLU (lava SigmaDelta; graded spikes)',
  equations: 'σ ← σ + r·I;  d = max(σ + b, 0) − act + residue;  act ← max(σ + b, 0);  s = d if |d| ≥ θ else 0;  residue ← d − s',
  params: [P.deltaThreshold, P.activationBias, P.r],
  state: [{ name: 'sigma', init: 0 }, ...deltaState],
  update: [{ state: 'sigma', expr: add(state('sigma'), gainedInput, 'sigma') }, ...deltaEncoder(max(add(state('sigma'), param('bias'), 'sigma_biased'), { kind: 'const', value: 0 }, 'activation'))],
  ...sendsDelta,
  membrane: 'sigma',
};

const registry = new Map<string, NeuronModel>([IF, BURST_IF, LIF, CUBA_LIF, LI, CUBA_LI, I, THRESHOLD, ALIF, LIF_DELAYED_RESET, CUBA_LIF_DELAYED_RESET, DELTA, SIGMA_DELTA].map((m) => [m.name, m]));

/** The declared neuron models, in declaration order. */
export function neuronModels(): NeuronModel[] {
  return [...registry.values()];
}

export function neuronModel(name: string): NeuronModel | undefined {
  return registry.get(name);
}

/**
 * Adds a model (a plugin, or a test's dummy). Its names must not clash with a built-in one; targets
 * that do not list it refuse it by name.
 */
export function registerNeuronModel(model: NeuronModel): void {
  if (registry.has(model.name)) throw new Error(`neuron model "${model.name}" is already declared`);
  registry.set(model.name, model);
}

/** Removes a model added by registerNeuronModel (tests). */
export function unregisterNeuronModel(name: string): void {
  registry.delete(name);
}

export function isSpiking(model: NeuronModel): boolean {
  return model.fire !== undefined;
}

/** Whether the model resets a state after a spike (so a layer's reset mode matters). */
export function resets(model: NeuronModel): boolean {
  return model.fire?.resets !== undefined;
}

/** Whether the model sends bursts (a count of spikes, up to its `burst` bound, in one step). */
export function isBurst(model: NeuronModel): boolean {
  return model.fire?.burst !== undefined;
}

/** Whether the model sends graded spikes (the value, not 1) when it fires. */
export function isGraded(model: NeuronModel): boolean {
  return model.fire?.graded === true;
}
