/**
 * Partitioner: splits each population into core-sized tiles (boxes of channels × rows × columns, as
 * NxTF does for conv layers; peers.md §6.1) under the per-core budgets of compartments, input axons,
 * output axons and synapse memory, choosing for each population the tiling with the fewest cores (ties:
 * the fewest input axons, i.e. the least duplicated fan-in). Footprints are computed from the layer
 * geometry, never by enumerating synapses, so a ResNet-sized network partitions in well under a second.
 * One population per core; cores are numbered in layer order and filled chip by chip.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { type ChipSpec, rowBits } from './chip.js';
import type { LoihiNetwork, LoihiPopulation, LoihiProjection, ProjectionGeometry } from './quantise.js';

export const WEIGHT_BITS = 8;

/** A box of a population in [C, H, W] coordinates (a vector population is [N, 1, 1]). */
export interface Box {
  readonly c0: number;
  readonly c1: number;
  readonly y0: number;
  readonly y1: number;
  readonly x0: number;
  readonly x1: number;
}

export interface Tile {
  readonly population: string;
  readonly box: Box;
  readonly neurons: number;
  readonly compartments: number;
  readonly inAxons: number;
  outAxons: number;
  readonly synapses: number;
  readonly synapseBits: number;
}

export interface PopulationPartition {
  readonly population: string;
  /** Splits along channels, rows, columns. */
  readonly split: readonly [number, number, number];
  readonly tiles: readonly Tile[];
  /** Cores this population needs at least, whatever the tiling (compartments and synapse memory). */
  readonly lowerBound: number;
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
}

export function populationShape3(p: Pick<LoihiPopulation, 'shape'>): [number, number, number] {
  return p.shape.length === 3 ? [p.shape[0], p.shape[1], p.shape[2]] : [sizeOf(p.shape), 1, 1];
}

function boxVolume(b: Box): number {
  return (b.c1 - b.c0) * (b.y1 - b.y0) * (b.x1 - b.x0);
}

