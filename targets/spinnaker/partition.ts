/**
 * Partitioning and placement (spinnaker.md §6.1, §6.2): each population is cut into fixed slices of at
 * most `maxAtomsPerCore` neurons (one core each), and cores are placed in population order onto chips
 * in breadth-first order, a chip taking cores while it has processors and SDRAM left. DTCM and SDRAM
 * per core are estimated from the formats sPyNNaker lays out (neuron parameters, ring buffer, master
 * population table, synaptic matrix, spike recording). Errors name what does not fit.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { type Machine, machineFor } from './machine.js';
import type { CoreSynapses } from './synaptic-matrix.js';
import { MAX_ROW_LENGTH, ROW_HEADER_WORDS } from './synaptic-matrix.js';

/** Words per neuron of the IF_curr_exp parameter regions: neuron model 9, threshold 1, synapse 5 (§3.1). */
const NEURON_WORDS = 15;
const POP_TABLE_ENTRY_BYTES = 28;
/** System, provenance and region tables per core (estimate). */
const CORE_OVERHEAD_BYTES = 1024;

export interface Slice {
  readonly population: string;
  readonly index: number;
  readonly lo: number;
  readonly hi: number;
}

export interface CoreResources {
  readonly dtcm: number;
  readonly sdram: number;
}

export interface Placement {
  readonly chip: readonly [number, number];
  readonly processor: number;
}

export function slicePopulation(population: string, neurons: number, atomsPerCore: number): Slice[] {
  const out: Slice[] = [];
  for (let lo = 0, i = 0; lo < neurons; lo += atomsPerCore, i++) out.push({ population, index: i, lo, hi: Math.min(neurons, lo + atomsPerCore) });
  return out;
}

/** DTCM and SDRAM of a neuron core (spike sources: `syn` undefined). `steps`: recorded steps. */
export function coreResources(atoms: number, syn: CoreSynapses | undefined, steps: number, recordV: boolean): CoreResources {
  const recording = Math.ceil(atoms / 32) * 4 * steps + (recordV ? atoms * 4 * steps : 0);
  if (!syn) return { dtcm: atoms * 4 + CORE_OVERHEAD_BYTES, sdram: recording + CORE_OVERHEAD_BYTES };
  const rb = syn.ringBuffer;
  const addresses = syn.popTable.reduce((s, e) => s + e.addresses.length, 0);
  const popTable = syn.popTable.length * POP_TABLE_ENTRY_BYTES + addresses * 4;
  const dtcm = 2 ** (rb.delayBits + rb.typeBits + rb.indexBits) * 2 + atoms * NEURON_WORDS * 4 + popTable + 2 * (MAX_ROW_LENGTH + ROW_HEADER_WORDS) * 4 + CORE_OVERHEAD_BYTES;
  const sdram = (1 + atoms * NEURON_WORDS) * 4 + syn.size * 4 + popTable + recording + CORE_OVERHEAD_BYTES;
  return { dtcm, sdram };
}

/** Places cores in order; throws naming the core that does not fit. */
export function placeCores(machine: Machine, cores: readonly { slice: Slice; resources: CoreResources }[]): Placement[] {
  const out: Placement[] = [];
  let chip = 0;
  let used = 0;
  let sdram = 0;
  for (const { slice, resources } of cores) {
    const name = `population "${slice.population}" core ${slice.index} (neurons ${slice.lo}–${slice.hi - 1})`;
    if (resources.dtcm > machine.dtcmPerCore) throw new SnncError(`${name}: needs ${resources.dtcm} bytes of DTCM > ${machine.dtcmPerCore} (over by ${resources.dtcm - machine.dtcmPerCore}); use fewer --atoms-per-core`, ExitCode.doesNotFit);
    if (resources.sdram > machine.sdramPerChip) throw new SnncError(`${name}: needs ${resources.sdram} bytes of SDRAM > ${machine.sdramPerChip} on a chip (over by ${resources.sdram - machine.sdramPerChip}); use fewer --atoms-per-core`, ExitCode.doesNotFit);
    while (chip < machine.chips.length && (used >= machine.chips[chip].appCores || sdram + resources.sdram > machine.sdramPerChip)) {
      chip++;
      used = 0;
      sdram = 0;
    }
    if (chip >= machine.chips.length) {
      const total = machine.chips.reduce((s, c) => s + c.appCores, 0);
      throw new SnncError(`${name} cannot be placed: the network needs ${cores.length} cores, ${machine.name} has ${total} application cores on ${machine.chips.length} chips (--machine ${machineFor(cores.length)} holds it)`, ExitCode.doesNotFit);
    }
    used++;
    sdram += resources.sdram;
    out.push({ chip: [machine.chips[chip].x, machine.chips[chip].y], processor: used });
  }
  return out;
}
