/** `snnc train`: an architecture file + labelled data → a trained model.json (t1-noise, ann or bptt). */
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { badInput } from '../compiler/errors.js';
import { writeModelJson } from '../compiler/ir/serialize/write.js';
import { checkOutputFile } from '../compiler/io/atomic-write.js';
import { parseNoiseSpec } from '../compiler/ir/noise.js';
import { type Dataset, fitToModel, loadDataset, parseRange } from '../compiler/io/datasets.js';
import { TRAINING_MODES, type TrainingMode, readArchitecture } from '../training/architecture.js';
import { MAX_TRAINING_TIMESTEPS } from '../training/architecture.js';
import { parseSurrogate, surrogateToString } from '../training/surrogates.js';
import { type EpochReport, LR_SCHEDULES, type LrSchedule, type RunningFigures, type SpikeLoss, train, trainingNoise } from '../training/train.js';
import { batchArg, positiveInt, positiveNumber } from './options.js';
import { printable, stderrBar } from './terminal.js';

export const TRAIN_DEFAULTS = { epochs: 10, batch: 100, lr: 1e-3, seed: 1 } as const;

interface TrainCliOptions {
  mode: TrainingMode;
  data: string;
  labels: string;
  range?: string;
  val?: string;
  valLabels?: string;
  valRange?: string;
  noise?: string;
  timesteps?: number;
  surrogate?: string;
  spikeLoss?: string;
  gradientNorms?: boolean;
  epochs: number;
  batch: number;
  lr: number;
  lrSchedule: LrSchedule;
  seed: number;
  out: string;
  sidecar?: boolean;
  json?: boolean;
}

function describe(d: Dataset, file: string): string {
  return `${d.n} samples of ${basename(file)} (#${d.offset}–${d.offset + d.n - 1})`;
}

/** Validation data: --val FILE (--val-labels, or --labels when it is the --data file), or --val-range of --data. */
function validationData(o: TrainCliOptions): { data: Dataset; file: string } | undefined {
  if (!o.val && !o.valRange) return undefined;
  const file = o.val ?? o.data;
  const labels = o.valLabels ?? (file === o.data ? o.labels : undefined);
  if (!labels) throw badInput(`--val ${file}: give its labels with --val-labels FILE`);
  return { data: loadDataset(file, labels, o.valRange ? parseRange(o.valRange) : undefined), file };
}

/** `λ[,w1,w2,…]`: the spike-loss weight and optional per-layer weights. */
export function parseSpikeLoss(text: string): SpikeLoss {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  const bad = values.findIndex((v, i) => parts[i] === '' || !Number.isFinite(v) || v < 0);
  if (bad >= 0) throw badInput(`--spike-loss ${text}: expected λ[,w1,w2,…] of non-negative numbers (e.g. 0.5 or 0.5,1,2), got "${parts[bad]}"`);
  return { lambda: values[0], ...(values.length > 1 ? { weights: values.slice(1) } : {}) };
}

/** One progress bar per epoch: batches, and the running loss, training accuracy and spikes per sample. */
function epochBar(batches: number, spikes: boolean): { update(done: number, f: RunningFigures): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const format = `{bar} {value}/{total} batches | loss {loss} | acc {acc} %${spikes ? ' | {spikes} spikes/sample' : ''} | {eta_formatted} left`;
  const bar = stderrBar(format);
  bar.start(batches, 0, { loss: '–', acc: '–', spikes: '–' });
  return { update: (d, f) => bar.update(d, { loss: f.loss.toFixed(4), acc: f.accuracy.toFixed(1), spikes: f.spikes.toFixed(0) }), stop: () => bar.stop() };
}

