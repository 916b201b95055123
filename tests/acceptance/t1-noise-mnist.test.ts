/**
 * End to end on MNIST with the shipped models of examples/mnist-t1-noise (trained on test images
 * 0–7999 by train.sh; MNIST ships only its test set): each T=1 noise-trained model converted to
 * N = 1…32, compiled to the gpu target and run by onnxruntime on images 8000–9999, next to its noisy
 * T=1 accuracy (Monte-Carlo, reference simulator), its mean field (tfjs), and the same architecture
 * trained as a ReLU ANN and converted with the ANN→SNN pass.
 * Tolerances: on 2000 images one accuracy has a sampling error of about ±0.4 pp (1σ at 96 %).
 */
import { describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { noiseOf } from '../../compiler/ir/noise.js';
import { convertT1Noise } from '../../compiler/passes/convert-t1-noise.js';
import { calibrateAnn } from '../../compiler/passes/conversion.js';
import { loadDataset } from '../../compiler/io/datasets.js';
import { convertedAccuracyVsT, noisyT1Accuracy, outputsVsT } from '../../tools/evaluate.js';
import { accuracy, predictions, rmsDistance } from '../../compiler/reference/predictions.js';
import { tfEvaluate } from '../../training/train.js';

const M = '../shared/fixtures/data/mnist';
const IMAGES = `${M}/t10k-images-idx3-ubyte.gz`;
const LABELS = `${M}/t10k-labels-idx1-ubyte.gz`;
const NS = [1, 2, 4, 8, 16, 32];
const test = loadDataset(IMAGES, LABELS, { start: 8000, end: 10000 });

describe.each(['mlp', 'cnn'])('MNIST %s trained at T=1 with noise, converted to T=N, on onnxruntime', (arch) => {
  const t1 = readModelJson(`examples/mnist-t1-noise/${arch}-t1.json`);
  const noise = noiseOf(t1)!;

  it('is at least as accurate as the noisy T=1 network at every N, stays at the mean-field accuracy, and its logits converge to the mean field', async () => {
    const noisy = await noisyT1Accuracy(t1, test, noise, 4);
    const meanField = await tfEvaluate(t1, test, { kind: 'mean-field' }, noise);
    const { outputs, classes } = await outputsVsT(convertT1Noise(t1, { timesteps: 32, noise }), test, NS, { engine: 'ort' });
    const acc = new Map([...outputs].map(([n, y]) => [n, accuracy(predictions(y, test.n, classes), test.labels!)]));
    const rms = new Map([...outputs].map(([n, y]) => [n, rmsDistance(y, meanField.output)]));
    expect(noisy.mean).toBeGreaterThan(95);
    for (const n of NS) {
      expect(acc.get(n)!).toBeGreaterThan(noisy.mean - 0.5);
      expect(Math.abs(acc.get(n)! - meanField.accuracy)).toBeLessThan(1);
    }
    // Each layer's rate error is at most 1/(2N) (§1.2); the rest is the Gaussian-vs-clip shape and unevenness.
    expect(rms.get(32)!).toBeLessThan(rms.get(1)! / 2);
    expect(rms.get(8)!).toBeLessThan(rms.get(1)!);
  });
});

describe('the paper\'s claim: fewer steps than ANN→SNN conversion for the same accuracy', () => {
  it('CNN: at N=1 the noise-trained network beats the same architecture trained as a ReLU ANN and converted (mse, θ/2) by more than 2 pp', async () => {
    const t1 = readModelJson('examples/mnist-t1-noise/cnn-t1.json');
    const noise = noiseOf(t1)!;
    const b = (await outputsVsT(convertT1Noise(t1, { timesteps: 1, noise }), test, [1], { engine: 'ort' })).outputs.get(1)!;
    const passB = accuracy(predictions(b, test.n, 10), test.labels!);
    const options = { norm: 'mse', maxpool: 'auto', v0: 'half', timesteps: 1 } as const;
    const calibrated = calibrateAnn(readModelJson('examples/mnist-t1-noise/cnn-ann.json'), loadDataset(IMAGES, undefined, { start: 0, end: 2000 }), options);
    const passA = (await convertedAccuracyVsT(calibrated, test, [1], options, { engine: 'ort' })).get(1)!;
    expect(passB - passA).toBeGreaterThan(2);
  });
});
