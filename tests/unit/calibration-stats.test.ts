/**
 * Calibration in bounded memory and on onnxruntime: the histograms of activation-stats.ts agree with
 * the exact statistics to their bin width; the prefix-sum λ search equals a direct evaluation of the
 * quantisation error; the ANN lowered to ONNX and run by onnxruntime gives the simulator's activations
 * and the same λ; the per-layer table follows from its definition.
 */
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import { EXACT_BUDGET, HISTOGRAM_BITS, LayerAccumulator, percentileOfSorted } from '../../compiler/passes/activation-stats.js';
import { calibrationTable, collectActivations, collectActivationsWith, quantisationOptimalScale, scalesFromActivations } from '../../compiler/passes/calibrate.js';
import { prepareAnn } from '../../compiler/passes/conversion.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { ortAnnSession } from '../../runtime/ann-session.js';
import { annGraph } from '../../targets/gpu/ann-graph.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { cycleThroughDelay, randomInput } from '../helpers/models.js';
import { convAnn, residualAnn } from '../helpers/onnx-ann.js';

/** Seeded activations [n, C, 4, 4]: half zeros, the rest log-normal with a per-channel scale. */
function activations(seed: number, n: number, C: number): Float32Array {
  let s = seed;
  const u = () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
  return Float32Array.from({ length: n * C * 16 }, (_, i) => {
    const c = Math.floor(i / 16) % C;
    return u() < 0.5 ? 0 : Math.exp(2 * (u() + u() + u() - 1.5)) * (1 + c);
  });
}

const bin = 2 ** -HISTOGRAM_BITS;

describe('activation statistics: exact and histogram', () => {
  const C = 3;
  const n = 4000;
  const x = activations(7, n, C);
  const stats = (exact: boolean) => {
    const acc = new LayerAccumulator(C, C * 16, { exact, perChannel: true });
    for (let k = 0; k < n; k += 500) acc.add(x.subarray(k * C * 16, (k + 500) * C * 16), 500); // in batches, as calibration feeds them
    return acc.finish();
  };
  const exact = stats(true);
  const histogram = stats(false);

  it('count, zeros and max are exact either way', () => {
    const positive = x.filter((v) => v > 0);
    for (const s of [exact, histogram]) {
      expect(s.total).toBe(x.length);
      expect(s.merged.count).toBe(positive.length);
      expect(s.merged.max).toBe(Math.max(...positive));
    }
  });

  it('the exact percentiles are NumPy\'s; the histogram\'s lie between the two order statistics NumPy interpolates, widened by one bin (2^-8 relative)', () => {
    const within = (h: number, sorted: Float32Array, p: number) => {
      const pos = (p / 100) * (sorted.length - 1);
      expect(h).toBeGreaterThanOrEqual(sorted[Math.floor(pos)] * (1 - bin));
      expect(h).toBeLessThanOrEqual(sorted[Math.ceil(pos)] * (1 + bin));
    };
    const perChannel = (c: number) => x.filter((_, i) => Math.floor(i / 16) % C === c && x[i] > 0).sort();
    const sorted = x.filter((v) => v > 0).sort();
    for (const p of [50, 90, 99, 99.9, 100]) {
      expect(exact.merged.percentile(p)).toBe(percentileOfSorted(sorted, p));
      within(histogram.merged.percentile(p), sorted, p);
      for (let c = 0; c < C; c++) within(histogram.channels![c].percentile(p), perChannel(c), p);
    }
    expect(histogram.merged.percentile(100)).toBe(exact.merged.max);
  });

  it('countAbove: exact counts, and the histogram within the count of one bin', () => {
    const positive = x.filter((v) => v > 0);
    for (const t of [0.5, 2, 8]) {
      const above = positive.filter((v) => v > t).length;
      expect(exact.merged.countAbove(t)).toBe(above);
      const inBin = positive.filter((v) => Math.abs(v / t - 1) <= bin).length;
      expect(Math.abs(histogram.merged.countAbove(t) - above)).toBeLessThanOrEqual(inBin + 1);
    }
  });

  it('the mse λ: prefix sums give the λ a direct error evaluation picks; the histogram\'s is within 1 %', () => {
    for (const T of [4, 16]) {
      const lambda = quantisationOptimalScale(exact.merged, T, 'half');
      // The direct evaluation of Σ (a − Q_T(a))² over the candidates (conversion.md §2.2).
      const a = x.filter((v) => v > 0).sort();
      let best = 0;
      let bestErr = Infinity;
      for (let q = 90; q <= 100.0001; q += 0.05) {
        const l = percentileOfSorted(a, Math.min(q, 100));
        let err = 0;
        for (const v of a) err += (v - (l * Math.min(T, Math.max(0, Math.floor((v * T) / l + 0.5)))) / T) ** 2;
        if (err < bestErr) [best, bestErr] = [l, err];
      }
      expect(lambda).toBeCloseTo(best, 10);
      expect(Math.abs(quantisationOptimalScale(histogram.merged, T, 'half') / lambda - 1)).toBeLessThan(0.01);
    }
  });

  it('calibration keeps values exactly up to the budget (EXACT_BUDGET: the MNIST protocol stays exact) and uses histograms past it', () => {
    const ann = prepareAnn(parseOnnx(convAnn(13), 'ann.onnx'), { maxpool: 'auto' });
    const n = 30;
    const x1 = randomInput(3, n * sizeOf(ann.input.shape));
    const exactly = collectActivations(ann, x1, n);
    const binned = collectActivations(ann, x1, n, { exactBudget: 1000 });
    const record = [...exactly.layers.keys()];
    const values = simulate(ann, x1, n, { timesteps: 1, record }).values;
    for (const layer of record) {
      const sorted = values.get(layer)!.filter((v) => v > 0).sort();
      expect(exactly.layers.get(layer)!.merged.percentile(99)).toBe(percentileOfSorted(sorted, 99));
      expect(binned.layers.get(layer)!.channels).toBeUndefined(); // per channel only when asked (--norm channel)
      expect(Math.abs(binned.layers.get(layer)!.merged.percentile(99) / percentileOfSorted(sorted, 99) - 1)).toBeLessThan(bin);
    }
    expect(EXACT_BUDGET * 4).toBe(256 * 2 ** 20);
  });
});

