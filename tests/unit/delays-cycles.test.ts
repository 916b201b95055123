/**
 * Explicit time: delay layers and cycles. A cycle through a delay and a delayed skip connection run
 * identically in the simulator and in ONNX; a cycle closed through a neuron equals the same network
 * written with the neuron's recurrent weight; a delay shifts spikes by exactly d steps; a zero-delay
 * cycle is refused with its layers named; model.json keeps all of it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { recurrenceAsWeights } from '../../compiler/passes/recurrence-as-weights.js';
import { loihiTarget } from '../../targets/loihi/index.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { SCHEDULES } from '../../targets/gpu/schedules.js';
import { compareWithOrt, inputFor } from '../helpers/compare.js';
import { cycleThroughDelay as cycleDelayModel, randomTensor, rng } from '../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'snnc-delays-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function model(name: string, layers: L.Layer[], output: string, inputs = 6): SnnModel {
  return { name, input: { shape: [inputs], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS }, layers, output: { layer: output, decoding: 'spike_count' }, timesteps: 12, dt: 1e-3, metadata: {} };
}

const lif = (name: string, input: string) => L.lifNeuron({ name, inputs: [input], threshold: 1, reset: 'subtract', v0: 0, beta: 0.9 });

/** The shared two-node cycle through a delay, with a soft-reset LIF, over this file's 12 steps. */
const cycleThroughDelay = () => cycleDelayModel('subtract', 12);

/** input → fc → n1 → fc2, plus input delayed 3 steps → skip, added before n2. */
function delayedSkip(): SnnModel {
  const r = rng(9);
  return model(
    'delayed_skip',
    [
      L.dense({ name: 'fc', inputs: [INPUT], weight: randomTensor(r, [6, 6], 0.9, 0.3) }),
      lif('n1', 'fc'),
      L.delay({ name: 'skip', inputs: ['n1'], steps: 3 }),
      L.dense({ name: 'fc2', inputs: ['n1'], weight: randomTensor(r, [6, 6], 0.8, 0.2) }),
      L.add({ name: 'sum', inputs: ['fc2', 'skip'], coefficients: [1, 0.5] }),
      lif('n2', 'sum'),
    ],
    'n2',
  );
}

describe('delays and cycles: simulator vs ONNX', () => {
  for (const [name, make, schedules] of [
    ['a two-node cycle through a delay', cycleThroughDelay, ['scan', 'step'] as const],
    ['a delayed skip connection', delayedSkip, SCHEDULES],
  ] as const) {
    for (const schedule of schedules) {
      it(`${name}, ${schedule} schedule: 0 spike mismatches`, async () => {
        const m = make();
        const x = inputFor(m, 7);
        const c = await compareWithOrt(m, x, 7, schedule, 3);
        expect(c.spikes).toBeGreaterThan(50);
        expect(c.mismatches).toBe(0);
        expect(c.maxRelDiff).toBeLessThan(1e-5);
      });
    }
  }

  it('the layerwise schedule refuses a cycle by name and says which schedules run it', async () => {
    await expect(compareWithOrt(cycleThroughDelay(), inputFor(cycleThroughDelay(), 2), 2, 'layerwise', 2)).rejects.toThrow(/layer "sum" reads "late" of an earlier step.*use --schedule scan or step/);
  });
});

