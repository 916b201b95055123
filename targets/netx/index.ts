/**
 * The netx target: writes a lava-dl NetX `.net` (HDF5, loihi.md §3) from the Loihi quantisation of the
 * model, so a network compiled by snnc can be loaded by Lava (`netx.hdf5.Network`) and come back via
 * `snnc import`. NetX describes sequential CUBA networks only: one synapse layer per neuron layer, reset to
 * zero, v(0) = 0, no max-pool joins, no host prefix; anything else is refused with exit 3. Every value
 * is checked before writing against what the NetX reader accepts (integers, finite float32 values, decays
 * in 0…4096, vThMant in 0…2¹⁸), so a model whose quantisation overflows (e.g. an enormous dt) is refused
 * by layer and field rather than written. The file is byte-for-byte deterministic (io/hdf5-write.ts).
 * Neurons: NetX's CUBA neuron is the Loihi compartment and its SDNN neurons lava's sigma-delta ones, so
 * this target runs the Loihi quantiser's models (IF, LIF, CUBA-LIF; delta, sigma_delta, i:
 * LOIHI_NEURON_MODELS) and refuses others by name.
 */
import { join } from 'node:path';
import type { Group } from 'h5wasm/node';
import { writeHdf5File } from '../../compiler/io/hdf5-write.js';
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { modelHash } from '../../compiler/ir/hash.js';
import { writeTargetFolder } from '../common/artifact-folder.js';
import { LOIHI_NEURON_MODELS, type LoihiNetwork, type LoihiPopulation, quantiseForLoihi } from '../loihi/quantise.js';
import { type CheckReport, type CompileOptions, type EmitResult, type Target, checkNeuronModels } from '../target.js';

type Value = { kind: 'int'; data: number[]; shape: number[] } | { kind: 'float'; data: number[]; shape: number[] } | { kind: 'str'; value: string } | { kind: 'bool'; value: boolean };

interface NetxLayer {
  readonly name: string;
  readonly datasets: Record<string, Value>;
}

const int = (v: number): Value => ({ kind: 'int', data: [v], shape: [] });
const ints = (v: readonly number[]): Value => ({ kind: 'int', data: [...v], shape: [v.length] });
const floats = (v: ArrayLike<number>, shape: number[]): Value => ({ kind: 'float', data: Array.from(v), shape });

function refuse(layer: string, what: string): never {
  throw new SnncError(`layer "${layer}": ${what} cannot be expressed in NetX`, ExitCode.doesNotFit);
}

function neuron(p: LoihiPopulation): Record<string, Value> {
  const sd = p.profile.sigmaDelta;
  if (sd) {
    // netx's SDNN neurons: Delta (input layer), SigmaDelta with ReLU, Sigma (`sigma_output`); loihi.md §3.2.
    const type = { 'neuron/type': { kind: 'str', value: 'SDNN' } as Value };
    if (sd.kind === 'sigma') return { ...type, 'neuron/vThMant': int(0), 'neuron/sigma_output': { kind: 'bool', value: true } };
    return { ...type, 'neuron/vThMant': int(p.profile.vth), ...(sd.kind === 'sigma_delta' ? { 'neuron/activation': { kind: 'str', value: 'relu' } as Value } : {}) };
  }
  if (p.profile.resetSubtract !== undefined) refuse(p.name, 'reset "subtract"');
  if (p.profile.v0 !== 0) refuse(p.name, 'a non-zero v(0)');
  return {
    'neuron/type': { kind: 'str', value: 'CUBA' },
    'neuron/iDecay': int(p.profile.du + 1),
    'neuron/vDecay': int(p.profile.dv),
    'neuron/vThMant': int(p.profile.vth),
    'neuron/refDelay': int(1),
    'neuron/gradedSpike': { kind: 'bool', value: false },
  };
}

