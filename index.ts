/**
 * snnc's library API, for deployment pipelines: `import { readModelJson, simulate, gpuTarget } from 'snnc'`.
 * Everything here is also what the CLI uses; nothing is CLI-only.
 */
export { SnncError, ExitCode } from './compiler/errors.js';
export * from './compiler/ir/layers.js';
export * from './compiler/ir/model.js';
export { type Tensor, tensor, sizeOf } from './compiler/ir/tensor.js';
export { verifyModel } from './compiler/ir/verify.js';
export { inferShapes } from './compiler/ir/shapes.js';
export { modelHash } from './compiler/ir/hash.js';
export { type Pass, runPasses } from './compiler/passes/pipeline.js';
export { loadModel } from './compiler/frontends/index.js';
export { readModelJson, parseModelJson } from './compiler/ir/serialize/read.js';
export { writeModelJson, modelToJson } from './compiler/ir/serialize/write.js';
export { modelSchema } from './compiler/ir/serialize/schema.js';
export { simulate, type SimulateOptions, type SimulateResult } from './compiler/reference/simulator.js';
export { OrtRunner, type RunnerOptions, type RunResult } from './runtime/ort-runner.js';
export { loadDataset, parseRange, type Dataset } from './compiler/io/datasets.js';
export type { Target, CompileOptions, CheckReport, EmitResult, Engine, RunOptions, EmulatorDiff, LayerDiff, TargetOption } from './targets/target.js';
export { TARGETS, targetByName } from './targets/index.js';
export { gpuTarget, compileGpu } from './targets/gpu/index.js';
export type { GpuOptions } from './targets/gpu/options.js';
export type { LoihiOptions } from './targets/loihi/options.js';
export type { SpinnakerOptions } from './targets/spinnaker/options.js';
export { loihiTarget, compileLoihi, planLoihi } from './targets/loihi/index.js';
export { type LoihiDescriptor } from './targets/loihi/descriptor.js';
export { CHIPS, type ChipKind } from './targets/loihi/chip.js';
export { netxTarget } from './targets/netx/index.js';
export { readNetx } from './compiler/frontends/netx/read.js';
export { LoihiEmulator, readLoihiFolder, type EmulateOptions, type EmulateResult } from './targets/loihi/emulator.js';
export { spinnakerTarget, compileSpinnaker, type CompiledSpinnaker } from './targets/spinnaker/index.js';
export { type SpinnakerDescriptor } from './targets/spinnaker/descriptor.js';
export { machineByName, type Machine } from './targets/spinnaker/machine.js';
export { compressOrderedPairs, followKey, type RoutingEntry } from './targets/spinnaker/routing.js';
export { SpinnakerEmulator, readSpinnakerFolder, type SpinnakerRunOptions, type SpinnakerRunResult } from './targets/spinnaker/emulator.js';
export { diffLoihi } from './targets/loihi/diff.js';
export { diffSpinnaker } from './targets/spinnaker/diff.js';
export { SNNC_VERSION } from './compiler/version.js';
export { type MembraneNoise, noiseOf, parseNoiseSpec, firingProbability } from './compiler/ir/noise.js';
export { convertT1Noise, type T1NoiseConversionOptions } from './compiler/passes/convert-t1-noise.js';
export { convertAnn, calibrateAnn, conversionSource, type ConversionSource, type ConvertOptions } from './compiler/passes/conversion.js';
export { accuracyVsT, outputsVsT, type EvalOptions } from './tools/evaluate.js';
export { evaluateModel, type EvaluateModelOptions, type ModelEvaluation } from './tools/evaluate-model.js';
// Training loads TensorFlow.js on first use only.
export { readArchitecture, type TrainingMode } from './training/architecture.js';
export { train, trainingNoise, tfEvaluate, type TrainOptions, type EpochReport } from './training/train.js';
