/**
 * Supervised training of an IR model with TensorFlow.js (training/tf-network.ts): softmax cross-entropy
 * on the decoded output, Adam, seeded shuffling, noise and perturbations, so the same command gives the
 * same weights. Modes: `t1-noise` (IF neurons with membrane noise at T=1, conversion.md §6.2), `ann`
 * (ReLU, the baseline the ANN→SNN conversion pass takes) and `bptt` (T steps, surrogate gradients,
 * training/surrogates.ts; optional spike-count loss and batchnorm on input currents, folded into the
 * weights of the written model). Returns the trained model with its training record
 * (`metadata.training`; no timings, which differ from run to run); per-epoch figures go to `onEpoch`.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type * as TF from '@tensorflow/tfjs';
import { badInput } from '../compiler/errors.js';
import { isNeuron } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { type MembraneNoise, NOISE_SITE } from '../compiler/ir/noise.js';
import { layerValue } from '../compiler/ir/params.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import { type Dataset, fitToModel } from '../compiler/io/datasets.js';
import { foldBatchNorm } from '../compiler/passes/fold-batchnorm.js';
import { runPasses } from '../compiler/passes/pipeline.js';
import { preprocess, rateEncode, timeMajor } from '../compiler/reference/encoders.js';
import { accuracy, predictions } from '../compiler/reference/predictions.js';
import { streamGenerator } from '../compiler/reference/seeded-rng.js';
import { LEARN_KEY, type TrainingMode } from './architecture.js';
import { type Surrogate, surrogateToString } from './surrogates.js';
import { type ForwardMode, type SpikeRule, TfNetwork, loadTf } from './tf-network.js';

/** The spike-count regulariser: loss += λ · Σ_l w_l · (mean spikes per neuron and step of layer l). */
export interface SpikeLoss {
  readonly lambda: number;
  /** One weight per spiking layer, in order (default: all 1). */
  readonly weights?: readonly number[];
}

export interface TrainOptions {
  readonly mode: TrainingMode;
  /** Membrane noise for `t1-noise` (std > 0: the gradient is the noise density); default: trainingNoise's. */
  readonly noise?: MembraneNoise;
  /** The surrogate gradient for `bptt`. */
  readonly surrogate?: Surrogate;
  readonly spikeLoss?: SpikeLoss;
  readonly epochs: number;
  readonly batch: number;
  readonly learningRate: number;
  /** How the learning rate moves over the run: constant, or cosine (from learningRate to 0 over all steps). Default constant. */
  readonly lrSchedule?: LrSchedule;
  readonly seed: number;
  /** Where the data came from, recorded in the model (e.g. "t10k-images-idx3-ubyte.gz #0–7999"). */
  readonly dataDescription?: string;
  /** Also report each synaptic layer's mean weight-gradient norm per epoch (`EpochReport.gradientNorms`). */
  readonly gradientNorms?: boolean;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (done: number, total: number, running: RunningFigures) => void;
}

export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/** The learning rate of step `step` (0-based) of `steps`: constant, or a half cosine from `lr` down to 0 (Loshchilov & Hutter's SGDR without restarts). */
export function scheduledRate(schedule: LrSchedule, lr: number, step: number, steps: number): number {
  return schedule === 'cosine' ? (lr * (1 + Math.cos((Math.PI * step) / steps))) / 2 : lr;
}

/** Figures of the epoch so far, over the batches trained. */
export interface RunningFigures {
  readonly loss: number;
  /** Training accuracy (%) of the batches' forward passes. */
  readonly accuracy: number;
  /** Spikes per sample (all spiking layers, all steps). */
  readonly spikes: number;
}

