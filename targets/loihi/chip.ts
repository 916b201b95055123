/**
 * Per-core and per-chip budgets of Loihi 1 and Loihi 2 (loihi.md §4), and the synapse-memory cost model.
 * Owns only constants and the bit count of one axon's synapse row; the partitioner and the fit check
 * read them.
 */

export type ChipKind = 'loihi1' | 'loihi2';
export const CHIP_KINDS: readonly ChipKind[] = ['loihi1', 'loihi2'];

export interface ChipSpec {
  readonly kind: ChipKind;
  readonly coresPerChip: number;
  /** Compartments per core (neurons plus dendritic compartments). */
  readonly compartments: number;
  readonly inAxons: number;
  readonly outAxons: number;
  /** Synapse memory per core, bits. */
  readonly synapseBits: number;
  /** Compartment index bits for a core of this size (nengo-loihi's INDEX_BITS_MAP tops out at 12). */
  readonly indexBits: number;
  /** Where the numbers come from (printed by `snnc check`). */
  readonly source: string;
}

export const CHIPS: Readonly<Record<ChipKind, ChipSpec>> = {
  loihi1: {
    kind: 'loihi1',
    coresPerChip: 128,
    compartments: 1024,
    inAxons: 4096,
    outAxons: 4096,
    synapseBits: 16384 * 64,
    indexBits: 10,
    source: 'Loihi 1: nengo-loihi MAX_COMPARTMENTS/MAX_IN_AXONS/MAX_OUT_AXONS/MAX_SYNAPSE_BITS',
  },
  loihi2: {
    kind: 'loihi2',
    coresPerChip: 128,
    compartments: 4096,
    inAxons: 4096,
    outAxons: 4096,
    synapseBits: 12000 * 64,
    indexBits: 12,
    source: 'Loihi 2: limits are not public; 4096 CUBA neurons and SynMem 12000 words per core from lava-loihi compiler logs, axons as Loihi 1',
  },
};

/** Bits per 64-synapse block header (format index 4 bits + synapse count 6 bits, nengo-loihi). */
const BLOCK_HEADER_BITS = 10;
const SYNAPSES_PER_BLOCK = 64;

/**
 * Synapse memory used by one input axon's row of n synapses: blocks of up to 64 synapses, each with a
 * 10-bit header, `perSynapse` bits per synapse (weight, plus the compartment index in the sparse
 * format), every block rounded up to whole 64-bit words (nengo-loihi's `bits_per_axon`).
 */
export function rowBits(n: number, perSynapse: number): number {
  let bits = 0;
  for (let i = 0; i < n; i += SYNAPSES_PER_BLOCK) {
    const k = Math.min(SYNAPSES_PER_BLOCK, n - i);
    bits += Math.ceil((k * perSynapse + BLOCK_HEADER_BITS) / 64) * 64;
  }
  return bits;
}
