/**
 * Benchmarks for training by backpropagation through time on Fashion-MNIST (examples/fmnist-bptt):
 *
 *   backward   the time of one backward pass (median of fwd+bwd − fwd over runs, batch 128, T = 8) with the
 *              fast-sigmoid surrogate (dense backward) next to LocalZO with its sparse backward and LocalZO
 *              with the dense backward, and the fraction of neurons active in LocalZO's backward;
 *   train      accuracy and spikes per epoch for surrogates / spike-loss weights, side by side, one run;
 *   peer       seconds per epoch of snnc next to snnTorch (bench/peers/snntorch_fmnist.py, run from its
 *              sources on Debian's python3-torch) on the same network, data and batch, in one run.
 *
 *   npm run bench:bptt -- backward [--arch mlp|cnn] [--model trained.json] [--runs 5]
 *   npm run bench:bptt -- train --arch mlp --epochs 3 --variants fast-sigmoid:25,localzo:1,0.05
 *   npm run bench:bptt -- train --arch mlp2 --epochs 3 --spike-loss 0,0.25,1,4 [--save DIR]
 *   npm run bench:bptt -- train --arch resnet --train 10000 --gradient-norms [--no-bn] [--variants fast-sigmoid:5]
 *   npm run bench:bptt -- peer --arch mlp|cnn-plain --snntorch DIR [--threads 1] [--train 6400]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type * as TF from '@tensorflow/tfjs';
import { loadDataset } from '../compiler/io/datasets.js';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { preprocess } from '../compiler/reference/encoders.js';
import { writeModelJson } from '../compiler/ir/serialize/write.js';
import { measureActivity } from '../tools/report/activity.js';
import { estimateEnergy } from '../tools/report/energy.js';
import { readArchitecture } from '../training/architecture.js';
import { parseSurrogate, surrogateToString } from '../training/surrogates.js';
import { TfNetwork, type TfNetworkOptions, loadTf } from '../training/tf-network.js';
import { type EpochReport, train } from '../training/train.js';
import { fmt, median, time } from './timing.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    arch: { type: 'string', default: 'mlp' },
    model: { type: 'string' },
    runs: { type: 'string', default: '5' },
    epochs: { type: 'string', default: '1' },
    train: { type: 'string', default: '60000' },
    variants: { type: 'string', default: 'fast-sigmoid:25,localzo:1,0.05' },
    'spike-loss': { type: 'string' },
    delta: { type: 'string', default: '0.05' },
    snntorch: { type: 'string' },
    save: { type: 'string' },
    'no-bn': { type: 'boolean', default: false },
    'gradient-norms': { type: 'boolean', default: false },
    threads: { type: 'string', default: '1' },
  },
});
const F = '/usr/share/datasets/fashion-mnist';
const ARCH = `examples/fmnist-bptt/${values.arch}.arch.json`;
const machine = `${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}, tfjs wasm backend`;

const trainImages = () => loadDataset(`${F}/train-images-idx3-ubyte.gz`, `${F}/train-labels-idx1-ubyte.gz`, { start: 0, end: Number(values.train) });
const testImages = () => loadDataset(`${F}/t10k-images-idx3-ubyte.gz`, `${F}/t10k-labels-idx1-ubyte.gz`);

/** Backward time per surrogate on one batch of 128 training images. */
async function backward(): Promise<void> {
  const tf = await loadTf();
  const model: SnnModel = values.model ? readModelJson(values.model) : readArchitecture(ARCH, { mode: 'bptt' });
  const data = loadDataset(`${F}/train-images-idx3-ubyte.gz`, `${F}/train-labels-idx1-ubyte.gz`, { start: 0, end: 128 });
  const x = tf.tensor(preprocess(model.input.preprocess, data.x, 784, 1), [128, ...model.input.shape]);
  const y = tf.oneHot(tf.tensor1d(data.labels!, 'int32'), 10);
  const runs = Number(values.runs);
  console.log(`backward pass of ${model.name} (${values.model ?? 'initial weights'}), batch 128, T=${model.timesteps}; ${machine}`);
  console.log('surrogate | backward | ms fwd | ms fwd+bwd | ms bwd (median) | ms spiking layers\' bwd (median) | active in backward');
  const delta = values.delta;
  const variants: Array<[string, TfNetworkOptions]> = [
    ['fast-sigmoid:25', { rule: { kind: 'surrogate', surrogate: parseSurrogate('fast-sigmoid:25') } }],
    [`localzo:1,${delta}`, { rule: { kind: 'surrogate', surrogate: parseSurrogate(`localzo:1,${delta}`) }, sparseBackward: false }],
    [`localzo:1,${delta}`, { rule: { kind: 'surrogate', surrogate: parseSurrogate(`localzo:1,${delta}`) } }],
  ];
  // The spiking layers: each synaptic layer feeding IF/LIF neurons, and those neurons.
  const synaptic = new Set(model.layers.filter((l) => l.op === 'dense' || l.op === 'conv2d').map((l) => l.name));
  const spiking = new Set(model.layers.flatMap((l) => (l.op === 'neuron' && (l.model === 'if' || l.model === 'lif') ? [l.name, ...l.inputs.filter((n) => synaptic.has(n))] : [])));
  for (const [name, options] of variants) {
    const network = await TfNetwork.create(model, { ...options, timeBackward: true });
    let seed = 0;
    const fwd = await time(() => tf.tidy(() => network.run(x, { kind: 'sample', seed: seed++ }).output.dataSync()), runs);
    const spikingMs: number[] = []; // the first entry is the warm-up run's
    const both = await time(() => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, network.run(x, { kind: 'sample', seed: seed++ }).output) as TF.Scalar, network.variables);
        Object.values(grads).forEach((g) => g.dataSync());
      });
      const perLayer = network.takeBackwardTimes();
      spikingMs.push([...perLayer].filter(([layer]) => spiking.has(layer)).reduce((a, [, ms]) => a + ms, 0));
    }, runs);
    const active = [...network.takeBackwardActivity()].map(([k, v]) => `${k} ${(100 * v).toFixed(2)} %`).join(', ') || '(all)';
    const sparse = options.sparseBackward === false || !name.startsWith('localzo') ? 'dense' : 'sparse';
    console.log(`${name} | ${sparse} | ${fmt(fwd, 0)} | ${fmt(both, 0)} | ${(median(both) - median(fwd)).toFixed(0)} | ${fmt(spikingMs.slice(1).sort((a, b) => a - b), 0)} | ${active}`);
    network.dispose();
  }
}