describe('calibration on onnxruntime', () => {
  it('the ANN graph gives the simulator\'s ReLU activations, and the same λ for every normalisation', async () => {
    for (const bytes of [convAnn(13), residualAnn()]) {
      const ann = prepareAnn(parseOnnx(bytes, 'ann.onnx'), { maxpool: 'auto' });
      const n = 37; // not a multiple of the session's batch: the last one is padded
      const x = randomInput(5, n * sizeOf(ann.input.shape));
      const onSimulator = collectActivations(ann, x, n, { batch: 10 });
      const onOrt = await collectActivationsWith(ortAnnSession({ batch: 8, threads: 1 }), ann, x, n);
      for (const norm of ['max', 'p99.9', 'channel', 'mse'] as const) {
        const a = scalesFromActivations(onSimulator, { norm, timesteps: 8 });
        const b = scalesFromActivations(onOrt, { norm, timesteps: 8 });
        for (const [layer, s] of a) s.lambda.forEach((l, c) => expect(Math.abs(b.get(layer)!.lambda[c] / l - 1)).toBeLessThan(1e-5));
      }
      for (const [layer, s] of onSimulator.layers) {
        expect(onOrt.layers.get(layer)!.total).toBe(s.total);
        expect(Math.abs(onOrt.layers.get(layer)!.merged.count - s.merged.count)).toBeLessThanOrEqual(s.total * 1e-4); // a value at ±1 ulp of 0
      }
    }
  });

  it('the per-layer table: λ, the share of non-zero activations above it, the share of zeros', () => {
    const ann = prepareAnn(parseOnnx(convAnn(13), 'ann.onnx'), { maxpool: 'auto' });
    const n = 20;
    const x = randomInput(9, n * sizeOf(ann.input.shape));
    const acts = collectActivations(ann, x, n);
    const scales = scalesFromActivations(acts, { norm: 'p99.9', percentile: 90 });
    const record = [...acts.layers.keys()];
    const values = simulate(ann, x, n, { timesteps: 1, record }).values;
    for (const row of calibrationTable(acts, scales)) {
      const v = values.get(row.layer)!;
      const positive = v.filter((a) => a > 0);
      expect(row.lambda).toBe(scales.get(row.layer)!.lambda[0]);
      expect(row.sparsity).toBeCloseTo(1 - positive.length / v.length, 12);
      expect(row.clipped).toBeCloseTo(positive.filter((a) => a > row.lambda).length / positive.length, 12);
      expect(row.clipped).toBeGreaterThan(0.05); // p90: about a tenth of them
      expect(row.clipped).toBeLessThan(0.15);
    }
  });

  it('only a stateless ANN lowers to one graph', () => {
    expect(snncErrorMessage(() => annGraph(cycleThroughDelay('subtract', 4), 2, []))).toMatch(/has state over time: only an ANN/);
  });
});
