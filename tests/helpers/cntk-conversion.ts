/**
 * The real CNTK MNIST CNN and its conversion fixture (DERIVED_conversion_reference.json), shared by the
 * acceptance files conversion-mnist-*.test.ts. Each file runs 2000 test images for 128 steps once or twice
 * (about a minute of the float simulator each), so they are separate files that vitest runs side by side.
 * Protocol (the fixture's SOURCES.md): calibration on test images 5000–9999, evaluation on 0–1999.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOnnx } from '../../compiler/frontends/onnx/read.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { calibrate } from '../../compiler/passes/calibrate.js';
import { prepareAnn } from '../../compiler/passes/conversion.js';
import { convertAnnToSnn } from '../../compiler/passes/convert-ann.js';
import { type Dataset, loadDataset } from '../../compiler/io/datasets.js';
import { accuracyVsT } from '../../tools/evaluate.js';

export const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk';
const MNIST = '../shared/fixtures/data/mnist';
export const TS = [1, 2, 4, 8, 16, 32, 64, 128];
/** Each test simulates 2000 images for 128 steps, twice at most: a few minutes even on a busy machine. */
export const SIMULATION_TIMEOUT = 600_000;

const reference: { snn: Record<string, number> } = JSON.parse(readFileSync(`${CNTK}/DERIVED_conversion_reference.json`, 'utf8'));

/** The fixture's accuracy (%) for a normalisation, v(0) and T. */
export function referenceAccuracy(norm: 'max' | 'p99.9', v0: 'zero' | 'half', T: number): number {
  return 100 * reference.snn[`${norm} v0=${v0 === 'half' ? '0.5' : '0.0'} T=${T}`];
}

/** Calibration images (5000–9999, no labels) and evaluation images (0–1999, labelled). */
export function cntkData(): { calib: Dataset; evalData: Dataset } {
  return {
    calib: loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, undefined, { start: 5000, end: 10000 }),
    evalData: loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, { start: 0, end: 2000 }),
  };
}

/**
 * The fixture protocol with one normalisation (λ by max or p99.9 of non-zero activations, reset by
 * subtraction, Rueckauer gating, accumulator readout) reproduces its row of the reference table: λ as
 * SOURCES.md documents it, and every T = 1…128 within ±0.5 pp for v(0) = 0 and θ/2.
 */
export function referenceTableTest(norm: 'max' | 'p99.9', lambdas: readonly number[]): void {
  let ann: SnnModel;
  let data: ReturnType<typeof cntkData>;
  beforeAll(() => {
    ann = prepareAnn(readOnnx(`${CNTK}/mnist.onnx`), { maxpool: 'gate' });
    data = cntkData();
  });
  describe('CNTK MNIST CNN: the fixture protocol reproduces the reference table', () => {
    it(`${norm}: λ as documented, every cell within ±0.5 pp for v(0) = 0 and θ/2`, async () => {
      const scales = calibrate(ann, data.calib.x, data.calib.n, { norm });
      expect([...scales.values()].map((s) => Number(s.lambda[0].toFixed(1)))).toEqual(lambdas); // SOURCES.md
      for (const v0 of ['zero', 'half'] as const) {
        const snn = convertAnnToSnn(ann, scales, { v0, maxpool: 'gate', timesteps: 16 });
        const acc = await accuracyVsT(snn, data.evalData, TS, { batch: 32 }); // one run of 128 steps
        for (const T of TS) {
          const ref = referenceAccuracy(norm, v0, T);
          expect(Math.abs(acc.get(T)! - ref), `${norm} v0=${v0} T=${T}: ${acc.get(T)} vs ${ref}`).toBeLessThanOrEqual(0.5);
        }
      }
    }, SIMULATION_TIMEOUT);
  });
}
