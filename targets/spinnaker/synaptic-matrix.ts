/**
 * Synaptic matrices and master population tables of one core (spinnaker.md §5): for each projection
 * into the core's population, blocks of fixed-length rows, each row [0, F, 0, word…] (static synapses
 * only), a word being weight:16 | delay | type | post index; blocks 16-byte aligned. Rows are built
 * only for the source neurons that reach the core (a conv's receptive field, a dense's all). A source
 * whose rows fit sPyNNaker's application-level layout without much waste (every source core feeds the
 * core, or the rows of those that do not take at most MAX_IDLE_WORDS) has one master-population-table
 * entry keyed by its population, one address per projection, each block one row per neuron of the
 * whole source; otherwise each feeding source core has its own entry (its core key and mask), each
 * block one row per neuron of that core. Entries are sorted by key. The words are written on demand
 * from rows kept since the layout (up to KEPT_ROW_WORDS per compile) or gathered again; a layout for
 * `check` alone (budget 0) only counts each row's synapses. Keys come from keys.ts; nothing here
 * knows chips or routes.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { neuronFanIn } from '../common/synaptic-terms.js';
import { type PartitionKeys, bitsNeeded } from './keys.js';
import { nBits } from './quantise.js';
import { type SpinnakerProjection, sparseRingWeight } from './quantise.js';
import type { SparseRule } from '../../compiler/ir/connectivity.js';

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
  /** Words of all blocks of this core. */
  readonly size: number;
  readonly synapses: number;
  /** Per source population, the indices of its cores with at least one synapse here (where its packets must go). */
  readonly feeders: ReadonlyMap<string, ReadonlySet<number>>;
  /** Writes all blocks of this core (`size` words) into `out` at `at`, which are zero: the rows are gathered again on each call, none is kept. */
  readonly write: (out: Uint32Array, at: number) => void;
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

/** Words an application-level block may spend on rows of source cores that do not feed the core (256 KiB). */
export const MAX_IDLE_WORDS = 2 ** 16;

/** Rows of each block an entry addresses: every neuron of the source (application level), or of one source core. */
export const entryRows = (e: PopTableEntry, sourceNeurons: number): number => Math.min((e.coreMask + 1) * e.nNeurons, sourceNeurons);

/**
 * One projection's synapses onto one core, grouped by source neuron: the source cores that feed the
 * core (ascending) and, per feeding core, one "compact" row per neuron of that core.
 */
interface ProjectionRows {
  readonly projection: SpinnakerProjection;
  readonly cores: readonly number[];
  /** Compact row of each feeding core's first neuron (length cores + 1). */
  readonly rowBase: readonly number[];
  /** Start of each compact row in `words` (length rows + 1). */
  readonly rowStart: Int32Array;
  readonly synapses: number;
  /** The synaptic words row after row (empty when gathered for the layout only). */
  readonly words: Uint32Array;
  readonly rowLength: number;
}

const coreAtoms = (s: SourceInfo, core: number) => Math.min(s.atomsPerCore, s.neurons - core * s.atomsPerCore);

/**
 * Puts each non-zero synapse of `p` onto neurons [lo, hi) into `pres` (its source neuron) and `found`
 * (its word), in target order; returns how many and the lowest and highest source neuron. The loops
 * are written out per geometry (the same visiting order as forEachFanIn): this is the compile's
 * innermost loop, one pass per synapse.
 */
