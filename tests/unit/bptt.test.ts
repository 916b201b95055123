/**
 * Training by backpropagation through time (training/tf-network.ts, neuron-kernel.ts, surrogates.ts):
 *  - each surrogate's g is the derivative of its antiderivative S (closed forms, central differences);
 *  - gradient check: with H replaced by S (the `smooth` mode), the network's custom gradient equals
 *    finite differences of its loss, through time, resets, batchnorm and a residual add;
 *  - the fused kernel (one generated loop per layer and step) gives the tensor-op path's spikes exactly
 *    and its gradients to float32 rounding, for every neuron model training supports;
 *  - LocalZO's estimate is exactly zero outside |u| < δ·max|z| and equals the Gaussian surrogate in
 *    expectation; the simulator reproduces a trained network's forward pass.
 */
import { describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { neuronProgram } from '../../compiler/ir/neuron-program.js';
import { neuronModel } from '../../compiler/ir/neurons.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { accuracy, predictions } from '../../compiler/reference/predictions.js';
import { scheduledRate, train } from '../../training/train.js';
import { buildArchitecture } from '../../training/architecture.js';
import { compileNeuronKernel } from '../../training/neuron-kernel.js';
import { type Surrogate, type SurrogateOps, parseSurrogate, surrogateAntiderivative, surrogateGradient } from '../../training/surrogates.js';
import { type ForwardMode, TfNetwork, loadTf } from '../../training/tf-network.js';
import { runNeuronLayer } from '../../training/tf-neurons.js';
import { avgPoolOp } from '../../training/tf-ops.js';
import { net, randomTensor, rng } from '../helpers/models.js';
import { snncErrorMessage } from '../helpers/errors.js';

const NUMBER_OPS: SurrogateOps<number> = {
  abs: Math.abs,
  mul: (x, c) => x * c,
  add: (x, c) => x + c,
  div: (a, b) => a / b,
  inv: (x) => 1 / x,
  square: (x) => x * x,
  atan: Math.atan,
  relu: (x) => Math.max(0, x),
  clip: (x, lo, hi) => Math.min(hi, Math.max(lo, x)),
  mulT: (a, b) => a * b,
  sub: (a, b) => a - b,
  normalCdf: (x) => 0.5 * (1 + erf(x / Math.SQRT2)),
  normalPdf: (x) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI),
};

