/**
 * Benchmark for the loihi target: emulator speed (synaptic events per second) on the lava-dl oxford
 * network (2000 steps) and on the MNIST CNN example, next to the float reference simulator on the same
 * input in the same run; and, for the MNIST CNN, a PilotNet-shaped LIF network, lava-dl's PilotNet SDNN
 * and ResNet-18 (bench/loihi-networks.ts), plan and partition time and cores with the per-layer choice
 * and with the joint search, beside the lower bounds. Median (min–max) of several runs.
 *
 *   npm run bench:loihi [-- --runs 5]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../compiler/frontends/index.js';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { loadDataset, readArray } from '../compiler/io/datasets.js';
import { LoihiEmulator } from '../targets/loihi/emulator.js';
import { simulate } from '../compiler/reference/simulator.js';
import { CHIPS } from '../targets/loihi/chip.js';
import { compileLoihi, planLoihi } from '../targets/loihi/index.js';
import { partitionLoihiCores } from '../targets/loihi/partition.js';
import { pilotnetLif, resnet18 } from './loihi-networks.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

async function emulatorSpeed(label: string, model: SnnModel, x: Float32Array, n: number): Promise<void> {
  const c = compileLoihi(model, { chips: 64 });
  const emu = new LoihiEmulator(c);
  const events = emu.run(x, n).synapticEvents;
  const e = await time(() => emu.run(x, n), RUNS);
  const s = await time(() => simulate(model, x, n), RUNS);
  console.log(`${label}: ${c.descriptor.totals.cores} cores, ${c.descriptor.totals.synapses} explicit synapses, ${c.descriptor.totals.sharedWeights} shared kernel weights; ${n} sample(s) × ${c.descriptor.output.start + c.descriptor.timesteps} steps, ${events} synaptic events`);
  console.log(`  emulator        ${fmt(e, 1)} ms  → ${((events / median(e)) * 1e3 / 1e6).toFixed(1)} M synaptic events/s`);
  console.log(`  float simulator ${fmt(s, 1)} ms  (baseline, same input)`);
}

console.log(`loihi target; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}; ${RUNS} runs after a warm-up, single-threaded\n`);

const oxford = await loadModel('../shared/fixtures/lava/oxford/network.net', { netx: { timesteps: 2000 } });
const raster = readArray('../shared/fixtures/lava/lif_dense_oxford_layer0/in.npy');
const ox = new Float32Array(2000 * 200);
for (let i = 0; i < 200; i++) for (let t = 0; t < 2000; t++) ox[t * 200 + i] = raster.data[i * 2000 + t];
await emulatorSpeed('oxford (lava-dl NetX, 200→256→200 CUBA)', oxford, ox, 1);

const mnist = loadDataset('../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz', undefined, { start: 0, end: 64 });
await emulatorSpeed('\nMNIST CNN example (T=16)', readModelJson('examples/mnist-cnn/model.json'), mnist.x, mnist.n);

console.log('\nPartition (quantise, split fan-ins, tile: planLoihi); cores with the per-layer choice (beam 1) and the joint search:');
const partitionCases: [string, () => Promise<SnnModel> | SnnModel, readonly ('loihi1' | 'loihi2')[]][] = [
  ['MNIST CNN example', () => readModelJson('examples/mnist-cnn/model.json'), ['loihi2']],
  ['PilotNet-shaped LIF [3, 66, 200], 5 conv', () => pilotnetLif(), ['loihi1', 'loihi2']],
  ['PilotNet SDNN (lava-dl fixture) [3, 33, 100]', () => loadModel('../shared/fixtures/lava/pilotnet_sdnn/network.net'), ['loihi2']],
  ['ResNet-18, stage 4 at 384 channels', () => resnet18(384), ['loihi1', 'loihi2']],
  ['ResNet-18', () => resnet18(512), ['loihi1', 'loihi2']],
];
console.log('| network | chip | plan time (ms) | partition time (ms) | cores per-layer | cores joint (chips) | lower bound | volume bound |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [label, make, chips] of partitionCases) {
  const model = await make();
  for (const chip of chips) {
    let plan: ReturnType<typeof planLoihi>;
    try {
      plan = planLoihi(model, { chip, chips: 100000 });
    } catch (e) {
      console.log(`| ${label} | ${chip} | does not fit: ${(e as Error).message} | | | | | |`);
      continue;
    }
    const runs = Math.min(RUNS, 3);
    const planMs = await time(() => planLoihi(model, { chip, chips: 100000 }), runs);
    const partMs = await time(() => partitionLoihiCores(plan.network, CHIPS[chip]), runs);
    const perLayer = partitionLoihiCores(plan.network, CHIPS[chip], { beam: 1 }).cores;
    const p = plan.partition;
    console.log(`| ${label} | ${chip} | ${fmt(planMs, 0)} | ${fmt(partMs, 0)} | ${perLayer} | ${p.cores} (${p.chips}) | ${p.lowerBound} | ${p.volumeBound} |`);
  }
}
