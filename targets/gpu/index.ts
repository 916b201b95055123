/**
 * The gpu target: IR → an ONNX model (opset 17, IR 8, static shapes, fixed T) that onnxruntime runs on
 * CPU, CUDA or WebGPU and in the browser, plus manifest.json. See schedules.ts for the time layouts.
 */
import { badInput } from '../../compiler/errors.js';
import { modelHash } from '../../compiler/ir/hash.js';
import { isSpikingLayer, layerKind } from '../../compiler/ir/layers.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { writeDirAtomic } from '../../compiler/io/atomic-write.js';
import { SNNC_VERSION } from '../../compiler/version.js';
import { type CheckReport, type EmitResult, type Target, doesNotFitReport } from '../target.js';
import { GPU_OPTIONS, type GpuOptions, NUMERICS } from './options.js';
import { compileChipNumerics, diffChipNumerics } from './chip-numerics.js';
import { loweringContext } from './lower.js';
import { GPU_FILES, type GpuManifest, MANIFEST_FORMAT, writeGpuFiles } from './manifest.js';
import { type GraphBuilder, encodeModel } from '../common/onnx-builder.js';
import { SCHEDULES, type Schedule, schedule } from './schedules.js';
import { laterReads } from '../../compiler/ir/graph.js';

export const OPSET = 17;
export const IR_VERSION = 8;
export const DEFAULT_BATCH = 64;

export interface CompiledGpu {
  readonly onnx: Uint8Array;
  readonly manifest: GpuManifest;
}

function resolveOptions(model: SnnModel, options: GpuOptions) {
  const timesteps = options.timesteps ?? model.timesteps;
  const batch = options.batch ?? DEFAULT_BATCH;
  // layerwise by default (the fastest), scan for a model that reads earlier steps (a cycle, a delay listed later).
  const sched = (options.schedule ?? (laterReads(model.layers).length > 0 ? 'scan' : 'layerwise')) as Schedule;
  if (!Number.isInteger(timesteps) || timesteps < 1) throw badInput(`--timesteps must be a positive integer, got ${timesteps}`);
  if (!Number.isInteger(batch) || batch < 1) throw badInput(`--batch must be a positive integer, got ${batch}`);
  if (!SCHEDULES.includes(sched)) throw badInput(`--schedule must be one of ${SCHEDULES.join(', ')}, got "${options.schedule}"`);
  const neurons = model.layers.filter(isSpikingLayer).map((l) => l.name);
  const probes = options.probes === 'all' || options.probes?.includes('all') ? neurons : [...(options.probes ?? [])];
  for (const p of probes) if (!neurons.includes(p)) throw badInput(`probe "${p}" is not a spiking neuron layer of the model (spiking layers: ${neurons.join(', ')})`);
  return { timesteps, batch, schedule: sched, probes, outputSteps: options.outputSteps ?? false };
}

/** Compiles in memory: the ONNX bytes and the manifest. Deterministic: same input, same bytes. */
export function compileGpu(model: SnnModel, options: GpuOptions = {}): CompiledGpu {
  const shapes = verifyModel(model);
  if (options.numerics !== undefined && !NUMERICS.includes(options.numerics as never)) throw badInput(`--numerics must be one of ${NUMERICS.join(', ')}, got "${options.numerics}"`);
  const chip = options.numerics !== undefined && options.numerics !== 'float';
  const opts = resolveOptions(model, { ...options, schedule: options.schedule ?? (chip ? 'layerwise' : undefined) });
  if (chip) return compileChipNumerics(model, options, { batch: opts.batch, probes: opts.probes });
  const ctx = loweringContext(model, shapes, opts.batch, opts.timesteps);
  const { builder, io } = schedule(opts.schedule, ctx, { probes: opts.probes, outputSteps: opts.outputSteps });
  return packageGpu(model, builder, { schedule: opts.schedule, timesteps: opts.timesteps, batch: opts.batch, classes: sizeOf(shapes.get(model.output.layer)!), io }, `${opts.schedule} schedule`);
}