/** erf to 1e-12 by its Maclaurin series (|x| ≤ 4 here). */
function erf(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const SURROGATES: Surrogate[] = [parseSurrogate('fast-sigmoid:25'), parseSurrogate('arctan:2'), parseSurrogate('triangle:0.7'), parseSurrogate('localzo:1,0.5')];

describe('surrogates', () => {
  for (const s of SURROGATES) {
    it(`${s.name}: g = S′ (central differences of the antiderivative)`, () => {
      for (const u of [-2.3, -1.52, -0.61, -0.2, -0.013, 0.004, 0.09, 0.35, 0.69, 1.7]) {
        const h = 1e-6;
        const fd = (surrogateAntiderivative(s, u + h, NUMBER_OPS) - surrogateAntiderivative(s, u - h, NUMBER_OPS)) / (2 * h);
        expect(fd).toBeCloseTo(surrogateGradient(s, u, NUMBER_OPS), 6);
      }
    });
  }

  it('closed forms: fast-sigmoid and arctan peak at 1 for their defaults, the triangle at 1, LocalZO at 1/(δ√2π)', () => {
    expect(surrogateGradient(parseSurrogate('fast-sigmoid'), 0, NUMBER_OPS)).toBe(1);
    expect(surrogateGradient(parseSurrogate('fast-sigmoid:10'), 0.1, NUMBER_OPS)).toBeCloseTo(0.25, 12);
    expect(surrogateGradient(parseSurrogate('arctan'), 0, NUMBER_OPS)).toBe(1);
    expect(surrogateGradient(parseSurrogate('triangle:2'), 1, NUMBER_OPS)).toBe(0.5);
    expect(surrogateGradient(parseSurrogate('localzo:3,0.25'), 0, NUMBER_OPS)).toBeCloseTo(1 / (0.25 * Math.sqrt(2 * Math.PI)), 12);
  });

  it('parses the --surrogate syntax and names what is wrong', () => {
    expect(parseSurrogate('localzo')).toEqual({ name: 'localzo', samples: 1, delta: 0.5 });
    expect(parseSurrogate('localzo:4,0.2')).toEqual({ name: 'localzo', samples: 4, delta: 0.2 });
    expect(snncErrorMessage(() => parseSurrogate('sigmoid'))).toMatch(/unknown surrogate "sigmoid" \(expected one of fast-sigmoid, arctan, triangle, localzo/);
    expect(snncErrorMessage(() => parseSurrogate('fast-sigmoid:-2'))).toMatch(/the slope k must be a positive number, got "-2"/);
    expect(snncErrorMessage(() => parseSurrogate('localzo:1.5'))).toMatch(/SAMPLES must be an integer in 1…64/);
  });
});

const sur = (s: string) => ({ rule: { kind: 'surrogate' as const, surrogate: parseSurrogate(s) } });

/** dense → bn → LIF → dense(+skip) → add → CUBA-LIF → dense readout, T = 5, direct input. */
function smoothNet(seed: number): SnnModel {
  const r = rng(seed);
  return net('smooth', [6], [
    L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [8, 6], 0.8), bias: randomTensor(r, [8], 0.2) }),
    L.batchNorm({ name: 'bn1', inputs: ['fc1'], scale: randomTensor(r, [8], 0.2, 1), shift: randomTensor(r, [8], 0.2, 0.3) }),
    L.lifNeuron({ name: 'lif1', inputs: ['bn1'], threshold: 1, reset: 'subtract', v0: 0, beta: 0.8 }),
    L.dense({ name: 'fc2', inputs: ['lif1'], weight: randomTensor(r, [8, 8], 0.7), bias: randomTensor(r, [8], 0.2, 0.2) }),
    L.add({ name: 'res', inputs: ['fc2', 'fc1'] }),
    L.cubaLifNeuron({ name: 'cuba', inputs: ['res'], threshold: 0.8, reset: 'zero', v0: 0, alpha: 0.7, beta: 0.9 }),
    L.dense({ name: 'out', inputs: ['cuba'], weight: randomTensor(r, [3, 8], 1), bias: randomTensor(r, [3], 0.1) }),
  ], 'out', { timesteps: 5, output: { layer: 'out', decoding: 'mean' } });
}

async function lossAndGradients(tf: typeof TF, network: TfNetwork, x: TF.Tensor, labels: number[], mode: ForwardMode) {
  const { value, grads } = tf.variableGrads(() => {
    const output = network.run(x, mode).output;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), output.shape[1]), output) as TF.Scalar;
  }, network.variables);
  return { loss: value.dataSync()[0], grads: network.variables.map((v) => grads[v.name].dataSync() as Float32Array) };
}

describe('gradient check: the network with H replaced by S', () => {
  for (const s of SURROGATES.slice(0, 3)) {
    it(`${s.name}: custom gradients equal central differences of the smooth network (T=5, bn, residual, LIF, CUBA-LIF)`, async () => {
      const tf = await loadTf();
      const model = smoothNet(3);
      const network = await TfNetwork.create(model, { rule: { kind: 'surrogate', surrogate: s }, trainBatchNorm: true, engine: 'tf' });
      const x = tf.tensor(Float32Array.from(randomTensor(rng(9), [4, 6], 1, 0.6).data), [4, 6]);
      const labels = [0, 2, 1, 2];
      const smooth: ForwardMode = { kind: 'smooth' };
      const { grads } = await lossAndGradients(tf, network, x, labels, smooth);
      const h = 2e-3;
      let checked = 0;
      for (const [k, v] of network.variables.entries()) {
        const g = grads[k];
        const values = v.dataSync().slice();
        for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
          const at = (delta: number) => {
            const moved = values.slice();
            moved[i] += delta;
            v.assign(tf.tensor(moved, v.shape));
            return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), network.run(x, smooth).output).dataSync()[0]);
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          v.assign(tf.tensor(values, v.shape));
          expect(Math.abs(fd - g[i]), `variable ${k}[${i}]: fd ${fd} vs ${g[i]}`).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
          checked++;
        }
      }
      expect(checked).toBe(3 * network.variables.length);
      network.dispose();
    });
  }
});