describe('delays and cycles: semantics', () => {
  it('a delay of d steps shifts a layer\'s spikes by exactly d steps (zeros first)', () => {
    const r = rng(3);
    const w = randomTensor(r, [5, 6], 0.9, 0.3);
    const plain = model('plain', [L.dense({ name: 'fc', inputs: [INPUT], weight: w }), lif('n', 'fc')], 'n');
    const delayed = model('delayed', [L.dense({ name: 'fc', inputs: [INPUT], weight: w }), L.delay({ name: 'd', inputs: ['fc'], steps: 4 }), lif('n', 'd')], 'n');
    const x = inputFor(plain, 3);
    const a = simulate(plain, x, 3, { probes: ['n'] }).spikes.get('n')!;
    const b = simulate(delayed, x, 3, { probes: ['n'] }).spikes.get('n')!;
    const perStep = 3 * 5;
    expect(a.reduce((s, v) => s + v, 0)).toBeGreaterThan(10);
    expect(Array.from(b.subarray(0, 4 * perStep)).every((v) => v === 0)).toBe(true);
    expect(Array.from(b.subarray(4 * perStep))).toEqual(Array.from(a.subarray(0, (12 - 4) * perStep)));
  });

  it('a cycle closed through a neuron (an edge read at the previous step) equals the recurrent weight', () => {
    const r = rng(7);
    const w = randomTensor(r, [8, 6], 0.9, 0.3);
    const wRec = randomTensor(r, [8, 8], 0.5);
    const field = model('field', [L.dense({ name: 'fc', inputs: [INPUT], weight: w }), L.lifNeuron({ name: 'n', inputs: ['fc'], threshold: 1, reset: 'subtract', v0: 0, beta: 0.9, recurrent: wRec })], 'n');
    const edge = model(
      'edge',
      [L.dense({ name: 'fc', inputs: [INPUT], weight: w }), L.dense({ name: 'rec', inputs: ['n'], weight: wRec }), L.add({ name: 'sum', inputs: ['fc', 'rec'] }), lif('n', 'sum')],
      'n',
    );
    const x = inputFor(field, 5);
    const a = simulate(field, x, 5, { probes: ['n'] }).spikes.get('n')!;
    expect(a.reduce((s, v) => s + v, 0)).toBeGreaterThan(20);
    expect(Array.from(simulate(edge, x, 5, { probes: ['n'] }).spikes.get('n')!)).toEqual(Array.from(a));
  });

  it('recurrenceAsWeights turns the edge form back into the recurrent weight (golden), which the chip targets map', () => {
    const r = rng(7);
    const w = randomTensor(r, [8, 6], 0.9, 0.3);
    const wRec = randomTensor(r, [8, 8], 0.5);
    const edge = model('edge', [L.dense({ name: 'fc', inputs: [INPUT], weight: w }), L.dense({ name: 'rec', inputs: ['n'], weight: wRec }), L.add({ name: 'sum', inputs: ['fc', 'rec'], coefficients: [1, 0.5] }), lif('n', 'sum')], 'n');
    const folded = recurrenceAsWeights.run(edge);
    const halfRec = { shape: wRec.shape, data: wRec.data.map((v) => 0.5 * v) };
    expect(folded.layers).toEqual([L.dense({ name: 'fc', inputs: [INPUT], weight: w }), L.lifNeuron({ name: 'n', inputs: ['fc'], threshold: 1, reset: 'subtract', v0: 0, beta: 0.9, recurrent: halfRec })]);
    const x = inputFor(edge, 3);
    expect(simulate(folded, x, 3, { probes: ['n'] }).spikes.get('n')).toEqual(simulate(edge, x, 3, { probes: ['n'] }).spikes.get('n'));
    // With a bias the dense layer is not a recurrent weight: the chips refuse the cycle by name.
    const biased = { ...edge, layers: edge.layers.map((l) => (l.name === 'rec' ? L.dense({ ...(l as L.Dense), bias: randomTensor(r, [8], 0.1) }) : l)) };
    const refused = loihiTarget.check(biased, {});
    expect(refused.fits).toBe(false);
    expect(refused.messages.join('\n')).toMatch(/layer "rec" reads "n" at the previous step \(a cycle\): Loihi maps recurrence only as a neuron's recurrent weight/);
    expect(loihiTarget.check(edge, {}).fits).toBe(true);
  });

  it('a zero-delay cycle is refused, naming its layers', () => {
    const r = rng(1);
    const bad = model(
      'loop',
      [
        L.dense({ name: 'a', inputs: [INPUT], weight: randomTensor(r, [6, 6], 1) }),
        L.add({ name: 'b', inputs: ['a', 'c'] }),
        L.relu({ name: 'c', inputs: ['b'] }),
        lif('n', 'c'),
      ],
      'n',
    );
    expect(() => verifyModel(bad)).toThrow(/layers "b", "c" form a cycle with no delay and no neuron/);
  });
});

describe('delays and cycles in model.json', () => {
  it('write → read keeps delays and cycles (version 2) and runs the same spikes', () => {
    const m = cycleThroughDelay();
    const file = join(dir, 'cycle.json');
    writeModelJson(m, file);
    const back = readModelJson(file);
    expect(back.layers.map(L.layerKind)).toEqual(['dense', 'add', 'lif', 'dense', 'delay', 'dense', 'if']);
    const x = inputFor(m, 4);
    expect(Array.from(simulate(back, x, 4, { probes: 'all' }).spikes.get('n2')!)).toEqual(Array.from(simulate(m, x, 4, { probes: 'all' }).spikes.get('n2')!));
  });

  it('layers listed out of order are put in an evaluation order; a zero-delay cycle is named', () => {
    const doc = (layers: object[]) => ({ format: 'snnc-model', version: 2, input: { shape: [2] }, layers, output: { layer: 'n' } });
    const shuffled = join(dir, 'shuffled.json');
    writeFileSync(
      shuffled,
      JSON.stringify(
        doc([
          { name: 'n', type: 'if', inputs: ['sum'] },
          { name: 'sum', type: 'add', inputs: ['fc', 'rec'] },
          { name: 'rec', type: 'dense', inputs: ['n'], weight: [[0.5, 0], [0, 0.5]] },
          { name: 'fc', type: 'dense', inputs: ['input'], weight: [[1, 0], [0, 1]] },
        ]),
      ),
    );
    expect(readModelJson(shuffled).layers.map((l) => l.name)).toEqual(['rec', 'fc', 'sum', 'n']); // stable: ties keep the listing order
    const loop = join(dir, 'loop.json');
    writeFileSync(
      loop,
      JSON.stringify(
        doc([
          { name: 'a', type: 'add', inputs: ['input', 'b'] },
          { name: 'b', type: 'relu', inputs: ['a'] },
          { name: 'n', type: 'if', inputs: ['b'] },
        ]),
      ),
    );
    expect(() => readModelJson(loop)).toThrow(/loop\.json: layers "a", "b" form a cycle with no delay and no neuron/);
  });
});
