/**
 * The compiled SpiNNaker network as written to disk: spinnaker.json (machine, key space, populations
 * with their s16.15 parameters, cores with placement, keys, ring-buffer format and master population
 * table, and every chip's routing table before and after compression) and spinnaker.bin (little-endian
 * uint32 words: synaptic matrices and per-neuron i_offset). `buildSpinnaker` runs partition → keys →
 * synaptic matrices → placement → routing; the emulator reads only what it returns.
 */
import { badInput } from '../../compiler/errors.js';
import { INPUT } from '../../compiler/ir/model.js';
import { type KeySpace, allocateKeys } from './keys.js';
import { type Machine, Router } from './machine.js';
import { type CoreResources, type Slice, coreResources, placeCores, slicePopulation } from './partition.js';
import type { IfCurrExpConstants, IfCurrExpParams } from './fixed-point.js';
import type { SpinnakerNetwork, SpinnakerPopulation } from './quantise.js';
import { type ChipTable, type RoutingEntry, type SendingCore, buildRoutingTables } from './routing.js';
import { type CoreSynapses, type PopTableEntry, type RingBufferFormat, type SourceInfo, buildCoreSynapses, ringBufferFormat } from './synaptic-matrix.js';

export const DEFAULT_COLOUR_BITS = 4;

/** A range of spinnaker.bin, in words. */
export interface Range {
  readonly offset: number;
  readonly length: number;
}

export interface PopulationDescriptor {
  readonly name: string;
  readonly role: SpinnakerPopulation['role'];
  readonly shape: readonly number[];
  readonly neurons: number;
  readonly atomsPerCore: number;
  readonly params: IfCurrExpParams;
  readonly constants: IfCurrExpConstants;
  readonly iOffset: Range | null;
  readonly scale: number;
  readonly gain: number;
  readonly depth: number;
  readonly shift: readonly [number, number];
  readonly hostCurrent: boolean;
  /** Routing key of the population (absent when it sends nothing). */
  readonly keys?: { readonly key: number; readonly mask: number; readonly vertexMask: number };
}

export interface CoreDescriptor {
  readonly population: string;
  readonly index: number;
  readonly lo: number;
  readonly hi: number;
  readonly chip: readonly [number, number];
  readonly processor: number;
  /** Base routing key (absent when the population sends nothing). */
  readonly key?: number;
  readonly ringBuffer?: RingBufferFormat;
  readonly popTable: readonly PopTableEntry[];
  readonly matrix: Range;
  readonly synapses: number;
  readonly dtcm: number;
  readonly sdram: number;
}

export interface SpinnakerDescriptor {
  readonly format: 'snnc-spinnaker';
  readonly version: 1;
  readonly snncVersion: string;
  readonly sourceHash: string;
  readonly model: string;
  readonly timesteps: number;
  /** Machine steps per sample: T + the output population's depth. */
  readonly steps: number;
  readonly machine: { readonly name: string; readonly width: number; readonly height: number; readonly wrap: boolean; readonly boards: number; readonly routerEntries: number; readonly sdramPerChip: number; readonly dtcmPerCore: number; readonly timestepMs: 1 };
  readonly keySpace: Omit<KeySpace, 'partitions'>;
  readonly input: SpinnakerNetwork['input'];
  readonly host?: { readonly encoder?: Record<string, unknown>; readonly population: string };
  readonly output: SpinnakerNetwork['output'];
  readonly populations: readonly PopulationDescriptor[];
  readonly cores: readonly CoreDescriptor[];
  readonly routing: readonly { readonly chip: readonly [number, number]; readonly before: number; readonly after: number; readonly entries: readonly (readonly [number, number, number])[] }[];
  readonly totals: { readonly cores: number; readonly chips: number; readonly neurons: number; readonly synapses: number; readonly maxEntriesBefore: number; readonly maxEntriesAfter: number };
  readonly blob: { readonly file: 'spinnaker.bin'; readonly words: number };
}

export interface BuildInfo {
  readonly snncVersion: string;
  readonly sourceHash: string;
  readonly hostEncoder?: Record<string, unknown>;
  readonly colourBits?: number;
}

