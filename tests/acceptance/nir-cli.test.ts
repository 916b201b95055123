/**
 * The command line with `.nir` models (issue #16): `simulate` and `compile` take --dt and --reset as
 * `import` does, a time-series input [N, T, ...] sets T when -T is not given, and the reader's
 * diagnostics reach stderr one line each. Runs the built CLI (dist/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNir } from '../../compiler/frontends/nir/read.js';
import type * as L from '../../compiler/ir/layers.js';
import { parseNpy, writeNpyFloat32 } from '../../compiler/io/npy.js';
import { writeNirFile } from '../../targets/nir/index.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

/** Input [2] → Linear (identity) → IF (R = 1e4, θ = 1, v_reset = 0, as nir ≥ 1.0.6 writes) → Output. */
async function ifGraph(): Promise<string> {
  const path = join(dir, 'if.nir');
  const f = (data: number[], shape: number[]) => ({ kind: 'float' as const, data: Float32Array.from(data), shape });
  const i = (data: number[]) => ({ kind: 'int' as const, data, shape: [data.length] });
  await writeNirFile(path, {
    nodes: [
      { name: 'input', type: 'Input', params: { shape: i([2]) } },
      { name: 'w', type: 'Linear', params: { weight: f([1, 0, 0, 1], [2, 2]) } },
      { name: 'if', type: 'IF', params: { r: f([1e4, 1e4], [2]), v_threshold: f([1, 1], [2]), v_reset: f([0, 0], [2]) } },
      { name: 'output', type: 'Output', params: { shape: i([2]) } },
    ],
    edges: [['input', 'w'], ['w', 'if'], ['if', 'output']],
    warnings: [],
  });
  return path;
}

/** One sample of T steps of a constant current `x` into both neurons: [1, T, 2]. */
function series(T: number, x: number): string {
  const path = join(dir, `x-${T}-${x}.npy`);
  writeNpyFloat32(path, new Float32Array(T * 2).fill(x), [1, T, 2]);
  return path;
}

const spikeCounts = (out: string) => [...parseNpy(new Uint8Array(readFileSync(out)), out).data];

describe('snnc simulate/compile of a .nir model', () => {
  it('simulate: T comes from the input\'s time axis; --reset subtract overrides v_reset = 0 (one diagnostic line); --dt scales the IF gain R·dt', async () => {
    const model = await ifGraph();
    const x = series(8, 0.7);
    const out = join(dir, 'y.npy');
    const plain = snnc(['simulate', model, '--input', x, '--json', '--output', out]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).T).toBe(8);
    expect(spikeCounts(out)).toEqual([4, 4]); // 0.7 per step (dt = 1/R): 0.7, 1.4 → 0, …
    const sub = snnc(['simulate', model, '--input', x, '--json', '--output', out, '--reset', 'subtract']);
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stderr).toContain('snnc: warning: node "if": reset by subtraction (--reset subtract), overriding the file\'s v_reset = 0\n');
    expect(spikeCounts(out)).toEqual([5, 5]); // 0.7, 1.4 → 0.4, 1.1 → 0.1, 0.8, 1.5 → 0.5, 1.2 → 0.2, 0.9, 1.6
    const fast = snnc(['simulate', model, '--input', x, '--json', '--output', out, '--dt', '1e-3']);
    expect(fast.code, fast.stderr).toBe(0);
    expect(spikeCounts(out)).toEqual([8, 8]); // gain R·dt = 10
    const fixed = snnc(['simulate', model, '--input', series(12, 0.7), '-T', '12', '--json']);
    expect(JSON.parse(fixed.stdout).T).toBe(12);
    const bad = snnc(['simulate', model, '--input', x, '--reset', 'sideways']);
    expect(bad.code).toBe(2);
  });

  it('compile: --dt and --reset reach the NIR reader (here, written back by the nir target)', async () => {
    const model = await ifGraph();
    const out = join(dir, 'compiled');
    const r = snnc(['compile', model, '--target', 'nir', '--dt', '1e-3', '--reset', 'subtract', '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).dt).toBe(1e-3);
    const { model: back, diagnostics } = await readNir(join(out, 'model.nir'), { dt: 1e-3 });
    expect(back.layers.map((l) => l.name)).toEqual(['w', 'if']);
    expect([...(back.layers[0] as L.Dense).weight.data]).toEqual([10, 0, 0, 10]); // the gain R·dt = 10, folded into the weights
    expect((back.layers[1] as L.NeuronLayer).reset).toBe('subtract');
    expect(diagnostics.map((d) => d.message)).toEqual(['reset by subtraction, from the node metadata']);
  });

  it('import --semantics snntorch reads an snnTorch export with snnTorch\'s late reset, and the nir target refuses that model by name', () => {
    const out = join(dir, 'snntorch.json');
    const r = snnc(['import', 'tests/fixtures/nir-peers/snntorch_leaky.nir', '--semantics', 'snntorch', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\(dense, lif_delayed_reset, dense, lif_delayed_reset\)/);
    expect(r.stderr).toMatch(/lif1.*snnTorch semantics: reset by subtraction one step late/);
    const back = snnc(['compile', out, '--target', 'nir', '-o', join(dir, 'snntorch-nir')]);
    expect(back.code).toBe(3);
    expect(back.stderr).toMatch(/layer "lif1": the nir target does not support lif_delayed_reset neurons/);
    expect(snnc(['compile', out, '--target', 'gpu', '-o', join(dir, 'snntorch-gpu')]).code).toBe(0);
  });
});
