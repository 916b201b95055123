/**
 * Partitioner: splits each population into core-sized tiles (a grid of channel × row × column boxes, as
 * NxTF does for conv layers; peers.md §6.1) under the per-core budgets of compartments, input axons and
 * synapse memory (footprint.ts, from the geometry) and of output axons, choosing the splits of all
 * populations jointly. A tile sends one output axon per (neuron, destination core reading it), so its
 * output axons depend on how its consumers are split: a consumer's cheapest split can force its sources
 * into smaller tiles. The search runs from the output back to the input (as NxTF's), with a beam of the
 * cheapest partial partitions (cores, then input axons: the output axons the sources still owe); each
 * population tries its splits that fit their own budgets in order of cores, then input axons. The beam
 * always keeps the per-layer path (each population's first split that fits beside its consumers), so
 * the joint result never needs more cores than it. One population per core; cores are numbered in layer
 * order and filled chip by chip.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import type { ChipSpec } from './chip.js';
import { type SplitReads, type TileCost, PopulationGeometry, boxVolume, channelsIn, flatCount, readsIn, sparseOutAxons } from './footprint.js';
import type { LoihiNetwork, LoihiProjection } from './quantise.js';

export { type Box, populationShape3 } from './footprint.js';

export interface Tile extends TileCost {
  readonly population: string;
  readonly outAxons: number;
}

export interface PopulationPartition {
  readonly population: string;
  /** Splits along channels, rows, columns. */
  readonly split: readonly [number, number, number];
  readonly tiles: readonly Tile[];
  /** Cores this population needs at least: no split fits its own budgets with fewer, nor do its resource totals. */
  readonly lowerBound: number;
  /** Cores its resource totals need whatever the tiling: compartments, input axons and synapse memory over the per-core limits. */
  readonly volumeBound: number;
}

export interface Partition {
  readonly chip: ChipSpec;
  readonly populations: readonly PopulationPartition[];
  /** All tiles in core order. */
  readonly tiles: readonly Tile[];
  readonly cores: number;
  readonly chips: number;
  /** Σ of the per-population lower bounds (one population per core, as here). */
  readonly lowerBound: number;
  /** Σ of the per-population volume bounds. */
  readonly volumeBound: number;
}

export interface PartitionOptions {
  /** Partial partitions kept per population (default 8; 1 is the per-layer choice). */
  readonly beam?: number;
}

const BEAM = 8;
/** Splits a partial partition tries per population (children per beam entry), and how far down its list. */
const CHILDREN = 4;
const WALK = 64;

interface Candidate {
  readonly split: readonly [number, number, number];
  readonly reads: SplitReads;
  readonly tiles: readonly TileCost[];
  readonly cores: number;
  readonly inAxons: number;
}

interface Violation {
  readonly layer: string;
  readonly resource: string;
  readonly needed: number;
  readonly limit: number;
}

/** Split counts s in 1…n that give distinct tile sizes ceil(n/s). */
function distinctSplits(n: number): number[] {
  const out: number[] = [];
  let last = -1;
  for (let s = 1; s <= n; s++) {
    const size = Math.ceil(n / s);
    if (size !== last) out.push(s);
    last = size;
  }
  return out;
}

function overflow(t: TileCost, chip: ChipSpec): Omit<Violation, 'layer'> | undefined {
  if (t.compartments > chip.compartments) return { resource: 'compartments', needed: t.compartments, limit: chip.compartments };
  if (t.inAxons > chip.inAxons) return { resource: 'input axons', needed: t.inAxons, limit: chip.inAxons };
  if (t.synapseBits > chip.synapseBits) return { resource: 'synapse memory bits', needed: t.synapseBits, limit: chip.synapseBits };
  return undefined;
}

/**
 * The splits of one population that fit their own budgets, in order of cores then input axons, found
 * lazily one core count at a time; the first one's cores bound the population from below.
 */
