/**
 * What `snnc eval` measures for one model file, as a library call: an SNN's accuracy at each T; for an
 * ANN, its own accuracy and, given calibration data (or --norm qcfs, which needs none), its conversion's
 * accuracy at each T. An ONNX ANN calibrated on onnxruntime is run by one session for both (the prepared
 * ANN, recording its ReLUs and its output), unless preparing it changed its function (--maxpool avg): then
 * its accuracy is onnxruntime's on the ONNX file as it is; other ANNs run on the engine at T=1. For a T=1
 * model trained with membrane noise, its noisy (Monte-Carlo) and mean-field T=1 accuracies and its
 * T=1→T=N conversion's accuracy at each T. The ANN is calibrated on the engine asked for (onnxruntime by
 * default). Printing is the CLI's; the policy is here.
 */
import { extname } from 'node:path';
import { badInput } from '../compiler/errors.js';
import { type Dataset, fitToModel } from '../compiler/io/datasets.js';
import { isNeuron } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { type MembraneNoise, noiseOf } from '../compiler/ir/noise.js';
import { type ConvertOptions, calibrateAnn, calibrateAnnWith, needsCalibration } from '../compiler/passes/conversion.js';
import type { AnnSession, OpenAnnSession } from '../compiler/passes/calibrate.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import { accuracy, predictions } from '../compiler/reference/predictions.js';
import { ortAnnSession } from '../runtime/ann-session.js';
import { convertT1Noise } from '../compiler/passes/convert-t1-noise.js';
import { type Engine, type EvalOptions, accuracyVsT, annAccuracyOrt, convertedAccuracyVsT, noisyT1Accuracy } from './evaluate.js';

export interface EvaluateModelOptions extends EvalOptions {
  /** The T to evaluate the SNN (or the converted ANN / T=1 model) at. */
  readonly timesteps: readonly number[];
  /** Monte-Carlo noise draws for a T=1 noise-trained model's noisy accuracy (default 10). */
  readonly draws?: number;
  /** For an ANN: the conversion settings, and the calibration data (without it, only qcfs converts). */
  readonly conversion?: Omit<ConvertOptions, 'timesteps' | 'onProgress'> & { readonly calib?: Dataset };
  /** Runs the ANN for calibration: onnxruntime or the reference simulator (the same λ on every machine); default: `engine`'s. */
  readonly calibEngine?: Engine;
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
  const isOnnx = extname(file).toLowerCase() === '.onnx';
  const calibOnOrt = (options.calibEngine ?? options.engine ?? 'ort') === 'ort';
  const shared = isOnnx && convert && calibOnOrt && conversion!.calib && needsCalibration(conversion!.norm) && conversion!.maxpool !== 'avg' ? sharedAnnSession(ortAnnSession({ threads: options.threads })) : undefined;
  const ann = !isAnn || shared ? null : isOnnx ? await annAccuracyOrt(file, data, conversion?.inputPreprocess) : (await accuracyVsT(model, data, [1], { ...options, onProgress: undefined })).get(1)!;
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
  if (shared) {
    try {
      const calibrated = await calibrateAnnWith(shared.open, model, conversion!.calib, settings);
      const annAccuracy = await shared.accuracy(data);
      return { ann: annAccuracy, t1, accuracy: await convertedAccuracyVsT(calibrated, data, Ts, settings, options) };
    } finally {
      await shared.release();
    }
  }
  const calibrated = !calibOnOrt ? calibrateAnn(model, conversion!.calib, settings) : await calibrateAnnWith(ortAnnSession({ threads: options.threads }), model, conversion!.calib, settings);
  return { ann, t1, accuracy: await convertedAccuracyVsT(calibrated, data, Ts, settings, options) };
}

/**
 * An OpenAnnSession whose session (opened once, by calibration, on the prepared ANN) also records the ANN's
 * output and stays open afterwards, so that the ANN's own accuracy is measured on it; `release` closes it.
 */
function sharedAnnSession(open: OpenAnnSession) {
  let kept: { ann: SnnModel; session: AnnSession } | undefined;
  return {
    async open(ann: SnnModel, record: readonly string[]): Promise<AnnSession> {
      const session = await open(ann, [...new Set([...record, ann.output.layer])]);
      kept = { ann, session };
      return { batch: session.batch, run: (x, count) => session.run(x, count) }; // no release: evaluateModel's
    },
    /** Accuracy (%) of the ANN's output (argmax) on labelled raw data; its preprocessing is in the graph. */
    async accuracy(data: Dataset): Promise<number> {
      const { ann, session } = kept!;
      if (!data.labels) throw badInput('accuracy needs labels (--labels FILE)');
      const classes = sizeOf(verifyModel(ann).get(ann.output.layer)!);
      const per = sizeOf(ann.input.shape);
      const batch = session.batch ?? 100;
      const outputs = new Float32Array(data.n * classes);
      for (let start = 0; start < data.n; start += batch) {
        const count = Math.min(batch, data.n - start);
        const values = await session.run(data.x.subarray(start * per, (start + count) * per), count);
        outputs.set(values.get(ann.output.layer)!.subarray(0, count * classes), start * classes);
      }
      return accuracy(predictions(outputs, data.n, classes), data.labels);
    },
    release: async () => kept?.session.release?.(),
  };
}