/** One neuron layer of `model` between dense layers, over T = 6, with a dynamic (rate-coded) input. */
function neuronNet(model: string, seed: number, reset: L.ResetMode, encoding: 'direct' | 'rate'): SnnModel {
  const r = rng(seed);
  const values: Record<string, number> = { beta: 0.85, alpha: 0.7, rho: 0.8, kappa: 0.3, bias: 0.05, v_reset: -0.1 };
  const own = Object.fromEntries(neuronModel(model)!.params.filter((p) => values[p.name] !== undefined).map((p) => [p.name, values[p.name]]));
  const threshold = neuronModel(model)!.fire ? { threshold: randomTensor(r, [3, 1, 1], 0.2, 0.8) } : {};
  return net(`n_${model}`, [2, 4, 4], [
    L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [3, 2, 3, 3], 0.5, 0.1), bias: randomTensor(r, [3], 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
    L.neuron(model, { name: 'n', inputs: ['c'], params: { ...own, ...threshold }, reset }),
    L.flatten({ name: 'f', inputs: ['n'] }),
    L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [4, 48], 0.5), bias: randomTensor(r, [4], 0.1) }),
  ], 'd', { timesteps: 6, input: { shape: [2, 4, 4], encoding: encoding === 'rate' ? { type: 'rate', seed: 3 } : { type: 'direct' }, preprocess: { scale: 1, mean: [0], std: [1] } }, output: { layer: 'd', decoding: 'mean' } });
}

describe('the fused neuron kernel equals the tensor-op path', () => {
  const cases: Array<[string, L.ResetMode, 'direct' | 'rate']> = [
    ['if', 'subtract', 'direct'],
    ['lif', 'zero', 'rate'],
    ['cuba_lif', 'subtract', 'rate'],
    ['cuba_lif', 'to_v_reset', 'direct'],
    ['alif', 'subtract', 'direct'],
    ['li', 'subtract', 'rate'],
  ];
  for (const [model, reset, encoding] of cases) {
    it(`${model} (${reset}, ${encoding} input): same outputs, same gradients`, async () => {
      const tf = await loadTf();
      const m = neuronNet(model, model.length * 13 + reset.length, reset, encoding);
      const B = 5;
      const raw = randomTensor(rng(21), [B, 2, 4, 4], 0.5, 0.5).data;
      const x = encoding === 'direct' ? tf.tensor(raw, [B, 2, 4, 4]) : tf.tensor(simulateRate(raw, B, m), [6, B, 2, 4, 4]);
      const labels = [0, 1, 2, 3, 1];
      const results = [];
      for (const engine of ['tf', 'fused'] as const) {
        const network = await TfNetwork.create(m, { ...sur('arctan:2'), engine });
        const out = tf.tidy(() => network.run(x, { kind: 'deterministic' }).output.dataSync() as Float32Array);
        const { grads } = await lossAndGradients(tf, network, x, labels, { kind: 'sample', seed: 1 });
        results.push({ out, grads });
        network.dispose();
      }
      const [ref, fused] = results;
      expect(Array.from(fused.out)).toEqual(Array.from(ref.out));
      for (const [k, g] of ref.grads.entries()) {
        const scale = Math.max(...g.map(Math.abs));
        expect(scale, `variable ${k}`).toBeGreaterThan(0);
        const worst = Math.max(...g.map((v, i) => Math.abs(v - fused.grads[k][i])));
        expect(worst / scale, `variable ${k}`).toBeLessThan(1e-4);
      }
    });
  }
});

/** The rate-coded per-step input [T, B, …] the simulator would feed (from the trainer's own encoder). */
function simulateRate(raw: Float32Array, B: number, m: SnnModel): Float32Array {
  const r = simulate({ ...m, layers: [L.flatten({ name: 'probe', inputs: [INPUT] })], output: { layer: 'probe', decoding: 'accumulate' } }, raw, B, { record: [INPUT] });
  return r.values.get(INPUT)!;
}

