/**
 * Benchmark for the spinnaker target: compile time (quantise + partition + keys + synaptic matrices +
 * place + route + compress, and the words of spinnaker.bin in memory) and routing-table sizes for synthetic conv networks of about 10^5, 10^6 and
 * 10^7 synapses, with the compressor's share timed separately; and the emulator's speed on the MNIST
 * CNN next to the float reference simulator on the same input. Median (min–max) of several runs.
 *
 *   npm run bench:spinnaker [-- --runs 5]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../compiler/frontends/index.js';
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../compiler/ir/model.js';
import { tensor } from '../compiler/ir/tensor.js';
import { loadDataset } from '../compiler/io/datasets.js';
import { simulate } from '../compiler/reference/simulator.js';
import { SpinnakerEmulator } from '../targets/spinnaker/emulator.js';
import { compileSpinnaker } from '../targets/spinnaker/index.js';
import { compressOrderedPairs } from '../targets/spinnaker/routing.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

/** events [2, S, S] → conv3×3 (16) → IF → conv3×3 (16) → IF → dense 10: about 2752·S² synapses. */
function synthetic(side: number): SnnModel {
  let seed = 3;
  const w = (shape: number[]) => tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5) * 0.4));
  const same = { stride: [1, 1] as const, padding: [1, 1, 1, 1] as const, groups: 1 };
  const neuron = { threshold: 1, reset: 'zero' as const, v0: 0 };
  return {
    name: `synthetic-${side}`,
    input: { shape: [2, side, side], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers: [
      L.conv2d({ name: 'c1', inputs: [INPUT], weight: w([16, 2, 3, 3]), ...same }),
      L.ifNeuron({ name: 'n1', inputs: ['c1'], ...neuron }),
      L.conv2d({ name: 'c2', inputs: ['n1'], weight: w([16, 16, 3, 3]), ...same }),
      L.ifNeuron({ name: 'n2', inputs: ['c2'], ...neuron }),
      L.flatten({ name: 'f', inputs: ['n2'] }),
      L.dense({ name: 'out', inputs: ['f'], weight: w([10, 16 * side * side]) }),
    ],
    output: { layer: 'out', decoding: 'accumulate' },
    timesteps: 16,
    dt: 0.001,
    metadata: {},
  };
}

console.log(`# spinnaker benchmark — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${RUNS} runs`);
console.log('\n## compile (partition + keys + matrices + place + route + compress + spinnaker.bin words), machine 1x1-boards (144 chips)');
console.log('| synapses | neurons | cores | chips | compile ms | of which compression ms | max entries/chip before → after | all entries before → after |');
console.log('|---|---|---|---|---|---|---|---|');
for (const side of [6, 19, 60]) {
  const model = synthetic(side);
  const options = { machine: '1x1-boards' };
  const c = compileSpinnaker(model, options);
  const t = await time(() => compileSpinnaker(model, options).words, RUNS);
  const k = await time(() => c.tables.map((x) => compressOrderedPairs(x.uncompressed)), RUNS);
  const d = c.descriptor.totals;
  const before = c.tables.reduce((s, x) => s + x.uncompressed.length, 0);
  const after = c.tables.reduce((s, x) => s + x.entries.length, 0);
  console.log(`| ${d.synapses} | ${d.neurons} | ${d.cores} | ${d.chips} | ${fmt(t, 0)} | ${fmt(k, 1)} | ${d.maxEntriesBefore} → ${d.maxEntriesAfter} | ${before} → ${after} |`);
}

console.log('\n## emulator vs float simulator, MNIST CNN (examples/mnist-cnn/model-spinnaker.json), 64 test images');
const model = await loadModel('examples/mnist-cnn/model-spinnaker.json');
const c = compileSpinnaker(model);
const data = loadDataset('../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz', undefined, { start: 0, end: 64 });
const emu = new SpinnakerEmulator(c);
const r = emu.run(data.x, data.n);
const e = await time(() => emu.run(data.x, data.n), RUNS);
const s = await time(() => simulate(model, data.x, data.n), RUNS);
console.log(`${c.descriptor.totals.cores} cores; ${data.n} samples × ${c.descriptor.steps} steps: ${r.packets} packets, ${r.synapticEvents} synaptic events`);
console.log(`  emulator        ${fmt(e, 0)} ms → ${((r.synapticEvents / median(e)) * 1e3 / 1e6).toFixed(1)} M synaptic events/s, ${((data.n * 1000) / median(e)).toFixed(1)} samples/s`);
console.log(`  float simulator ${fmt(s, 0)} ms (baseline, same input) → ${((data.n * 1000) / median(s)).toFixed(1)} samples/s`);