export interface EpochReport extends RunningFigures {
  readonly epoch: number;
  /** Validation accuracy (%): noisy T=1 (one draw) and mean-field for t1-noise, else the deterministic network's; and its spikes per sample. */
  readonly val?: { readonly accuracy: number; readonly meanField?: number; readonly spikes?: number };
  /** LocalZO: per spiking layer, the fraction of (step, sample, neuron) with a non-zero gradient estimate. */
  readonly active?: Readonly<Record<string, number>>;
  /** With `gradientNorms`: per dense/conv layer, the mean L2 norm of its weight gradient over the epoch's batches. */
  readonly gradientNorms?: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** Preprocessed samples and labels, checked against the model. */
interface Prepared {
  readonly x: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  /** Global index of the first sample (seeds the rate encoder, as the simulator's). */
  readonly offset: number;
}

function prepare(model: SnnModel, data: Dataset, what: string, classes: number): Prepared {
  fitToModel(data, model.input.shape, model.input.encoding.type === 'events' ? model.timesteps : undefined, what);
  if (!data.labels) throw badInput(`${what}: training needs labels`);
  const bad = data.labels.findIndex((l) => !(l >= 0 && l < classes));
  if (bad >= 0) throw badInput(`${what}: label ${data.labels[bad]} of sample ${data.offset + bad} is not a class index in 0…${classes - 1} (the readout has ${classes} outputs)`);
  // Preprocessing is per step: blocks of one step's values, channels first.
  return { x: preprocess(model.input.preprocess, data.x, sizeOf(model.input.shape), model.input.shape[0]), labels: data.labels, n: data.n, offset: data.offset };
}

/**
 * The network input for samples `idx` of `d`: [B, …shape] for direct encoding, or [T, B, …shape] of
 * Bernoulli spikes for rate encoding (each sample seeded by its global index, as the simulator does)
 * or of the samples' own steps for event data.
 */
function batchInput(tf: typeof TF, model: SnnModel, d: Prepared, idx: ArrayLike<number>): TF.Tensor {
  const enc = model.input.encoding;
  const T = model.timesteps;
  const per = sizeOf(model.input.shape);
  const sample = per * (enc.type === 'events' ? T : 1);
  const B = idx.length;
  const xb = new Float32Array(B * sample);
  for (let r = 0; r < B; r++) xb.set(d.x.subarray(idx[r] * sample, (idx[r] + 1) * sample), r * sample);
  if (enc.type === 'events') return tf.tensor(timeMajor(xb, B, T, per), [T, B, ...model.input.shape]);
  if (enc.type !== 'rate') return tf.tensor(xb, [B, ...model.input.shape]);
  const spikes = new Float32Array(T * B * per);
  for (let r = 0; r < B; r++) {
    const one = rateEncode(xb.subarray(r * per, (r + 1) * per), 1, per, T, enc.seed, d.offset + idx[r]);
    for (let t = 0; t < T; t++) spikes.set(one.subarray(t * per, (t + 1) * per), (t * B + r) * per);
  }
  return tf.tensor(spikes, [T, B, ...model.input.shape]);
}

/** Spikes per sample of every spiking layer together, from the layers' mean rates. */
function spikesPerSample(net: TfNetwork, rates: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [name, rate] of rates) total += rate * net.model.timesteps * net.layerSize(name);
  return total;
}

interface Evaluated {
  readonly output: Float32Array;
  readonly accuracy: number;
  readonly spikes: number;
}

/** The tfjs network's outputs [n, classes], accuracy (%) and spikes per sample in `mode` on prepared data. */
async function evaluateOn(net: TfNetwork, d: Prepared, mode: ForwardMode, batch = 500): Promise<Evaluated> {
  const tf = await loadTf();
  const chunks: Float32Array[] = [];
  const rateSums = new Map<string, number>();
  for (let start = 0; start < d.n; start += batch) {
    const count = Math.min(batch, d.n - start);
    const idx = Int32Array.from({ length: count }, (_, i) => start + i);
    const { y, rates } = tf.tidy(() => {
      const r = net.run(batchInput(tf, net.model, d, idx), mode);
      return { y: r.output.dataSync() as Float32Array, rates: [...r.rates].map(([k, v]) => [k, v.dataSync()[0]] as const) };
    });
    chunks.push(y);
    for (const [k, v] of rates) rateSums.set(k, (rateSums.get(k) ?? 0) + v * count);
  }
  const output = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  chunks.reduce((at, c) => (output.set(c, at), at + c.length), 0);
  const rates = new Map([...rateSums].map(([k, v]) => [k, v / d.n]));
  return { output, accuracy: accuracy(predictions(output, d.n, output.length / d.n), d.labels), spikes: spikesPerSample(net, rates) };
}