describe('LocalZO', () => {
  it('the estimate is exactly zero outside |u| < δ·max|z|, is sparse, and equals φ(u/δ)/δ in expectation', () => {
    const delta = 0.3;
    const layer = L.ifNeuron({ name: 'n', inputs: [INPUT], threshold: 1, reset: 'subtract', v0: 0 });
    const N = 400;
    const program = neuronProgram(layer, [N]);
    const kernel = compileNeuronKernel(program, 'subtract', { name: 'localzo', samples: 2, delta });
    // One step; u = x − 1 spans [−1.2, 1.2); dy = 1 everywhere, so dx = ĝ(u) (no later steps).
    const B = 500;
    const x = Float32Array.from({ length: B * N }, (_, i) => 1 + ((i % N) / N) * 2.4 - 1.2);
    const saved = kernel.forward(x, false, 1, B);
    const r = kernel.backward(x, false, 1, B, saved, new Float32Array(B * N).fill(1), 7);
    const mean = new Float64Array(N);
    for (let i = 0; i < B * N; i++) mean[i % N] += r.dx[i] / B;
    const nonzero = r.dx.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
    expect(r.active).toBe(nonzero);
    for (let k = 0; k < N; k++) {
      const u = Math.fround(x[k]) - 1;
      const expected = Math.exp(-((u / delta) ** 2) / 2) / (delta * Math.sqrt(2 * Math.PI));
      if (Math.abs(u) >= delta * 3.8) expect(mean[k]).toBe(0);
      else expect(Math.abs(mean[k] - expected)).toBeLessThan(0.2 * expected + 0.12); // 1 000 draws per u
    }
    // Active: some of the 2 draws has |z| > |u|/δ, probability 1 − erf(|u|/(δ√2))² per neuron.
    let expectedActive = 0;
    for (let k = 0; k < N; k++) expectedActive += 1 - erf(Math.abs(Math.fround(x[k]) - 1) / delta / Math.SQRT2) ** 2;
    expect(Math.abs(nonzero / (B * N) - expectedActive / N)).toBeLessThan(0.01);
  });
});

/** conv → LIF → conv (asymmetric padding) → LIF → avgpool → strided conv → LIF → dense → IF → dense readout, T = 5. */
function localZoNet(encoding: 'direct' | 'rate'): SnnModel {
  const r = rng(41);
  return net('lz', [2, 6, 6], [
    L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [4, 2, 3, 3], 0.6, 0.1), bias: randomTensor(r, [4], 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
    L.lifNeuron({ name: 'n1', inputs: ['c'], threshold: 1, reset: 'subtract', v0: 0, beta: 0.8 }),
    L.conv2d({ name: 'cb', inputs: ['n1'], weight: randomTensor(r, [4, 4, 3, 3], 0.5, 0.1), bias: randomTensor(r, [4], 0.1), stride: [1, 1], padding: [2, 1, 0, 1], groups: 1 }),
    L.lifNeuron({ name: 'nb', inputs: ['cb'], threshold: 0.8, reset: 'subtract', v0: 0, beta: 0.9 }),
    L.avgpool2d({ name: 'p', inputs: ['nb'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
    L.conv2d({ name: 'c2', inputs: ['p'], weight: randomTensor(r, [3, 4, 2, 2], 0.8, 0.2), bias: randomTensor(r, [3], 0.1), stride: [2, 1], padding: [1, 0, 0, 1], groups: 1 }),
    L.lifNeuron({ name: 'n2', inputs: ['c2'], threshold: 0.7, reset: 'subtract', v0: 0, beta: 0.9 }),
    L.flatten({ name: 'f', inputs: ['n2'] }),
    L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [10, 18], 0.6, 0.1), bias: randomTensor(r, [10], 0.2) }),
    L.ifNeuron({ name: 'n3', inputs: ['d'], threshold: 1, reset: 'subtract', v0: 0 }),
    L.dense({ name: 'out', inputs: ['n3'], weight: randomTensor(r, [3, 10], 1), bias: randomTensor(r, [3], 0.1) }),
  ], 'out', { timesteps: 5, input: { shape: [2, 6, 6], encoding: encoding === 'rate' ? { type: 'rate', seed: 3 } : { type: 'direct' }, preprocess: { scale: 1, mean: [0], std: [1] } }, output: { layer: 'out', decoding: 'mean' } });
}

