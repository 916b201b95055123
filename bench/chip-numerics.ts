/**
 * Benchmark for `--target gpu --numerics loihi|spinnaker` (issue 20): the MNIST CNN examples, batch 64,
 * T = 16, as each chip target quantises them, run as integer ONNX by onnxruntime-node, side by side in
 * the same run with the float ONNX of the same model (layerwise), the chip's bit-accurate JS emulator,
 * and (for the Loihi example, the same CNN) the PyTorch eager loop of ../shared/anchors/torch_if_cnn.py
 * (Debian's python3-torch, if installed). Per thread count: ms per batch of 64, median (min–max). Also
 * the accuracy of the quantised network against the float one.
 *
 *   npm run bench:chip-numerics [-- --runs 9 --threads 1,2 --providers cpu,cuda,webgpu]
 *
 * `--providers` runs the integer and float ONNX rows once per onnxruntime execution provider (the
 * host encoder stays on the CPU: runtime/host-encoder.ts); a provider that does not load is reported
 * as not available. The emulator and PyTorch rows run once per thread count. Last, per thread count,
 * onnxruntime's profiler says where the integer graph's time goes (CPU provider), and its costliest
 * node alone bounds the ratios the integer ONNX could reach if everything else took no time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadDataset } from '../compiler/io/datasets.js';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import { accuracy, predictions } from '../compiler/reference/predictions.js';
import { chipInput } from '../runtime/chip-numerics.js';
import { OrtRunner } from '../runtime/ort-runner.js';
import { compileGpu } from '../targets/gpu/index.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { LoihiEmulator } from '../targets/loihi/emulator.js';
import { SpinnakerEmulator } from '../targets/spinnaker/emulator.js';
import { compileSpinnaker } from '../targets/spinnaker/index.js';
import { compileLoihi } from '../targets/loihi/index.js';
import { profileNodes } from './ort-profile.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, threads: { type: 'string', default: '1,2' }, providers: { type: 'string', default: 'cpu' } } });
const PROVIDERS = values.providers.split(',');
const RUNS = Number(values.runs);
const MNIST = '../shared/fixtures/data/mnist';
const ANCHOR = '../shared/anchors/torch_if_cnn.py';
const B = 64;

const data = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, { start: 0, end: 2000 });
const batch = data.x.subarray(0, B * 784);
const threadCounts = values.threads.split(',').map(Number);
const torch = new Map(threadCounts.map((t) => [t, pytorch(t)]));

/** The PyTorch loop's ms per batch of 64 at T = 16 (median, min, max), or why it did not run. */
function pytorch(threads: number): { median: number; min: number; max: number } | string {
  if (!existsSync('/usr/bin/python3') || !existsSync(ANCHOR)) return 'not run (no /usr/bin/python3 or anchor)';
  const r = spawnSync('/usr/bin/python3', [ANCHOR, '--threads', String(threads)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return `not run (${r.stderr.trim().split('\n').at(-1)})`;
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).ms_per_batch64_T16;
}

console.log(`batch ${B}; ${os.cpus()[0].model}, ${os.cpus().length} vCPUs, Node ${process.version}, onnxruntime-node ${ort.env.versions.common}`);

const CHIPS = [
  { numerics: 'loihi', file: 'examples/mnist-cnn/model.json', emulator: (m: SnnModel) => new LoihiEmulator(compileLoihi(m)) },
  { numerics: 'spinnaker', file: 'examples/mnist-cnn/model-spinnaker.json', emulator: (m: SnnModel) => new SpinnakerEmulator(compileSpinnaker(m)) },
] as const;

for (const chip of CHIPS) {
  const model = readModelJson(chip.file);
  const integer = compileGpu(model, { numerics: chip.numerics, batch: B });
  const float = compileGpu(model, { schedule: 'layerwise', batch: B });
  const emulator = chip.emulator(model);
  console.log(`\n${chip.file} as the ${chip.numerics} target quantises it, T = ${model.timesteps}: integer ONNX ${integer.onnx.length} bytes, ${integer.manifest.numerics!.steps} steps (T + pipeline depth); float ONNX ${float.onnx.length} bytes`);
  for (const threads of threadCounts) {
    type Row = [string, number[] | { median: number; min: number; max: number } | string];
    const rows: Row[] = [];
    const feed = await chipInput(integer.manifest, integer.manifest.numerics!, batch, 0);
    const feeds = { [integer.manifest.io.input.name]: new ort.Tensor(feed.type, feed.data, integer.manifest.io.input.dims) };
    for (const provider of PROVIDERS) {
      const on = PROVIDERS.length > 1 ? ` [${provider}]` : '';
      const opened: { close(): Promise<void> }[] = [];
      try {
        const intRunner = await OrtRunner.fromBytes(integer.manifest, integer.onnx, { threads, providers: [provider] });
        opened.push(intRunner);
        const floatRunner = await OrtRunner.fromBytes(float.manifest, float.onnx, { threads, providers: [provider] });
        opened.push(floatRunner);
        const session = await ort.InferenceSession.create(integer.onnx, { executionProviders: [provider], intraOpNumThreads: threads, interOpNumThreads: 1 });
        opened.push({ close: () => session.release() });
        rows.push(
          [`integer ONNX, end to end (host encoder + graph + decoding)${on}`, await time(() => intRunner.run(batch, B), RUNS, 2)],
          [`integer ONNX, graph only${on}`, await time(() => session.run(feeds), RUNS, 2)],
          [`float ONNX, layerwise (not chip-exact)${on}`, await time(() => floatRunner.run(batch, B), RUNS, 2)],
        );
      } catch (e) {
        rows.push([`integer and float ONNX [${provider}]`, `not available (${String((e as Error).message ?? e).split('\n')[0]})`]);
      } finally {
        await Promise.all(opened.map((o) => o.close()));
      }
    }
    const emulatorMs = await time(() => emulator.run(batch, B), 3);
    rows.push([`${chip.numerics} emulator (JS, bit-accurate)`, emulatorMs]);
    /** The baselines the profile's floor is set against: [name, median ms]. */
    const baselines: [string, number][] = [[`${chip.numerics} emulator`, median(emulatorMs)]];
    if (chip.numerics === 'loihi') {
      const loop = torch.get(threads)!;
      rows.push(['PyTorch eager IF loop (torch_if_cnn.py)', loop]);
      if (typeof loop !== 'string') baselines.push(['PyTorch eager IF loop', loop.median]);
    }
    console.log(`${threads} thread(s): ms per batch of ${B}, median (min–max)`);
    const endToEnd = rows.find(([, r]) => Array.isArray(r))?.[1] as number[] | undefined;
    for (const [label, r] of rows) {
      if (typeof r === 'string') console.log(`  ${label.padEnd(66)} ${r}`);
      else {
        const [m, text] = Array.isArray(r) ? [median(r), fmt(r)] : [r.median, `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`];
        console.log(`  ${label.padEnd(66)} ${text.padEnd(26)} ${endToEnd ? `${(m / median(endToEnd)).toFixed(1)}× the first integer ONNX end to end` : ''}`);
      }
    }
    await printProfile(integer.onnx, feeds, threads, baselines);
  }
  const n = chip.numerics === 'loihi' ? 2000 : 500;
  const subset = { ...data, x: data.x.subarray(0, n * 784), labels: data.labels!.subarray(0, n), n };
  const [qi, qf] = await Promise.all([integer, float].map((c) => OrtRunner.fromBytes(c.manifest, c.onnx).then((r) => r.run(subset.x, n)).then((r) => accuracy(predictions(r.output, n, r.classes), subset.labels))));
  console.log(`accuracy on test images 0–${n - 1}: quantised (integer ONNX = emulator) ${qi.toFixed(2)} %, float ${qf.toFixed(2)} % (difference ${(qi - qf).toFixed(2)} pp)`);
}

/** onnxruntime's profile of the integer graph (CPU): its costliest nodes, and the ratio to each baseline that the costliest one alone allows. */
async function printProfile(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, threads: number, baselines: readonly [string, number][]): Promise<void> {
  const { nodes, runMs } = await profileNodes(bytes, feeds, threads, RUNS);
  console.log(`  where the integer graph's ${runMs.toFixed(2)} ms go (onnxruntime's profiler, mean of ${RUNS} runs; a Scan includes its body):`);
  for (const n of nodes.slice(0, 5)) console.log(`    ${n.node.padEnd(40)} ${n.ms.toFixed(2).padStart(7)} ms  ${((100 * n.ms) / runMs).toFixed(0).padStart(3)} %`);
  const top = nodes[0];
  const bounds = baselines.map(([name, ms]) => `${(ms / top.ms).toFixed(1)}× the ${name}`);
  console.log(`    floor: ${top.node} alone is ${top.ms.toFixed(2)} ms, so even with every other op and the host in no time the integer ONNX is at most ${bounds.join(', ')}`);
}
