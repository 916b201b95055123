/**
 * Training interprets the neuron declarations too: the tfjs mirror of a T=1 model (deterministic mode,
 * noise of mean 0) computes the first step of every declared model as the reference simulator does,
 * with per-neuron parameters, on vectors and on [C, H, W] layers (channel-last inside tfjs).
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { neuronModels } from '../../compiler/ir/neurons.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { TfNetwork, loadTf } from '../../training/tf-network.js';
import { rng } from '../helpers/models.js';

function perNeuron(r: () => number, shape: number[], lo: number, hi: number) {
  return tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()));
}

function firstStepModel(model: string, shape: number[], seed: number): SnnModel {
  const r = rng(seed);
  const decl = neuronModels().find((m) => m.name === model)!;
  const ranges: Record<string, [number, number]> = { threshold: [0.3, 1.2], beta: [0.5, 1], alpha: [0.5, 1], rho: [0.5, 1], kappa: [0, 1], v0: [-0.3, 0.3], r: [0.5, 1.5], bias: [-0.2, 0.2], v_leak: [-0.2, 0.2], v_reset: [-0.1, 0.1] };
  const params = Object.fromEntries(decl.params.map((p) => [p.name, perNeuron(r, shape, ...ranges[p.name])]));
  const layers: L.Layer[] = [L.neuron(model, { name: 'n', inputs: [INPUT], params })];
  if (shape.length > 1) layers.push(L.flatten({ name: 'flat', inputs: ['n'] }));
  const out = layers[layers.length - 1].name;
  return {
    name: `t1_${model}`,
    input: { shape, encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS },
    layers,
    output: { layer: out, decoding: decl.fire && out === 'n' ? 'spike_count' : 'accumulate' },
    timesteps: 1,
    dt: 1e-3,
    metadata: {},
  };
}

describe('training: the first step of every neuron model', () => {
  for (const decl of neuronModels().filter((m) => ['if', 'lif', 'cuba_lif', 'li', 'cuba_li', 'i', 'threshold', 'alif', 'lif_delayed_reset', 'cuba_lif_delayed_reset'].includes(m.name))) {
    for (const shape of [[40], [3, 4, 5]]) {
      it(`${decl.name} on [${shape.join(', ')}]: tfjs equals the simulator`, async () => {
        const tf = await loadTf();
        const model = firstStepModel(decl.name, shape, shape.length * 7 + decl.name.length);
        const n = 6;
        const x = Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 37) % 23) / 11 - 0.6);
        const net = await TfNetwork.create(model, { rule: { kind: 'noise', noise: { dist: 'gaussian', mean: 0, std: 0.1 } } });
        const got = tf.tidy(() => net.forward(tf.tensor(x, [n, ...shape]), { kind: 'deterministic' }).dataSync() as Float32Array);
        net.dispose();
        const want = simulate(model, x, n).output;
        if (decl.fire) expect(want.some((v) => v === 1) && want.some((v) => v === 0)).toBe(true); // not vacuous
        expect(Array.from(got)).toEqual(Array.from(want));
      });
    }
  }
});
