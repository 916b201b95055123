/**
 * Layers IR v2 added for NIR's primitives: dilated conv2d (checked against a direct gather-form
 * convolution written here) and reshape (e.g. Conv1d as a 1×L conv2d between reshapes); both run
 * identically in ONNX and keep their fields through model.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { loihiTarget } from '../../targets/loihi/index.js';
import { spinnakerTarget } from '../../targets/spinnaker/index.js';
import { SCHEDULES } from '../../targets/gpu/schedules.js';
import { compareWithOrt, inputFor } from '../helpers/compare.js';
import { randomTensor, rng } from '../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'snnc-irv2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dilatedConvModel(): SnnModel {
  const r = rng(21);
  const conv = L.conv2d({ name: 'conv', inputs: [INPUT], weight: randomTensor(r, [3, 2, 3, 2], 0.8, 0.2), bias: randomTensor(r, [3], 0.1), stride: [1, 2], padding: [2, 1, 1, 0], groups: 1, dilation: [2, 3] });
  return {
    name: 'dilated',
    input: { shape: [2, 9, 10], encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS },
    layers: [conv, L.ifNeuron({ name: 'n', inputs: ['conv'], threshold: 1, reset: 'subtract', v0: 0 })],
    output: { layer: 'n', decoding: 'spike_count' },
    timesteps: 6,
    dt: 1e-3,
    metadata: {},
  };
}

/** Conv1d over [C, L] as NIR has it: reshape to [C, 1, L], a 1×k conv2d, reshape back to [O, L']. */
function conv1dModel(): SnnModel {
  const r = rng(22);
  return {
    name: 'conv1d',
    input: { shape: [3, 16], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: [
      L.reshape({ name: 'as2d', inputs: [INPUT], shape: [3, 1, 16] }),
      L.conv2d({ name: 'conv', inputs: ['as2d'], weight: randomTensor(r, [4, 3, 1, 3], 0.9, 0.3), stride: [1, 1], padding: [0, 1, 0, 1], groups: 1, dilation: [1, 2] }),
      L.reshape({ name: 'as1d', inputs: ['conv'], shape: [4, 14] }),
      L.lifNeuron({ name: 'n', inputs: ['as1d'], threshold: 1, reset: 'zero', v0: 0, beta: 0.9 }),
    ],
    output: { layer: 'n', decoding: 'spike_count' },
    timesteps: 8,
    dt: 1e-3,
    metadata: {},
  };
}

describe('dilated conv2d and reshape', () => {
  it('a dilated conv2d equals the gather-form definition y[o,i,j] = b[o] + Σ W[o,c,u,v]·xpad[c, i·sh + u·dh, j·sw + v·dw]', () => {
    const m = dilatedConvModel();
    const conv = m.layers[0] as L.Conv2d;
    const x = inputFor(m, 2);
    const recorded = simulate(m, x, 2, { record: ['conv'] }).values.get('conv')!; // [T, B, N]
    const [O, C, KH, KW] = conv.weight.shape;
    const [, H, W] = m.input.shape;
    const [OH, OW] = [Math.floor((H + 3 - 5) / 1) + 1, Math.floor((W + 1 - 4) / 2) + 1];
    expect(recorded.length).toBe(m.timesteps * 2 * O * OH * OW);
    const got = recorded.subarray(0, 2 * O * OH * OW);
    for (let b = 0; b < 2; b++) {
      for (let o = 0; o < O; o++) {
        for (let i = 0; i < OH; i++) {
          for (let j = 0; j < OW; j++) {
            let acc = conv.bias!.data[o];
            for (let c = 0; c < C; c++) {
              for (let u = 0; u < KH; u++) {
                for (let v = 0; v < KW; v++) {
                  const [y, xx] = [i + u * 2 - 2, j * 2 + v * 3 - 1];
                  if (y >= 0 && y < H && xx >= 0 && xx < W) acc += conv.weight.data[((o * C + c) * KH + u) * KW + v] * x[((b * C + c) * H + y) * W + xx];
                }
              }
            }
            expect(got[((b * O + o) * OH + i) * OW + j]).toBeCloseTo(acc, 5);
          }
        }
      }
    }
  });

  it('the chip targets refuse a dilated convolution of spikes by name rather than run it undilated', () => {
    const m = dilatedConvModel();
    const onSpikes: SnnModel = { ...m, input: { ...m.input, encoding: { type: 'events' } } }; // (on direct input the host runs it)
    for (const target of [loihiTarget, spinnakerTarget]) {
      const report = target.check(onSpikes, {});
      expect(report.fits).toBe(false);
      expect(report.messages.join('\n')).toMatch(/layer "conv": a dilated convolution \(dilation \[2, 3\]\) has no (Loihi|SpiNNaker) equivalent/);
    }
  });

  for (const [name, make] of [['dilated conv2d', dilatedConvModel], ['conv1d through reshape', conv1dModel]] as const) {
    for (const schedule of SCHEDULES) {
      it(`${name}, ${schedule} schedule: ONNX fires the simulator's spikes`, async () => {
        const m = make();
        const c = await compareWithOrt(m, inputFor(m, 5), 5, schedule, 2);
        expect(c.spikes).toBeGreaterThan(30);
        expect(c.mismatches).toBe(0);
      });
    }
    it(`${name}: model.json keeps it (version 2)`, () => {
      const m = make();
      const file = join(dir, `${m.name}.json`);
      writeModelJson(m, file);
      const back = readModelJson(file);
      expect(back.layers).toEqual(m.layers);
      const x = inputFor(m, 3);
      expect(simulate(back, x, 3).output).toEqual(simulate(m, x, 3).output);
    });
  }
});
