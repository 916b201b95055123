/**
 * T=1→T=N noise conversion (conversion.md §6.2): the properties P1–P4, the pass's contract, and the
 * tfjs training network against closed forms and the reference simulator.
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../compiler/ir/model.js';
import { type MembraneNoise, NOISE_SITE, firingProbability, noiseOf, normalCdf, parseNoiseSpec } from '../../compiler/ir/noise.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { convertT1Noise } from '../../compiler/passes/convert-t1-noise.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { OrtRunner } from '../../runtime/ort-runner.js';
import { compileGpu } from '../../targets/gpu/index.js';
import { TfNetwork, loadTf } from '../../training/tf-network.js';
import { randomInput, randomTensor, rng } from '../helpers/models.js';
import { snncErrorMessage } from '../helpers/errors.js';

const gaussian = (mean: number, std: number): MembraneNoise => ({ dist: 'gaussian', mean, std, where: NOISE_SITE });
const uniform01: MembraneNoise = { dist: 'uniform', mean: 0.5, std: 1 / Math.sqrt(12), where: NOISE_SITE }; // U[0, 1)

function t1Model(layers: L.Layer[], shape: number[], noise?: MembraneNoise): SnnModel {
  return {
    name: 't1',
    input: { shape, encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS },
    layers,
    output: { layer: layers[layers.length - 1].name, decoding: 'mean' },
    timesteps: 1,
    dt: 1e-3,
    metadata: noise ? { noise } : {},
  };
}

/** input [I] → dense → IF(θ) → dense readout [C]. */
function mlp(seed: number, I: number, H: number, C: number, theta = 1, noise?: MembraneNoise): SnnModel {
  const r = rng(seed);
  return t1Model(
    [
      L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [H, I], 1.2 / Math.sqrt(I)), bias: randomTensor(r, [H], 0.3, 0.2) }),
      L.ifNeuron({ name: 'if1', inputs: ['fc1'], threshold: theta, reset: 'subtract', v0: 0 }),
      L.dense({ name: 'fc2', inputs: ['if1'], weight: randomTensor(r, [C, H], 1), bias: randomTensor(r, [C], 0.1) }),
    ],
    [I],
    noise,
  );
}

describe('noise record', () => {
  it('parses DIST:MEAN,STD and refuses a negative std, an unknown distribution and junk', () => {
    expect(parseNoiseSpec('gaussian:0.5,0.29')).toEqual(gaussian(0.5, 0.29));
    expect(snncErrorMessage(() => parseNoiseSpec('gaussian:0.5,-0.1'))).toMatch(/--noise gaussian:0\.5,-0\.1: noise std must be a finite number ≥ 0, got -0\.1/);
    expect(snncErrorMessage(() => parseNoiseSpec('cauchy:0,1'))).toMatch(/unknown noise distribution "cauchy" \(expected gaussian or uniform\)/);
    expect(snncErrorMessage(() => parseNoiseSpec('gaussian 0.5 0.3', '--assume-noise'))).toMatch(/--assume-noise gaussian 0\.5 0\.3: expected DIST:MEAN,STD/);
  });

  it('reads and checks metadata.noise', () => {
    const m = mlp(1, 4, 3, 2, 1, gaussian(0.5, 0.3));
    expect(noiseOf(m)).toEqual(gaussian(0.5, 0.3));
    expect(noiseOf(mlp(1, 4, 3, 2))).toBeUndefined();
    const bad = { ...m, metadata: { noise: { dist: 'gaussian', mean: 0.5, std: -1 } } };
    expect(snncErrorMessage(() => noiseOf(bad, 't1.json'))).toMatch(/t1\.json: metadata\.noise: noise std must be a finite number ≥ 0, got -1/);
  });

  it('Φ matches tabulated values to 1e-7', () => {
    for (const [x, p] of [[0, 0.5], [1, 0.8413447461], [-1.96, 0.0249978951], [2.5, 0.9937903347]]) expect(Math.abs(normalCdf(x) - p)).toBeLessThan(2e-7);
  });
});

