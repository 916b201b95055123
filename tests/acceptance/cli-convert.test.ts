/** `snnc convert` and `snnc eval` from the command line: outputs, --json shapes, errors and exit codes. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { layerKind } from '../../compiler/ir/layers.js';
import { snnc } from '../helpers/cli.js';
import { unsupportedAnn } from '../helpers/onnx-ann.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk/mnist.onnx';
const MNIST = '../shared/fixtures/data/mnist';
const IMAGES = `${MNIST}/t10k-images-idx3-ubyte.gz`;
const LABELS = `${MNIST}/t10k-labels-idx1-ubyte.gz`;

describe('snnc convert / eval', () => {
  it('converts the CNTK CNN with the fixture protocol, records λ per layer, and the model compiles and evaluates', () => {
    const out = join(dir, 'cnn', 'model.json');
    const c = snnc(['convert', CNTK, '--calib', IMAGES, '--calib-range', '5000:6000', '--norm', 'p99.9', '--maxpool', 'gate', '-T', '8', '-o', out, '--sidecar', '--json']);
    expect(c.code).toBe(0);
    const summary = JSON.parse(c.stdout);
    expect(summary.layers.map((l: { layer: string }) => l.layer)).toEqual(['ReLU32', 'ReLU114']);
    // The per-layer table: p99.9 leaves about 0.1 % of the non-zero activations above λ; the CNN's ReLUs are mostly zeros.
    for (const l of summary.layers as { clipped: number; sparsity: number }[]) {
      expect(l.clipped).toBeGreaterThan(0.0005);
      expect(l.clipped).toBeLessThan(0.002);
      expect(l.sparsity).toBeGreaterThan(0.4);
      expect(l.sparsity).toBeLessThan(0.95);
    }
    expect(summary.calibrationSeconds).toBeGreaterThan(0);
    const model = readModelJson(out);
    expect(model.timesteps).toBe(8);
    expect(model.layers.map(layerKind)).toEqual(['conv2d', 'if', 'gated_maxpool2d', 'conv2d', 'if', 'gated_maxpool2d', 'flatten', 'dense']);
    const conv = model.metadata.conversion as { norm: string; calibration: { samples: number; first: number }; layers: Record<string, { lambda: number; threshold: number }> };
    expect(conv.norm).toBe('p99.9');
    expect(conv.calibration).toEqual({ samples: 1000, first: 5000 });
    expect(conv.layers.ReLU32.lambda).toBeCloseTo(summary.layers[0].lambda, 3);
    expect(conv.layers.ReLU32.threshold).toBe(1);

    const e = snnc(['eval', out, '--data', IMAGES, '--labels', LABELS, '--range', '0:300', '-T', '2,8', '--json']);
    expect(e.code).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.ann).toBeNull();
    expect(Object.keys(r.accuracy)).toEqual(['2', '8']);
    expect(r.accuracy['8']).toBeGreaterThan(95);
    expect(r.accuracy['8']).toBeGreaterThanOrEqual(r.accuracy['2']);
  });

  it('eval of an ONNX ANN reports its onnxruntime accuracy, and with --calib the converted SNN per T', () => {
    const e = snnc(['eval', CNTK, '--data', IMAGES, '--labels', LABELS, '--range', '0:300', '--calib', IMAGES, '--calib-range', '5000:5500', '-T', '1,4', '--json']);
    expect(e.code).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.ann).toBeGreaterThan(98); // 300 images: 98.9 % on the full set
    expect(Object.keys(r.accuracy)).toEqual(['1', '4']);
    // Without --calib the ANN runs as the ONNX file is; with it, on the calibration session of the prepared ANN: the same accuracy.
    const noCalib = JSON.parse(snnc(['eval', CNTK, '--data', IMAGES, '--labels', LABELS, '--range', '0:300', '--json']).stdout);
    expect(noCalib.accuracy).toEqual({});
    expect(noCalib.ann).toBe(r.ann);
  });

  it('--burst Γ converts to burst_if neurons that evaluate on onnxruntime; chip targets refuse them by name', () => {
    const out = join(dir, 'burst', 'model.json');
    const c = snnc(['convert', CNTK, '--calib', IMAGES, '--calib-range', '5000:5500', '--norm', 'channel', '--burst', '3', '-T', '2', '-o', out]);
    expect(c.code).toBe(0);
    const model = readModelJson(out);
    // --maxpool auto: the first pool acts on constant currents before the neurons, the second gates bursts.
    expect(model.layers.map(layerKind)).toEqual(['conv2d', 'maxpool2d', 'burst_if', 'conv2d', 'burst_if', 'gated_maxpool2d', 'flatten', 'dense']);
    expect((model.metadata.conversion as { burst: number }).burst).toBe(3);
    const e = snnc(['eval', out, '--data', IMAGES, '--labels', LABELS, '--range', '0:200', '-T', '2', '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).accuracy['2']).toBeGreaterThan(90); // T=2 with Γ=3 (bench/RESULTS.md: ~97 %)
    const chip = snnc(['compile', out, '--target', 'loihi', '-o', join(dir, 'burst', 'loihi')]);
    expect(chip.code).toBe(3);
    expect(chip.stderr).toMatch(/layer "ReLU32": the loihi target does not support burst_if neurons/);
    expect(existsSync(join(dir, 'burst', 'loihi'))).toBe(false);
    expect(snnc(['convert', CNTK, '--burst', '0', '-o', join(dir, 'burst', 'bad.json')]).code).toBe(2);
  });

  it('low T (issue 21): per-channel λ, layer calibration and bursts of up to 3 spikes reach ≥ 98.2 % at T=4 on images 0–1999', () => {
    // The protocol of bench/low-t.ts: λ on test images 5000–9999 (the simulator, so λ is the same on every
    // machine), layer calibration on 5000–5999, evaluation on 0–1999 (ANN 98.40 %). Γ = 3 was chosen on
    // images 2000–4999 (bench/RESULTS.md); it gives 98.35 % here.
    const e = snnc(['eval', CNTK, '--data', IMAGES, '--labels', LABELS, '--range', '0:2000', '--calib', IMAGES, '--calib-range', '5000:10000', '--calib-engine', 'simulator', '--norm', 'channel', '--layer-calib', '1000', '--burst', '3', '-T', '4', '--json']);
    expect(e.code).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.ann).toBe(98.4);
    expect(r.accuracy['4']).toBeGreaterThanOrEqual(98.2);
  }, 120_000);

  it('bad input: unsupported op, wrong calibration shape, truncated file, missing calibration; exit 2 and no output', () => {
    const tanh = join(dir, 'tanh.onnx');
    writeFileSync(tanh, unsupportedAnn());
    const out = join(dir, 'never.json');
    const a = snnc(['convert', tanh, '--calib', IMAGES, '-o', out]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/tanh\.onnx: node "Tanh_squash" has op type Tanh \(opset 13\), which snnc cannot convert/);
    const b = snnc(['convert', CNTK, '--calib', LABELS, '-o', out]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/calibration data: each sample has 1 values \(\[\]\) but the ANN takes \[1,28,28\]/);
    const cut = join(dir, 'cut.onnx');
    writeFileSync(cut, 'not a protobuf at all, just text');
    expect(snnc(['convert', cut, '--calib', IMAGES, '-o', out]).stderr).toMatch(/cut\.onnx: not an ONNX model/);
    expect(snnc(['convert', CNTK, '-o', out]).stderr).toMatch(/needs calibration data \(--calib FILE\)/);
    expect(snnc(['convert', CNTK, '--calib', IMAGES, '--norm', 'median', '-o', out]).code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
