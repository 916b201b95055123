/**
 * loihi.json + loihi.bin: the compiled network as a Loihi board would hold it (loihi.md §5.3). Board →
 * chips → cores; each core holds one tile of one population: its compartments (somas, then the
 * dendrites of max-pool joins), biases, synapse formats, the synapse map of its input axons (pointer,
 * length, format per axon) with the synapses (compartment, weight), or for a shared-weight convolution
 * (Loihi 2, shared-conv.ts) its kernel slice and per axon the source's channel and position, its output
 * axons (soma → destination core and axon), and its budget use. Integer arrays live in loihi.bin
 * (little-endian int32) and are referenced as [offset, length] in int32 elements. The emulator reads
 * this and nothing else.
 */
import { badInput } from '../../compiler/errors.js';
import { check, checkPreprocess, parseWithSchema, product } from '../common/descriptor-checks.js';
import { loihiDescriptorSchema } from './descriptor-schema.js';
import type { Decoding, Encoding, Preprocess } from '../../compiler/ir/model.js';
import { CHIPS, type ChipKind, type ChipSpec, rowBits, sharedConvBits } from './chip.js';
import type { SignMode } from './arithmetic.js';
import type { Partition } from './partition.js';
import { populationShape3 } from './partition.js';
import { forEachWeightedFanIn } from '../common/synaptic-terms.js';
import { type CoreGrid, type SharedConvFormat, MAX_EXPANDED_SYNAPSES, coreGrid, gridWordsProblem, kernelSlice, sharedAxons, sharedFormat, sharedFormatProblem, synapsesPerAxon } from './shared-conv.js';
import { type LoihiNetwork, type LoihiPopulation, type LoihiProfile, type LoihiProjection, forEachPoolWindow, sparseWeight } from './quantise.js';
import { chipsByBand, tileBand } from './system.js';

export const DESCRIPTOR_FORMAT = 'snnc-loihi';

/** [offset, length] into loihi.bin, in int32 elements. */
export type Range = readonly [number, number];

export interface SynapseFormat {
  /** The IR layer the synapses implement. */
  readonly projection: string;
  /**
   * 'dense': Lava Dense (8-bit clip and LSB truncation by sign mode, sum shifted by weightExp); 'sparse':
   * Lava Sparse, a sparse rule's synapses (weights prepared as Dense's); 'conv': Lava Conv (raw integers,
   * sum wrapped to 24 bits).
   */
  readonly kind: 'dense' | 'sparse' | 'conv';
  readonly signMode: SignMode;
  readonly weightBits: number;
  readonly weightExp: number;
  /** Extra delay in steps (spikes of step t arrive at t + 1 + delay). */
  readonly delay: number;
  /** Shared convolution weights (Loihi 2): the kernel slice and geometry its axons walk; absent: explicit synapses. */
  readonly shared?: SharedConvFormat;
}

export interface CoreBudget {
  readonly compartments: readonly [number, number];
  readonly inAxons: readonly [number, number];
  readonly outAxons: readonly [number, number];
  readonly synapseBits: readonly [number, number];
}

export interface CoreDescriptor {
  readonly id: number;
  readonly chip: number;
  readonly population: string;
  /** Population neuron index of each soma (local compartment 0…n−1). */
  readonly neurons: Range;
  readonly compartments: number;
  /** Max-pool joins: n+1 offsets; soma i joins dendrite compartments n + offsets[i] … n + offsets[i+1] − 1. */
  readonly dendrites?: Range;
  /** Bias mantissa per soma (exponent in the population profile). */
  readonly bias?: Range;
  readonly formats: readonly SynapseFormat[];
  /** Per input axon: (synapse pointer, synapse count, format index); for a shared format (source channel, row · width + column, format index). */
  readonly axonMap: Range;
  /** Where the core sits in its shared convolutions' output grid (present with a shared format). */
  readonly grid?: CoreGrid;
  /** (local compartment, weight) pairs. */
  readonly synapses: Range;
  /** (local soma, destination core, destination axon) triples, sorted by soma. */
  readonly outAxons: Range;
  readonly budget: CoreBudget;
}

