/**
 * Benchmark for the loihi target: emulator speed (synaptic events per second) on the lava-dl oxford
 * network (2000 steps) and on the MNIST CNN example, next to the float reference simulator on the same
 * input in the same run; and partition time and cores for a ResNet-18-sized synthetic network, beside the
 * lower bound. Median (min–max) of several runs.
 *
 *   npm run bench:loihi [-- --runs 5]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../compiler/frontends/index.js';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import * as L from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { tensor } from '../compiler/ir/tensor.js';
import { loadDataset, readArray } from '../compiler/io/datasets.js';
import { LoihiEmulator } from '../targets/loihi/emulator.js';
import { simulate } from '../compiler/reference/simulator.js';
import { compileLoihi, planLoihi } from '../targets/loihi/index.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

async function emulatorSpeed(label: string, model: SnnModel, x: Float32Array, n: number): Promise<void> {
  const c = compileLoihi(model, { chips: 64 });
  const emu = new LoihiEmulator(c);
  const events = emu.run(x, n).synapticEvents;
  const e = await time(() => emu.run(x, n), RUNS);
  const s = await time(() => simulate(model, x, n), RUNS);
  console.log(`${label}: ${c.descriptor.totals.cores} cores, ${c.descriptor.totals.synapses} synapses; ${n} sample(s) × ${c.descriptor.output.start + c.descriptor.timesteps} steps, ${events} synaptic events`);
  console.log(`  emulator        ${fmt(e, 1)} ms  → ${((events / median(e)) * 1e3 / 1e6).toFixed(1)} M synaptic events/s`);
  console.log(`  float simulator ${fmt(s, 1)} ms  (baseline, same input)`);
}

/** ResNet-18 (ImageNet sizes) as an SNN: conv1 + max-pool on the host, projection shortcuts, IF neurons. */
function resnet18(stage4 = 512): SnnModel {
  let seed = 1;
  const rand = (n: number, scale: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * scale);
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
  layers.push(L.avgpool2d({ name: 'gap', inputs: [prev], kernel: [7, 7], stride: [7, 7], padding: [0, 0, 0, 0] }), neuron('gap_if', 'gap'), L.flatten({ name: 'flat', inputs: ['gap_if'] }));
  layers.push(L.dense({ name: 'fc', inputs: ['flat'], weight: tensor([1000, stage4], rand(1000 * stage4, 0.1)) }));
  return { name: 'resnet18', input: { shape: [3, 224, 224], encoding: { type: 'direct' }, preprocess: { scale: 1, mean: [0], std: [1] } }, layers, output: { layer: 'fc', decoding: 'accumulate' }, timesteps: 16, dt: 0.001, metadata: {} };
}

console.log(`loihi target; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}; ${RUNS} runs after a warm-up, single-threaded\n`);

const oxford = await loadModel('../shared/fixtures/lava/oxford/network.net', { netx: { timesteps: 2000 } });
const raster = readArray('../shared/fixtures/lava/lif_dense_oxford_layer0/in.npy');
const ox = new Float32Array(2000 * 200);
for (let i = 0; i < 200; i++) for (let t = 0; t < 2000; t++) ox[t * 200 + i] = raster.data[i * 2000 + t];
await emulatorSpeed('oxford (lava-dl NetX, 200→256→200 CUBA)', oxford, ox, 1);

const mnist = loadDataset('../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz', undefined, { start: 0, end: 64 });
await emulatorSpeed('\nMNIST CNN example (T=16)', readModelJson('examples/mnist-cnn/model.json'), mnist.x, mnist.n);

console.log('\nResNet-18 (224×224, projection shortcuts; conv1 + max-pool on the host): quantise + partition');
for (const stage4 of [512, 384]) {
  const net = resnet18(stage4);
  for (const chip of ['loihi1', 'loihi2'] as const) {
    const label = `  stage 4 width ${stage4}, ${chip}:`;
    let plan: ReturnType<typeof planLoihi>;
    try {
      plan = planLoihi(net, { chip, chips: 100000 });
    } catch (e) {
      console.log(`${label} does not fit: ${(e as Error).message}`);
      continue;
    }
    const ms = await time(() => planLoihi(net, { chip, chips: 100000 }), Math.min(RUNS, 3));
    const synapses = plan.partition.tiles.reduce((s, t) => s + t.synapses, 0);
    console.log(`${label} ${fmt(ms, 0)} ms; ${plan.partition.cores} cores on ${plan.partition.chips} chips (lower bound ${plan.partition.lowerBound}); ${(synapses / 1e6).toFixed(0)} M synapses`);
  }
}