export function collectSynapses(p: SpinnakerProjection, lo: number, hi: number, format: RingBufferFormat, pres: Int32Array, found: Uint32Array): { n: number; first: number; last: number } {
  const { weights, geometry: g } = p;
  const inhibitory = synapseWord(0, 0, 1, 0, format);
  let n = 0;
  let first = Infinity;
  let last = -1;
  const put = (pre: number, w: number, base: number) => {
    pres[n] = pre;
    found[n++] = (base | ((w < 0 ? -w : w) << 16) | (w < 0 ? inhibitory : 0)) >>> 0;
    if (pre < first) first = pre;
    if (pre > last) last = pre;
  };
  if (g.kind === 'dense') {
    for (let o = lo; o < hi; o++) {
      const base = synapseWord(0, p.delay, 0, o - lo, format);
      for (let j = 0, k = o * g.nIn; j < g.nIn; j++, k++) if (weights[k] !== 0) put(j, weights[k], base);
    }
    return { n, first, last };
  }
  if (g.kind === 'sparse') return collectSparse(p, g.rule, lo, hi, format, pres, found);
  const [C, H, W] = g.inShape;
  const [O, OH, OW] = g.outShape;
  const [kh, kw] = g.kernel;
  const cinPG = C / g.groups;
  const outPG = O / g.groups;
  for (let o = lo; o < hi; o++) {
    const base = synapseWord(0, p.delay, 0, o - lo, format);
    const co = Math.floor(o / (OH * OW));
    const y0 = (Math.floor(o / OW) % OH) * g.stride[0] - g.padding[0];
    const x0 = (o % OW) * g.stride[1] - g.padding[1];
    const c0 = Math.floor(co / outPG) * cinPG;
    for (let ci = 0; ci < cinPG; ci++) {
      for (let u = 0; u < kh; u++) {
        const y = y0 + u;
        if (y < 0 || y >= H) continue;
        const row = ((c0 + ci) * H + y) * W;
        const k = ((co * cinPG + ci) * kh + u) * kw;
        for (let v = 0; v < kw; v++) {
          const x = x0 + v;
          if (x >= 0 && x < W && weights[k + v] !== 0) put(row + x, weights[k + v], base);
        }
      }
    }
  }
  return { n, first, last };
}

/**
 * collectSynapses of a sparse rule, its synapses drawn per target in the order drawn (the rows bucket
 * them by source). `put` is written out: its closure cost 14 % of the rows stage here.
 */
function collectSparse(p: SpinnakerProjection, rule: SparseRule, lo: number, hi: number, format: RingBufferFormat, pres: Int32Array, found: Uint32Array): { n: number; first: number; last: number } {
  const inhibitory = synapseWord(0, 0, 1, 0, format);
  const sources = new Int32Array(rule.fanIn);
  const drawn = new Float32Array(rule.fanIn);
  const scale = p.sparseScale!;
  let n = 0;
  let first = Infinity;
  let last = -1;
  for (let o = lo; o < hi; o++) {
    const base = synapseWord(0, p.delay, 0, o - lo, format);
    rule.fill(o, sources, drawn, true);
    for (let i = 0; i < sources.length; i++) {
      const w = sparseRingWeight(scale, drawn[i]);
      if (w === 0) continue;
      const pre = sources[i];
      pres[n] = pre;
      found[n++] = (base | ((w < 0 ? -w : w) << 16) | (w < 0 ? inhibitory : 0)) >>> 0;
      if (pre < first) first = pre;
      if (pre > last) last = pre;
    }
  }
  return { n, first, last };
}

/** The non-zero synapses of `p` onto neurons [lo, hi), each row in target-neuron order (`withWords` false: only where rows start). */
function gatherRows(p: SpinnakerProjection, lo: number, hi: number, format: RingBufferFormat, src: SourceInfo, context: RowContext, withWords: boolean): ProjectionRows {
  const { pres: rowOfSynapse, found } = context.scratch((hi - lo) * neuronFanIn(p.geometry)); // rowOfSynapse: the source neuron, then its compact row
  const { n, first, last } = collectSynapses(p, lo, hi, format, rowOfSynapse, found);
  const { cores, rowBase } = compactRows(rowOfSynapse, n, first, last, src);
  const rowStart = withWords ? new Int32Array(rowBase[cores.length] + 1) : context.counts(rowBase[cores.length] + 1);
  for (let i = 0; i < n; i++) rowStart[rowOfSynapse[i] + 1]++;
  let rowLength = 0;
  for (let r = 1; r < rowStart.length; r++) {
    rowLength = Math.max(rowLength, rowStart[r]);
    rowStart[r] += rowStart[r - 1];
  }
  const words = new Uint32Array(withWords ? n : 0);
  if (withWords) {
    const cursor = rowStart.slice(0, -1);
    for (let i = 0; i < n; i++) words[cursor[rowOfSynapse[i]]++] = found[i];
  }
  return { projection: p, cores, rowBase, rowStart, synapses: n, words, rowLength };
}

/**
 * The source cores that `pres[0…n)` (lowest `first`, highest `last`) come from (ascending) and their
 * compact rows; each pre becomes its compact row. Work and memory scale with the span of source cores
 * reached, not the whole source.
 */