describe('learned neuron parameters', () => {
  it('the kernel’s gradients of per-neuron β and θ equal autodiff of the tensor-op step', async () => {
    const tf = await loadTf();
    const N = 12;
    const T = 7;
    const B = 3;
    const r = rng(17);
    const layer = L.neuron('lif', { name: 'n', inputs: [INPUT], params: { threshold: randomTensor(r, [N], 0.2, 0.9), beta: randomTensor(r, [N], 0.1, 0.85) }, reset: 'subtract' });
    const program = neuronProgram(layer, [N]);
    const surrogate = parseSurrogate('arctan:2');
    const x = Float32Array.from(randomTensor(r, [T * B, N], 0.6, 0.35).data);
    const dy = Float32Array.from(randomTensor(r, [T * B, N], 1).data);
    const consts = new Map(program.instructions.flatMap((i) => (i.do === 'op' ? [i.a, i.b] : i.do === 'fire' ? [i.threshold] : [])).filter((o) => o.kind === 'const').map((c) => [(c as { name: string }).name, c as { values: Float32Array }]));
    const beta = tf.variable(tf.tensor1d(consts.get('n.beta')!.values));
    const theta = tf.variable(tf.tensor1d(consts.get('n.threshold')!.values));
    const xv = tf.variable(tf.tensor2d(x, [T * B, N]));
    const { grads } = tf.variableGrads(() => {
      const lanes = (values: Float32Array) => (values === consts.get('n.beta')!.values ? beta : values === consts.get('n.threshold')!.values ? theta : values.length === 1 ? tf.scalar(values[0]) : tf.tensor1d(values));
      const steps = Array.from({ length: T }, (_, t) => tf.slice(xv, t * B, B));
      const run = runNeuronLayer(tf, { program, steps, lanes, rule: { kind: 'surrogate', surrogate }, mode: { kind: 'sample', seed: 1 }, index: 0, reset: 'subtract', recordMembrane: false });
      return tf.sum(tf.mul(run.out, tf.tensor2d(dy, [T * B, N]))) as TF.Scalar;
    }, [beta, theta, xv]);
    const kernel = compileNeuronKernel(program, 'subtract', surrogate, undefined, ['n.beta', 'n.threshold']);
    const saved = kernel.forward(x, false, T, B);
    const back = kernel.backward(x, false, T, B, saved, dy, 1);
    const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(scale, what).toBeGreaterThan(0);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]) / scale, `${what}[${i}]`).toBeLessThan(1e-4);
    };
    close(back.params!.get('n.beta')!, grads[beta.name].dataSync(), 'dβ');
    close(back.params!.get('n.threshold')!, grads[theta.name].dataSync(), 'dθ');
    close(back.dx, grads[xv.name].dataSync(), 'dx');
    [beta, theta, xv].forEach((v) => v.dispose());
  });

  it('refuses parameters a layer does not have, or cannot learn, by layer', () => {
    const build = (layer: unknown, mode: 'bptt' | 't1-noise' = 'bptt') => snncErrorMessage(() => buildArchitecture({ input: { shape: [4] }, layers: [{ type: 'dense', units: 4 }, layer, { type: 'dense', units: 2 }] } as never, (p) => `arch.json: ${p}`, { mode }));
    expect(build({ type: 'lif', learn: ['alpha'] })).toMatch(/arch\.json: \/layers\/1 \(lif "lif1"\): lif neurons have no synaptic decay α to learn/);
    expect(build({ type: 'if', learn: ['beta'] })).toMatch(/if neurons have no decay β to learn \(use lif\)/);
    expect(build({ type: 'if', learn: ['threshold'] }, 't1-noise')).toMatch(/learned neuron parameters need --mode bptt/);
    expect(build({ type: 'lif', learn: ['beta'], recurrent: true })).toMatch(/a recurrent layer cannot learn its neuron parameters here/);
  });

  it('an architecture with "learn": ["beta", "threshold"] trains them per neuron, in range, and the simulator runs the result', async () => {
    const r = rng(23);
    const n = 192;
    const x = Float32Array.from({ length: n * 10 }, () => r());
    const labels = Int32Array.from({ length: n }, (_, i) => (x[i * 10] + x[i * 10 + 1] > x[i * 10 + 2] + x[i * 10 + 3] ? 1 : 0));
    const data = { x, n, sampleShape: [10], labels, offset: 0 };
    const model = buildArchitecture({ input: { shape: [10] }, timesteps: 5, seed: 4, layers: [{ type: 'dense', units: 16 }, { type: 'lif', beta: 0.8, learn: ['beta', 'threshold'] }, { type: 'dense', units: 2 }] } as never, (p) => `arch.json: ${p}`, { mode: 'bptt' });
    const { model: trained, history } = await train(model, data, data, { mode: 'bptt', epochs: 4, batch: 32, learningRate: 0.02, seed: 1 });
    const lif = trained.layers[1] as L.NeuronLayer;
    const beta = (lif.params.beta as { data: Float32Array }).data;
    const theta = (lif.params.threshold as { data: Float32Array }).data;
    expect(new Set(beta).size).toBeGreaterThan(8); // per neuron, moved from 0.8
    expect(new Set(theta).size).toBeGreaterThan(8);
    expect(beta.every((b) => b >= 0 && b <= 1) && theta.every((t) => t >= 1e-3)).toBe(true);
    expect(trained.metadata.training).toMatchObject({ learned_parameters: { lif1: ['beta', 'threshold'] } });
    expect(trained.metadata.learn).toBeUndefined();
    const sim = simulate(trained, x, n).output;
    expect(accuracy(predictions(sim, n, 2), labels)).toBe(history[history.length - 1].val!.accuracy);
  });
});

