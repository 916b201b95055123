/**
 * NIR time and shape primitives (issue #16): Delay, cycles that are not a neuron ⇄ Affine self-loop,
 * Conv1d (dilation, "same" padding), Conv2d with dilation, Flatten over any dimensions.
 *   - reading gives the expected IR (layers, steps, which edge of a cycle reads the previous step);
 *   - the simulator runs what NIR says: an independent float64 implementation of the equations, written
 *     here (a two-neuron cycle with per-neuron gains, a 1-D and a dilated 2-D convolution);
 *   - read → write → read keeps every parameter and fires the same spikes, and IR → NIR → IR keeps the
 *     IR's own delays and cycles;
 *   - what cannot be read is refused by name: a zero-delay cycle, delays that differ between neurons;
 *     the writer refuses a reshape that is no Flatten, and warns where a cycle's listing cannot be kept;
 *   - the shared fixtures with a Delay and a Conv1d (in a nested recurrent graph) now import.
 * NIR files are written by the nir target: from IR models (nirTarget.emit), or, where the point is a NIR
 * form snnc would not write (seconds that are not whole steps, a hand-wired cycle), from nodes through its
 * HDF5 writer (writeNirFile).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { readNir } from '../../compiler/frontends/nir/read.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../compiler/ir/model.js';
import { paramValues } from '../../compiler/ir/params.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { nirTarget, toNirGraph, writeNirFile } from '../../targets/nir/index.js';
import type { NirNodeOut, NirParamOut } from '../../targets/nir/neurons.js';
import { inputFor } from '../helpers/compare.js';
import { cycleThroughDelay as cycleDelayModel, randomTensor, rng } from '../helpers/models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const FIXTURES = '../shared/fixtures/nir/synthetic';

const f64 = (data: ArrayLike<number>, shape: number[]): NirParamOut => ({ kind: 'float', data: Float64Array.from(data), shape });
const f32 = (data: ArrayLike<number>, shape: number[]): NirParamOut => ({ kind: 'float', data: Float32Array.from(data), shape });
const ints = (data: number[], shape = [data.length]): NirParamOut => ({ kind: 'int', data, shape });
const str = (value: string): NirParamOut => ({ kind: 'string', value });
const fill = (n: number, v: number) => new Array<number>(n).fill(v);
const chain = (...names: string[]): [string, string][] => names.slice(1).map((n, k) => [names[k], n]);
const io = (inShape: number[], outShape: number[]): NirNodeOut[] => [
  { name: 'input', type: 'Input', params: { shape: ints(inShape) } },
  { name: 'output', type: 'Output', params: { shape: ints(outShape) } },
];
const lifNode = (name: string, n: number, tau: number, R: number, theta = 1): NirNodeOut => ({
  name,
  type: 'LIF',
  params: { tau: f64(fill(n, tau), [n]), r: f64(fill(n, R), [n]), v_leak: f64(fill(n, 0), [n]), v_threshold: f64(fill(n, theta), [n]), v_reset: f64(fill(n, 0), [n]) },
});
const ifNode = (name: string, shape: number[], dt: number): NirNodeOut => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, type: 'IF', params: { r: f64(fill(n, 1 / dt), shape), v_threshold: f64(fill(n, 1), shape), v_reset: f64(fill(n, 0), shape) } };
};

async function nirFile(name: string, nodes: NirNodeOut[], edges: [string, string][]): Promise<string> {
  const path = join(dir, `${name}.nir`);
  await writeNirFile(path, { nodes, edges, warnings: [] });
  return path;
}

async function rejection(p: Promise<unknown>): Promise<SnncError> {
  const e = await p.then(
    () => new Error('expected a rejection'),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SnncError);
  return e as SnncError;
}

function irModel(name: string, inputShape: number[], layers: L.Layer[], output: string, decoding: SnnModel['output']['decoding'] = 'spike_count'): SnnModel {
  return { name, input: { shape: inputShape, encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS }, layers, output: { layer: output, decoding }, timesteps: 24, dt: 1e-3, metadata: {} };
}

const kind = (l: L.Layer) => `${l.name}:${L.layerKind(l)}`;
const layer = <T extends L.Layer>(m: SnnModel, name: string) => m.layers.find((l) => l.name === name) as T;

/** Same layers (by name: a cycle may be listed in another valid order), the same fields bit for bit, every neuron parameter per neuron. */
function expectSameModel(back: SnnModel, model: SnnModel): void {
  expect(back.layers.map(kind).sort()).toEqual(model.layers.map(kind).sort());
  const shapes = verifyModel(model);
  for (const a of model.layers) {
    const b = layer(back, a.name);
    expect([...b.inputs].sort(), `${a.name}.inputs`).toEqual([...a.inputs].sort());
    for (const key of ['weight', 'bias', 'recurrent', 'scale', 'shift'] as const) {
      const [x, y] = [a, b].map((l) => (l as unknown as Record<string, { data: Float32Array } | undefined>)[key]);
      expect(y && [...y.data], `${a.name}.${key}`).toEqual(x && [...x.data]);
    }
    for (const key of ['steps', 'shape', 'stride', 'padding', 'groups', 'dilation'] as const) {
      const [x, y] = [a, b].map((l) => (l as unknown as Record<string, unknown>)[key]);
      expect(y, `${a.name}.${key}`).toEqual(key === 'dilation' && x === undefined ? y && [1, 1] : x);
    }
    if (!L.isNeuron(a) || !L.isNeuron(b)) continue;
    for (const key of Object.keys(a.params)) expect([...paramValues(b.params[key], shapes.get(a.name)!)], `${a.name}.${key}`).toEqual([...paramValues(a.params[key], shapes.get(a.name)!)]);
    expect(b.reset, `${a.name}.reset`).toBe(a.reset);
  }
  expect(back.output).toEqual(model.output);
}