/** What a compiled graph adds to the model's own fields in the manifest. */
type CompiledFields = Pick<GpuManifest, 'schedule' | 'timesteps' | 'batch' | 'classes' | 'io' | 'numerics'>;

/** Encodes `builder`'s graph (opset 17, IR 8, with provenance metadata) and writes its manifest. Deterministic. */
export function packageGpu(model: SnnModel, builder: GraphBuilder, fields: CompiledFields, how: string): CompiledGpu {
  const sourceHash = modelHash(model);
  const onnx = encodeModel(builder.graph(model.name.replace(/[^A-Za-z0-9_]/g, '_') || 'snn', true), {
    opset: OPSET,
    irVersion: IR_VERSION,
    producerVersion: SNNC_VERSION,
    docString: `SNN "${model.name}" compiled by snnc: ${how}, T=${fields.timesteps}, batch ${fields.batch}`,
    metadata: { 'snnc.source_hash': sourceHash, 'snnc.schedule': fields.schedule, 'snnc.timesteps': String(fields.timesteps), ...(fields.numerics ? { 'snnc.numerics': fields.numerics.chip } : {}) },
  });
  const manifest: GpuManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: 1,
    snncVersion: SNNC_VERSION,
    sourceHash,
    model: model.name,
    file: 'model.onnx',
    opset: OPSET,
    irVersion: IR_VERSION,
    schedule: fields.schedule,
    timesteps: fields.timesteps,
    batch: fields.batch,
    dt: model.dt,
    inputShape: [...model.input.shape],
    encoding: model.input.encoding,
    preprocess: model.input.preprocess,
    decoding: model.output.decoding,
    classes: fields.classes,
    io: fields.io,
    ...(fields.numerics ? { numerics: fields.numerics } : {}),
  };
  return { onnx, manifest };
}

export const gpuTarget: Target<GpuOptions> = {
  name: 'gpu',
  description: 'ONNX model for onnxruntime (CPU, CUDA, WebGPU, browser)',
  /** The lowering interprets each model's declaration, so every declared model runs. */
  neuronModels: 'all',
  options: GPU_OPTIONS,
  /** `--numerics loihi|spinnaker`: the integer ONNX against that chip's emulator (the float ONNX equals the float simulator; README, Exactness). */
  diff(model, raw, batch, options, context) {
    if (options.numerics === undefined || options.numerics === 'float') throw badInput('snnc diff --target gpu compares the integer ONNX of --numerics loihi or --numerics spinnaker with that chip\'s emulator; give one of them');
    return diffChipNumerics(model, raw, batch, options, context.runGpu);
  },
  check(model: SnnModel, options: GpuOptions): CheckReport {
    if (options.numerics !== undefined && options.numerics !== 'float') {
      try {
        compileGpu(model, options);
      } catch (e) {
        return doesNotFitReport('gpu', e);
      }
    }
    const shapes = verifyModel(model);
    const opts = resolveOptions(model, options);
    const rows = model.layers.map((l) => {
      const tensors = [...Object.values(l), ...(l.op === 'neuron' ? Object.values(l.params) : [])];
      const params = tensors.reduce<number>((n, v) => n + (v && typeof v === 'object' && 'data' in v ? (v as { data: Float32Array }).data.length : 0), 0);
      return { layer: l.name, op: layerKind(l), shape: `[${shapes.get(l.name)!.join(', ')}]`, parameters: params };
    });
    return { target: 'gpu', fits: true, rows, messages: [`schedule ${opts.schedule}, T=${opts.timesteps}, batch ${opts.batch}: onnxruntime has no fixed resource limits`] };
  },
  async emit(model: SnnModel, outDir: string, options: GpuOptions): Promise<EmitResult> {
    const compiled = compileGpu(model, options);
    const { onnx, manifest } = compiled;
    await writeDirAtomic(outDir, (tmp) => writeGpuFiles(tmp, compiled), { force: options.force });
    return {
      files: [...GPU_FILES],
      summary: { schedule: manifest.schedule, timesteps: manifest.timesteps, batch: manifest.batch, bytes: onnx.length, sourceHash: manifest.sourceHash },
    };
  },
};