export interface BuiltSpinnaker {
  readonly descriptor: SpinnakerDescriptor;
  readonly words: Uint32Array;
  /** Tables as built (for reports and the routing proof). */
  readonly tables: readonly ChipTable[];
  readonly keySpace: KeySpace;
}

export function buildSpinnaker(net: SpinnakerNetwork, machine: Machine, info: BuildInfo): BuiltSpinnaker {
  const colourBits = info.colourBits ?? DEFAULT_COLOUR_BITS;
  const steps = net.timesteps + net.populations.find((p) => p.name === net.output.population)!.depth;
  const atomsPerCore = new Map(net.populations.map((p) => [p.name, Math.min(machine.maxAtomsPerCore, p.neurons)]));
  const slices = new Map<string, Slice[]>(net.populations.map((p) => [p.name, slicePopulation(p.name, p.neurons, atomsPerCore.get(p.name)!)]));

  const sending = net.populations.filter((p) => net.projections.some((q) => q.source === p.name));
  const keySpace = allocateKeys(
    sending.map((p) => ({ population: p.name, coreAtoms: slices.get(p.name)!.map((s) => s.hi - s.lo) })),
    colourBits,
  );
  const keysOf = new Map(keySpace.partitions.map((k) => [k.population, k]));
  const sources = new Map<string, SourceInfo>(sending.map((p) => [p.name, { neurons: p.neurons, atomsPerCore: atomsPerCore.get(p.name)!, keys: keysOf.get(p.name)! }]));

  // Synapses per core, and which source cores each core listens to.
  const cores: { slice: Slice; syn?: CoreSynapses; resources: CoreResources }[] = [];
  for (const p of net.populations) {
    const incoming = net.projections.filter((q) => q.target === p.name);
    const format = p.role === 'source' ? undefined : ringBufferFormat(atomsPerCore.get(p.name)!, Math.max(1, ...incoming.map((q) => q.delay)), p.name);
    for (const slice of slices.get(p.name)!) {
      const syn = format ? buildCoreSynapses(p.name, slice.lo, slice.hi, incoming, format, sources, keySpace) : undefined;
      cores.push({ slice, ...(syn ? { syn } : {}), resources: coreResources(slice.hi - slice.lo, syn, steps, p.role === 'readout') });
    }
  }
  const placements = placeCores(machine, cores);

  // Each sending core's targets: the cores with a non-empty row for one of its neurons.
  const targets = new Map<string, Set<number>>();
  const coreId = (pop: string, index: number) => `${pop}#${index}`;
  cores.forEach((c, ci) => {
    for (const [source, feeding] of c.syn?.feeders ?? []) {
      for (const index of feeding) {
        const k = coreId(source, index);
        if (!targets.has(k)) targets.set(k, new Set());
        targets.get(k)!.add(ci);
      }
    }
  });
  const router = new Router(machine);
  const senders: SendingCore[] = [];
  cores.forEach((c, ci) => {
    const k = keysOf.get(c.slice.population);
    if (!k) return;
    const to = [...(targets.get(coreId(c.slice.population, c.slice.index)) ?? [])].sort((a, b) => a - b);
    senders.push({
      population: c.slice.population,
      index: c.slice.index,
      key: k.vertexKeys[c.slice.index],
      mask: k.vertexMask,
      chip: placements[ci].chip,
      targets: to.map((t) => [placements[t].chip[0], placements[t].chip[1], placements[t].processor] as const),
    });
  });
  const tables = buildRoutingTables(machine, router, senders, (pop) => ({ key: keysOf.get(pop)!.key, mask: keysOf.get(pop)!.mask, atomBits: keySpace.atomBits }));

  // spinnaker.bin: per core its matrix, then per population its i_offset.
  const chunks: Uint32Array[] = [];
  let words = 0;
  const put = (a: Uint32Array): { offset: number; length: number } => {
    chunks.push(a);
    words += a.length;
    return { offset: words - a.length, length: a.length };
  };
  const coreDescriptors: CoreDescriptor[] = cores.map((c, ci) => {
    const k = keysOf.get(c.slice.population);
    return {
      population: c.slice.population,
      index: c.slice.index,
      lo: c.slice.lo,
      hi: c.slice.hi,
      chip: placements[ci].chip,
      processor: placements[ci].processor,
      ...(k ? { key: k.vertexKeys[c.slice.index] } : {}),
      ...(c.syn ? { ringBuffer: c.syn.ringBuffer } : {}),
      popTable: c.syn?.popTable ?? [],
      matrix: put(c.syn?.words ?? new Uint32Array(0)),
      synapses: c.syn?.synapses ?? 0,
      dtcm: c.resources.dtcm,
      sdram: c.resources.sdram,
    };
  });
  const populations: PopulationDescriptor[] = net.populations.map((p) => {
    const k = keysOf.get(p.name);
    return {
      name: p.name,
      role: p.role,
      shape: p.shape,
      neurons: p.neurons,
      atomsPerCore: atomsPerCore.get(p.name)!,
      params: p.params,
      constants: p.constants,
      iOffset: p.iOffset ? put(Uint32Array.from(p.iOffset, (x) => x >>> 0)) : null,
      scale: p.scale,
      gain: p.gain,
      depth: p.depth,
      shift: p.shift,
      hostCurrent: p.hostCurrent,
      ...(k ? { keys: { key: k.key, mask: k.mask, vertexMask: k.vertexMask } } : {}),
    };
  });
  const blob = new Uint32Array(words);
  let at = 0;
  for (const c of chunks) {
    blob.set(c, at);
    at += c.length;
  }
  const { partitions: _, ...zones } = keySpace;
  const entryTriples = (es: readonly RoutingEntry[]) => es.map((e) => [e.key, e.mask, e.route] as const);
  const descriptor: SpinnakerDescriptor = {
    format: 'snnc-spinnaker',
    version: 1,
    snncVersion: info.snncVersion,
    sourceHash: info.sourceHash,
    model: net.name,
    timesteps: net.timesteps,
    steps,
    machine: { name: machine.name, width: machine.width, height: machine.height, wrap: machine.wrap, boards: machine.boards, routerEntries: machine.routerEntries, sdramPerChip: machine.sdramPerChip, dtcmPerCore: machine.dtcmPerCore, timestepMs: 1 },
    keySpace: zones,
    input: net.input,
    ...(net.host ? { host: { ...(info.hostEncoder ? { encoder: info.hostEncoder } : {}), population: net.host.population } } : {}),
    output: net.output,
    populations,
    cores: coreDescriptors,
    routing: tables.map((t) => ({ chip: [t.x, t.y] as const, before: t.uncompressed.length, after: t.entries.length, entries: entryTriples(t.entries) })),
    totals: {
      cores: cores.length,
      chips: new Set(placements.map((p) => `${p.chip}`)).size,
      neurons: net.populations.filter((p) => p.name !== INPUT).reduce((s, p) => s + p.neurons, 0),
      synapses: coreDescriptors.reduce((s, c) => s + c.synapses, 0),
      maxEntriesBefore: Math.max(0, ...tables.map((t) => t.uncompressed.length)),
      maxEntriesAfter: Math.max(0, ...tables.map((t) => t.entries.length)),
    },
    blob: { file: 'spinnaker.bin', words },
  };
  return { descriptor, words: blob, tables, keySpace };
}

/** Parses spinnaker.json, checking the fields the emulator relies on. */
export function parseSpinnakerDescriptor(text: string, file: string): SpinnakerDescriptor {
  let d: SpinnakerDescriptor;
  try {
    d = JSON.parse(text) as SpinnakerDescriptor;
  } catch (e) {
    throw badInput(`${file}: not JSON (${(e as Error).message})`);
  }
  if (d?.format !== 'snnc-spinnaker') throw badInput(`${file}: "format" must be "snnc-spinnaker"`);
  if (d.version !== 1) throw badInput(`${file}: unsupported version ${d.version} (expected 1)`);
  for (const field of ['populations', 'cores', 'routing'] as const) if (!Array.isArray(d[field])) throw badInput(`${file}: "${field}" must be an array`);
  if (!Number.isInteger(d.steps) || d.steps < 1) throw badInput(`${file}: "steps" must be a positive integer`);
  if (!Number.isInteger(d.blob?.words)) throw badInput(`${file}: "blob.words" must be an integer`);
  return d;
}