/** Every layer's spikes and recorded values are identical; returns the number of spikes. */
function expectSameRun(a: SnnModel, b: SnnModel, n = 3, seed = 5): number {
  const x = inputFor(a, n, seed);
  const record = a.layers.map((l) => l.name);
  const [ra, rb] = [a, b].map((m) => simulate(m, x, n, { probes: 'all', record }));
  let spikes = 0;
  for (const [name, s] of ra.spikes) {
    expect([...rb.spikes.get(name)!], name).toEqual([...s]);
    spikes += s.reduce((u, v) => u + v, 0);
  }
  for (const [name, v] of ra.values) expect([...rb.values.get(name)!], name).toEqual([...v]);
  expect([...rb.output]).toEqual([...ra.output]);
  return spikes;
}

async function writeRead(model: SnnModel, name: string): Promise<{ model: SnnModel; warnings: readonly string[] }> {
  const out = join(dir, name);
  const { warnings } = await nirTarget.emit(model, out, {});
  return { model: (await readNir(join(out, 'model.nir'), { dt: model.dt, timesteps: model.timesteps })).model, warnings: warnings ?? [] };
}

/** Which inputs each layer reads at the previous step (a neuron listed at or after it). */
function previousStepReads(m: SnnModel): string[] {
  const at = new Map(m.layers.map((l, i) => [l.name, i]));
  return m.layers.flatMap((l, i) => l.inputs.filter((s) => at.has(s) && at.get(s)! >= i && m.layers[at.get(s)!].op === 'neuron').map((s) => `${s}→${l.name}`));
}

const lif = (name: string, input: string, beta = 0.9) => L.lifNeuron({ name, inputs: [input], threshold: 1, reset: 'zero', v0: 0, beta });

/** The shared two-node cycle through a delay, with a hard-reset LIF, over this file's 24 steps. */
const cycleThroughDelay = () => cycleDelayModel('zero', 24);

/** input → fc → n1 → a → n2 → b → back into n1 (summed with fc): a cycle through two neurons, no self-loop. */
function twoNeuronCycle(): SnnModel {
  const r = rng(8);
  return irModel('two_neurons', [6], [
    L.dense({ name: 'fc', inputs: [INPUT], weight: randomTensor(r, [8, 6], 0.9, 0.3) }),
    L.dense({ name: 'b', inputs: ['n2'], weight: randomTensor(r, [8, 5], 0.8) }),
    L.add({ name: 'sum', inputs: ['fc', 'b'] }),
    lif('n1', 'sum'),
    L.dense({ name: 'a', inputs: ['n1'], weight: randomTensor(r, [5, 8], 1, 0.3) }),
    lif('n2', 'a', 0.8),
  ], 'n2');
}

