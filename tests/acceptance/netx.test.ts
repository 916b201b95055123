/**
 * NetX (.net) import and export: each lava-dl fixture read, written by the netx target, and read back gives
 * identical parameters, and the written HDF5 holds the original integers; unsupported files fail by name.
 */
import { join } from 'node:path';
import h5wasm, { type Dataset } from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/frontends/index.js';
import { isNeuron } from '../../compiler/ir/layers.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { netxTarget, toNetxLayers, writeNetxFile } from '../../targets/netx/index.js';
import { quantiseForLoihi } from '../../targets/loihi/quantise.js';
import { cubaRecurrent } from '../helpers/models.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const LAVA = '../shared/fixtures/lava';
const FIXTURES = ['oxford/network.net', 'tinynet/tiny.net', 'mnist_netx/trained_mnist_network.net', 'pilotnet_sdnn/network.net'];

/** Every numeric parameter of every layer, by layer and field (a neuron's parameters as `params.<name>`). */
function parameters(m: SnnModel): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const value = (v: unknown) => (v && typeof v === 'object' && 'data' in v ? { shape: (v as unknown as { shape: unknown }).shape, data: Array.from((v as { data: Float32Array }).data, (x) => x + 0) /* −0 and 0 are the same weight */ } : v);
  for (const l of m.layers) {
    for (const [k, v] of Object.entries(l)) {
      if (k === 'name' || k === 'inputs') continue;
      if (k === 'params') for (const [p, x] of Object.entries(v as object)) out[`${l.name}.params.${p}`] = value(x);
      else out[`${l.name}.${k}`] = value(v);
    }
  }
  return out;
}

async function datasets(file: string): Promise<Map<string, number[]>> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'r');
  const out = new Map<string, number[]>();
  try {
    const layers = f.get('layer') as unknown as { keys(): string[] };
    for (const i of layers.keys()) {
      // A sigma_output layer's vThMant means nothing (netx builds a Sigma, which has no threshold): not kept.
      const sigma = f.get(`layer/${i}/neuron/sigma_output`) !== null;
      for (const key of ['weight', 'bias', 'neuron/iDecay', 'neuron/vDecay', ...(sigma ? [] : ['neuron/vThMant']), 'shape']) {
        const d = f.get(`layer/${i}/${key}`) as Dataset | null;
        if (d) out.set(`${i}/${key}`, [d.value as ArrayLike<number | bigint>].flat().flatMap((v) => (typeof v === 'object' ? Array.from(v as ArrayLike<number | bigint>, (x) => Number(x) + 0) : [Number(v) + 0])));
      }
    }
  } finally {
    f.close();
  }
  return out;
}

describe('NetX round trip', () => {
  const dir = tempDir();
  for (const fixture of FIXTURES) {
    it(`${fixture}: read → write → read gives identical parameters and the same integers`, async () => {
      const original = `${LAVA}/${fixture}`;
      const a = await loadModel(original);
      const out = join(dir, fixture.replace(/\W/g, '_'));
      await netxTarget.emit(a, out, {});
      const b = await loadModel(join(out, 'model.net'));
      expect(parameters(b)).toEqual(parameters(a));
      expect(b.timesteps).toBe(a.timesteps);
      expect(b.input).toEqual(a.input);
      const before = await datasets(original);
      const after = await datasets(join(out, 'model.net'));
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [k, v] of before) expect({ k, v: after.get(k) }).toEqual({ k, v });
    });
  }

  it('dense layers written with a 3-d shape [N, 1, 1], as lava-dl writes them after a flatten, read as N neurons (bias and recurrence too)', async () => {
    const base = cubaRecurrent(); // NetX neurons start at 0, reset to zero and take events
    const model: SnnModel = { ...base, input: { ...base.input, encoding: { type: 'events' } }, layers: base.layers.map((l) => (isNeuron(l) ? { ...l, reset: 'zero' as const, params: { ...l.params, v0: 0 } } : l)) };
    const layers = toNetxLayers(quantiseForLoihi(model));
    const flat = join(dir, 'flat.net');
    const lava = join(dir, 'lava-shapes.net');
    await writeNetxFile(flat, layers, model.timesteps);
    const threeD = layers.map((l) => {
      const type = l.datasets.type;
      const shape = l.datasets.shape;
      if (type?.kind !== 'str' || !type.value.startsWith('dense') || shape?.kind !== 'int') return l;
      return { ...l, datasets: { ...l.datasets, shape: { ...shape, data: [...shape.data, 1, 1], shape: [3] } } };
    });
    expect(threeD.filter((l) => l.datasets.shape?.kind === 'int' && l.datasets.shape.data.length === 3)).toHaveLength(2);
    await writeNetxFile(lava, threeD, model.timesteps);
    const [a, b] = [await loadModel(flat), await loadModel(lava)];
    expect(parameters(b)).toEqual(parameters(a));
    expect(b.layers.map((l) => l.op)).toEqual(a.layers.map((l) => l.op)); // no extra flatten
  });

  it('an SDNN network imports as delta → sigma_delta … → i; a missing file and a model NetX cannot express fail by name', () => {
    const sdnn = snnc(['import', `${LAVA}/pilotnet_sdnn/network.net`, '-o', join(dir, 'x.json')]);
    expect(sdnn.code).toBe(0);
    expect(sdnn.stdout).toMatch(/18 layers \(delta, conv2d, sigma_delta, .* dense, i\)/);
    const missing = snnc(['import', join(dir, 'nope.net'), '-o', join(dir, 'x.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.net: cannot read NetX file \(ENOENT\)/);
    const cnn = snnc(['compile', 'examples/mnist-cnn/model.json', '--target', 'netx', '-o', join(dir, 'cnn')]);
    expect(cnn.code).toBe(3);
    expect(cnn.stderr).toMatch(/layer "if1": a host-computed input prefix cannot be expressed in NetX/);
  });
});
