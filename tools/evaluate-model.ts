/**
 * What `snnc eval` measures for one model file, as a library call: an SNN's accuracy at each T; for an
 * ANN, its own accuracy (onnxruntime on the ONNX file as it is, else the engine at T=1) and, given
 * calibration data (or --norm qcfs, which needs none), its conversion's accuracy at each T; for a T=1
 * model trained with membrane noise, its noisy (Monte-Carlo) and mean-field T=1 accuracies and its
 * T=1→T=N conversion's accuracy at each T. The ANN is calibrated on the engine asked for (onnxruntime by
 * default). Printing is the CLI's; the policy is here.
 */
import { extname } from 'node:path';
import { type Dataset, fitToModel } from '../compiler/io/datasets.js';
import { isNeuron } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { type MembraneNoise, noiseOf } from '../compiler/ir/noise.js';
import { type ConvertOptions, calibrateAnn, calibrateAnnWith, needsCalibration } from '../compiler/passes/conversion.js';
import { ortAnnSession } from '../runtime/ann-session.js';
import { convertT1Noise } from '../compiler/passes/convert-t1-noise.js';
import { type EvalOptions, accuracyVsT, annAccuracyOrt, convertedAccuracyVsT, noisyT1Accuracy } from './evaluate.js';

export interface EvaluateModelOptions extends EvalOptions {
  /** The T to evaluate the SNN (or the converted ANN / T=1 model) at. */
  readonly timesteps: readonly number[];
  /** Monte-Carlo noise draws for a T=1 noise-trained model's noisy accuracy (default 10). */
  readonly draws?: number;
  /** For an ANN: the conversion settings, and the calibration data (without it, only qcfs converts). */
  readonly conversion?: Omit<ConvertOptions, 'timesteps' | 'onProgress'> & { readonly calib?: Dataset };
  /** Names the data in error messages (default "data"). */
  readonly dataName?: string;
}

export interface ModelEvaluation {
  /** Accuracy (%) of an ANN as it is, else null. */
  readonly ann: number | null;
  /** For a T=1 noise-trained model: its T=1 accuracies (%) with noise (mean and sd over draws) and in the mean field. */
  readonly t1: { readonly noisy: number; readonly noisySd: number; readonly draws: number; readonly meanField: number; readonly noise: MembraneNoise } | null;
  /** Accuracy (%) at each T evaluated; empty for an ANN that was not converted. */
  readonly accuracy: ReadonlyMap<number, number>;
}

export async function evaluateModel(file: string, model: SnnModel, data: Dataset, options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const isAnn = !model.layers.some(isNeuron);
  const conversion = options.conversion;
  const convert = isAnn && conversion !== undefined && (conversion.calib !== undefined || !needsCalibration(conversion.norm));
  const Ts = !isAnn || convert ? options.timesteps : [];
  fitToModel(data, model.input.shape, model.input.encoding.type === 'events' ? Math.max(...options.timesteps) : undefined, options.dataName ?? 'data');
  const ann = !isAnn ? null : extname(file).toLowerCase() === '.onnx' ? await annAccuracyOrt(file, data, conversion?.inputPreprocess) : (await accuracyVsT(model, data, [1], { ...options, onProgress: undefined })).get(1)!;
  const noise = noiseOf(model, file);
  let t1: ModelEvaluation['t1'] = null;
  let snn = model;
  if (noise) {
    const draws = options.draws ?? 10;
    const noisy = await noisyT1Accuracy(model, data, noise, draws, { batch: options.batch });
    const { tfEvaluate } = await import('../training/train.js'); // tfjs loads on first use only
    t1 = { noisy: noisy.mean, noisySd: noisy.sd, draws, meanField: (await tfEvaluate(model, data, { kind: 'mean-field' }, noise)).accuracy, noise };
    snn = convertT1Noise(model, { timesteps: Math.max(...Ts), noise });
  }
  if (!convert) return { ann, t1, accuracy: await accuracyVsT(snn, data, Ts, options) };
  const settings = { ...conversion!, timesteps: 1 };
  const calibrated = options.engine === 'simulator' ? calibrateAnn(model, conversion!.calib, settings) : await calibrateAnnWith(ortAnnSession({ threads: options.threads }), model, conversion!.calib, settings);
  return { ann, t1, accuracy: await convertedAccuracyVsT(calibrated, data, Ts, settings, options) };
}