class Splits {
  private readonly pending: [number, number, number][] = [];
  private readonly found: Candidate[] = [];
  /** The overflow of the smallest tile tried, for the message when nothing fits. */
  private worst?: { readonly v: Violation; readonly neurons: number };
  readonly volumeBound: number;

  constructor(readonly geo: PopulationGeometry) {
    const whole = geo.tile(geo.reads([1, 1, 1]), 0, 0, 0);
    const chip = geo.chip;
    this.volumeBound = Math.max(1, Math.ceil(whole.compartments / chip.compartments), Math.ceil(whole.inAxons / chip.inAxons), Math.ceil(geo.minimumBits() / chip.synapseBits));
    const [C, H, W] = geo.shape;
    const least = Math.min(this.volumeBound, C * H * W); // single neurons at least, to name what overflows
    for (const sc of distinctSplits(C)) for (const sh of distinctSplits(H)) for (const sw of distinctSplits(W)) if (sc * sh * sw >= least) this.pending.push([sc, sh, sw]);
    this.pending.sort((a, b) => b[0] * b[1] * b[2] - a[0] * a[1] * a[2] || a[0] - b[0] || a[1] - b[1]); // popped from the end
  }

  /** The i-th split that fits, or undefined when there are no more. */
  at(i: number): Candidate | undefined {
    const cores = (s: readonly number[]) => s[0] * s[1] * s[2];
    while (this.found.length <= i && this.pending.length) {
      const n = cores(this.pending[this.pending.length - 1]);
      const group: Candidate[] = [];
      while (this.pending.length && cores(this.pending[this.pending.length - 1]) === n) {
        const c = this.evaluate(this.pending.pop()!);
        if (c) group.push(c);
      }
      this.found.push(...group.sort((a, b) => a.inAxons - b.inAxons));
    }
    return this.found[i];
  }

  /** A refusal naming the layer, the resource, the limit and the excess, when no split fits. */
  error(): SnncError {
    const { v, neurons } = this.worst!;
    return new SnncError(
      `layer "${v.layer}": does not fit a ${this.geo.chip.kind} core even when split into ${neurons === 1 ? 'single neurons' : `tiles of ${neurons} neurons`}: ${v.resource} ${v.needed} > limit ${v.limit} (over by ${v.needed - v.limit})`,
      ExitCode.doesNotFit,
    );
  }

  private evaluate(split: [number, number, number]): Candidate | undefined {
    const reads = this.geo.reads(split);
    const [nc, ny, nx] = reads.segments.map((s) => s.length);
    // A full-size interior tile first: it overflows first, if any does.
    const order = [[0, (ny - 1) >> 1, (nx - 1) >> 1]];
    for (let c = 0; c < nc; c++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) order.push([c, y, x]);
    const tiles: TileCost[] = [];
    for (const [k, [c, y, x]] of order.entries()) {
      const t = this.geo.tile(reads, c, y, x);
      const v = overflow(t, this.geo.chip);
      if (v) {
        if (!this.worst || t.neurons <= this.worst.neurons) this.worst = { v: { layer: this.geo.pop.name, ...v }, neurons: t.neurons };
        return undefined;
      }
      if (k > 0) tiles.push(t);
    }
    return { split, reads, tiles, cores: tiles.length, inAxons: tiles.reduce((s, t) => s + t.inAxons, 0) };
  }
}

/** A consumer of a population: a projection out of it and the index of its target. */
interface Consumer {
  readonly proj: LoihiProjection;
  readonly target: number;
}

