/**
 * Adding a target is one folder plus one registry line: a target defined here, in the test file, and
 * registered with `registerTarget` appears in `snnc --help`, in `compile`, `check`, `run` and `diff`,
 * with its own option, without any other file knowing it. The CLI runs in process (cli/main.ts main).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { positiveInt } from '../../compiler/io/option-values.js';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import { main } from '../../cli/main.js';
import { registerTarget, unregisterTarget } from '../../targets/index.js';
import type { CompileOptions, Target } from '../../targets/target.js';
import { tempDir } from '../helpers/tmp.js';
import { ALL_MODELS } from '../helpers/models.js';

const dir = tempDir();
const seen: { command: string; options: FakeOptions }[] = [];

/** The fake target's typed options: the common ones plus its own (`--fake-level`, and `--fake-name` stored as `label`). */
interface FakeOptions extends CompileOptions {
  readonly fakeLevel?: number;
  readonly label?: string;
}

/** A target that writes one file, counts neurons, and "emulates" by returning zeros. */
const fake: Target<FakeOptions> = {
  name: 'fake',
  description: 'a target defined in a test file',
  neuronModels: ['if', 'lif'],
  options: [
    { flags: '--fake-level <n>', description: 'fake: how hard to try', parse: positiveInt, default: 2 },
    { flags: '--fake-name <text>', description: 'fake: a label for the folder', field: 'label' },
  ],
  check(model, options) {
    seen.push({ command: 'check', options });
    return { target: 'fake', fits: true, rows: model.layers.map((l) => ({ layer: l.name })), messages: [`fake level ${options.fakeLevel}`] };
  },
  async emit(model, outDir, options) {
    seen.push({ command: 'compile', options });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'fake.json'), JSON.stringify({ model: model.name, shape: model.input.shape, timesteps: model.timesteps }));
    return { files: ['fake.json'], summary: { level: options.fakeLevel ?? 0, label: options.label ?? '' } };
  },
  recognises: (d) => existsSync(join(d, 'fake.json')),
  async open(d) {
    const f = JSON.parse(readFileSync(join(d, 'fake.json'), 'utf8'));
    return { input: { shape: f.shape, encoding: { type: 'direct' } }, timesteps: f.timesteps, description: 'fake engine', batch: 4, run: (_x, n) => ({ output: new Float32Array(n * 3), classes: 3 }) };
  },
  diff(model, _raw, batch, options) {
    seen.push({ command: 'diff', options });
    return { target: 'fake', layers: [{ layer: model.layers[0].name, depth: 0, floatSpikes: 0, emulatorSpikes: 0, mismatches: 0 }], samples: batch, timesteps: model.timesteps, agreeing: batch };
  },
};

/** Runs the CLI in process; returns the exit code and what it printed. */
async function snnc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    const code = await main(['node', 'snnc', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('a target defined in a test file', () => {
  const modelPath = join(dir, 'model.json');
  const xPath = join(dir, 'x.npy');
  beforeAll(() => {
    registerTarget(fake);
    const model: SnnModel = ALL_MODELS.mlp();
    writeModelJson(model, modelPath);
    writeFileSync(xPath, encodeNpyFloat32(new Float32Array(5 * model.input.shape.reduce((a, b) => a * b, 1)), [5, ...model.input.shape]));
  });
  afterAll(() => unregisterTarget('fake'));

  it('appears in --help and in compile\'s --target and options', async () => {
    expect((await snnc(['--help'])).stdout).toMatch(/Targets: .*fake/);
    const help = (await snnc(['compile', '--help'])).stdout.replace(/\s+/g, ' '); // commander wraps lines
    expect(help).toMatch(/fake \(a target defined in a test file\)/);
    expect(help).toMatch(/--fake-level <n> fake: how hard to try/);
  });

  it('compile and check reach it with its option; run opens its folder; diff runs its emulator', async () => {
    const out = join(dir, 'fake-out');
    const c = await snnc(['compile', modelPath, '--target', 'fake', '--fake-level', '5', '--fake-name', 'x1', '-o', out, '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ target: 'fake', files: ['fake.json'], level: 5, label: 'x1' });
    expect(seen.at(-1)).toMatchObject({ command: 'compile', options: { fakeLevel: 5, label: 'x1' } });
    const k = await snnc(['check', modelPath, '--target', 'fake']);
    expect(k.stdout).toMatch(/fake level 2/); // the option's default
    const r = await snnc(['run', out, '--input', xPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ engine: 'fake engine', samples: 5 });
    const d = await snnc(['diff', modelPath, '--target', 'fake', '--input', xPath, '--fake-level', '3']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/5 samples, T=\d+: predictions agree on 5\/5/);
    expect(seen.at(-1)).toMatchObject({ command: 'diff', options: { fakeLevel: 3 } });
    expect((await snnc(['compile', modelPath, '--target', 'fake', '--fake-level', '0', '-o', out])).code).toBe(2); // its parser validates
  });
});
