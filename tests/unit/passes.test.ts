/**
 * One golden test per pass of compiler/passes/ (model in → model out): a tiny model built here with
 * hand-chosen weights (powers of two and their sums, so every folded value is exact in float32), the pass
 * applied, and the whole expected model written out (layer list, rescaled weights computed by hand in the
 * comments, metadata), plus one property the pass must keep. recurrenceAsWeights has its golden test in
 * delays-cycles.test.ts, next to the cycles it folds.
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { type MembraneNoise, NOISE_SITE, noiseOf } from '../../compiler/ir/noise.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { type ActivationScale, convertAnnToSnn } from '../../compiler/passes/convert-ann.js';
import { convertT1Noise } from '../../compiler/passes/convert-t1-noise.js';
import { foldBatchNorm } from '../../compiler/passes/fold-batchnorm.js';
import { hoistMaxPoolBeforeRelu, hoistStaticMaxPools, maxPoolToAvgPool } from '../../compiler/passes/maxpool-policy.js';
import { type Pass, runPasses } from '../../compiler/passes/pipeline.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { relativeDiff } from '../helpers/compare.js';
import { snncError, snncErrorMessage } from '../helpers/errors.js';
import { net, randomInput } from '../helpers/models.js';

/** A tensor from its values, written out. */
const t = (shape: number[], ...values: number[]) => tensor(shape, Float32Array.of(...values));


const NO_PAD = [0, 0, 0, 0] as const;

describe('foldBatchNorm', () => {
  // bnA folds into the batchnorm before it; bn1 and then bn2 fold into fc; bn0 (after the input) and bn3
  // (its producer has another reader) stay.
  const model = net('fold', [2], [
    L.batchNorm({ name: 'bn0', inputs: [INPUT], scale: t([2], 2, 4), shift: t([2], 0, 1) }),
    L.batchNorm({ name: 'bnA', inputs: ['bn0'], scale: t([2], 0.5, 0.25), shift: t([2], 1, 1) }),
    L.dense({ name: 'fc', inputs: ['bnA'], weight: t([2, 2], 1, 2, 3, 4), bias: t([2], 0.5, -1) }),
    L.batchNorm({ name: 'bn1', inputs: ['fc'], scale: t([2], 2, 0.5), shift: t([2], 1, -2) }),
    L.batchNorm({ name: 'bn2', inputs: ['bn1'], scale: t([2], -1, 3), shift: t([2], 0.25, 0) }),
    L.relu({ name: 'r', inputs: ['bn2'] }),
    L.dense({ name: 'head', inputs: ['r'], weight: t([2, 2], 1, -1, 2, 1) }),
    L.batchNorm({ name: 'bn3', inputs: ['head'], scale: t([2], 1.5, 2), shift: t([2], 0, -1) }),
    L.add({ name: 'sum', inputs: ['head', 'bn3'] }),
  ], 'sum');

  it('golden: W′[o, ·] = W[o, ·]·s[o], b′[o] = b[o]·s[o] + t[o], chained; a batchnorm folds into a batchnorm; the folded layer keeps its name', () => {
    expect(foldBatchNorm.run(model)).toEqual({
      ...model,
      layers: [
        // bnA into bn0: scale (2·0.5, 4·0.25), shift (0·0.5 + 1, 1·0.25 + 1)
        L.batchNorm({ name: 'bn0', inputs: [INPUT], scale: t([2], 1, 1), shift: t([2], 1, 1.25) }),
        // bn1 into fc: W (1·2, 2·2; 3·0.5, 4·0.5) = (2, 4; 1.5, 2), b (0.5·2 + 1, −1·0.5 − 2) = (2, −2.5);
        // bn2 into that: W (2·−1, 4·−1; 1.5·3, 2·3), b (2·−1 + 0.25, −2.5·3 + 0)
        L.dense({ name: 'fc', inputs: ['bn0'], weight: t([2, 2], -2, -4, 4.5, 6), bias: t([2], -1.75, -7.5) }),
        L.relu({ name: 'r', inputs: ['fc'] }),
        L.dense({ name: 'head', inputs: ['r'], weight: t([2, 2], 1, -1, 2, 1) }),
        L.batchNorm({ name: 'bn3', inputs: ['head'], scale: t([2], 1.5, 2), shift: t([2], 0, -1) }),
        L.add({ name: 'sum', inputs: ['head', 'bn3'] }),
      ],
    });
  });

  it('golden: a conv without bias gets one; a batchnorm that was the output hands the output to the conv', () => {
    const conv = net('fold-conv', [1, 2, 3], [
      L.conv2d({ name: 'conv', inputs: [INPUT], weight: t([2, 1, 2, 2], 1, 2, 3, 4, -1, 0.5, 0.25, 2), stride: [1, 1], padding: NO_PAD, groups: 1 }),
      L.batchNorm({ name: 'bn', inputs: ['conv'], scale: t([2], 3, -1), shift: t([2], 0.5, 2) }),
    ], 'bn');
    expect(foldBatchNorm.run(conv)).toEqual({
      ...conv,
      // output channel 0 ×3, channel 1 ×−1; b = 0·s + t
      layers: [L.conv2d({ name: 'conv', inputs: [INPUT], weight: t([2, 1, 2, 2], 3, 6, 9, 12, 1, -0.5, -0.25, -2), bias: t([2], 0.5, 2), stride: [1, 1], padding: NO_PAD, groups: 1 })],
      output: { layer: 'conv', decoding: 'accumulate' },
    });
  });

  it('property: the simulator computes the same outputs before and after (up to float32 rounding of the products)', () => {
    const n = 64;
    const x = randomInput(5, n * 2, 2);
    const before = simulate(model, x, n).output;
    expect(before.some((v) => v !== 0)).toBe(true);
    expect(relativeDiff(simulate(foldBatchNorm.run(model), x, n).output, before)).toBeLessThan(1e-6);
  });
});