/**
 * The membrane noise a `mode` run trains with: none for ann and bptt (giving one is an error), else `given`, else
 * gaussian with mean θ/2 and std θ/√12 (the uniform-variance match of conversion.md §6.2) when every
 * neuron layer has the same θ; with different thresholds the noise must be given.
 */
export function trainingNoise(model: SnnModel, mode: TrainingMode, given?: MembraneNoise): MembraneNoise | undefined {
  if (mode !== 't1-noise') {
    if (given) throw badInput(`--noise applies to --mode t1-noise, not ${mode}`);
    return undefined;
  }
  if (given) return given;
  const thresholds = model.layers.filter(isNeuron).map((l) => layerValue(l, 'threshold', 'membrane-noise sizing'));
  const theta = thresholds[0];
  if (thresholds.some((t) => t !== theta)) throw badInput(`the IF layers have different thresholds (${[...new Set(thresholds)].join(', ')}): give the noise explicitly with --noise gaussian:MEAN,STD`);
  return { dist: 'gaussian', mean: theta / 2, std: Number((theta / Math.sqrt(12)).toFixed(4)), where: NOISE_SITE };
}

/** How `mode` makes spikes differentiable. */
function spikeRule(model: SnnModel, options: TrainOptions, noise: MembraneNoise | undefined): SpikeRule | undefined {
  if (options.mode === 'bptt') return { kind: 'surrogate', surrogate: options.surrogate ?? { name: 'fast-sigmoid', slope: 25 } };
  if (options.surrogate) throw badInput(`--surrogate applies to --mode bptt, not ${options.mode}`);
  if (options.spikeLoss) throw badInput(`--spike-loss applies to --mode bptt, not ${options.mode}`);
  if (model.timesteps !== 1) throw badInput(`model "${model.name}": --mode ${options.mode} trains at T=1, the model has T=${model.timesteps}; use --mode bptt`);
  return noise ? { kind: 'noise', noise } : undefined;
}

/** λ · Σ_l w_l · rate_l over the spiking layers, checking the weights' count. */
function spikeLossTerm(tf: typeof TF, loss: SpikeLoss, rates: ReadonlyMap<string, TF.Scalar>): TF.Scalar {
  const layers = [...rates.keys()];
  const w = loss.weights ?? layers.map(() => 1);
  if (w.length !== layers.length) throw badInput(`--spike-loss: ${w.length} layer weights given for ${layers.length} spiking layers (${layers.join(', ')})`);
  return tf.mul(loss.lambda, layers.map((name, k) => tf.mul(rates.get(name)!, w[k])).reduce((a, b) => tf.add(a, b), tf.scalar(0))) as TF.Scalar;
}

/** The seeded permutation of one epoch (Fisher–Yates, in place). */
function shuffle(order: Int32Array, rng: ReturnType<typeof streamGenerator>): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
}

/** Sums of one epoch's per-batch figures. */
class EpochSums {
  samples = 0;
  loss = 0;
  correct = 0;
  readonly rates = new Map<string, number>();
  readonly active = new Map<string, number>();
  readonly norms = new Map<string, number>();
  batches = 0;

  add(n: number, step: StepFigures): void {
    this.samples += n;
    this.loss += step.loss * n;
    this.correct += step.correct;
    this.batches++;
    for (const [k, v] of step.rates) this.rates.set(k, (this.rates.get(k) ?? 0) + v * n);
    for (const [k, v] of step.active) this.active.set(k, (this.active.get(k) ?? 0) + v * n);
    for (const [k, v] of step.norms) this.norms.set(k, (this.norms.get(k) ?? 0) + v);
  }

  figures(net: TfNetwork): RunningFigures {
    return { loss: this.loss / this.samples, accuracy: (100 * this.correct) / this.samples, spikes: spikesPerSample(net, new Map([...this.rates].map(([k, v]) => [k, v / this.samples]))) };
  }
}

