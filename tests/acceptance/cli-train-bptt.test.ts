/**
 * `snnc train --mode bptt` from the command line on Fashion-MNIST (Debian's dataset-fashion-mnist, which
 * .ci/run installs): a seeded, deterministic run whose validation accuracy `snnc eval` reproduces on the
 * reference simulator, batchnorm folded into the written weights, every target compiling the result,
 * LocalZO's backward activity, the spike loss trading spikes, and the errors a user meets.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { layerKind } from '../../compiler/ir/layers.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const F = '/usr/share/datasets/fashion-mnist';
const dir = tempDir();
const TRAIN = ['--data', `${F}/train-images-idx3-ubyte.gz`, '--labels', `${F}/train-labels-idx1-ubyte.gz`];
const VAL = ['--val', `${F}/t10k-images-idx3-ubyte.gz`, '--val-labels', `${F}/t10k-labels-idx1-ubyte.gz`, '--val-range', '0:500'];
const TEST = ['--data', `${F}/t10k-images-idx3-ubyte.gz`, '--labels', `${F}/t10k-labels-idx1-ubyte.gz`, '--range', '0:500'];
const MLP = 'examples/fmnist-bptt/mlp.arch.json';

const epochs = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.epoch !== undefined);

describe.skipIf(!existsSync(F))('snnc train --mode bptt (Fashion-MNIST)', () => {
  const mlp = join(dir, 'mlp.json');

  it('trains an LIF MLP at T=4, deterministically, and the simulator reproduces its validation accuracy', () => {
    const args = ['train', MLP, '--mode', 'bptt', '--timesteps', '4', ...TRAIN, '--range', '0:1500', ...VAL, '--epochs', '2', '--batch', '64', '--json'];
    const r = snnc([...args, '-o', mlp]);
    expect(r.code, r.stderr).toBe(0);
    const [e1, e2] = epochs(r.stdout);
    expect(e2.loss).toBeLessThan(e1.loss);
    expect(e2.val.accuracy).toBeGreaterThan(70);
    expect(e2.spikes).toBeGreaterThan(0);
    const model = readModelJson(mlp);
    expect(model.timesteps).toBe(4);
    expect(model.output.decoding).toBe('mean');
    expect(model.layers.map(layerKind)).toEqual(['flatten', 'dense', 'lif', 'dense']);
    expect(model.metadata.training).toMatchObject({ mode: 'bptt', timesteps: 4, surrogate: 'fast-sigmoid:25', reset_gradient: 'detached', epochs: 2 });
    const again = join(dir, 'mlp-again.json');
    expect(snnc([...args, '-o', again]).code).toBe(0);
    expect(readFileSync(again).equals(readFileSync(mlp))).toBe(true);
    const e = snnc(['eval', mlp, ...TEST, '-T', '4', '--engine', 'simulator', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).accuracy['4']).toBe(e2.val.accuracy);
  });

  it('the trained model compiles to every target (SpiNNaker: with the zero reset its neurons have)', () => {
    for (const target of ['gpu', 'loihi', 'nir']) {
      const c = snnc(['compile', mlp, '--target', target, '-o', join(dir, `out-${target}`)]);
      expect(c.code, `${target}: ${c.stderr}`).toBe(0);
    }
    const refused = snnc(['compile', mlp, '--target', 'spinnaker', '-o', join(dir, 'out-spinnaker')]);
    expect(refused.stderr).toMatch(/layer "lif1": reset "subtract" has no IF_curr_exp equivalent/);
    const zeroArch = join(dir, 'mlp-zero.arch.json');
    writeFileSync(zeroArch, readFileSync(MLP, 'utf8').replace('{ "type": "lif", "beta": 0.9 }', '{ "type": "lif", "beta": 0.9, "reset": "zero" }'));
    const zero = join(dir, 'mlp-zero.json');
    expect(snnc(['train', zeroArch, '--mode', 'bptt', '--timesteps', '4', ...TRAIN, '--range', '0:256', '--epochs', '1', '-o', zero]).code).toBe(0);
    const c = snnc(['compile', zero, '--target', 'spinnaker', '-o', join(dir, 'out-spinnaker')]);
    expect(c.code, c.stderr).toBe(0);
  });

  it('a CNN with batchnorm on its input currents: statistics folded into the conv weights, eval equal to validation', () => {
    const cnn = join(dir, 'cnn.json');
    const r = snnc(['train', 'examples/fmnist-bptt/cnn.arch.json', '--mode', 'bptt', '--timesteps', '3', ...TRAIN, '--range', '0:256', ...VAL, '--epochs', '1', '--batch', '64', '--json', '-o', cnn]);
    expect(r.code, r.stderr).toBe(0);
    const model = readModelJson(cnn);
    expect(model.layers.map(layerKind)).toEqual(['conv2d', 'lif', 'avgpool2d', 'conv2d', 'lif', 'avgpool2d', 'flatten', 'dense']);
    const e = snnc(['eval', cnn, ...TEST, '-T', '3', '--engine', 'simulator', '--json']);
    expect(e.code, e.stderr).toBe(0);
    // Folding rounds W·s and b·s + t once in float32: a rare spike may flip; the accuracy is that of the trainer.
    expect(Math.abs(JSON.parse(e.stdout).accuracy['3'] - epochs(r.stdout)[0].val.accuracy)).toBeLessThanOrEqual(0.4);
  });

  it('LocalZO reports the fraction of neurons active in the backward pass; the spike loss lowers the spike count', () => {
    const lz = snnc(['train', MLP, '--mode', 'bptt', '--timesteps', '4', '--surrogate', 'localzo:1,0.1', ...TRAIN, '--range', '0:640', '--epochs', '1', '--batch', '64', '--json', '-o', join(dir, 'lz.json')]);
    expect(lz.code, lz.stderr).toBe(0);
    const active = epochs(lz.stdout)[0].active;
    expect(Object.keys(active)).toEqual(['lif1']);
    expect(active.lif1).toBeGreaterThan(0);
    expect(active.lif1).toBeLessThan(0.15);
    const spikes = (lambda: string) => {
      const r = snnc(['train', MLP, '--mode', 'bptt', '--timesteps', '4', '--spike-loss', lambda, ...TRAIN, '--range', '0:640', '--epochs', '2', '--batch', '64', '--json', '-o', join(dir, `sl-${lambda}.json`)]);
      expect(r.code, r.stderr).toBe(0);
      return epochs(r.stdout)[1].spikes;
    };
    expect(spikes('20')).toBeLessThan(0.7 * spikes('0'));
  });

  it('the shipped examples score what their training recorded, on the 10 000 test images (onnxruntime)', () => {
    for (const name of ['mlp', 'cnn', 'mlp-localzo', 'mlp2-spike-loss', 'resnet-fc']) {
      const file = `examples/fmnist-bptt/${name}.json`;
      const model = readModelJson(file);
      const history = (model.metadata.training as { history: { val_accuracy: number }[] }).history;
      const T = String(model.timesteps); // as trained (resnet-fc: 4)
      const e = snnc(['eval', file, '--data', `${F}/t10k-images-idx3-ubyte.gz`, '--labels', `${F}/t10k-labels-idx1-ubyte.gz`, '-T', T, '--json']);
      expect(e.code, e.stderr).toBe(0);
      const accuracy = JSON.parse(e.stdout).accuracy[T];
      expect(accuracy, name).toBe(history[history.length - 1].val_accuracy);
    }
  });

  describe('bad input', () => {
    const arch = (name: string, layers: string) => {
      const path = join(dir, name);
      writeFileSync(path, `{\n "input": { "shape": [1, 28, 28] },\n "layers": [\n${layers}\n ]\n}\n`);
      return path;
    };
    const train = (path: string, ...extra: string[]) => snnc(['train', path, '--mode', 'bptt', ...TRAIN, '--range', '0:64', ...extra, '-o', join(dir, 'o.json')]);

    it('batchnorm after a neuron layer: file, line, layer and what it must read', () => {
      const r = train(arch('bn-after.json', '  { "type": "flatten" },\n  { "type": "dense", "units": 20 },\n  { "type": "lif" },\n  { "type": "batchnorm" },\n  { "type": "dense", "units": 10 }'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bn-after\.json:7:\d+: \/layers\/3 \(batchnorm "batchnorm1"\): batchnorm normalises the input currents of neurons, so it must read a dense or conv2d layer, not lif/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('an add without inputs, an unknown input, an li readout in ann mode', () => {
      const add = train(arch('add.json', '  { "type": "flatten" },\n  { "type": "dense", "units": 10 },\n  { "type": "add" },\n  { "type": "dense", "units": 10 }'));
      expect(add.stderr).toMatch(/add\.json:6:\d+: \/layers\/2 \(add "add1"\): add sums two or more layers; name them in "inputs"/);
      const unknown = train(arch('unknown.json', '  { "type": "flatten" },\n  { "type": "dense", "units": 10, "inputs": ["fc9"] }'));
      expect(unknown.stderr).toMatch(/unknown\.json:5:\d+: \/layers\/1 \(dense "dense1"\): "inputs" names "fc9", which is not a layer before this one/);
      const li = snnc(['train', arch('li.json', '  { "type": "flatten" },\n  { "type": "dense", "units": 10 },\n  { "type": "li" }'), '--mode', 'ann', ...TRAIN, '--range', '0:64', '-o', join(dir, 'o.json')]);
      expect(li.stderr).toMatch(/li\.json:6:\d+: \/layers\/2 \(li "li1"\): an li readout has no ANN counterpart/);
    });

    it('bptt options in another mode, and an unknown surrogate', () => {
      const t1 = snnc(['train', MLP, '--mode', 't1-noise', '--surrogate', 'arctan', ...TRAIN, '--range', '0:64', '-o', join(dir, 'o.json')]);
      expect(t1.code).toBe(2);
      expect(t1.stderr).toMatch(/--surrogate applies to --mode bptt/);
      const bad = train(MLP, '--surrogate', 'sigmoid:3');
      expect(bad.stderr).toMatch(/--surrogate sigmoid:3: unknown surrogate "sigmoid"/);
      const lif = snnc(['train', MLP, '--mode', 't1-noise', ...TRAIN, '--range', '0:64', '-o', join(dir, 'o.json')]);
      expect(lif.stderr).toMatch(/mlp\.arch\.json:\d+:\d+: \/layers\/2 \(lif "lif1"\): --mode t1-noise trains IF neurons at T=1; lif layers need --mode bptt/);
    });
  });
});