/** Bias as NetX stores it (weight units, exponent 6): per channel when constant per channel, else per neuron (vectors only). */
function bias(p: LoihiPopulation): Record<string, Value> {
  if (!p.bias) return {};
  // A CUBA bias enters v with exponent biasExp (NetX's unit is 2⁶); a sigma-delta bias is stored as its mantissa.
  const units = Array.from(p.bias, (m) => (p.profile.sigmaDelta ? m : m * 2 ** (p.profile.biasExp - 6)));
  if (p.shape.length !== 3) return { bias: floats(units, [units.length]) };
  const per = units.length / p.shape[0];
  const channel = Array.from({ length: p.shape[0] }, (_, c) => units[c * per]);
  if (units.some((u, i) => u !== channel[Math.floor(i / per)])) refuse(p.name, 'a bias that varies within a channel');
  return { bias: floats(channel, [channel.length]) };
}

export function toNetxLayers(net: LoihiNetwork): NetxLayer[] {
  const out: NetxLayer[] = [];
  let previous = 'input';
  for (const p of net.populations) {
    if (p.pool) refuse(p.name, 'a max-pool join');
    if (p.hostCurrent) {
      if (net.host?.encoder) refuse(p.name, 'a host-computed input prefix');
      out.push({ name: p.name, datasets: { type: { kind: 'str', value: 'input' }, shape: ints(p.shape), ...neuron(p), ...bias(p) } });
      previous = p.name;
      continue;
    }
    const incoming = net.projections.filter((x) => x.target === p.name && x.source !== p.name);
    const recurrent = net.projections.find((x) => x.target === p.name && x.source === p.name);
    if (incoming.length !== 1) refuse(p.name, `${incoming.length} incoming synapse layers (NetX layers have one)`);
    const proj = incoming[0];
    if (proj.source !== previous) refuse(p.name, `input from "${proj.source}" rather than the previous layer (NetX networks are sequential)`);
    if (proj.delay !== 0) refuse(p.name, 'a synaptic delay');
    const g = proj.geometry;
    if (g.kind === 'sparse') refuse(proj.name, 'a sparse projection by rule (NetX layers are dense or conv)');
    if (g.kind === 'dense') {
      const src = net.populations.find((x) => x.name === proj.source);
      if (src && src.shape.length === 3) out.push({ name: `${p.name}_flatten`, datasets: { type: { kind: 'str', value: 'flatten' }, shape: ints([g.nIn, 1, 1]) } });
      out.push({
        name: p.name,
        datasets: {
          type: { kind: 'str', value: recurrent ? 'dense_rec' : 'dense' },
          shape: ints(p.shape),
          inFeatures: int(g.nIn),
          outFeatures: int(g.nOut),
          weight: floats(proj.weights, [g.nOut, g.nIn]),
          ...(recurrent ? { weight_rec: floats(recurrent.weights, [g.nOut, g.nOut]) } : {}),
          ...neuron(p),
          ...bias(p),
        },
      });
    } else {
      if (recurrent) refuse(p.name, 'a recurrent conv layer');
      if (g.padding[0] !== g.padding[2] || g.padding[1] !== g.padding[3]) refuse(p.name, 'asymmetric padding');
      const [co, ci, kh, kw] = [g.outShape[0], g.inShape[0] / g.groups, g.kernel[0], g.kernel[1]];
      out.push({
        name: p.name,
        datasets: {
          type: { kind: 'str', value: 'conv' },
          shape: ints(p.shape),
          inChannels: int(g.inShape[0]),
          outChannels: int(co),
          kernelSize: ints([kh, kw]),
          stride: ints([...g.stride]),
          padding: ints([g.padding[0], g.padding[1]]),
          dilation: ints([1, 1]),
          groups: int(g.groups),
          weight: floats(proj.weights, [co, ci, kh, kw, 1]),
          ...neuron(p),
          ...bias(p),
        },
      });
    }
    previous = p.name;
  }
  for (const layer of out) validate(layer);
  return out;
}

/** Limits of the NetX reader (compiler/frontends/netx/read.ts) on neuron fields. */
const NEURON_RANGES: Record<string, number> = { 'neuron/iDecay': 4096, 'neuron/vDecay': 4096, 'neuron/vThMant': 2 ** 18 };