/** Conv-output rows (with multiplicity) that a box's compartments occupy: its rows, or its pool windows' rows. */
function gridLines(lo: number, hi: number, pool: LoihiPopulation['pool'], axis: 0 | 1): number[] {
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

interface Footprint {
  axons: number;
  synapses: number;
  bits: number;
}

/** Input axons, synapses and synapse memory that one projection needs on the core holding `box`. */
function footprint(proj: LoihiProjection, target: LoihiPopulation, box: Box, chip: ChipSpec): Footprint {
  const g: ProjectionGeometry = proj.geometry;
  if (g.kind === 'dense') {
    const n = boxVolume(box);
    return { axons: g.nIn, synapses: g.nIn * n, bits: g.nIn * rowBits(n, WEIGHT_BITS) };
  }
  const rows = gridLines(box.y0, box.y1, target.pool, 0);
  const cols = gridLines(box.x0, box.x1, target.pool, 1);
  const [C, H, W] = g.inShape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const ny = new Int32Array(H);
  for (const r of rows) for (let u = 0; u < kh; u++) {
    const y = r * sh - g.padding[0] + u;
    if (y >= 0 && y < H) ny[y]++;
  }
  const nx = new Int32Array(W);
  for (const q of cols) for (let v = 0; v < kw; v++) {
    const x = q * sw - g.padding[1] + v;
    if (x >= 0 && x < W) nx[x]++;
  }
  const cinPG = C / g.groups;
  const coutPG = g.outShape[0] / g.groups;
  const perSynapse = WEIGHT_BITS + chip.indexBits;
  const f: Footprint = { axons: 0, synapses: 0, bits: 0 };
  for (let gi = 0; gi < g.groups; gi++) {
    const nco = Math.max(0, Math.min(box.c1, (gi + 1) * coutPG) - Math.max(box.c0, gi * coutPG));
    if (!nco) continue;
    for (let y = 0; y < H; y++) {
      if (!ny[y]) continue;
      for (let x = 0; x < W; x++) {
        if (!nx[x]) continue;
        const n = ny[y] * nx[x] * nco;
        f.axons += cinPG;
        f.synapses += n * cinPG;
        f.bits += cinPG * rowBits(n, perSynapse);
      }
    }
  }
  return f;
}

/** The source box a target box reads from (channels of its groups, the rows and columns its windows cover). */
function sourceBox(proj: LoihiProjection, target: LoihiPopulation, box: Box, sourceShape: [number, number, number]): Box {
  const g = proj.geometry;
  if (g.kind === 'dense') return { c0: 0, c1: sourceShape[0], y0: 0, y1: sourceShape[1], x0: 0, x1: sourceShape[2] };
  const span = (lines: number[], k: number, s: number, pad: number, limit: number): [number, number] => {
    if (!lines.length) return [0, 0];
    return [Math.max(0, Math.min(...lines) * s - pad), Math.min(limit, Math.max(...lines) * s - pad + k)];
  };
  const [y0, y1] = span(gridLines(box.y0, box.y1, target.pool, 0), g.kernel[0], g.stride[0], g.padding[0], g.inShape[1]);
  const [x0, x1] = span(gridLines(box.x0, box.x1, target.pool, 1), g.kernel[1], g.stride[1], g.padding[1], g.inShape[2]);
  const cinPG = g.inShape[0] / g.groups;
  const coutPG = g.outShape[0] / g.groups;
  const c0 = Math.floor(box.c0 / coutPG) * cinPG;
  const c1 = (Math.floor((box.c1 - 1) / coutPG) + 1) * cinPG;
  return { c0, c1, y0, y1, x0, x1 };
}

function intersection(a: Box, b: Box): number {
  const d = (lo1: number, hi1: number, lo2: number, hi2: number) => Math.max(0, Math.min(hi1, hi2) - Math.max(lo1, lo2));
  return d(a.c0, a.c1, b.c0, b.c1) * d(a.y0, a.y1, b.y0, b.y1) * d(a.x0, a.x1, b.x0, b.x1);
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

function boxes(shape: [number, number, number], split: readonly [number, number, number]): Box[] {
  const cuts = (n: number, s: number) => {
    const size = Math.ceil(n / s);
    const r: [number, number][] = [];
    for (let a = 0; a < n; a += size) r.push([a, Math.min(n, a + size)]);
    return r;
  };
  const out: Box[] = [];
  for (const [c0, c1] of cuts(shape[0], split[0])) for (const [y0, y1] of cuts(shape[1], split[1])) for (const [x0, x1] of cuts(shape[2], split[2])) out.push({ c0, c1, y0, y1, x0, x1 });
  return out;
}

function compartmentsOf(pop: LoihiPopulation, box: Box): number {
  const n = boxVolume(box);
  if (!pop.pool) return n;
  // One soma plus one dendrite per pool-window member.
  return n + (box.c1 - box.c0) * gridLines(box.y0, box.y1, pop.pool, 0).length * gridLines(box.x0, box.x1, pop.pool, 1).length;
}

interface Violation {
  resource: string;
  needed: number;
  limit: number;
}

function makeTile(pop: LoihiPopulation, box: Box, incoming: readonly LoihiProjection[], chip: ChipSpec): Tile {
  let inAxons = 0;
  let synapses = 0;
  let synapseBits = 0;
  for (const p of incoming) {
    const f = footprint(p, pop, box, chip);
    inAxons += f.axons;
    synapses += f.synapses;
    synapseBits += f.bits;
  }
  return { population: pop.name, box, neurons: boxVolume(box), compartments: compartmentsOf(pop, box), inAxons, outAxons: 0, synapses, synapseBits };
}

function violation(t: Tile, chip: ChipSpec): Violation | undefined {
  if (t.compartments > chip.compartments) return { resource: 'compartments', needed: t.compartments, limit: chip.compartments };
  if (t.inAxons > chip.inAxons) return { resource: 'input axons', needed: t.inAxons, limit: chip.inAxons };
  if (t.synapseBits > chip.synapseBits) return { resource: 'synapse memory bits', needed: t.synapseBits, limit: chip.synapseBits };
  if (t.outAxons > chip.outAxons) return { resource: 'output axons', needed: t.outAxons, limit: chip.outAxons };
  return undefined;
}

/** The cheapest feasible tiling with at least `minCores` tiles, or a named error when none exists. */
function tilePopulation(pop: LoihiPopulation, incoming: readonly LoihiProjection[], chip: ChipSpec, minCores: number): PopulationPartition {
  const shape = populationShape3(pop);
  const whole = makeTile(pop, { c0: 0, c1: shape[0], y0: 0, y1: shape[1], x0: 0, x1: shape[2] }, incoming, chip);
  const lowerBound = Math.max(1, Math.ceil(whole.compartments / chip.compartments), Math.ceil((whole.synapses * WEIGHT_BITS) / chip.synapseBits));
  const candidates: [number, number, number][] = [];
  for (const sc of distinctSplits(shape[0])) for (const sh of distinctSplits(shape[1])) for (const sw of distinctSplits(shape[2])) {
    if (sc * sh * sw >= Math.max(lowerBound, minCores)) candidates.push([sc, sh, sw]);
  }
  candidates.sort((a, b) => a[0] * a[1] * a[2] - b[0] * b[1] * b[2] || b[0] - a[0] || b[1] - a[1]);
  let best: { split: [number, number, number]; tiles: Tile[]; axons: number } | undefined;
  let worst: { tile: Tile; v: Violation } | undefined;
  for (const split of candidates) {
    const cores = split[0] * split[1] * split[2];
    if (best && cores > best.tiles.length) break;
    const tiles: Tile[] = [];
    let ok = true;
    for (const box of boxes(shape, split)) {
      const t = makeTile(pop, box, incoming, chip);
      const v = violation(t, chip);
      if (v) {
        if (!worst || t.neurons <= worst.tile.neurons) worst = { tile: t, v };
        ok = false;
        break;
      }
      tiles.push(t);
    }
    if (!ok) continue;
    const axons = tiles.reduce((s, t) => s + t.inAxons, 0);
    if (!best || axons < best.axons) best = { split, tiles, axons };
  }
  if (!best) {
    const v = worst!.v;
    throw new SnncError(
      `layer "${pop.name}": does not fit a ${chip.kind} core even when split into ${worst!.tile.neurons === 1 ? 'single neurons' : `tiles of ${worst!.tile.neurons} neurons`}: ${v.resource} ${v.needed} > limit ${v.limit} (over by ${v.needed - v.limit})`,
      ExitCode.doesNotFit,
    );
  }
  return { population: pop.name, split: best.split, tiles: best.tiles, lowerBound };
}

/** Output axons of every tile: one per (source neuron, destination core) pair it reaches. */
function countOutAxons(net: LoihiNetwork, parts: Map<string, PopulationPartition>): void {
  for (const part of parts.values()) for (const t of part.tiles) t.outAxons = 0;
  const pops = new Map(net.populations.map((p) => [p.name, p]));
  for (const proj of net.projections) {
    const src = parts.get(proj.source);
    if (!src) continue; // host spikes: no chip axons
    const target = pops.get(proj.target)!;
    const srcShape = populationShape3(pops.get(proj.source)!);
    for (const dst of parts.get(proj.target)!.tiles) {
      const sb = sourceBox(proj, target, dst.box, srcShape);
      for (const t of src.tiles) t.outAxons += intersection(t.box, sb);
    }
  }
}

export function partitionLoihiCores(net: LoihiNetwork, chip: ChipSpec): Partition {
  const incoming = new Map<string, LoihiProjection[]>(net.populations.map((p) => [p.name, []]));
  for (const proj of net.projections) incoming.get(proj.target)!.push(proj);
  const parts = new Map<string, PopulationPartition>();
  for (const pop of net.populations) parts.set(pop.name, tilePopulation(pop, incoming.get(pop.name)!, chip, 1));
  // Output axons depend on the destinations' tilings: re-tile any population whose tiles send too many.
  for (let round = 0; ; round++) {
    countOutAxons(net, parts);
    const over = net.populations.find((p) => parts.get(p.name)!.tiles.some((t) => t.outAxons > chip.outAxons));
    if (!over) break;
    const cur = parts.get(over.name)!;
    const t = cur.tiles.reduce((a, b) => (a.outAxons > b.outAxons ? a : b));
    if (round > 32 || cur.tiles.every((x) => x.neurons === 1)) {
      throw new SnncError(`layer "${over.name}": output axons ${t.outAxons} > limit ${chip.outAxons} (over by ${t.outAxons - chip.outAxons}) even after splitting`, ExitCode.doesNotFit);
    }
    // Output axons grow with a tile's size: split finer in proportion to the excess.
    parts.set(over.name, tilePopulation(over, incoming.get(over.name)!, chip, Math.ceil((cur.tiles.length * t.outAxons) / chip.outAxons)));
  }
  const populations = net.populations.map((p) => parts.get(p.name)!);
  const tiles = populations.flatMap((p) => p.tiles);
  return {
    chip,
    populations,
    tiles,
    cores: tiles.length,
    chips: Math.ceil(tiles.length / chip.coresPerChip),
    lowerBound: populations.reduce((s, p) => s + p.lowerBound, 0),
  };
}
