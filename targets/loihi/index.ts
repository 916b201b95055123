/**
 * The loihi target: quantise (quantise.ts) → split fan-ins beyond a core's axons (fan-in.ts) →
 * partition onto cores (partition.ts) → descriptor (descriptor.ts), written as loihi.json + loihi.bin +
 * manifest.json. It runs IF, LIF and CUBA-LIF neurons and lava's sigma-delta ones
 * (LOIHI_NEURON_MODELS, quantise.ts says why no others). `check` reports per-layer and
 * per-core resources and why a model does not fit; `snnc run` executes the folder in the bit-accurate
 * emulator (emulator.ts).
 */
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import { modelToJson } from '../../compiler/ir/serialize/write.js';
import { modelHash } from '../../compiler/ir/hash.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { SNNC_VERSION } from '../../compiler/version.js';
import { writeArtifactFolder } from '../common/artifact-folder.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckReport, type EmitResult, type EmulatorDiff, type Engine, type ResourceRow, type Target, checkNeuronModels, doesNotFitReport } from '../target.js';
import { diffLoihi } from './diff.js';
import { LoihiEmulator, readLoihiFolder } from './emulator.js';
import { type LoihiOptions, LOIHI_OPTIONS, chipOf, systemOf } from './options.js';
import { type LoihiSystem, interChipRoutes } from './system.js';
import { type LoihiDescriptor, buildDescriptor } from './descriptor.js';
import { type Partition, partitionLoihiCores } from './partition.js';
import { LOIHI_NEURON_MODELS, type LoihiNetwork, quantiseForLoihi } from './quantise.js';
import { splitFanIn } from './fan-in.js';

/** A compiled network in memory; `descriptor` and `ints` (loihi.bin) are what the emulator runs. */
export interface CompiledLoihi {
  readonly network: LoihiNetwork;
  readonly partition: Partition;
  readonly descriptor: LoihiDescriptor;
  readonly ints: Int32Array;
}

/** The network as `options.chip` computes it (quantise.ts), or a does-not-fit error naming the layer. */
export function quantiseForChip(model: SnnModel, options: LoihiOptions = {}): LoihiNetwork {
  const chip = chipOf(options);
  if (options.timesteps !== undefined && !(Number.isInteger(options.timesteps) && options.timesteps >= 1)) throw badInput(`--timesteps must be a positive integer, got ${options.timesteps}`);
  checkNeuronModels(model, 'loihi', LOIHI_NEURON_MODELS);
  const network = quantiseForLoihi(model, { timesteps: options.timesteps });
  if (chip.kind === 'loihi1') {
    const soft = network.populations.find((p) => p.profile.resetSubtract !== undefined);
    if (soft) throw new SnncError(`layer "${soft.name}": reset "subtract" needs a Loihi 2 microcode neuron; Loihi 1 resets v to 0 (use --chip loihi2, or a model with reset "zero")`, ExitCode.doesNotFit);
  }
  return network;
}

/** Quantises and partitions, or throws a does-not-fit error naming the layer and resource. */
export function planLoihi(model: SnnModel, options: LoihiOptions = {}): { network: LoihiNetwork; partition: Partition } {
  const chip = chipOf(options);
  const network = splitFanIn(quantiseForChip(model, options), chip);
  const partition = partitionLoihiCores(network, chip);
  const system = systemOf(options);
  const chips = system.chips;
  if (partition.cores > chips * chip.coresPerChip) {
    const on = options.system ? `${system.name}'s ${chips}` : `${chips}`;
    throw new SnncError(`needs ${partition.cores} cores > ${chips * chip.coresPerChip} on ${on} ${chip.kind} chip(s) (over by ${partition.cores - chips * chip.coresPerChip}; lower bound ${partition.lowerBound}); use --chips ${partition.chips}`, ExitCode.doesNotFit);
  }
  return { network, partition };
}

export function compileLoihi(model: SnnModel, options: LoihiOptions = {}): CompiledLoihi {
  if (options.resetInterval !== undefined && !(Number.isInteger(options.resetInterval) && options.resetInterval >= 1)) throw badInput(`--reset-interval must be a positive integer, got ${options.resetInterval}`);
  const { network, partition } = planLoihi(model, options);
  const { descriptor, ints } = buildDescriptor(network, partition, {
    snncVersion: SNNC_VERSION,
    sourceHash: modelHash(model),
    ...(network.host?.encoder ? { hostEncoder: modelToJson(network.host.encoder).doc } : {}),
    ...(options.resetInterval ? { resetInterval: options.resetInterval } : {}),
  });
  return { network, partition, descriptor, ints };
}

