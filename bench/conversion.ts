/**
 * Benchmark for ANN→SNN conversion on the CNTK MNIST CNN: time to convert (import, fold, calibrate on
 * 5000 images, convert) and evaluation throughput (images per second at each T) through the compiled
 * ONNX model on onnxruntime-node (CPU) next to the reference simulator, in the same run. Median
 * (min–max) of several runs.
 *
 *   npm run bench:conversion [-- --runs 3 --threads 1]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readOnnx } from '../compiler/frontends/onnx/read.js';
import { calibrateAnn, convertCalibrated } from '../compiler/passes/conversion.js';
import { loadDataset } from '../compiler/io/datasets.js';
import { runSnnSteps } from '../tools/evaluate.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, threads: { type: 'string', default: '1' } } });
const RUNS = Number(values.runs);
const THREADS = Number(values.threads);
const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk/mnist.onnx';
const MNIST = '../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz';


console.log(`CNTK MNIST CNN; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}; onnxruntime-node CPU, ${THREADS} thread(s); ${RUNS} runs after a warm-up\n`);
const calib = loadDataset(MNIST, undefined, { start: 5000, end: 10000 });
const options = { norm: 'mse', maxpool: 'auto', v0: 'half', timesteps: 16 } as const;
console.log(`conversion (import + fold + calibrate on ${calib.n} images + convert): ${fmt(await time(() => convertCalibrated(calibrateAnn(readOnnx(CNTK), calib, options), options), RUNS), 0)}`);
const calibrated = calibrateAnn(readOnnx(CNTK), calib, options);
console.log(`  of which converting a calibrated ANN for one more T: ${fmt(await time(() => convertCalibrated(calibrated, options), RUNS), 0)}\n`);

const ortData = loadDataset(MNIST, undefined, { start: 0, end: 1000 });
const simData = loadDataset(MNIST, undefined, { start: 0, end: 100 });
console.log('images/s (median): T | onnxruntime (layerwise, 1000 images) | reference simulator (100 images) | ratio');
for (const T of [1, 4, 16, 64]) {
  const snn = convertCalibrated(calibrated, { ...options, timesteps: T }).snn;
  const ort = median(await time(() => runSnnSteps(snn, ortData, T, { engine: 'ort', batch: 32, threads: THREADS }), RUNS));
  const sim = median(await time(() => runSnnSteps(snn, simData, T, { engine: 'simulator', batch: 100 }), RUNS));
  const ortRate = (ortData.n * 1000) / ort;
  const simRate = (simData.n * 1000) / sim;
  console.log(`${String(T).padStart(3)} | ${ortRate.toFixed(0).padStart(7)} | ${simRate.toFixed(0).padStart(7)} | ${(ortRate / simRate).toFixed(1)}×`);
}