function compactRows(pres: Int32Array, n: number, first: number, last: number, src: SourceInfo): { cores: number[]; rowBase: number[] } {
  if (n === 0) return { cores: [], rowBase: [0] };
  const apc = src.atomsPerCore;
  const firstCore = Math.floor(first / apc);
  const slot = new Int32Array(Math.floor(last / apc) - firstCore + 1).fill(-1);
  for (let i = 0; i < n; i++) slot[((pres[i] / apc) | 0) - firstCore] = 0;
  const cores: number[] = [];
  const rowBase = [0];
  slot.forEach((s, i) => {
    if (s < 0) return;
    const c = firstCore + i;
    slot[i] = rowBase[cores.length] - c * apc; // compact row = pre + slot[core − firstCore]
    cores.push(c);
    rowBase.push(rowBase[rowBase.length - 1] + coreAtoms(src, c));
  });
  for (let i = 0; i < n; i++) pres[i] += slot[((pres[i] / apc) | 0) - firstCore];
  return { cores, rowBase };
}

/** Per source, the union of the source cores feeding the core over its projections. */
function feedingCores(gathered: readonly ProjectionRows[]): Map<string, Set<number>> {
  const feeders = new Map<string, Set<number>>();
  for (const g of gathered) {
    const set = feeders.get(g.projection.source) ?? new Set<number>();
    feeders.set(g.projection.source, set);
    for (const c of g.cores) set.add(c);
  }
  return feeders;
}

/** Sources whose blocks keep the application-level layout: few enough words in rows of idle source cores. */
function applicationLevel(gathered: readonly ProjectionRows[], feeders: ReadonlyMap<string, ReadonlySet<number>>, sources: ReadonlyMap<string, SourceInfo>): Set<string> {
  const out = new Set<string>();
  for (const [source, cores] of feeders) {
    const s = sources.get(source)!;
    let idleRows = s.neurons;
    for (const c of cores) idleRows -= coreAtoms(s, c);
    const stride = gathered.filter((g) => g.projection.source === source).reduce((sum, g) => sum + g.rowLength + ROW_HEADER_WORDS, 0);
    if (idleRows * stride <= MAX_IDLE_WORDS) out.add(source);
  }
  return out;
}

/** One block: the rows of feeding cores `from` ≤ i < `to` of `g`, at `offset` words into the core's matrix. */
interface Block {
  readonly g: ProjectionRows;
  readonly from: number;
  readonly to: number;
  readonly rows: number;
  readonly rowLength: number;
  readonly offset: number;
  /** Rows indexed by neuron of the whole source (else of the block's one source core). */
  readonly application: boolean;
}

/** Where each block goes and the master population table that finds it, in projection order. */
function layOut(gathered: readonly ProjectionRows[], sources: ReadonlyMap<string, SourceInfo>, keySpace: { readonly atomBits: number; readonly colourBits: number }) {
  const feeders = feedingCores(gathered);
  const application = applicationLevel(gathered, feeders, sources);
  type Entry = PopTableEntry & { addresses: PopTableEntry['addresses'][number][] };
  const entries = new Map<string, Entry>();
  const blocks: Block[] = [];
  let size = 0;
  const add = (entry: Entry, g: ProjectionRows, from: number, to: number, rows: number, rowLength: number, application: boolean) => {
    entry.addresses.push({ projection: g.projection.name, rowLength, offset: size });
    blocks.push({ g, from, to, rows, rowLength, offset: size, application });
    size += Math.ceil((rows * (rowLength + ROW_HEADER_WORDS)) / 4) * 4; // 16-byte aligned blocks
  };
  const { atomBits: maskShift, colourBits } = keySpace;
  for (const g of gathered) {
    const source = g.projection.source;
    const s = sources.get(source)!;
    if (application.has(source)) {
      const coreMask = 2 ** bitsNeeded(s.keys.vertexKeys.length) - 1;
      let entry = entries.get(source);
      if (!entry) entries.set(source, (entry = { source, key: s.keys.key, mask: s.keys.mask, coreMask, maskShift, nNeurons: s.atomsPerCore, colourBits, addresses: [] }));
      add(entry, g, 0, g.cores.length, s.neurons, g.rowLength, true);
      continue;
    }
    g.cores.forEach((c, i) => {
      let rowLength = 0;
      for (let r = g.rowBase[i]; r < g.rowBase[i + 1]; r++) rowLength = Math.max(rowLength, g.rowStart[r + 1] - g.rowStart[r]);
      const name = `${source}#${c}`;
      let entry = entries.get(name);
      if (!entry) entries.set(name, (entry = { source, key: s.keys.vertexKeys[c], mask: s.keys.vertexMask, coreMask: 0, maskShift, nNeurons: coreAtoms(s, c), colourBits, addresses: [] }));
      add(entry, g, i, i + 1, coreAtoms(s, c), rowLength, false);
    });
  }
  const popTable: PopTableEntry[] = [...entries.values()].sort((a, b) => a.key - b.key);
  return { popTable, blocks, size, feeders };
}

