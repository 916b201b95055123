/**
 * NIR export: a write → read round trip is exact (weights bit for bit, every neuron parameter in float32,
 * reset mode, recurrence) and fires the same spikes; the written file follows nir.md §4 exactly (checked by walking
 * the HDF5 tree); what NIR cannot express is refused with exit code 3.
 */
import { join } from 'node:path';
import h5wasm, { type Dataset, type Group } from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { readNir } from '../../compiler/frontends/nir/read.js';
import * as L from '../../compiler/ir/layers.js';
import { paramValues } from '../../compiler/ir/params.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { nirTarget, toNirGraph } from '../../targets/nir/index.js';
import { inputFor } from '../helpers/compare.js';
import { tempDir } from '../helpers/tmp.js';

const NIR = '../shared/fixtures/nir';
const dir = tempDir();

const SOURCES = [
  { file: 'paper/03_rnn/braille_noDelay_bias_zero.nir', reset: 'zero' as const },
  { file: 'paper/03_rnn/braille_noDelay_noBias_subtract.nir', reset: 'subtract' as const },
  { file: 'paper/02_cnn/cnn_sinabs.nir', reset: 'subtract' as const },
  { file: 'paper/01_lif/lif_norse.nir', reset: 'zero' as const },
];

async function roundTrip(model: SnnModel, name: string): Promise<SnnModel> {
  const out = join(dir, name);
  await nirTarget.emit(model, out, {});
  return (await readNir(join(out, 'model.nir'), { dt: model.dt, timesteps: model.timesteps })).model;
}

const bits = (t: { data: Float32Array } | undefined) => (t ? Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex') : undefined);

/** Same layers, weights bit for bit, and every neuron parameter equal in float32 (as the IR uses them) for every neuron. */
function expectSameLayers(back: SnnModel, model: SnnModel): void {
  const kind = (l: L.Layer) => [l.name, L.isNeuron(l) ? l.model : l.op];
  expect(back.layers.map(kind)).toEqual(model.layers.map(kind));
  const shapes = verifyModel(model);
  back.layers.forEach((b, k) => {
    const a = model.layers[k] as L.Layer & Record<string, unknown>;
    const r = b as L.Layer & Record<string, unknown>;
    for (const key of ['weight', 'bias', 'recurrent'] as const) expect(bits(r[key] as never), `${b.name}.${key}`).toEqual(bits(a[key] as never));
    if (!L.isNeuron(a) || !L.isNeuron(b)) return;
    for (const key of Object.keys(a.params)) expect([...paramValues(b.params[key], shapes.get(b.name)!)], `${b.name}.${key}`).toEqual([...paramValues(a.params[key], shapes.get(a.name)!)]);
    expect(b.reset).toBe(a.reset);
  });
}

describe('NIR export', () => {
  for (const src of SOURCES) {
    it(`${src.file}: read → write → read is exact and fires the same spikes`, async () => {
      const { model } = await readNir(`${NIR}/${src.file}`, { dt: 1e-4, reset: src.reset, timesteps: 25 });
      const back = await roundTrip(model, src.file.replace(/\W/g, '_'));
      expectSameLayers(back, model);
      const x = inputFor(model, 2, 5);
      const s1 = simulate(model, x, 2, { probes: 'all' }).spikes;
      const s2 = simulate(back, x, 2, { probes: 'all' }).spikes;
      for (const [layer, s] of s1) expect([...s2.get(layer)!]).toEqual([...s]);
    });
  }

  it('the file follows nir.md §4: version, node/{type, edges, nodes}, typed parameters, no attributes', async () => {
    const { model } = await readNir(`${NIR}/paper/03_rnn/braille_noDelay_bias_zero.nir`, { dt: 1e-4 });
    const out = join(dir, 'layout');
    await nirTarget.emit(model, out, {});
    await h5wasm.ready;
    const f = new h5wasm.File(join(out, 'model.nir'), 'r');
    try {
      const allowed: Record<string, string[]> = {
        Input: ['shape'],
        Output: ['shape'],
        Affine: ['weight', 'bias'],
        Linear: ['weight'],
        CubaLIF: ['tau_syn', 'tau_mem', 'r', 'v_leak', 'v_threshold', 'v_reset', 'w_in'],
      };
      expect(f.keys().sort()).toEqual(['node', 'version']);
      expect((f.get('version') as Dataset).value).toBe('1.0.7');
      expect(Object.keys(f.attrs)).toEqual([]);
      const root = f.get('node') as Group;
      expect(root.keys().sort()).toEqual(['edges', 'nodes', 'type']);
      expect((root.get('type') as Dataset).value).toBe('NIRGraph');
      const edges = root.get('edges') as Dataset;
      expect(edges.shape).toEqual([7, 2]);
      const pairs = edges.value as string[];
      expect(pairs.filter((_, i) => i % 2 === 0).every((s) => typeof s === 'string')).toBe(true);
      const nodes = root.get('nodes') as Group;
      expect(nodes.keys().sort()).toEqual(['fc1', 'fc2', 'input', 'lif1.lif', 'lif1.lif.w_rec', 'lif2', 'output']);
      for (const name of nodes.keys()) {
        const g = nodes.get(name) as Group;
        expect(Object.keys(g.attrs)).toEqual([]);
        const type = (g.get('type') as Dataset).value as string;
        const params = g.keys().filter((k) => k !== 'type' && k !== 'metadata');
        expect(params.sort()).toEqual([...allowed[type]].sort());
        for (const p of params) {
          // int64 shapes, float32 weights (exact), float64 neuron parameters (so τ = dt/(1 − β) reads back to the same β).
          const d = g.get(p) as Dataset;
          expect(d.dtype, `${name}/${p}`).toBe(p === 'shape' ? '<q' : type === 'CubaLIF' ? '<d' : '<f');
        }
      }
      // The recurrent cycle, snnTorch-style.
      const e = Array.from({ length: 7 }, (_, i) => `${pairs[2 * i]}->${pairs[2 * i + 1]}`);
      expect(e).toContain('lif1.lif->lif1.lif.w_rec');
      expect(e).toContain('lif1.lif.w_rec->lif1.lif');
    } finally {
      f.close();
    }
  });

  it('refuses what NIR cannot express (max-pooling) with exit code 3 and names the layer', () => {
    const model = readModelJson('examples/mnist-cnn/model.json');
    try {
      toNirGraph(model);
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(SnncError);
      expect((e as SnncError).exitCode).toBe(ExitCode.doesNotFit);
      expect((e as Error).message).toMatch(/layer "pool1" \(maxpool2d\).*NIR cannot express it/);
    }
    expect(nirTarget.check(model, {}).fits).toBe(false);
  });
});
