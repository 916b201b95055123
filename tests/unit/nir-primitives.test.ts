/**
 * NIR for IR v2 (issue #16): every NIR primitive the IR can express (Input, Output, Affine, Linear, Scale,
 * Conv2d, SumPool2d, AvgPool2d, Flatten, Threshold, IF, LIF, LI, I, CubaLIF, CubaLI, nested graphs,
 * v_leak, v_reset) with per-neuron parameters:
 *   - the reader's IR parameters against the forward-Euler formulas (nir.md §5), neuron by neuron;
 *   - the simulator against an independent float64 forward-Euler implementation of NIR's equations,
 *     written here, spike for spike;
 *   - read → write → read keeps every parameter and fires the same spikes;
 *   - the bugs of issue #16: IF's gain is R·dt, a user's --reset wins over v_reset = 0, a leading batch
 *     axis of 1 on the Input is dropped; cycles through more than a neuron ⇄ Affine pair are read (more
 *     in nir-time.test.ts, with Delay, Conv1d and Flatten); what NIR cannot express (alif) is refused by name.
 * The graphs are written with the nir target's own HDF5 writer (writeNirFile) from hand-built nodes.
 */
import { join } from 'node:path';
import type { Group } from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { readNir } from '../../compiler/frontends/nir/read.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../compiler/ir/model.js';
import { nextFloat32Up } from '../../compiler/ir/float32.js';
import { writeHdf5File } from '../../compiler/io/hdf5-write.js';
import { registerNeuronModel, unregisterNeuronModel } from '../../compiler/ir/neurons.js';
import { paramValues } from '../../compiler/ir/params.js';
import { sizeOf, tensor } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { nirTarget, toNirGraph, writeNirFile } from '../../targets/nir/index.js';
import type { NirNodeOut, NirParamOut } from '../../targets/nir/neurons.js';
import { inputFor } from '../helpers/compare.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const f32 = Math.fround;

/** A seeded uniform generator (mulberry32). */
function rng(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  };
}

const d64 = (data: ArrayLike<number>, shape: number[]): NirParamOut => ({ kind: 'float', data: Float64Array.from(data), shape });
const d32 = (data: ArrayLike<number>, shape: number[]): NirParamOut => ({ kind: 'float', data: Float32Array.from(data), shape });
const ints = (data: number[], shape = [data.length]): NirParamOut => ({ kind: 'int', data, shape });
const fill = (n: number, v: number) => new Array<number>(n).fill(v);
const rand = (r: ReturnType<typeof rng>, n: number, lo: number, hi: number) => Array.from({ length: n }, () => r(lo, hi));
const chain = (...names: string[]): [string, string][] => names.slice(1).map((n, k) => [names[k], n]);

async function nirFile(name: string, nodes: NirNodeOut[], edges: [string, string][]): Promise<string> {
  const path = join(dir, `${name}.nir`);
  await writeNirFile(path, { nodes, edges, warnings: [] });
  return path;
}

function rejection(p: Promise<unknown>): Promise<SnncError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e) => {
      expect(e).toBeInstanceOf(SnncError);
      return e as SnncError;
    },
  );
}

const neuronOf = (model: SnnModel, name: string) => model.layers.find((l) => l.name === name) as L.NeuronLayer;
/** A parameter of a layer, one float32 value per neuron. */
const valuesOf = (model: SnnModel, name: string, key: string) => [...paramValues(neuronOf(model, name).params[key], verifyModel(model).get(name)!)];
const asF32 = (a: ArrayLike<number>) => Array.from(a, f32);

const DT = 1e-3;

/** A chain of every primitive the IR can express, with per-neuron parameters (values are float64, as numpy writes them). */
function everyPrimitive(seed = 7): { nodes: NirNodeOut[]; edges: [string, string][]; p: Record<string, Record<string, number[]>> } {
  const r = rng(seed);
  const p: Record<string, Record<string, number[]>> = {
    if: { r: rand(r, 256, 0.5, 1.5).map((g) => g / DT), v_threshold: rand(r, 256, 0.5, 1.5), v_reset: rand(r, 256, -0.2, 0.2).map((v, i) => (i % 2 ? v : 0)) },
    lif: { tau: rand(r, 16, 2e-3, 2e-2), r: rand(r, 16, 2, 20), v_leak: rand(r, 16, -0.1, 0.1), v_threshold: rand(r, 16, 0.3, 1), v_reset: fill(16, 0) },
    cuba: { tau_syn: rand(r, 8, 2e-3, 1e-2), tau_mem: rand(r, 8, 5e-3, 3e-2), r: rand(r, 8, 2, 20), v_leak: rand(r, 8, -0.1, 0.1), v_threshold: rand(r, 8, 0.3, 1), v_reset: rand(r, 8, -0.3, 0.3), w_in: rand(r, 8, 1, 5) },
    scale: { scale: rand(r, 8, 0.5, 2) },
    li: { tau: rand(r, 8, 2e-3, 2e-2), r: rand(r, 8, 2, 20), v_leak: rand(r, 8, -0.1, 0.1) },
    culi: { tau_syn: rand(r, 8, 2e-3, 1e-2), tau_mem: rand(r, 8, 5e-3, 3e-2), r: rand(r, 8, 2, 20), v_leak: rand(r, 8, -0.1, 0.1), w_in: rand(r, 8, 1, 5) },
    i: { r: rand(r, 8, 100, 300) },
    thr: { threshold: rand(r, 8, 0, 0.5) },
  };
  const neuron = (name: string, type: string, shape: number[]): NirNodeOut => ({ name, type, params: Object.fromEntries(Object.entries(p[name]).map(([k, v]) => [k, d64(v, shape)])) });
  const nodes: NirNodeOut[] = [
    { name: 'input', type: 'Input', params: { shape: ints([2, 8, 8]) } },
    { name: 'conv', type: 'Conv2d', params: { weight: d32(rand(r, 72, -0.8, 0.8), [4, 2, 3, 3]), bias: d32(rand(r, 4, -0.2, 0.5), [4]), stride: ints([1, 1]), padding: ints([1, 1]), dilation: ints([1, 1]), groups: ints([1], []), input_shape: ints([8, 8]) } },
    neuron('if', 'IF', [4, 8, 8]),
    { name: 'pool', type: 'SumPool2d', params: { kernel_size: ints([2, 2]), stride: ints([2, 2]), padding: ints([0, 0]) } },
    { name: 'avg', type: 'AvgPool2d', params: { kernel_size: ints([1, 1]), stride: ints([1, 1]), padding: ints([0, 0]) } },
    { name: 'flat', type: 'Flatten', params: { start_dim: ints([0], []), end_dim: ints([-1], []), input_type: ints([4, 4, 4]) } },
    { name: 'aff', type: 'Affine', params: { weight: d32(rand(r, 16 * 64, -0.3, 0.4), [16, 64]), bias: d32(rand(r, 16, -0.1, 0.2), [16]) } },
    neuron('lif', 'LIF', [16]),
    { name: 'lin', type: 'Linear', params: { weight: d32(rand(r, 8 * 16, -0.5, 0.9), [8, 16]) } },
    neuron('cuba', 'CubaLIF', [8]),
    neuron('scale', 'Scale', [8]),
    neuron('li', 'LI', [8]),
    neuron('culi', 'CubaLI', [8]),
    neuron('i', 'I', [8]),
    neuron('thr', 'Threshold', [8]),
    { name: 'output', type: 'Output', params: { shape: ints([8]) } },
  ];
  return { nodes, edges: chain('input', 'conv', 'if', 'pool', 'avg', 'flat', 'aff', 'lif', 'lin', 'cuba', 'scale', 'li', 'culi', 'i', 'thr', 'output'), p };
}

