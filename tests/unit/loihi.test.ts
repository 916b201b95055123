/**
 * The loihi target: lava-dl ground truths reproduced through NetX import → quantiser → partitioner →
 * descriptor → emulator (0 mismatches); exact equality with the float simulator for models on Loihi's
 * grid (property test); partitioner estimates equal to the materialised descriptor; named does-not-fit
 * errors. The MNIST CNN's accuracy and the command line are in tests/acceptance/loihi-mnist-cli.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/frontends/index.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import * as L from '../../compiler/ir/layers.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { readArray } from '../../compiler/io/datasets.js';
import { diffLoihi } from '../../targets/loihi/diff.js';
import { LoihiEmulator } from '../../targets/loihi/emulator.js';
import { compileLoihi, loihiTarget, planLoihi } from '../../targets/loihi/index.js';
import { snncErrorMessage } from '../helpers/errors.js';

const LAVA = '../shared/fixtures/lava';

describe('lava-dl ground truths (0 mismatches)', () => {
  it('oxford .net: layer 0 spikes and currents over 2000 steps, and layer 1 spikes', async () => {
    const model = await loadModel(`${LAVA}/oxford/network.net`, { netx: { timesteps: 2000 } });
    const c = compileLoihi(model);
    expect(c.network.quantisation.map((r) => [r.du, r.dv, r.vth])).toEqual([[4095, 415, 6], [4095, 409, 6]]);
    const raster = readArray(`${LAVA}/lif_dense_oxford_layer0/in.npy`); // [200, 2000], column k = step k+1
    const T = 2000;
    const x = new Float32Array(T * 200);
    for (let i = 0; i < 200; i++) for (let t = 0; t < T; t++) x[t * 200 + i] = raster.data[i * T + t];
    const r = new LoihiEmulator(c).run(x, 1, { steps: T, probes: 'all', states: ['layer0'] });
    const out = readArray(`${LAVA}/lif_dense_oxford_layer0/out.npy`);
    const current = readArray(`${LAVA}/lif_dense_oxford_layer0/current.npy`);
    const s0 = r.spikes.get('layer0')!;
    const u0 = r.states.get('layer0')!.u;
    let spikeMismatch = 0;
    let currentMismatch = 0;
    let spikes0 = 0;
    for (let o = 0; o < 256; o++) {
      for (let t = 0; t < T; t++) {
        spikes0 += s0[t * 256 + o];
        if (s0[t * 256 + o] !== out.data[o * T + t]) spikeMismatch++;
        if (u0[t * 256 + o] !== current.data[o * T + t] * 64) currentMismatch++;
      }
    }
    expect({ spikeMismatch, currentMismatch, spikes0 }).toEqual({ spikeMismatch: 0, currentMismatch: 0, spikes0: 1826 });
    const gt1 = readArray(`${LAVA}/oxford/DERIVED_lava_bitacc_output_layer1.npy`);
    const s1 = r.spikes.get('layer1')!;
    let mismatch1 = 0;
    let spikes1 = 0;
    for (let o = 0; o < 200; o++) {
      for (let t = 0; t < T; t++) {
        spikes1 += s1[t * 200 + o];
        if (s1[t * 200 + o] !== Number(gt1.data[o * T + t])) mismatch1++;
      }
    }
    expect({ mismatch1, spikes1 }).toEqual({ mismatch1: 0, spikes1: 9565 });
  });

  it('tinynet .net (conv, stride 2, netx staggered reset every 17 steps): output spikes of steps 3…17', async () => {
    const model = await loadModel(`${LAVA}/tinynet/tiny.net`);
    const c = compileLoihi(model, { resetInterval: 17 });
    const bias = readArray(`${LAVA}/tinynet/input_bias.npy`); // (W, H, C) bias mantissas of the input layer
    const [W, H, C] = bias.shape;
    const x = new Float32Array(C * H * W);
    for (let w = 0; w < W; w++) for (let h = 0; h < H; h++) for (let ch = 0; ch < C; ch++) x[(ch * H + h) * W + w] = bias.data[(w * H + h) * C + ch] / 64;
    const r = new LoihiEmulator(c).run(x, 1, { steps: 20, probes: ['layer2'] });
    const gt = readArray(`${LAVA}/tinynet/output.npy`); // slayer (1, 36, 1, 1, 16)
    const s = r.spikes.get('layer2')!;
    let mismatches = 0;
    let spikes = 0;
    for (let ch = 0; ch < 36; ch++) {
      for (let t = 3; t <= 17; t++) {
        spikes += s[(t - 1) * 36 + ch];
        if (s[(t - 1) * 36 + ch] !== Number(gt.data[ch * 16 + (t - 2)])) mismatches++;
      }
    }
    expect({ mismatches, spikes }).toEqual({ mismatches: 0, spikes: 92 });
  });
});

describe('MNIST CNN example on Loihi 2', () => {
  it('the partitioner’s per-core estimates equal the materialised descriptor', () => {
    const c = compileLoihi(readModelJson('examples/mnist-cnn/model.json'));
    c.partition.tiles.forEach((t, i) => {
      const b = c.descriptor.cores[i].budget;
      expect([b.compartments[0], b.inAxons[0], b.outAxons[0], b.synapseBits[0]]).toEqual([t.compartments, t.inAxons, t.outAxons, t.synapseBits]);
    });
  });
});

/**
 * A small model on Loihi's grid (θ = 1, IF with soft and hard reset; conv weights k/64, dense weights
 * 2k/64, since mixed-sign Dense weights lose their LSB on the chip): emulation must be exact.
 */