/** Output axons of each tile of `cand` (a split of a population of `shape`), given the chosen splits of its consumers. */
function outAxons(cand: Candidate, shape: readonly number[], consumers: readonly Consumer[], choice: readonly (Candidate | undefined)[]): number[] {
  const [cs, ys, xs] = cand.reads.segments;
  const out = new Array<number>(cand.tiles.length).fill(0);
  for (const { proj, target } of consumers) {
    const dst = choice[target]!;
    const p = dst.reads.projections.find((q) => q.proj === proj)!;
    if (p.kind === 'dense') {
      const whole = p.offset === 0 && p.nIn === shape[0] * shape[1] * shape[2];
      cand.tiles.forEach((t, k) => (out[k] += (whole ? boxVolume(t.box) : flatCount(t.box, shape, p.offset, p.offset + p.nIn)) * dst.cores));
      continue;
    }
    if (p.kind === 'sparse') {
      cand.tiles.forEach((t, k) => (out[k] += sparseOutAxons(t.box, shape, p.rule, dst.reads.segments[0])));
      continue;
    }
    const perC = cs.map(([lo, hi]) => channelsIn(p.c, lo, hi));
    const perY = ys.map(([lo, hi]) => readsIn(p.y, lo, hi));
    const perX = xs.map(([lo, hi]) => readsIn(p.x, lo, hi));
    let k = 0;
    for (const c of perC) for (const y of perY) for (const x of perX) out[k++] += c * y * x;
  }
  return out;
}

/** Output axons a candidate's tiles need from the source of its `j`-th incoming projection (Σ over tiles). */
function demand(cand: Candidate, j: number): number {
  const p = cand.reads.projections[j];
  if (p.kind === 'dense') return p.nIn * cand.cores;
  if (p.kind === 'sparse') return p.axons.reduce((a, b) => a + b, 0);
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  return sum(p.c.map((c) => c.source[1] - c.source[0])) * sum(p.y.map((r) => r.covered)) * sum(p.x.map((r) => r.covered));
}

interface State {
  readonly choice: readonly (Candidate | undefined)[];
  readonly cores: number;
  readonly inAxons: number;
  /** Output axons each population owes to its consumers split so far. */
  readonly owed: readonly number[];
  /** Cores so far plus what the populations not split yet need at least: their lower bound, or their owed output axons over the per-core limit. */
  readonly estimate: number;
}

/** The search's fixed inputs: each population's splits and consumers, and where output axons are checked. */
interface Network {
  readonly net: LoihiNetwork;
  readonly splits: readonly Splits[];
  readonly consumers: readonly (readonly Consumer[])[];
  /** Population indices of each population's incoming projections' sources (−1: the input). */
  readonly sources: readonly (readonly number[])[];
  /** checkAt[i]: populations whose output axons are known once population i is split (it and all its consumers are). */
  readonly checkAt: readonly (readonly number[])[];
  readonly limit: number;
}

function network(net: LoihiNetwork, splits: readonly Splits[]): Network {
  const index = new Map(net.populations.map((p, i) => [p.name, i]));
  const consumers: Consumer[][] = net.populations.map(() => []);
  for (const proj of net.projections) if (index.has(proj.source)) consumers[index.get(proj.source)!].push({ proj, target: index.get(proj.target)! });
  const checkAt: number[][] = net.populations.map(() => []);
  consumers.forEach((list, x) => list.length && checkAt[Math.min(x, ...list.map((c) => c.target))].push(x));
  const sources = splits.map((s) => s.geo.incoming.map((proj) => index.get(proj.source) ?? -1));
  return { net, splits, consumers, sources, checkAt, limit: splits[0].geo.chip.outAxons };
}

/** State `s` with population i split as `cand`. */
function child(n: Network, s: State, i: number, cand: Candidate): State {
  const choice = s.choice.slice();
  choice[i] = cand;
  const owed = s.owed.slice();
  n.sources[i].forEach((src, j) => src >= 0 && (owed[src] += demand(cand, j)));
  const cores = s.cores + cand.cores;
  let estimate = cores;
  for (let u = 0; u < i; u++) estimate += Math.max(n.splits[u].at(0)!.cores, Math.ceil(owed[u] / n.limit));
  return { choice, cores, inAxons: s.inAxons + cand.inAxons, owed, estimate };
}

/**
 * The children of `s` at step i: its splits of population i whose output axons (and those of any
 * population checked at this step) fit, in order of cores, each with fewer input axons than the ones
 * before; the first only when `many` is false.
 */