describe('NIR import: every primitive, per-neuron parameters (forward Euler, nir.md §5)', () => {
  it('maps each node to its IR layer with β = 1 − dt/τ, α = 1 − dt/τ_syn, r = R·dt/τ (LIF/LI), (dt/τ_mem)·R·(dt/τ_syn)·w_in (Cuba), R·dt (IF/I), θ → next float32', async () => {
    const g = everyPrimitive();
    const { model, diagnostics } = await readNir(await nirFile('every', g.nodes, g.edges), { dt: DT });
    const kind = (l: L.Layer) => (L.isNeuron(l) ? l.model : l.op);
    expect(model.layers.map((l) => `${l.name}:${kind(l)}`)).toEqual(['conv:conv2d', 'if:if', 'pool.mean:avgpool2d', 'pool:batchnorm', 'avg:avgpool2d', 'flat:flatten', 'aff:dense', 'lif:lif', 'lin:dense', 'cuba:cuba_lif', 'scale:batchnorm', 'li:li', 'culi:cuba_li', 'i:i', 'thr:threshold']);
    expect(model.output).toEqual({ layer: 'thr', decoding: 'spike_count' });
    expect(diagnostics).toEqual([]); // a 1.0.7-style file with everything given: nothing to assume
    const { p } = g;
    const up = (t: number) => nextFloat32Up(f32(t));
    expect(valuesOf(model, 'if', 'r')).toEqual(asF32(p.if.r.map((R) => R * DT)));
    expect(valuesOf(model, 'if', 'threshold')).toEqual(p.if.v_threshold.map(up));
    expect(valuesOf(model, 'if', 'v_reset')).toEqual(asF32(p.if.v_reset));
    expect(neuronOf(model, 'if').reset).toBe('to_v_reset');
    expect(valuesOf(model, 'lif', 'beta')).toEqual(asF32(p.lif.tau.map((t) => 1 - DT / t)));
    expect(valuesOf(model, 'lif', 'r')).toEqual(asF32(p.lif.r.map((R, k) => (R * DT) / p.lif.tau[k])));
    expect(valuesOf(model, 'lif', 'v_leak')).toEqual(asF32(p.lif.v_leak));
    expect(neuronOf(model, 'lif').reset).toBe('zero'); // v_reset = 0 everywhere
    const cuba = (q: Record<string, number[]>) => q.r.map((R, k) => ((DT / q.tau_mem[k]) * R * DT * q.w_in[k]) / q.tau_syn[k]);
    for (const [name, q] of [['cuba', p.cuba], ['culi', p.culi]] as const) {
      expect(valuesOf(model, name, 'alpha')).toEqual(asF32(q.tau_syn.map((t) => 1 - DT / t)));
      expect(valuesOf(model, name, 'beta')).toEqual(asF32(q.tau_mem.map((t) => 1 - DT / t)));
      expect(valuesOf(model, name, 'r')).toEqual(asF32(cuba(q)));
      expect(valuesOf(model, name, 'v_leak')).toEqual(asF32(q.v_leak));
    }
    expect(valuesOf(model, 'cuba', 'v_reset')).toEqual(asF32(p.cuba.v_reset));
    expect(neuronOf(model, 'cuba').reset).toBe('to_v_reset');
    expect(valuesOf(model, 'li', 'beta')).toEqual(asF32(p.li.tau.map((t) => 1 - DT / t)));
    expect(valuesOf(model, 'li', 'r')).toEqual(asF32(p.li.r.map((R, k) => (R * DT) / p.li.tau[k])));
    expect(valuesOf(model, 'i', 'r')).toEqual(asF32(p.i.r.map((R) => R * DT)));
    expect(valuesOf(model, 'thr', 'threshold')).toEqual(p.thr.threshold.map(up));
    // Per-neuron gains are the neurons' r: the weights in front stay bit for bit.
    const aff = model.layers.find((l) => l.name === 'aff') as L.Dense;
    expect([...aff.weight.data]).toEqual([...(g.nodes.find((n) => n.name === 'aff')!.params.weight as { data: Float32Array }).data]);
    expect([...(model.layers.find((l) => l.name === 'pool') as L.BatchNorm).scale.data]).toEqual([4, 4, 4, 4]);
    expect([...(model.layers.find((l) => l.name === 'scale') as L.BatchNorm).scale.data]).toEqual(asF32(p.scale.scale));
  });

  it('read → write → read keeps every parameter (float32, per neuron), the reset modes and the weights, and fires the same spikes in every layer', async () => {
    const g = everyPrimitive(11);
    const { model } = await readNir(await nirFile('every-rt', g.nodes, g.edges), { dt: DT, timesteps: 30 });
    const out = join(dir, 'every-rt-out');
    const emitted = await nirTarget.emit(model, out, {});
    expect(emitted.warnings).toEqual([]);
    const back = (await readNir(join(out, 'model.nir'), { dt: DT, timesteps: 30 })).model;
    expectSameModel(back, model);
    const x = inputFor(model, 3, 5);
    const record = model.layers.filter((l) => L.isNeuron(l)).map((l) => l.name);
    const [a, b] = [model, back].map((m) => simulate(m, x, 3, { probes: 'all', record }));
    let spikes = 0;
    for (const [layer, s] of a.spikes) {
      expect([...b.spikes.get(layer)!], layer).toEqual([...s]);
      spikes += s.reduce((u, v) => u + v, 0);
    }
    for (const [layer, v] of a.values) expect([...b.values.get(layer)!], layer).toEqual([...v]);
    expect(spikes).toBeGreaterThan(100);
    expect([...b.output]).toEqual([...a.output]);
  });

  it('recurrent IF and LIF (neuron ⇄ Linear/Affine self-loops): recurrent weights kept, the recurrent bias joins the input layer, round trip exact', async () => {
    const r = rng(3);
    const w = (n: number, lo: number, hi: number) => d32(rand(r, n, lo, hi), []) as NirParamOut & { kind: 'float' };
    const nodes: NirNodeOut[] = [
      { name: 'input', type: 'Input', params: { shape: ints([5]) } },
      { name: 'lin1', type: 'Linear', params: { weight: { ...w(30, -0.5, 1), shape: [6, 5] } } },
      { name: 'if1', type: 'IF', params: { r: d64(fill(6, 1 / 1e-4), [6]), v_threshold: d64(fill(6, 1), [6]), v_reset: d64(fill(6, 0), [6]) } },
      { name: 'rec1', type: 'Linear', params: { weight: { ...w(36, -0.4, 0.4), shape: [6, 6] } } },
      { name: 'aff2', type: 'Affine', params: { weight: { ...w(24, -0.5, 1), shape: [4, 6] }, bias: { ...w(4, 0, 0.1), shape: [4] } } },
      { name: 'lif2', type: 'LIF', params: { tau: d64(fill(4, 1e-3), [4]), r: d64(fill(4, 10), [4]), v_leak: d64(fill(4, 0), [4]), v_threshold: d64(fill(4, 0.8), [4]), v_reset: d64(fill(4, 0), [4]) } },
      { name: 'rec2', type: 'Affine', params: { weight: { ...w(16, -0.3, 0.3), shape: [4, 4] }, bias: { ...w(4, 0, 0.1), shape: [4] } } },
      { name: 'output', type: 'Output', params: { shape: ints([4]) } },
    ];
    const edges: [string, string][] = [...chain('input', 'lin1', 'if1', 'aff2', 'lif2', 'output'), ['if1', 'rec1'], ['rec1', 'if1'], ['lif2', 'rec2'], ['rec2', 'lif2']];
    const { model } = await readNir(await nirFile('recurrent', nodes, edges), { dt: 1e-4, timesteps: 20 });
    const [lin1, if1, aff2, lif2] = model.layers as [L.Dense, L.NeuronLayer, L.Dense, L.NeuronLayer];
    expect([if1.model, lif2.model]).toEqual(['if', 'lif']);
    expect([if1.params.r, lif2.params.r]).toEqual([1, 1]); // R = 1/dt and R = τ/dt: gain exactly 1
    expect([...if1.recurrent!.data]).toEqual([...(nodes[3].params.weight as { data: Float32Array }).data]);
    expect([...lif2.recurrent!.data]).toEqual([...(nodes[6].params.weight as { data: Float32Array }).data]);
    expect([...lin1.weight.data]).toEqual([...(nodes[1].params.weight as { data: Float32Array }).data]);
    const [b1, b2] = [nodes[4], nodes[6]].map((n) => (n.params.bias as { data: Float32Array }).data);
    expect([...aff2.bias!.data]).toEqual(asF32(Array.from(b1, (b, k) => b + b2[k])));
    const out = join(dir, 'recurrent-out');
    await nirTarget.emit(model, out, {});
    const back = (await readNir(join(out, 'model.nir'), { dt: 1e-4, timesteps: 20 })).model;
    expectSameModel(back, model);
    const x = inputFor(model, 2, 9);
    const [s1, s2] = [model, back].map((m) => simulate(m, x, 2, { probes: 'all' }).spikes);
    for (const [layer, s] of s1) expect([...s2.get(layer)!]).toEqual([...s]);
    expect([...s1.get('if1')!].some((s) => s)).toBe(true);
  });

  it('a nested recurrent graph whose Input feeds the recurrent weights (snnTorch/Spyx importer wiring) is read as Input → neuron, with a diagnostic', async () => {
    const path = join(dir, 'nested-rec.nir');
    const f32s = (g: Group, name: string, data: number[], shape: number[]) => g.create_dataset({ name, data: Float32Array.from(data), shape });
    const node = (parent: Group, name: string, type: string, fill: (g: Group) => void) => {
      const g = parent.create_group(name) as Group;
      g.create_dataset({ name: 'type', data: type });
      fill(g);
    };
    const shape = (g: Group, s: number[]) => g.create_dataset({ name: 'shape', data: BigInt64Array.from(s.map(BigInt)), shape: [s.length] });
    await writeHdf5File(path, (f) => {
      f.create_dataset({ name: 'version', data: '1.0.7' });
      const root = f.create_group('node') as Group;
      root.create_dataset({ name: 'type', data: 'NIRGraph' });
      root.create_dataset({ name: 'edges', data: ['input', 'fc', 'fc', 'rnn', 'rnn', 'output'], shape: [3, 2] });
      const nodes = root.create_group('nodes') as Group;
      node(nodes, 'input', 'Input', (g) => shape(g, [2]));
      node(nodes, 'fc', 'Linear', (g) => f32s(g, 'weight', [1, 0, 0, 1, 1, 1], [3, 2]));
      node(nodes, 'output', 'Output', (g) => shape(g, [3]));
      node(nodes, 'rnn', 'NIRGraph', (g) => {
        g.create_dataset({ name: 'edges', data: ['input', 'w_rec', 'w_rec', 'lif', 'lif', 'w_rec', 'lif', 'output'], shape: [4, 2] });
        const inner = g.create_group('nodes') as Group;
        node(inner, 'input', 'Input', (n) => shape(n, [3]));
        node(inner, 'output', 'Output', (n) => shape(n, [3]));
        node(inner, 'w_rec', 'Linear', (n) => f32s(n, 'weight', [0, 0.5, 0, 0, 0, 0.5, 0.5, 0, 0], [3, 3]));
        node(inner, 'lif', 'LIF', (n) => {
          for (const [k, v] of [['tau', 1e-3], ['r', 10], ['v_leak', 0], ['v_threshold', 1], ['v_reset', 0]] as const) f32s(n, k, [v, v, v], [3]);
        });
      });
    });
    const { model, diagnostics } = await readNir(path, { dt: 1e-4 });
    expect(model.layers.map((l) => l.name)).toEqual(['fc', 'rnn.lif']);
    expect([...neuronOf(model, 'rnn.lif').recurrent!.data]).toEqual([0, 0.5, 0, 0, 0, 0.5, 0.5, 0, 0]);
    expect(diagnostics).toContainEqual({ node: 'rnn.w_rec', message: 'the nested graph\'s input "rnn.input" feeds the recurrent weights; read as feeding "rnn.lif" (the recurrent-layer convention of snnTorch and Spyx)' });
  });

  it('a LI readout is decoded as its mean membrane; a Scale before a Threshold becomes its input gain r', async () => {
    const nodes: NirNodeOut[] = [
      { name: 'input', type: 'Input', params: { shape: ints([3]) } },
      { name: 's', type: 'Scale', params: { scale: d64([0.5, 2, 3], [3]) } },
      { name: 't', type: 'Threshold', params: { threshold: d64([0.4, 0.4, 0.4], [3]) } },
      { name: 'w', type: 'Linear', params: { weight: d32([1, 1, 1, 1, -1, 0], [2, 3]) } },
      { name: 'li', type: 'LI', params: { tau: d64([2e-4, 5e-4], [2]), r: d64([2, 5], [2]), v_leak: d64([0, 0], [2]) } },
      { name: 'output', type: 'Output', params: { shape: ints([2]) } },
    ];
    const { model } = await readNir(await nirFile('readout', nodes, chain('input', 's', 't', 'w', 'li', 'output')), { dt: 1e-4 });
    expect(model.layers.map((l) => l.name)).toEqual(['t', 'w', 'li']);
    expect(valuesOf(model, 't', 'r')).toEqual([0.5, 2, 3]);
    expect(model.output).toEqual({ layer: 'li', decoding: 'mean_membrane' });
    expect(valuesOf(model, 'li', 'r')).toEqual(asF32([2 * 0.5, 5 * 0.2]));
    const out = join(dir, 'readout-out');
    await nirTarget.emit(model, out, {});
    expectSameModel((await readNir(join(out, 'model.nir'), { dt: 1e-4 })).model, model);
  });
});

