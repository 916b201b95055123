/**
 * Independent, reproducible random streams keyed by integers (a seed, a sample index, a layer index):
 * the key is mixed with murmur3's 32-bit finaliser into a xoroshiro128+ seed, and the first outputs are
 * skipped. Seeded from 32 bits, xoroshiro128+ starts poorly mixed: its first draw is ≈ 1 and its second
 * linear in the seed, so streams keyed by consecutive sample indices would be correlated.
 */
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { fmix32 } from '../ir/fmix32.js';

export function streamGenerator(...key: number[]): RandomGenerator {
  let h = 0x9e3779b9;
  for (const k of key) h = fmix32(h ^ fmix32(k | 0));
  const rng = xoroshiro128plus(h | 0); // a signed 32-bit seed, as it has always been
  for (let i = 0; i < 4; i++) rng.next();
  return rng;
}