export async function train(model: SnnModel, data: Dataset, val: Dataset | undefined, options: TrainOptions): Promise<{ model: SnnModel; history: EpochReport[] }> {
  const shapes = verifyModel(model);
  const classes = sizeOf(shapes.get(model.output.layer)!);
  const noise = trainingNoise(model, options.mode, options.noise);
  if (noise && !(noise.std > 0)) throw badInput(`--noise: std must be > 0 for training (the noise density is the gradient), got ${noise.std}`);
  const rule = spikeRule(model, options, noise);
  const train = prepare(model, data, 'training data', classes);
  const check = val ? prepare(model, val, 'validation data', classes) : undefined;
  const tf = await loadTf();
  const learn = new Map(Object.entries((model.metadata[LEARN_KEY] ?? {}) as Record<string, string[]>));
  const net = await TfNetwork.create(model, { rule, trainBatchNorm: options.mode === 'bptt', learn });
  const optimizer = tf.train.adam(options.learningRate);
  const rng = streamGenerator(options.seed);
  const order = Int32Array.from({ length: train.n }, (_, i) => i);
  const history: EpochReport[] = [];
  const batches = Math.ceil(train.n / options.batch);
  const synaptic = model.layers.filter((l) => l.op === 'dense' || l.op === 'conv2d').map((l) => l.name);
  let step = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const t0 = performance.now();
      shuffle(order, rng);
      const sums = new EpochSums();
      for (let k = 0; k < batches; k++) {
        const idx = order.subarray(k * options.batch, Math.min((k + 1) * options.batch, train.n));
        // tfjs's Adam reads its (protected) learningRate at every step.
        (optimizer as unknown as { learningRate: number }).learningRate = scheduledRate(options.lrSchedule ?? 'constant', options.learningRate, step, options.epochs * batches);
        const mode: ForwardMode = { kind: 'sample', seed: options.seed * 100003 + step++ };
        sums.add(idx.length, trainStep(tf, net, optimizer, { x: () => batchInput(tf, model, train, idx), labels: Int32Array.from(idx, (s) => train.labels[s]), classes }, mode, options, synaptic));
        options.onBatch?.(k + 1, batches, sums.figures(net));
      }
      const seconds = (performance.now() - t0) / 1000;
      const report = { epoch, ...sums.figures(net), ...(await validate(net, check, options, epoch)), ...perLayer(sums), seconds };
      history.push(report);
      options.onEpoch?.(report);
      if (!Number.isFinite(report.loss)) throw badInput(`training diverged at epoch ${epoch} (loss ${report.loss}); lower --lr`);
    }
    return { model: trainedModel(net, options, noise, train, history), history };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/** What one optimiser step reports. */
interface StepFigures {
  readonly loss: number;
  readonly correct: number;
  readonly rates: [string, number][];
  readonly active: [string, number][];
  readonly norms: [string, number][];
}

/** One optimiser step on a batch: forward, loss (+ the spike loss), gradients, Adam, batchnorm statistics. */
function trainStep(tf: typeof TF, net: TfNetwork, optimizer: TF.Optimizer, batch: { x: () => TF.Tensor; labels: Int32Array; classes: number }, mode: ForwardMode, options: TrainOptions, synaptic: readonly string[]): StepFigures {
  let kept: { stats: TF.Tensor; rates: string[] } | undefined;
  const { loss, norms } = tf.tidy(() => {
    const x = batch.x();
    const y = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), batch.classes);
    const { value, grads } = tf.variableGrads(() => {
      const r = net.run(x, mode);
      // What the step reports, kept past variableGrads (which disposes the forward pass).
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(r.output, 1), tf.argMax(y, 1)), 'float32'));
      kept = { stats: tf.keep(tf.stack([correct, ...r.rates.values()])), rates: [...r.rates.keys()] };
      const ce = tf.losses.softmaxCrossEntropy(y, r.output) as TF.Scalar;
      return options.spikeLoss ? tf.add(ce, spikeLossTerm(tf, options.spikeLoss, r.rates)) : ce;
    }, net.variables);
    optimizer.applyGradients(grads as TF.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
    net.constrainParams();
    const norms = options.gradientNorms ? synaptic.map((name) => [name, tf.norm(grads[net.layerVariables(name)[0].name]).dataSync()[0]] as [string, number]) : [];
    return { loss: value.dataSync()[0], norms };
  });
  const v = kept!.stats.dataSync();
  kept!.stats.dispose();
  net.updateNormStatistics();
  return { loss, norms, correct: v[0], rates: kept!.rates.map((name, i) => [name, v[1 + i]]), active: [...net.takeBackwardActivity()] };
}

