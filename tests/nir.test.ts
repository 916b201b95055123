/**
 * NIR import (the part built so far): the NIR paper's golden LIF neuron, the Sinabs N-MNIST CNN with
 * bit-identical weights compiled to the gpu target, every fixture file read (imported, or refused with a
 * clear error), the strict-threshold mapping, and fuzzed bytes.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnncError } from '../compiler/errors.js';
import { nextFloat32Up, readNir } from '../compiler/frontends/nir/read.js';
import type * as L from '../compiler/ir/layers.js';
import { readArray } from '../runtime/datasets.js';
import { simulate } from '../runtime/simulator.js';
import { compareWithOrt, inputFor } from './helpers/compare.js';
import { tempDir } from './helpers/tmp.js';

const NIR = '../shared/fixtures/nir';
const dir = tempDir();

function nirFiles(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? nirFiles(p) : p.endsWith('.nir') ? [p] : [];
  });
}

describe('NIR import', () => {
  it('golden: lif_norse.nir with forward Euler, dt = 1e-4, reset to zero spikes at 460, 510, 710, 760 and follows the membrane trace', async () => {
    const { model, diagnostics } = await readNir(`${NIR}/paper/01_lif/lif_norse.nir`, { dt: 1e-4, reset: 'zero', timesteps: 1000 });
    expect(diagnostics.map((d) => d.node)).toEqual(['1']); // the missing v_reset of a 0.1.1 file
    const rows = readFileSync(`${NIR}/paper/01_lif/expected/lif_norse.csv`, 'utf8').trim().split('\n').map((r) => r.split(',').map(Number));
    const lif = model.layers[1].name;
    const r = simulate(model, Float32Array.from(rows.map((row) => row[0])), 1, { probes: [lif], membranes: [lif] });
    expect([...r.spikes.get(lif)!].flatMap((s, i) => (s ? [i] : []))).toEqual([460, 510, 710, 760]);
    const v = r.membranes.get(lif)!;
    rows.forEach((row, i) => expect(Math.abs(v[i] - row[1])).toBeLessThan(1e-6)); // float32 vs the recorded float64 trace
  });

  it('cnn_sinabs.nir imports with weights bit-identical to the pretrained ANN and compiles to the gpu target (0 spike mismatches)', async () => {
    const { model } = await readNir(`${NIR}/paper/02_cnn/cnn_sinabs.nir`, { timesteps: 12 });
    expect(model.input.shape).toEqual([2, 34, 34]);
    const weighted = model.layers.filter((l): l is L.Conv2d | L.Dense => l.op === 'conv2d' || l.op === 'dense');
    const keys = ['0', '2', '5', '9', '11'];
    expect(weighted.length).toBe(keys.length);
    weighted.forEach((layer, k) => {
      const ref = readArray(`../shared/fixtures/models/nir_nmnist_cnn/DERIVED_${keys[k]}.weight.npy`);
      expect(layer.weight.shape).toEqual(ref.shape);
      const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      expect(bytes(layer.weight.data).equals(bytes(ref.data))).toBe(true);
    });
    const c = await compareWithOrt(model, inputFor(model, 3), 3, 'layerwise', 2);
    expect(c.spikes).toBeGreaterThan(1000);
    expect(c.mismatches).toBe(0);
  });

  it('every fixture file is read: imported, or refused with a clear error naming the node', async () => {
    const files = nirFiles(NIR);
    expect(files.length).toBeGreaterThanOrEqual(12);
    const imported: string[] = [];
    for (const f of files) {
      try {
        await readNir(f);
        imported.push(f.slice(NIR.length + 1));
      } catch (e) {
        expect(e).toBeInstanceOf(SnncError);
        expect((e as Error).message).toMatch(/node "[^"]+"|expected one Input and one Output/);
      }
    }
    expect(imported.sort()).toEqual(['paper/01_lif/lif_norse.nir', 'paper/01_lif/lif_rockpool.nir', 'paper/02_cnn/cnn_sinabs.nir']);
  });

  it("NIR's strict threshold: x > θ exactly when x ≥ nextFloat32Up(θ), for float32 x and θ", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true }), (x, theta) => {
        const t = Math.fround(theta);
        const up = nextFloat32Up(t);
        expect(Math.fround(up)).toBe(up);
        expect(x > t).toBe(x >= up);
      }),
      { numRuns: 2000 },
    );
  });

  it('fast-check: mutated bytes of a fixture never crash the reader with anything but an SnncError', async () => {
    const bytes = new Uint8Array(readFileSync(`${NIR}/paper/01_lif/lif_norse.nir`));
    const path = join(dir, 'mutated.nir');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), async (edits) => {
        const m = bytes.slice();
        for (const [pos, v] of edits) m[pos] = v;
        writeFileSync(path, m);
        try {
          await readNir(path);
        } catch (e) {
          if (!(e instanceof SnncError)) throw e;
        }
      }),
      { numRuns: 150 },
    );
  });
});