export interface PopulationDescriptor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly neurons: number;
  readonly depth: number;
  /** Weight units per float unit: v_int = 64·scale·v_float. */
  readonly scale: number;
  readonly profile: LoihiProfile;
  readonly cores: readonly number[];
}

export interface LoihiDescriptor {
  readonly format: typeof DESCRIPTOR_FORMAT;
  readonly formatVersion: 2;
  readonly snncVersion: string;
  readonly sourceHash: string;
  readonly model: string;
  readonly chip: ChipKind;
  readonly timesteps: number;
  readonly input: { readonly shape: readonly number[]; readonly encoding: Encoding; readonly preprocess: Preprocess };
  /** Direct encoding: the host computes `encoder` (a model.json document; absent = the preprocessed input) and adds round(value·scale) to each neuron's a_in. */
  readonly host?: { readonly population: string; readonly encoder?: Record<string, unknown>; readonly port: Range };
  /** Spike inputs: (input index, core, axon) triples. */
  readonly spikeInput?: { readonly axons: Range };
  readonly populations: readonly PopulationDescriptor[];
  readonly board: { readonly chips: readonly { readonly id: number; readonly cores: readonly number[] }[] };
  readonly cores: readonly CoreDescriptor[];
  /** Output: read `population` over steps start+1 … start+length. */
  readonly output: { readonly population: string; readonly decoding: Decoding; readonly start: number; readonly length: number };
  /**
   * Every population resets (u = 0, v = v(0)) at the start of step depth + 1, when its window opens; with
   * an interval also at every step t with (t − (depth + 1)) mod interval = 0 (netx's staggered reset).
   */
  readonly resetInterval?: number;
  readonly blob: { readonly file: 'loihi.bin'; readonly int32s: number };
  /** synapses: explicit (compartment, weight) entries; sharedWeights: the shared convolutions' kernel slices. */
  readonly totals: { readonly cores: number; readonly chips: number; readonly lowerBound: number; readonly compartments: number; readonly synapses: number; readonly sharedWeights: number };
}

class Blob {
  private chunks: Int32Array[] = [];
  private size = 0;
  add(values: ArrayLike<number>): Range {
    const a = Int32Array.from(values);
    const r: Range = [this.size, a.length];
    this.chunks.push(a);
    this.size += a.length;
    return r;
  }
  ints(): Int32Array {
    const all = new Int32Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    return all;
  }
  get length(): number {
    return this.size;
  }
}

/** Local compartment layout of one tile: somas (population neuron ids) and, for joins, dendrite grid positions. */
interface TileLayout {
  neurons: number[];
  /** For each compartment that receives synapses: (grid index in the projection's output grid, local cx). */
  targets: [number, number][];
  dendriteOffsets?: number[];
}

function tileLayout(pop: LoihiPopulation, box: Partition['tiles'][number]['box']): TileLayout {
  const [, H, W] = populationShape3(pop);
  const neurons: number[] = [];
  for (let c = box.c0; c < box.c1; c++) for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) neurons.push((c * H + y) * W + x);
  if (!pop.pool) return { neurons, targets: neurons.map((o, i) => [o, i]) };
  const members = new Map<number, number[]>();
  forEachPoolWindow(pop.pool, pop.shape, (o, m) => members.set(o, m));
  const targets: [number, number][] = [];
  const dendriteOffsets = [0];
  for (const o of neurons) {
    for (const g of members.get(o)!) targets.push([g, neurons.length + targets.length]);
    dendriteOffsets.push(targets.length);
  }
  return { neurons, targets, dendriteOffsets };
}

export interface BuildInfo {
  readonly snncVersion: string;
  readonly sourceHash: string;
  readonly hostEncoder?: Record<string, unknown>;
  readonly resetInterval?: number;
}