describe('max-pool policies (maxpool-policy.ts)', () => {
  // conv → relu → pool twice, under direct input: r1's input is static (constant over time once the ReLUs
  // are IF neurons), r2's is not (it depends on r1).
  const c1 = L.conv2d({ name: 'c1', inputs: [INPUT], weight: t([1, 1, 1, 1], 2), bias: t([1], -0.5), stride: [1, 1], padding: NO_PAD, groups: 1 });
  const c2 = (input: string) => L.conv2d({ name: 'c2', inputs: [input], weight: t([1, 1, 1, 1], -1), bias: t([1], 1), stride: [1, 1], padding: NO_PAD, groups: 1 });
  const pool = (name: string, input: string) => L.maxpool2d({ name, inputs: [input], kernel: [2, 2], stride: [2, 2], padding: NO_PAD });
  const avg = (name: string, input: string) => L.avgpool2d({ name, inputs: [input], kernel: [2, 2], stride: [2, 2], padding: NO_PAD });
  const relu = (name: string, input: string) => L.relu({ name, inputs: [input] });
  const f = (input: string) => L.flatten({ name: 'f', inputs: [input] });
  const out = L.dense({ name: 'out', inputs: ['f'], weight: t([2, 1], 1, -1) });
  const model = net('pools', [1, 4, 4], [c1, relu('r1', 'c1'), pool('p1', 'r1'), c2('p1'), relu('r2', 'c2'), pool('p2', 'r2'), f('p2'), out], 'out');

  it('golden: avg replaces every max-pool by an average pool with the same window', () => {
    expect(maxPoolToAvgPool.run(model)).toEqual({ ...model, layers: [c1, relu('r1', 'c1'), avg('p1', 'r1'), c2('p1'), relu('r2', 'c2'), avg('p2', 'r2'), f('p2'), out] });
  });

  it('golden: pre moves every relu → max-pool to max-pool → relu; both keep their names, readers read the relu', () => {
    expect(hoistMaxPoolBeforeRelu.run(model)).toEqual({ ...model, layers: [c1, pool('p1', 'c1'), relu('r1', 'p1'), c2('r1'), pool('p2', 'c2'), relu('r2', 'p2'), f('r2'), out] });
  });

  it('golden: auto moves only the pool whose relu input is static, and nothing without direct input', () => {
    expect(hoistStaticMaxPools.run(model)).toEqual({ ...model, layers: [c1, pool('p1', 'c1'), relu('r1', 'p1'), c2('r1'), relu('r2', 'c2'), pool('p2', 'r2'), f('p2'), out] });
    const rate: SnnModel = { ...model, input: { ...model.input, encoding: { type: 'rate', seed: 1 } } };
    expect(hoistStaticMaxPools.run(rate)).toBe(rate);
  });

  it('property: moving pools before ReLUs leaves the ANN bit for bit (max∘ReLU = ReLU∘max); avg keeps every layer’s shape', () => {
    const n = 32;
    const x = randomInput(6, n * 16);
    const before = simulate(model, x, n).output;
    expect(before.some((v) => v !== 0)).toBe(true);
    for (const pass of [hoistMaxPoolBeforeRelu, hoistStaticMaxPools]) expect(simulate(pass.run(model), x, n).output).toEqual(before);
    expect(verifyModel(maxPoolToAvgPool.run(model))).toEqual(verifyModel(model));
  });
});

