/** `snnc train`: an architecture file + labelled data → a trained T=1 model.json (t1-noise or ann). */
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { badInput } from '../compiler/errors.js';
import { writeModelJson } from '../compiler/ir/serialize/write.js';
import { checkOutputFile } from '../compiler/io/atomic-write.js';
import { parseNoiseSpec } from '../compiler/ir/noise.js';
import { type Dataset, fitToModel, loadDataset, parseRange } from '../compiler/io/datasets.js';
import { TRAINING_MODES, type TrainingMode, readArchitecture } from '../training/architecture.js';
import { train, trainingNoise } from '../training/train.js';
import { batchArg, positiveInt, positiveNumber } from './options.js';
import { printable } from './terminal.js';
import { progress } from './predict.js';

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
  epochs: number;
  batch: number;
  lr: number;
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

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a network described by an architecture file at T=1: with Gaussian noise on the IF membranes (t1-noise; convert it to T=N with `snnc convert --from t1-noise`), or as a ReLU ANN (ann; convert it with `snnc convert --calib`)')
    .argument('<arch.json>', 'architecture file: input shape and scale, and a list of layers (dense, conv2d, avgpool2d, flatten, if); see examples/mnist-t1-noise/')
    .addOption(new Option('--mode <mode>', 't1-noise: IF neurons that see noise ε on the membrane before the threshold (fire iff z + ε ≥ θ), fresh per neuron and sample; ann: the same architecture with ReLU').choices([...TRAINING_MODES]).default('t1-noise'))
    .requiredOption('--data <file>', 'training samples (MNIST idx, .gz too, or .npy; raw values, the architecture\'s input scale is applied)')
    .requiredOption('--labels <file>', 'training labels')
    .option('--range <start:end>', 'samples of --data to train on, e.g. 0:8000')
    .option('--val <file>', 'validation samples (default: --data, with --val-range)')
    .option('--val-labels <file>', 'validation labels (default: --labels when --val is the --data file)')
    .option('--val-range <start:end>', 'samples of --val to validate on, e.g. 8000:10000')
    .option('--noise <dist:mean,std>', 'membrane noise for t1-noise: gaussian:MEAN,STD or uniform:MEAN,STD, in membrane units like θ (default gaussian:θ/2,θ/√12, i.e. 0.5,0.2887 for θ = 1)')
    .option('--epochs <E>', 'passes over the training data', positiveInt, TRAIN_DEFAULTS.epochs)
    .option('--batch <B>', 'samples per gradient step', batchArg, TRAIN_DEFAULTS.batch)
    .option('--lr <rate>', 'Adam learning rate', positiveNumber, TRAIN_DEFAULTS.lr)
    .option('--seed <n>', 'seed of the shuffling and the noise (the architecture file seeds the weights)', positiveInt, TRAIN_DEFAULTS.seed)
    .requiredOption('-o, --out <model.json>', 'the trained T=1 model (weights, θ, and the noise it was trained with in metadata.noise)')
    .option('--sidecar', 'store the weights in <name>.safetensors beside the model instead of inline (automatic past 64 MiB of weights)')
    .option('--json', 'print one JSON object per epoch and a summary on stdout')
    .action(async (archPath: string, o: TrainCliOptions) => {
      checkOutputFile(o.out);
      const model = readArchitecture(archPath, o.mode);
      const noise = trainingNoise(model, o.mode, o.noise ? parseNoiseSpec(o.noise) : undefined);
      const data = loadDataset(o.data, o.labels, o.range ? parseRange(o.range) : undefined);
      const val = validationData(o);
      fitToModel(data, model.input.shape, undefined, `training data ${o.data}`);
      if (val) fitToModel(val.data, model.input.shape, undefined, `validation data ${val.file}`);
      const say = (line: string) => (o.json ? process.stderr : process.stdout).write(`${line}\n`);
      say(`training ${printable(model.name)} (${o.mode}${noise ? `, noise ${noise.dist} mean ${noise.mean} std ${noise.std} on the membrane before the threshold` : ''}) on ${describe(data, o.data)}${val ? `; validating on ${describe(val.data, val.file)}` : ''}`);
      const batches = Math.ceil(data.n / o.batch);
      let bar = progress(batches, 1);
      const t0 = performance.now();
      const result = await train(model, data, val?.data, {
        mode: o.mode,
        noise,
        epochs: o.epochs,
        batch: o.batch,
        learningRate: o.lr,
        seed: o.seed,
        dataDescription: describe(data, o.data),
        onBatch: (done) => bar.update(done),
        onEpoch: (e) => {
          bar.stop();
          bar = progress(batches, 1);
          if (o.json) process.stdout.write(`${JSON.stringify(e)}\n`);
          const v = e.val ? (o.mode === 't1-noise' ? `  val: noisy T=1 ${e.val.accuracy.toFixed(2)} %, mean-field ${e.val.meanField!.toFixed(2)} %` : `  val: ${e.val.accuracy.toFixed(2)} %`) : '';
          say(`epoch ${e.epoch}/${o.epochs}  loss ${e.loss.toFixed(4)}${v}  (${e.seconds.toFixed(1)} s)`);
        },
      });
      bar.stop();
      writeModelJson(result.model, o.out, { sidecar: o.sidecar });
      const seconds = (performance.now() - t0) / 1000;
      if (o.json) process.stdout.write(`${JSON.stringify({ out: o.out, seconds: Number(seconds.toFixed(2)), epochs: result.history.length })}\n`);
      say(`wrote ${o.out} (T=1, ${result.model.layers.length} layers) in ${seconds.toFixed(1)} s${o.mode === 't1-noise' ? `; next: snnc convert ${o.out} --from t1-noise -T 8 -o tn.json` : ''}`);
    });
}
