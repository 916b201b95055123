/**
 * Supervised training of a T=1 IR model with TensorFlow.js (training/tf-network.ts): softmax
 * cross-entropy on the output layer's values, Adam, seeded shuffling and noise, so the same command
 * gives the same weights. Modes: `t1-noise` (IF neurons with membrane noise, conversion.md §6.2) and
 * `ann` (ReLU, the baseline the ANN→SNN conversion pass takes). Returns the trained model with its
 * noise record (`metadata.noise`) and training record (`metadata.training`; no timings, which differ
 * from run to run); per-epoch timings go to `onEpoch`.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { badInput } from '../compiler/errors.js';
import { isNeuron } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { type MembraneNoise, NOISE_SITE } from '../compiler/ir/noise.js';
import { layerValue } from '../compiler/ir/params.js';
import { shapeToString, sizeOf } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import type { Dataset } from '../compiler/io/datasets.js';
import { preprocess } from '../compiler/reference/encoders.js';
import { accuracy, predictions } from '../compiler/reference/predictions.js';
import { streamGenerator } from '../compiler/reference/seeded-rng.js';
import type { TrainingMode } from './architecture.js';
import { type ForwardMode, TfNetwork, loadTf } from './tf-network.js';

export interface TrainOptions {
  readonly mode: TrainingMode;
  /** Membrane noise for `t1-noise` (std > 0: the gradient is the noise density); default: trainingNoise's. */
  readonly noise?: MembraneNoise;
  readonly epochs: number;
  readonly batch: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Where the data came from, recorded in the model (e.g. "t10k-images-idx3-ubyte.gz #0–7999"). */
  readonly dataDescription?: string;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (done: number, total: number) => void;
}

export interface EpochReport {
  readonly epoch: number;
  readonly loss: number;
  /** Validation accuracy (%): noisy T=1 (one draw) and mean-field for t1-noise, the ANN's for ann. */
  readonly val?: { readonly accuracy: number; readonly meanField?: number };
  readonly seconds: number;
}

/** Preprocessed samples and labels, checked against the model. */
interface Prepared {
  readonly x: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
}

function prepare(model: SnnModel, data: Dataset, what: string, classes: number): Prepared {
  const per = sizeOf(model.input.shape);
  if (sizeOf(data.sampleShape) !== per) throw badInput(`${what}: each sample has shape ${shapeToString(data.sampleShape)} (${sizeOf(data.sampleShape)} values) but the architecture takes ${shapeToString(model.input.shape)}`);
  if (!data.labels) throw badInput(`${what}: training needs labels`);
  const bad = data.labels.findIndex((l) => !(l >= 0 && l < classes));
  if (bad >= 0) throw badInput(`${what}: label ${data.labels[bad]} of sample ${data.offset + bad} is not a class index in 0…${classes - 1} (the readout has ${classes} outputs)`);
  return { x: preprocess(model.input.preprocess, data.x, per, model.input.shape[0]), labels: data.labels, n: data.n };
}

/** The tfjs network's outputs [n, classes] in `mode` on prepared samples. */
async function outputsOf(net: TfNetwork, x: Float32Array, n: number, mode: ForwardMode, batch = 500): Promise<Float32Array> {
  const tf = await loadTf();
  const per = sizeOf(net.model.input.shape);
  const chunks: Float32Array[] = [];
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    chunks.push(tf.tidy(() => net.forward(tf.tensor(x.subarray(start * per, (start + count) * per), [count, ...net.model.input.shape]), mode).dataSync() as Float32Array));
  }
  const out = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

/** Accuracy (%) of the tfjs network in `mode` on prepared data. */
async function accuracyOf(net: TfNetwork, d: Prepared, mode: ForwardMode): Promise<number> {
  const y = await outputsOf(net, d.x, d.n, mode);
  return accuracy(predictions(y, d.n, y.length / d.n), d.labels);
}

/**
 * The membrane noise a `mode` run trains with: none for an ANN (giving one is an error), else `given`, else
 * gaussian with mean θ/2 and std θ/√12 (the uniform-variance match of conversion.md §6.2) when every
 * neuron layer has the same θ; with different thresholds the noise must be given.
 */
export function trainingNoise(model: SnnModel, mode: TrainingMode, given?: MembraneNoise): MembraneNoise | undefined {
  if (mode === 'ann') {
    if (given) throw badInput('--noise applies to --mode t1-noise; an ANN has no membrane');
    return undefined;
  }
  if (given) return given;
  const thresholds = model.layers.filter(isNeuron).map((l) => layerValue(l, 'threshold', 'membrane-noise sizing'));
  const theta = thresholds[0];
  if (thresholds.some((t) => t !== theta)) throw badInput(`the IF layers have different thresholds (${[...new Set(thresholds)].join(', ')}): give the noise explicitly with --noise gaussian:MEAN,STD`);
  return { dist: 'gaussian', mean: theta / 2, std: Number((theta / Math.sqrt(12)).toFixed(4)), where: NOISE_SITE };
}

