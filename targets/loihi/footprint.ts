/**
 * Core-tile footprints from the layer geometry, never by enumerating synapses. A population is split
 * into a grid of boxes (channels × rows × columns); on each axis, what a segment of the grid reads of an
 * incoming convolution's source axis (its coverage) does not depend on the other axes, so every tile's
 * compartments, input axons, connections and synapse memory are products of per-axis terms, and a split
 * costs O(segments × axis length) per projection. The same coverage gives the source neurons a tile
 * reads, which the descriptor turns into input axons and the partitioner into the sources' output axons.
 * Synapse memory follows the chip's format (chip.ts): explicit rows, or shared convolution weights.
 * A sparse rule's synapses are not drawn per tile: a tile's input axons, synapse memory and the
 * sources' output axons are bounds from the rule's columns and fan-in (sparseAxons, explicitRowsBound,
 * sparseOutAxons), which the compiled descriptor's exact counts never exceed.
 */
import { sizeOf } from '../../compiler/ir/tensor.js';
import { type ChipSpec, WEIGHT_BITS, rowBits, sharedConvBits } from './chip.js';
import type { LoihiPopulation, LoihiProjection } from './quantise.js';
import type { SparseRule } from '../../compiler/ir/connectivity.js';

/** A box of a population in [C, H, W] coordinates (a vector population is [N, 1, 1]). */
export interface Box {
  readonly c0: number;
  readonly c1: number;
  readonly y0: number;
  readonly y1: number;
  readonly x0: number;
  readonly x1: number;
}

/** What a tile needs of its core, before output axons (which depend on the consumers' tilings). */
export interface TileCost {
  readonly box: Box;
  readonly neurons: number;
  readonly compartments: number;
  readonly inAxons: number;
  /** Connections: (input axon, compartment) pairs its synapses realise. */
  readonly synapses: number;
  readonly synapseBits: number;
}

export type ConvGeometry = Extract<LoihiProjection['geometry'], { kind: 'conv' }>;

/**
 * Bits of a tile's explicit rows of `synapses` synapses from `axons` input axons at most (a bound, for
 * a sparse rule whose rows are not drawn here): a row of r synapses takes ⌈r/64⌉ blocks, each at most
 * 10 header bits and 63 bits of rounding beyond its synapses (chip.ts rowBits), and Σ⌈r/64⌉ ≤ axons +
 * (synapses − axons)/64 grows with the axons, so a bound on them bounds the bits.
 */
export function explicitRowsBound(synapses: number, axons: number, perSynapse: number): number {
  const overhead = 10 + 63;
  return Math.ceil(synapses * perSynapse + overhead * (axons + Math.max(0, synapses - axons) / 64));
}

/**
 * Input axons that targets [t0, t1) of a sparse rule need at most: the sources in their columns' windows
 * (a tile over columns a…b reads columns a + offset − radius … b + offset + radius of the ring), and at
 * most fanIn per target.
 */
export function sparseAxons(rule: SparseRule, t0: number, t1: number): number {
  const w = rule.window;
  const columns = w.blocks === w.count ? w.count : Math.min(w.count, Math.floor((t1 - 1) / w.blockOut) - Math.floor(t0 / w.blockOut) + w.blocks);
  return Math.min((t1 - t0) * rule.fanIn, columns * w.blockIn);
}

/** [lo, hi) on one axis. */
export type Segment = readonly [number, number];

/** What one axis segment of a target box reads of a convolution's source axis. */
export interface AxisReads {
  /** Source coordinates read. */
  readonly covered: number;
  /** Σ over source coordinates of the (target line, kernel tap) pairs that land on it. */
  readonly taps: number;
  /** (taps at a coordinate, coordinates with that many) pairs: the lengths of explicit synapse rows. */
  readonly hist: readonly (readonly [number, number])[];
  /** Prefix sums of the read mask: source coordinates read in [a, b) are prefix[b] − prefix[a]. */
  readonly prefix: Int32Array;
}

/** What one channel segment of a target box reads: the source channels of its groups, and its channels per group. */
export interface ChannelReads {
  readonly source: Segment;
  /** (output channels of the segment in a group, groups with that many) pairs, over the groups it touches. */
  readonly perGroup: readonly (readonly [number, number])[];
}