describe('convertAnnToSnn (convert-ann.ts)', () => {
  const mlp = net('mlp', [2], [
    L.dense({ name: 'fc1', inputs: [INPUT], weight: t([2, 2], 1, 2, 3, -1), bias: t([2], 0.5, 1) }),
    L.relu({ name: 'r1', inputs: ['fc1'] }),
    L.dense({ name: 'out', inputs: ['r1'], weight: t([2, 2], 1, -1, 0.5, 2), bias: t([2], 0.25, 0) }),
  ], 'out', { metadata: { source: 'hand-built' } });
  const lambda = [2, 4];
  const scales = new Map<string, ActivationScale>([['r1', { lambda, method: 'max', samples: 10 }]]);
  const T = 16;

  it('golden: per-channel λ, v(0) = θ/2, soft reset; the readout keeps ANN units', () => {
    expect(convertAnnToSnn(mlp, scales, { v0: 'half', maxpool: 'gate', timesteps: T, provenance: { norm: 'max' } })).toEqual({
      ...mlp,
      layers: [
        // W[o, i]·s_in[i]/λ[o], b[o]/λ[o] with s_in = 1, λ = (2, 4): rows (1, 2)/2 and (3, −1)/4; b (0.5/2, 1/4)
        L.dense({ name: 'fc1', inputs: [INPUT], weight: t([2, 2], 0.5, 1, 0.75, -0.25), bias: t([2], 0.25, 0.25) }),
        // the current already carries λ: θ = 1, v(0) = θ/2
        L.ifNeuron({ name: 'r1', inputs: ['fc1'], threshold: 1, reset: 'subtract', v0: 0.5 }),
        // no ReLU after it: λ = 1, W[o, i]·λ[i] = (1·2, −1·4; 0.5·2, 2·4), bias unchanged
        L.dense({ name: 'out', inputs: ['r1'], weight: t([2, 2], 2, -4, 1, 8), bias: t([2], 0.25, 0) }),
      ],
      timesteps: T,
      output: { layer: 'out', decoding: 'accumulate' },
      metadata: { source: 'hand-built', conversion: { norm: 'max', v0: 'θ/2', maxpool: 'gate', reset: 'subtract', layers: { r1: { lambda: [2, 4], threshold: 1, method: 'max', samples: 10 } } } },
    });
  });

  it('golden: a conv with per-channel λ, a max-pool of spikes as a gate (or an OR with spike-or), v(0) = 0 and reset to zero', () => {
    const cnn = net('cnn', [1, 2, 4], [
      L.conv2d({ name: 'c1', inputs: [INPUT], weight: t([2, 1, 1, 1], 1, -2), bias: t([2], 0, 0.5), stride: [1, 1], padding: NO_PAD, groups: 1 }),
      L.relu({ name: 'r1', inputs: ['c1'] }),
      L.maxpool2d({ name: 'p1', inputs: ['r1'], kernel: [2, 2], stride: [2, 2], padding: NO_PAD }),
      L.flatten({ name: 'f', inputs: ['p1'] }),
      L.dense({ name: 'out', inputs: ['f'], weight: t([1, 4], 1, 1, 1, 1) }),
    ], 'out');
    const cnnScales = new Map<string, ActivationScale>([['r1', { lambda: [2, 0.5], method: 'p99.9', samples: 100 }]]);
    const expected = (maxpool: 'gate' | 'spike-or', p1: L.Layer): SnnModel => ({
      ...cnn,
      layers: [
        // channel 0: 1/2, b 0/2; channel 1: −2/0.5, b 0.5/0.5
        L.conv2d({ name: 'c1', inputs: [INPUT], weight: t([2, 1, 1, 1], 0.5, -4), bias: t([2], 0, 1), stride: [1, 1], padding: NO_PAD, groups: 1 }),
        L.ifNeuron({ name: 'r1', inputs: ['c1'], threshold: 1, reset: 'zero', v0: 0 }),
        p1,
        L.flatten({ name: 'f', inputs: ['p1'] }),
        // flattened [2, 1, 2]: elements 0, 1 carry λ = 2, elements 2, 3 carry λ = 0.5
        L.dense({ name: 'out', inputs: ['f'], weight: t([1, 4], 2, 2, 0.5, 0.5) }),
      ],
      timesteps: 8,
      metadata: { conversion: { v0: '0', maxpool, reset: 'zero', layers: { r1: { lambda: [2, 0.5], threshold: 1, method: 'p99.9', samples: 100 } } } },
    });
    const options = { v0: 'zero', reset: 'zero', timesteps: 8 } as const;
    expect(convertAnnToSnn(cnn, cnnScales, { ...options, maxpool: 'gate' })).toEqual(expected('gate', L.gatedMaxpool2d({ name: 'p1', inputs: ['r1'], kernel: [2, 2], stride: [2, 2] })));
    expect(convertAnnToSnn(cnn, cnnScales, { ...options, maxpool: 'spike-or' })).toEqual(expected('spike-or', cnn.layers[2]));
  });

  it('golden: a ReLU on a value of another scale gets the threshold (threshold balancing θ = λ/s)', () => {
    const direct = net('balance', [2], [L.relu({ name: 'r0', inputs: [INPUT] }), L.dense({ name: 'out', inputs: ['r0'], weight: t([1, 2], 1, -1) })], 'out');
    expect(convertAnnToSnn(direct, new Map([['r0', { lambda: [4], method: 'max', samples: 1 }]]), { v0: 'half', maxpool: 'gate', timesteps: 4 })).toEqual({
      ...direct,
      // the input has scale 1, λ = 4: θ = 4, v(0) = 2; the readout's weights ×4
      layers: [L.ifNeuron({ name: 'r0', inputs: [INPUT], threshold: 4, reset: 'subtract', v0: 2 }), L.dense({ name: 'out', inputs: ['r0'], weight: t([1, 2], 4, -4) })],
      timesteps: 4,
      metadata: { conversion: { v0: 'θ/2', maxpool: 'gate', reset: 'subtract', layers: { r0: { lambda: 4, threshold: 4, method: 'max', samples: 1 } } } },
    });
  });

  it('property: with activations in [0, λ] the SNN readout/T is within Σ_i |W[o, i]|·λ_i/(2T) of the ANN (the rate code rounds each to λ/T)', () => {
    const n = 64;
    const x = randomInput(7, n * 2, 0.5); // fc1 = (x0 + 2·x1 + 0.5, 3·x0 − x1 + 1) ∈ [0, 2] × [0, 4]
    const ann = simulate(mlp, x, n).output;
    const W = [[1, -1], [0.5, 2]];
    for (const steps of [T, 256]) {
      const snn = simulate(convertAnnToSnn(mlp, scales, { v0: 'half', maxpool: 'gate', timesteps: steps }), x, n).output;
      let worst = 0;
      for (let s = 0; s < n; s++) {
        for (let o = 0; o < 2; o++) {
          const bound = (Math.abs(W[o][0]) * lambda[0] + Math.abs(W[o][1]) * lambda[1]) / (2 * steps);
          worst = Math.max(worst, Math.abs(snn[s * 2 + o] / steps - ann[s * 2 + o]) / bound);
        }
      }
      expect(worst).toBeGreaterThan(0.05); // the comparison is not vacuous
      expect(worst).toBeLessThanOrEqual(1 + 1e-4);
    }
  });
});

