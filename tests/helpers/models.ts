/**
 * Small seeded models for tests, built directly in the IR: one per feature the gpu target must lower
 * (dense, conv with stride/padding/groups, pools, residual add, IF/LIF/CUBA-LIF, recurrence, each
 * encoding and decoding). Weights are scaled so that layers fire at moderate rates.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat32 } from 'pure-rand/distribution/uniformFloat32';
import * as L from '../../compiler/ir/layers.js';
import { type Decoding, type Encoding, IDENTITY_PREPROCESS, INPUT, type Preprocess, type SnnModel } from '../../compiler/ir/model.js';
import { type Tensor, sizeOf, tensor } from '../../compiler/ir/tensor.js';

export function rng(seed: number): () => number {
  const g = xoroshiro128plus(seed);
  return () => uniformFloat32(g);
}

export function randomTensor(r: () => number, shape: number[], scale: number, offset = 0): Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = (r() * 2 - 1) * scale + offset;
  return tensor(shape, data);
}

export function randomInput(seed: number, n: number, max = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * max);
}

function model(name: string, shape: number[], layers: L.Layer[], opts: { encoding?: Encoding; decoding?: Decoding; timesteps?: number; preprocess?: Preprocess; output?: string } = {}): SnnModel {
  return {
    name,
    input: { shape, encoding: opts.encoding ?? { type: 'direct' }, preprocess: opts.preprocess ?? IDENTITY_PREPROCESS },
    layers,
    output: { layer: opts.output ?? layers[layers.length - 1].name, decoding: opts.decoding ?? 'spike_count' },
    timesteps: opts.timesteps ?? 8,
    dt: 1e-3,
    metadata: {},
  };
}

const neuron = { threshold: 1, reset: 'subtract' as const, v0: 0.5 };

export function mlp(seed = 1, encoding: Encoding = { type: 'rate', seed: 7 }): SnnModel {
  const r = rng(seed);
  return model('mlp', [20], [
    L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [32, 20], 0.5, 0.05), bias: randomTensor(r, [32], 0.1) }),
    L.ifNeuron({ name: 'if1', inputs: ['fc1'], ...neuron }),
    L.dense({ name: 'fc2', inputs: ['if1'], weight: randomTensor(r, [10, 32], 0.6, 0.05) }),
    L.ifNeuron({ name: 'if2', inputs: ['fc2'], ...neuron, reset: 'zero', v0: 0 }),
  ], { encoding, timesteps: 12 });
}

export function conv(seed = 2): SnnModel {
  const r = rng(seed);
  return model('conv', [2, 12, 12], [
    L.conv2d({ name: 'c1', inputs: [INPUT], weight: randomTensor(r, [6, 2, 3, 3], 0.4, 0.05), bias: randomTensor(r, [6], 0.05), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
    L.ifNeuron({ name: 'n1', inputs: ['c1'], ...neuron }),
    L.maxpool2d({ name: 'mp', inputs: ['n1'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
    L.conv2d({ name: 'c2', inputs: ['mp'], weight: randomTensor(r, [6, 3, 3, 3], 0.6, 0.1), stride: [2, 2], padding: [1, 0, 1, 0], groups: 2 }),
    L.lifNeuron({ name: 'n2', inputs: ['c2'], ...neuron, beta: 0.9 }),
    L.avgpool2d({ name: 'ap', inputs: ['n2'], kernel: [3, 2], stride: [1, 2], padding: [0, 0, 0, 0] }),
    L.flatten({ name: 'fl', inputs: ['ap'] }),
    L.dense({ name: 'fc', inputs: ['fl'], weight: randomTensor(r, [5, 6], 0.5), bias: randomTensor(r, [5], 0.1) }),
  ], { decoding: 'accumulate', preprocess: { scale: 1 / 255, mean: [0.1, 0.2], std: [0.5, 0.25] }, timesteps: 6 });
}

/** y = IF(fc2(IF(fc1 x)) + fc_skip x): a residual add of a spiking and a static branch. */
export function residual(seed = 3): SnnModel {
  const r = rng(seed);
  return model('residual', [16], [
    L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [16, 16], 0.5, 0.05) }),
    L.ifNeuron({ name: 'a', inputs: ['fc1'], ...neuron }),
    L.dense({ name: 'fc2', inputs: ['a'], weight: randomTensor(r, [16, 16], 0.5, 0.05) }),
    L.dense({ name: 'skip', inputs: [INPUT], weight: randomTensor(r, [16, 16], 0.3, 0.05) }),
    L.add({ name: 'sum', inputs: ['fc2', 'skip'] }),
    L.ifNeuron({ name: 'b', inputs: ['sum'], ...neuron }),
    L.dense({ name: 'fc3', inputs: ['b'], weight: randomTensor(r, [8, 16], 0.5, 0.05) }),
    L.add({ name: 'sum2', inputs: ['fc3', 'fc3'] }),
    L.ifNeuron({ name: 'out', inputs: ['sum2'], ...neuron }),
  ], { timesteps: 10 });
}