/** Per-layer epoch means: LocalZO's active fractions and the gradient norms. */
function perLayer(sums: EpochSums): Pick<EpochReport, 'active' | 'gradientNorms'> {
  const round = (v: number) => Number(v.toPrecision(4));
  return {
    ...(sums.active.size ? { active: Object.fromEntries([...sums.active].map(([k, v]) => [k, round(v / sums.samples)])) } : {}),
    ...(sums.norms.size ? { gradientNorms: Object.fromEntries([...sums.norms].map(([k, v]) => [k, round(v / sums.batches)])) } : {}),
  };
}

/** The epoch's validation figures: a noisy draw and the mean field for t1-noise, else the deterministic network. */
async function validate(net: TfNetwork, check: Prepared | undefined, options: TrainOptions, epoch: number): Promise<Pick<EpochReport, 'val'>> {
  if (!check) return {};
  if (options.mode === 't1-noise') {
    const noisy = await evaluateOn(net, check, { kind: 'sample', seed: options.seed * 7919 + epoch });
    return { val: { accuracy: noisy.accuracy, meanField: (await evaluateOn(net, check, { kind: 'mean-field' })).accuracy } };
  }
  const r = await evaluateOn(net, check, { kind: 'deterministic' });
  return { val: { accuracy: r.accuracy, ...(options.mode === 'bptt' ? { spikes: r.spikes } : {}) } };
}

/** The trained IR model with its noise and training records; batchnorm folded into the weights. */
function trainedModel(net: TfNetwork, options: TrainOptions, noise: MembraneNoise | undefined, train: Prepared, history: readonly EpochReport[]): SnnModel {
  const round = (v: number) => Number(v.toFixed(4));
  const neurons = net.model.layers.filter(isNeuron).map((l) => l.name);
  const learned = net.model.metadata[LEARN_KEY];
  const written = net.toModel({
    ...(noise ? { noise: { ...noise, layers: neurons } } : {}),
    training: {
      mode: options.mode,
      data: options.dataDescription ?? `${train.n} samples`,
      samples: train.n,
      epochs: options.epochs,
      batch: options.batch,
      learning_rate: options.learningRate,
      ...(options.lrSchedule && options.lrSchedule !== 'constant' ? { lr_schedule: options.lrSchedule } : {}),
      seed: options.seed,
      optimizer: 'adam',
      loss: 'softmax cross-entropy',
      ...(options.mode === 'bptt'
        ? { timesteps: net.model.timesteps, surrogate: surrogateToString(options.surrogate ?? { name: 'fast-sigmoid', slope: 25 }), reset_gradient: 'detached', ...(learned ? { learned_parameters: learned } : {}), ...(options.spikeLoss ? { spike_loss: { lambda: options.spikeLoss.lambda, ...(options.spikeLoss.weights ? { weights: options.spikeLoss.weights } : {}) } } : {}) }
        : {}),
      history: history.map((h) => ({
        epoch: h.epoch,
        loss: round(h.loss),
        ...(options.mode === 'bptt' ? { train_accuracy: round(h.accuracy), spikes_per_sample: round(h.spikes) } : {}),
        ...(h.val ? { val_accuracy: round(h.val.accuracy), ...(h.val.meanField !== undefined ? { val_mean_field_accuracy: round(h.val.meanField) } : {}), ...(h.val.spikes !== undefined ? { val_spikes_per_sample: round(h.val.spikes) } : {}) } : {}),
      })),
    },
  });
  const { [LEARN_KEY]: _request, ...metadata } = written.metadata; // recorded as training.learned_parameters
  const trained = { ...written, metadata };
  return net.model.layers.some((l) => l.op === 'batchnorm') ? runPasses(trained, [foldBatchNorm]) : trained;
}

/** Outputs [n, classes] and accuracy (%) of a model run by the tfjs network, e.g. in the mean field. */
export async function tfEvaluate(model: SnnModel, data: Dataset, mode: ForwardMode, noise?: MembraneNoise): Promise<{ output: Float32Array; accuracy: number }> {
  const shapes = verifyModel(model);
  const net = await TfNetwork.create(model, { rule: noise ? { kind: 'noise', noise } : undefined });
  try {
    const { output, accuracy } = await evaluateOn(net, prepare(model, data, 'data', sizeOf(shapes.get(model.output.layer)!)), mode);
    return { output, accuracy };
  } finally {
    net.dispose();
  }
}