function gridModel(seed: { w1: number[]; w2: number[]; conv: number[]; v0: number }, withConv: boolean): SnnModel {
  const w = (vals: number[], n: number, step = 2) => Float32Array.from({ length: n }, (_, i) => (step * Math.trunc(vals[i % vals.length] / 2)) / 64);
  const layers: L.Layer[] = withConv
    ? [
        L.conv2d({ name: 'c', inputs: ['input'], weight: tensor([3, 2, 3, 3], w(seed.conv, 54, 1)), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
        L.maxpool2d({ name: 'p', inputs: ['c'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
        L.ifNeuron({ name: 'n1', inputs: ['p'], threshold: 1, reset: 'subtract', v0: seed.v0 / 64 }),
        L.flatten({ name: 'f', inputs: ['n1'] }),
        L.dense({ name: 'd', inputs: ['f'], weight: tensor([4, 18], w(seed.w2, 72)) }),
        L.ifNeuron({ name: 'n2', inputs: ['d'], threshold: 1, reset: 'zero', v0: 0 }),
      ]
    : [
        L.dense({ name: 'd1', inputs: ['input'], weight: tensor([6, 8], w(seed.w1, 48)) }),
        L.ifNeuron({ name: 'n1', inputs: ['d1'], threshold: 1, reset: 'subtract', v0: seed.v0 / 64 }),
        L.dense({ name: 'd2', inputs: ['n1'], weight: tensor([4, 6], w(seed.w2, 24)) }),
        L.ifNeuron({ name: 'n2', inputs: ['d2'], threshold: 1, reset: 'zero', v0: 0 }),
      ];
  return {
    name: 'grid',
    input: { shape: withConv ? [2, 4, 6] : [8], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers,
    output: { layer: 'n2', decoding: 'spike_count' },
    timesteps: 12,
    dt: 0.001,
    metadata: { fixedPoint: { format: 'loihi', weightScale: 64 } },
  };
}

describe('emulator = float simulator on the grid (property)', () => {
  for (const withConv of [false, true]) {
    it(`${withConv ? 'conv + max-pool join + dense' : 'dense'} IF networks with soft and hard reset: 0 spike mismatches`, () => {
      let spikes = 0;
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 48 }),
          fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 48 }),
          fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 54 }),
          fc.integer({ min: 0, max: 63 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }),
          (w1, w2, conv, v0, bits) => {
            const model = gridModel({ w1, w2, conv, v0 }, withConv);
            const per = withConv ? 48 : 8;
            const x = Float32Array.from({ length: 2 * 12 * per }, (_, i) => (bits[(i * 7) % bits.length] !== bits[i % bits.length] ? 1 : 0));
            const diff = diffLoihi(model, x, 2);
            for (const l of diff.layers) expect({ layer: l.layer, mismatches: l.mismatches }).toEqual({ layer: l.layer, mismatches: 0 });
            expect(diff.agreeing).toBe(2);
            spikes += diff.layers.reduce((s, l) => s + l.floatSpikes, 0);
          },
        ),
        { numRuns: 25, seed: 7 },
      );
      expect(spikes).toBeGreaterThan(100); // the property is not vacuous
    });
  }
});

describe('fit check and errors', () => {
  const wide = (nIn: number, extra: Partial<SnnModel> = {}): SnnModel => ({
    name: 'wide',
    input: { shape: [nIn], encoding: { type: 'rate', seed: 1 }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers: [
      L.dense({ name: 'fc', inputs: ['input'], weight: tensor([4, nIn], new Float32Array(4 * nIn).fill(0.01)) }),
      L.ifNeuron({ name: 'n', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0 }),
    ],
    output: { layer: 'n', decoding: 'spike_count' },
    timesteps: 8,
    dt: 0.001,
    metadata: {},
    ...extra,
  });

  it('a neuron with more input axons than a core has is split over relays; where it cannot be, it is named with the resource, limit and excess', () => {
    expect(loihiTarget.check(wide(4096), {}).fits).toBe(true);
    expect(loihiTarget.check(wide(5000), {}).fits).toBe(true); // fan-in split (fan-in.ts)
    const base = wide(5000);
    const recurrent = { ...base, layers: [base.layers[0], L.ifNeuron({ name: 'n', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0, recurrent: tensor([4, 4], new Float32Array(16).fill(0.01)) })] };
    const r = loihiTarget.check(recurrent, {});
    expect(r.fits).toBe(false);
    expect(r.messages[0]).toBe('layer "n": input axons 5004 > limit 4096 (over by 908) per neuron, and its recurrent weights cannot be split across relay compartments');
  });

  it('too many cores for the board, and soft reset on Loihi 1, are refused by name', () => {
    const model = readModelJson('examples/mnist-cnn/model.json');
    expect(snncErrorMessage(() => compileLoihi(model, { chip: 'loihi1' }))).toMatch(/layer "if1": reset "subtract" needs a Loihi 2 microcode neuron/);
    const big: SnnModel = {
      ...wide(1024),
      layers: [
        L.dense({ name: 'fc', inputs: ['input'], weight: tensor([600000, 4], new Float32Array(2400000).fill(0.5)) }),
        L.ifNeuron({ name: 'n', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0 }),
      ],
      input: { shape: [4], encoding: { type: 'rate', seed: 1 }, preprocess: { scale: 1, mean: [0], std: [1] } },
    };
    expect(snncErrorMessage(() => compileLoihi(big, {}))).toMatch(/^needs 147 cores > 128 on 1 loihi2 chip\(s\) \(over by 19; lower bound 147\); use --chips 2$/);
    expect(planLoihi(big, { chips: 2 }).partition.cores).toBe(147);
  });
});