export type ProjectionReads =
  | { readonly kind: 'dense'; readonly proj: LoihiProjection; readonly nIn: number; readonly offset: number }
  | { readonly kind: 'sparse'; readonly proj: LoihiProjection; readonly rule: SparseRule; readonly axons: readonly number[] }
  | { readonly kind: 'conv'; readonly proj: LoihiProjection; readonly g: ConvGeometry; readonly c: ChannelReads[]; readonly y: AxisReads[]; readonly x: AxisReads[] };

/** A split of a population into a grid of boxes, with what each incoming projection reads per segment. */
export interface SplitReads {
  readonly segments: readonly [Segment[], Segment[], Segment[]];
  /** Target lines of each row and column segment (with a max-pool join, its windows' conv-output lines). */
  readonly lines: readonly [number[], number[]];
  readonly projections: readonly ProjectionReads[];
}

export function populationShape3(p: Pick<LoihiPopulation, 'shape'>): [number, number, number] {
  return p.shape.length === 3 ? [p.shape[0], p.shape[1], p.shape[2]] : [sizeOf(p.shape), 1, 1];
}

export function boxVolume(b: Box): number {
  return (b.c1 - b.c0) * (b.y1 - b.y0) * (b.x1 - b.x0);
}

/** `n` cut into `s` segments of ceil(n/s) (the last one shorter). */
function segmentsOf(n: number, s: number): Segment[] {
  const size = Math.ceil(n / s);
  const r: Segment[] = [];
  for (let a = 0; a < n; a += size) r.push([a, Math.min(n, a + size)]);
  return r;
}

/** Target-grid lines (with multiplicity) that a box's compartments occupy on an axis: its own, or its pool windows'. */
export function gridLines(lo: number, hi: number, pool: LoihiPopulation['pool'], axis: 0 | 1): number[] {
  if (!pool) return Array.from({ length: hi - lo }, (_, i) => lo + i);
  const k = pool.kernel[axis];
  const s = pool.stride[axis];
  const pad = pool.padding[axis];
  const limit = pool.inShape[axis + 1];
  const lines: number[] = [];
  for (let p = lo; p < hi; p++) {
    for (let u = 0; u < k; u++) {
      const r = p * s - pad + u;
      if (r >= 0 && r < limit) lines.push(r);
    }
  }
  return lines;
}

/** What target lines read of a source axis of `size` through a kernel of `k` taps at stride `s` and padding `pad`. */
export function axisReads(lines: readonly number[], k: number, s: number, pad: number, size: number): AxisReads {
  const n = new Int32Array(size);
  for (const r of lines) {
    for (let u = 0; u < k; u++) {
      const y = r * s - pad + u;
      if (y >= 0 && y < size) n[y]++;
    }
  }
  const prefix = new Int32Array(size + 1);
  const counts = new Map<number, number>();
  let taps = 0;
  for (let y = 0; y < size; y++) {
    prefix[y + 1] = prefix[y] + (n[y] > 0 ? 1 : 0);
    taps += n[y];
    if (n[y]) counts.set(n[y], (counts.get(n[y]) ?? 0) + 1);
  }
  return { covered: prefix[size], taps, hist: [...counts], prefix };
}

/**
 * The source channels a channel segment of a convolution's output reads (from source channel `offset`:
 * a part of a split fan-in reads a block of its source), and its output channels per group.
 */
export function channelReads(g: ConvGeometry, [c0, c1]: Segment, offset = 0): ChannelReads {
  const cinPG = g.inShape[0] / g.groups;
  const coutPG = g.outShape[0] / g.groups;
  const g0 = Math.floor(c0 / coutPG);
  const g1 = Math.floor((c1 - 1) / coutPG);
  const counts = new Map<number, number>();
  const add = (k: number, times: number) => {
    const n = Math.min(c1, (k + 1) * coutPG) - Math.max(c0, k * coutPG);
    counts.set(n, (counts.get(n) ?? 0) + times);
  };
  add(g0, 1);
  if (g1 > g0 + 1) add(g0 + 1, g1 - g0 - 1); // the groups between are whole
  if (g1 > g0) add(g1, 1);
  return { source: [offset + g0 * cinPG, offset + (g1 + 1) * cinPG], perGroup: [...counts] };
}

