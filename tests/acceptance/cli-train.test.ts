/**
 * `snnc train` → `snnc convert --from t1-noise` → `snnc eval` / `snnc compile` from the command line,
 * determinism, and the errors a user meets (unknown layer, wrong data shape, negative std, no noise record).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { layerKind } from '../../compiler/ir/layers.js';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const MNIST = '../shared/fixtures/data/mnist';
const IMAGES = `${MNIST}/t10k-images-idx3-ubyte.gz`;
const LABELS = `${MNIST}/t10k-labels-idx1-ubyte.gz`;
const MLP = 'examples/mnist-t1-noise/mlp.arch.json';
const DATA = ['--data', IMAGES, '--labels', LABELS, '--range', '0:1500', '--val-range', '9000:9500'];

describe('snnc train / convert --from t1-noise / eval', () => {
  const t1 = join(dir, 't1.json');

  it('trains an MLP at T=1 with membrane noise, records the noise, and is deterministic', () => {
    const r = snnc(['train', MLP, ...DATA, '--epochs', '2', '--noise', 'gaussian:0.5,0.3', '-o', t1, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.slice(0, 2).map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines[1].loss).toBeLessThan(lines[0].loss);
    expect(lines[1].val.meanField).toBeGreaterThan(80); // 1500 training images, 2 epochs
    expect(r.stderr).toMatch(/1500 samples of t10k-images-idx3-ubyte\.gz \(#0–1499\); validating on 500 samples .*\(#9000–9499\)/);
    const model = readModelJson(t1);
    expect(model.timesteps).toBe(1);
    expect(model.metadata.noise).toEqual({ dist: 'gaussian', mean: 0.5, std: 0.3, where: 'membrane-before-threshold', layers: ['if1'] });
    expect(model.metadata.training).toMatchObject({ mode: 't1-noise', samples: 1500, epochs: 2, seed: 1 });
    expect(model.layers.map(layerKind)).toEqual(['flatten', 'dense', 'if', 'dense']);

    const again = join(dir, 't1-again.json');
    expect(snnc(['train', MLP, ...DATA, '--epochs', '2', '--noise', 'gaussian:0.5,0.3', '-o', again]).code).toBe(0);
    expect(readFileSync(again).equals(readFileSync(t1))).toBe(true);
  });

  it('converts to T=N without data, and the model compiles to the gpu target', () => {
    const tn = join(dir, 'tn.json');
    const c = snnc(['convert', t1, '--from', 't1-noise', '-T', '8', '-o', tn, '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ from: 't1-noise', timesteps: 8, noise: { mean: 0.5 } });
    const model = readModelJson(tn);
    expect(model.timesteps).toBe(8);
    expect(model.output.decoding).toBe('mean');
    expect(model.layers[2]).toMatchObject({ op: 'neuron', model: 'if', reset: 'subtract', params: { v0: 0.5, threshold: 1 } });
    // Weights unchanged.
    expect(Array.from((model.layers[1] as { weight: { data: Float32Array } }).weight.data)).toEqual(Array.from((readModelJson(t1).layers[1] as { weight: { data: Float32Array } }).weight.data));
    const out = join(dir, 'gpu');
    expect(snnc(['compile', tn, '--target', 'gpu', '-o', out]).code).toBe(0);
    // A converted model no longer records training noise: converting it again is refused.
    const twice = snnc(['convert', tn, '--from', 't1-noise', '-T', '8', '-o', join(dir, 'x.json')]);
    expect(twice.code).toBe(2);
  });

  it('eval shows the noisy T=1 accuracy (Monte-Carlo), the mean field, and the converted accuracy per N', () => {
    const e = snnc(['eval', t1, '--data', IMAGES, '--labels', LABELS, '--range', '9000:9500', '-T', '1,4,16', '--draws', '3', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.ann).toBeNull();
    expect(r.t1.draws).toBe(3);
    expect(r.t1.noisy).toBeGreaterThan(75);
    expect(Object.keys(r.accuracy)).toEqual(['1', '4', '16']);
    // The converted network computes the mean field up to its 1/(2N) quantisation: close to it at N=16.
    expect(Math.abs(r.accuracy['16'] - r.t1.mean_field)).toBeLessThan(3);
    const text = snnc(['eval', t1, '--data', IMAGES, '--labels', LABELS, '--range', '9000:9100', '-T', '2', '--draws', '2']);
    expect(text.stdout).toMatch(/T=1 with noise \(Monte-Carlo, 2 draws, reference simulator\)\t[\d.]+ % ± [\d.]+/);
    expect(text.stdout).toMatch(/T=1 mean-field \(expected spikes, tfjs\)\t[\d.]+ %/);
  });

  it('refuses a model without a noise record unless --assume-noise is given, and ANN-only options', () => {
    const bare = JSON.parse(readFileSync(t1, 'utf8'));
    delete bare.metadata.noise;
    const path = join(dir, 'bare.json');
    writeFileSync(path, JSON.stringify(bare));
    const r = snnc(['convert', path, '--from', 't1-noise', '-T', '4', '-o', join(dir, 'o.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bare\.json: the model records no training noise \(metadata\.noise\).*--assume-noise gaussian:MEAN,STD/);
    const ok = snnc(['convert', path, '--from', 't1-noise', '--assume-noise', 'gaussian:0.4,0.3', '-T', '4', '-o', join(dir, 'o.json')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readModelJson(join(dir, 'o.json')).layers[2]).toMatchObject({ params: { v0: 0.4 } });
    const calib = snnc(['convert', t1, '--calib', IMAGES, '-T', '4', '-o', join(dir, 'o.json')]);
    expect(calib.code).toBe(2);
    expect(calib.stderr).toMatch(/--calib is for ANN conversion; a t1-noise model needs no calibration/);
  });

  it('trains the same architecture as a ReLU ANN that the conversion pass takes', () => {
    const ann = join(dir, 'ann.json');
    expect(snnc(['train', MLP, '--mode', 'ann', ...DATA, '--epochs', '2', '-o', ann]).code).toBe(0);
    expect(readModelJson(ann).layers.map((l) => l.op)).toEqual(['flatten', 'dense', 'relu', 'dense']);
    const e = snnc(['eval', ann, '--data', IMAGES, '--labels', LABELS, '--range', '9000:9300', '--calib', IMAGES, '--calib-range', '0:500', '--norm', 'p99.9', '-T', '4,16', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.ann).toBeGreaterThan(70); // 1500 images, 2 epochs
    expect(r.accuracy['16']).toBeGreaterThan(r.ann - 5);
  });

  describe('bad input', () => {
    it('an unknown layer type in the architecture file: file, line, pointer and the allowed types', () => {
      const arch = join(dir, 'bad-arch.json');
      writeFileSync(arch, '{\n "input": { "shape": [784] },\n "layers": [\n  { "type": "dense", "units": 10 },\n  { "type": "lstm", "units": 4 }\n ]\n}\n');
      const r = snnc(['train', arch, '--data', IMAGES, '--labels', LABELS, '-o', join(dir, 'o.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bad-arch\.json:5:\d+: \/layers\/1\/type: unknown layer type "lstm" \(expected one of: dense, conv2d, avgpool2d, maxpool2d, flatten, batchnorm, add, if, lif, cuba_lif, li\)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('data of the wrong shape', () => {
      const x = join(dir, 'x.npy');
      writeFileSync(x, encodeNpyFloat32(new Float32Array(20 * 10), [20, 10]));
      const y = join(dir, 'y.npy');
      writeFileSync(y, encodeNpyFloat32(new Float32Array(20), [20]));
      const r = snnc(['train', MLP, '--data', x, '--labels', y, '-o', join(dir, 'o.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/training data .*x\.npy: each sample has shape \[10\] \(10 values\) but the model takes \[1, 28, 28\]/);
    });

    it('a negative noise std, and noise for an ANN', () => {
      const r = snnc(['train', MLP, ...DATA, '--noise', 'gaussian:0.5,-0.2', '-o', join(dir, 'o.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--noise gaussian:0\.5,-0\.2: noise std must be a finite number ≥ 0, got -0\.2/);
      const z = snnc(['train', MLP, ...DATA, '--noise', 'gaussian:0.5,0', '-o', join(dir, 'o.json')]);
      expect(z.stderr).toMatch(/std must be > 0 for training/);
      const a = snnc(['train', MLP, '--mode', 'ann', ...DATA, '--noise', 'gaussian:0.5,0.3', '-o', join(dir, 'o.json')]);
      expect(a.stderr).toMatch(/--noise applies to --mode t1-noise/);
    });
  });
});
