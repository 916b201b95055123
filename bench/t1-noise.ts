/**
 * Benchmark for T=1→T=N noise conversion on MNIST (examples/mnist-t1-noise): training time per epoch
 * (t1-noise next to the same architecture trained as a ReLU ANN), accuracy per N of the shipped T=1
 * models converted with Pass B next to the shipped ANNs converted with the ANN→SNN pass at the same T,
 * and inference time per sample at each N on onnxruntime-node (CPU). MNIST ships only its test set:
 * training used test images 0–7999; everything here is reported on 8000–9999.
 *
 *   npm run bench:t1-noise [-- --runs 3 --epochs 3]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import { noiseOf } from '../compiler/ir/noise.js';
import { convertT1Noise } from '../compiler/passes/convert-t1-noise.js';
import { calibrateAnn } from '../compiler/passes/conversion.js';
import { loadDataset } from '../compiler/io/datasets.js';
import { accuracyVsT, convertedAccuracyVsT, noisyT1Accuracy, outputsVsT, runSnnSteps } from '../tools/evaluate.js';
import { accuracy, predictions, rmsDistance } from '../compiler/reference/predictions.js';
import { readArchitecture } from '../training/architecture.js';
import { tfEvaluate, train } from '../training/train.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, epochs: { type: 'string', default: '3' }, 'skip-training': { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);
const EPOCHS = Number(values.epochs);
const M = '../shared/fixtures/data/mnist';
const IMAGES = `${M}/t10k-images-idx3-ubyte.gz`;
const LABELS = `${M}/t10k-labels-idx1-ubyte.gz`;
const E = 'examples/mnist-t1-noise';
const NS = [1, 2, 4, 8, 16, 32];

console.log(`MNIST, trained on test images 0–7999, reported on 8000–9999; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}; tfjs wasm backend; onnxruntime-node CPU, 1 thread\n`);
const trainData = loadDataset(IMAGES, LABELS, { start: 0, end: 8000 });
const test = loadDataset(IMAGES, LABELS, { start: 8000, end: 10000 });

console.log(`training time per epoch (s, median (min–max) of ${EPOCHS} epochs of 8000 images, batch 100):`);
for (const arch of values['skip-training'] ? [] : ['mlp', 'cnn']) {
  const row: string[] = [];
  for (const mode of ['t1-noise', 'ann'] as const) {
    const model = readArchitecture(`${E}/${arch}.arch.json`, { mode });
    const r = await train(model, trainData, undefined, { mode, noise: { dist: 'gaussian', mean: 0.5, std: 0.2887, where: 'membrane-before-threshold' }, epochs: EPOCHS, batch: 100, learningRate: 1e-3, seed: 1 });
    row.push(`${mode} ${fmt(r.history.map((h) => h.seconds).sort((a, b) => a - b))}`);
  }
  console.log(`  ${arch}: ${row.join(' | ')}`);
}

for (const arch of ['mlp', 'cnn']) {
  const t1 = readModelJson(`${E}/${arch}-t1.json`);
  const noise = noiseOf(t1)!;
  const noisy = await noisyT1Accuracy(t1, test, noise, 10);
  const meanField = await tfEvaluate(t1, test, { kind: 'mean-field' }, noise);
  const { outputs, classes } = await outputsVsT(convertT1Noise(t1, { timesteps: Math.max(...NS), noise }), test, NS, { engine: 'ort' });
  const passB = new Map([...outputs].map(([n, y]) => [n, { accuracy: accuracy(predictions(y, test.n, classes), test.labels!), rms: rmsDistance(y, meanField.output) }]));
  const annModel = readModelJson(`${E}/${arch}-ann.json`);
  const ann = (await accuracyVsT(annModel, test, [1])).get(1)!;
  const options = { norm: 'mse', maxpool: 'auto', v0: 'half', timesteps: 1 } as const;
  const calibrated = calibrateAnn(annModel, loadDataset(IMAGES, undefined, { start: 0, end: 2000 }), options);
  const passA = await convertedAccuracyVsT(calibrated, test, NS, options, { engine: 'ort' });
  console.log(`\n${arch}: accuracy (%) on 2000 images`);
  console.log(`  T=1 noise-trained: noisy T=1 ${noisy.mean.toFixed(2)} ± ${noisy.sd.toFixed(2)} (10 draws), mean-field ${meanField.accuracy.toFixed(2)}; ReLU ANN ${ann.toFixed(2)}`);
  console.log(`  N                                | ${NS.map((n) => String(n).padStart(6)).join(' ')}`);
  console.log(`  Pass B (T=1 noise → N)           | ${NS.map((n) => passB.get(n)!.accuracy.toFixed(2).padStart(6)).join(' ')}`);
  console.log(`  Pass B logits: RMS to mean field | ${NS.map((n) => passB.get(n)!.rms.toFixed(3).padStart(6)).join(' ')}`);
  console.log(`  Pass A (ReLU ANN, mse, θ/2)      | ${NS.map((n) => passA.get(n)!.toFixed(2).padStart(6)).join(' ')}`);
  const data = loadDataset(IMAGES, undefined, { start: 8000, end: 9000 });
  const perSample: number[] = [];
  for (const n of NS) {
    const m = convertT1Noise(t1, { timesteps: n, noise });
    perSample.push((median(await time(() => runSnnSteps(m, data, n, { engine: 'ort', batch: 100, threads: 1 }), RUNS)) * 1000) / data.n);
  }
  console.log(`  inference µs/sample (onnxruntime, batch 100, 1000 images, median of ${RUNS}) | ${perSample.map((us) => us.toFixed(0).padStart(6)).join(' ')}`);
}
