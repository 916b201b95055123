/**
 * Benchmark: the MNIST CNN example (examples/mnist-cnn), batch 64, T = 16, on onnxruntime-node's CPU
 * provider. It times each schedule, next to two baselines measured in the same run: the float reference
 * simulator (JS) and the "dense floor", an ONNX model of the same synaptic ops (conv, pool, gemm) over
 * all T·B rows with no neuron dynamics, i.e. what ORT's kernels cost for this much arithmetic.
 * Prints the median (min–max) of several runs after warm-up.
 *
 *   npm run bench [-- --runs 15 --threads 1]
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import type * as L from '../compiler/ir/layers.js';
import { isNeuron } from '../compiler/ir/layers.js';
import { INPUT } from '../compiler/ir/model.js';
import { verifyModel } from '../compiler/ir/verify.js';
import { loadDataset } from '../compiler/io/datasets.js';
import { OrtRunner } from '../runtime/ort-runner.js';
import { simulate } from '../compiler/reference/simulator.js';
import { emitSynaptic, loweringContext } from '../targets/gpu/lower.js';
import { GraphBuilder, encodeModel } from '../targets/common/onnx-builder.js';
import { compileGpu } from '../targets/gpu/index.js';
import { SCHEDULES } from '../targets/gpu/schedules.js';
import * as ort from 'onnxruntime-node';
import { fmt, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, threads: { type: 'string', default: '1' }, batch: { type: 'string', default: '64' }, timesteps: { type: 'string', default: '16' } } });
const RUNS = Number(values.runs);
const THREADS = Number(values.threads);
const B = Number(values.batch);
const T = Number(values.timesteps);


const model = readModelJson('examples/mnist-cnn/model.json');
const data = loadDataset('../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz', undefined, { start: 0, end: B });
console.log(`MNIST CNN example, batch ${B}, T=${T}, onnxruntime-node CPU, ${THREADS} thread(s), ${RUNS} runs; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}`);
console.log('ms per batch: median (min–max)\n');

const rows: [string, number[]][] = [];
for (const schedule of SCHEDULES) {
  const { onnx, manifest } = compileGpu(model, { schedule, batch: B, timesteps: T });
  const runner = await OrtRunner.fromBytes(manifest, onnx, { threads: THREADS });
  rows.push([`${schedule} schedule`, await time(() => runner.run(data.x, B), RUNS, 2)]);
  await runner.close();
}

// Dense floor: the synaptic ops of the network over T·B rows (the first layer, being static, at B rows).
{
  const shapes = verifyModel(model);
  const ctx = loweringContext(model, shapes, B, T);
  const b = new GraphBuilder();
  const x = b.input('x', [B, ...model.input.shape]);
  const values = new Map<string, string>([[INPUT, x]]);
  let staticDone = false;
  for (const layer of model.layers) {
    if (isNeuron(layer)) {
      const src = values.get(layer.inputs[0])!;
      if (!staticDone) {
        const shape = shapes.get(layer.inputs[0])!;
        const rep = b.node('Tile', [b.node('Reshape', [src, b.constInt64('s1', [1, B, ...shape])], 'r1'), b.constInt64('reps', [T, 1, ...shape.map(() => 1)])], 'tiled');
        values.set(layer.name, b.node('Reshape', [rep, b.constInt64('s2', [T * B, ...shape])], 'rows'));
        staticDone = true;
      } else values.set(layer.name, b.node('Relu', [src], `${layer.name}.relu`));
      continue;
    }
    values.set(layer.name, emitSynaptic(b, ctx, layer as L.SynapticLayer, layer.inputs.map((n) => values.get(n)!)));
  }
  b.output(values.get(model.output.layer)!, [T * B, 10], 'y');
  const bytes = encodeModel(b.graph('dense_floor', true), { opset: 17, irVersion: 8, producerVersion: 'bench', docString: '', metadata: {} });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: THREADS, interOpNumThreads: 1 });
  const feed = { x: new ort.Tensor('float32', data.x, [B, ...model.input.shape]) };
  rows.push(['dense floor (synaptic ops only)', await time(() => session.run(feed), RUNS, 2)]);
}

rows.push(['reference simulator (JS)', await time(() => simulate(model, data.x, B, { timesteps: T }), Math.min(RUNS, 5), 1)]);

const width = Math.max(...rows.map(([n]) => n.length));
for (const [name, ms] of rows) console.log(`${name.padEnd(width)}  ${fmt(ms).padEnd(26)} ${((B * 1000) / ms[ms.length >> 1]).toFixed(0).padStart(7)} samples/s`);
