/**
 * The command line as a user meets it: help, compile/simulate/run on the shipped example, --json,
 * --output, exit codes, one-line errors without stack traces, no half-written outputs, and byte-identical
 * artifacts for the same input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { neuronModels } from '../../compiler/ir/neurons.js';
import { describe, expect, it } from 'vitest';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import { readArray } from '../../compiler/io/datasets.js';
import { snnc } from '../helpers/cli.js';
import { relativeDiff } from '../helpers/compare.js';
import { tempDir } from '../helpers/tmp.js';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import { corticalColumns } from '../../bench/synthetic-networks.js';

const dir = tempDir();
const EXAMPLE = 'examples/mnist-cnn/model.json';
const MNIST = '../shared/fixtures/data/mnist';
const DATA = ['--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--labels', `${MNIST}/t10k-labels-idx1-ubyte.gz`];

function expectCleanError(r: { code: number; stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('snnc CLI', () => {
  it('--help lists every command; per-command help explains the options', () => {
    const r = snnc(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['compile', 'check', 'simulate', 'run', 'schema']) expect(r.stdout).toContain(c);
    const c = snnc(['compile', '--help']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/--schedule <kind>.*layerwise/s);
    expect(c.stdout).toMatch(/--timesteps/);
  });

  it('compiles the example, runs it with onnxruntime and the simulator, and they agree on real MNIST images', () => {
    const out = join(dir, 'mnist-gpu');
    const c = snnc(['compile', EXAMPLE, '--target', 'gpu', '--out', out, '--batch', '50', '--json']);
    expect(c.code).toBe(0);
    const summary = JSON.parse(c.stdout);
    expect(summary).toMatchObject({ target: 'gpu', schedule: 'layerwise', timesteps: 16, batch: 50 });
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'model.onnx']);

    const y1 = join(dir, 'y-run.npy');
    const y2 = join(dir, 'y-sim.npy');
    const run = snnc(['run', out, ...DATA, '--range', '100:300', '--output', y1, '--json']);
    const sim = snnc(['simulate', EXAMPLE, ...DATA, '--range', '100:300', '--output', y2, '--json']);
    expect(run.code).toBe(0);
    expect(sim.code).toBe(0);
    const r = JSON.parse(run.stdout);
    const s = JSON.parse(sim.stdout);
    expect(r.samples).toBe(200);
    expect(r.first).toBe(100);
    expect(r.predictions).toEqual(s.predictions);
    expect(r.accuracy).toBe(s.accuracy);
    expect(r.accuracy).toBeGreaterThan(95); // the ANN scores 98.9 %; the converted SNN ~97 % at T=16
    const a = readArray(y1);
    const b = readArray(y2);
    expect(a.shape).toEqual([200, 10]);
    // Outputs agree except where a float32 tie flipped a spike (see gpu-equivalence.test.ts): 1 % of the scale.
    expect(relativeDiff(a.data, b.data)).toBeLessThan(1e-2);
  });

  it('prints one predicted class per sample, from an --input .npy file', () => {
    const images = readArray(`${MNIST}/DERIVED_t10k_first100_images_u8.npy`);
    const x = join(dir, 'x.npy');
    writeFileSync(x, encodeNpyFloat32(images.data.slice(0, 5 * 784), [5, 1, 28, 28]));
    const r = snnc(['simulate', EXAMPLE, '--input', x]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('sample\tpredicted');
    expect(lines.slice(1, 6).map((l) => l.split('\t')[0])).toEqual(['0', '1', '2', '3', '4']);
    expect(lines.slice(1, 6).map((l) => Number(l.split('\t')[1]))).toEqual([7, 2, 1, 0, 4]); // the MNIST labels of test images 0–4
  });

  it('bad input: exit 2, one line naming the problem, no output folder left behind', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "snnc-model", "version": 1, "input": {"shape": [3]}, "layers": [{"name": "d", "type": "dense", "weight": [[1, 2]]}]}');
    const out = join(dir, 'never');
    expectCleanError(snnc(['compile', bad, '--target', 'gpu', '--out', out]), 2, /snnc: error: .*bad\.json: layer "d" \(dense\): weight \[1, 2\] expects 2 inputs, got 3/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expectCleanError(snnc(['compile', join(dir, 'missing.json'), '--target', 'gpu']), 2, /missing\.json: cannot read model file \(ENOENT\)/);
    expectCleanError(snnc(['compile', EXAMPLE, '--target', 'gpu', '--schedule', 'fast']), 2, /argument 'fast' is invalid/);
    expectCleanError(snnc(['compile', EXAMPLE, '--target', 'loihi9']), 2, /invalid/);
    expectCleanError(snnc(['compile', EXAMPLE, '--target', 'gpu', '--probe', 'conv1']), 2, /probe "conv1" is not a spiking neuron layer/);
    expectCleanError(snnc(['run', dir, '--input', 'x.npy']), 2, /not a compiled folder snnc can run \(a gpu folder has manifest.json and model.onnx; loihi, spinnaker folders/);
    expectCleanError(snnc(['simulate', EXAMPLE, '--data', `${MNIST}/t10k-labels-idx1-ubyte.gz`]), 2, /each sample has shape \[\] \(1 values\) but the model takes \[1, 28, 28\]/);
    expectCleanError(snnc(['simulate', EXAMPLE, ...DATA, '--range', '5:2']), 2, /END must be greater than START/);
    expectCleanError(snnc(['simulate', EXAMPLE]), 2, /no input: give --input/);
  });

  it('a failed compile leaves an existing output folder as it was', () => {
    const out = join(dir, 'keep');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'previous');
    const bad = join(dir, 'bad2.json');
    writeFileSync(bad, '{ not json');
    expectCleanError(snnc(['compile', bad, '--target', 'gpu', '--out', out]), 2, /bad2\.json:1:3: malformed JSON/);
    expect(readFileSync(join(out, 'old.txt'), 'utf8')).toBe('previous');
  });

  it('the same input compiles to byte-identical artifacts', () => {
    for (const schedule of ['layerwise', 'scan', 'step']) {
      const a = join(dir, `det-a-${schedule}`);
      const b = join(dir, `det-b-${schedule}`);
      expect(snnc(['compile', EXAMPLE, '--target', 'gpu', '--schedule', schedule, '--probe', 'all', '--out', a]).code).toBe(0);
      expect(snnc(['compile', EXAMPLE, '--target', 'gpu', '--schedule', schedule, '--probe', 'all', '--out', b]).code).toBe(0);
      for (const f of ['model.onnx', 'manifest.json']) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f)))).toBe(true);
    }
  });

  it('check reports per-layer shapes and parameters; schema prints the JSON Schema', () => {
    const r = snnc(['check', EXAMPLE, '--target', 'gpu', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.fits).toBe(true);
    expect(report.rows.find((row: { layer: string }) => row.layer === 'conv2')).toMatchObject({ shape: '[16, 14, 14]', parameters: 16 * 8 * 25 + 16 });
    const s = snnc(['schema']);
    const schema = JSON.parse(s.stdout);
    expect(schema.title).toMatch(/model\.json/);
    const types = schema.properties.layers.items.oneOf.map((l: { properties: { type: { const: string } } }) => l.properties.type.const);
    expect(types).toEqual(expect.arrayContaining(['lif', 'li', 'cuba_li', 'alif', 'threshold', 'delay', 'reshape']));
  });

  it('check of a network of thousands of cores prints the per-layer rows and the first cores as text, every core with --json', () => {
    const model = join(dir, 'columns.json');
    writeModelJson(corticalColumns(12), model); // sparse rules, 10⁷ synapses
    const text = snnc(['check', model, '--target', 'loihi', '--system', 'hala-point']);
    expect(text.code).toBe(0);
    const json = JSON.parse(snnc(['check', model, '--target', 'loihi', '--system', 'hala-point', '--json']).stdout);
    const cores = json.rows.filter((r: { layer: string }) => r.layer.startsWith('core ')).length;
    expect(cores).toBeGreaterThan(1000);
    const lines = text.stdout.split('\n');
    expect(lines.slice(1, 5).map((l) => l.split(/\s+/)[0])).toEqual(['l4', 'l23', 'l5', 'readout']);
    expect(lines[101]).toBe(`… and ${json.rows.length - 100} more rows (--json lists every one)`);
    expect(text.stdout).toMatch(new RegExp(`^${cores} cores on \\d+ loihi2 chip\\(s\\)`, 'm'));
  });

  it('neurons lists every declared model with its step, parameters and the targets that run it', () => {
    const r = snnc(['neurons', '--json']);
    expect(r.code).toBe(0);
    const models: { name: string; equations: string; targets: string[] }[] = JSON.parse(r.stdout);
    expect(models.map((m) => m.name)).toEqual(neuronModels().map((m) => m.name));
    expect(models.find((m) => m.name === 'alif')!.targets).toContain('gpu');
    expect(models.find((m) => m.name === 'alif')!.targets).not.toContain('loihi');
    const text = snnc(['neurons']).stdout;
    expect(text).toContain('cuba_lif: current-based leaky integrate-and-fire');
    expect(text).toMatch(/li: leaky integrator.*\n {2}step: {4}v ← β·v \+ r·I/);
    // A reader that stops early (| head; here one that reads nothing) ends the command quietly: no EPIPE stack trace.
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" bin/snnc.js neurons | true; echo "exit \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(piped.stdout).toBe('exit 0\n');
    expect(piped.stderr).toBe('');
  });
});