/** Source coordinates in [lo, hi) that the consumer's segments read, summed over its segments. */
export function readsIn(reads: readonly AxisReads[], lo: number, hi: number): number {
  let n = 0;
  for (const r of reads) n += r.prefix[hi] - r.prefix[lo];
  return n;
}

/** Neurons of `box` (in a population of `shape`) whose flat index lies in [lo, hi): what a dense part of a split fan-in reads of it. */
export function flatCount(box: Box, [, H, W]: readonly number[], lo: number, hi: number): number {
  let n = 0;
  for (let c = box.c0; c < box.c1; c++) {
    for (let y = box.y0; y < box.y1; y++) {
      const row = (c * H + y) * W;
      n += Math.max(0, Math.min(hi, row + box.x1) - Math.max(lo, row + box.x0));
    }
  }
  return n;
}

/** Σ of `values` over the neurons of `box` (in a population of `shape`), from their prefix sums over the flat index. */
function flatSum(box: Box, [, H, W]: readonly number[], prefix: Float64Array): number {
  let n = 0;
  for (let c = box.c0; c < box.c1; c++) for (let y = box.y0; y < box.y1; y++) n += prefix[(c * H + y) * W + box.x1] - prefix[(c * H + y) * W + box.x0];
  return n;
}

/** Per rule, prefix sums over its sources of the targets that read each (drawn once: a pass over every synapse). */
const readersOf = new WeakMap<SparseRule, Float64Array>();

function readerPrefix(rule: SparseRule): Float64Array {
  let prefix = readersOf.get(rule);
  if (prefix) return prefix;
  const readers = new Int32Array(rule.nIn);
  const sources = new Int32Array(rule.fanIn);
  for (let j = 0; j < rule.nOut; j++) {
    rule.fillSources(j, sources);
    for (let i = 0; i < sources.length; i++) readers[sources[i]]++;
  }
  prefix = new Float64Array(rule.nIn + 1);
  for (let s = 0; s < rule.nIn; s++) prefix[s + 1] = prefix[s] + readers[s];
  readersOf.set(rule, prefix);
  return prefix;
}

/**
 * Output axons that the neurons of `box` (of a source population of `shape`) need at most towards the
 * consumer tiles (`segments` of the target population, in order) of a sparse rule: one per (neuron,
 * consumer tile reading it), so per neuron at most the targets that read it (drawn) and at most the
 * consumer tiles that meet its targets' columns (2·radius + 1 columns of targets, as one or two runs).
 */
export function sparseOutAxons(box: Box, shape: readonly number[], rule: SparseRule, segments: readonly Segment[]): number {
  const w = rule.window;
  const size = segments[0][1] - segments[0][0];
  const tiles = w.blocks === w.count ? segments.length : Math.min(segments.length, Math.ceil((w.blocks * w.blockOut) / size) + 2);
  return Math.min(flatSum(box, shape, readerPrefix(rule)), boxVolume(box) * tiles);
}

/** Source channels in [lo, hi) that the consumer's channel segments read, summed over its segments. */
export function channelsIn(reads: readonly ChannelReads[], lo: number, hi: number): number {
  let n = 0;
  for (const { source } of reads) n += Math.max(0, Math.min(hi, source[1]) - Math.max(lo, source[0]));
  return n;
}

/**
 * Per-population geometry with the per-axis reads of each split cached (splits share their row and
 * column segments), and the cost of one tile of a split.
 */
export class PopulationGeometry {
  readonly shape: [number, number, number];
  private readonly cache = new Map<string, unknown>();

  constructor(
    readonly pop: LoihiPopulation,
    readonly incoming: readonly LoihiProjection[],
    readonly chip: ChipSpec,
  ) {
    this.shape = populationShape3(pop);
  }