/** Same layers, weights bit for bit, every neuron parameter equal in float32 for every neuron, same reset. */
function expectSameModel(back: SnnModel, model: SnnModel): void {
  const kind = (l: L.Layer) => `${l.name}:${L.isNeuron(l) ? l.model : l.op}`;
  expect(back.layers.map(kind)).toEqual(model.layers.map(kind));
  const shapes = verifyModel(model);
  model.layers.forEach((a, k) => {
    const b = back.layers[k] as L.Layer & Record<string, unknown>;
    for (const key of ['weight', 'bias', 'recurrent', 'scale'] as const) {
      const t = (a as unknown as Record<string, { data: Float32Array } | undefined>)[key];
      expect(t && [...(b[key] as { data: Float32Array }).data], `${a.name}.${key}`).toEqual(t && [...t.data]);
    }
    if (!L.isNeuron(a) || !L.isNeuron(b)) return;
    for (const key of Object.keys(a.params)) expect([...paramValues(b.params[key], shapes.get(a.name)!)], `${a.name}.${key}`).toEqual([...paramValues(a.params[key], shapes.get(a.name)!)]);
    expect(b.reset, `${a.name}.reset`).toBe(a.reset);
  });
  expect(back.output).toEqual(model.output);
}

/**
 * NIR's equations, written out here from nir.md §2 and §5 (forward Euler in float64, v > θ, reset in the
 * same step), for one population fed by the input: the spikes z (or the membrane of a readout) per step.
 */
