/**
 * The decisions `snnc convert`, `snnc train` and `snnc eval` make live in the library, so a pipeline that
 * imports snnc gets the CLI's behaviour: which conversion a model takes (conversionSource), the default
 * training noise (trainingNoise), and what eval measures for a model (evaluateModel), checked here against
 * closed forms and against the simulator run directly.
 */
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import type { Dataset } from '../../compiler/io/datasets.js';
import * as L from '../../compiler/ir/layers.js';
import { NOISE_SITE } from '../../compiler/ir/noise.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { conversionSource, convertAnn } from '../../compiler/passes/conversion.js';
import { accuracy, predictions } from '../../compiler/reference/predictions.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { evaluateModel } from '../../tools/evaluate-model.js';
import { trainingNoise } from '../../training/train.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { mlp, randomInput } from '../helpers/models.js';
import { convAnn } from '../helpers/onnx-ann.js';

const noise = { dist: 'gaussian', mean: 0.5, std: 0.25, where: NOISE_SITE } as const;

describe('which conversion a model takes (conversionSource)', () => {
  const plain = mlp();
  const recorded = { ...plain, metadata: { ...plain.metadata, noise } };
  it('t1-noise when the model records its noise or one is assumed, else ann', () => {
    expect(conversionSource(plain, 'a.json')).toEqual({ from: 'ann' });
    expect(conversionSource(recorded, 'a.json')).toEqual({ from: 't1-noise', noise });
    const assumed = { ...noise, mean: 0.3 };
    expect(conversionSource(recorded, 'a.json', { assumeNoise: assumed })).toEqual({ from: 't1-noise', noise: assumed });
    expect(conversionSource(recorded, 'a.json', { from: 'ann' })).toEqual({ from: 'ann' });
  });
  it('refuses contradictions and a t1-noise conversion without noise, naming the file', () => {
    expect(snncErrorMessage(() => conversionSource(plain, 'a.json', { from: 'ann', assumeNoise: noise }))).toMatch(/--assume-noise is for --from t1-noise/);
    expect(snncErrorMessage(() => conversionSource(plain, 'a.json', { from: 't1-noise' }))).toMatch(/^a\.json: the model records no training noise/);
  });
});

describe('the default training noise (trainingNoise)', () => {
  it('gaussian θ/2, θ/√12 for a common θ (1 here); the given one; none for an ANN; refused for different θ', () => {
    const m = mlp();
    expect(trainingNoise(m, 't1-noise')).toEqual({ dist: 'gaussian', mean: 0.5, std: 0.2887, where: NOISE_SITE });
    expect(trainingNoise(m, 't1-noise', noise)).toBe(noise);
    expect(trainingNoise(m, 'ann')).toBeUndefined();
    expect(snncErrorMessage(() => trainingNoise(m, 'ann', noise))).toMatch(/--noise applies to --mode t1-noise/);
    const mixed = { ...m, layers: m.layers.map((l) => (L.isNeuron(l) && l.name === 'if2' ? { ...l, params: { ...l.params, threshold: 2 } } : l)) };
    expect(snncErrorMessage(() => trainingNoise(mixed, 't1-noise'))).toMatch(/different thresholds \(1, 2\)/);
  });
});

describe('what eval measures for a model (evaluateModel)', () => {
  const ann = parseOnnx(convAnn(13), 'ann.onnx');
  const per = sizeOf(ann.input.shape);
  const n = 24;
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const data = (): Dataset => ({ x: randomInput(31, n * per), n, sampleShape: [...ann.input.shape], labels, offset: 0 });
  const accuracyOf = (output: Float32Array) => accuracy(predictions(output, n, output.length / n), labels);

  it('an ANN without calibration data: its own accuracy (the simulator at T=1), no T', async () => {
    const r = await evaluateModel('ann.json', ann, data(), { timesteps: [2, 4], engine: 'simulator', conversion: { norm: 'max', v0: 'half', maxpool: 'auto' } });
    expect(r.ann).toBe(accuracyOf(simulate(ann, data().x, n, { timesteps: 1 }).output));
    expect([...r.accuracy.keys()]).toEqual([]);
    expect(r.t1).toBeNull();
  });

  it('an ANN with calibration data: the converted SNN at each T, as convertAnn + the simulator give it', async () => {
    const settings = { norm: 'max', v0: 'half', maxpool: 'auto' } as const;
    const calib = { ...data(), labels: undefined };
    const r = await evaluateModel('ann.json', ann, data(), { timesteps: [2, 6], engine: 'simulator', conversion: { ...settings, calib } });
    const { snn } = convertAnn(ann, calib, { ...settings, timesteps: 6 });
    for (const T of [2, 6]) expect(r.accuracy.get(T)).toBe(accuracyOf(simulate(snn, data().x, n, { timesteps: T }).output));
  });
});