describe('train(): event input, end to end', () => {
  it('learns a timing task from per-step events, and the simulator reproduces its validation accuracy', async () => {
    // Class = which half of the T = 6 steps the events fall in (the counts are equal): only the timing tells.
    const T = 6;
    const make = (n: number, seed: number) => {
      const r = rng(seed);
      const x = new Float32Array(n * T * 8);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = i % 2;
        for (let k = 0; k < 10; k++) {
          const t = labels[i] * 3 + Math.floor(r() * 3);
          x[(i * T + t) * 8 + Math.floor(r() * 8)] += 1;
        }
      }
      return { x, n, sampleShape: [T, 8], labels, offset: 0 };
    };
    const model = buildArchitecture({ input: { shape: [8], encoding: 'events' }, timesteps: T, seed: 2, layers: [{ type: 'dense', units: 16 }, { type: 'lif', beta: 0.7, recurrent: true }, { type: 'dense', units: 2 }] } as never, (p) => `arch.json: ${p}`, { mode: 'bptt' });
    const val = make(64, 8);
    const { model: trained, history } = await train(model, make(256, 7), val, { mode: 'bptt', epochs: 8, batch: 32, learningRate: 0.01, seed: 1 });
    const last = history[history.length - 1];
    expect(last.val!.accuracy).toBeGreaterThan(90);
    const sim = simulate(trained, val.x, val.n).output;
    expect(accuracy(predictions(sim, val.n, 2), val.labels)).toBe(last.val!.accuracy);
  });
});

describe('learning-rate schedule', () => {
  it('cosine: lr at the first step, lr/2 halfway, towards 0 at the end; constant stays; the trained model records it', async () => {
    expect([0, 50, 100].map((k) => scheduledRate('cosine', 0.01, k, 100))).toEqual([0.01, (0.01 * (1 + Math.cos(Math.PI / 2))) / 2, 0]);
    expect(scheduledRate('constant', 0.01, 99, 100)).toBe(0.01);
    const data = { x: Float32Array.from({ length: 64 * 4 }, (_, i) => (i * 7) % 5 / 4), n: 64, sampleShape: [4], labels: Int32Array.from({ length: 64 }, (_, i) => i % 2), offset: 0 };
    const arch = () => buildArchitecture({ input: { shape: [4], encoding: 'direct' }, timesteps: 2, seed: 3, layers: [{ type: 'dense', units: 2 }] } as never, (p) => `arch.json: ${p}`, { mode: 'bptt' });
    const weights = (m: SnnModel) => Array.from((m.layers[0] as L.Dense).weight.data);
    const constant = await train(arch(), data, undefined, { mode: 'bptt', epochs: 2, batch: 16, learningRate: 0.05, seed: 1 });
    const cosine = await train(arch(), data, undefined, { mode: 'bptt', epochs: 2, batch: 16, learningRate: 0.05, lrSchedule: 'cosine', seed: 1 });
    expect(weights(cosine.model)).not.toEqual(weights(constant.model)); // the same first step, smaller later ones
    expect((cosine.model.metadata.training as { lr_schedule?: string }).lr_schedule).toBe('cosine');
    expect((constant.model.metadata.training as { lr_schedule?: string }).lr_schedule).toBeUndefined();
  });
});