/** Materialises every synapse and axon of a partitioned network. Deterministic. */
export function buildDescriptor(net: LoihiNetwork, part: Partition, info: BuildInfo): { descriptor: LoihiDescriptor; ints: Int32Array } {
  const chip: ChipSpec = part.chip;
  const blob = new Blob();
  const pops = new Map(net.populations.map((p) => [p.name, p]));
  const incoming = new Map<string, LoihiProjection[]>(net.populations.map((p) => [p.name, []]));
  for (const proj of net.projections) incoming.get(proj.target)!.push(proj);

  // Where each source neuron's spikes must go: per source population (or "input"), per neuron, (core, axon) pairs.
  const routes = new Map<string, [number, number][][]>();
  const routeTo = (source: string, neuron: number, core: number, axon: number) => {
    if (!routes.has(source)) routes.set(source, []);
    const r = routes.get(source)!;
    (r[neuron] ??= []).push([core, axon]);
  };

  interface Pending {
    core: Omit<CoreDescriptor, 'outAxons' | 'budget'>;
    layout: TileLayout;
    synapseBits: number;
  }
  const pending: Pending[] = [];
  let totalSynapses = 0;
  let sharedWeights = 0;
  const slices = new Map<string, Range>();
  let totalCompartments = 0;
  const chipOf = chipsByBand(part.tiles.map((t) => tileBand(t.box, populationShape3(pops.get(t.population)!))), chip.coresPerChip);
  part.tiles.forEach((tile, id) => {
    const pop = pops.get(tile.population)!;
    const layout = tileLayout(pop, tile.box);
    const formats: SynapseFormat[] = [];
    const axonMap: number[] = [];
    const synapses: number[] = [];
    let synapseBits = 0;
    for (const proj of incoming.get(pop.name)!) {
      const fmt = formats.length;
      const format: SynapseFormat = { projection: proj.name, kind: proj.geometry.kind, signMode: proj.signMode, weightBits: 8, weightExp: 0, delay: proj.delay };
      const g = proj.geometry;
      if (g.kind === 'conv' && chip.convWeights === 'shared') {
        const weights = kernelSlice(proj, g, tile.box);
        const axons = sharedAxons(proj, g, pop, tile.box);
        // Tiles of the same output channels hold the same slice: loihi.bin stores it once (each core's budget still counts it).
        const key = `${proj.name}\u0000${tile.box.c0}:${tile.box.c1}`;
        let range = slices.get(key);
        if (!range) slices.set(key, (range = blob.add(weights)));
        formats.push({ ...format, shared: sharedFormat(g, range) });
        for (const [channel, position, src] of axons) {
          routeTo(proj.source, src, id, axonMap.length / 3);
          axonMap.push(channel, position, fmt);
        }
        synapseBits += sharedConvBits(weights.length, axons.length);
        sharedWeights += weights.length;
        continue;
      }
      formats.push(format);
      const rows = new Map<number, number[]>();
      for (const [o, cx] of layout.targets) {
        forEachWeightedFanIn(proj.geometry, proj.weights, (drawn) => sparseWeight(proj, drawn), o, (src, w) => {
          let row = rows.get(src);
          if (!row) rows.set(src, (row = []));
          row.push(cx, w);
        });
      }
      const perSynapse = 8 + (proj.geometry.kind === 'dense' ? 0 : chip.indexBits);
      for (const src of [...rows.keys()].sort((a, b) => a - b)) {
        const row = rows.get(src)!;
        routeTo(proj.source, src + (proj.sourceOffset ?? 0), id, axonMap.length / 3);
        axonMap.push(synapses.length / 2, row.length / 2, fmt);
        for (const x of row) synapses.push(x);
        synapseBits += rowBits(row.length / 2, perSynapse);
      }
    }
    totalSynapses += synapses.length / 2;
    const compartments = layout.neurons.length + layout.targets.length * (pop.pool ? 1 : 0);
    totalCompartments += compartments;
    pending.push({
      layout,
      synapseBits,
      core: {
        id,
        chip: chipOf[id],
        population: pop.name,
        neurons: blob.add(layout.neurons),
        compartments,
        ...(layout.dendriteOffsets ? { dendrites: blob.add(layout.dendriteOffsets) } : {}),
        ...(pop.bias ? { bias: blob.add(layout.neurons.map((o) => pop.bias![o])) } : {}),
        formats,
        axonMap: blob.add(axonMap),
        synapses: blob.add(synapses),
        ...(formats.some((f) => f.shared) ? { grid: coreGrid(pop, tile.box, layout.targets, (v) => blob.add(v)) } : {}),
      },
    });
  });

  const cores: CoreDescriptor[] = pending.map(({ core, layout, synapseBits }) => {
    const r = routes.get(core.population) ?? [];
    const out: number[] = [];
    layout.neurons.forEach((o, i) => {
      for (const [dstCore, axon] of r[o] ?? []) out.push(i, dstCore, axon);
    });
    return {
      ...core,
      outAxons: blob.add(out),
      budget: {
        compartments: [core.compartments, chip.compartments],
        inAxons: [core.axonMap[1] / 3, chip.inAxons],
        outAxons: [out.length / 3, chip.outAxons],
        synapseBits: [synapseBits, chip.synapseBits],
      },
    };
  });

  let host: LoihiDescriptor['host'];
  if (net.host) {
    const port: number[] = [];
    for (const c of cores) if (c.population === net.host.population) pending[c.id].layout.neurons.forEach((o, i) => port.push(o, c.id, i));
    host = { population: net.host.population, ...(info.hostEncoder ? { encoder: info.hostEncoder } : {}), port: blob.add(port) };
  }
  let spikeInput: LoihiDescriptor['spikeInput'];
  const inputRoutes = routes.get('input');
  if (inputRoutes) {
    const triples: number[] = [];
    inputRoutes.forEach((list, i) => {
      for (const [core, axon] of list ?? []) triples.push(i, core, axon);
    });
    spikeInput = { axons: blob.add(triples) };
  }

  const outPop = pops.get(net.output.population)!;
  const descriptor: LoihiDescriptor = {
    format: DESCRIPTOR_FORMAT,
    formatVersion: 2,
    snncVersion: info.snncVersion,
    sourceHash: info.sourceHash,
    model: net.name,
    chip: chip.kind,
    timesteps: net.timesteps,
    input: { shape: [...net.input.shape], encoding: net.input.encoding, preprocess: net.input.preprocess },
    ...(host ? { host } : {}),
    ...(spikeInput ? { spikeInput } : {}),
    populations: net.populations.map((p) => ({
      name: p.name,
      shape: [...p.shape],
      neurons: p.neurons,
      depth: p.depth,
      scale: p.scale,
      profile: p.profile,
      cores: cores.filter((c) => c.population === p.name).map((c) => c.id),
    })),
    board: { chips: Array.from({ length: part.chips }, (_, id) => ({ id, cores: cores.filter((c) => c.chip === id).map((c) => c.id) })) },
    cores,
    output: { population: outPop.name, decoding: net.output.decoding, start: outPop.depth, length: net.timesteps },
    ...(info.resetInterval ? { resetInterval: info.resetInterval } : {}),
    blob: { file: 'loihi.bin', int32s: blob.length },
    totals: { cores: part.cores, chips: part.chips, lowerBound: part.lowerBound, compartments: totalCompartments, synapses: totalSynapses, sharedWeights },
  };
  return { descriptor, ints: blob.ints() };
}

