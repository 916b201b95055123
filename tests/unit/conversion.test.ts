/**
 * ANN→SNN conversion: the rewrites that precede calibration preserve the ANN; calibration follows
 * NumPy's percentile; a residual network with BatchNorm converts and approaches its ANN at large T;
 * bad input gets clear errors.
 */
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { foldBatchNorm } from '../../compiler/passes/fold-batchnorm.js';
import { hoistMaxPoolBeforeRelu } from '../../compiler/passes/maxpool-policy.js';
import { runPasses } from '../../compiler/passes/pipeline.js';
import { percentileOfSorted } from '../../compiler/passes/calibrate.js';
import { LAYER_CALIBRATION_PRESET, calibrateAnn, convertAnn, convertCalibrated, convertsPerT } from '../../compiler/passes/conversion.js';
import type { Dataset } from '../../compiler/io/datasets.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { relativeDiff } from '../helpers/compare.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { randomInput } from '../helpers/models.js';
import { convAnn, residualAnn } from '../helpers/onnx-ann.js';

const dataset = (x: Float32Array, sampleShape: number[]): Dataset => ({ x, n: x.length / sizeOf(sampleShape), sampleShape, offset: 0 });

describe('conversion building blocks', () => {
  it('percentile: NumPy linear interpolation between order statistics', () => {
    const v = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    expect(percentileOfSorted(v, 50)).toBeCloseTo(5.5, 6); // np.percentile(range(1, 11), 50)
    expect(percentileOfSorted(v, 99.9)).toBeCloseTo(9.991, 5); // 1 + 0.999·9 = 9.991
    expect(percentileOfSorted(v, 100)).toBe(10);
  });

  it('foldBatchNorm and moving max-pools before ReLUs leave the ANN function unchanged', () => {
    const ann = parseOnnx(convAnn(13), 'ann.onnx');
    const x = randomInput(8, 6 * 200);
    const reference = simulate(ann, x, 6, { timesteps: 1 }).output;
    const rewritten = runPasses(ann, [foldBatchNorm, hoistMaxPoolBeforeRelu]);
    expect(rewritten.layers.findIndex((l) => l.op === 'maxpool2d')).toBeLessThan(rewritten.layers.findIndex((l) => l.op === 'relu'));
    expect(relativeDiff(simulate(rewritten, x, 6, { timesteps: 1 }).output, reference)).toBeLessThan(1e-5);
  });
});

describe('residual network with BatchNorm', () => {
  const ann = parseOnnx(residualAnn(), 'res.onnx');
  const calib = dataset(randomInput(30, 400 * 16), [4, 2, 2]);
  const x = randomInput(31, 50 * 16);
  /** Relative error of accumulate/T against the ANN logits, and how many of 50 predictions agree. */
  function compare(norm: 'max' | 'p99.9' | 'channel', T: number) {
    const { snn, ann: prepared } = convertAnn(ann, calib, { norm, v0: 'half', maxpool: 'gate', timesteps: T });
    // The skip add joins two scales: they were reconciled by coefficients or a rescale layer.
    expect(snn.layers.some((l) => l.op === 'add' && (l.coefficients !== undefined || l.inputs.some((i) => i.includes('rescale'))))).toBe(true);
    const annOut = simulate(prepared, x, 50, { timesteps: 1 }).output;
    const snnOut = simulate(snn, x, 50).output.map((v) => v / T);
    let agree = 0;
    for (let i = 0; i < 50; i++) {
      const a = annOut.subarray(i * 4, i * 4 + 4);
      const s = snnOut.subarray(i * 4, i * 4 + 4);
      if (a.indexOf(Math.max(...a)) === s.indexOf(Math.max(...s))) agree++;
    }
    return { error: relativeDiff(snnOut, annOut), agree };
  }

  it('with max normalisation the SNN converges to its ANN as O(1/T): < 0.5 % of the logit scale at T = 1024', () => {
    const coarse = compare('max', 64);
    const fine = compare('max', 1024);
    expect(fine.error).toBeLessThan(0.005); // measured 0.14 %
    expect(fine.error).toBeLessThan(coarse.error / 4); // measured 2.1 % at T = 64
    expect(fine.agree).toBe(50);
  });

  it('with percentile normalisation it stays within the clipping error: < 6 % of the logit scale at T = 1024', () => {
    // The top 0.1 % of activations (per channel for "channel") saturate at one spike per step.
    for (const norm of ['p99.9', 'channel'] as const) {
      const r = compare(norm, 1024);
      expect(r.error).toBeLessThan(0.06); // measured 2.6 % (p99.9) and 5.3 % (channel)
      expect(r.agree).toBeGreaterThanOrEqual(46);
    }
  });
});

describe('layer-wise calibration in the conversion pipeline', () => {
  const ann = parseOnnx(convAnn(13), 'ann.onnx');
  const calib = dataset(randomInput(40, 60 * 200), [2, 10, 10]);
  const base = { norm: 'channel', v0: 'half', maxpool: 'gate', timesteps: 4 } as const;

  it('convertCalibrated applies it for the T converted for, on the first samples, and records it; the readout meets the ANN\'s mean', () => {
    const c = calibrateAnn(ann, calib, base);
    const plain = convertCalibrated(c, base).snn;
    const calibrated = convertCalibrated(c, { ...base, layerCalibration: { samples: 40, ...LAYER_CALIBRATION_PRESET } }).snn;
    expect(calibrated.metadata.layerCalibration).toBeDefined();
    expect(plain.metadata.layerCalibration).toBeUndefined();
    // The readout was refitted on the first 40 samples: its mean output there is closer to the ANN's.
    const x = calib.x.subarray(0, 40 * 200);
    const annMean = mean(simulate(c.ann, x, 40, { timesteps: 1 }).output);
    const err = (m: typeof plain) => Math.abs(mean(simulate(m, x, 40).output.map((v) => v / 4)) - annMean);
    expect(err(calibrated)).toBeLessThan(err(plain));
    expect(convertsPerT(base)).toBe(false);
    expect(convertsPerT({ ...base, layerCalibration: { samples: 1 } })).toBe(true);
  });

  it('needs calibration data', () => {
    const noData = { ...calibrateAnn(ann, calib, base), data: undefined }; // as a data-free (qcfs) calibration leaves it
    expect(snncErrorMessage(() => convertCalibrated(noData, { ...base, layerCalibration: { samples: 10 } }))).toMatch(/layer-wise calibration needs calibration data/);
  });
});

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;

describe('bad conversion input', () => {
  const ann = parseOnnx(convAnn(13), 'ann.onnx');
  it('calibration data of the wrong shape, missing data, qcfs without clip ceilings', () => {
    expect(snncErrorMessage(() => convertAnn(ann, dataset(randomInput(1, 10 * 28), [28]), { norm: 'max', v0: 'half', maxpool: 'gate', timesteps: 8 }))).toMatch(/calibration data: each sample has 28 values \(\[28\]\) but the ANN takes \[2,10,10\]/);
    expect(snncErrorMessage(() => convertAnn(ann, undefined, { norm: 'p99.9', v0: 'half', maxpool: 'gate', timesteps: 8 }))).toMatch(/needs calibration data/);
    expect(snncErrorMessage(() => convertAnn(ann, undefined, { norm: 'qcfs', v0: 'half', maxpool: 'gate', timesteps: 8 }))).toMatch(/layer "Relu_relu1" is a plain ReLU/);
  });
});
