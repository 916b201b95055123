/**
 * Synaptic matrices and master population tables of one core (spinnaker.md §5): for each projection
 * into the core's population, a block with one fixed-length row per source neuron, each row
 * [0, F, 0, word…] (static synapses only), a word being weight:16 | delay | type | post index;
 * blocks 16-byte aligned. The master population table has one entry per source population, sorted by
 * key, with one address per projection. Keys come from keys.ts; nothing here knows chips or routes.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { forEachFanIn } from '../common/synaptic-terms.js';
import { type PartitionKeys, bitsNeeded } from './keys.js';
import { nBits } from './quantise.js';
import type { SpinnakerProjection } from './quantise.js';

export const ROW_HEADER_WORDS = 3;
export const MAX_ROW_LENGTH = 256;
export const MAX_RING_BUFFER_BITS = 14;
export const TYPE_BITS = 1;

export interface RingBufferFormat {
  readonly indexBits: number;
  readonly typeBits: number;
  readonly delayBits: number;
}

export interface PopTableEntry {
  readonly source: string;
  readonly key: number;
  readonly mask: number;
  readonly coreMask: number;
  readonly maskShift: number;
  /** Neurons per source core (row index = core · nNeurons + local). */
  readonly nNeurons: number;
  readonly colourBits: number;
  /** One per projection from this source: row length (synapses) and block offset (words into the core's matrix). */
  readonly addresses: readonly { readonly projection: string; readonly rowLength: number; readonly offset: number }[];
}

export interface CoreSynapses {
  readonly ringBuffer: RingBufferFormat;
  readonly popTable: readonly PopTableEntry[];
  /** All blocks of this core, concatenated. */
  readonly words: Uint32Array;
  readonly synapses: number;
  /** Per source population, the indices of its cores with at least one synapse here (where its packets must go). */
  readonly feeders: ReadonlyMap<string, ReadonlySet<number>>;
}

/** Ring-buffer geometry for a core of `atomsPerCore` neurons whose longest incoming delay is `maxDelay` (§4.1). */
export function ringBufferFormat(atomsPerCore: number, maxDelay: number, population: string): RingBufferFormat {
  const indexBits = nBits(atomsPerCore);
  const delayBits = nBits(maxDelay);
  if (delayBits + TYPE_BITS + indexBits > MAX_RING_BUFFER_BITS) {
    throw new SnncError(`population "${population}": delays up to ${maxDelay} steps need ${delayBits} delay bits, but ${atomsPerCore} neurons per core leave ${MAX_RING_BUFFER_BITS - TYPE_BITS - indexBits} in the ring buffer (use fewer --atoms-per-core)`, ExitCode.doesNotFit);
  }
  return { indexBits, typeBits: TYPE_BITS, delayBits };
}

/** The synaptic word of §5.1. */
export const synapseWord = (w16: number, delay: number, type: number, index: number, f: RingBufferFormat) => ((w16 << 16) | (delay << (f.indexBits + f.typeBits)) | (type << f.indexBits) | index) >>> 0;

/** What a core needs to know of each source population. */
export interface SourceInfo {
  readonly neurons: number;
  readonly atomsPerCore: number;
  readonly keys: PartitionKeys;
}

/** The synapses of core [lo, hi) of `population`, fed by `incoming`. */
export function buildCoreSynapses(
  population: string,
  lo: number,
  hi: number,
  incoming: readonly SpinnakerProjection[],
  format: RingBufferFormat,
  sources: ReadonlyMap<string, SourceInfo>,
  keySpace: { readonly atomBits: number; readonly colourBits: number },
): CoreSynapses {
  const blocks: Uint32Array[] = [];
  const addresses = new Map<string, PopTableEntry['addresses'][number][]>();
  const feeders = new Map<string, Set<number>>();
  let offset = 0;
  let synapses = 0;
  for (const p of incoming) {
    const rows: number[][] = Array.from({ length: sources.get(p.source)!.neurons }, () => []);
    for (let o = lo; o < hi; o++) {
      forEachFanIn(p.geometry, o, (pre, k) => {
        const w = p.weights[k];
        if (w !== 0) rows[pre].push(synapseWord(Math.abs(w), p.delay, w < 0 ? 1 : 0, o - lo, format));
      });
    }
    const rowLength = rows.reduce((m, r) => Math.max(m, r.length), 0);
    if (rowLength > MAX_ROW_LENGTH) throw new SnncError(`projection "${p.name}": a source neuron has ${rowLength} synapses onto one core of "${population}" > ${MAX_ROW_LENGTH} per row`, ExitCode.doesNotFit);
    if (rowLength === 0) continue;
    const stride = rowLength + ROW_HEADER_WORDS;
    const size = Math.ceil((rows.length * stride) / 4) * 4; // 16-byte aligned blocks
    const block = new Uint32Array(size);
    const feeding = feeders.get(p.source) ?? new Set<number>();
    feeders.set(p.source, feeding);
    rows.forEach((r, i) => {
      if (r.length) feeding.add(Math.floor(i / sources.get(p.source)!.atomsPerCore));
      block[i * stride + 1] = r.length;
      block.set(r, i * stride + ROW_HEADER_WORDS);
      synapses += r.length;
    });
    blocks.push(block);
    if (!addresses.has(p.source)) addresses.set(p.source, []);
    addresses.get(p.source)!.push({ projection: p.name, rowLength, offset });
    offset += size;
  }
  const words = new Uint32Array(offset);
  let at = 0;
  for (const b of blocks) {
    words.set(b, at);
    at += b.length;
  }
  const popTable = [...addresses.entries()]
    .map(([source, addr]): PopTableEntry => {
      const s = sources.get(source)!;
      return {
        source,
        key: s.keys.key,
        mask: s.keys.mask,
        coreMask: 2 ** bitsNeeded(s.keys.vertexKeys.length) - 1,
        maskShift: keySpace.atomBits,
        nNeurons: s.atomsPerCore,
        colourBits: keySpace.colourBits,
        addresses: addr,
      };
    })
    .sort((a, b) => a.key - b.key);
  return { ringBuffer: format, popTable, words, synapses, feeders };
}