/** Most delay-buffer slots (Σ over cores and formats of (delay + 2) · compartments) the emulator allocates. */
export const MAX_BUFFER_SLOTS = 2 ** 25;

/**
 * Parses loihi.json: JSON Schema (descriptor-schema.ts), then every cross reference the emulator relies on:
 * names and indices resolve, [offset, length] ranges lie inside loihi.bin, sizes agree (neurons with
 * shapes, compartments with somas and dendrites, totals), compartments within the chip's budget, shared
 * convolution formats consistent with their core's grid, and the delay buffers the emulator allocates
 * bounded. The words of loihi.bin are checked by `checkDescriptorWords` once read.
 */
export function parseDescriptor(text: string, file: string): LoihiDescriptor {
  const d = parseWithSchema<LoihiDescriptor>(text, file, loihiDescriptorSchema, (doc) => {
    if (doc?.format !== DESCRIPTOR_FORMAT || doc.formatVersion !== 2) throw badInput(`${file}: not an snnc Loihi descriptor (format "${doc?.format}" version ${doc?.formatVersion}, expected "${DESCRIPTOR_FORMAT}" version 2)`);
  });
  checkDescriptor(d, file);
  return d;
}

function checkDescriptor(d: LoihiDescriptor, file: string): void {
  const spec = CHIPS[d.chip];
  const words = d.blob.int32s;
  const inBlob = (r: Range, at: string, multiple: number, length?: number) => {
    check(r[0] + r[1] <= words, file, at, () => `[${r[0]}, ${r[1]}] reaches past the end of loihi.bin (${words} int32s)`);
    check(r[1] % multiple === 0, file, at, () => `length ${r[1]} is not a multiple of ${multiple}`);
    if (length !== undefined) check(r[1] === length, file, at, () => `length ${r[1]}, expected ${length}`);
  };
  check(product(d.input.shape) <= 1 << 24, file, '/input/shape', () => `[${d.input.shape.join(', ')}] has more than 2^24 values`);
  checkPreprocess(d.input.preprocess, d.input.shape, file, '/input/preprocess');
  const pops = new Map<string, PopulationDescriptor>();
  d.populations.forEach((p, i) => {
    check(!pops.has(p.name), file, `/populations/${i}/name`, () => `duplicate population "${p.name}"`);
    pops.set(p.name, p);
    check(product(p.shape) === p.neurons, file, `/populations/${i}/neurons`, () => `${p.neurons}, but shape [${p.shape.join(', ')}] holds ${product(p.shape)}`);
    const own = d.cores.flatMap((c, k) => (c?.population === p.name ? [k] : []));
    check(p.cores.length === own.length && p.cores.every((c, k) => c === own[k]), file, `/populations/${i}/cores`, () => `[${p.cores.join(', ')}] differs from the cores of "${p.name}" [${own.join(', ')}]`);
  });
  const pointer = (name: string) => `"${name}"`;
  let compartments = 0;
  let synapses = 0;
  let sharedWeights = 0;
  let slots = 0;
  d.cores.forEach((c, i) => {
    const at = `/cores/${i}`;
    check(c.id === i, file, `${at}/id`, () => `${c.id}, expected ${i} (cores are listed by id)`);
    check(c.chip < d.board.chips.length, file, `${at}/chip`, () => `chip ${c.chip} is not on the board (${d.board.chips.length} chips)`);
    check(pops.has(c.population), file, `${at}/population`, () => `unknown population ${pointer(c.population)}`);
    check(c.compartments <= spec.compartments, file, `${at}/compartments`, () => `${c.compartments} > ${spec.compartments} compartments per ${d.chip} core`);
    check(c.budget.compartments[0] === c.compartments, file, `${at}/budget/compartments/0`, () => `${c.budget.compartments[0]}, but the core has ${c.compartments} compartments`);
    inBlob(c.neurons, `${at}/neurons`, 1);
    const n = c.neurons[1];
    check(n >= 1 && n <= c.compartments, file, `${at}/neurons`, () => `${n} somas; expected 1 … ${c.compartments} (the core's compartments)`);
    if (c.dendrites) inBlob(c.dendrites, `${at}/dendrites`, 1, n + 1);
    else check(n === c.compartments, file, `${at}/compartments`, () => `${c.compartments}, but the core has ${n} somas and no dendrites`);
    if (c.bias) inBlob(c.bias, `${at}/bias`, 1, n);
    inBlob(c.axonMap, `${at}/axonMap`, 3);
    inBlob(c.synapses, `${at}/synapses`, 2);
    inBlob(c.outAxons, `${at}/outAxons`, 3);
    c.formats.forEach((f, k) => {
      if (!f.shared) return;
      check(f.kind === 'conv', file, `${at}/formats/${k}/kind`, () => `"${f.kind}", but shared weights are a convolution's`);
      inBlob(f.shared.weights, `${at}/formats/${k}/shared/weights`, 1);
      const problem = sharedFormatProblem(f.shared, c.grid, c.compartments);
      check(!problem, file, `${at}/formats/${k}/shared`, () => problem!);
      sharedWeights += f.shared.weights[1];
    });
    if (c.grid?.targets) inBlob(c.grid.targets, `${at}/grid/targets`, 1);
    for (const f of c.formats) slots += (f.delay + 2) * c.compartments;
    compartments += c.compartments;
    synapses += c.synapses[1] / 2;
  });
  check(slots <= MAX_BUFFER_SLOTS, file, '/cores', () => `the synapse formats' delay buffers need ${slots} slots > ${MAX_BUFFER_SLOTS}`);
  d.board.chips.forEach((chip, i) => {
    check(chip.id === i, file, `/board/chips/${i}/id`, () => `${chip.id}, expected ${i}`);
    chip.cores.forEach((c, k) => check(c < d.cores.length && d.cores[c].chip === i, file, `/board/chips/${i}/cores/${k}`, () => `core ${c} is not on chip ${i}`));
  });
  const direct = d.input.encoding.type === 'direct';
  check(direct === (d.host !== undefined), file, '/host', () => (direct ? 'missing: direct input needs the host port' : `present, but the input is ${d.input.encoding.type}-encoded spikes`));
  check(!(direct && d.spikeInput), file, '/spikeInput', () => 'present, but the input is direct (host) input');
  if (d.host) {
    check(pops.has(d.host.population), file, '/host/population', () => `unknown population ${pointer(d.host!.population)}`);
    inBlob(d.host.port, '/host/port', 3);
  }
  if (d.spikeInput) inBlob(d.spikeInput.axons, '/spikeInput/axons', 3);
  check(pops.has(d.output.population), file, '/output/population', () => `unknown population ${pointer(d.output.population)}`);
  const t = d.totals;
  check(t.cores === d.cores.length, file, '/totals/cores', () => `${t.cores}, but ${d.cores.length} cores are listed`);
  check(t.chips === d.board.chips.length, file, '/totals/chips', () => `${t.chips}, but the board has ${d.board.chips.length} chips`);
  check(t.compartments === compartments, file, '/totals/compartments', () => `${t.compartments}, but the cores hold ${compartments}`);
  check(t.synapses === synapses, file, '/totals/synapses', () => `${t.synapses}, but the cores hold ${synapses}`);
  check(t.sharedWeights === sharedWeights, file, '/totals/sharedWeights', () => `${t.sharedWeights}, but the cores' kernel slices hold ${sharedWeights}`);
}

