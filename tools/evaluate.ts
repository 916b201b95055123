/**
 * Accuracy evaluation: an SNN at several T (through the compiled gpu model on onnxruntime, or the
 * reference simulator), and an ANN given as an ONNX file, run as it is by onnxruntime.
 */
import { readInputFile } from '../compiler/io/read-file.js';
import * as ort from 'onnxruntime-node';
import { ExitCode, SnncError, badInput } from '../compiler/errors.js';
import { type Preprocess, type SnnModel, averagesOverTime, isIdentityPreprocess } from '../compiler/ir/model.js';
import type { MembraneNoise } from '../compiler/ir/noise.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { compileGpu } from '../targets/gpu/index.js';
import type { Dataset } from '../compiler/io/datasets.js';
import { preprocess } from '../compiler/reference/encoders.js';
import { type Calibrated, type ConvertOptions, convertCalibrated, convertsPerT } from '../compiler/passes/conversion.js';
import { OrtRunner } from '../runtime/ort-runner.js';
import { accuracy, predictions } from '../compiler/reference/predictions.js';
import { type SimulateOptions, simulate } from '../compiler/reference/simulator.js';

export type Engine = 'ort' | 'simulator';

export interface EvalOptions {
  readonly engine?: Engine;
  readonly batch?: number;
  readonly threads?: number;
  /** Called after each batch with the samples done at the current T. */
  readonly onProgress?: (T: number, done: number) => void;
  /** Membrane noise for Monte-Carlo runs of a T=1 noise-trained model (simulator only; see SimulateOptions). */
  readonly membraneNoise?: SimulateOptions['membraneNoise'];
}

/** Per-step output values [T, n, classes] of `model` run for T steps. */
export async function runSnnSteps(model: SnnModel, data: Dataset, T: number, options: EvalOptions = {}): Promise<{ steps: Float32Array; classes: number }> {
  const batch = options.batch ?? 100;
  if ((options.engine ?? 'ort') === 'ort') {
    if (options.membraneNoise) throw badInput('membrane noise runs on the reference simulator only (--engine simulator)');
    const { onnx, manifest } = compileGpu(model, { timesteps: T, batch, outputSteps: true });
    const runner = await OrtRunner.fromBytes(manifest, onnx, { threads: options.threads });
    const r = await runner.run(data.x, data.n, data.offset, (d) => options.onProgress?.(T, d));
    await runner.close();
    return { steps: r.outputSteps!, classes: r.classes };
  }
  const per = sizeOf(data.sampleShape);
  let steps = new Float32Array(0);
  let classes = 0;
  for (let start = 0; start < data.n; start += batch) {
    const count = Math.min(batch, data.n - start);
    const r = simulate(model, data.x.subarray(start * per, (start + count) * per), count, { timesteps: T, sampleOffset: data.offset + start, outputSteps: true, membraneNoise: options.membraneNoise });
    if (start === 0) {
      classes = r.classes;
      steps = new Float32Array(T * data.n * classes);
    }
    for (let t = 0; t < T; t++) steps.set(r.outputSteps!.subarray(t * count * classes, (t + 1) * count * classes), (t * data.n + start) * classes);
    options.onProgress?.(T, start + count);
  }
  return { steps, classes };
}

/**
 * Decoded outputs [n, classes] of an SNN at each T, from one run of max(T) steps: nothing in an snnc
 * network depends on T, so the output decoded after T' steps is the float32 running sum of the first T'
 * step values (summed in step order, as the simulator does; divided by T' for the mean decodings).
 */
export async function outputsVsT(model: SnnModel, data: Dataset, timesteps: readonly number[], options: EvalOptions = {}): Promise<{ outputs: Map<number, Float32Array>; classes: number }> {
  const outputs = new Map<number, Float32Array>();
  if (timesteps.length === 0) return { outputs, classes: 0 };
  const maxT = Math.max(...timesteps);
  const { steps, classes } = await runSnnSteps(model, data, maxT, options);
  const size = data.n * classes;
  const sum = new Float32Array(size);
  for (let t = 1; t <= maxT; t++) {
    for (let i = 0; i < size; i++) sum[i] = Math.fround(sum[i] + steps[(t - 1) * size + i]);
    if (timesteps.includes(t)) outputs.set(t, averagesOverTime(model.output.decoding) ? sum.map((v) => Math.fround(v / t)) : sum.slice());
  }
  return { outputs, classes };
}