/** Refuses a value the NetX reader would reject (or that cannot be stored), naming the layer and field. */
function validate(layer: NetxLayer): void {
  for (const [field, v] of Object.entries(layer.datasets)) {
    if (v.kind === 'int') {
      const k = v.data.findIndex((x) => !Number.isSafeInteger(x) || (field in NEURON_RANGES && (x < 0 || x > NEURON_RANGES[field])));
      if (k >= 0) refuse(layer.name, `${field} = ${v.data[k]} (${field in NEURON_RANGES ? `an integer in 0…${NEURON_RANGES[field]}` : 'an integer'} expected)`);
    } else if (v.kind === 'float') {
      const k = v.data.findIndex((x) => !Number.isFinite(Math.fround(x)));
      if (k >= 0) refuse(layer.name, `${field}[${k}] = ${v.data[k]} (a finite float32 expected)`);
    }
  }
}

export async function writeNetxFile(path: string, layers: readonly NetxLayer[], timesteps: number, transform?: Record<string, number>): Promise<void> {
  if (!(Number.isSafeInteger(timesteps) && timesteps >= 1)) throw badInput(`timesteps must be a positive integer, got ${timesteps}`);
  for (const [k, v] of Object.entries(transform ?? {})) if (!Number.isFinite(Math.fround(v))) throw badInput(`model metadata netxInputTransform.${k} = ${v}: a finite float32 expected`);
  await writeHdf5File(path, (f) => {
    const sim = f.create_group('simulation') as Group;
    sim.create_dataset({ name: 'Ts', data: BigInt64Array.from([1n]), shape: [] });
    sim.create_dataset({ name: 'tSample', data: BigInt64Array.from([BigInt(timesteps)]), shape: [] });
    const root = f.create_group('layer') as Group;
    layers.forEach((layer, i) => {
      const g = root.create_group(String(i)) as Group;
      if (Object.keys(layer.datasets).some((k) => k.startsWith('neuron/'))) g.create_group('neuron');
      const sets = { ...layer.datasets, ...(i === 0 && layer.datasets.type.kind === 'str' && layer.datasets.type.value === 'input' && transform ? Object.fromEntries(Object.entries(transform).map(([k, v]) => [k, floats([v], [1])])) : {}) };
      for (const [name, v] of Object.entries(sets)) {
        if (v.kind === 'int') g.create_dataset({ name, data: BigInt64Array.from(v.data.map((x) => BigInt(x))), shape: v.shape });
        else if (v.kind === 'float') g.create_dataset({ name, data: Float32Array.from(v.data), shape: v.shape });
        else if (v.kind === 'bool') g.create_dataset({ name, data: new Uint8Array([v.value ? 1 : 0]), shape: [], dtype: '|b1' });
        else if (name === 'type') g.create_dataset({ name, data: [v.value], shape: [1], dtype: 'S10' });
        else g.create_dataset({ name, data: v.value });
      }
    });
  });
}

export const netxTarget: Target = {
  name: 'netx',
  description: 'lava-dl NetX network (model.net, HDF5) for Lava',
  neuronModels: LOIHI_NEURON_MODELS,
  check(model: SnnModel, options: CompileOptions): CheckReport {
    try {
      checkNeuronModels(model, 'netx', LOIHI_NEURON_MODELS);
      const layers = toNetxLayers(quantiseForLoihi(model, options));
      return { target: 'netx', fits: true, rows: layers.map((l) => ({ layer: l.name, netx: (l.datasets.type as { value: string }).value })), messages: [] };
    } catch (e) {
      if (e instanceof SnncError && e.exitCode === ExitCode.doesNotFit) return { target: 'netx', fits: false, rows: [], messages: [e.message] };
      throw e;
    }
  },
  async emit(model: SnnModel, outDir: string, options: CompileOptions): Promise<EmitResult> {
    checkNeuronModels(model, 'netx', LOIHI_NEURON_MODELS);
    const layers = toNetxLayers(quantiseForLoihi(model, options));
    const transform = model.metadata.netxInputTransform as Record<string, number> | undefined;
    const files = await writeTargetFolder(outDir, { target: 'netx', sourceHash: modelHash(model), model: model.name, files: ['model.net'] }, (tmp) => writeNetxFile(join(tmp, 'model.net'), layers, options.timesteps ?? model.timesteps, transform), { force: options.force });
    return { files, summary: { layers: layers.length } };
  },
};