describe('P1: v(0) ~ U[0, θ) makes the expected rate exact for every T', () => {
  // M neurons share one input z; neuron m starts at v(0) = u_m ~ U[0, θ), injected as an extra input at
  // step 1 (event input, IF from v = 0), so the simulator runs exactly the IF recursion of §1.1.
  const theta = 0.8;
  const M = 40_000;
  const zs = [0, 0.05, 0.2, 0.33, 0.5, 0.61, 0.79, 0.8];
  for (const T of [1, 2, 3, 8]) {
    it(`T=${T}: |mean N/T − z/θ| < 0.01 for z ∈ [0, θ] (${M} draws; 4.5 σ ≤ 0.0112)`, () => {
      const r = rng(100 + T);
      const x = new Float32Array(zs.length * T * M);
      zs.forEach((z, b) => {
        for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) x[(b * T + t) * M + m] = z + (t === 0 ? r() * theta : 0);
      });
      const model: SnnModel = { ...t1Model([L.ifNeuron({ name: 'if', inputs: [INPUT], threshold: theta, reset: 'subtract', v0: 0 })], [M]), input: { shape: [M], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS }, output: { layer: 'if', decoding: 'spike_count' }, timesteps: T };
      const { output } = simulate(model, x, zs.length);
      zs.forEach((z, b) => {
        let sum = 0;
        for (let m = 0; m < M; m++) sum += output[b * M + m];
        expect(Math.abs(sum / (M * T) - z / theta)).toBeLessThan(0.01);
      });
    });
  }
});

describe('P2: v(0) = θ/2 gives N(T) = clip(floor(T·z/θ + ½), 0, T) exactly under constant input', () => {
  for (const T of [1, 2, 4, 16]) {
    it(`T=${T}: 0 mismatches over 20 000 z ∈ [−0.5θ, 1.5θ] (the converted model, simulator and onnxruntime)`, async () => {
      const theta = 1;
      const n = 20_000;
      const r = rng(7 + T);
      // z on a float32 grid away from the rounding boundaries (T·z/θ + ½ within 1e-5 of an integer), where
      // float32 accumulation over T steps and the float64 formula may legitimately disagree.
      const z = new Float32Array(n);
      for (let i = 0; i < n; ) {
        const v = Math.fround(-0.5 + 2 * r());
        const q = T * v + 0.5;
        if (Math.abs(q - Math.round(q)) > 1e-5) z[i++] = v;
      }
      const t1 = t1Model([L.ifNeuron({ name: 'if', inputs: [INPUT], threshold: theta, reset: 'subtract', v0: 0 })], [1], gaussian(theta / 2, 0.29));
      const tn = { ...convertT1Noise(t1, { timesteps: T, noise: gaussian(theta / 2, 0.29) }), output: { layer: 'if', decoding: 'spike_count' as const } };
      const sim = simulate(tn, z, n).output;
      const { onnx, manifest } = compileGpu(tn, { timesteps: T, batch: 1000 });
      const runner = await OrtRunner.fromBytes(manifest, onnx);
      const ort = (await runner.run(z, n, 0)).output;
      await runner.close();
      let mismatches = 0;
      for (let i = 0; i < n; i++) {
        const expected = Math.min(T, Math.max(0, Math.floor((T * z[i]) / theta + 0.5)));
        if (sim[i] !== expected || ort[i] !== expected) mismatches++;
      }
      expect(mismatches).toBe(0);
    });
  }
});

