/**
 * The compiled SpiNNaker network as written to disk: spinnaker.json (machine, key space, populations
 * with their s16.15 parameters, cores with placement, keys, ring-buffer format and master population
 * table, and every chip's routing table before and after compression) and spinnaker.bin (little-endian
 * uint32 words: synaptic matrices and per-neuron i_offset). `buildSpinnaker` runs partition → keys →
 * synaptic matrices → placement → routing, timing each stage; the words are written on demand, as one
 * array or part by part. The emulator reads only what it returns.
 */
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import { check, checkPreprocess, parseWithSchema, product } from '../common/descriptor-checks.js';
import { spinnakerDescriptorSchema } from './descriptor-schema.js';
import { INPUT } from '../../compiler/ir/model.js';
import { type KeySpace, allocateKeys } from './keys.js';
import { type DeadChip, type DeadLink, type Machine, Router, machineByName, machineFor } from './machine.js';
import { type CoreResources, type Placement, type Slice, coreResources, placeCores, slicePopulation } from './partition.js';
import { StageClock } from './stages.js';
import type { IfCurrExpConstants, IfCurrExpParams } from './fixed-point.js';
import type { SpinnakerNetwork, SpinnakerPopulation } from './quantise.js';
import { type ChipTable, type RoutingEntry, type SendingCore, buildRoutingTables } from './routing.js';
import { type CoreSynapses, type PopTableEntry, type RingBufferFormat, type SourceInfo, MAX_RING_BUFFER_BITS, ROW_HEADER_WORDS, RowContext, buildCoreSynapses, entryRows, ringBufferFormat } from './synaptic-matrix.js';

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
  readonly machine: { readonly name: string; readonly width: number; readonly height: number; readonly wrap: boolean; readonly boards: number; readonly deadChips?: readonly DeadChip[]; readonly deadLinks?: readonly DeadLink[]; readonly routerEntries: number; readonly sdramPerChip: number; readonly dtcmPerCore: number; readonly timestepMs: 1 };
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
  /** spinnaker.bin as one array, built on first use. */
  readonly words: Uint32Array;
  /** spinnaker.bin in order, one part at a time (each core's synaptic matrix, then each i_offset), for writing it without holding it all. */
  readonly chunks: () => Iterable<Uint32Array>;
  /** Tables as built (for reports and the routing proof). */
  readonly tables: readonly ChipTable[];
  /** Every sending core with the processors its spikes must reach (what the tables implement). */
  readonly senders: readonly SendingCore[];
  readonly keySpace: KeySpace;
  readonly clock: StageClock;
}

/** Refuses, before anything is allocated, a network with more cores than the machine has. */
function checkMachineCapacity(net: SpinnakerNetwork, machine: Machine, atomsPerCore: ReadonlyMap<string, number>): void {
  const cores = net.populations.reduce((n, p) => n + Math.ceil(p.neurons / atomsPerCore.get(p.name)!), 0);
  const available = machine.chips.reduce((n, c) => n + c.appCores, 0);
  if (cores > available) throw new SnncError(`network cannot be placed: the network needs ${cores} cores, ${machine.name} has ${available} application cores on ${machine.chips.length} chips (over by ${cores - available}; --machine ${machineFor(cores)} holds it)`, ExitCode.doesNotFit);
}

interface Core {
  readonly slice: Slice;
  readonly syn?: CoreSynapses;
  readonly resources: CoreResources;
}

/** How the populations are cut into cores and what their cores need to know of their sources. */
interface Layout {
  readonly slices: ReadonlyMap<string, Slice[]>;
  readonly atomsPerCore: ReadonlyMap<string, number>;
  readonly sources: ReadonlyMap<string, SourceInfo>;
  readonly keySpace: KeySpace;
  readonly steps: number;
}

/** Every core in population order, with its synapses and resources (`layoutOnly`: no rows kept for writing). */
function buildCores(net: SpinnakerNetwork, layout: Layout, layoutOnly: boolean, clock: StageClock): Core[] {
  const { slices, atomsPerCore, sources, keySpace, steps } = layout;
  const cores: Core[] = [];
  const total = [...slices.values()].reduce((n, s) => n + s.length, 0);
  const context = new RowContext();
  if (layoutOnly) context.keptWords = 0;
  for (const p of net.populations) {
    const incoming = net.projections.filter((q) => q.target === p.name);
    const format = p.role === 'source' ? undefined : ringBufferFormat(atomsPerCore.get(p.name)!, Math.max(1, ...incoming.map((q) => q.delay)), p.name);
    for (const slice of slices.get(p.name)!) {
      const syn = format ? buildCoreSynapses(p.name, slice.lo, slice.hi, incoming, format, sources, keySpace, context) : undefined;
      cores.push({ slice, ...(syn ? { syn } : {}), resources: coreResources(slice.hi - slice.lo, syn, steps, p.role === 'readout') });
      clock.progress('rows', cores.length, total);
    }
  }
  return cores;
}