describe('convertT1Noise (convert-t1-noise.ts)', () => {
  const noise: MembraneNoise = { dist: 'gaussian', mean: 0.5, std: 0.25, where: NOISE_SITE, layers: ['n1'] };
  const fc1 = L.dense({ name: 'fc1', inputs: [INPUT], weight: t([2, 2], 1, -0.5, 0.25, 2), bias: t([2], 0.125, 0) });
  const fc2 = L.dense({ name: 'fc2', inputs: ['n1'], weight: t([2, 2], 1, 1, -1, 0.5) });
  const t1 = net('t1', [2], [
    fc1,
    L.neuron('lif', { name: 'n1', inputs: ['fc1'], reset: 'zero', params: { threshold: 1, v0: t([2], 0, 0.25), beta: 0.9 } }),
    fc2,
    L.ifNeuron({ name: 'n2', inputs: ['fc2'], threshold: 0.75, reset: 'subtract', v0: 0.125 }),
  ], 'n2', { output: { layer: 'n2', decoding: 'spike_count' }, metadata: { noise, trainedBy: 'hand' } });
  const N = 8;

  it('golden: weights and θ kept; IF with soft reset; v(0) + μ on the noisy layers only; mean decoding; the noise record moved', () => {
    expect(convertT1Noise(t1, { timesteps: N, noise: noiseOf(t1)! })).toEqual({
      ...t1,
      layers: [
        fc1,
        // lif → if (a leak does nothing at T = 1), v(0) = (0, 0.25) + 0.5
        L.neuron('if', { name: 'n1', inputs: ['fc1'], reset: 'subtract', params: { threshold: 1, v0: t([2], 0.5, 0.75) } }),
        fc2,
        // not in the noise record's layers: v(0) unchanged
        L.neuron('if', { name: 'n2', inputs: ['fc2'], reset: 'subtract', params: { threshold: 0.75, v0: 0.125 } }),
      ],
      timesteps: N,
      output: { layer: 'n2', decoding: 'mean' },
      metadata: {
        trainedBy: 'hand',
        conversion: { from: 't1-noise', noise: { dist: 'gaussian', mean: 0.5, std: 0.25, where: NOISE_SITE, layers: ['n1'] }, v0: 'v0 + noise mean', reset: 'subtract', decoding: 'mean' },
      },
    });
  });

  it('property: under constant input z the first layer fires N(T) = clip(floor((T·z + v(0))/θ), 0, T) spikes (conversion.md §1.2)', () => {
    const tn = convertT1Noise(t1, { timesteps: N, noise });
    const n = 64;
    const x = randomInput(8, n * 2);
    const spikes = simulate(tn, x, n, { probes: ['n1'] }).spikes.get('n1')!; // [T, B, 2]
    const v0 = [0.5, 0.75];
    let checked = 0;
    let total = 0;
    for (let s = 0; s < n; s++) {
      const [a, b] = [x[s * 2], x[s * 2 + 1]];
      const z = [a - 0.5 * b + 0.125, 0.25 * a + 2 * b];
      for (let j = 0; j < 2; j++) {
        const q = N * z[j] + v0[j];
        if (Math.abs(q - Math.round(q)) < 1e-4) continue; // within float32 rounding of a tie
        let count = 0;
        for (let step = 0; step < N; step++) count += spikes[(step * n + s) * 2 + j];
        expect(count).toBe(Math.min(N, Math.max(0, Math.floor(q))));
        checked++;
        total += count;
      }
    }
    expect(checked).toBeGreaterThan(120);
    expect(total).toBeGreaterThan(100);
  });
});

