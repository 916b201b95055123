/**
 * murmur3's 32-bit finaliser: a well-mixed unsigned 32-bit hash of a 32-bit integer, the one mixing step
 * that every keyed draw here (sparse rules, LocalZO's perturbations, seeded streams) builds on. It owns
 * only this function.
 */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
