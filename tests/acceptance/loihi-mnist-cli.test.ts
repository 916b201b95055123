/**
 * The loihi target end to end at MNIST scale and through the command line (the fast parts are in
 * tests/unit/loihi.test.ts): the MNIST CNN within 1 pp of the float simulator on 500 test images, and
 * deterministic artifacts that `snnc run`, `diff` and `check` use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { loadDataset } from '../../compiler/io/datasets.js';
import { LoihiEmulator, readLoihiFolder } from '../../targets/loihi/emulator.js';
import { accuracy, predictions } from '../../compiler/reference/predictions.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { compileLoihi } from '../../targets/loihi/index.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const MNIST = '../shared/fixtures/data/mnist';

describe('MNIST CNN example on Loihi 2', () => {
  it('compiles onto one chip and its emulated accuracy on 500 test images is within 1 pp of the float simulator', () => {
    const model = readModelJson('examples/mnist-cnn/model.json');
    const c = compileLoihi(model);
    expect(c.partition.chips).toBe(1);
    expect(c.partition.cores).toBeGreaterThanOrEqual(c.partition.lowerBound);
    const data = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, { start: 0, end: 500 });
    const emu = new LoihiEmulator(c).run(data.x, data.n);
    const ref = simulate(model, data.x, data.n);
    const accEmu = accuracy(predictions(emu.output, data.n, 10), data.labels!);
    const accRef = accuracy(predictions(ref.output, data.n, 10), data.labels!);
    expect(accRef).toBeGreaterThan(95);
    expect(Math.abs(accEmu - accRef)).toBeLessThanOrEqual(1);
  });
});

describe('artifacts and CLI', () => {
  const dir = tempDir();

  it('compile writes loihi.json/loihi.bin deterministically; run, diff and check work from the command line', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const out of [a, b]) expect(snnc(['compile', 'examples/mnist-cnn/model.json', '--target', 'loihi', '-o', out]).code).toBe(0);
    for (const f of ['loihi.json', 'loihi.bin', 'manifest.json']) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f)))).toBe(true);
    const run = snnc(['run', a, '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--labels', `${MNIST}/t10k-labels-idx1-ubyte.gz`, '--range', '0:32', '--json']);
    expect(run.code).toBe(0);
    const fromFolder = new LoihiEmulator(readLoihiFolder(a));
    const data = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, undefined, { start: 0, end: 32 });
    expect(JSON.parse(run.stdout).predictions).toEqual(predictions(fromFolder.run(data.x, 32).output, 32, 10));
    const diff = snnc(['diff', 'examples/mnist-cnn/model.json', '--target', 'loihi', '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--range', '0:8', '--json']);
    expect(diff.code).toBe(0);
    const d = JSON.parse(diff.stdout);
    expect(d.layers.map((l: { layer: string; depth: number }) => [l.layer, l.depth])).toEqual([['if1', 0], ['if2', 1]]);
    const check = snnc(['check', 'examples/mnist-cnn/model.json', '--target', 'loihi', '--chip', 'loihi1']);
    expect(check.code).toBe(3);
    expect(check.stdout).toMatch(/reset "subtract" needs a Loihi 2 microcode neuron/);
  });
});
