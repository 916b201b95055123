/**
 * Synthetic networks for mapping at machine scale (issue 22), described by their geometry and a few
 * seeded kernels, so no dense weight matrix exists at any size: `deepConv(S)` is events [32, S, S] →
 * 4 × (conv 3×3, 32 → 32 channels, same padding → IF), 4 · 32² · (3S − 2)² synapses (about 10⁶ at
 * S = 6, 10⁸ at S = 53, 10⁹ at S = 170). Used by bench/machine-scale.ts and the scale tests.
 */
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../compiler/ir/model.js';
import { tensor } from '../compiler/ir/tensor.js';

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
    input: { shape: [32, side, side], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers,
    output: { layer: from, decoding: 'spike_count' },
    timesteps: 8,
    dt: 0.001,
    metadata: {},
  };
}
