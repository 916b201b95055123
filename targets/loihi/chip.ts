/**
 * Per-core and per-chip budgets of Loihi 1 and Loihi 2 (loihi.md §4), and the synapse-memory cost model:
 * the bits of one input axon's explicit synapse row, and of a core's shared convolution weights. Owns
 * only constants and these two formulas; the partitioner, the descriptor and the fit check read them.
 *
 * Published and assumed. Loihi 1's limits are nengo-loihi's constants (published code). For Loihi 2
 * only some are public: 128 cores per chip (Intel), 4096 CUBA-LIF or SDNN neurons per core and a SynMem
 * budget of 12000 words per core (lava-loihi compiler logs in lava-dl's notebooks). Assumed: 4096 input
 * and 4096 output axons per core (Loihi 1's), 64-bit SynMem words, a 12-bit compartment index, and the
 * shared convolution format below. Loihi 2 compiles convolutions through conv-specific mappings
 * (lava-loihi's ConvInVarModel with x/f splits, loihi.md §5.2); its layout is not public, so this model
 * is an assumption: a core stores the kernel slice of its output channels once (Cout_tile × Cin/groups ×
 * kh × kw weights at 8 bits, packed into 64-bit words) and one 64-bit entry per input axon (the kernel
 * slice of the axon's input channel, and where its position lands in the core's tile), instead of one
 * (compartment index, weight) synapse per (axon, compartment) pair. Input axons stay one per source
 * neuron (population axons, which would carry the channel as an atom, are not modelled).
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
  /** Convolution weights: one explicit synapse per (input axon, compartment), or each core's kernel slice stored once (sharedConvBits). */
  readonly convWeights: 'explicit' | 'shared';
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
    convWeights: 'explicit',
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
    convWeights: 'shared',
    source:
      'Loihi 2: limits are not all public; published: 128 cores per chip, 4096 CUBA neurons and SynMem 12000 words per core (lava-loihi compiler logs); assumed: 64-bit words, axons as Loihi 1, conv kernels stored once per core plus 64 bits per input axon',
  },
};

/** Weight bits of every synapse and shared kernel weight (Lava's 8-bit mantissas). */
export const WEIGHT_BITS = 8;
/** Bits of one input axon's entry into a core's shared convolution weights (assumed: one 64-bit word). */
export const SHARED_AXON_BITS = 64;

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

/**
 * Synapse memory of one shared convolution projection on a core: its kernel slice of `weights` weights
 * packed into whole 64-bit words, plus one entry per input axon.
 */
export function sharedConvBits(weights: number, axons: number): number {
  return Math.ceil((weights * WEIGHT_BITS) / 64) * 64 + axons * SHARED_AXON_BITS;
}