/** One line per epoch for the terminal. */
function epochLine(e: EpochReport, o: TrainCliOptions): string {
  const v = !e.val ? '' : o.mode === 't1-noise' ? `  val: noisy T=1 ${e.val.accuracy.toFixed(2)} %, mean-field ${e.val.meanField!.toFixed(2)} %` : `  val ${e.val.accuracy.toFixed(2)} %`;
  const spikes = o.mode === 'bptt' ? `  spikes/sample ${e.spikes.toFixed(1)}${e.val?.spikes !== undefined ? ` (val ${e.val.spikes.toFixed(1)})` : ''}` : '';
  const active = e.active ? `  backward-active ${Object.entries(e.active).map(([k, f]) => `${k} ${(100 * f).toFixed(2)} %`).join(', ')}` : '';
  return `epoch ${e.epoch}/${o.epochs}  loss ${e.loss.toFixed(4)}  train ${e.accuracy.toFixed(2)} %${v}${spikes}${active}  (${e.seconds.toFixed(1)} s)`;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a network described by an architecture file: over T steps by backpropagation through time with surrogate gradients (bptt), at T=1 with Gaussian noise on the IF membranes (t1-noise; convert it to T=N with `snnc convert --from t1-noise`), or as a ReLU ANN (ann; convert it with `snnc convert --calib`)')
    .argument('<arch.json>', 'architecture file: input shape, scale and encoding, T, and a list of layers (dense, conv2d, avgpool2d, maxpool2d, flatten, batchnorm, add, if, lif, cuba_lif, li); see examples/fmnist-bptt/ and examples/mnist-t1-noise/')
    .addOption(new Option('--mode <mode>', 'bptt: the network as written, unrolled over T steps, spikes differentiated by --surrogate; t1-noise: IF neurons that see noise ε on the membrane before the threshold (fire iff z + ε ≥ θ), fresh per neuron and sample; ann: the same architecture with ReLU').choices([...TRAINING_MODES]).default('t1-noise'))
    .requiredOption('--data <file>', 'training samples (MNIST idx, .gz too, or .npy; raw values, the architecture\'s input scale is applied)')
    .requiredOption('--labels <file>', 'training labels')
    .option('--range <start:end>', 'samples of --data to train on, e.g. 0:8000')
    .option('--val <file>', 'validation samples (default: --data, with --val-range)')
    .option('--val-labels <file>', 'validation labels (default: --labels when --val is the --data file)')
    .option('--val-range <start:end>', 'samples of --val to validate on, e.g. 8000:10000')
    .option('--noise <dist:mean,std>', 'membrane noise for t1-noise: gaussian:MEAN,STD or uniform:MEAN,STD, in membrane units like θ (default gaussian:θ/2,θ/√12, i.e. 0.5,0.2887 for θ = 1)')
    .option('--timesteps <T>', `bptt: steps per sample (1…${MAX_TRAINING_TIMESTEPS}; default: the architecture's "timesteps", else 8)`, positiveInt)
    .option('--surrogate <spec>', 'bptt: the spike derivative used backwards: fast-sigmoid[:k] (1/(1+k|u|)², default k=25), arctan[:α] (α/2 / (1+(παu/2)²), α=2), triangle[:w] (max(0, 1−|u|/w), w=1), localzo[:SAMPLES[,δ]] (zeroth-order estimate per neuron from SAMPLES perturbations of size δ; default 1,0.5); u = v − θ; default fast-sigmoid:25')
    .option('--spike-loss <λ[,w1,…]>', 'bptt: add λ·Σ_l w_l·(mean spikes per neuron and step of spiking layer l) to the loss, trading accuracy for fewer spikes (weights default to 1)')
    .option('--gradient-norms', 'bptt: report each synaptic layer\'s mean weight-gradient norm per epoch (with --json)')
    .option('--epochs <E>', 'passes over the training data', positiveInt, TRAIN_DEFAULTS.epochs)
    .option('--batch <B>', 'samples per gradient step', batchArg, TRAIN_DEFAULTS.batch)
    .option('--lr <rate>', 'Adam learning rate', positiveNumber, TRAIN_DEFAULTS.lr)
    .addOption(new Option('--lr-schedule <name>', 'learning rate over the run: constant, or cosine (from --lr down to 0 over all steps)').choices([...LR_SCHEDULES]).default('constant'))
    .option('--seed <n>', 'seed of the shuffling, the membrane noise and the LocalZO draws (the architecture file seeds the weights)', positiveInt, TRAIN_DEFAULTS.seed)
    .requiredOption('-o, --out <model.json>', 'the trained model (weights, θ; metadata.training records how; t1-noise also the noise in metadata.noise; batchnorm is folded into the weights)')
    .option('--sidecar', 'store the weights in <name>.safetensors beside the model instead of inline (automatic past 64 MiB of weights)')
    .option('--json', 'print one JSON object per epoch and a summary on stdout')
    .action(async (archPath: string, o: TrainCliOptions) => {
      checkOutputFile(o.out);
      if (o.mode !== 'bptt') {
        const misplaced = (['surrogate', 'spikeLoss', 'gradientNorms'] as const).find((k) => o[k] !== undefined);
        if (misplaced) throw badInput(`--${misplaced.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --mode bptt`);
      }
      const model = readArchitecture(archPath, { mode: o.mode, timesteps: o.timesteps });
      const noise = trainingNoise(model, o.mode, o.noise ? parseNoiseSpec(o.noise) : undefined);
      const surrogate = o.mode === 'bptt' ? parseSurrogate(o.surrogate ?? 'fast-sigmoid:25') : undefined;
      const spikeLoss = o.spikeLoss !== undefined ? parseSpikeLoss(o.spikeLoss) : undefined;
      const data = loadDataset(o.data, o.labels, o.range ? parseRange(o.range) : undefined);
      const val = validationData(o);
      const eventSteps = model.input.encoding.type === 'events' ? model.timesteps : undefined;
      fitToModel(data, model.input.shape, eventSteps, `training data ${o.data}`);
      if (val) fitToModel(val.data, model.input.shape, eventSteps, `validation data ${val.file}`);
      const say = (line: string) => (o.json ? process.stderr : process.stdout).write(`${line}\n`);
      const how =
        o.mode === 'bptt'
          ? `bptt, T=${model.timesteps}, surrogate ${surrogateToString(surrogate!)}${spikeLoss ? `, spike loss λ=${spikeLoss.lambda}` : ''}`
          : `${o.mode}${noise ? `, noise ${noise.dist} mean ${noise.mean} std ${noise.std} on the membrane before the threshold` : ''}`;
      say(`training ${printable(model.name)} (${how}) on ${describe(data, o.data)}${val ? `; validating on ${describe(val.data, val.file)}` : ''}`);
      const batches = Math.ceil(data.n / o.batch);
      let bar = epochBar(batches, o.mode === 'bptt');
      const t0 = performance.now();
      const result = await train(model, data, val?.data, {
        mode: o.mode,
        noise,
        surrogate,
        spikeLoss,
        gradientNorms: o.gradientNorms,
        epochs: o.epochs,
        batch: o.batch,
        learningRate: o.lr,
        lrSchedule: o.lrSchedule,
        seed: o.seed,
        dataDescription: describe(data, o.data),
        onBatch: (done, _total, running) => bar.update(done, running),
        onEpoch: (e) => {
          bar.stop();
          if (e.epoch < o.epochs) bar = epochBar(batches, o.mode === 'bptt');
          if (o.json) process.stdout.write(`${JSON.stringify(e)}\n`);
          say(epochLine(e, o));
        },
      });
      bar.stop();
      writeModelJson(result.model, o.out, { sidecar: o.sidecar });
      const seconds = (performance.now() - t0) / 1000;
      if (o.json) process.stdout.write(`${JSON.stringify({ out: o.out, seconds: Number(seconds.toFixed(2)), epochs: result.history.length })}\n`);
      const next = o.mode === 't1-noise' ? `; next: snnc convert ${o.out} --from t1-noise -T 8 -o tn.json` : o.mode === 'bptt' ? `; next: snnc eval ${o.out} or snnc compile ${o.out} --target loihi` : '';
      say(`wrote ${o.out} (T=${result.model.timesteps}, ${result.model.layers.length} layers) in ${seconds.toFixed(1)} s${next}`);
    });
}