/** Routing tables: each sending core's spikes go to the cores with a non-empty row for one of its neurons. */
function routeCores(machine: Machine, cores: readonly Core[], placements: readonly Placement[], keySpace: KeySpace, clock: StageClock): { tables: ChipTable[]; senders: SendingCore[] } {
  const keysOf = new Map(keySpace.partitions.map((k) => [k.population, k]));
  // Per population, where its cores are in `cores`.
  const position = new Map<string, number[]>();
  cores.forEach((c, ci) => {
    let at = position.get(c.slice.population);
    if (!at) position.set(c.slice.population, (at = []));
    at[c.slice.index] = ci;
  });
  // Per core, the cores it feeds, ascending (cores are visited in order, each feeder once per core).
  const targets: number[][] = cores.map(() => []);
  cores.forEach((c, ci) => {
    for (const [source, feeding] of c.syn?.feeders ?? []) {
      const at = position.get(source);
      if (at) for (const index of feeding) targets[at[index]].push(ci);
    }
  });
  // One [x, y, processor] per core, shared by every sender's list (all-to-all networks list millions).
  const where = placements.map((p) => [p.chip[0], p.chip[1], p.processor] as const);
  const senders: SendingCore[] = [];
  cores.forEach((c, ci) => {
    const k = keysOf.get(c.slice.population);
    if (!k) return;
    senders.push({
      population: c.slice.population,
      index: c.slice.index,
      atoms: c.slice.hi - c.slice.lo,
      key: k.vertexKeys[c.slice.index],
      mask: k.vertexMask,
      chip: placements[ci].chip,
      targets: targets[ci].map((t) => where[t]),
    });
  });
  const population = (pop: string) => ({ key: keysOf.get(pop)!.key, mask: keysOf.get(pop)!.mask, atomBits: keySpace.atomBits });
  return { tables: buildRoutingTables(machine, new Router(machine), senders, population, (done, total) => clock.progress('routing', done, total)), senders };
}

/** A range of spinnaker.bin and how to write its words (into zeros). */
interface Part extends Range {
  readonly write: (out: Uint32Array, at: number) => void;
}

/** Per core and per population their descriptors, with the parts of spinnaker.bin: each core's matrix, then each i_offset. */
function describeParts(net: SpinnakerNetwork, cores: readonly Core[], placements: readonly Placement[], keySpace: KeySpace, atomsPerCore: ReadonlyMap<string, number>) {
  const keysOf = new Map(keySpace.partitions.map((k) => [k.population, k]));
  const parts: Part[] = [];
  let words = 0;
  const put = (length: number, write: Part['write']): Range => {
    words += length;
    parts.push({ offset: words - length, length, write });
    return { offset: words - length, length };
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
      matrix: put(c.syn?.size ?? 0, (out, at) => c.syn?.write(out, at)),
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
      iOffset: p.iOffset ? put(p.iOffset.length, (out, at) => out.set(p.iOffset!, at)) : null, // s16.15 as its uint32 bits
      scale: p.scale,
      gain: p.gain,
      depth: p.depth,
      shift: p.shift,
      hostCurrent: p.hostCurrent,
      ...(k ? { keys: { key: k.key, mask: k.mask, vertexMask: k.vertexMask } } : {}),
    };
  });
  return { coreDescriptors, populations, parts, words };
}

