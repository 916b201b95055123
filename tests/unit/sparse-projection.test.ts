/**
 * Sparse projections by rule (layers.ts `Sparse`, connectivity.ts): the rule's draws (distinct, ascending,
 * in the column window, weights in range, each target independent of the others), the simulator against
 * onnxruntime on a network with a sparse recurrent population (0 spike mismatches, every schedule),
 * model.json round trips, and refusals naming the layer.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sparseRule } from '../../compiler/ir/connectivity.js';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { modelHash } from '../../compiler/ir/hash.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { SCHEDULES } from '../../targets/gpu/schedules.js';
import { compareWithOrt, inputFor } from '../helpers/compare.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

/** events [60] → sparse 48 (+ a sparse recurrence onto itself, unless feedforward) → IF 48 → sparse readout 6. */
function sparseNetwork(columns?: { count: number; radius: number }, recurrent = true): SnnModel {
  const col = columns ? { columns } : {};
  const ff = L.sparse({ name: 'ff', inputs: [INPUT], size: 48, fanIn: 12, seed: 1, weight: { low: -0.2, high: 0.6 }, ...col });
  const input = recurrent ? [ff, L.sparse({ name: 'rec', inputs: ['pop'], size: 48, fanIn: 6, seed: 2, weight: { low: -0.5, high: 0.3 }, ...col }), L.add({ name: 'current', inputs: ['ff', 'rec'] })] : [ff];
  return {
    name: 'sparse_network',
    input: { shape: [60], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: [
      ...input,
      L.neuron('if', { name: 'pop', inputs: [input.at(-1)!.name], params: { threshold: 1, v0: 0 } }),
      L.sparse({ name: 'readout', inputs: ['pop'], size: 6, fanIn: 20, seed: 3, weight: { low: -1, high: 1 } }),
    ],
    output: { layer: 'readout', decoding: 'accumulate' },
    timesteps: 12,
    dt: 1e-3,
    metadata: {},
  };
}

describe('sparse projection rule', () => {
  const layer = L.sparse({ name: 'p', inputs: [INPUT], size: 40, fanIn: 7, seed: 9, weight: { low: -0.5, high: 1.5 }, columns: { count: 8, radius: 1 } });
  const rule = sparseRule(layer, 80); // 8 columns of 10 inputs, 5 targets each; a target draws from 3 columns
  const draw = (j: number) => {
    const sources = new Int32Array(7);
    const weights = new Float32Array(7);
    rule.fill(j, sources, weights);
    return { sources: [...sources], weights: [...weights] };
  };

  it('draws fanIn distinct ascending sources from the target column and its neighbours, weights in [low, high]', () => {
    expect(rule.candidates).toBe(30);
    for (let j = 0; j < 40; j++) {
      const { sources, weights } = draw(j);
      expect(new Set(sources).size).toBe(7);
      expect(sources).toEqual([...sources].sort((a, b) => a - b));
      const column = Math.floor(j / 5);
      for (const s of sources) expect([column - 1, column, column + 1].map((c) => (c + 8) % 8)).toContain(Math.floor(s / 10));
      for (const w of weights) expect(w >= -0.5 && w <= 1.5 && w === Math.fround(w)).toBe(true);
    }
  });

  it('is a function of (seed, target) alone: the same draw in any order, a different one for another seed', () => {
    const forward = Array.from({ length: 40 }, (_, j) => draw(j));
    const backward = Array.from({ length: 40 }, (_, k) => draw(39 - k)).reverse();
    expect(backward).toEqual(forward);
    const other = sparseRule({ ...layer, seed: 10 }, 80);
    const s = new Int32Array(7);
    other.fill(0, s, new Float32Array(7));
    expect([...s]).not.toEqual(forward[0].sources);
  });

  it('refuses, naming the layer, a fan-in larger than the window and inputs that do not split into columns', () => {
    expect(snncErrorMessage(() => sparseRule({ ...layer, fanIn: 31 }, 80))).toBe('layer "p": fan_in 31 is more than the 30 sources a target can draw from');
    expect(snncErrorMessage(() => sparseRule(layer, 84))).toBe('layer "p": its input of 84 values is not divisible into 8 columns');
    expect(snncErrorMessage(() => L.sparse({ ...layer, size: 41 }))).toBe('layer "p": size 41 is not divisible into 8 columns');
    expect(snncErrorMessage(() => L.sparse({ ...layer, seed: -1 }))).toMatch(/^layer "p": seed must be an integer/);
  });
});

describe('sparse projections in the simulator and on onnxruntime', () => {
  for (const columns of [undefined, { count: 4, radius: 1 }]) {
    for (const schedule of SCHEDULES) {
      // The layerwise schedule runs each layer over all steps in turn, so it takes no cycle.
      const recurrent = schedule !== 'layerwise';
      it(`a sparse ${recurrent ? 'recurrent' : 'feedforward'} population${columns ? ' in columns' : ''}: 0 spike mismatches (${schedule})`, async () => {
        const model = sparseNetwork(columns, recurrent);
        const x = inputFor(model, 5);
        const c = await compareWithOrt(model, x, 5, schedule, 5);
        expect(c.spikes).toBeGreaterThan(100);
        expect(c.mismatches).toBe(0);
        expect(c.maxRelDiff).toBeLessThan(1e-5);
      });
    }
  }

  it('model.json round trip: the same model and hash, version 2', () => {
    const model = sparseNetwork({ count: 4, radius: 1 });
    const path = join(dir, 'sparse', 'model.json');
    writeModelJson(model, path);
    const back = readModelJson(path);
    expect(modelHash(back)).toBe(modelHash(model));
    expect(back.layers[0]).toEqual(model.layers[0]);
    verifyModel(back);
  });
});