describe('runPasses (pipeline.ts)', () => {
  const c1 = L.conv2d({ name: 'c1', inputs: [INPUT], weight: t([1, 1, 1, 1], 2), bias: t([1], -0.5), stride: [1, 1], padding: NO_PAD, groups: 1 });
  const model = net('pipeline', [1, 4, 4], [
    c1,
    L.relu({ name: 'r1', inputs: ['c1'] }),
    L.maxpool2d({ name: 'p1', inputs: ['r1'], kernel: [2, 2], stride: [2, 2], padding: NO_PAD }),
    L.flatten({ name: 'f', inputs: ['p1'] }),
    L.dense({ name: 'out', inputs: ['f'], weight: t([1, 4], 1, 1, -1, 0.5) }),
  ], 'out');
  const tail = [L.flatten({ name: 'f', inputs: ['r1'] }), L.dense({ name: 'out', inputs: ['f'], weight: t([1, 4], 1, 1, -1, 0.5) })];

  it('golden: applies the passes in order (each sees the previous one’s output)', () => {
    const snapshot = structuredClone(model);
    // pre, then avg: the pool moved before the ReLU becomes an average pool there
    expect(runPasses(model, [hoistMaxPoolBeforeRelu, maxPoolToAvgPool])).toEqual({
      ...model,
      layers: [c1, L.avgpool2d({ name: 'p1', inputs: ['c1'], kernel: [2, 2], stride: [2, 2], padding: NO_PAD }), L.relu({ name: 'r1', inputs: ['p1'] }), ...tail],
    });
    // avg, then pre: no max-pool is left to move
    expect(runPasses(model, [maxPoolToAvgPool, hoistMaxPoolBeforeRelu])).toEqual(maxPoolToAvgPool.run(model));
    expect(runPasses(model, [])).toBe(model);
    expect(model).toEqual(snapshot); // passes are pure: the input model is unchanged
  });

  it('property: the verifier runs after every pass; a broken model is reported naming the pass, and no later pass runs', () => {
    const ran: string[] = [];
    const logged = (pass: Pass): Pass => ({ name: pass.name, run: (m) => (ran.push(pass.name), pass.run(m)) });
    const dropC1: Pass = { name: 'drop-c1', run: (m) => ({ ...m, layers: m.layers.filter((l) => l.name !== 'c1') }) };
    const broken = dropC1.run(maxPoolToAvgPool.run(model));
    const verifierError = snncError(() => verifyModel(broken));
    expect(verifierError.message).toBe('layer "r1": input "c1" is not a layer of the model');
    const e = snncError(() => runPasses(model, [logged(maxPoolToAvgPool), logged(dropC1), logged(hoistMaxPoolBeforeRelu)]));
    expect(e.message).toBe(`after pass "drop-c1": ${verifierError.message}`);
    expect(e.exitCode).toBe(verifierError.exitCode);
    expect(ran).toEqual(['maxpool-to-avgpool', 'drop-c1']);
    // An output layer the pass removed, and a pass's own failure (not a verifier error) passes through as it is.
    expect(snncErrorMessage(() => runPasses(model, [{ name: 'no-output', run: (m) => ({ ...m, output: { ...m.output, layer: 'gone' } }) }]))).toBe(
      'after pass "no-output": model "pipeline": output layer "gone" is not a layer of the model',
    );
    const bug = new RangeError('a bug in the pass');
    expect(() => runPasses(model, [{ name: 'crash', run: () => { throw bug; } }])).toThrow(bug);
  });
});