/** Train one configuration per variant (surrogate or spike-loss weight) and print a row per epoch. */
async function trainVariants(): Promise<void> {
  const data = trainImages();
  const test = testImages();
  const lambdas = values['spike-loss']?.split(',').map(Number);
  const surrogates = lambdas ? [values.variants.split(',')[0]] : splitSurrogates(values.variants);
  console.log(`${values.arch} (${ARCH}), ${data.n} training images, tested on the 10 000 test images; ${machine}`);
  console.log('variant | epoch | s | loss | train % | test % | spikes/sample (test) | active in backward');
  for (const s of surrogates) {
    for (const lambda of lambdas ?? [undefined]) {
      const model = values['no-bn'] ? withoutBatchNorm(readArchitecture(ARCH, { mode: 'bptt' })) : readArchitecture(ARCH, { mode: 'bptt' });
      const name = `${surrogateToString(parseSurrogate(s))}${lambda !== undefined ? ` λ=${lambda}` : ''}${values['no-bn'] ? ' no-bn' : ''}`;
      const result = await train(model, data, test, {
        mode: 'bptt',
        surrogate: parseSurrogate(s),
        ...(lambda ? { spikeLoss: { lambda } } : {}),
        epochs: Number(values.epochs),
        batch: 128,
        learningRate: 1e-3,
        seed: 1,
        gradientNorms: values['gradient-norms'],
        onEpoch: (e: EpochReport) => {
          if (e.gradientNorms) console.log(`${name} | ${e.epoch} | weight-gradient norms: ${Object.entries(e.gradientNorms).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
          const active = e.active ? Object.entries(e.active).map(([k, v]) => `${k} ${(100 * v).toFixed(2)} %`).join(', ') : '';
          console.log(`${name} | ${e.epoch} | ${e.seconds.toFixed(1)} | ${e.loss.toFixed(4)} | ${e.accuracy.toFixed(2)} | ${e.val!.accuracy.toFixed(2)} | ${e.val!.spikes!.toFixed(1)} | ${active}`);
        },
      });
      // What `snnc report` estimates for the trained model on 500 test images (reference simulator).
      const activity = measureActivity(result.model, test.x.subarray(0, 500 * 784), 500);
      const energy = estimateEnergy(activity).map((e) => `${e.device} ${(e.total * 1e6).toFixed(3)} µJ (on-chip ${((e.synaptic + e.neuron) * 1e6).toFixed(3)})`).join(', ');
      console.log(`${name} | energy per sample (snnc report): ${energy}`);
      if (values.save) writeModelJson(result.model, `${values.save}/${values.arch}-${name.replace(/[^A-Za-z0-9.]+/g, '_')}.json`);
    }
  }
}

/** The model with its batchnorm layers removed (each reader reads what the batchnorm read). */
function withoutBatchNorm(model: SnnModel): SnnModel {
  const bypass = new Map(model.layers.filter((l) => l.op === 'batchnorm').map((l) => [l.name, l.inputs[0]]));
  const layers = model.layers.filter((l) => !bypass.has(l.name)).map((l) => ({ ...l, inputs: l.inputs.map((i) => bypass.get(i) ?? i) }));
  return { ...model, name: `${model.name}-no-bn`, layers };
}

/** "fast-sigmoid:25,localzo:1,0.05" → ["fast-sigmoid:25", "localzo:1,0.05"] (a number after a comma continues the spec). */
function splitSurrogates(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    if (/^[0-9.]/.test(part) && out.length) out[out.length - 1] += `,${part}`;
    else out.push(part);
  }
  return out;
}

/** One epoch of snnc and of snnTorch on the same network, side by side. */
async function peer(): Promise<void> {
  if (!values.snntorch) throw new Error('peer: give --snntorch DIR (snnTorch sources, see bench/peers/snntorch_fmnist.py)');
  const data = trainImages();
  const test = testImages();
  const model = readArchitecture(ARCH, { mode: 'bptt' });
  const threads = values.threads;
  console.log(`one epoch of ${values.arch} on ${data.n} images, batch 128, T=8, fast-sigmoid:25, Adam 1e-3; ${machine}; torch threads ${threads}`);
  const ours = await train(model, data, test, { mode: 'bptt', surrogate: parseSurrogate('fast-sigmoid:25'), epochs: Number(values.epochs), batch: 128, learningRate: 1e-3, seed: 1 });
  const peerArch = values.arch === 'cnn-plain' ? 'cnn' : values.arch!; // the peer's cnn has no batchnorm
  const torch = spawnSync('/usr/bin/python3', ['bench/peers/snntorch_fmnist.py', '--snntorch', values.snntorch, '--arch', peerArch, '--epochs', values.epochs!, '--threads', threads!, '--train', String(data.n)], { encoding: 'utf8' });
  if (torch.status !== 0) throw new Error(`snnTorch run failed: ${torch.stderr}`);
  const peerResult = JSON.parse(torch.stdout.trim().split('\n').pop()!);
  for (const [k, e] of ours.history.entries()) {
    const p = peerResult.epochs[k];
    console.log(`epoch ${e.epoch}: snnc ${e.seconds.toFixed(1)} s (test ${e.val!.accuracy.toFixed(2)} %) | snnTorch ${peerResult.version} ${p.train_seconds.toFixed(1)} s (test ${p.test_accuracy.toFixed(2)} %) | snnc/snnTorch time ${(e.seconds / p.train_seconds).toFixed(2)}`);
  }
}

const commands: Record<string, () => Promise<void>> = { backward, train: trainVariants, peer };
const command = commands[positionals[0] ?? 'backward'];
if (!command) throw new Error(`unknown benchmark "${positionals[0]}" (backward, train, peer)`);
await command();
