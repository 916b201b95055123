/**
 * Low-T accuracy of ANN→SNN conversion on the CNTK MNIST CNN (issue 21): today's default (`--norm mse
 * --maxpool auto --v0 half`, converted for each T) next to the new preset, per-channel λ (`channel auto
 * half`) followed by layer-wise calibration at that T (compiler/passes/layer-calibration.ts: per-channel
 * mean-error bias correction of each neuron layer, then a ridge refit of the readout on the SNN's own
 * rates; `--hidden weights` adds the ridge refit of the hidden conv that reads spikes, opt-in because it
 * costs 0.2–1 pp at T ≤ 4 on images 0–1999), and the ANN. `--eval 2000:5000` evaluates on held-out images that are neither the protocol's evaluation nor
 * its calibration images (for choosing settings without tuning on images 0–1999). Protocol of the fixture: λ calibration on test images 5000–9999, layer calibration
 * on the first --n of them, evaluation on images 0–1999 through onnxruntime (CPU). Prints the time the
 * layer calibration takes at each T.
 *
 * With `--burst Γ,…` (default 2) the preset is also measured with bursts of up to Γ spikes per step (burst_if
 * neurons, each spike worth λ/Γ), and every column shows spikes per sample (a burst counts its spikes).
 *
 *   node dist/bench/low-t.js [-- --n 1000 --ridge 0.3 --iterations 1 --hidden none --norm channel --timesteps 1,2,4,8,16,32 --eval 0:2000 --burst 2]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readOnnx } from '../compiler/frontends/onnx/read.js';
import { type ConvertOptions, calibrateAnn, convertCalibrated } from '../compiler/passes/conversion.js';
import type { Normalisation } from '../compiler/passes/convert-ann.js';
import { calibrateLayers } from '../compiler/passes/layer-calibration.js';
import { loadDataset } from '../compiler/io/datasets.js';
import { accuracyVsT, annAccuracyOrt } from '../tools/evaluate.js';
import { isNeuron } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { simulate } from '../compiler/reference/simulator.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    ridge: { type: 'string', default: '0.3' },
    iterations: { type: 'string', default: '1' },
    norm: { type: 'string', default: 'channel' },
    readout: { type: 'string', default: 'weights' },
    hidden: { type: 'string', default: 'none' },
    'hidden-ridge': { type: 'string' },
    timesteps: { type: 'string', default: '1,2,4,8,16,32' },
    threads: { type: 'string', default: '1' },
    /** Evaluation images (default 0–1999, the protocol); 2000–4999 is a held-out validation range for choosing settings. */
    eval: { type: 'string', default: '0:2000' },
    /** Burst lengths Γ to measure beside Γ = 1 (burst_if neurons, up to Γ spikes per step; convert-ann.ts). */
    burst: { type: 'string', default: '2' },
  },
});
const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk/mnist.onnx';
const MNIST = '../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz';
const LABELS = '../shared/fixtures/data/mnist/t10k-labels-idx1-ubyte.gz';
const TS = values.timesteps.split(',').map(Number);
const BURSTS = values.burst.split(',').filter(Boolean).map(Number);
const N = Number(values.n);
const NORM = values.norm as Normalisation;
const READOUT = values.readout as 'bias' | 'weights' | 'none';
const layerOptions = {
  ridge: Number(values.ridge),
  iterations: Number(values.iterations),
  readout: READOUT,
  hidden: values.hidden as 'weights' | 'none',
  ...(values['hidden-ridge'] === undefined ? {} : { hiddenRidge: Number(values['hidden-ridge']) }),
};
const engine = { engine: 'ort', threads: Number(values.threads) } as const;

console.log(`CNTK MNIST CNN, low T; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}`);
const calib = loadDataset(MNIST, undefined, { start: 5000, end: 10000 });
const layerCalib = loadDataset(MNIST, undefined, { start: 5000, end: 5000 + N });
const [evalStart, evalEnd] = values.eval.split(':').map(Number);
const test = loadDataset(MNIST, LABELS, { start: evalStart, end: evalEnd });
const base = { maxpool: 'auto', v0: 'half' } as const;
const defaults = calibrateAnn(readOnnx(CNTK), calib, { ...base, norm: 'mse' });
const preset = NORM === 'mse' ? defaults : calibrateAnn(readOnnx(CNTK), calib, { ...base, norm: NORM });
const ann = await annAccuracyOrt(CNTK, test);
console.log(`ANN (onnxruntime) on images ${evalStart}–${evalEnd - 1}: ${ann.toFixed(2)} %`);
console.log(`new: --norm ${NORM} --maxpool auto --v0 half + layer calibration at T on images 5000–${5000 + N - 1} (${JSON.stringify(layerOptions)})\n`);

/** Spikes per sample (a burst counts its spikes) on the first 200 evaluation images, by the reference simulator. */
function spikesPerSample(snn: SnnModel, T: number): number {
  const n = Math.min(200, test.n);
  const neurons = snn.layers.filter(isNeuron).map((l) => l.name);
  const r = simulate(snn, test.x.subarray(0, n * sizeOf(snn.input.shape)), n, { timesteps: T, record: neurons });
  let total = 0;
  for (const v of r.values.values()) for (let i = 0; i < v.length; i++) total += v[i];
  return total / n;
}

const burstColumns = BURSTS.map((g) => `burst Γ=${g} + layer calibration (spikes/sample)`).join(' | ');
console.log(`T | default (mse auto half) (spikes/sample) | new (spikes/sample) | Δ pp | ${burstColumns}${BURSTS.length ? ' | ' : ''}layer calibration ms | per-layer mean |error| per channel (ANN units), before → after`);
const row = (c: string[]) => console.log(c.join(' | '));
const withSpikes = (acc: number, snn: SnnModel, T: number) => `${acc.toFixed(2)} (${spikesPerSample(snn, T).toFixed(0)})`;
for (const T of TS) {
  const opts = (norm: Normalisation, burst = 1): ConvertOptions => ({ ...base, norm, timesteps: T, ...(burst > 1 ? { burst } : {}) });
  const defSnn = convertCalibrated(defaults, opts('mse')).snn;
  const def = (await accuracyVsT(defSnn, test, [T], engine)).get(T)!;
  const calibrated = (burst: number) => calibrateLayers(convertCalibrated(preset, opts(NORM, burst)).snn, preset.ann, layerCalib.x, layerCalib.n, { timesteps: T, ...layerOptions, sampleOffset: layerCalib.offset });
  const t0 = performance.now();
  const r = calibrated(1);
  const ms = performance.now() - t0;
  const acc = (await accuracyVsT(r.snn, test, [T], engine)).get(T)!;
  const bursts: string[] = [];
  for (const g of BURSTS) {
    const b = calibrated(g).snn;
    bursts.push(withSpikes((await accuracyVsT(b, test, [T], engine)).get(T)!, b, T));
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + Math.abs(b), 0) / v.length;
  const errors = r.layers.map((l) => `${l.layer} ${mean(l.before).toFixed(2)} → ${mean(l.after).toFixed(2)}`).join(', ');
  row([String(T).padStart(2), withSpikes(def, defSnn, T), withSpikes(acc, r.snn, T), (acc - def >= 0 ? '+' : '') + (acc - def).toFixed(2), ...bursts, ms.toFixed(0), errors]);
}