export async function train(model: SnnModel, data: Dataset, val: Dataset | undefined, options: TrainOptions): Promise<{ model: SnnModel; history: EpochReport[] }> {
  const shapes = verifyModel(model);
  const classes = sizeOf(shapes.get(model.output.layer)!);
  const noise = trainingNoise(model, options.mode, options.noise);
  if (noise && !(noise.std > 0)) throw badInput(`--noise: std must be > 0 for training (the noise density is the gradient), got ${noise.std}`);
  const train = prepare(model, data, 'training data', classes);
  const check = val ? prepare(model, val, 'validation data', classes) : undefined;
  const tf = await loadTf();
  const net = await TfNetwork.create(model, noise);
  const optimizer = tf.train.adam(options.learningRate);
  const rng = streamGenerator(options.seed);
  const per = sizeOf(model.input.shape);
  const order = Int32Array.from({ length: train.n }, (_, i) => i);
  const history: EpochReport[] = [];
  const batches = Math.ceil(train.n / options.batch);
  let step = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const t0 = performance.now();
      for (let i = train.n - 1; i > 0; i--) {
        const j = uniformInt(rng, 0, i);
        [order[i], order[j]] = [order[j], order[i]];
      }
      let lossSum = 0;
      for (let k = 0; k < batches; k++) {
        const idx = order.subarray(k * options.batch, Math.min((k + 1) * options.batch, train.n));
        const xb = new Float32Array(idx.length * per);
        idx.forEach((s, r) => xb.set(train.x.subarray(s * per, (s + 1) * per), r * per));
        const labels = Int32Array.from(idx, (s) => train.labels[s]);
        const mode: ForwardMode = { kind: 'sample', seed: options.seed * 100003 + step++ };
        const loss = tf.tidy(() => {
          const x = tf.tensor(xb, [idx.length, ...model.input.shape]);
          const y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
          return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.forward(x, mode)) as ReturnType<typeof tf.scalar>, true, net.variables)!;
        });
        lossSum += loss.dataSync()[0] * idx.length;
        loss.dispose();
        options.onBatch?.(k + 1, batches);
      }
      const seconds = (performance.now() - t0) / 1000;
      let report: EpochReport = { epoch, loss: lossSum / train.n, seconds };
      if (check) {
        const accuracy = await accuracyOf(net, check, options.mode === 't1-noise' ? { kind: 'sample', seed: options.seed * 7919 + epoch } : { kind: 'deterministic' });
        report = { ...report, val: options.mode === 't1-noise' ? { accuracy, meanField: await accuracyOf(net, check, { kind: 'mean-field' }) } : { accuracy } };
      }
      history.push(report);
      options.onEpoch?.(report);
      if (!Number.isFinite(report.loss)) throw badInput(`training diverged at epoch ${epoch} (loss ${report.loss}); lower --lr`);
    }
    const neurons = model.layers.filter(isNeuron).map((l) => l.name);
    const round = (v: number) => Number(v.toFixed(4));
    const trained = net.toModel({
      ...(noise ? { noise: { ...noise, layers: neurons } } : {}),
      training: {
        mode: options.mode,
        data: options.dataDescription ?? `${train.n} samples`,
        samples: train.n,
        epochs: options.epochs,
        batch: options.batch,
        learning_rate: options.learningRate,
        seed: options.seed,
        optimizer: 'adam',
        loss: 'softmax cross-entropy',
        history: history.map((h) => ({ epoch: h.epoch, loss: round(h.loss), ...(h.val ? { val_accuracy: round(h.val.accuracy), ...(h.val.meanField !== undefined ? { val_mean_field_accuracy: round(h.val.meanField) } : {}) } : {}) })),
      },
    });
    return { model: trained, history };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/** Outputs [n, classes] and accuracy (%) of a T=1 model run by the tfjs network, e.g. in the mean field. */
export async function tfEvaluate(model: SnnModel, data: Dataset, mode: ForwardMode, noise?: MembraneNoise): Promise<{ output: Float32Array; accuracy: number }> {
  const shapes = verifyModel(model);
  const net = await TfNetwork.create(model, noise);
  try {
    const d = prepare(model, data, 'data', sizeOf(shapes.get(model.output.layer)!));
    const output = await outputsOf(net, d.x, d.n, mode);
    return { output, accuracy: accuracy(predictions(output, d.n, output.length / d.n), d.labels) };
  } finally {
    net.dispose();
  }
}