function resourceRows(network: LoihiNetwork, partition: Partition): ResourceRow[] {
  const rows: ResourceRow[] = [];
  for (const pp of partition.populations) {
    const pop = network.populations.find((p) => p.name === pp.population)!;
    const max = (f: (t: Partition['tiles'][number]) => number) => pp.tiles.reduce((m, t) => Math.max(m, f(t)), -Infinity);
    rows.push({
      layer: pp.population,
      neurons: pop.neurons,
      compartments: pp.tiles.reduce((s, t) => s + t.compartments, 0),
      synapses: pp.tiles.reduce((s, t) => s + t.synapses, 0),
      cores: pp.tiles.length,
      'lower bound': pp.lowerBound,
      split: pp.split.join('×'),
      'max cx/core': max((t) => t.compartments),
      'max in-axons/core': max((t) => t.inAxons),
      'max out-axons/core': max((t) => t.outAxons),
      'max syn bits/core': max((t) => t.synapseBits),
    });
  }
  partition.tiles.forEach((t, i) => {
    rows.push({
      layer: `core ${i} (${t.population})`,
      neurons: t.neurons,
      compartments: t.compartments,
      synapses: t.synapses,
      'max cx/core': `${t.compartments}/${partition.chip.compartments}`,
      'max in-axons/core': `${t.inAxons}/${partition.chip.inAxons}`,
      'max out-axons/core': `${t.outAxons}/${partition.chip.outAxons}`,
      'max syn bits/core': `${t.synapseBits}/${partition.chip.synapseBits}`,
    });
  });
  return rows;
}

const systemLine = (s: LoihiSystem) => `system ${s.name}: ${s.chips} chips on a ${s.mesh.join('×')} mesh (layout assumed; see targets/loihi/system.ts)`;

/** "1 234 of 56 789 output axons leave their chip, ≤ 3 hops (mean 1.20), busiest link 456 routes". */
function interChipLine(d: LoihiDescriptor, ints: Int32Array, system: LoihiSystem): string {
  const r = interChipRoutes(
    system,
    (core) => d.cores[core].chip,
    (fn) => {
      for (const c of d.cores) for (let i = c.outAxons[0] + 1; i < c.outAxons[0] + c.outAxons[1]; i += 3) fn(c.id, ints[i]);
    },
  );
  return `${r.interChip} of ${r.axons} output axons leave their chip, ≤ ${r.maxHops} hops (mean ${r.meanHops.toFixed(2)}) on ${system.name}'s ${system.mesh.join('×')} mesh, busiest link ${r.busiestLink} routes`;
}

function quantisationWarnings(network: LoihiNetwork): string[] {
  const out: string[] = [];
  for (const r of network.quantisation) {
    if (Number(r['bias clipped']) > 0) out.push(`layer "${r.layer}": ${r['bias clipped']} bias values clipped to the 13-bit mantissa`);
    if (Number(r['weight err %']) > 2) out.push(`layer "${r.layer}": 8-bit weights deviate by ${r['weight err %']} % (RMS) from the float weights`);
  }
  return out;
}

export const loihiTarget: Target<LoihiOptions> = {
  name: 'loihi',
  description: 'Loihi 1/2 cores: loihi.json descriptor + loihi.bin, run by the bit-accurate emulator',
  neuronModels: LOIHI_NEURON_MODELS,
  options: LOIHI_OPTIONS,
  recognises: (dir) => existsSync(join(dir, 'loihi.json')),
  async open(dir: string): Promise<Engine> {
    const e = new LoihiEmulator(readLoihiFolder(dir));
    const d = e.descriptor;
    return { input: d.input, timesteps: d.timesteps, description: `loihi emulator (${d.chip}, ${d.totals.cores} cores)`, batch: 16, run: (x, n, opt) => e.run(x, n, opt) };
  },
  diff(model: SnnModel, raw: Float32Array, batch: number, options: LoihiOptions): EmulatorDiff {
    return diffLoihi(model, raw, batch, { ...options, system: undefined, chips: Number.MAX_SAFE_INTEGER }); // a diff is not bounded by the board
  },
  check(model: SnnModel, options: LoihiOptions): CheckReport {
    try {
      checkNeuronModels(model, 'loihi', LOIHI_NEURON_MODELS);
      const { network, partition } = planLoihi(model, options);
      return {
        target: 'loihi',
        fits: true,
        rows: resourceRows(network, partition),
        messages: [
          `${partition.cores} cores on ${partition.chips} ${partition.chip.kind} chip(s); lower bound ${partition.lowerBound} (no split of a layer that fits its own budgets uses fewer; the resource totals alone need ${partition.volumeBound}) (${partition.chip.source})`,
          ...(options.system ? [systemLine(systemOf(options))] : []),
          ...network.quantisation.map((r) => `quantised ${r.layer}: scale ${r.scale}, max |w| ${r['max |w_int|']}, weight error ${r['weight err %']} %, vth ${r.vth}, du ${r.du}, dv ${r.dv}, depth ${r.depth}`),
          ...quantisationWarnings(network),
        ],
      };
    } catch (e) {
      return doesNotFitReport('loihi', e);
    }
  },
  async emit(model: SnnModel, outDir: string, options: LoihiOptions): Promise<EmitResult> {
    checkNeuronModels(model, 'loihi', LOIHI_NEURON_MODELS);
    const c = compileLoihi(model, options);
    const d = c.descriptor;
    const routes = d.totals.chips > 1 ? { 'inter-chip routes': interChipLine(d, c.ints, systemOf(options)) } : {};
    const summary = { chip: d.chip, cores: d.totals.cores, chips: d.totals.chips, 'lower bound': d.totals.lowerBound, compartments: d.totals.compartments, synapses: d.totals.synapses, 'shared weights': d.totals.sharedWeights, T: d.timesteps, latency: d.output.start, ...routes };
    const files = await writeArtifactFolder(outDir, { target: 'loihi', descriptor: d, words: c.ints, summary, quantisation: c.network.quantisation }, { force: options.force });
    return { files, summary, warnings: quantisationWarnings(c.network) };
  },
};