/** `layoutOnly`: the words of spinnaker.bin will not be wanted (`snnc check`), so no synaptic rows are kept for them; they are still built on demand. */
export function buildSpinnaker(net: SpinnakerNetwork, machine: Machine, info: BuildInfo, clock = new StageClock(), layoutOnly = false): BuiltSpinnaker {
  const colourBits = info.colourBits ?? DEFAULT_COLOUR_BITS;
  const steps = net.timesteps + net.populations.find((p) => p.name === net.output.population)!.depth;
  const atomsPerCore = new Map(net.populations.map((p) => [p.name, Math.min(machine.maxAtomsPerCore, p.neurons)]));
  const slices = new Map<string, Slice[]>(net.populations.map((p) => [p.name, slicePopulation(p.name, p.neurons, atomsPerCore.get(p.name)!)]));
  checkMachineCapacity(net, machine, atomsPerCore);
  clock.lap('partition');

  const sending = net.populations.filter((p) => net.projections.some((q) => q.source === p.name));
  const keySpace = allocateKeys(
    sending.map((p) => ({ population: p.name, coreAtoms: slices.get(p.name)!.map((s) => s.hi - s.lo) })),
    colourBits,
  );
  const keysOf = new Map(keySpace.partitions.map((k) => [k.population, k]));
  const sources = new Map<string, SourceInfo>(sending.map((p) => [p.name, { neurons: p.neurons, atomsPerCore: atomsPerCore.get(p.name)!, keys: keysOf.get(p.name)! }]));
  clock.lap('keys');
  const cores = buildCores(net, { slices, atomsPerCore, sources, keySpace, steps }, layoutOnly, clock);
  clock.lap('rows');
  const placements = placeCores(machine, cores);
  clock.lap('place');
  const { tables, senders } = routeCores(machine, cores, placements, keySpace, clock);
  clock.lap('routing');

  const { coreDescriptors, populations, parts, words } = describeParts(net, cores, placements, keySpace, atomsPerCore);
  const descriptor = describe(net, machine, info, { steps, keySpace, populations, coreDescriptors, tables, placements, words });
  function* chunks(): Generator<Uint32Array> {
    for (const p of parts) {
      const chunk = new Uint32Array(p.length);
      p.write(chunk, 0);
      yield chunk;
    }
  }
  let blob: Uint32Array | undefined;
  const writeAll = () => {
    const out = new Uint32Array(words);
    for (const p of parts) p.write(out, p.offset);
    return out;
  };
  return {
    descriptor,
    get words() {
      return (blob ??= writeAll());
    },
    chunks,
    tables,
    senders,
    keySpace,
    clock,
  };
}

/** spinnaker.json's object. */
function describe(
  net: SpinnakerNetwork,
  machine: Machine,
  info: BuildInfo,
  parts: { steps: number; keySpace: KeySpace; populations: PopulationDescriptor[]; coreDescriptors: CoreDescriptor[]; tables: readonly ChipTable[]; placements: readonly Placement[]; words: number },
): SpinnakerDescriptor {
  const { tables, coreDescriptors } = parts;
  const { partitions: _, ...zones } = parts.keySpace;
  const entryTriples = (es: readonly RoutingEntry[]) => es.map((e) => [e.key, e.mask, e.route] as const);
  return {
    format: 'snnc-spinnaker',
    version: 1,
    snncVersion: info.snncVersion,
    sourceHash: info.sourceHash,
    model: net.name,
    timesteps: net.timesteps,
    steps: parts.steps,
    machine: {
      name: machine.name,
      width: machine.width,
      height: machine.height,
      wrap: machine.wrap,
      boards: machine.boards,
      ...(machine.deadChips.length ? { deadChips: machine.deadChips } : {}), // only when there are any: artifacts without stay as they were
      ...(machine.deadLinks.length ? { deadLinks: machine.deadLinks } : {}),
      routerEntries: machine.routerEntries,
      sdramPerChip: machine.sdramPerChip,
      dtcmPerCore: machine.dtcmPerCore,
      timestepMs: 1,
    },
    keySpace: zones,
    input: net.input,
    ...(net.host ? { host: { ...(info.hostEncoder ? { encoder: info.hostEncoder } : {}), population: net.host.population } } : {}),
    output: net.output,
    populations: parts.populations,
    cores: coreDescriptors,
    routing: tables.map((t) => ({ chip: [t.x, t.y] as const, before: t.uncompressed.length, after: t.entries.length, entries: entryTriples(t.entries) })),
    totals: {
      cores: coreDescriptors.length,
      chips: new Set(parts.placements.map((p) => `${p.chip}`)).size,
      neurons: net.populations.filter((p) => p.name !== INPUT).reduce((s, p) => s + p.neurons, 0),
      synapses: coreDescriptors.reduce((s, c) => s + c.synapses, 0),
      maxEntriesBefore: Math.max(0, ...tables.map((t) => t.uncompressed.length)),
      maxEntriesAfter: Math.max(0, ...tables.map((t) => t.entries.length)),
    },
    blob: { file: 'spinnaker.bin', words: parts.words },
  };
}

