/**
 * spinnaker.md's test networks (§8): one IF_curr_exp neuron with PyNN's defaults fed by a one-neuron
 * spike source, shared by the emulator's and the integer ONNX's tests.
 */
import { INPUT } from '../../compiler/ir/model.js';
import { deriveConstants, toS1615 } from '../../targets/spinnaker/fixed-point.js';
import type { SpinnakerNetwork } from '../../targets/spinnaker/quantise.js';

/** PyNN's IF_curr_exp defaults (spinnaker.md §3.1), raw. */
export const PYNN_DEFAULTS = {
  vInit: toS1615(-65, 'v'),
  vRest: toS1615(-65, 'v_rest'),
  cm: toS1615(1, 'cm'),
  tauM: toS1615(20, 'tau_m'),
  iOffset: 0,
  vReset: toS1615(-65, 'v_reset'),
  tauRefrac: toS1615(0.1, 'tau_refrac'),
  refractTimerInit: 0,
  vThresh: toS1615(-50, 'v_thresh'),
  tauSynE: toS1615(5, 'tau_syn_E'),
  tauSynI: toS1615(5, 'tau_syn_I'),
  timestep: 32768,
};

/** A one-neuron network with PyNN defaults, fed by a one-neuron spike source (events input) through w16 = 16384, shift 1, delay 1. */
export function oneNeuron(overrides: Partial<typeof PYNN_DEFAULTS>, iOffsetNa: number): SpinnakerNetwork {
  const params = { ...PYNN_DEFAULTS, ...overrides };
  const constants = deriveConstants(params);
  const common = { shape: [1], neurons: 1, params, constants, scale: 1, gain: 1, depth: 0, hostCurrent: false };
  return {
    name: 'vector',
    timesteps: 8,
    input: { shape: [1], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    populations: [
      { ...common, name: INPUT, role: 'source', iOffset: null, shift: [0, 0] },
      { ...common, name: 'n', role: 'neuron', iOffset: iOffsetNa ? Int32Array.of(toS1615(iOffsetNa, 'i')) : null, shift: [1, 1] },
    ],
    projections: [{ name: 'syn', source: INPUT, target: 'n', geometry: { kind: 'dense', nIn: 1, nOut: 1 }, weights: Int32Array.of(16384), delay: 1 }],
    output: { population: 'n', decoding: 'spike_count' },
    quantisation: [],
  };
}

/** §8: one input spike at t=0 (w = 1 nA, delay 1, shift 1): [t, V, I_exc] per step. */
export const ONE_SPIKE_V_IEXC: readonly (readonly [number, number, number])[] = [
  [0, -2129920, 0],
  [1, -2129920, 29696],
  [2, -2100956, 24313],
  [3, -2078655, 19906],
  [4, -2061739, 16297],
  [5, -2049168, 13343],
  [6, -2040092, 10924],
  [7, -2033818, 8943],
];

/** §8: i_offset = 1 nA, tau_refrac = 2 ms: V at t = 1…3, the spike steps, V at step 27. */
export const REFRACTORY = { v1to3: [-2097960, -2067558, -2038639], spikes: [27, 57], v27: -1644465 } as const;
