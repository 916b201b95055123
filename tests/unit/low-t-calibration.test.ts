/**
 * Layer-wise calibration of a converted SNN at low T (compiler/passes/layer-calibration.ts) on a small
 * seeded conv ANN: after calibration every neuron layer's per-channel mean rate error against the ANN
 * (measured here independently, on the calibration set) is smaller than before, the readout's mean error
 * is ~0, the model verifies, the input model is untouched, and the pass is deterministic.
 */
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { type NeuronLayer, isNeuron } from '../../compiler/ir/layers.js';
import { paramValues } from '../../compiler/ir/params.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { convertAnn } from '../../compiler/passes/conversion.js';
import { calibrateLayers } from '../../compiler/passes/layer-calibration.js';
import type { Dataset } from '../../compiler/io/datasets.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { randomInput } from '../helpers/models.js';
import { convAnn } from '../helpers/onnx-ann.js';

const T = 4;
const SHAPE = [2, 10, 10];
const N = 300;
const calib: Dataset = { x: randomInput(41, N * sizeOf(SHAPE)), n: N, sampleShape: SHAPE, offset: 0 };

/** Mean over channels of |mean ANN activation − λ·mean spike rate| per neuron layer, and of the readout's |mean error| per class. */
function meanErrors(snn: SnnModel, ann: SnnModel): Map<string, number> {
  const shapes = verifyModel(snn);
  const lambdas = (snn.metadata as { conversion: { layers: Record<string, { lambda: number | number[] }> } }).conversion.layers;
  const neurons = snn.layers.filter(isNeuron).map((l) => l.name);
  const out = snn.output.layer;
  const a = simulate(ann, calib.x, N, { timesteps: 1, record: [...neurons, out] });
  const s = simulate(snn, calib.x, N, { timesteps: T, probes: neurons });
  const errors = new Map<string, number>();
  const perChannel = (values: ArrayLike<number>, size: number, C: number, rows: number) => {
    const sums = new Float64Array(C);
    for (let i = 0; i < values.length; i++) sums[Math.floor((i % size) / (size / C))] += values[i];
    return sums.map((v) => v / ((rows * size) / C));
  };
  for (const name of neurons) {
    const shape = shapes.get(name)!;
    const C = shape[0];
    const l = lambdas[name].lambda;
    const want = perChannel(a.values.get(name)!, sizeOf(shape), C, N);
    const rate = perChannel(s.spikes.get(name)!, sizeOf(shape), C, N * T);
    errors.set(name, want.reduce((acc, w, c) => acc + Math.abs(w - (typeof l === 'number' ? l : l[c]) * rate[c]), 0) / C);
  }
  const C = sizeOf(shapes.get(out)!);
  const want = perChannel(a.values.get(out)!, C, C, N);
  const got = perChannel(s.output, C, C, N).map((v) => v / T); // accumulate → per step
  errors.set(out, want.reduce((acc, w, c) => acc + Math.abs(w - got[c]), 0) / C);
  return errors;
}

describe('layer-wise calibration at low T', () => {
  const { snn, ann } = convertAnn(parseOnnx(convAnn(13), 'ann.onnx'), calib, { norm: 'p99.9', v0: 'half', maxpool: 'gate', timesteps: T });
  const original = JSON.stringify(snn);
  const before = meanErrors(snn, ann);

  for (const readout of ['bias', 'weights'] as const) {
    it(`reduces every layer's mean rate error on the calibration set (readout ${readout})`, () => {
      const r = calibrateLayers(snn, ann, calib.x, calib.n, { timesteps: T, readout, ridge: 0.3 });
      verifyModel(r.snn);
      expect(JSON.stringify(snn)).toBe(original); // pure: the input model is unchanged
      const after = meanErrors(r.snn, ann);
      expect([...before.keys()].length).toBe(3); // two neuron layers and the readout
      for (const [layer, e] of before) {
        expect(after.get(layer)!, layer).toBeLessThan(e);
        if (layer === snn.output.layer) expect(after.get(layer)!).toBeLessThan(1e-3 * Math.max(1, e));
      }
      // The pass's own report agrees with the independent measurement of the end state.
      for (const l of r.layers) expect(l.after.reduce((acc, v) => acc + Math.abs(v), 0) / l.after.length).toBeCloseTo(after.get(l.layer)!, 3);
    });
  }

  it('refits a hidden layer towards the ANN pre-activations (hidden weights)', () => {
    // The grouped conv2 reads pool1's spikes and feeds the neuron layer clip2: its mean current over T should
    // match the ANN's conv2 output in current units (value·θ/λ) better after the refit, and the mean rate error
    // (with one mean correction after the refit) should still drop.
    const shapes = verifyModel(snn);
    const neuron = snn.layers.filter(isNeuron)[1] as NeuronLayer;
    const feed = neuron.inputs[0];
    expect(snn.layers.find((l) => l.name === feed)?.op).toBe('conv2d');
    const lambda = (snn.metadata as { conversion: { layers: Record<string, { lambda: number | number[] }> } }).conversion.layers[neuron.name].lambda;
    const shape = shapes.get(neuron.name)!;
    const theta = paramValues(neuron.params.threshold, shape);
    const size = sizeOf(shape);
    const z = simulate(ann, calib.x, N, { timesteps: 1, record: [feed] }).values.get(feed)!;
    const currentError = (model: SnnModel) => {
      const v = simulate(model, calib.x, N, { timesteps: T, record: [feed] }).values.get(feed)!;
      let sq = 0;
      for (let i = 0; i < N * size; i++) {
        let mean = 0;
        for (let t = 0; t < T; t++) mean += v[t * N * size + i] / T;
        const c = Math.floor((i % size) / (size / shape[0]));
        sq += (mean - (z[i] * theta[i % size]) / (typeof lambda === 'number' ? lambda : lambda[c])) ** 2;
      }
      return sq / (N * size);
    };
    const refit = calibrateLayers(snn, ann, calib.x, calib.n, { timesteps: T, readout: 'none', hidden: 'weights', ridge: 0.3, iterations: 0 });
    const conv2 = (m: SnnModel) => JSON.stringify(m.layers.find((l) => l.name === feed));
    expect(conv2(refit.snn)).not.toBe(conv2(snn));
    expect(currentError(refit.snn)).toBeLessThan(0.9 * currentError(snn));
    const r = calibrateLayers(snn, ann, calib.x, calib.n, { timesteps: T, readout: 'weights', hidden: 'weights', ridge: 0.3, iterations: 1 });
    const after = meanErrors(r.snn, ann);
    for (const [layer, e] of before) expect(after.get(layer)!, layer).toBeLessThan(e);
    expect((r.snn.metadata as { layerCalibration: { method: string } }).layerCalibration.method).toContain(`ridge refit of ${feed}`);
  });

  it('is deterministic and records what it did', () => {
    const a = calibrateLayers(snn, ann, calib.x, calib.n, { timesteps: T, readout: 'weights', ridge: 0.3 });
    const b = calibrateLayers(snn, ann, calib.x, calib.n, { timesteps: T, readout: 'weights', ridge: 0.3 });
    expect(JSON.stringify(a.snn)).toBe(JSON.stringify(b.snn));
    expect((a.snn.metadata as { layerCalibration?: { timesteps: number; samples: number } }).layerCalibration).toMatchObject({ timesteps: T, samples: N });
  });
});