describe('NIR Delay', () => {
  const delayGraph = (delay: number[], shape = [4]): { nodes: NirNodeOut[]; edges: [string, string][] } => ({
    nodes: [
      ...io([3], [4]),
      { name: 'w', type: 'Linear', params: { weight: f32([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], [4, 3]) } },
      { name: 'd', type: 'Delay', params: { delay: f64(delay, shape) } },
      ifNode('n', [4], 1e-3),
    ],
    edges: chain('input', 'w', 'd', 'n', 'output'),
  });

  it('a delay of τ seconds per neuron is an IR delay of τ/dt steps; the spikes are the undelayed ones, d steps later', async () => {
    const g = delayGraph(fill(4, 3e-3));
    const { model, diagnostics } = await readNir(await nirFile('delay', g.nodes, g.edges), { dt: 1e-3, timesteps: 20 });
    expect(model.layers.map(kind)).toEqual(['w:dense', 'd:delay', 'n:if']);
    expect(layer<L.Delay>(model, 'd').steps).toBe(3);
    expect(diagnostics).toEqual([]);
    const plain = (await readNir(await nirFile('no-delay', g.nodes.filter((n) => n.name !== 'd'), chain('input', 'w', 'n', 'output')), { dt: 1e-3, timesteps: 20 })).model;
    const x = inputFor(model, 2, 3);
    const [a, b] = [plain, model].map((m) => simulate(m, x, 2, { probes: ['n'] }).spikes.get('n')!);
    const perStep = 2 * 4;
    expect(a.reduce((s, v) => s + v, 0)).toBeGreaterThan(20);
    expect([...b.subarray(0, 3 * perStep)].every((v) => v === 0)).toBe(true);
    expect([...b.subarray(3 * perStep)]).toEqual([...a.subarray(0, 17 * perStep)]);
  });

  it('a delay that is not a whole number of steps is rounded, with one diagnostic naming the node; 0 steps is a pass-through', async () => {
    const off = delayGraph([3.4e-3, 3.4e-3, 2.6e-3, 3e-3]);
    const a = await readNir(await nirFile('delay-off', off.nodes, off.edges), { dt: 1e-3 });
    expect(layer<L.Delay>(a.model, 'd').steps).toBe(3);
    expect(a.diagnostics).toEqual([{ node: 'd', message: 'delay 0.0034 s is 3.4 steps at dt = 0.001 s, not a whole number: rounded to 3 steps' }]);
    const zero = delayGraph([0], []);
    const b = await readNir(await nirFile('delay-zero', zero.nodes, zero.edges), { dt: 1e-3 });
    expect(b.model.layers.map(kind)).toEqual(['w:dense', 'n:if']);
    expect(b.diagnostics.map((d) => `${d.node}: ${d.message}`)).toEqual(['d: delay 0 s: the node is a pass-through', 'd: "delay" is a 0-d scalar; broadcast to the layer']);
    const small = delayGraph(fill(4, 2e-4));
    const c = await readNir(await nirFile('delay-small', small.nodes, small.edges), { dt: 1e-3 });
    expect(c.model.layers.map(kind)).toEqual(['w:dense', 'n:if']);
    expect(c.diagnostics).toEqual([{ node: 'd', message: 'delay 0.0002 s is 0.2 steps at dt = 0.001 s, not a whole number: rounded to 0 steps, so the node is a pass-through' }]);
  });

  it('delays that differ between neurons are refused, naming the node and the number of distinct delays (exit 2)', async () => {
    const g = delayGraph([1e-3, 2e-3, 2e-3, 5e-3]);
    const e = await rejection(readNir(await nirFile('delay-mixed', g.nodes, g.edges), { dt: 1e-3 }));
    expect(e.message).toMatch(/delay-mixed\.nir: node "d" \(Delay\): its neurons have 3 different delays \(1, 2, 5 steps at dt = 0\.001 s\); snnc's IR has one delay per layer/);
    expect(e.exitCode).toBe(ExitCode.badInput);
    const wrong = delayGraph(fill(3, 1e-3), [3]);
    expect((await rejection(readNir(await nirFile('delay-shape', wrong.nodes, wrong.edges), { dt: 1e-3 }))).message).toMatch(/node "d" \(Delay\): parameter "delay" has shape \[3\], which does not fit the node's input of shape \[4\]/);
  });

  it('IR → NIR: a delay of d steps is a Delay of d·dt seconds for every neuron; read back, the same steps and spikes', async () => {
    const r = rng(4);
    const m = irModel('skip', [6], [
      L.dense({ name: 'fc', inputs: [INPUT], weight: randomTensor(r, [6, 6], 0.9, 0.3) }),
      lif('n1', 'fc'),
      L.delay({ name: 'skip', inputs: ['n1'], steps: 3 }),
      L.dense({ name: 'fc2', inputs: ['n1'], weight: randomTensor(r, [6, 6], 0.8, 0.2) }),
      L.add({ name: 'sum', inputs: ['fc2', 'skip'] }),
      lif('n2', 'sum'),
    ], 'n2');
    const g = toNirGraph(m);
    const d = g.nodes.find((n) => n.name === 'skip')!;
    expect(d.type).toBe('Delay');
    expect(d.params.delay).toEqual({ kind: 'float', data: Float64Array.from(fill(6, 3e-3)), shape: [6] });
    const back = await writeRead(m, 'skip-out');
    expect(back.warnings).toEqual([]);
    expectSameModel(back.model, m);
    expect(expectSameRun(m, back.model)).toBeGreaterThan(50);
  });
});

describe('NIR cycles beyond the neuron ⇄ Affine self-loop', () => {
  it('a two-node cycle through a Delay: written as edges and a Delay node, read back with the delay closing the cycle, identical spikes', async () => {
    const m = cycleThroughDelay();
    const g = toNirGraph(m);
    expect(g.edges).toEqual(expect.arrayContaining([['late', 'sum'], ['fb', 'late'], ['n1', 'fb'], ['sum', 'n1']]));
    const { model, warnings } = await writeRead(m, 'cycle-delay-out');
    expect(warnings).toEqual([]);
    expect(model.layers.map(kind)).toEqual(['fc:dense', 'sum:add', 'n1:lif', 'out:dense', 'n2:if', 'fb:dense', 'late:delay']); // "sum" reads the delay before it is built
    expect(previousStepReads(model)).toEqual([]);
    expectSameModel(model, m);
    expect(expectSameRun(m, model)).toBeGreaterThan(50);
    const again = await writeRead(model, 'cycle-delay-again');
    expect(again.model.layers.map(kind)).toEqual(model.layers.map(kind));
  });

  it('a cycle through two neurons: the feedback edge reads the previous step, the feed-forward path the same step; round trip identical', async () => {
    const m = twoNeuronCycle();
    expect(previousStepReads(m)).toEqual(['n2→b']);
    const { model, warnings } = await writeRead(m, 'two-neurons-out');
    expect(warnings).toEqual([]);
    expect(model.layers.map(kind)).toEqual(m.layers.map(kind));
    expect(previousStepReads(model)).toEqual(['n2→b']);
    expectSameModel(model, m);
    expect(expectSameRun(m, model)).toBeGreaterThan(50);
  });

  it('a cycle closed through a dense and an add (not a self-loop) reads like the neuron\'s recurrent weight', async () => {
    const r = rng(7);
    const [w, wRec] = [randomTensor(r, [8, 6], 0.9, 0.3), randomTensor(r, [8, 8], 0.5)];
    const edge = irModel('edge', [6], [
      L.dense({ name: 'fc', inputs: [INPUT], weight: w }),
      L.dense({ name: 'rec', inputs: ['n'], weight: wRec }),
      L.add({ name: 'sum', inputs: ['fc', 'rec'] }),
      lif('n', 'sum'),
    ], 'n');
    const field = irModel('field', [6], [L.dense({ name: 'fc', inputs: [INPUT], weight: w }), L.lifNeuron({ name: 'n', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0, beta: 0.9, recurrent: wRec })], 'n');
    const { model } = await writeRead(edge, 'edge-out');
    expect(model.layers.map(kind)).toEqual(['fc:dense', 'rec:dense', 'sum:add', 'n:lif']);
    expect(previousStepReads(model)).toEqual(['n→rec']);
    const x = inputFor(edge, 4, 2);
    const spikes = (m: SnnModel) => [...simulate(m, x, 4, { probes: ['n'] }).spikes.get('n')!];
    expect(spikes(model)).toEqual(spikes(field));
    expect(spikes(field).reduce((s, v) => s + v, 0)).toBeGreaterThan(20);
  });

  it('a hand-wired NIR cycle through two LIFs with per-neuron gains ≠ 1 runs as NIR\'s equations say (independent float64 reference): the gain of the neuron reading a sum with a back edge stays its r, the other is folded', async () => {
    const dt = 1e-3;
    const r = rng(12);
    const [W, A, B] = [Array.from({ length: 4 * 3 }, () => r() * 1.2), Array.from({ length: 2 * 4 }, () => r() * 1.5), Array.from({ length: 4 * 2 }, () => r() - 0.3)];
    const nodes: NirNodeOut[] = [
      ...io([3], [2]),
      { name: 'w', type: 'Linear', params: { weight: f32(W, [4, 3]) } },
      { name: 'a', type: 'Linear', params: { weight: f32(A, [2, 4]) } },
      { name: 'b', type: 'Linear', params: { weight: f32(B, [4, 2]) } },
      lifNode('p', 4, 5e-3, 20, 0.6),
      lifNode('q', 2, 4e-3, 16, 0.5),
    ];
    const file = await nirFile('hand-cycle', nodes, [...chain('input', 'w', 'p', 'a', 'q', 'output'), ['q', 'b'], ['b', 'p']]);
    const { model, diagnostics } = await readNir(file, { dt, timesteps: 40 });
    expect(model.layers.map(kind)).toEqual(['w:dense', 'b:dense', 'p.sum:add', 'p:lif', 'a:dense', 'q:lif']);
    expect(previousStepReads(model)).toEqual(['q→b']);
    expect(diagnostics).toEqual([{ node: 'p', message: '2 incoming edges are summed' }]);
    expect(layer<L.NeuronLayer>(model, 'p').params.r).toBeCloseTo((20 * dt) / 5e-3, 12); // p reads a sum: its gain is r
    expect(layer<L.NeuronLayer>(model, 'q').params.r).toBe(1); // q's own Linear "a" carries its gain
    expect([...layer<L.Dense>(model, 'a').weight.data]).toEqual(A.map((v) => Math.fround(Math.fround(v) * ((16 * dt) / 4e-3))));
    // NIR: τ dv/dt = −v + R·x, forward Euler, v > θ, reset to 0; q's spikes reach p one step later.
    const T = 40;
    const x = Float32Array.from({ length: T * 3 }, () => (r() < 0.4 ? 1 : 0));
    const [vp, vq, sp, sq] = [fill(4, 0), fill(2, 0), fill(4, 0), fill(2, 0)];
    const want: number[] = [];
    for (let t = 0; t < T; t++) {
      const xin = Array.from({ length: 4 }, (_, i) => [0, 1, 2].reduce((s, j) => s + Math.fround(W[i * 3 + j]) * x[t * 3 + j], 0) + [0, 1].reduce((s, j) => s + Math.fround(B[i * 2 + j]) * sq[j], 0));
      for (let i = 0; i < 4; i++) {
        vp[i] += (dt / 5e-3) * (-vp[i] + 20 * xin[i]);
        sp[i] = vp[i] > 0.6 ? 1 : 0;
        if (sp[i]) vp[i] = 0;
      }
      for (let i = 0; i < 2; i++) {
        vq[i] += (dt / 4e-3) * (-vq[i] + 16 * [0, 1, 2, 3].reduce((s, j) => s + Math.fround(A[i * 4 + j]) * sp[j], 0));
        sq[i] = vq[i] > 0.5 ? 1 : 0;
        if (sq[i]) vq[i] = 0;
      }
      want.push(...sq);
    }
    expect([...simulate(model, x, 1, { probes: ['q'] }).spikes.get('q')!]).toEqual(want);
    expect(want.filter((s) => s).length).toBeGreaterThan(10);
    const back = await writeRead(model, 'hand-cycle-out');
    expectSameModel(back.model, model);
    expectSameRun(model, back.model, 2);
  });

  it('a zero-delay cycle is refused naming its nodes (exit 2), also when its Delay rounds to 0 steps', async () => {
    const nodes: NirNodeOut[] = [
      ...io([2], [2]),
      { name: 'w', type: 'Linear', params: { weight: f32([1, 0, 0, 1], [2, 2]) } },
      { name: 'back', type: 'Scale', params: { scale: f32([0.5, 0.5], [2]) } },
      ifNode('n', [2], 1e-3),
    ];
    const e = await rejection(readNir(await nirFile('zero-cycle', nodes, [...chain('input', 'w', 'n', 'output'), ['w', 'back'], ['back', 'w']]), { dt: 1e-3 }));
    expect(e.message).toMatch(/zero-cycle\.nir: nodes "(w|back)" → "(w|back)" → "(w|back)" \((Linear|Scale), (Linear|Scale)\) form a cycle through no neuron and no delay: each node needs another's output of the same step; close the cycle through a neuron or a Delay$/);
    expect(e.exitCode).toBe(ExitCode.badInput);
    expect(e.message).not.toContain('\n');
    const withDelay = [...nodes, { name: 'd', type: 'Delay', params: { delay: f64([1e-5, 1e-5], [2]) } }];
    const e2 = await rejection(readNir(await nirFile('zero-delay', withDelay, [...chain('input', 'w', 'n', 'output'), ['w', 'back'], ['back', 'd'], ['d', 'w']]), { dt: 1e-3 }));
    expect(e2.message).toMatch(/form a cycle through no neuron and no delay \(Delay "d" is 0 steps at this dt\)/);
    const self = await rejection(readNir(await nirFile('self-edge', nodes, [...chain('input', 'w', 'n', 'output'), ['w', 'w']]), { dt: 1e-3 }));
    expect(self.message).toMatch(/node "w" \(Linear\) has an edge to itself through no neuron and no delay/);
  });

  it('a leaky-integrator readout fed back through a Linear is an ordinary cycle (its membrane, one step late), not a refusal', async () => {
    const nodes: NirNodeOut[] = [
      ...io([2], [2]),
      { name: 'w', type: 'Linear', params: { weight: f32([1, 0, 0, 1], [2, 2]) } },
      { name: 'li', type: 'LI', params: { tau: f64([2e-3, 2e-3], [2]), r: f64([2, 2], [2]), v_leak: f64([0, 0], [2]) } },
      { name: 'rec', type: 'Linear', params: { weight: f32([0, 0.5, 0.5, 0], [2, 2]) } },
    ];
    const { model } = await readNir(await nirFile('li-rec', nodes, [...chain('input', 'w', 'li', 'output'), ['li', 'rec'], ['rec', 'li']]), { dt: 1e-3 });
    expect(model.layers.map(kind)).toEqual(['w:dense', 'rec:dense', 'li.sum:add', 'li:li']);
    expect(previousStepReads(model)).toEqual(['li→rec']);
  });

  it('the writer warns where NIR cannot keep the listing: the forward edge read at the previous step', async () => {
    const m = twoNeuronCycle();
    // The same cycle listed so that n1 → a reads the previous step and n2 → b the same step.
    const order = ['fc', 'a', 'n2', 'b', 'sum', 'n1'];
    const relisted = { ...m, layers: order.map((n) => layer(m, n)) };
    expect(previousStepReads(relisted)).toEqual(['n1→a']);
    expect(toNirGraph(relisted).warnings).toEqual([
      'layer "a" reads neuron "n1" at the previous step, but NIR has no steps and snnc\'s NIR reader will read that edge at the same step',
      'layer "b" reads neuron "n2" at the same step, but NIR has no steps and snnc\'s NIR reader will read that edge at the previous step',
    ]);
  });
});

/** NIR Conv1d / Conv2d, independently: y[o, i] = b[o] + Σ w[o, c, u] · xpad[g·C/G + c, i·s + u·d], zero padding. */
function conv1dReference(x: Float32Array, C: number, Lin: number, w: number[], [O, cg, k]: number[], bias: number[], s: number, [pl, pr]: number[], d: number, groups: number): number[] {
  const Lout = Math.floor((Lin + pl + pr - d * (k - 1) - 1) / s) + 1;
  const y: number[] = [];
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / (O / groups));
    for (let i = 0; i < Lout; i++) {
      let acc = bias[o];
      for (let c = 0; c < cg; c++) for (let u = 0; u < k; u++) {
        const at = i * s + u * d - pl;
        if (at >= 0 && at < Lin) acc += Math.fround(w[(o * cg + c) * k + u]) * x[(g * cg + c) * Lin + at];
      }
      y.push(acc);
    }
  }
  expect(C).toBe(cg * groups);
  return y;
}

describe('NIR Conv1d, Conv2d with dilation, Flatten over any dimensions', () => {
  it('Conv1d (dilation 2, padding "same", groups 2) is reshape → conv2d [1, k] → reshape; its output is NIR\'s 1-D convolution; round trip writes a Conv1d back', async () => {
    const r = rng(21);
    const [O, C, Lin, k, d] = [4, 4, 11, 3, 2];
    const w = Array.from({ length: O * 2 * k }, () => r() * 2 - 1);
    const bias = [0.1, -0.2, 0.3, 0];
    const nodes: NirNodeOut[] = [
      ...io([C, Lin], [O, Lin]),
      { name: 'c1', type: 'Conv1d', params: { weight: f32(w, [O, 2, k]), bias: f32(bias, [O]), stride: ints([1], []), padding: str('same'), dilation: ints([d], []), groups: ints([2], []), input_shape: ints([Lin], []) } },
      ifNode('n', [O, Lin], 1e-3),
    ];
    const { model } = await readNir(await nirFile('conv1d', nodes, chain('input', 'c1', 'n', 'output')), { dt: 1e-3, timesteps: 6 });
    expect(model.layers.map(kind)).toEqual(['c1.as2d:reshape', 'c1.conv:conv2d', 'c1:reshape', 'n:if']);
    const conv = layer<L.Conv2d>(model, 'c1.conv');
    expect({ kernel: conv.weight.shape, stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups }).toEqual({ kernel: [O, 2, 1, k], stride: [1, 1], padding: [0, 2, 0, 2], dilation: [1, 2], groups: 2 });
    expect(layer<L.Reshape>(model, 'c1').shape).toEqual([O, Lin]);
    const x = Float32Array.from({ length: C * Lin }, () => r());
    const y = simulate(model, x, 1, { record: ['c1'], timesteps: 1 }).values.get('c1')!;
    conv1dReference(x, C, Lin, w, [O, 2, k], bias, 1, [2, 2], d, 2).forEach((v, i) => expect(Math.abs(y[i] - v)).toBeLessThan(1e-5));
    const g = toNirGraph(model);
    expect(g.nodes.map((n) => `${n.name}:${n.type}`)).toEqual(['input:Input', 'c1:Conv1d', 'n:IF', 'output:Output']);
    expect(g.nodes[1].params.padding).toEqual({ kind: 'int', data: [2], shape: [] });
    const back = await writeRead(model, 'conv1d-out');
    expectSameModel(back.model, model);
    expectSameRun(model, back.model, 2);
  });

  it('Conv1d "same" with an even dilated kernel pads asymmetrically (PyTorch: the odd one at the end) and is written back as "same"; stride 2 with "same" is refused', async () => {
    const nodes = (padding: NirParamOut, stride = 1): NirNodeOut[] => [
      ...io([2, 9], [3, 9]),
      { name: 'c1', type: 'Conv1d', params: { weight: f32(fill(3 * 2 * 4, 0.2), [3, 2, 4]), bias: f32([0, 0, 0], [3]), stride: ints([stride], []), padding, dilation: ints([3], []), groups: ints([1], []), input_shape: ints([9], []) } },
      ifNode('n', [3, 9], 1e-3),
    ];
    const { model } = await readNir(await nirFile('conv1d-even', nodes(str('same')), chain('input', 'c1', 'n', 'output')), { dt: 1e-3 });
    expect(layer<L.Conv2d>(model, 'c1.conv').padding).toEqual([0, 4, 0, 5]); // d·(k − 1) = 9
    expect(toNirGraph(model).nodes[1].params.padding).toEqual({ kind: 'string', value: 'same' });
    expectSameModel((await writeRead(model, 'conv1d-even-out')).model, model);
    const e = await rejection(readNir(await nirFile('conv1d-stride', nodes(str('same'), 2), chain('input', 'c1', 'n', 'output')), { dt: 1e-3 }));
    expect(e.message).toMatch(/node "c1" \(Conv1d\): padding "same" with stride 2/);
  });

  it('Conv2d with dilation is an IR conv2d with dilation; its output is NIR\'s dilated convolution; round trip keeps it', async () => {
    const r = rng(31);
    const w = Array.from({ length: 3 * 2 * 3 * 2 }, () => r() * 2 - 1);
    const nodes: NirNodeOut[] = [
      ...io([2, 9, 8], [3, 5, 4]),
      { name: 'conv', type: 'Conv2d', params: { weight: f32(w, [3, 2, 3, 2]), bias: f32([0.1, 0, -0.1], [3]), stride: ints([1, 2]), padding: ints([0, 1]), dilation: ints([2, 3]), groups: ints([1], []), input_shape: ints([9, 8]) } },
      ifNode('n', [3, 5, 4], 1e-3),
    ];
    const { model } = await readNir(await nirFile('dilated', nodes, chain('input', 'conv', 'n', 'output')), { dt: 1e-3, timesteps: 6 });
    const conv = layer<L.Conv2d>(model, 'conv');
    expect({ dilation: conv.dilation, stride: conv.stride, padding: conv.padding }).toEqual({ dilation: [2, 3], stride: [1, 2], padding: [0, 1, 0, 1] });
    const x = Float32Array.from({ length: 2 * 9 * 8 }, () => r());
    const y = simulate(model, x, 1, { record: ['conv'], timesteps: 1 }).values.get('conv')!;
    let k = 0;
    for (let o = 0; o < 3; o++) for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) {
      let acc = [0.1, 0, -0.1][o];
      for (let c = 0; c < 2; c++) for (let u = 0; u < 3; u++) for (let v = 0; v < 2; v++) {
        const [h, ww] = [i + 2 * u, j * 2 + 3 * v - 1];
        if (ww >= 0 && ww < 8) acc += Math.fround(w[((o * 2 + c) * 3 + u) * 2 + v]) * x[(c * 9 + h) * 8 + ww];
      }
      expect(Math.abs(y[k++] - acc)).toBeLessThan(1e-5);
    }
    expect(toNirGraph(model).nodes[1].params.dilation).toEqual({ kind: 'int', data: [2, 3], shape: [2] });
    const back = await writeRead(model, 'dilated-out');
    expectSameModel(back.model, model);
    expectSameRun(model, back.model, 2);
  });

  it('Flatten(1, 2) of [C, H, W] is a reshape to [C, H·W] (negative dims count from the end; all dims: a flatten); the reshape is written back as Flatten(1, 2)', async () => {
    const flat = (start: number, end: number): NirNodeOut[] => [
      ...io([2, 3, 4], [2, 12]),
      { name: 'f', type: 'Flatten', params: { start_dim: ints([start], []), end_dim: ints([end], []), input_type: ints([2, 3, 4]) } },
      ifNode('n', [2, 12], 1e-3),
    ];
    const { model } = await readNir(await nirFile('flatten12', flat(1, 2), chain('input', 'f', 'n', 'output')), { dt: 1e-3 });
    expect(model.layers.map(kind)).toEqual(['f:reshape', 'n:if']);
    expect(layer<L.Reshape>(model, 'f').shape).toEqual([2, 12]);
    const neg = (await readNir(await nirFile('flatten-neg', flat(-2, -1), chain('input', 'f', 'n', 'output')), { dt: 1e-3 })).model;
    expect(layer<L.Reshape>(neg, 'f').shape).toEqual([2, 12]);
    const g = toNirGraph(model).nodes.find((n) => n.name === 'f')!;
    expect(g.params).toEqual({ start_dim: ints([1], []), end_dim: ints([2], []), input_type: ints([2, 3, 4]) });
    const back = await writeRead(model, 'flatten12-out');
    expectSameModel(back.model, model);
    expectSameRun(model, back.model, 2);
    const bad = { name: 'f', type: 'Flatten', params: { start_dim: ints([2], []), end_dim: ints([1], []) } };
    const e = await rejection(readNir(await nirFile('flatten-bad', [...flat(0, 0).filter((n) => n.name !== 'f'), bad], chain('input', 'f', 'n', 'output')), { dt: 1e-3 }));
    expect(e.message).toMatch(/node "f" \(Flatten\): start_dim 2 and end_dim 1 do not select dimensions of the rank-3 input \[2, 3, 4\]/);
  });

  it('the writer refuses a reshape that is no Flatten and not part of a Conv1d, by name (exit 3)', () => {
    const m = irModel('split', [6], [L.reshape({ name: 'split', inputs: [INPUT], shape: [2, 3] }), L.ifNeuron({ name: 'n', inputs: ['split'], threshold: 1, reset: 'zero', v0: 0 })], 'n');
    expect(() => toNirGraph(m)).toThrow(/^layer "split" \(reshape\): a reshape \[6\] → \[2, 3\] that does not merge consecutive dimensions \(NIR has Flatten\) and is not part of a Conv1d; NIR cannot express it$/);
    expect(nirTarget.check(m, {}).fits).toBe(false);
    try {
      toNirGraph(m);
    } catch (e) {
      expect((e as SnncError).exitCode).toBe(ExitCode.doesNotFit);
    }
  });
});