/**
 * Parses spinnaker.json: JSON Schema (descriptor-schema.ts), then the cross references the emulator
 * relies on: the machine is the one named, populations and sources resolve, cores sit on chips of the
 * machine (one per processor) with slices inside their population, ring buffers wide enough for their
 * neurons, synaptic blocks and i_offset ranges inside spinnaker.bin and inside the core's matrix,
 * routing tables on chips of the machine within the router's size, totals that agree. The words of
 * spinnaker.bin (row headers) are checked by `checkSpinnakerWords` once read.
 */
export function parseSpinnakerDescriptor(text: string, file: string): SpinnakerDescriptor {
  const d = parseWithSchema<SpinnakerDescriptor>(text, file, spinnakerDescriptorSchema, (doc) => {
    if (doc?.format !== 'snnc-spinnaker') throw badInput(`${file}: "format" must be "snnc-spinnaker"`);
    if (doc.version !== 1) throw badInput(`${file}: unsupported version ${JSON.stringify(doc.version)} (expected 1)`);
  });
  checkSpinnakerDescriptor(d, file);
  return d;
}

function checkSpinnakerDescriptor(d: SpinnakerDescriptor, file: string): void {
  const words = d.blob.words;
  const inBlob = (r: Range, at: string) => check(r.offset + r.length <= words, file, at, () => `{offset ${r.offset}, length ${r.length}} reaches past the end of spinnaker.bin (${words} words)`);
  let machine: Machine;
  try {
    machine = machineByName(d.machine.name, { routerEntries: d.machine.routerEntries, deadChips: d.machine.deadChips, deadLinks: d.machine.deadLinks });
  } catch (e) {
    const message = (e as Error).message;
    const dead = /^--dead-(chips|links): /.exec(message);
    throw badInput(`${file}: /machine/${dead ? `dead${dead[1] === 'chips' ? 'Chips' : 'Links'}` : 'name'}: ${message.replace(/^--machine |^--dead-(chips|links): /, '')}`);
  }
  for (const k of ['width', 'height', 'wrap', 'boards'] as const) check(d.machine[k] === machine[k], file, `/machine/${k}`, () => `${d.machine[k]}, but machine "${machine.name}" has ${machine[k]}`);
  const chips = new Set(machine.chips.map((c) => `${c.x},${c.y}`));
  check(product(d.input.shape) <= 1 << 24, file, '/input/shape', () => `[${d.input.shape.join(', ')}] has more than 2^24 values`);
  checkPreprocess(d.input.preprocess, d.input.shape, file, '/input/preprocess');
  const pops = new Map<string, PopulationDescriptor>();
  d.populations.forEach((p, i) => {
    const at = `/populations/${i}`;
    check(!pops.has(p.name), file, `${at}/name`, () => `duplicate population "${p.name}"`);
    pops.set(p.name, p);
    check(product(p.shape) === p.neurons, file, `${at}/neurons`, () => `${p.neurons}, but shape [${p.shape.join(', ')}] holds ${product(p.shape)}`);
    if (p.role === 'source') check(p.neurons === product(d.input.shape), file, `${at}/neurons`, () => `${p.neurons}: a source population has one neuron per input value (${product(d.input.shape)})`);
    if (p.iOffset) {
      inBlob(p.iOffset, `${at}/iOffset`);
      check(p.iOffset.length === p.neurons, file, `${at}/iOffset/length`, () => `${p.iOffset!.length}, expected one word per neuron (${p.neurons})`);
    }
    if (p.hostCurrent) check(d.host !== undefined, file, `${at}/hostCurrent`, () => 'true, but the descriptor has no host input');
  });
  const pop = (name: string, at: string) => {
    const p = pops.get(name);
    check(p !== undefined, file, at, () => `unknown population "${name}"`);
    return p;
  };
  const processors = new Set<string>();
  let synapses = 0;
  d.cores.forEach((c, i) => {
    const at = `/cores/${i}`;
    const p = pop(c.population, `${at}/population`);
    check(c.lo < c.hi && c.hi <= p.neurons, file, `${at}/hi`, () => `neurons [${c.lo}, ${c.hi}) are not a non-empty slice of "${p.name}" (${p.neurons} neurons)`);
    check(c.hi - c.lo <= p.atomsPerCore, file, `${at}/hi`, () => `${c.hi - c.lo} neurons > ${p.atomsPerCore} atoms per core of "${p.name}"`);
    check(chips.has(`${c.chip[0]},${c.chip[1]}`), file, `${at}/chip`, () => `(${c.chip[0]}, ${c.chip[1]}) is not a chip of ${machine.name}`);
    const where = `${c.chip[0]},${c.chip[1]},${c.processor}`;
    check(!processors.has(where), file, `${at}/processor`, () => `processor (${c.chip[0]}, ${c.chip[1]}, ${c.processor}) already runs another core`);
    processors.add(where);
    inBlob(c.matrix, `${at}/matrix`);
    const rb = c.ringBuffer;
    if (p.role !== 'source') {
      check(rb !== undefined, file, `${at}/ringBuffer`, () => `missing: a core of ${p.role} population "${p.name}" needs one`);
      check(rb.indexBits + rb.typeBits + rb.delayBits <= MAX_RING_BUFFER_BITS, file, `${at}/ringBuffer`, () => `${rb.indexBits + rb.typeBits + rb.delayBits} bits > ${MAX_RING_BUFFER_BITS}`);
      check(2 ** rb.indexBits >= c.hi - c.lo, file, `${at}/ringBuffer/indexBits`, () => `${rb.indexBits} bits cannot index the core's ${c.hi - c.lo} neurons`);
    } else check(c.popTable.length === 0, file, `${at}/popTable`, () => 'a source core receives no synapses');
    c.popTable.forEach((e, k) => {
      const src = pop(e.source, `${at}/popTable/${k}/source`);
      e.addresses.forEach((a, j) => {
        const rows = entryRows(e, src.neurons);
        const end = a.offset + rows * (a.rowLength + ROW_HEADER_WORDS);
        check(end <= c.matrix.length, file, `${at}/popTable/${k}/addresses/${j}`, () => `the block of ${rows} rows of ${a.rowLength} synapses at offset ${a.offset} ends at word ${end}, past the core's matrix (${c.matrix.length} words)`);
      });
    });
    synapses += c.synapses;
  });
  for (const p of pops.values()) {
    const covered = d.cores.filter((c) => c.population === p.name).reduce((n, c) => n + c.hi - c.lo, 0);
    check(covered === p.neurons, file, '/cores', () => `the cores of "${p.name}" hold ${covered} neurons; it has ${p.neurons}`);
  }
  if (d.host) pop(d.host.population, '/host/population');
  pop(d.output.population, '/output/population');
  const tables = new Set<string>();
  d.routing.forEach((t, i) => {
    const at = `/routing/${i}`;
    const k = `${t.chip[0]},${t.chip[1]}`;
    check(chips.has(k) && !tables.has(k), file, `${at}/chip`, () => `(${t.chip[0]}, ${t.chip[1]}) is not a chip of ${machine.name}, or has two tables`);
    tables.add(k);
    check(t.after === t.entries.length, file, `${at}/after`, () => `${t.after}, but the table has ${t.entries.length} entries`);
    check(t.entries.length <= machine.routerEntries, file, `${at}/entries`, () => `${t.entries.length} entries > ${machine.routerEntries} in a router`);
    t.entries.forEach(([, , route], j) => check(route < 2 ** 24, file, `${at}/entries/${j}/2`, () => `route ${route} has bits beyond the 6 links and 18 processors`));
  });
  check(d.totals.cores === d.cores.length, file, '/totals/cores', () => `${d.totals.cores}, but ${d.cores.length} cores are listed`);
  check(d.totals.synapses === synapses, file, '/totals/synapses', () => `${d.totals.synapses}, but the cores hold ${synapses}`);
}

/**
 * Checks the words of spinnaker.bin the emulator follows: the header of every synaptic row (its
 * synapse count) within the row length its block was written with. Synaptic words themselves cannot
 * index outside the ring buffer (their fields are masked to its width).
 */
export function checkSpinnakerWords(d: SpinnakerDescriptor, words: Uint32Array, file: string): void {
  const bin = `${file.replace(/spinnaker\.json$/, '')}${d.blob.file}`;
  const neurons = new Map(d.populations.map((p) => [p.name, p.neurons]));
  d.cores.forEach((c, i) => {
    c.popTable.forEach((e, k) => {
      for (const a of e.addresses) {
        const stride = a.rowLength + ROW_HEADER_WORDS;
        const base = c.matrix.offset + a.offset;
        for (let r = 0; r < entryRows(e, neurons.get(e.source)!); r++) {
          const count = words[base + r * stride + 1];
          if (count > a.rowLength) throw badInput(`${bin}: word ${base + r * stride + 1} (core ${i}, /cores/${i}/popTable/${k}, projection "${a.projection}", row ${r}): ${count} synapses > the row length ${a.rowLength}`);
        }
      }
    });
  });
}