describe('LocalZO’s sparse backward', () => {
  for (const encoding of ['direct', 'rate'] as const) {
    it(`equals the dense backward of the same estimates (convs padded and strided, dense, into LIF/IF; ${encoding} input)`, async () => {
      const tf = await loadTf();
      const m = localZoNet(encoding);
      const B = 6;
      const raw = randomTensor(rng(5), [B, 2, 6, 6], 0.5, 0.5).data;
      const x = encoding === 'direct' ? tf.tensor(raw, [B, 2, 6, 6]) : tf.tensor(simulateRate(raw, B, m), [5, B, 2, 6, 6]);
      const results = [];
      for (const sparseBackward of [false, true]) {
        const network = await TfNetwork.create(m, { ...sur('localzo:3,0.4'), sparseBackward });
        const { grads } = await lossAndGradients(tf, network, x, [0, 1, 2, 0, 1, 2], { kind: 'sample', seed: 4 });
        results.push({ grads, active: network.takeBackwardActivity() });
        network.dispose();
      }
      const [dense, sparse] = results;
      expect([...sparse.active.keys()].sort()).toEqual(['n1', 'n2', 'n3', 'nb']);
      for (const [layer, fraction] of dense.active) {
        expect(fraction, layer).toBeGreaterThan(0);
        expect(sparse.active.get(layer), layer).toBe(fraction);
      }
      for (const [k, g] of dense.grads.entries()) {
        const scale = Math.max(...g.map(Math.abs));
        expect(scale, `variable ${k}`).toBeGreaterThan(0);
        const worst = Math.max(...g.map((v, i) => Math.abs(v - sparse.grads[k][i])));
        expect(worst / scale, `variable ${k}`).toBeLessThan(1e-4);
      }
    });
  }
});

describe('LocalZO’s active fraction', () => {
  it('is counted when the backend’s memory grows between the forward and the backward pass', async () => {
    const tf = await loadTf();
    const m = localZoNet('direct');
    const x = tf.tensor(randomTensor(rng(5), [6, 2, 6, 6], 0.5, 0.5).data, [6, 2, 6, 6]);
    for (const sparseBackward of [false, true]) {
      const network = await TfNetwork.create(m, { ...sur('localzo:3,0.4'), sparseBackward });
      const { grads } = tf.variableGrads(() => {
        const out = network.run(x, { kind: 'sample', seed: 4 }).output;
        tf.keep(tf.zeros([64 << 20])); // 256 MB more: the wasm memory grows (and moves) before the backward pass
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3), out) as TF.Scalar;
      }, network.variables);
      Object.values(grads).forEach((g) => g.dispose());
      const active = network.takeBackwardActivity();
      expect([...active.keys()].sort(), `sparse ${sparseBackward}`).toEqual(['n1', 'n2', 'n3', 'nb']);
      for (const [layer, fraction] of active) {
        expect(fraction, layer).toBeGreaterThan(0);
        expect(fraction, layer).toBeLessThan(1);
      }
      network.dispose();
    }
  });
});