  private cached<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  reads(split: readonly [number, number, number]): SplitReads {
    const segments = split.map((s, a) => this.cached(`s${a}:${s}`, () => segmentsOf(this.shape[a], s))) as [Segment[], Segment[], Segment[]];
    const lineSets = ([0, 1] as const).map((a) => this.cached(`l${a}:${split[a + 1]}`, () => segments[a + 1].map(([lo, hi]) => gridLines(lo, hi, this.pop.pool, a))));
    const projections = this.incoming.map((proj, j): ProjectionReads => {
      const g = proj.geometry;
      const offset = proj.sourceOffset ?? 0;
      if (g.kind === 'dense') return { kind: 'dense', proj, nIn: g.nIn, offset };
      if (g.kind === 'sparse') {
        if (this.shape[1] * this.shape[2] !== 1) throw new Error(`internal error: sparse projection "${proj.name}" onto a population of shape [${this.shape}]`);
        return { kind: 'sparse', proj, rule: g.rule, axons: this.cached(`a${j}:${split[0]}`, () => segments[0].map(([t0, t1]) => sparseAxons(g.rule, t0, t1))) };
      }
      const c = this.cached(`c${j}:${split[0]}`, () => segments[0].map((seg) => channelReads(g, seg, offset / (g.inShape[1] * g.inShape[2]))));
      const [y, x] = ([0, 1] as const).map((a) => this.cached(`r${j}:${a}:${split[a + 1]}`, () => lineSets[a].map((l) => axisReads(l, g.kernel[a], g.stride[a], g.padding[a], g.inShape[a + 1]))));
      return { kind: 'conv', proj, g, c, y, x };
    });
    return { segments, lines: [lineSets[0].map((l) => l.length), lineSets[1].map((l) => l.length)], projections };
  }

  /** The footprint of tile (ci, yi, xi) of a split. */
  tile(r: SplitReads, ci: number, yi: number, xi: number): TileCost {
    const [cs, ys, xs] = [r.segments[0][ci], r.segments[1][yi], r.segments[2][xi]];
    const box: Box = { c0: cs[0], c1: cs[1], y0: ys[0], y1: ys[1], x0: xs[0], x1: xs[1] };
    const nc = cs[1] - cs[0];
    const neurons = boxVolume(box);
    const targets = this.pop.pool ? nc * r.lines[0][yi] * r.lines[1][xi] : neurons;
    let inAxons = 0;
    let synapses = 0;
    let synapseBits = 0;
    for (const p of r.projections) {
      if (p.kind === 'dense') {
        inAxons += p.nIn;
        synapses += p.nIn * targets;
        synapseBits += p.nIn * rowBits(targets, WEIGHT_BITS);
        continue;
      }
      if (p.kind === 'sparse') {
        const n = targets * p.rule.fanIn;
        inAxons += p.axons[ci];
        synapses += n;
        synapseBits += explicitRowsBound(n, p.axons[ci], WEIGHT_BITS + this.chip.indexBits);
        continue;
      }
      const [c, y, x] = [p.c[ci], p.y[yi], p.x[xi]];
      const cinPG = p.g.inShape[0] / p.g.groups;
      const axons = (c.source[1] - c.source[0]) * y.covered * x.covered;
      inAxons += axons;
      synapses += cinPG * nc * y.taps * x.taps;
      synapseBits += this.chip.convWeights === 'shared' ? sharedConvBits(nc * cinPG * p.g.kernel[0] * p.g.kernel[1], axons) : explicitConvBits(c, y, x, cinPG, this.chip);
    }
    return { box, neurons, compartments: neurons + (this.pop.pool ? targets : 0), inAxons, synapses, synapseBits };
  }

  /**
   * Synapse memory that any tiling needs at least, summed over its cores: shared kernels stored once
   * with one axon entry per source neuron read; explicit synapses at their weight bits alone.
   */
  minimumBits(): number {
    const whole = this.reads([1, 1, 1]);
    let bits = 0;
    for (const p of whole.projections) {
      const one = { ...whole, projections: [p] };
      const t = this.tile(one, 0, 0, 0);
      bits += p.kind === 'conv' && this.chip.convWeights === 'shared' ? t.synapseBits : t.synapses * WEIGHT_BITS;
    }
    return bits;
  }
}

/** Explicit rows of a convolution on a core: per group, per source channel, a row per (row, column) read. */
function explicitConvBits(c: ChannelReads, y: AxisReads, x: AxisReads, cinPG: number, chip: ChipSpec): number {
  const perSynapse = WEIGHT_BITS + chip.indexBits;
  let bits = 0;
  for (const [nco, groups] of c.perGroup) {
    for (const [a, na] of y.hist) for (const [b, nb] of x.hist) bits += groups * na * nb * rowBits(a * b * nco, perSynapse);
  }
  return cinPG * bits;
}
