/**
 * `snnc compile --target gpu --numerics loihi`: the network as the loihi target quantises it, lowered to
 * integer ONNX by the Loihi target (targets/loihi/onnx.ts), packaged as a gpu folder whose manifest
 * records the numerics (manifest.ts LoihiNumerics). `snnc run` of it decodes as the Loihi emulator does
 * (runtime/loihi-numerics.ts), so it gives the emulator's outputs, bit for bit, at onnxruntime's speed.
 */
import { badInput } from '../../compiler/errors.js';
import { modelHash } from '../../compiler/ir/hash.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { modelToJson } from '../../compiler/ir/serialize/write.js';
import { SNNC_VERSION } from '../../compiler/version.js';
import { encodeModel } from '../common/onnx-builder.js';
import { quantiseForChip } from '../loihi/index.js';
import { lowerLoihiToOnnx } from '../loihi/onnx.js';
import { DEFAULT_CHIP } from '../loihi/options.js';
import type { CompiledGpu } from './index.js';
import { type GpuManifest, MANIFEST_FORMAT } from './manifest.js';
import type { GpuOptions } from './options.js';

export function compileLoihiNumerics(model: SnnModel, options: GpuOptions, resolved: { batch: number; probes: readonly string[]; opset: number; irVersion: number }): CompiledGpu {
  if (options.schedule !== undefined && options.schedule !== 'layerwise') throw badInput(`--numerics loihi is compiled layerwise (the scan and step schedules are float only), got --schedule ${options.schedule}`);
  if (options.outputSteps) throw badInput('--numerics loihi: per-step float outputs are not available; the runner decodes the integer output');
  const net = quantiseForChip(model, options);
  const { builder, io } = lowerLoihiToOnnx(net, { batch: resolved.batch, probes: resolved.probes, resetInterval: options.resetInterval });
  const out = net.populations.find((p) => p.name === net.output.population)!;
  const hostPop = net.host && net.populations.find((p) => p.name === net.host!.population)!;
  const sourceHash = modelHash(model);
  const chip = options.chip ?? DEFAULT_CHIP;
  const onnx = encodeModel(builder.graph(model.name.replace(/[^A-Za-z0-9_]/g, '_') || 'snn', true), {
    opset: resolved.opset,
    irVersion: resolved.irVersion,
    producerVersion: SNNC_VERSION,
    docString: `SNN "${model.name}" compiled by snnc in ${chip} integer arithmetic: layerwise, ${io.steps} steps (T=${net.timesteps}), batch ${resolved.batch}`,
    metadata: { 'snnc.source_hash': sourceHash, 'snnc.schedule': 'layerwise', 'snnc.timesteps': String(net.timesteps), 'snnc.numerics': chip },
  });
  const manifest: GpuManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: 1,
    snncVersion: SNNC_VERSION,
    sourceHash,
    model: model.name,
    file: 'model.onnx',
    opset: resolved.opset,
    irVersion: resolved.irVersion,
    schedule: 'layerwise',
    timesteps: net.timesteps,
    batch: resolved.batch,
    dt: model.dt,
    inputShape: [...model.input.shape],
    encoding: model.input.encoding,
    preprocess: model.input.preprocess,
    decoding: model.output.decoding,
    classes: out.neurons,
    io: {
      input: { name: io.input.name, dims: io.input.dims, hasTimeAxis: io.input.kind === 'spikes' },
      output: { name: io.output.name, dims: io.output.dims },
      states: [],
      probes: io.probes.map((p) => ({ layer: p.layer, name: p.spikes, dims: p.dims })),
    },
    numerics: {
      kind: 'loihi',
      chip,
      steps: io.steps,
      window: { start: out.depth, length: net.timesteps },
      outputValues: io.output.values,
      outputScale: out.scale,
      ...(hostPop ? { host: { scale: hostPop.scale, ...(net.host!.encoder ? { encoder: modelToJson(net.host!.encoder).doc } : {}) } } : {}),
      states: io.probes.map((p) => ({ layer: p.layer, u: p.u, v: p.v })),
    },
  };
  return { onnx, manifest };
}
