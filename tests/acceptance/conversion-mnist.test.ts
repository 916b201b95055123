/**
 * Acceptance on the real CNTK MNIST CNN: converted with the fixture's protocol (calibration on test images
 * 5000–9999, evaluation on 0–1999, λ by max or p99.9 of non-zero activations, reset by subtraction,
 * v(0) = 0 or θ/2, Rueckauer gating, accumulator readout), every cell of
 * DERIVED_conversion_reference.json (norm × v0 × T = 1…128) is reproduced within ±0.5 pp; and snnc's
 * default (quantisation-optimal λ for each T, max-pools of constant currents pooled before the IF,
 * gating elsewhere, v(0) = θ/2) beats the reference protocol (p99.9, θ/2, gating) at every T.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOnnx } from '../../compiler/frontends/onnx/read.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import type { ActivationScale } from '../../compiler/passes/convert-ann.js';
import { convertAnnToSnn } from '../../compiler/passes/convert-ann.js';
import { calibrate } from '../../compiler/passes/calibrate.js';
import { calibrateAnn, prepareAnn } from '../../compiler/passes/conversion.js';
import { type Dataset, loadDataset } from '../../compiler/io/datasets.js';
import { accuracyVsT, convertedAccuracyVsT } from '../../tools/evaluate.js';

const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk';
const MNIST = '../shared/fixtures/data/mnist';
const reference: { snn: Record<string, number> } = JSON.parse(readFileSync(`${CNTK}/DERIVED_conversion_reference.json`, 'utf8'));
const TS = [1, 2, 4, 8, 16, 32, 64, 128];

let ann: SnnModel;
let evalData: Dataset;
let calib: Dataset;
beforeAll(() => {
  ann = prepareAnn(readOnnx(`${CNTK}/mnist.onnx`), { maxpool: 'gate' });
  calib = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, undefined, { start: 5000, end: 10000 });
  evalData = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, { start: 0, end: 2000 });
});

describe('CNTK MNIST CNN: the fixture protocol reproduces the reference table', () => {
  for (const norm of ['max', 'p99.9'] as const) {
    it(`${norm}: λ as documented, every cell within ±0.5 pp for v(0) = 0 and θ/2`, async () => {
      const scales: Map<string, ActivationScale> = calibrate(ann, calib.x, calib.n, { norm });
      const lambdas = [...scales.values()].map((s) => s.lambda[0]);
      expect(lambdas.map((l) => Number(l.toFixed(1)))).toEqual(norm === 'max' ? [975.9, 2929.6] : [807.3, 1950.2]); // SOURCES.md
      for (const v0 of ['zero', 'half'] as const) {
        const snn = convertAnnToSnn(ann, scales, { v0, maxpool: 'gate', timesteps: 16 });
        const acc = await accuracyVsT(snn, evalData, TS, { batch: 32 }); // one run of 128 steps
        for (const T of TS) {
          const ref = 100 * reference.snn[`${norm} v0=${v0 === 'half' ? '0.5' : '0.0'} T=${T}`];
          expect(Math.abs(acc.get(T)! - ref), `${norm} v0=${v0} T=${T}: ${acc.get(T)} vs ${ref}`).toBeLessThanOrEqual(0.5);
        }
      }
    });
  }
});

describe('CNTK MNIST CNN: snnc\'s default conversion', () => {
  it('beats the reference protocol (p99.9, θ/2, gating) at every T = 1…128', async () => {
    const calibrated = calibrateAnn(readOnnx(`${CNTK}/mnist.onnx`), calib, { norm: 'mse', maxpool: 'auto' });
    const acc = await convertedAccuracyVsT(calibrated, evalData, TS, { norm: 'mse', maxpool: 'auto', v0: 'half' }, { batch: 32 });
    for (const T of TS) {
      const ref = 100 * reference.snn[`p99.9 v0=0.5 T=${T}`];
      expect(acc.get(T)!, `T=${T}: ${acc.get(T)} vs reference ${ref}`).toBeGreaterThan(ref);
    }
  });
});