function nirReference(type: string, p: Record<string, number[]>, x: Float32Array, T: number, n: number, dt: number): number[] {
  const v = new Array<number>(n).fill(0);
  const cur = new Array<number>(n).fill(0);
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < n; k++) {
      const xk = x[t * n + k];
      if (type === 'Threshold') {
        out.push(xk > p.threshold[k] ? 1 : 0);
        continue;
      }
      if (type === 'IF' || type === 'I') v[k] += dt * p.r[k] * xk;
      else if (type === 'LIF' || type === 'LI') v[k] += (dt / p.tau[k]) * (p.v_leak[k] - v[k] + p.r[k] * xk);
      else {
        cur[k] += (dt / p.tau_syn[k]) * (-cur[k] + p.w_in[k] * xk);
        v[k] += (dt / p.tau_mem[k]) * (p.v_leak[k] - v[k] + p.r[k] * cur[k]);
      }
      if (type === 'I' || type === 'LI' || type === 'CubaLI') {
        out.push(v[k]);
        continue;
      }
      const z = v[k] > p.v_threshold[k] ? 1 : 0;
      if (z) v[k] = p.v_reset[k];
      out.push(z);
    }
  }
  return out;
}

describe('NIR semantics: the simulator runs imported neurons as NIR\'s equations say (independent float64 reference)', () => {
  const n = 12;
  const T = 60;
  const r = rng(21);
  const cases: [string, Record<string, number[]>][] = [
    ['IF', { r: rand(r, n, 200, 900), v_threshold: rand(r, n, 0.5, 1.5), v_reset: rand(r, n, -0.3, 0.3) }],
    ['LIF', { tau: rand(r, n, 2e-3, 2e-2), r: rand(r, n, 5, 30), v_leak: rand(r, n, -0.2, 0.4), v_threshold: rand(r, n, 0.2, 0.8), v_reset: rand(r, n, -0.2, 0.2) }],
    ['CubaLIF', { tau_syn: rand(r, n, 2e-3, 1e-2), tau_mem: rand(r, n, 5e-3, 3e-2), r: rand(r, n, 5, 30), v_leak: rand(r, n, -0.2, 0.4), v_threshold: rand(r, n, 0.05, 0.3), v_reset: rand(r, n, -0.2, 0.2), w_in: rand(r, n, 1, 5) }],
    ['Threshold', { threshold: rand(r, n, 0.1, 0.9) }],
    ['LI', { tau: rand(r, n, 2e-3, 2e-2), r: rand(r, n, 5, 30), v_leak: rand(r, n, -0.2, 0.4) }],
    ['CubaLI', { tau_syn: rand(r, n, 2e-3, 1e-2), tau_mem: rand(r, n, 5e-3, 3e-2), r: rand(r, n, 5, 30), v_leak: rand(r, n, -0.2, 0.4), w_in: rand(r, n, 1, 5) }],
    ['I', { r: rand(r, n, 50, 200) }],
  ];
  for (const [type, p] of cases) {
    it(`${type}: ${['LI', 'CubaLI', 'I'].includes(type) ? 'membrane within 1e-5' : 'identical spikes'} over ${T} steps of random input, per-neuron parameters`, async () => {
      const nodes: NirNodeOut[] = [
        { name: 'input', type: 'Input', params: { shape: ints([n]) } },
        { name: 'pop', type, params: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, d64(v, [n])])) },
        { name: 'output', type: 'Output', params: { shape: ints([n]) } },
      ];
      const { model } = await readNir(await nirFile(`semantics-${type}`, nodes, chain('input', 'pop', 'output')), { dt: 1e-3, timesteps: T });
      const x = Float32Array.from({ length: T * n }, (_, i) => f32(rng(i + 1)(-0.2, 1)));
      const ref = nirReference(type, p, x, T, n, 1e-3);
      const sim = simulate(model, x, 1, { probes: 'all', record: ['pop'] });
      if (['LI', 'CubaLI', 'I'].includes(type)) {
        const v = sim.values.get('pop')!;
        ref.forEach((want, i) => expect(Math.abs(v[i] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want))));
      } else {
        expect([...sim.spikes.get('pop')!]).toEqual(ref);
        expect(ref.filter((z) => z).length).toBeGreaterThan(20);
      }
    });
  }
});