/** The core's matrix at `base` words into `out`: every block's rows (headers and synaptic words) at its offset. */
function writeBlocks(blocks: readonly Block[], out: Uint32Array, base: number, sources: ReadonlyMap<string, SourceInfo>): void {
  for (const b of blocks) {
    const { g } = b;
    const stride = b.rowLength + ROW_HEADER_WORDS;
    const atomsPerCore = sources.get(g.projection.source)!.atomsPerCore;
    for (let i = b.from; i < b.to; i++) {
      const first = b.application ? g.cores[i] * atomsPerCore : 0;
      for (let r = g.rowBase[i]; r < g.rowBase[i + 1]; r++) {
        const at = base + b.offset + (first + r - g.rowBase[i]) * stride;
        out[at + 1] = g.rowStart[r + 1] - g.rowStart[r];
        for (let j = g.rowStart[r], k = at + ROW_HEADER_WORDS; j < g.rowStart[r + 1]; j++, k++) out[k] = g.words[j];
      }
    }
  }
}

/**
 * Words of gathered rows the cores of one compile keep for writing spinnaker.bin (256 MiB); the cores
 * past it gather theirs again when written, so memory stays bounded at the cost of time. A compile
 * that will not write (`snnc check`) sets the budget to 0: then cores gather only where rows start.
 */
export const KEPT_ROW_WORDS = 2 ** 26;

/** What the cores of one compile share: the budget of kept rows left, and scratch space for gathering. */
export class RowContext {
  keptWords = KEPT_ROW_WORDS;
  private pres = new Int32Array(0);
  private found = new Uint32Array(0);
  private rowCounts = new Int32Array(0);
  private countsUsed = 0;

  /** Frees the row counts handed out for the previous core. */
  nextCore(): void {
    this.countsUsed = 0;
  }

  /** `n` zeroed counters that stay valid until `nextCore` (rows gathered for the layout only). */
  counts(n: number): Int32Array {
    if (this.countsUsed + n > this.rowCounts.length) {
      this.rowCounts = new Int32Array(Math.max(2 * this.rowCounts.length, n)); // earlier views keep the old buffer
      this.countsUsed = 0;
    }
    const out = this.rowCounts.subarray(this.countsUsed, this.countsUsed + n).fill(0);
    this.countsUsed += n;
    return out;
  }

  /** Room for `n` synapses (source neuron, word), overwritten by the next call. */
  scratch(n: number): { pres: Int32Array; found: Uint32Array } {
    if (this.pres.length < n) {
      this.pres = new Int32Array(n);
      this.found = new Uint32Array(n);
    }
    return { pres: this.pres, found: this.found };
  }
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
  context: RowContext,
): CoreSynapses {
  const gather = (withWords: boolean) =>
    incoming
      .map((p) => {
        const g = gatherRows(p, lo, hi, format, sources.get(p.source)!, context, withWords);
        if (g.rowLength > MAX_ROW_LENGTH) throw new SnncError(`projection "${p.name}": a source neuron has ${g.rowLength} synapses onto one core of "${population}" > ${MAX_ROW_LENGTH} per row`, ExitCode.doesNotFit);
        return g;
      })
      .filter((g) => g.rowLength > 0);
  const mostWords = incoming.reduce((n, p) => n + (hi - lo) * neuronFanIn(p.geometry), 0);
  const keep = mostWords <= context.keptWords; // within the budget even if every synapse is there
  context.nextCore();
  const gathered = gather(keep);
  const { popTable, blocks, size, feeders } = layOut(gathered, sources, keySpace);
  const synapses = gathered.reduce((n, g) => n + g.synapses, 0);
  const held = gathered.reduce((n, g) => n + g.words.length + g.rowStart.length, 0);
  const kept = keep && held <= context.keptWords ? blocks : undefined;
  if (kept) context.keptWords -= held;
  return { ringBuffer: format, popTable, size, synapses, feeders, write: (out, at) => writeBlocks(kept ?? layOut(gather(true), sources, keySpace).blocks, out, at, sources) };
}