describe('P3: the noisy T=1 network in expectation and the T=N network agree within the mean-field error', () => {
  // One hidden IF layer and a linear readout: the expected readout is exactly W·P(s=1) + b (the
  // mean field). With uniform noise U[0, θ) P(s=1) = clip(z/θ, 0, 1), and the T=N network with
  // v(0) = θ/2 emits round(N·z/θ)/N, so |y_N − y_MF| ≤ Σ_h |W_ch|/(2N): the bound shrinks as 1/N.
  const [I, H, C, B] = [20, 64, 5, 40];
  const model = mlp(3, I, H, C, 1, uniform01);
  const x = randomInput(4, B * I);
  const fc1 = model.layers[0] as L.Dense;
  const fc2 = model.layers[2] as L.Dense;
  const z = (b: number, h: number) => fc1.bias!.data[h] + fc1.weight.data.slice(h * I, (h + 1) * I).reduce((a, w, i) => a + w * x[b * I + i], 0);
  const meanField = (noise: MembraneNoise) =>
    Array.from({ length: B }, (_, b) => {
      const p = Array.from({ length: H }, (_, h) => firingProbability(z(b, h), 1, noise));
      return Array.from({ length: C }, (_, c) => fc2.bias!.data[c] + p.reduce((a, ph, h) => a + fc2.weight.data[c * H + h] * ph, 0));
    });
  const maxAbs = (y: Float32Array, ref: number[][]) => Math.max(...ref.flatMap((row, b) => row.map((v, c) => Math.abs(y[b * C + c] - v))));

  it('Monte-Carlo mean of the noisy T=1 readout (reference simulator, K = 4000 draws) equals the mean field, for uniform and Gaussian noise', () => {
    for (const noise of [uniform01, gaussian(0.5, 0.35)]) {
      // K draws at once: x repeated K times; each copy is its own sample, so it gets its own noise.
      const K = 4000;
      const xs = new Float32Array(K * B * I);
      for (let k = 0; k < K; k++) xs.set(x, k * B * I);
      const y = simulate(model, xs, K * B, { timesteps: 1, membraneNoise: { noise, seed: 1 } }).output;
      const sum = new Float64Array(B * C);
      for (let k = 0; k < K; k++) for (let i = 0; i < B * C; i++) sum[i] += y[k * B * C + i];
      // Per draw the readout's variance is Σ_h W²·p(1−p) ≤ Σ_h W²/4; 4.5 σ/√K bounds the error of the mean.
      const sd = Math.sqrt(Math.max(...Array.from({ length: C }, (_, c) => fc2.weight.data.slice(c * H, (c + 1) * H).reduce((a, w) => a + (w * w) / 4, 0))));
      expect(maxAbs(Float32Array.from(sum, (v) => v / K), meanField(noise))).toBeLessThan((4.5 * sd) / Math.sqrt(K));
    }
  });

  it('the converted T=N readout is within Σ|W|/(2N) of the mean field, and the error falls with N', () => {
    const bound = Math.max(...Array.from({ length: C }, (_, c) => fc2.weight.data.slice(c * H, (c + 1) * H).reduce((a, w) => a + Math.abs(w), 0))) / 2;
    const errors: number[] = [];
    for (const N of [1, 2, 4, 8, 16, 32, 64]) {
      const y = simulate(convertT1Noise(model, { timesteps: N, noise: uniform01 }), x, B).output;
      const e = maxAbs(y, meanField(uniform01));
      expect(e).toBeLessThanOrEqual(bound / N + 1e-4);
      errors.push(e);
    }
    expect(errors[6]).toBeLessThan(errors[0] / 16);
  });
});

describe('P4: converted to N=1, a T=1 model is its deterministic network with the noise mean as bias shift', () => {
  it('simulator, onnxruntime and the tfjs network (ε = μ) give the same spikes and readout', async () => {
    const noise = gaussian(0.4, 0.3);
    const [I, H, C, B] = [30, 50, 10, 64];
    const model = mlp(9, I, H, C, 1.3, noise);
    const x = randomInput(10, B * I);
    const tn = convertT1Noise(model, { timesteps: 1, noise });
    // The same network written as "bias + μ, threshold θ, v(0) = 0" at T=1.
    const fc1 = model.layers[0] as L.Dense;
    const shifted: SnnModel = { ...model, layers: [L.dense({ ...fc1, bias: tensor([H], fc1.bias!.data.map((b) => b + noise.mean)) }), ...model.layers.slice(1)] };
    const a = simulate(tn, x, B, { probes: ['if1'] });
    const b = simulate(shifted, x, B, { probes: ['if1'] });
    expect(Buffer.from(a.spikes.get('if1')!).equals(Buffer.from(b.spikes.get('if1')!))).toBe(true);
    for (let i = 0; i < a.output.length; i++) expect(Math.abs(a.output[i] - b.output[i])).toBeLessThan(1e-5);

    const { onnx, manifest } = compileGpu(tn, { timesteps: 1, batch: B, probes: ['if1'] });
    const runner = await OrtRunner.fromBytes(manifest, onnx);
    const r = await runner.run(x, B, 0);
    await runner.close();
    expect(Array.from(r.spikes.get('if1')!)).toEqual(Array.from(a.spikes.get('if1')!));

    const tf = await loadTf();
    const net = await TfNetwork.create(model, { rule: { kind: 'noise', noise } });
    const y = tf.tidy(() => net.forward(tf.tensor(x, [B, I]), { kind: 'deterministic' }).dataSync());
    net.dispose();
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - a.output[i])).toBeLessThan(1e-4);
  });
});