/** A one-population graph: Input [n] → Linear W → <node> → Output. */
function singleNeuron(n: number, node: Omit<NirNodeOut, 'name'>, weight: number[] = fill(n * n, 0).map((_, i) => (i % (n + 1) === 0 ? 1 : 0))): { nodes: NirNodeOut[]; edges: [string, string][] } {
  return {
    nodes: [
      { name: 'input', type: 'Input', params: { shape: ints([n]) } },
      { name: 'w', type: 'Linear', params: { weight: d32(weight, [n, n]) } },
      { name: 'pop', ...node },
      { name: 'output', type: 'Output', params: { shape: ints([n]) } },
    ],
    edges: chain('input', 'w', 'pop', 'output'),
  };
}

describe('issue #16 bugs', () => {
  const ifNode = (R: number, vReset = true): Omit<NirNodeOut, 'name'> => ({ type: 'IF', params: { r: d32([R, R], [2]), v_threshold: d32([1, 1], [2]), ...(vReset ? { v_reset: d32([0, 0], [2]) } : {}) } });

  it('IF is dv/dt = R·I: the per-step gain is R·dt (a SpikingJelly export, R = 1/dt, integrates 1× per step, not 10⁴×)', async () => {
    const g = singleNeuron(2, ifNode(1e4));
    const file = await nirFile('if-spikingjelly', g.nodes, g.edges);
    const at = async (dt?: number) => (await readNir(file, { dt, timesteps: 8 })).model;
    const dflt = await readNir(file, { timesteps: 8 });
    expect(dflt.model.dt).toBe(1e-4); // 1/R: the graph has no time constant
    expect(dflt.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^no --dt given and no time constant in the graph: using dt = 1\/R = 0\.0001/)]);
    for (const [dt, gain] of [[1e-4, 1], [1e-3, 10], [1e-5, 0.1]] as const) {
      const model = await at(dt);
      const w = model.layers[0] as L.Dense;
      expect([...w.weight.data], `dt = ${dt}`).toEqual(asF32([1, 0, 0, 1].map((v) => v * gain)));
      expect(neuronOf(model, 'pop').params.r).toBe(1);
    }
    // 0.3 per step: the membrane reaches 1.2 > 1 at the 4th step (the bug fired every step).
    const model = await at(1e-4);
    const sim = simulate(model, new Float32Array(16).fill(0.3), 1, { probes: ['pop'] });
    expect([...sim.spikes.get('pop')!]).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
  });

  it('IF with R = 1 (Sinabs): dt defaults to 1 (one diagnostic); an explicit --dt scales the gain; next to a LIF, dt is the paper\'s 1e-4', async () => {
    const g = singleNeuron(2, ifNode(1));
    const { model, diagnostics } = await readNir(await nirFile('if-sinabs', g.nodes, g.edges));
    expect(model.dt).toBe(1);
    expect(diagnostics.filter((d) => d.node === '(graph)').length).toBe(1);
    expect([...(model.layers[0] as L.Dense).weight.data]).toEqual([1, 0, 0, 1]);
    const small = (await readNir(await nirFile('if-sinabs', g.nodes, g.edges), { dt: 1e-4 })).model;
    expect([...(small.layers[0] as L.Dense).weight.data]).toEqual(asF32([1e-4, 0, 0, 1e-4]));
    const mixed = { nodes: [...g.nodes.slice(0, 3), { name: 'lif', type: 'LIF', params: { tau: d32([1e-3, 1e-3], [2]), r: d32([10, 10], [2]), v_leak: d32([0, 0], [2]), v_threshold: d32([1, 1], [2]), v_reset: d32([0, 0], [2]) } }, g.nodes[3]], edges: chain('input', 'w', 'pop', 'lif', 'output') };
    const m = await readNir(await nirFile('if-lif', mixed.nodes, mixed.edges));
    expect(m.model.dt).toBe(1e-4);
    expect(m.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^no --dt given: using dt = 0\.0001/)]);
    expect([...(m.model.layers[0] as L.Dense).weight.data]).toEqual(asF32([1e-4, 0, 0, 1e-4]));
  });

  it('--reset subtract wins over the file\'s v_reset = 0 (every nir ≥ 1.0.6 file), with a diagnostic; a non-zero v_reset is "to_v_reset"', async () => {
    const g = singleNeuron(2, ifNode(1e4));
    const file = await nirFile('reset', g.nodes, g.edges);
    const plain = await readNir(file, { dt: 1e-4 });
    expect(neuronOf(plain.model, 'pop').reset).toBe('zero');
    expect(plain.diagnostics).toEqual([]);
    const sub = await readNir(file, { dt: 1e-4, reset: 'subtract' });
    expect(neuronOf(sub.model, 'pop').reset).toBe('subtract');
    expect(sub.diagnostics).toEqual([{ node: 'pop', message: 'reset by subtraction (--reset subtract), overriding the file\'s v_reset = 0' }]);
    const zero = await readNir(file, { dt: 1e-4, reset: 'zero' });
    expect(zero.diagnostics).toEqual([]); // agrees with the file
    const vr = singleNeuron(2, { type: 'LIF', params: { tau: d32([1e-3, 1e-3], [2]), r: d32([10, 10], [2]), v_leak: d32([0, 0], [2]), v_threshold: d32([1, 1], [2]), v_reset: d32([0.25, -0.5], [2]) } });
    const to = await readNir(await nirFile('v-reset', vr.nodes, vr.edges), { dt: 1e-4 });
    expect(neuronOf(to.model, 'pop').reset).toBe('to_v_reset');
    expect(valuesOf(to.model, 'pop', 'v_reset')).toEqual([0.25, -0.5]);
    // Spikes: the membrane after a spike is v_reset (IF: 0.6 per step, θ = 1).
    const old = await readNir(await nirFile('no-v-reset', singleNeuron(2, ifNode(1e4, false)).nodes, g.edges), { dt: 1e-4, reset: 'subtract', timesteps: 4 });
    expect(old.diagnostics).toEqual([{ node: 'pop', message: 'reset by subtraction (--reset subtract): the file has no v_reset (NIR 1.0.7 predates it)' }]);
    const v = simulate(old.model, new Float32Array(8).fill(0.6), 1, { membranes: ['pop'] }).membranes.get('pop')!;
    expect([...v].map((x) => Math.round(x * 10) / 10)).toEqual([0.6, 0.6, 0.2, 0.2, 0.8, 0.8, 0.4, 0.4]);
  });

  it('snnc\'s metadata reset = "subtract" is read back; --reset zero overrides it, with a diagnostic', async () => {
    const g = singleNeuron(2, { ...ifNode(1e4), metadata: { reset: 'subtract' } });
    const file = await nirFile('meta-reset', g.nodes, g.edges);
    expect(neuronOf((await readNir(file, { dt: 1e-4 })).model, 'pop').reset).toBe('subtract');
    const z = await readNir(file, { dt: 1e-4, reset: 'zero' });
    expect(neuronOf(z.model, 'pop').reset).toBe('zero');
    expect(z.diagnostics).toEqual([{ node: 'pop', message: 'reset to zero (--reset zero), overriding the file\'s metadata reset = "subtract"' }]);
  });

  it('an Input shape with a leading batch axis of 1 is accepted (the axis dropped, one diagnostic); a one-channel image keeps its channel axis', async () => {
    const lif = (shape: number[]): NirNodeOut => ({ name: 'lif', type: 'LIF', params: { tau: d32(fill(sizeOf(shape), 1e-3), shape), r: d32(fill(sizeOf(shape), 10), shape), v_leak: d32(fill(sizeOf(shape), 0), shape), v_threshold: d32(fill(sizeOf(shape), 1), shape) } });
    const norse: NirNodeOut[] = [
      { name: 'input', type: 'Input', params: { shape: ints([1, 3]) } },
      { name: 'aff', type: 'Affine', params: { weight: d32(fill(12, 0.5), [4, 3]), bias: d32(fill(4, 0), [4]) } },
      lif([4]),
      { name: 'output', type: 'Output', params: { shape: ints([1, 4]) } },
    ];
    const a = await readNir(await nirFile('batch-dense', norse, chain('input', 'aff', 'lif', 'output')), { dt: 1e-4 });
    expect(a.model.input.shape).toEqual([3]);
    expect(a.diagnostics.filter((d) => d.node === 'input').map((d) => d.message)).toEqual(['Input shape [1, 3] has a leading batch axis of 1 (Norse, Rockpool, snnTorch without ignore_dims); dropped: the input is [3]']);
    const conv = (cin: number): NirNodeOut => ({ name: 'conv', type: 'Conv2d', params: { weight: d32(fill(2 * cin * 9, 0.1), [2, cin, 3, 3]), bias: d32([0, 0], [2]), stride: ints([1, 1]), padding: ints([1, 1]), dilation: ints([1, 1]), groups: ints([1], []) } });
    const image = (shape: number[], cin: number) => [{ name: 'input', type: 'Input', params: { shape: ints(shape) } }, lif([1, 6, 6].map((d, k) => (k === 0 ? cin : d))), conv(cin), { name: 'if', type: 'IF', params: { r: d32([1], []), v_threshold: d32([1], []), v_reset: d32([0], []) } }, { name: 'output', type: 'Output', params: { shape: ints([2, 6, 6]) } }] as NirNodeOut[];
    const b = await readNir(await nirFile('batch-conv', image([1, 2, 6, 6], 2), chain('input', 'lif', 'conv', 'if', 'output')), { dt: 1e-4 });
    expect(b.model.input.shape).toEqual([2, 6, 6]); // found past the elementwise LIF
    const c = await readNir(await nirFile('one-channel', image([1, 6, 6], 1), chain('input', 'lif', 'conv', 'if', 'output')), { dt: 1e-4 });
    expect(c.model.input.shape).toEqual([1, 6, 6]);
    expect(c.diagnostics.some((d) => d.node === 'input')).toBe(false);
  });
});

