/**
 * ANN→SNN conversion with burst spikes (`burst: Γ`, burst_if neurons; convert-ann.ts):
 *   - a hidden layer fed by a constant current sends, over T steps, the IF code of Γ·T levels in closed
 *     form, N = clamp(⌊Γ·T·a/λ + ½⌋, 0, Γ·T) for ANN activation a and clip λ (v(0) = θ/2);
 *   - Γ = 1 is today's IF conversion, byte for byte;
 *   - the converted conv network (gated max-pool of bursts) runs on onnxruntime as in the simulator;
 *   - chip targets refuse burst_if by name; the activity report counts every spike of a burst.
 */
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { sizeOf, tensor } from '../../compiler/ir/tensor.js';
import { calibrateAnn, convertCalibrated } from '../../compiler/passes/conversion.js';
import type { Dataset } from '../../compiler/io/datasets.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { quantiseForChip } from '../../targets/loihi/index.js';
import { measureActivity } from '../../tools/report/activity.js';
import { compareWithOrt } from '../helpers/compare.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { randomInput, randomTensor, rng } from '../helpers/models.js';
import { convAnn } from '../helpers/onnx-ann.js';

const dataset = (x: Float32Array, sampleShape: number[]): Dataset => ({ x, n: x.length / sizeOf(sampleShape), sampleShape, offset: 0 });

/** input [12] → dense 20 → relu → dense 4 (the readout): the hidden layer's current is constant over time. */
function denseAnn(): SnnModel {
  const r = rng(5);
  return {
    name: 'dense_ann',
    input: { shape: [12], encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS },
    layers: [
      L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [20, 12], 0.6), bias: randomTensor(r, [20], 0.2) }),
      L.relu({ name: 'relu1', inputs: ['fc1'] }),
      L.dense({ name: 'fc2', inputs: ['relu1'], weight: randomTensor(r, [4, 20], 0.5), bias: tensor([4], new Float32Array(4)) }),
    ],
    output: { layer: 'fc2', decoding: 'accumulate' },
    timesteps: 1,
    dt: 1e-3,
    metadata: {},
  };
}

