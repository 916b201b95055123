/**
 * Builds examples/mnist-cnn/model.json from the trained CNTK MNIST CNN (../shared/fixtures/models/
 * onnx_mnist_cnn_cntk/mnist.onnx, MIT licence, 98.91 % on the MNIST test set) by data-based weight
 * normalisation (conversion.md §1.4, form 1), with the layer scales λ that the fixture documents
 * (SOURCES.md: the 99.9th percentile of non-zero ReLU outputs on test images 5000–9999):
 *   conv1: W/λ1, b/λ1;  conv2: W·λ1/λ2, b/λ2;  fc: W·λ2, b  (non-spiking accumulator readout),
 * IF neurons with θ = 1, reset by subtraction, v(0) = θ/2, raw pixels 0–255 as a constant input current.
 * `snnc convert` (the conversion pass) will compute λ itself from calibration data; this script only
 * reads the trained weights.
 *
 *   npx tsx examples/mnist-cnn/make-model.ts [--maxpool current|spike] [--reset subtract|zero] [--out examples/mnist-cnn/model.json]
 *
 * --maxpool current (default) max-pools the synaptic currents before each IF layer (exact for the
 * first layer, whose current is constant); --maxpool spike max-pools the spikes after it (a logical OR).
 * --reset zero resets v to 0 after a spike instead of subtracting θ. model-spinnaker.json, the form
 * SpiNNaker's IF_curr_exp can run, was made with --maxpool spike --reset zero.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import onnxPkg from 'onnx-proto';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { tensor } from '../../compiler/ir/tensor.js';

const FIXTURE = '../shared/fixtures/models/onnx_mnist_cnn_cntk/mnist.onnx';
const LAMBDA = { conv1: 807.3, conv2: 1950.2 }; // p99.9 scales from the fixture's SOURCES.md

const { values } = parseArgs({ options: { maxpool: { type: 'string', default: 'current' }, reset: { type: 'string', default: 'subtract' }, out: { type: 'string', default: 'examples/mnist-cnn/model.json' } } });
if (values.maxpool !== 'current' && values.maxpool !== 'spike') throw new Error('--maxpool must be current or spike');
if (values.reset !== 'subtract' && values.reset !== 'zero') throw new Error('--reset must be subtract or zero');

const onnx = onnxPkg.onnx;
const graph = onnx.ModelProto.toObject(onnx.ModelProto.decode(readFileSync(FIXTURE)), { longs: Number }).graph;
const init = (name: string): { dims: number[]; data: Float32Array } => {
  const t = graph.initializer.find((i: { name: string }) => i.name === name);
  return { dims: t.dims, data: Float32Array.from(t.floatData) };
};
const scaled = (data: Float32Array, k: number) => data.map((v) => Math.fround(v * k));

const w1 = init('Parameter5'); // [8, 1, 5, 5]
const b1 = init('Parameter6'); // [8, 1, 1]
const w2 = init('Parameter87'); // [16, 8, 5, 5]
const b2 = init('Parameter88'); // [16, 1, 1]
const w3 = init('Parameter193'); // [16, 4, 4, 10]: (C, H, W) flattened → 10, i.e. [256, 10]
const b3 = init('Parameter194'); // [1, 10]
const fcWeight = new Float32Array(10 * 256);
for (let i = 0; i < 256; i++) for (let o = 0; o < 10; o++) fcWeight[o * 256 + i] = Math.fround(w3.data[i * 10 + o] * LAMBDA.conv2);

const neuron = { threshold: 1, reset: values.reset as 'subtract' | 'zero', v0: 0.5 };
const same5 = { stride: [1, 1] as const, padding: [2, 2, 2, 2] as const, groups: 1 }; // SAME_UPPER for 5×5
const conv1 = L.conv2d({ name: 'conv1', inputs: [INPUT], weight: tensor([8, 1, 5, 5], scaled(w1.data, 1 / LAMBDA.conv1)), bias: tensor([8], scaled(b1.data, 1 / LAMBDA.conv1)), ...same5 });
const conv2Weight = tensor([16, 8, 5, 5], scaled(w2.data, LAMBDA.conv1 / LAMBDA.conv2));
const conv2Bias = tensor([16], scaled(b2.data, 1 / LAMBDA.conv2));
const pool = (name: string, input: string, k: number) => L.maxpool2d({ name, inputs: [input], kernel: [k, k], stride: [k, k], padding: [0, 0, 0, 0] });

const layers: L.Layer[] =
  values.maxpool === 'current'
    ? [
        conv1,
        pool('pool1', 'conv1', 2),
        L.ifNeuron({ name: 'if1', inputs: ['pool1'], ...neuron }),
        L.conv2d({ name: 'conv2', inputs: ['if1'], weight: conv2Weight, bias: conv2Bias, ...same5 }),
        pool('pool2', 'conv2', 3),
        L.ifNeuron({ name: 'if2', inputs: ['pool2'], ...neuron }),
      ]
    : [
        conv1,
        L.ifNeuron({ name: 'if1', inputs: ['conv1'], ...neuron }),
        pool('pool1', 'if1', 2),
        L.conv2d({ name: 'conv2', inputs: ['pool1'], weight: conv2Weight, bias: conv2Bias, ...same5 }),
        L.ifNeuron({ name: 'if2', inputs: ['conv2'], ...neuron }),
        pool('pool2', 'if2', 3),
      ];
const last = layers[layers.length - 1].name;
layers.push(L.flatten({ name: 'flatten', inputs: [last] }), L.dense({ name: 'fc', inputs: ['flatten'], weight: tensor([10, 256], fcWeight), bias: tensor([10], b3.data) }));

const model: SnnModel = {
  name: 'mnist-cnn',
  input: { shape: [1, 28, 28], encoding: { type: 'direct' }, preprocess: { scale: 1, mean: [0], std: [1] } },
  layers,
  output: { layer: 'fc', decoding: 'accumulate' },
  timesteps: 16,
  dt: 0.001,
  metadata: {
    source: 'CNTK MNIST CNN (microsoft/Windows-Machine-Learning SharedContent/models/mnist.onnx, MIT licence)',
    conversion: { method: 'data-based weight normalisation', lambda: LAMBDA, percentile: 99.9, v0: 'θ/2', maxpool: values.maxpool, reset: values.reset },
    madeBy: 'examples/mnist-cnn/make-model.ts',
  },
};
writeModelJson(model, values.out!, { sidecar: true });
console.log(`wrote ${values.out} (maxpool on ${values.maxpool === 'current' ? 'currents, before IF' : 'spikes, after IF'})`);
