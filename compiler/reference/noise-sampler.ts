/**
 * Seeded draws of membrane noise ε (compiler/ir/noise.ts) for Monte-Carlo runs of T=1 noise-trained
 * models: one generator per (seed, layer, sample), so a sample's noise does not depend on its batch.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

import type { MembraneNoise } from '../ir/noise.js';
import { streamGenerator } from './seeded-rng.js';

export type NoiseSource = () => number;

/** A stream of ε for one neuron layer and one sample. */
export function noiseSource(noise: Pick<MembraneNoise, 'dist' | 'mean' | 'std'>, seed: number, layerIndex: number, sample: number): NoiseSource {
  const rng = streamGenerator(seed, layerIndex, sample);
  const { mean, std } = noise;
  if (noise.dist === 'uniform') {
    const w = std * Math.sqrt(12);
    return () => mean + w * (uniformFloat64(rng) - 0.5);
  }
  // Box–Muller, both values of each pair used.
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return mean + std * z;
    }
    const u = 1 - uniformFloat64(rng); // (0, 1]
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * uniformFloat64(rng);
    spare = r * Math.sin(a);
    return mean + std * r * Math.cos(a);
  };
}