describe('conversion with burst spikes', () => {
  const N = 64;
  const x = randomInput(17, N * 12);
  const calibrated = calibrateAnn(denseAnn(), dataset(x, [12]), { maxpool: 'auto', norm: 'p99.9' });

  for (const [burst, T] of [
    [2, 4],
    [3, 2],
    [4, 5],
  ]) {
    it(`Γ=${burst}, T=${T}: each neuron's spike count is the IF code of Γ·T levels (closed form)`, () => {
      const snn = convertCalibrated(calibrated, { norm: 'p99.9', v0: 'half', maxpool: 'auto', timesteps: T, burst }).snn;
      expect(snn.layers.find((l) => l.name === 'relu1')).toMatchObject({ model: 'burst_if', params: { max_spikes: burst } });
      const worth = (snn.metadata.conversion as { layers: Record<string, { lambda: number }> }).layers.relu1.lambda; // λ/Γ
      const clip = worth * burst;
      const a = simulate(calibrated.ann, x, N, { timesteps: 1, record: ['relu1'] }).values.get('relu1')!;
      const s = simulate(snn, x, N, { timesteps: T, record: ['relu1'] }).values.get('relu1')!;
      let checked = 0;
      let bursts = 0;
      let clipped = 0;
      for (let i = 0; i < a.length; i++) {
        let count = 0;
        for (let t = 0; t < T; t++) {
          const v = s[t * a.length + i];
          if (v > 1) bursts++;
          count += v;
        }
        const exact = (burst * T * a[i]) / clip + 0.5;
        if (Math.abs(exact - Math.round(exact)) < 1e-3) continue; // on a rounding boundary: float32 may go either way
        const want = Math.min(Math.max(Math.floor(exact), 0), burst * T);
        if (want === burst * T) clipped++;
        expect(count, `neuron ${i}`).toBe(want);
        checked++;
      }
      expect(checked).toBeGreaterThan(0.95 * a.length);
      expect(bursts).toBeGreaterThan(50); // several spikes in one step do happen
      expect(clipped).toBeGreaterThan(0); // and so does the clip at λ (p99.9)
    });
  }

  it('Γ = 1 converts to IF neurons exactly as without the option', () => {
    const plain = convertCalibrated(calibrated, { norm: 'p99.9', v0: 'half', maxpool: 'auto', timesteps: 4 }).snn;
    const one = convertCalibrated(calibrated, { norm: 'p99.9', v0: 'half', maxpool: 'auto', timesteps: 4, burst: 1 }).snn;
    expect(JSON.stringify(one)).toBe(JSON.stringify(plain));
    expect(plain.layers.find((l) => l.name === 'relu1')).toMatchObject({ model: 'if' });
  });

  it('refuses a burst length that is not a whole number ≥ 1', () => {
    expect(snncErrorMessage(() => convertCalibrated(calibrated, { norm: 'p99.9', v0: 'half', maxpool: 'auto', timesteps: 4, burst: 1.5 }))).toMatch(/burst: .* whole number ≥ 1, got 1.5/);
  });

  const cnnCalib = dataset(randomInput(9, 40 * 200), [2, 10, 10]);
  const cnn = convertCalibrated(calibrateAnn(parseOnnx(convAnn(13), 'ann.onnx'), cnnCalib, { maxpool: 'gate', norm: 'channel' }), { norm: 'channel', v0: 'half', maxpool: 'gate', timesteps: 6, burst: 3 }).snn;

  it('a converted conv network with gated max-pools of bursts runs on onnxruntime as in the simulator', async () => {
    expect(cnn.layers.filter((l) => L.isNeuron(l) && l.model === 'burst_if')).toHaveLength(2);
    const xs = randomInput(3, 8 * 200);
    const c = await compareWithOrt(cnn, xs, 8, 'scan', 8);
    expect(c.spikes).toBeGreaterThan(100);
    expect(c.mismatches).toBe(0);
    expect(c.predictionsAgree).toBe(8);
    expect(c.maxRelDiff).toBeLessThan(1e-5); // the readout's float32 sums over T, in another order
  });

  it('the activity report counts every spike of a burst, and chip targets refuse burst_if by name', () => {
    const xs = randomInput(4, 5 * 200);
    const last = cnn.layers.filter(L.isNeuron).at(-1)!.name;
    const sim = simulate(cnn, xs, 5, { record: [last] }).values.get(last)!;
    const payloads = sim.reduce((acc, v) => acc + v, 0);
    expect(sim.some((v) => v > 1)).toBe(true);
    const row = measureActivity(cnn, xs, 5).layers.find((l) => l.layer === last)!;
    expect(row.spikes).toBeCloseTo(payloads / 5, 6);
    // The readout of the dense network reads bursts directly: each spike is one AC on each of its synapses.
    const snn = convertCalibrated(calibrated, { norm: 'p99.9', v0: 'half', maxpool: 'auto', timesteps: 3, burst: 3 }).snn;
    const counts = simulate(snn, x, N, { record: ['relu1'] }).values.get('relu1')!;
    const w = (snn.layers.find((l) => l.name === 'fc2') as L.Dense).weight;
    const nonzero = Array.from({ length: 20 }, (_, i) => [0, 1, 2, 3].filter((o) => w.data[o * 20 + i] !== 0).length);
    const acs = counts.reduce((acc, v, j) => acc + v * nonzero[j % 20], 0);
    expect(counts.some((v) => v > 1)).toBe(true);
    expect(measureActivity(snn, x, N).layers.find((l) => l.layer === 'fc2')!.synops).toMatchObject({ effective: acs / N, kind: 'AC' });
    expect(snncErrorMessage(() => quantiseForChip(cnn))).toMatch(/^layer "\w+": the loihi target does not support burst_if neurons/);
  });
});