/**
 * Checks the words of loihi.bin that the emulator follows: every soma a neuron of its population (each
 * neuron on exactly one core), dendrite offsets within the core's compartments, axon-map pointers within
 * the core's synapses and to one of its formats (a shared convolution's axons to a channel and position of
 * its input, its grid's targets to the core's compartments, and all of them expanding into a bounded
 * number of synapses), synapse targets within its compartments, and every output axon, host port entry
 * and input axon to an existing core, soma and input axon.
 */
export function checkDescriptorWords(d: LoihiDescriptor, ints: Int32Array, file: string): void {
  const bin = `${file.replace(/loihi\.json$/, '')}${d.blob.file}`;
  const slice = (r: Range) => ints.subarray(r[0], r[0] + r[1]);
  const pops = new Map(d.populations.map((p) => [p.name, { p, seen: new Uint8Array(p.neurons) }]));
  const axons = d.cores.map((c) => c.axonMap[1] / 3);
  let expanded = 0;
  const bad = (at: string, what: string) => badInput(`${bin}: words ${at} of ${what}`);
  d.cores.forEach((c, i) => {
    const { p, seen } = pops.get(c.population)!;
    const n = c.neurons[1];
    const neurons = slice(c.neurons);
    for (let k = 0; k < n; k++) {
      const o = neurons[k];
      if (o < 0 || o >= p.neurons || seen[o]) throw bad(`[${c.neurons}]`, `core ${i} (/cores/${i}/neurons): soma ${k} is neuron ${o}; expected a neuron 0 … ${p.neurons - 1} of "${p.name}" not on another soma`);
      seen[o] = 1;
    }
    if (c.dendrites) {
      const off = slice(c.dendrites);
      if (off[0] !== 0 || n + off[n] !== c.compartments) throw bad(`[${c.dendrites}]`, `core ${i} (/cores/${i}/dendrites): offsets must run from 0 to ${c.compartments - n} (compartments − somas)`);
      for (let k = 0; k < n; k++) if (off[k + 1] < off[k]) throw bad(`[${c.dendrites}]`, `core ${i} (/cores/${i}/dendrites): offset ${k + 1} (${off[k + 1]}) is below offset ${k} (${off[k]})`);
    }
    const csr = c.grid?.targets ? slice(c.grid.targets) : null;
    const gridProblem = csr && gridWordsProblem(c.grid!, csr, c.compartments);
    if (gridProblem) throw bad(`[${c.grid!.targets}]`, `core ${i} (/cores/${i}/grid/targets): ${gridProblem}`);
    const perAxon = c.formats.map((f) => (f.shared ? synapsesPerAxon(f.shared, c.grid!, csr) : 0));
    const map = slice(c.axonMap);
    const nSyn = c.synapses[1] / 2;
    for (let a = 0; a < map.length; a += 3) {
      const [ptr, len, fmt] = [map[a], map[a + 1], map[a + 2]];
      const shared = c.formats[fmt]?.shared;
      if (shared) {
        const [C, H, W] = shared.inShape;
        if (ptr < 0 || ptr >= C || len < 0 || len >= H * W) throw bad(`[${c.axonMap}]`, `core ${i} (/cores/${i}/axonMap): axon ${a / 3} is (channel ${ptr}, position ${len}, format ${fmt}); expected a channel 0 … ${C - 1} and a position 0 … ${H * W - 1} of its shared convolution`);
        expanded += perAxon[fmt];
      } else if (ptr < 0 || len < 0 || ptr + len > nSyn || fmt < 0 || fmt >= c.formats.length) throw bad(`[${c.axonMap}]`, `core ${i} (/cores/${i}/axonMap): axon ${a / 3} is (pointer ${ptr}, length ${len}, format ${fmt}); expected synapses within 0 … ${nSyn} and a format 0 … ${c.formats.length - 1}`);
    }
    const syn = slice(c.synapses);
    for (let k = 0; k < syn.length; k += 2) {
      if (syn[k] < 0 || syn[k] >= c.compartments) throw bad(`[${c.synapses}]`, `core ${i} (/cores/${i}/synapses): synapse ${k / 2} targets compartment ${syn[k]}; the core has ${c.compartments}`);
    }
    const out = slice(c.outAxons);
    for (let k = 0; k < out.length; k += 3) {
      const [soma, core, axon] = [out[k], out[k + 1], out[k + 2]];
      if (soma < 0 || soma >= n || core < 0 || core >= d.cores.length || axon < 0 || axon >= axons[core]) {
        throw bad(`[${c.outAxons}]`, `core ${i} (/cores/${i}/outAxons): output axon ${k / 3} is (soma ${soma}, core ${core}, axon ${axon}); no such soma, core or input axon`);
      }
    }
  });
  if (expanded > MAX_EXPANDED_SYNAPSES) throw badInput(`${file}: the shared convolutions' axons stand for up to ${expanded} synapses > ${MAX_EXPANDED_SYNAPSES}, more than the emulator holds`);
  for (const { p, seen } of pops.values()) {
    const missing = seen.indexOf(0);
    if (missing >= 0) throw badInput(`${file}: /populations: neuron ${missing} of "${p.name}" is on no core's somas`);
  }
  if (d.host) {
    const port = slice(d.host.port);
    for (let k = 0; k < port.length; k += 3) {
      const [value, core, soma] = [port[k], port[k + 1], port[k + 2]];
      if (value < 0 || core < 0 || core >= d.cores.length || d.cores[core].population !== d.host.population || soma < 0 || soma >= d.cores[core].neurons[1]) {
        throw bad(`[${d.host.port}]`, `/host/port: entry ${k / 3} is (value ${value}, core ${core}, soma ${soma}); expected a soma of a core of "${d.host.population}"`);
      }
    }
  }
  if (d.spikeInput) {
    const per = product(d.input.shape);
    const triples = slice(d.spikeInput.axons);
    for (let k = 0; k < triples.length; k += 3) {
      const [input, core, axon] = [triples[k], triples[k + 1], triples[k + 2]];
      if (input < 0 || input >= per || core < 0 || core >= d.cores.length || axon < 0 || axon >= axons[core]) {
        throw bad(`[${d.spikeInput.axons}]`, `/spikeInput/axons: entry ${k / 3} is (input ${input}, core ${core}, axon ${axon}); expected an input 0 … ${per - 1} and an existing core and input axon`);
      }
    }
  }
}
