/**
 * `snnc compile --target gpu --numerics loihi|spinnaker`: the network as that chip target quantises it,
 * lowered to integer ONNX by the chip target itself (targets/loihi/onnx.ts, targets/spinnaker/onnx.ts)
 * and packaged here as a gpu folder whose manifest records the numerics (manifest.ts ChipNumerics).
 * `snnc run` of it feeds and decodes as that chip's emulator does (runtime/chip-numerics.ts), so it gives
 * the emulator's outputs, bit for bit, at onnxruntime's speed; `snnc diff --target gpu --numerics …`
 * compares the two population by population (diffChipNumerics).
 */
import { badInput } from '../../compiler/errors.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { modelToJson } from '../../compiler/ir/serialize/write.js';
import { argmax } from '../../compiler/reference/predictions.js';
import type { ChipOnnxIO } from '../common/chip-onnx.js';
import type { QuantisedNetwork } from '../common/network.js';
import type { GraphBuilder } from '../common/onnx-builder.js';
import { LoihiEmulator } from '../loihi/emulator.js';
import { compileLoihi, quantiseForChip as quantiseForLoihi } from '../loihi/index.js';
import { lowerLoihiToOnnx } from '../loihi/onnx.js';
import { DEFAULT_CHIP } from '../loihi/options.js';
import { SpinnakerEmulator } from '../spinnaker/emulator.js';
import { compileSpinnaker, quantiseForChip as quantiseForSpinnaker } from '../spinnaker/index.js';
import { lowerSpinnakerToOnnx } from '../spinnaker/onnx.js';
import type { EmulatorDiff, LayerDiff, RunGpu } from '../target.js';
import { type CompiledGpu, packageGpu } from './index.js';
import type { ChipNumerics } from './manifest.js';
import type { GpuOptions } from './options.js';

/** SpiNNaker-1M: the emulator of a diff is not bounded by a board. */
const LARGEST_MACHINE = '20x20-boards';

interface Resolved {
  readonly batch: number;
  readonly probes: readonly string[];
}

/** What each chip's lowering gives the packaging: the graph, its interface and the numerics record. */
interface Lowered {
  readonly builder: GraphBuilder;
  readonly timesteps: number;
  readonly classes: number;
  readonly io: ChipOnnxIO;
  readonly numerics: ChipNumerics;
}

/** `--probe all` means every population of the chip's network (max-pool ORs and readouts too); else the layers named. */
function probesOf(options: GpuOptions, r: Resolved, populations: readonly { readonly name: string }[]): readonly string[] {
  return options.probes === 'all' || options.probes?.includes('all') ? populations.map((p) => p.name) : r.probes;
}

type Population = { readonly name: string; readonly depth: number; readonly neurons: number };

/**
 * What every chip's lowering records alike (the output population's size, steps, window, output
 * values, probed states, the host encoder), around what only that chip knows (`own`, given the output
 * population).
 */
function lowered<P extends Population>(net: QuantisedNetwork<P, unknown>, builder: GraphBuilder, io: ChipOnnxIO, own: (out: P, encoder: { encoder?: Record<string, unknown> }) => Omit<ChipNumerics, 'steps' | 'window' | 'outputValues' | 'states'>): Lowered {
  const out = net.populations.find((p) => p.name === net.output.population)!;
  const encoder = net.host?.encoder ? { encoder: modelToJson(net.host.encoder).doc } : {};
  const { kind, chip, outputScale, host } = own(out, encoder);
  const window = { start: out.depth, length: net.timesteps };
  const states = io.probes.map((p) => ({ layer: p.layer, u: p.u, v: p.v }));
  return { builder, io, timesteps: net.timesteps, classes: out.neurons, numerics: { kind, chip, steps: io.steps, window, outputValues: io.output.values, outputScale, ...(host ? { host } : {}), states } };
}

function lowerLoihi(model: SnnModel, options: GpuOptions, r: Resolved): Lowered {
  const net = quantiseForLoihi(model, options);
  const { builder, io } = lowerLoihiToOnnx(net, { batch: r.batch, probes: probesOf(options, r, net.populations), resetInterval: options.resetInterval });
  const hostPop = net.host && net.populations.find((p) => p.name === net.host!.population)!;
  return lowered(net, builder, io, (out, encoder) => ({ kind: 'loihi', chip: options.chip ?? DEFAULT_CHIP, outputScale: 64 * out.scale, ...(hostPop ? { host: { scale: hostPop.scale, ...encoder } } : {}) }));
}

function lowerSpinnaker(model: SnnModel, options: GpuOptions, r: Resolved): Lowered {
  const net = quantiseForSpinnaker(model, options);
  const { builder, io } = lowerSpinnakerToOnnx(net, { batch: r.batch, probes: probesOf(options, r, net.populations.filter((p) => p.role !== 'source')) });
  const hostPop = net.populations.find((p) => p.hostCurrent);
  return lowered(net, builder, io, (out, encoder) => ({ kind: 'spinnaker', chip: 'spinnaker1', outputScale: out.scale * 32768, ...(hostPop ? { host: { scale: hostPop.scale, gain: hostPop.gain, ...encoder } } : {}) }));
}

