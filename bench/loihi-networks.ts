/**
 * Synthetic networks for the loihi partition benchmark and tests: ResNet-18 and a PilotNet-shaped
 * CUBA-LIF network, with seeded pseudo-random weights (only the shapes matter to the partitioner).
 */
import * as L from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { tensor } from '../compiler/ir/tensor.js';

function random(): (n: number, scale: number) => Float32Array {
  let seed = 1;
  return (n, scale) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * scale);
}

/**
 * ResNet-18 as an SNN: conv1 + max-pool on the host, projection shortcuts, IF neurons; ImageNet sizes
 * (224², stage 4 at 512 channels) unless narrowed or shrunk (`size` a multiple of 32).
 */
export function resnet18(stage4 = 512, size = 224): SnnModel {
  const rand = random();
  const conv = (name: string, input: string, cin: number, cout: number, k: number, stride: number): L.Conv2d =>
    L.conv2d({ name, inputs: [input], weight: tensor([cout, cin, k, k], rand(cout * cin * k * k, 0.1)), stride: [stride, stride], padding: [k >> 1, k >> 1, k >> 1, k >> 1], groups: 1 });
  const neuron = (name: string, input: string) => L.ifNeuron({ name, inputs: [input], threshold: 1, reset: 'zero', v0: 0 });
  const layers: L.Layer[] = [conv('conv1', 'input', 3, 64, 7, 2), L.maxpool2d({ name: 'pool1', inputs: ['conv1'], kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }), neuron('if1', 'pool1')];
  let prev = 'if1';
  let cin = 64;
  for (const [stage, cout, stride] of [[1, 64, 1], [2, 128, 2], [3, 256, 2], [4, stage4, 2]] as const) {
    for (let b = 0; b < 2; b++) {
      const s = b === 0 ? stride : 1;
      const p = `s${stage}b${b}`;
      layers.push(conv(`${p}a`, prev, cin, cout, 3, s), neuron(`${p}a_if`, `${p}a`), conv(`${p}b`, `${p}a_if`, cout, cout, 3, 1), conv(`${p}sc`, prev, cin, cout, 1, s));
      layers.push(L.add({ name: `${p}add`, inputs: [`${p}b`, `${p}sc`] }), neuron(`${p}_if`, `${p}add`));
      prev = `${p}_if`;
      cin = cout;
    }
  }
  const g = size / 32;
  layers.push(L.avgpool2d({ name: 'gap', inputs: [prev], kernel: [g, g], stride: [g, g], padding: [0, 0, 0, 0] }), neuron('gap_if', 'gap'), L.flatten({ name: 'flat', inputs: ['gap_if'] }));
  layers.push(L.dense({ name: 'fc', inputs: ['flat'], weight: tensor([1000, stage4], rand(1000 * stage4, 0.1)) }));
  return { name: 'resnet18', input: { shape: [3, size, size], encoding: { type: 'direct' }, preprocess: { scale: 1, mean: [0], std: [1] } }, layers, output: { layer: 'fc', decoding: 'accumulate' }, timesteps: 16, dt: 0.001, metadata: {} };
}

/** NVIDIA PilotNet's channels with 3×3 kernels: 24, 36, 48 at stride 2, then 64, 64 at stride 1, unpadded. */
const PILOTNET_CONVS: readonly (readonly [cout: number, stride: number])[] = [[24, 2], [36, 2], [48, 2], [64, 1], [64, 1]];

/**
 * A PilotNet-shaped CUBA-LIF network: rate-coded input [3, 66, 200] (C, H, W; lava-dl's PilotNet LIF
 * layout), the five convolutions, then dense 100, 50, 10 into CUBA-LIF and a 1-unit readout (lava-dl's
 * PilotNet heads; its 4-convolution SDNN is shared/fixtures/lava/pilotnet_sdnn).
 */
export function pilotnetLif(): SnnModel {
  const rand = random();
  const neuron = (name: string, inputs: string[]) => L.cubaLifNeuron({ name, inputs, threshold: 1, alpha: 0.75, beta: 0.97, reset: 'zero', v0: 0 });
  const layers: L.Layer[] = [];
  let [cin, h, w] = [3, 66, 200];
  let prev = 'input';
  PILOTNET_CONVS.forEach(([cout, stride], i) => {
    layers.push(L.conv2d({ name: `conv${i + 1}`, inputs: [prev], weight: tensor([cout, cin, 3, 3], rand(cout * cin * 9, 0.1)), stride: [stride, stride], padding: [0, 0, 0, 0], groups: 1 }));
    layers.push(neuron(`lif${i + 1}`, [`conv${i + 1}`]));
    prev = `lif${i + 1}`;
    [cin, h, w] = [cout, Math.floor((h - 3) / stride) + 1, Math.floor((w - 3) / stride) + 1];
  });
  layers.push(L.flatten({ name: 'flat', inputs: [prev] }));
  let nIn = cin * h * w;
  prev = 'flat';
  for (const [i, n] of [100, 50, 10, 1].entries()) {
    layers.push(L.dense({ name: `fc${i + 1}`, inputs: [prev], weight: tensor([n, nIn], rand(n * nIn, 0.1)) }));
    if (n > 1) layers.push(neuron(`fc${i + 1}_lif`, [`fc${i + 1}`]));
    prev = n > 1 ? `fc${i + 1}_lif` : `fc${i + 1}`;
    nIn = n;
  }
  return {
    name: 'pilotnet-lif',
    input: { shape: [3, 66, 200], encoding: { type: 'rate', seed: 1 }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers,
    output: { layer: 'fc4', decoding: 'accumulate' },
    timesteps: 16,
    dt: 0.001,
    metadata: {},
  };
}