describe('per-neuron gains: folded into the weights only when the same for every neuron and the layer feeds only this neuron', () => {
  const lif = (name: string, tau: number[], r: number[]): NirNodeOut => ({ name, type: 'LIF', params: { tau: d64(tau, [tau.length]), r: d64(r, [r.length]), v_leak: d64(fill(r.length, 0), [r.length]), v_threshold: d64(fill(r.length, 1), [r.length]), v_reset: d64(fill(r.length, 0), [r.length]) } });

  it('a uniform gain with no weights in front (Input → LIF) is a scalar r; an Affine feeding two populations keeps its weights and each gets its r', async () => {
    const direct = await readNir(await nirFile('direct', [{ name: 'input', type: 'Input', params: { shape: ints([2]) } }, lif('lif', [1e-3, 1e-3], [1, 1]), { name: 'output', type: 'Output', params: { shape: ints([2]) } }], chain('input', 'lif', 'output')), { dt: 1e-4 });
    expect(direct.model.layers.map((l) => l.name)).toEqual(['lif']);
    expect(neuronOf(direct.model, 'lif').params.r).toBeCloseTo(0.1, 12);
    const w = [0.5, -0.25, 1, 2];
    const nodes: NirNodeOut[] = [
      { name: 'input', type: 'Input', params: { shape: ints([2]) } },
      { name: 'aff', type: 'Linear', params: { weight: d32(w, [2, 2]) } },
      lif('a', [1e-3, 1e-3], [1, 1]),
      lif('b', [2e-3, 2e-3], [1, 1]),
      { name: 'sum', type: 'Scale', params: { scale: d32([1, 1], [2]) } },
      { name: 'output', type: 'Output', params: { shape: ints([2]) } },
    ];
    const shared = await readNir(await nirFile('shared', nodes, [...chain('input', 'aff', 'a', 'sum', 'output'), ['aff', 'b'], ['b', 'sum']]), { dt: 1e-4 });
    expect([...(shared.model.layers[0] as L.Dense).weight.data]).toEqual(w);
    expect(neuronOf(shared.model, 'a').params.r).toBeCloseTo(0.1, 12);
    expect(neuronOf(shared.model, 'b').params.r).toBeCloseTo(0.05, 12);
    expect(shared.diagnostics.map((d) => d.message)).toContain('2 incoming edges are summed');
  });

  it('per-neuron τ and R: per-neuron β and r, the Affine in front unchanged; per-channel values after a conv are one value per channel', async () => {
    const { type, params } = lif('pop', [1e-3, 2e-3, 4e-3], [10, 10, 10]);
    const g = singleNeuron(3, { type, params });
    const { model } = await readNir(await nirFile('per-neuron', g.nodes, g.edges), { dt: 1e-4 });
    expect(valuesOf(model, 'pop', 'beta')).toEqual(asF32([0.9, 0.95, 0.975]));
    expect(valuesOf(model, 'pop', 'r')).toEqual(asF32([1, 0.5, 0.25]));
    expect([...(model.layers[0] as L.Dense).weight.data]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const shape = [2, 3, 3];
    const perChannel = (a: number, b: number) => d32([...fill(9, a), ...fill(9, b)], shape);
    const nodes: NirNodeOut[] = [
      { name: 'input', type: 'Input', params: { shape: ints([1, 3, 3]) } },
      { name: 'conv', type: 'Conv2d', params: { weight: d32(fill(18, 0.3), [2, 1, 3, 3]), bias: d32([0, 0], [2]), stride: ints([1, 1]), padding: ints([1, 1]), dilation: ints([1, 1]), groups: ints([1], []) } },
      { name: 'lif', type: 'LIF', params: { tau: perChannel(1e-3, 2e-3), r: perChannel(10, 20), v_leak: perChannel(0, 0.5), v_threshold: perChannel(1, 2), v_reset: perChannel(0, 0) } },
      { name: 'output', type: 'Output', params: { shape: ints(shape) } },
    ];
    const conv = (await readNir(await nirFile('per-channel', nodes, chain('input', 'conv', 'lif', 'output')), { dt: 1e-4 })).model;
    const p = neuronOf(conv, 'lif').params;
    expect((p.beta as { shape: readonly number[] }).shape).toEqual([2, 1, 1]);
    expect([...(p.beta as { data: Float32Array }).data]).toEqual(asF32([0.9, 0.95]));
    expect(p.r).toBe(1); // R = τ/dt in every channel: the gain is 1 everywhere
    expect([...(p.v_leak as { data: Float32Array }).data]).toEqual([0, 0.5]);
  });
});

describe('cycles, and what stays out of scope', () => {
  it('a cycle through a neuron and two other nodes is read (the edge out of the neuron one step late); a readout ⇄ Linear loop too', async () => {
    const g = singleNeuron(2, { type: 'IF', params: { r: d32([1, 1], [2]), v_threshold: d32([1, 1], [2]), v_reset: d32([0, 0], [2]) } });
    const nodes = [...g.nodes, { name: 'back', type: 'Scale', params: { scale: d32([0.5, 2], [2]) } }];
    const { model } = await readNir(await nirFile('cycle3', nodes, [...g.edges, ['pop', 'back'], ['back', 'w']]), { dt: 1 });
    expect(model.layers.map((l) => `${l.name}:${L.layerKind(l)}:${l.inputs.join('+')}`)).toEqual(['back:batchnorm:pop', 'w.sum:add:input+back', 'w:dense:w.sum', 'pop:if:w']);
    const li = singleNeuron(2, { type: 'LI', params: { tau: d32([1, 1], [2]), r: d32([1, 1], [2]), v_leak: d32([0, 0], [2]) } });
    const lin = { name: 'rec', type: 'Linear', params: { weight: d32([1, 0, 0, 1], [2, 2]) } };
    const rec = await readNir(await nirFile('li-rec', [...li.nodes, lin], [...li.edges, ['pop', 'rec'], ['rec', 'pop']]), { dt: 0.5 });
    expect(rec.model.layers.map((l) => l.name)).toEqual(['w', 'rec', 'pop.sum', 'pop']);
  });

  it('the writer refuses alif (no NIR primitive) and an unknown model by name, exit 3, in check and emit', async () => {
    const model = (layer: L.NeuronLayer): SnnModel => ({ name: 'm', input: { shape: [3], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS }, layers: [layer], output: { layer: layer.name, decoding: 'spike_count' }, timesteps: 4, dt: 1e-3, metadata: {} });
    const alif = model(L.neuron('alif', { name: 'a', inputs: [INPUT], params: { beta: 0.9, rho: 0.9, kappa: 0.1 } }));
    expect(nirTarget.neuronModels).not.toContain('alif');
    expect(nirTarget.check(alif, {})).toMatchObject({ fits: false, messages: [expect.stringMatching(/layer "a": the nir target does not support alif neurons/)] });
    const e = await rejection(nirTarget.emit(alif, join(dir, 'alif-out'), {}));
    expect(e.exitCode).toBe(ExitCode.doesNotFit);
    registerNeuronModel({ name: 'dummy_nir', title: 'dummy', equations: 'v ← v + I', params: [], state: [{ name: 'v', init: 0 }], update: [{ state: 'v', expr: { kind: 'input' } }], membrane: 'v' });
    try {
      const dummy = model(L.neuron('dummy_nir', { name: 'd', inputs: [INPUT], params: {} }));
      expect(nirTarget.check({ ...dummy, output: { layer: 'd', decoding: 'accumulate' } }, {}).fits).toBe(false);
      expect(() => toNirGraph({ ...dummy, output: { layer: 'd', decoding: 'accumulate' } })).toThrow(/dummy_nir/);
    } finally {
      unregisterNeuronModel('dummy_nir');
    }
  });

  it('the writer refuses a CUBA membrane bias and β = 1 by layer and field (exit 3); v0 goes to metadata and is read back', async () => {
    const base = { name: 'm', input: { shape: [2], encoding: { type: 'events' as const }, preprocess: IDENTITY_PREPROCESS }, output: { layer: 'n', decoding: 'spike_count' as const }, timesteps: 4, dt: 1e-3, metadata: {} };
    const bias = { ...base, layers: [L.neuron('cuba_lif', { name: 'n', inputs: [INPUT], params: { alpha: 0.5, beta: 0.5, bias: tensor([2], Float32Array.of(0.1, 0)) } })] };
    expect(() => toNirGraph(bias)).toThrow(/^layer "n" \(cuba_lif\): a membrane bias; NIR cannot express it$/);
    const leakless = { ...base, layers: [L.neuron('lif', { name: 'n', inputs: [INPUT], params: { beta: tensor([2], Float32Array.of(1, 0.5)) } })] };
    expect(() => toNirGraph(leakless)).toThrow(/^layer "n" \(lif\): beta = 1 \(no decay\) for 1 neuron\(s\)/);
    const v0 = { ...base, layers: [L.neuron('lif', { name: 'n', inputs: [INPUT], params: { beta: 0.5, v0: tensor([2], Float32Array.of(0.25, -0.5)) }, reset: 'zero' })] };
    const out = join(dir, 'v0-out');
    const { warnings } = await nirTarget.emit(v0, out, {});
    expect(warnings).toEqual(['layer "n": NIR has no initial membrane; v0 is kept in node metadata only']);
    const back = await readNir(join(out, 'model.nir'), { dt: 1e-3 });
    expect(valuesOf(back.model, 'n', 'v0')).toEqual([0.25, -0.5]);
    expect(back.diagnostics.map((d) => d.message)).toContain('initial membrane v0 from the node metadata (snnc\'s; NIR has no initial state)');
    expectSameModel(back.model, v0);
  });
});
