/**
 * Are compiled artifacts unchanged? Compiles the shipped examples to every target they fit (gpu in all
 * three schedules, loihi, spinnaker, pynn, nir) into a temporary folder and prints the sha256 of every
 * file written. With `--check FILE` it compares with a recorded list and exits 1 naming each file that
 * differs, so a restructuring can show that it changed no byte (bench/artifact-hashes.txt is the list
 * recorded on 2026-12-02; the mnist-cnn and mlp-t1 gpu, spinnaker and pynn entries equal those of the
 * commit before issue #16; the mnist-cnn-loihi entries were recorded again on 2026-12-03 for loihi.json
 * format version 2: Loihi 2's shared convolution weights and the joint partition, issue #19).
 *
 *   npm run bench:artifacts [-- --check bench/artifact-hashes.txt]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readModelJson } from '../compiler/ir/serialize/read.js';
import { gpuTarget } from '../targets/gpu/index.js';
import { loihiTarget } from '../targets/loihi/index.js';
import { nirTarget } from '../targets/nir/index.js';
import { spinnakerTarget } from '../targets/spinnaker/index.js';
import { pynnTarget } from '../targets/spinnaker/pynn.js';
import type { CompileOptions, Target } from '../targets/target.js';

/** One compile of the list: its name and how to emit it (each target with its own typed options). */
interface Job {
  readonly name: string;
  readonly emit: (out: string) => Promise<unknown>;
}

function job<O extends CompileOptions>(name: string, model: string, target: Target<O>, options: O): Job {
  return { name, emit: (out) => target.emit(readModelJson(model), out, options) };
}

const JOBS: readonly Job[] = [
  job('mnist-cnn-gpu-layerwise', 'examples/mnist-cnn/model.json', gpuTarget, { schedule: 'layerwise' }),
  job('mnist-cnn-gpu-scan', 'examples/mnist-cnn/model.json', gpuTarget, { schedule: 'scan' }),
  job('mnist-cnn-gpu-step', 'examples/mnist-cnn/model.json', gpuTarget, { schedule: 'step' }),
  job('mnist-cnn-loihi', 'examples/mnist-cnn/model.json', loihiTarget, {}),
  job('mnist-cnn-spinnaker', 'examples/mnist-cnn/model-spinnaker.json', spinnakerTarget, {}),
  job('mnist-cnn-pynn', 'examples/mnist-cnn/model-spinnaker.json', pynnTarget, {}),
  job('mlp-t1-gpu-layerwise', 'examples/mnist-t1-noise/mlp-t1.json', gpuTarget, { schedule: 'layerwise' }),
  job('mlp-t1-gpu-scan', 'examples/mnist-t1-noise/mlp-t1.json', gpuTarget, { schedule: 'scan' }),
  job('mlp-t1-gpu-step', 'examples/mnist-t1-noise/mlp-t1.json', gpuTarget, { schedule: 'step' }),
  job('mlp-t1-nir', 'examples/mnist-t1-noise/mlp-t1.json', nirTarget, {}),
];

const { values } = parseArgs({ options: { check: { type: 'string' } } });
const dir = mkdtempSync(join(tmpdir(), 'snnc-artifacts-'));
const lines: string[] = [];
try {
  for (const { name, emit } of JOBS) {
    const out = join(dir, name);
    await emit(out);
    for (const file of readdirSync(out).sort()) lines.push(`${createHash('sha256').update(readFileSync(join(out, file))).digest('hex')}  ${name}/${file}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (!values.check) {
  console.log(lines.join('\n'));
} else {
  const want = new Set(readFileSync(values.check, 'utf8').split('\n').filter(Boolean));
  const got = new Set(lines);
  const differ = [...new Set([...want, ...got].filter((l) => !(want.has(l) && got.has(l))).map((l) => l.slice(66)))];
  if (differ.length > 0) {
    console.log(`${differ.length} file(s) differ from ${values.check}:\n${differ.join('\n')}`);
    process.exitCode = 1;
  } else console.log(`${lines.length} files, all identical to ${values.check}`);
}
