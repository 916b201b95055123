/**
 * Synthetic networks for mapping at machine scale (issue 22), described by their geometry and a few
 * seeded kernels or by sparse connectivity rules (compiler/ir/connectivity.ts), so no dense weight
 * matrix exists at any size. Used by bench/machine-scale.ts and the scale tests:
 * - `deepConv(S)`: events [32, S, S] → 4 × (conv 3×3, 32 → 32 channels, same padding → IF),
 *   4 · 32² · (3S − 2)² synapses (about 10⁶ at S = 6, 10⁸ at S = 53, 10⁹ at S = 170);
 * - `sparseRecurrent(S)`: a wide random-sparse recurrent population, events [1 000·S] → IF [10 000·S]
 *   reading 500 random inputs and 500 random neurons of its own (the previous step) → a sparse readout
 *   of 10 (fan-in 100): about 10⁷·S synapses;
 * - `corticalColumns(C)`: C columns on a ring, each with layers L4 (1 000 IF), L2/3 (1 000) and L5 (500):
 *   L4 reads 200 inputs of its column; L2/3 reads 300 L4 neurons of its column and 200 L2/3 neurons of
 *   its column and the two next to it (recurrence); L5 reads 200 L2/3 neurons of the nearby columns and
 *   100 of the three columns across the ring (long-range); a readout of 10 reads 100 L5 neurons. About
 *   8.5·10⁵·C synapses.
 */
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../compiler/ir/model.js';
import { tensor } from '../compiler/ir/tensor.js';

const EVENTS = { encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } } as const;
const IF = { params: { threshold: 1, v0: 0 }, reset: 'zero' } as const;
/** A sparse projection with seeded weights mostly excitatory, as in the deep conv network. */
const sparse = (name: string, from: string, size: number, fanIn: number, seed: number, columns?: L.Sparse['columns']) =>
  L.sparse({ name, inputs: [from], size, fanIn, seed, weight: { low: -0.03, high: 0.05 }, ...(columns ? { columns } : {}) });

export function deepConv(side: number): SnnModel {
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const w = (shape: number[]) => tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() >= 0 ? 0.02 : -0.02) + rand() * 0.2));
  const same = { stride: [1, 1] as const, padding: [1, 1, 1, 1] as const, groups: 1 };
  const layers: L.Layer[] = [];
  let from = INPUT;
  for (let i = 1; i <= 4; i++) {
    layers.push(L.conv2d({ name: `c${i}`, inputs: [from], weight: w([32, 32, 3, 3]), ...same }));
    layers.push(L.ifNeuron({ name: `n${i}`, inputs: [`c${i}`], threshold: 1, reset: 'zero', v0: 0 }));
    from = `n${i}`;
  }
  return {
    name: `deep-conv-${side}`,
    input: { shape: [32, side, side], ...EVENTS },
    layers,
    output: { layer: from, decoding: 'spike_count' },
    timesteps: 8,
    dt: 0.001,
    metadata: {},
  };
}

export function sparseRecurrent(scale: number): SnnModel {
  const n = Math.round(10_000 * scale);
  const inputs = Math.round(1_000 * scale);
  return {
    name: `sparse-recurrent-${scale}`,
    input: { shape: [inputs], ...EVENTS },
    layers: [
      sparse('ff', INPUT, n, Math.min(500, inputs), 1),
      sparse('rec', 'pop', n, 500, 2),
      L.add({ name: 'current', inputs: ['ff', 'rec'] }),
      L.neuron('if', { name: 'pop', inputs: ['current'], ...IF }),
      sparse('readout', 'pop', 10, 100, 3),
    ],
    output: { layer: 'readout', decoding: 'accumulate' },
    timesteps: 8,
    dt: 0.001,
    metadata: {},
  };
}

export function corticalColumns(count: number): SnnModel {
  const local = (radius: number, offset = 0) => ({ count, radius, ...(offset ? { offset } : {}) });
  const layers: L.Layer[] = [
    sparse('l4_in', INPUT, 1000 * count, 200, 11, local(0)),
    L.neuron('if', { name: 'l4', inputs: ['l4_in'], ...IF }),
    sparse('l23_ff', 'l4', 1000 * count, 300, 12, local(0)),
    sparse('l23_rec', 'l23', 1000 * count, 200, 13, local(1)),
    L.add({ name: 'l23_in', inputs: ['l23_ff', 'l23_rec'] }),
    L.neuron('if', { name: 'l23', inputs: ['l23_in'], ...IF }),
    sparse('l5_local', 'l23', 500 * count, 200, 14, local(1)),
    sparse('l5_long', 'l23', 500 * count, 100, 15, local(1, Math.floor(count / 2))),
    L.add({ name: 'l5_in', inputs: ['l5_local', 'l5_long'] }),
    L.neuron('if', { name: 'l5', inputs: ['l5_in'], ...IF }),
    sparse('readout', 'l5', 10, 100, 16),
  ];
  return { name: `cortical-columns-${count}`, input: { shape: [250 * count], ...EVENTS }, layers, output: { layer: 'readout', decoding: 'accumulate' }, timesteps: 8, dt: 0.001, metadata: {} };
}
