/**
 * The spinnaker target: quantise to IF_curr_exp (quantise.ts) → slice, allocate keys, build synaptic
 * matrices, place, route and compress (descriptor.ts), written as spinnaker.json + spinnaker.bin +
 * manifest.json. It runs IF, LIF and CUBA-LIF neurons (SPINNAKER_NEURON_MODELS; quantise.ts says why
 * no others). `check` reports per-core and per-chip resources and why a model does not fit, and on
 * networks of 10⁷ synapses or more (as `compile` does) each stage's time and memory;
 * `snnc run` executes the folder in the fixed-point emulator (emulator.ts).
 */
import { badInput } from '../../compiler/errors.js';
import { modelToJson } from '../../compiler/ir/serialize/write.js';
import { modelHash } from '../../compiler/ir/hash.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { SNNC_VERSION } from '../../compiler/version.js';
import { writeArtifactFolder } from '../common/artifact-folder.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckReport, type EmitResult, type Engine, type ResourceRow, type Target, checkNeuronModels, doesNotFitReport } from '../target.js';
import { diffSpinnaker } from './diff.js';
import { SpinnakerEmulator, readSpinnakerFolder } from './emulator.js';
import { type BuiltSpinnaker, buildSpinnaker } from './descriptor.js';
import { machineByName } from './machine.js';
import { DEFAULT_MACHINE, SPINNAKER_OPTIONS, type SpinnakerOptions, deadOverrides } from './options.js';
import { STAGE_LINE_SYNAPSES, StageClock, stageLine } from './stages.js';
import { SPINNAKER_NEURON_MODELS, type SpinnakerNetwork, quantiseForSpinnaker } from './quantise.js';

export interface CompiledSpinnaker extends BuiltSpinnaker {
  readonly network: SpinnakerNetwork;
}

/** The network as IF_curr_exp computes it (quantise.ts), or an error naming the option or layer. */
export function quantiseForChip(model: SnnModel, options: SpinnakerOptions = {}): SpinnakerNetwork {
  if (options.timesteps !== undefined && !(Number.isInteger(options.timesteps) && options.timesteps >= 1)) throw badInput(`--timesteps must be a positive integer, got ${options.timesteps}`);
  if (options.maxSummedWeight !== undefined && !(options.maxSummedWeight > 0)) throw badInput(`--max-summed-weight must be a positive number of nA, got ${options.maxSummedWeight}`);
  checkNeuronModels(model, 'spinnaker', SPINNAKER_NEURON_MODELS);
  return quantiseForSpinnaker(model, { timesteps: options.timesteps, maxSummedWeight: options.maxSummedWeight });
}

/** `layoutOnly`: for `check`, which reads the descriptor but not the words of spinnaker.bin (still built on demand). */
export function compileSpinnaker(model: SnnModel, options: SpinnakerOptions = {}, layoutOnly = false): CompiledSpinnaker {
  const atoms = options.atomsPerCore;
  if (atoms !== undefined && !(Number.isInteger(atoms) && atoms >= 1 && atoms <= 256)) throw badInput(`--atoms-per-core must be an integer in 1…256, got ${atoms}`);
  const clock = new StageClock(options.onProgress);
  const network = quantiseForChip(model, options);
  const info = { snncVersion: SNNC_VERSION, sourceHash: modelHash(model), ...(network.host?.encoder ? { hostEncoder: modelToJson(network.host.encoder).doc } : {}) };
  clock.lap('quantise');
  const machine = machineByName(options.machine ?? DEFAULT_MACHINE, { ...(atoms ? { maxAtomsPerCore: atoms } : {}), ...(options.routerEntries ? { routerEntries: options.routerEntries } : {}), ...deadOverrides(options) });
  clock.lap('machine');
  return Object.assign(buildSpinnaker(network, machine, info, clock, layoutOnly), { network }); // not a spread: `words` is built on first use
}

/** Time and memory per stage so far, for networks of at least STAGE_LINE_SYNAPSES synapses. */
const stagesOf = (c: CompiledSpinnaker): string | undefined => (c.descriptor.totals.synapses >= STAGE_LINE_SYNAPSES ? stageLine(c.clock.stages) : undefined);