/** Accuracy (%) of an SNN at each T (see outputsVsT). */
export async function accuracyVsT(model: SnnModel, data: Dataset, timesteps: readonly number[], options: EvalOptions = {}): Promise<Map<number, number>> {
  if (!data.labels) throw badInput('accuracy needs labels (--labels FILE)');
  const { outputs, classes } = await outputsVsT(model, data, timesteps, options);
  return new Map([...outputs].map(([t, y]) => [t, accuracy(predictions(y, data.n, classes), data.labels!)]));
}

/** Accuracy (%) of an ONNX ANN run as it is by onnxruntime-node, on raw data preprocessed as given. */
export async function annAccuracyOrt(file: string, data: Dataset, pre?: Preprocess): Promise<number> {
  if (!data.labels) throw badInput('accuracy needs labels (--labels FILE)');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(readInputFile(file, 'ONNX model'), { executionProviders: ['cpu'] });
  } catch (e) {
    throw new SnncError(`${file}: onnxruntime cannot load it: ${(e as Error).message}`, ExitCode.runtime);
  }
  const inputName = session.inputNames[0];
  const meta = session.inputMetadata?.[0] as { shape?: (number | string)[] } | undefined;
  const dims = meta?.shape ?? [];
  const fixedBatch = typeof dims[0] === 'number' && dims[0] > 0 ? dims[0] : undefined;
  const perSample = sizeOf(data.sampleShape);
  const sampleDims = dims.length > 1 && dims.slice(1).every((d) => typeof d === 'number') ? (dims.slice(1) as number[]) : data.sampleShape;
  if (sizeOf(sampleDims) !== perSample) throw badInput(`${file}: the ANN takes [${sampleDims}] per sample, the data has [${data.sampleShape}]`);
  const x = pre && !isIdentityPreprocess(pre) ? preprocess(pre, data.x, perSample, sampleDims[0]) : data.x;
  const B = fixedBatch ?? 256;
  const predicted: number[] = [];
  for (let start = 0; start < data.n; start += B) {
    const count = Math.min(B, data.n - start);
    const chunk = new Float32Array(B * perSample);
    chunk.set(x.subarray(start * perSample, (start + count) * perSample));
    const feedCount = fixedBatch ?? count;
    const r = await session.run({ [inputName]: new ort.Tensor('float32', chunk.subarray(0, feedCount * perSample), [feedCount, ...sampleDims]) });
    const out = r[session.outputNames[0]].data as Float32Array;
    predicted.push(...predictions(out, feedCount, out.length / feedCount).slice(0, count));
  }
  await session.release();
  return accuracy(predicted, data.labels);
}

/**
 * Accuracy (%) of a calibrated ANN converted to an SNN, at each T. A T-dependent conversion (mse, layer-wise calibration)
 * is converted once per T and evaluated at that T; otherwise one conversion serves every T.
 */
export async function convertedAccuracyVsT(c: Calibrated, data: Dataset, timesteps: readonly number[], conversion: Omit<ConvertOptions, 'timesteps'>, options: EvalOptions = {}): Promise<Map<number, number>> {
  const maxT = Math.max(...timesteps);
  if (!convertsPerT(conversion)) return accuracyVsT(convertCalibrated(c, { ...conversion, timesteps: maxT }).snn, data, timesteps, options);
  const result = new Map<number, number>();
  for (const T of timesteps) {
    const acc = await accuracyVsT(convertCalibrated(c, { ...conversion, timesteps: T }).snn, data, [T], options);
    result.set(T, acc.get(T)!);
  }
  return result;
}

/**
 * Accuracy (%) of a T=1 model whose neurons see membrane noise, over `draws` Monte-Carlo draws (draw k
 * seeds the noise with k): the mean and the standard deviation across draws. Run by the reference simulator.
 */
export async function noisyT1Accuracy(model: SnnModel, data: Dataset, noise: MembraneNoise, draws: number, options: Pick<EvalOptions, 'batch'> = {}): Promise<{ mean: number; sd: number; perDraw: number[] }> {
  const perDraw: number[] = [];
  for (let seed = 1; seed <= draws; seed++) perDraw.push((await accuracyVsT(model, data, [1], { ...options, engine: 'simulator', membraneNoise: { noise, seed } })).get(1)!);
  const mean = perDraw.reduce((a, b) => a + b, 0) / draws;
  const sd = draws > 1 ? Math.sqrt(perDraw.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws - 1)) : 0;
  return { mean, sd, perDraw };
}