export function lifRecurrent(seed = 4): SnnModel {
  const r = rng(seed);
  return model('lif_recurrent', [12], [
    L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [24, 12], 0.6, 0.1) }),
    L.lifNeuron({ name: 'lif1', inputs: ['fc1'], ...neuron, beta: 0.85, recurrent: randomTensor(r, [24, 24], 0.3) }),
    L.dense({ name: 'fc2', inputs: ['lif1'], weight: randomTensor(r, [6, 24], 0.6, 0.1) }),
    L.lifNeuron({ name: 'lif2', inputs: ['fc2'], ...neuron, beta: 0.7, reset: 'zero', v0: 0 }),
  ], { encoding: { type: 'events' }, decoding: 'mean_membrane', timesteps: 9 });
}

export function cubaRecurrent(seed = 5): SnnModel {
  const r = rng(seed);
  return model('cuba_recurrent', [10], [
    L.dense({ name: 'fc1', inputs: [INPUT], weight: randomTensor(r, [20, 10], 0.5, 0.1) }),
    L.cubaLifNeuron({ name: 'cuba1', inputs: ['fc1'], ...neuron, alpha: 0.8, beta: 0.9, bias: randomTensor(r, [20], 0.05), recurrent: randomTensor(r, [20, 20], 0.2) }),
    L.dense({ name: 'fc2', inputs: ['cuba1'], weight: randomTensor(r, [4, 20], 0.6, 0.1) }),
    L.cubaLifNeuron({ name: 'cuba2', inputs: ['fc2'], ...neuron, alpha: 0.5, beta: 1, v0: 0 }),
  ], { encoding: { type: 'rate', seed: 3 }, timesteps: 15 });
}

/** The ops conversion produces: batchnorm, gated max-pool, clipped relu, concat, add with coefficients. */
export function convertedOps(seed = 6): SnnModel {
  const r = rng(seed);
  return model('converted_ops', [2, 8, 8], [
    L.conv2d({ name: 'c1', inputs: [INPUT], weight: randomTensor(r, [4, 2, 3, 3], 0.5, 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
    L.batchNorm({ name: 'bn', inputs: ['c1'], scale: randomTensor(r, [4], 0.3, 1), shift: randomTensor(r, [4], 0.1) }),
    L.ifNeuron({ name: 'if1', inputs: ['bn'], ...neuron }),
    L.gatedMaxpool2d({ name: 'gp', inputs: ['if1'], kernel: [2, 2], stride: [2, 2] }),
    L.conv2d({ name: 'c2', inputs: ['gp'], weight: randomTensor(r, [4, 4, 3, 3], 0.5, 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
    L.ifNeuron({ name: 'if2', inputs: ['c2'], ...neuron }),
    L.conv2d({ name: 'c3', inputs: ['gp'], weight: randomTensor(r, [3, 4, 1, 1], 0.8, 0.2), stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 }),
    L.relu({ name: 'clip', inputs: ['c3'], max: 0.8 }),
    L.concat({ name: 'cat', inputs: ['if2', 'clip'] }),
    L.flatten({ name: 'fl', inputs: ['cat'] }),
    L.dense({ name: 'fc1', inputs: ['fl'], weight: randomTensor(r, [5, 112], 0.3) }),
    L.dense({ name: 'fc2', inputs: ['fl'], weight: randomTensor(r, [5, 112], 0.3) }),
    L.add({ name: 'out', inputs: ['fc1', 'fc2'], coefficients: [0.5, 2] }),
  ], { decoding: 'accumulate', timesteps: 7 });
}

export const ALL_MODELS = { mlp, conv, residual, lifRecurrent, cubaRecurrent, convertedOps };

/** input → fc → sum(fc, late) → n1 (LIF, `reset`) → fb → late (delay 2) → sum: a two-node cycle through a delay; n1 → out → n2 (events input). */
export function cycleThroughDelay(reset: 'subtract' | 'zero', timesteps: number): SnnModel {
  const r = rng(5);
  return model('cycle_delay', [6], [
    L.dense({ name: 'fc', inputs: [INPUT], weight: randomTensor(r, [8, 6], 0.9, 0.3) }),
    L.add({ name: 'sum', inputs: ['fc', 'late'] }),
    L.lifNeuron({ name: 'n1', inputs: ['sum'], threshold: 1, reset, v0: 0, beta: 0.9 }),
    L.dense({ name: 'fb', inputs: ['n1'], weight: randomTensor(r, [8, 8], 0.6) }),
    L.delay({ name: 'late', inputs: ['fb'], steps: 2 }),
    L.dense({ name: 'out', inputs: ['n1'], weight: randomTensor(r, [4, 8], 1, 0.4) }),
    L.ifNeuron({ name: 'n2', inputs: ['out'], threshold: 1, reset: 'zero', v0: 0 }),
  ], { encoding: { type: 'events' }, timesteps });
}

/** A model with direct input and identity preprocessing; T = 1 unless given (an ANN, or a T=1 network). */
export function net(name: string, shape: number[], layers: L.Layer[], output: string, extra: Partial<SnnModel> = {}): SnnModel {
  return {
    name,
    input: { shape, encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS },
    layers,
    output: { layer: output, decoding: 'accumulate' },
    timesteps: 1,
    dt: 1e-3,
    metadata: {},
    ...extra,
  };
}