function resourceRows(c: CompiledSpinnaker): ResourceRow[] {
  const d = c.descriptor;
  const rows: ResourceRow[] = d.cores.map((k) => ({
    layer: `${k.population}[${k.lo}:${k.hi}]`,
    chip: `(${k.chip[0]}, ${k.chip[1]})`,
    core: k.processor,
    atoms: k.hi - k.lo,
    synapses: k.synapses,
    'DTCM B': `${k.dtcm}/${d.machine.dtcmPerCore}`,
    'SDRAM B': k.sdram,
    'pop-table entries': k.popTable.length,
  }));
  const sdramByChip = new Map<string, number>();
  for (const k of d.cores) sdramByChip.set(`${k.chip}`, (sdramByChip.get(`${k.chip}`) ?? 0) + k.sdram);
  for (const t of d.routing) {
    rows.push({
      layer: `chip (${t.chip[0]}, ${t.chip[1]})`,
      cores: d.cores.filter((k) => k.chip[0] === t.chip[0] && k.chip[1] === t.chip[1]).length,
      'SDRAM B': `${sdramByChip.get(`${t.chip}`) ?? 0}/${d.machine.sdramPerChip}`,
      'routes before': t.before,
      'routes after': `${t.after}/${d.machine.routerEntries}`,
    });
  }
  return rows;
}

function warnings(c: CompiledSpinnaker): string[] {
  return c.network.quantisation.filter((r) => Number(r['weights → 0']) > 0).map((r) => `layer "${r.layer}": ${r['weights → 0']} non-zero weights round to 0 at ring-buffer shift ${r['shift exc/inh']}`);
}

export const spinnakerTarget: Target<SpinnakerOptions> = {
  name: 'spinnaker',
  description: 'SpiNNaker-1 IF_curr_exp cores: spinnaker.json (placements, keys, routing tables, master population tables) + spinnaker.bin (synaptic matrices), run by the fixed-point emulator',
  neuronModels: SPINNAKER_NEURON_MODELS,
  options: SPINNAKER_OPTIONS,
  recognises: (dir) => existsSync(join(dir, 'spinnaker.json')),
  async open(dir: string): Promise<Engine> {
    const e = new SpinnakerEmulator(readSpinnakerFolder(dir));
    const d = e.descriptor;
    return { input: d.input, timesteps: d.timesteps, description: `spinnaker emulator (${d.machine.name}, ${d.totals.cores} cores on ${d.totals.chips} chips)`, batch: 16, run: (x, n, opt) => e.run(x, n, opt) };
  },
  diff: (model, raw, batch, options) => diffSpinnaker(model, raw, batch, options),
  check(model: SnnModel, options: SpinnakerOptions): CheckReport {
    try {
      checkNeuronModels(model, 'spinnaker', SPINNAKER_NEURON_MODELS);
      const c = compileSpinnaker(model, options, true);
      const t = c.descriptor.totals;
      const stages = stagesOf(c);
      return {
        target: 'spinnaker',
        fits: true,
        rows: resourceRows(c),
        messages: [
          `${t.cores} cores on ${t.chips} chip(s) of ${c.descriptor.machine.name}; ${t.neurons} neurons, ${t.synapses} synapses; routing entries per chip at most ${t.maxEntriesBefore} before, ${t.maxEntriesAfter} after compression (limit ${c.descriptor.machine.routerEntries})`,
          ...c.network.quantisation.map((r) => `quantised ${r.layer}: ${Object.entries(r).filter(([k]) => k !== 'layer').map(([k, v]) => `${k} ${v}`).join(', ')}`),
          ...warnings(c),
          ...(stages ? [`stages: ${stages}`] : []),
        ],
      };
    } catch (e) {
      return doesNotFitReport('spinnaker', e);
    }
  },
  async emit(model: SnnModel, outDir: string, options: SpinnakerOptions): Promise<EmitResult> {
    checkNeuronModels(model, 'spinnaker', SPINNAKER_NEURON_MODELS);
    const c = compileSpinnaker(model, options);
    const d = c.descriptor;
    const summary = { machine: d.machine.name, cores: d.totals.cores, chips: d.totals.chips, neurons: d.totals.neurons, synapses: d.totals.synapses, 'max routes/chip': `${d.totals.maxEntriesBefore} → ${d.totals.maxEntriesAfter}`, T: d.timesteps, steps: d.steps };
    function* chunks(): Generator<Uint32Array> {
      let written = 0;
      for (const chunk of c.chunks()) {
        yield chunk;
        c.clock.progress('write', (written += chunk.length), d.blob.words);
      }
    }
    const files = await writeArtifactFolder(outDir, { target: 'spinnaker', descriptor: d, words: { byteLength: d.blob.words * 4, chunks }, summary, quantisation: c.network.quantisation }, { force: options.force });
    c.clock.lap('write');
    const stages = stagesOf(c);
    return { files, summary: { ...summary, ...(stages ? { stages } : {}) }, warnings: warnings(c) };
  },
};