describe('the shared fixtures with a Delay and a Conv1d now import', () => {
  it('all_primitives_nir_head.nir: every primitive in a chain, the Delay of 1 ms is 10 steps at dt = 1e-4; read → write → read keeps every parameter and spike', async () => {
    const { model, diagnostics } = await readNir(`${FIXTURES}/all_primitives_nir_head.nir`, { timesteps: 30 });
    expect(model.layers.map(kind)).toEqual(['conv:conv2d', 'if:if', 'pool.mean:avgpool2d', 'pool:batchnorm', 'avg:avgpool2d', 'flat:flatten', 'aff:dense', 'lif:lif', 'lin:dense', 'cuba:cuba_lif', 'scale:batchnorm', 'delay:delay', 'li:li', 'culi:cuba_li', 'i:i', 'thr:threshold']);
    expect(layer<L.Delay>(model, 'delay').steps).toBe(10);
    expect(diagnostics).toEqual([{ node: '(graph)', message: 'no --dt given: using dt = 0.0001 (the NIR paper\'s convention); NIR files carry no time step' }]);
    const back = await writeRead(model, 'all-primitives-out');
    expectSameModel(back.model, model);
    expectSameRun(model, back.model, 2);
  });

  it('conv1d_subgraph_nir_head.nir: Conv1d with padding "same", then a nested recurrent LIF; read → write → read keeps every parameter and spike', async () => {
    const { model } = await readNir(`${FIXTURES}/conv1d_subgraph_nir_head.nir`, { timesteps: 30 });
    expect(model.layers.map(kind)).toEqual(['c1.as2d:reshape', 'c1.conv:conv2d', 'c1:reshape', 'flat:flatten', 'aff:dense', 'rnn.lif:lif']);
    expect(layer<L.Conv2d>(model, 'c1.conv').padding).toEqual([0, 1, 0, 1]);
    expect(layer<L.NeuronLayer>(model, 'rnn.lif').recurrent?.shape).toEqual([3, 3]);
    const back = await writeRead(model, 'conv1d-subgraph-out');
    expectSameModel(back.model, model);
    expect(expectSameRun(model, back.model, 3)).toBeGreaterThan(0);
  });
});
