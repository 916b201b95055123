/**
 * The reference simulator against independent references: closed forms of the neuron equations,
 * a naive direct convolution, and hand-computed pooling and recurrence.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type Decoding, type SnnModel } from '../../compiler/ir/model.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { rateEncode } from '../../compiler/reference/encoders.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { randomTensor, rng } from '../helpers/models.js';

function chain(shape: number[], layers: L.Layer[], T: number, decoding: Decoding = 'spike_count', output?: string): SnnModel {
  return {
    name: 't',
    input: { shape, encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS },
    layers,
    output: { layer: output ?? layers[layers.length - 1].name, decoding },
    timesteps: T,
    dt: 1e-3,
    metadata: {},
  };
}

describe('IF neuron', () => {
  it('fires floor((T·z + v0)/θ) spikes for constant input z in [0, θ] (conversion.md §1.2)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 64 }), fc.boolean(), fc.integer({ min: 1, max: 4 }), (T, zNum, half, theta) => {
        // z = zNum/64·θ and v0 ∈ {0, θ/2}: dyadic values, so float32 arithmetic is exact and the closed form is too.
        const z = (zNum / 64) * theta;
        const v0 = half ? theta / 2 : 0;
        const m = chain([1], [L.ifNeuron({ name: 'n', inputs: [INPUT], threshold: theta, reset: 'subtract', v0 })], T);
        const out = simulate(m, Float32Array.of(z), 1).output[0];
        expect(out).toBe(Math.min(T, Math.floor((T * z + v0) / theta)));
      }),
      { numRuns: 300 },
    );
  });

  it('reset to zero discards the residual: input 0.75, θ = 1 fires every 2nd step', () => {
    const m = chain([1], [L.ifNeuron({ name: 'n', inputs: [INPUT], threshold: 1, reset: 'zero', v0: 0 })], 8);
    const r = simulate(m, Float32Array.of(0.75), 1, { probes: 'all' });
    expect([...r.spikes.get('n')!]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });
});

describe('LIF and CUBA-LIF', () => {
  it('LIF membrane follows v(t) = z·(1 − β^t)/(1 − β) below threshold (mean_membrane decoding)', () => {
    const beta = 0.5;
    const z = 0.25;
    const T = 6;
    const m = chain([1], [L.lifNeuron({ name: 'n', inputs: [INPUT], threshold: 100, reset: 'subtract', v0: 0, beta })], T, 'mean_membrane');
    const expected = Array.from({ length: T }, (_, t) => (z * (1 - beta ** (t + 1))) / (1 - beta)).reduce((a, b) => a + b) / T;
    expect(simulate(m, Float32Array.of(z), 1).output[0]).toBeCloseTo(expected, 6);
  });

  it('CUBA-LIF: current i(t) = α·i + I, v(t) = β·v + i + bias, spike when v ≥ θ, i not reset', () => {
    // Hand-computed: α = 0.5, β = 1, I = 1 each step, bias 0.25, θ = 2, subtract reset.
    // t=1: i=1,    v=1.25          → no spike
    // t=2: i=1.5,  v=3    ≥ 2       → spike, v=1
    // t=3: i=1.75, v=3    ≥ 2       → spike, v=1
    // t=4: i=1.875, v=3.125 ≥ 2     → spike, v=1.125
    const m = chain([1], [L.cubaLifNeuron({ name: 'n', inputs: [INPUT], threshold: 2, reset: 'subtract', v0: 0, alpha: 0.5, beta: 1, bias: tensor([1], Float32Array.of(0.25)) })], 4, 'mean_membrane');
    const r = simulate(m, Float32Array.of(1), 1, { probes: 'all' });
    expect([...r.spikes.get('n')!]).toEqual([0, 1, 1, 1]);
    expect(r.output[0]).toBeCloseTo((1.25 + 1 + 1 + 1.125) / 4, 6);
  });

  it('recurrent weights feed the previous step\'s spikes back: two neurons exciting each other', () => {
    // Neuron 0 gets input 1 (fires every step); neuron 1 gets no input but 1.0 from neuron 0 a step later.
    const rec = tensor([2, 2], Float32Array.of(0, 0, 1, 0)); // W_rec[1, 0] = 1
    const m = chain([2], [L.lifNeuron({ name: 'n', inputs: [INPUT], threshold: 1, reset: 'subtract', v0: 0, beta: 1, recurrent: rec })], 4);
    const r = simulate(m, Float32Array.of(1, 0), 1, { probes: 'all' });
    expect([...r.spikes.get('n')!]).toEqual([1, 0, 1, 1, 1, 1, 1, 1]);
  });
});

describe('synaptic layers', () => {
  it('conv2d (stride, asymmetric padding, groups) equals a naive direct convolution', () => {
    const r = rng(9);
    const [C, H, W, O, G, KH, KW] = [4, 7, 6, 6, 2, 3, 2];
    const weight = randomTensor(r, [O, C / G, KH, KW], 1);
    const bias = randomTensor(r, [O], 1);
    const stride = [2, 1] as const;
    const pad = [1, 0, 2, 1] as const;
    const conv = L.conv2d({ name: 'c', inputs: [INPUT], weight, bias, stride, padding: pad, groups: G });
    const x = randomTensor(r, [C, H, W], 1).data;
    const out = simulate(chain([C, H, W], [conv], 1, 'accumulate'), x, 1).output;
    const OH = Math.floor((H + pad[0] + pad[2] - KH) / stride[0]) + 1;
    const OW = Math.floor((W + pad[1] + pad[3] - KW) / stride[1]) + 1;
    expect(out.length).toBe(O * OH * OW);
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / (O / G));
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let s = bias.data[o];
          for (let c = 0; c < C / G; c++) {
            for (let ky = 0; ky < KH; ky++) {
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * stride[0] - pad[0] + ky;
                const ix = ox * stride[1] - pad[1] + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += weight.data[((o * (C / G) + c) * KH + ky) * KW + kx] * x[((g * (C / G) + c) * H + iy) * W + ix];
              }
            }
          }
          expect(out[(o * OH + oy) * OW + ox]).toBeCloseTo(s, 5);
        }
      }
    }
  });

  it('pools: max over the window, average counting zero padding, by hand', () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9); // [1, 3, 3]
    const win = { kernel: [2, 2] as const, stride: [2, 2] as const, padding: [0, 0, 1, 1] as const };
    const max = simulate(chain([1, 3, 3], [L.maxpool2d({ name: 'p', inputs: [INPUT], ...win })], 1, 'accumulate'), x, 1).output;
    expect([...max]).toEqual([5, 6, 8, 9]);
    const avg = simulate(chain([1, 3, 3], [L.avgpool2d({ name: 'p', inputs: [INPUT], ...win })], 1, 'accumulate'), x, 1).output;
    expect([...avg]).toEqual([12 / 4, 9 / 4, 15 / 4, 9 / 4].map(Math.fround));
  });

  it('dense: y = W·x + b', () => {
    const d = L.dense({ name: 'd', inputs: [INPUT], weight: tensor([2, 3], Float32Array.of(1, 2, 3, -1, 0, 1)), bias: tensor([2], Float32Array.of(0.5, -0.5)) });
    expect([...simulate(chain([3], [d], 1, 'accumulate'), Float32Array.of(1, 1, 2), 1).output]).toEqual([9.5, 0.5]);
  });
});

describe('rate encoding', () => {
  it('fires with probability clip(x, 0, 1) and is reproducible per sample whatever the batch', () => {
    const x = Float32Array.from({ length: 200 }, (_, i) => i / 199);
    const T = 400;
    const spikes = rateEncode(x, 1, 200, T, 5, 0);
    for (const i of [0, 50, 100, 199]) {
      let count = 0;
      for (let t = 0; t < T; t++) count += spikes[t * 200 + i];
      const p = x[i];
      expect(Math.abs(count / T - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / T) + 1e-9); // 4σ binomial bound
    }
    // Sample 3 of a batch starting at 0 equals sample 0 of a batch starting at 3.
    const batch = rateEncode(new Float32Array(4 * 10).fill(0.5), 4, 10, 8, 1, 0);
    const single = rateEncode(new Float32Array(10).fill(0.5), 1, 10, 8, 1, 3);
    for (let t = 0; t < 8; t++) expect([...batch.subarray((t * 4 + 3) * 10, (t * 4 + 4) * 10)]).toEqual([...single.subarray(t * 10, (t + 1) * 10)]);
  });
});