describe('convertT1Noise', () => {
  const noise = gaussian(0.5, 0.3);
  it('keeps weights and θ, makes IF with soft reset and v(0) = v0 + μ, decodes the mean, and moves the noise record', () => {
    const m = mlp(2, 6, 5, 3, 0.9, noise);
    const lif = { ...m, layers: [m.layers[0], L.lifNeuron({ name: 'if1', inputs: ['fc1'], threshold: 0.9, reset: 'zero', v0: 0.1, beta: 0.7 }), m.layers[2]] };
    const tn = convertT1Noise(lif, { timesteps: 16, noise });
    expect(tn.timesteps).toBe(16);
    expect(tn.layers[1]).toEqual(L.ifNeuron({ name: 'if1', inputs: ['fc1'], threshold: 0.9, reset: 'subtract', v0: 0.6 }));
    expect(tn.layers[0]).toBe(m.layers[0]);
    expect(tn.output.decoding).toBe('mean');
    expect(tn.metadata.noise).toBeUndefined();
    expect(tn.metadata.conversion).toMatchObject({ from: 't1-noise', noise: { ...noise, layers: ['if1'] } });
  });

  it('refuses what has no rate-preserving T=N form', () => {
    const m = mlp(2, 6, 5, 3, 1, noise);
    expect(snncErrorMessage(() => convertT1Noise({ ...m, timesteps: 4 }, { timesteps: 8, noise }))).toMatch(/runs for T=4; T=1→T=N conversion takes a single-step/);
    expect(snncErrorMessage(() => convertT1Noise({ ...m, input: { ...m.input, encoding: { type: 'rate', seed: 1 } } }, { timesteps: 8, noise }))).toMatch(/rate input encoding; .* needs direct/);
    const img = t1Model(
      [
        L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(rng(1), [2, 1, 3, 3], 0.5), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
        L.ifNeuron({ name: 's', inputs: ['c'], threshold: 1, reset: 'subtract', v0: 0 }),
        L.maxpool2d({ name: 'pool', inputs: ['s'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
      ],
      [1, 4, 4],
    );
    expect(snncErrorMessage(() => convertT1Noise(img, { timesteps: 8, noise }))).toMatch(/layer "pool": a max-pool over spikes has no rate-preserving T=N form/);
    expect(snncErrorMessage(() => convertT1Noise(m, { timesteps: 8, noise: { ...noise, layers: ['fc2'] } }))).toMatch(/names layer "fc2", which is not a neuron layer/);
  });
});

describe('tfjs training network', () => {
  it('its mean-field forward is W·Φ((z + μ − θ)/σ) + b', async () => {
    const noise = gaussian(0.5, 0.3);
    const [I, H, C, B] = [12, 16, 4, 8];
    const model = mlp(5, I, H, C, 1, noise);
    const x = randomInput(6, B * I);
    const tf = await loadTf();
    const net = await TfNetwork.create(model, { rule: { kind: 'noise', noise } });
    const y = tf.tidy(() => net.forward(tf.tensor(x, [B, I]), { kind: 'mean-field' }).dataSync());
    net.dispose();
    const [fc1, fc2] = [model.layers[0] as L.Dense, model.layers[2] as L.Dense];
    for (let b = 0; b < B; b++) {
      const p = Array.from({ length: H }, (_, h) => firingProbability(fc1.bias!.data[h] + Array.from({ length: I }, (_, i) => fc1.weight.data[h * I + i] * x[b * I + i]).reduce((s, v) => s + v, 0), 1, noise));
      for (let c = 0; c < C; c++) expect(Math.abs(y[b * C + c] - (fc2.bias!.data[c] + p.reduce((s, ph, h) => s + fc2.weight.data[c * H + h] * ph, 0)))).toBeLessThan(1e-4);
    }
  });

  it('its convolution (filter gradient computed as a dilated convolution) has the finite-difference gradient, stride 2 and padding included', async () => {
    const r = rng(11);
    const model: SnnModel = {
      ...t1Model(
        [
          L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [3, 2, 3, 3], 0.5), bias: randomTensor(r, [3], 0.1), stride: [2, 2], padding: [1, 1, 1, 1], groups: 1 }),
          L.flatten({ name: 'f', inputs: ['c'] }),
          L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [2, 27], 0.5) }),
        ],
        [2, 6, 6],
      ),
      output: { layer: 'd', decoding: 'accumulate' },
    };
    const x = randomInput(12, 2 * 72);
    const tf = await loadTf();
    const net = await TfNetwork.create(model);
    const xt = tf.tensor(x, [2, 2, 6, 6]);
    const loss = () => tf.sum(tf.square(net.forward(xt, { kind: 'deterministic' }))) as ReturnType<typeof tf.scalar>;
    const { grads } = tf.variableGrads(loss, net.variables);
    const w = net.variables[0];
    const g = grads[w.name].dataSync();
    const base = w.dataSync().slice();
    const h = 1e-2;
    for (const k of [0, 7, 20, 33, 53]) {
      const at = (d: number) => {
        const v = base.slice();
        v[k] += d;
        w.assign(tf.tensor(v, w.shape));
        return loss().dataSync()[0];
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(numeric - g[k])).toBeLessThan(2e-2 * Math.max(1, Math.abs(g[k])));
    }
    net.dispose();
  });
});