describe('timeBackward', () => {
  it('times each layer of the backward pass once (a sparse pair under its neuron layer), within the pass', async () => {
    const tf = await loadTf();
    const m = localZoNet('direct');
    const x = tf.tensor(randomTensor(rng(5), [6, 2, 6, 6], 0.5, 0.5).data, [6, 2, 6, 6]);
    for (const sparseBackward of [false, true]) {
      const network = await TfNetwork.create(m, { ...sur('localzo:3,0.4'), sparseBackward, timeBackward: true });
      const start = performance.now();
      await lossAndGradients(tf, network, x, [0, 1, 2, 0, 1, 2], { kind: 'sample', seed: 4 });
      const total = performance.now() - start;
      const times = network.takeBackwardTimes();
      // Every layer on the gradient's path, except those a sparse pair runs under its neuron layer's name.
      const pairs = ['c', 'cb', 'c2', 'd'];
      const expected = m.layers.map((l) => l.name).filter((n) => !(sparseBackward && pairs.includes(n)));
      expect([...times.keys()].sort(), `sparse ${sparseBackward}`).toEqual(expected.sort());
      for (const [layer, ms] of times) expect(ms, layer).toBeGreaterThanOrEqual(0);
      expect([...times.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(total);
      expect(network.takeBackwardTimes().size).toBe(0);
      network.dispose();
    }
  });
});

describe('avgPoolOp', () => {
  for (const [kernel, stride] of [[[2, 2], [2, 2]], [[3, 2], [2, 1]], [[3, 3], [2, 2]]] as Array<[[number, number], [number, number]]>) {
    it(`kernel ${kernel}, stride ${stride} (overlapping windows too): values and gradients equal tf.avgPool's`, async () => {
      const tf = await loadTf();
      const x = tf.tensor4d(randomTensor(rng(9), [2, 7, 6, 3], 1).data, [2, 7, 6, 3]);
      const dy = randomTensor(rng(10), tf.avgPool(x, kernel, stride, 'valid').shape, 1).data;
      const loss = (pool: (t: TF.Tensor4D) => TF.Tensor) => (t: TF.Tensor) => tf.sum(tf.mul(pool(t as TF.Tensor4D), tf.tensor(dy, tf.avgPool(x, kernel, stride, 'valid').shape)));
      const ours = tf.grad(loss((t) => avgPoolOp(tf, t, kernel, stride)))(x).dataSync();
      const theirs = tf.grad(loss((t) => tf.avgPool(t, kernel, stride, 'valid')))(x).dataSync();
      expect(Math.max(...theirs.map(Math.abs))).toBeGreaterThan(0);
      for (let i = 0; i < theirs.length; i++) expect(ours[i]).toBeCloseTo(theirs[i], 6);
      expect(avgPoolOp(tf, x, kernel, stride).dataSync()).toEqual(tf.avgPool(x, kernel, stride, 'valid').dataSync());
    });
  }
});

describe('the simulator reproduces the trainer', () => {
  const archModel = (layers: unknown[], encoding: 'direct' | 'rate' = 'direct') =>
    buildArchitecture({ input: { shape: [12], encoding }, timesteps: 6, seed: 3, layers } as never, (p) => `arch.json: ${p}`, { mode: 'bptt' });
  const cases: Array<[string, SnnModel]> = [
    ['a recurrent LIF layer into a non-spiking li readout (mean membrane)', archModel([{ type: 'dense', units: 16 }, { type: 'lif', beta: 0.8, recurrent: true }, { type: 'dense', units: 4 }, { type: 'li', beta: 0.7 }])],
    ['CUBA-LIF with a spike-count readout, rate-coded input', archModel([{ type: 'dense', units: 16 }, { type: 'cuba_lif', alpha: 0.6, beta: 0.9 }, { type: 'dense', units: 4 }, { type: 'if', threshold: 0.5 }], 'rate')],
    ['a residual add of currents and spikes', archModel([{ type: 'dense', units: 12, name: 'a' }, { type: 'lif', name: 's' }, { type: 'dense', units: 12, name: 'b' }, { type: 'add', inputs: ['b', 's'] }, { type: 'lif' }, { type: 'dense', units: 4 }])],
  ];
  for (const [what, m] of cases) {
    it(`${what}: after training, the simulator’s outputs are the trainer’s`, async () => {
      const tf = await loadTf();
      const network = await TfNetwork.create(m, sur('fast-sigmoid:10'));
      const B = 16;
      const raw = randomTensor(rng(7), [B, 12], 0.5, 0.5).data;
      const x = m.input.encoding.type === 'rate' ? tf.tensor(simulateRate(raw, B, m), [6, B, 12]) : tf.tensor(raw, [B, 12]);
      const y = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 4), 'int32'), 4);
      const opt = tf.train.adam(0.03);
      for (let step = 0; step < 15; step++) {
        tf.tidy(() => {
          opt.minimize(() => tf.losses.softmaxCrossEntropy(y, network.run(x, { kind: 'sample', seed: step }).output) as TF.Scalar, false, network.variables);
        });
      }
      const ours = tf.tidy(() => network.run(x, { kind: 'deterministic' }).output.dataSync() as Float32Array);
      const sim = simulate(network.toModel(), raw, B).output;
      expect(sim.some((v) => v !== 0)).toBe(true);
      for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - sim[i]), `output ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(sim[i])));
      network.dispose();
    });
  }

  it('a trained LIF network: the simulator’s spikes and outputs are the tfjs forward pass’s', async () => {
    const tf = await loadTf();
    const m = neuronNet('lif', 5, 'subtract', 'direct');
    const network = await TfNetwork.create(m, sur('fast-sigmoid:25'));
    const B = 16;
    const raw = randomTensor(rng(31), [B, 2, 4, 4], 0.5, 0.5).data;
    const x = tf.tensor(raw, [B, 2, 4, 4]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 4), 'int32'), 4);
    const opt = tf.train.adam(0.05);
    for (let step = 0; step < 20; step++) {
      tf.tidy(() => {
        opt.minimize(() => tf.losses.softmaxCrossEntropy(y, network.run(x, { kind: 'sample', seed: step }).output) as TF.Scalar, false, network.variables);
      });
    }
    const trained = network.toModel();
    const ours = tf.tidy(() => network.run(x, { kind: 'deterministic' }).output.dataSync() as Float32Array);
    const sim = simulate(trained, raw, B).output;
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - sim[i])).toBeLessThan(1e-5);
    network.dispose();
  });
});