function children(n: Network, s: State, i: number, many: boolean, refuse: (v: Violation) => void): State[] {
  const kids: State[] = [];
  for (let k = 0, cand = n.splits[i].at(0); cand && kids.length < (many ? CHILDREN : 1) && (!kids.length || k < WALK); cand = n.splits[i].at(++k)) {
    if (kids.length && cand.inAxons >= kids[kids.length - 1].choice[i]!.inAxons) continue;
    const kid = child(n, s, i, cand);
    const most = (x: number) => outAxons(kid.choice[x]!, n.splits[x].geo.shape, n.consumers[x], kid.choice).reduce((a, b) => Math.max(a, b), 0);
    const over = n.checkAt[i].map((x) => ({ x, needed: most(x) })).find((o) => o.needed > n.limit);
    if (over) refuse({ layer: n.net.populations[over.x].name, resource: 'output axons', needed: over.needed, limit: n.limit });
    else kids.push(kid);
  }
  return kids;
}

/**
 * The search: population i is split at step i, from the last to the first, keeping the `width` states
 * of least estimate; the first state is always the per-layer path. A population's output axons are
 * checked at the step where it and all its consumers are split (its own, or a consumer's earlier in layer
 * order, for a cycle).
 */
function search(n: Network, width: number): State {
  const { net, splits } = n;
  const pops = net.populations.length;
  const misfit = splits.find((s) => !s.at(0));
  if (misfit) throw misfit.error();
  let beam: State[] = [{ choice: new Array(pops).fill(undefined), cores: 0, inAxons: 0, owed: new Array(pops).fill(0), estimate: 0 }];
  for (let i = pops - 1; i >= 0; i--) {
    let best: Violation | undefined;
    const refuse = (v: Violation) => void ((!best || v.needed < best.needed) && (best = v));
    const all = beam.flatMap((s) => children(n, s, i, width > 1, refuse));
    if (!all.length) throw new SnncError(`layer "${best!.layer}": output axons ${best!.needed} > limit ${n.limit} (over by ${best!.needed - n.limit}) even after splitting`, ExitCode.doesNotFit);
    // The per-layer path (the first state's first child) stays; the most promising of the others join it.
    beam = [all[0], ...all.slice(1).sort((a, b) => a.estimate - b.estimate || a.cores - b.cores || a.inAxons - b.inAxons)].slice(0, width);
  }
  return beam.reduce((a, b) => (b.cores < a.cores || (b.cores === a.cores && b.inAxons < a.inAxons) ? b : a));
}

export function partitionLoihiCores(net: LoihiNetwork, chip: ChipSpec, options: PartitionOptions = {}): Partition {
  const incoming = new Map<string, LoihiProjection[]>(net.populations.map((p) => [p.name, []]));
  for (const proj of net.projections) incoming.get(proj.target)!.push(proj);
  const splits = net.populations.map((p) => new Splits(new PopulationGeometry(p, incoming.get(p.name)!, chip)));
  const n = network(net, splits);
  const state = search(n, Math.max(1, options.beam ?? BEAM));
  const populations = net.populations.map((p, i): PopulationPartition => {
    const cand = state.choice[i]!;
    const out = outAxons(cand, splits[i].geo.shape, n.consumers[i], state.choice);
    return {
      population: p.name,
      split: cand.split,
      tiles: cand.tiles.map((t, k) => ({ ...t, population: p.name, outAxons: out[k] })),
      lowerBound: Math.max(splits[i].volumeBound, splits[i].at(0)!.cores),
      volumeBound: splits[i].volumeBound,
    };
  });
  const tiles = populations.flatMap((p) => p.tiles);
  return {
    chip,
    populations,
    tiles,
    cores: tiles.length,
    chips: Math.ceil(tiles.length / chip.coresPerChip),
    lowerBound: populations.reduce((s, p) => s + p.lowerBound, 0),
    volumeBound: populations.reduce((s, p) => s + p.volumeBound, 0),
  };
}
