/**
 * Bad-input and edge-case findings of the reliability campaign that are not about reading files or
 * writing outputs: valid models that used to crash targets, artifact folders naming paths outside
 * themselves, machine and layer sizes beyond what a target can address, strict numeric options.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../compiler/ir/model.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { diffLoihi } from '../../targets/loihi/diff.js';
import { diffSpinnaker } from '../../targets/spinnaker/diff.js';
import { readLoihiFolder } from '../../targets/loihi/emulator.js';
import { readArtifactFolder } from '../../targets/common/artifact-folder.js';
import { TARGETS } from '../../targets/index.js';
import { loihiTarget } from '../../targets/loihi/index.js';
import { spinnakerTarget } from '../../targets/spinnaker/index.js';
import { machineByName } from '../../targets/spinnaker/machine.js';
import { snnc } from '../helpers/cli.js';
import { snncError } from '../helpers/errors.js';
import { rng } from '../helpers/models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

/** Event input [2, 3, 3] straight into IF neurons (no synaptic layer before them), then a dense readout layer. */
function neuronOnInput(): SnnModel {
  const r = rng(5);
  return {
    name: 'neuron-on-input',
    input: { shape: [2, 3, 3], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: [
      L.ifNeuron({ name: 'in_if', inputs: [INPUT], threshold: 1.5, reset: 'zero', v0: 0 }),
      L.flatten({ name: 'flat', inputs: ['in_if'] }),
      L.dense({ name: 'fc', inputs: ['flat'], weight: tensor([4, 18], Float32Array.from({ length: 72 }, () => Math.round((r() * 2 - 1) * 4) / 4)) }),
      L.ifNeuron({ name: 'out_if', inputs: ['fc'], threshold: 1.1, reset: 'zero', v0: 0 }),
    ],
    output: { layer: 'out_if', decoding: 'spike_count' },
    timesteps: 10,
    dt: 1e-3,
    metadata: {},
  };
}

describe('a neuron layer fed directly by the model input', () => {
  const model = neuronOnInput();
  const n = 3;
  const r = rng(9);
  const x = Float32Array.from({ length: n * 10 * 18 }, () => (r() < 0.4 ? 1 : 0));

  it('compiles for every target (it used to crash loihi, spinnaker, netx and pynn)', async () => {
    for (const t of TARGETS) {
      const result = await t.emit(model, join(dir, `direct-${t.name}`), {});
      expect(result.files.length, t.name).toBeGreaterThan(0);
    }
  });

  it('runs on the Loihi and SpiNNaker emulators with 0 spike mismatches against the float simulator', () => {
    for (const diff of [diffLoihi(model, x, n), diffSpinnaker(model, x, n)]) {
      for (const l of diff.layers) expect({ target: diff.target, layer: l.layer, mismatches: l.mismatches }).toEqual({ target: diff.target, layer: l.layer, mismatches: 0 });
      expect(diff.layers.find((l) => l.layer === 'in_if')!.floatSpikes).toBeGreaterThan(10);
      expect(diff.agreeing).toBe(n);
    }
  });
});

describe('artifact folders: every path they name stays inside the folder', () => {
  it('a loihi.json whose blob names a file outside the folder is refused', async () => {
    const out = join(dir, 'confined');
    await loihiTarget.emit(neuronOnInput(), out, {});
    const file = join(out, 'loihi.json');
    const d = JSON.parse(readFileSync(file, 'utf8'));
    // As edited by hand: the manifest's checksums removed, so only the descriptor's own checks stand.
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    writeFileSync(join(out, 'manifest.json'), JSON.stringify({ ...manifest, sha256: undefined }));
    for (const bad of ['../../etc/passwd', '/etc/passwd', '..', 'sub/loihi.bin']) {
      writeFileSync(file, JSON.stringify({ ...d, blob: { ...d.blob, file: bad } }));
      expect(snncError(() => readLoihiFolder(out)).message).toMatch(/loihi\.json:\d+:\d+: \/blob\/file: must be one of "loihi\.bin"/);
      // Below the descriptor's schema, the folder reader confines any name a target's parser lets through.
      const parse = (text: string) => JSON.parse(text) as { blob: { file: string; words: number } };
      expect(snncError(() => readArtifactFolder(out, 'loihi', parse, (x) => x.blob)).message).toBe(`${file}: blob.file must name a file in the folder itself; got ${JSON.stringify(bad)}`);
    }
  });
});

describe('artifact folders carry checksums', () => {
  it('a folder whose descriptor or words were changed after compiling is refused by name', async () => {
    const out = join(dir, 'checksummed');
    await loihiTarget.emit(neuronOnInput(), out, {});
    expect(() => readLoihiFolder(out)).not.toThrow();
    const bin = join(out, 'loihi.bin');
    const words = readFileSync(bin);
    words[5] ^= 1;
    writeFileSync(bin, words);
    expect(snncError(() => readLoihiFolder(out)).message).toBe(`${bin}: its content does not match the sha256 in manifest.json (edited or corrupted; compile again, or remove "sha256" from manifest.json to run an edited folder)`);
  });
});

describe('sizes beyond what a target can address are refused before allocating', () => {
  it('--machine NxM-boards past 8-bit chip coordinates', () => {
    expect(snncError(() => machineByName('1000x1000-boards')).message).toMatch(/^--machine 1000x1000-boards: a SpiNNaker chip address has 8-bit x and y, so at most 21x21-boards/);
    expect(machineByName('20x20-boards').chips).toHaveLength(240 * 240); // SpiNNaker-1M
  });

  /** Events [1, side, side] → 1×1 conv → IF: side² neurons, cheap to describe at any size. */
  const wideConv = (side: number, v0 = 0): SnnModel => ({
    name: 'wide',
    input: { shape: [1, side, side], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: [
      L.conv2d({ name: 'c', inputs: [INPUT], weight: tensor([1, 1, 1, 1], Float32Array.of(1)), stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 }),
      L.ifNeuron({ name: 'n', inputs: ['c'], threshold: 1, reset: 'zero', v0 }),
    ],
    output: { layer: 'n', decoding: 'spike_count' },
    timesteps: 4,
    dt: 1e-3,
    metadata: {},
  });

  it('spinnaker: more cores than the machine has is refused with the machine that holds it; a 9-million-neuron layer (it used to overflow the stack) maps', () => {
    const board = spinnakerTarget.check(wideConv(1000), {});
    expect(board.fits).toBe(false);
    expect(board.messages).toEqual(['network cannot be placed: the network needs 7814 cores, spinn5 has 767 application cores on 48 chips (over by 7047; --machine 2x2-boards holds it)']);
    const appCores = (name: string) => machineByName(name).chips.reduce((n, c) => n + c.appCores, 0);
    expect([appCores('1x2-boards'), appCores('2x2-boards')]).toEqual([4602, 9204]); // the smallest that holds 7814
    const big = spinnakerTarget.check(wideConv(3000), { machine: '20x20-boards' });
    expect(big.fits).toBe(true); // each core's synaptic block holds only the rows of the source cores that feed it
    expect(big.messages[0]).toBe('70314 cores on 4401 chip(s) of 20x20-boards; 9000000 neurons, 9000000 synapses; routing entries per chip at most 220 before, 31 after compression (limit 1023)');
  });

  it('loihi: a v(0) beyond the 24-bit membrane is refused, not written as a huge number or null', () => {
    const r = loihiTarget.check(wideConv(2, 1e38), {});
    expect(r.fits).toBe(false);
    expect(r.messages[0]).toMatch(/^layer "n": v\(0\) = 1e\+38 is .* in Loihi units, beyond the 24-bit membrane/);
  });
});

describe('numeric options are parsed strictly', () => {
  const model = join(dir, 'opts.json');
  writeFileSync(model, JSON.stringify({
    format: 'snnc-model', version: 1, name: 'opts', timesteps: 4, dt: 0.001,
    input: { shape: [2], encoding: { type: 'rate', seed: 1 }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers: [{ name: 'fc', type: 'dense', inputs: ['input'], weight: [[1, 1]] }, { name: 'n', type: 'if', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0 }],
    output: { layer: 'n', decoding: 'spike_count' }, metadata: {},
  }));
  const cases: [string[], RegExp][] = [
    [['compile', model, '--target', 'gpu', '-T', '1e9'], /option '-T, --timesteps <T>' argument '1e9' is invalid\. expected a whole number from 1 to 100000/],
    [['compile', model, '--target', 'gpu', '-T', '0x10'], /'0x10' is invalid/],
    [['compile', model, '--target', 'gpu', '-T', '1000000'], /'1000000' is invalid/],
    [['compile', model, '--target', 'gpu', '--batch', '1e9'], /'1e9' is invalid\. expected a whole number from 1 to 65536/],
    [['check', model, '--target', 'loihi', '--chips', '2.5'], /'2.5' is invalid/],
    [['import', '../shared/fixtures/nir/paper/01_lif/lif_norse.nir', '-o', join(dir, 'x.json'), '--dt', 'abc'], /option '--dt <seconds>' argument 'abc' is invalid\. expected a finite decimal number/],
    [['convert', model, '--calib', model, '--percentile', '150', '-o', join(dir, 'y.json')], /expected a percentage in \(0, 100\]/],
    [['convert', '../shared/fixtures/models/onnx_mnist_cnn_cntk/mnist.onnx', '--input-std', '0', '--calib', model, '-o', join(dir, 'z.json')], /^snnc: error: --input-std must not contain 0/m],
  ];
  for (const [args, message] of cases) {
    it(args.slice(0, 1).concat(args.slice(3)).join(' '), () => {
      const r = snnc(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe('layer sizes are bounded before anything is allocated', () => {
  it('a padding that makes a layer larger than 2^28 values per sample is refused by name', () => {
    const m = (pad: number): SnnModel => ({
      name: 'padded',
      input: { shape: [1, 4, 4], encoding: { type: 'rate', seed: 1 }, preprocess: IDENTITY_PREPROCESS },
      layers: [L.avgpool2d({ name: 'p', inputs: [INPUT], kernel: [1, 1], stride: [1, 1], padding: [pad, pad, pad, pad] }), L.ifNeuron({ name: 'n', inputs: ['p'], threshold: 1, reset: 'zero', v0: 0 })],
      output: { layer: 'n', decoding: 'spike_count' },
      timesteps: 2,
      dt: 1e-3,
      metadata: {},
    });
    expect(snncError(() => TARGETS[0].check(m(10_000), {})).message).toBe('layer "p" (avgpool2d): has 400160016 values per sample (shape [1, 20004, 20004]), more than the 268435456 snnc supports');
    expect(TARGETS[0].check(m(100), {}).fits).toBe(true);
  });
});
