/**
 * PACMAN's zoned routing-key allocator (spinnaker.md §6.4): every population that sends spikes is one
 * partition; its k-th core's neurons send key = ((partition << machineBits) | k) << atomBits, plus
 * (neuron << colourBits) | (t mod 2^colourBits) (§6.3). It knows nothing of chips or routes.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';

/** allocator_bits_needed: 0 for 0 or 1, else ⌈log2 n⌉. */
export const bitsNeeded = (n: number) => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));
export const maskAbove = (bits: number) => (bits >= 32 ? 0 : (0xffffffff << bits) >>> 0);

export interface PartitionKeys {
  readonly population: string;
  /** Key and mask of the whole partition (the master population table's entry). */
  readonly key: number;
  readonly mask: number;
  /** Per core (in slice order): base key; all share `vertexMask`. */
  readonly vertexKeys: readonly number[];
  readonly vertexMask: number;
}

export interface KeySpace {
  readonly colourBits: number;
  readonly appBits: number;
  readonly machineBits: number;
  readonly atomBits: number;
  readonly partitions: readonly PartitionKeys[];
}

/** `senders`: per sending population (graph order), the atoms of each of its cores. */
export function allocateKeys(senders: readonly { population: string; coreAtoms: readonly number[] }[], colourBits: number): KeySpace {
  const apBits = bitsNeeded(senders.length);
  let maxAtomBits = 0;
  let maxMachineBits = 0;
  for (const s of senders) {
    const atomBits = bitsNeeded(s.coreAtoms.reduce((a, b) => Math.max(a, b), 0) * 2 ** colourBits);
    const machineBits = bitsNeeded(s.coreAtoms.length);
    maxAtomBits = Math.max(maxAtomBits, atomBits);
    maxMachineBits = Math.max(maxMachineBits, machineBits);
    if (apBits + machineBits + atomBits > 32) {
      throw new SnncError(`population "${s.population}": keys need ${apBits} partition + ${machineBits} core + ${atomBits} neuron/colour bits > 32 (use fewer colour bits or fewer cores)`, ExitCode.doesNotFit);
    }
  }
  if (apBits + maxMachineBits + maxAtomBits > 32) {
    throw new SnncError(`routing keys need ${apBits} partition + ${maxMachineBits} core + ${maxAtomBits} neuron/colour bits > 32`, ExitCode.doesNotFit);
  }
  const appBits = Math.max(apBits, 32 - maxMachineBits - maxAtomBits);
  const machineBits = maxMachineBits;
  const atomBits = 32 - appBits - machineBits;
  const partitions = senders.map((s, i): PartitionKeys => {
    const vertexKeys = s.coreAtoms.map((_, k) => ((((i << machineBits) | k) << atomBits) >>> 0));
    return { population: s.population, key: vertexKeys[0], mask: maskAbove(machineBits + atomBits), vertexKeys, vertexMask: maskAbove(atomBits) };
  });
  return { colourBits, appBits, machineBits, atomBits, partitions };
}