export function compileChipNumerics(model: SnnModel, options: GpuOptions, resolved: Resolved, populations?: readonly string[]): CompiledGpu {
  if (options.schedule !== undefined && options.schedule !== 'layerwise') throw badInput(`--numerics ${options.numerics} is compiled layerwise (the scan and step schedules are float only), got --schedule ${options.schedule}`);
  if (options.outputSteps) throw badInput(`--numerics ${options.numerics}: per-step float outputs are not available; the runner decodes the integer output`);
  const r = populations ? { ...resolved, probes: populations } : resolved;
  const { builder, io, timesteps, classes, numerics } = options.numerics === 'spinnaker' ? lowerSpinnaker(model, options, r) : lowerLoihi(model, options, r);
  const gpuIO = { input: { name: io.input.name, dims: io.input.dims, hasTimeAxis: io.input.kind === 'spikes' }, output: { name: io.output.name, dims: io.output.dims }, states: [], probes: io.probes.map((p) => ({ layer: p.layer, name: p.spikes, dims: p.dims })) };
  return packageGpu(model, builder, { schedule: 'layerwise', timesteps, batch: resolved.batch, classes, io: gpuIO, numerics }, `${numerics.chip} integer arithmetic, layerwise, ${numerics.steps} steps`);
}

/** One population's spikes [S, n, N] on both sides, step for step: counts, mismatches, the first divergence. */
function layerDiff(layer: string, depth: number, neurons: number, reference: Uint8Array, onnx: Uint8Array, n: number): LayerDiff {
  let [floatSpikes, emulatorSpikes, mismatches] = [0, 0, 0];
  let first: LayerDiff['first'];
  for (let i = 0; i < reference.length; i++) {
    floatSpikes += reference[i];
    emulatorSpikes += onnx[i];
    if (reference[i] !== onnx[i]) {
      mismatches++;
      first ??= { step: Math.floor(i / (n * neurons)) + 1, sample: Math.floor(i / neurons) % n, neuron: i % neurons };
    }
  }
  return { layer, depth, floatSpikes, emulatorSpikes, mismatches, ...(first ? { first } : {}) };
}

/** The chip's emulator on `raw`: its decoded output and every population's spikes [S, n, N], with each population's depth and size. */
function emulate(model: SnnModel, raw: Float32Array, n: number, options: GpuOptions) {
  if (options.numerics === 'spinnaker') {
    const c = compileSpinnaker(model, { ...options, machine: options.machine ?? LARGEST_MACHINE });
    const pops = c.network.populations.filter((p) => p.role !== 'source');
    const r = new SpinnakerEmulator(c).run(raw, n, { probes: pops.map((p) => p.name) });
    return { output: r.output, pops: pops.map((p) => ({ name: p.name, depth: p.depth, neurons: p.neurons, spikes: r.spikes.get(p.name)! })) };
  }
  const c = compileLoihi(model, { ...options, chips: Number.MAX_SAFE_INTEGER }); // a diff is not bounded by the board
  const pops = c.network.populations;
  const r = new LoihiEmulator(c).run(raw, n, { probes: pops.map((p) => p.name) });
  return { output: r.output, pops: pops.map((p) => ({ name: p.name, depth: p.depth, neurons: p.neurons, spikes: r.spikes.get(p.name)! })) };
}

/**
 * `snnc diff --target gpu --numerics loihi|spinnaker`: the integer ONNX (run by `runGpu`) against the
 * chip's emulator on the same input, every population step for step (both run the chip's timing), and
 * the predicted classes.
 */
export async function diffChipNumerics(model: SnnModel, raw: Float32Array, n: number, options: GpuOptions, runGpu: RunGpu): Promise<EmulatorDiff> {
  const emu = emulate(model, raw, n, options);
  const compiled = compileChipNumerics(model, options, { batch: Math.min(n, 64), probes: [] }, emu.pops.map((p) => p.name));
  const onnx = await runGpu(compiled, raw, n);
  const layers = emu.pops.map((p) => layerDiff(p.name, p.depth, p.neurons, p.spikes, onnx.spikes.get(p.name)!, n));
  const classes = emu.output.length / n;
  let agreeing = 0;
  for (let s = 0; s < n; s++) if (argmax(emu.output.subarray(s * classes, (s + 1) * classes)) === argmax(onnx.output.subarray(s * classes, (s + 1) * classes))) agreeing++;
  return { target: `${options.numerics} integer ONNX`, reference: `${options.numerics} emulator`, layers, samples: n, timesteps: compiled.manifest.numerics!.steps, agreeing };
}
