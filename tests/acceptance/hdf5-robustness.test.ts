/**
 * HDF5 robustness (NIR and NetX): a corrupt file that sends HDF5 into an endless loop fails with a named
 * error within the time limit (the worker is really stopped); HDF5's error stacks never reach stderr;
 * truncated and corrupt files get named bad-input errors (exit 2, never 3); NaN or infinite parameters are
 * refused by node; the writers refuse values the readers would reject; written files are deterministic.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { loadModel } from '../../compiler/frontends/index.js';
import { readNetx } from '../../compiler/frontends/netx/read.js';
import { readNir } from '../../compiler/frontends/nir/read.js';
import type * as L from '../../compiler/ir/layers.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { quantiseForLoihi } from '../../targets/loihi/quantise.js';
import { netxTarget, toNetxLayers, writeNetxFile } from '../../targets/netx/index.js';
import { nirTarget, toNirGraph, writeNirFile } from '../../targets/nir/index.js';
import { tempDir } from '../helpers/tmp.js';

const NIR = '../shared/fixtures/nir/paper';
const LAVA = '../shared/fixtures/lava';
const dir = tempDir();

/** A fixture with some bytes replaced: [offset, value] pairs. */
function mutated(fixture: string, edits: [number, number][], name: string): string {
  const bytes = new Uint8Array(readFileSync(fixture));
  for (const [pos, v] of edits) bytes[pos] = v;
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** The built CLI with an environment and a hard time limit (a hang fails the test instead of stalling it). */
function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000) {
  const r = spawnSync(process.execPath, [resolve('bin/snnc.js'), ...args], { encoding: 'utf8', env: { ...process.env, SNNC_DEBUG: '', ...env }, timeout: timeoutMs });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

async function rejection(p: Promise<unknown>): Promise<SnncError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SnncError);
    return e as SnncError;
  }
  throw new Error('expected an SnncError');
}

/** Found by byte mutations of the NIR paper files (tests/acceptance/nir.test.ts's fuzz, seed 1 run 48, minimised): one byte makes HDF5 loop forever. */
const HANGING = { fixture: `${NIR}/01_lif/lif_norse.nir`, edits: [[2352, 218]] as [number, number][] };

describe('HDF5 reading never hangs', () => {
  it('the former endless loop (lif_norse.nir, byte 2352 = 218) fails with a named error within the time limit, and the worker really stops', async () => {
    const file = mutated(HANGING.fixture, HANGING.edits, 'hang.nir');
    const t0 = Date.now();
    const e = await rejection(readNir(file, { hdf5TimeoutS: 1.5 }));
    const took = Date.now() - t0;
    expect(e.message).toBe(`${file}: HDF5 parsing did not finish within 1.5 s (corrupt file?)`);
    expect(e.exitCode).toBe(ExitCode.badInput);
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(8000);
    // terminate() stopped the wasm loop: once the replacement worker has loaded h5wasm, the process idles.
    await new Promise((r) => setTimeout(r, 2000));
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const c = process.cpuUsage(c0);
    expect((c.user + c.system) / 1000).toBeLessThan(500); // a spinning thread would use ~1000 ms
    // and the next file reads normally
    const { model } = await readNir(HANGING.fixture, { dt: 1e-4 });
    expect(model.layers.length).toBe(2);
  }, 30_000);

  it('through the CLI: SNNC_HDF5_TIMEOUT limits the parse, exit 2, one line on stderr', () => {
    const file = mutated(HANGING.fixture, HANGING.edits, 'hang-cli.nir');
    const r = cli(['import', file, '-o', join(dir, 'hang.json')], { SNNC_HDF5_TIMEOUT: '1' });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`snnc: error: ${file}: HDF5 parsing did not finish within 1 s (corrupt file?)`);
    const bad = cli(['import', HANGING.fixture, '-o', join(dir, 'x.json')], { SNNC_HDF5_TIMEOUT: 'soon' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/SNNC_HDF5_TIMEOUT must be a positive number of seconds, got "soon"/);
  });
});

describe('corrupt and truncated files are named bad input', () => {
  it('a truncated NIR file is called truncated HDF5, and no HDF5-DIAG stack reaches stderr', () => {
    const file = join(dir, 'truncated.nir');
    writeFileSync(file, readFileSync(`${NIR}/01_lif/lif_norse.nir`).subarray(0, 3000));
    const r = cli(['import', file, '-o', join(dir, 't.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`snnc: error: ${file}: truncated HDF5 (NIR) file: 3000 of 17584 bytes`);
    expect(r.stderr).not.toMatch(/HDF5-DIAG/);
  });

  it('a corrupt NIR member is named by its HDF5 path, without HDF5-DIAG on stderr', () => {
    const file = mutated(`${NIR}/01_lif/lif_norse.nir`, [[11609, 246]], 'corrupt-member.nir');
    const r = cli(['import', file, '-o', join(dir, 'c.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^snnc: error: \S+corrupt-member\.nir: corrupt HDF5 \(NIR\) file: cannot read "\/node\/nodes\/0" \(addr overflow, .*\)$/);
  });

  // Byte edits of tinynet/tiny.net that the reader used to refuse with exit 3 ("does not fit") as if they were valid networks.
  it.each([
    { edits: [[6083, 81]], message: /layer 0: no layer type \(not a lava-dl NetX layer; a corrupt file\?\)/ },
    { edits: [[2122, 121]], message: /layer 0: unknown layer type "inyut" \(not a lava-dl NetX layer; a corrupt file\?\)/ },
    { edits: [[9264, 223]], message: /layer 1: unknown neuron type ".*IHI" \(not a lava-dl NetX neuron; a corrupt file\?\)/ },
    { edits: [[2437, 158]], message: /layer 1: dilation 40449×1 is not valid for a 5×5 kernel on this input \(a corrupt file\?\)/ },
    { edits: [[2507, 162]], message: /layer 1: neuron\/refDelay -\d+ is not a step count \(a corrupt file\?\)/ },
  ] as { edits: [number, number][]; message: RegExp }[])('a corrupt NetX file ($edits) exits 2, not 3', ({ edits, message }) => {
    const file = mutated(`${LAVA}/tinynet/tiny.net`, edits, `corrupt-${edits[0][0]}.net`);
    const r = cli(['import', file, '-o', join(dir, 'n.json')]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/HDF5-DIAG/);
    expect(r.code).toBe(2);
  });

  it('a truncated NetX file is called truncated HDF5 (exit 2)', async () => {
    const file = join(dir, 'truncated.net');
    writeFileSync(file, readFileSync(`${LAVA}/oxford/network.net`).subarray(0, 100_000));
    const e = await rejection(readNetx(file));
    expect(e.message).toBe(`${file}: truncated HDF5 (NetX) file: 100000 of 428160 bytes`);
    expect(e.exitCode).toBe(ExitCode.badInput);
  });
});

describe('NaN and infinite values are refused by name', () => {
  async function lifModel(): Promise<SnnModel> {
    return (await readNir(`${NIR}/01_lif/lif_norse.nir`, { dt: 1e-4, reset: 'zero' })).model;
  }

  it('a NIR parameter that is NaN or infinite names the file, node and parameter', async () => {
    const graph = toNirGraph(await lifModel());
    for (const [param, value] of [['tau', NaN], ['weight', Infinity]] as const) {
      const node = graph.nodes.find((n) => param in n.params)!;
      const copy = { ...graph, nodes: graph.nodes.map((n) => (n === node ? { ...n, params: { ...n.params, [param]: { ...n.params[param], data: Float32Array.from((n.params[param] as { data: Float32Array }).data, () => value) } } } : n)) };
      const file = join(dir, `nan-${param}.nir`);
      await writeNirFile(file, copy as typeof graph);
      const e = await rejection(readNir(file, { dt: 1e-4 }));
      expect(e.message).toBe(`${file}: node "${node.name}" (${node.type}): parameter "${param}" contains NaN or an infinity`);
    }
  });

  it('the NIR dt option must be a finite positive number', async () => {
    for (const dt of [NaN, Infinity, 0, -1e-4]) {
      const e = await rejection(readNir(`${NIR}/01_lif/lif_norse.nir`, { dt }));
      expect(e.message).toBe(`${NIR}/01_lif/lif_norse.nir: dt must be a finite positive number of seconds, got ${dt}`);
    }
  });

  it('a NetX weight that is NaN names the file, layer and field (exit 2)', async () => {
    const model = await loadModel(`${LAVA}/tinynet/tiny.net`);
    const layers = toNetxLayers(quantiseForLoihi(model, {}));
    const k = layers.findIndex((l) => 'weight' in l.datasets);
    const w = layers[k].datasets.weight as { kind: 'float'; data: number[]; shape: number[] };
    const bad = layers.map((l, i) => (i === k ? { ...l, datasets: { ...l.datasets, weight: { ...w, data: w.data.map((x, j) => (j === 0 ? NaN : x)) } } } : l));
    const file = join(dir, 'nan.net');
    await writeNetxFile(file, bad, 10);
    const e = await rejection(readNetx(file));
    expect(e.message).toBe(`${file}: layer ${k}: "weight" contains NaN or an infinity`);
    expect(e.exitCode).toBe(ExitCode.badInput);
  });
});

describe('the writers refuse what their readers would reject', () => {
  async function lifModel(): Promise<SnnModel> {
    return (await readNir(`${NIR}/01_lif/lif_norse.nir`, { dt: 1e-4, reset: 'zero' })).model;
  }

  it('nir: a threshold beyond float32 (1e39) is refused by layer and field, and nothing is written', async () => {
    const model = await lifModel();
    const lif = model.layers[1] as L.NeuronLayer;
    const big: SnnModel = { ...model, layers: [model.layers[0], { ...lif, params: { ...lif.params, threshold: 1e39 } }] };
    const out = join(dir, 'big-threshold');
    const e = await rejection(nirTarget.emit(big, out, {}));
    expect(e.message).toBe(`layer "${lif.name}" (lif): threshold 1e+39 is beyond float32 (v_threshold would be infinite); NIR cannot express it`);
    expect(existsSync(out)).toBe(false);
    expect(nirTarget.check(big, {}).fits).toBe(false);
  });

  it('nir: dt = 1e308 (τ and R overflow) is refused by layer and field', async () => {
    const model = { ...(await lifModel()), dt: 1e308 };
    expect(() => toNirGraph(model)).toThrow(/^layer "[^"]+" \(lif\): tau = Infinity in float32 \(from dt = 1e\+308\), not a finite number; NIR cannot express it$/);
  });

  it('netx: a value outside what the reader accepts is refused by layer and field', async () => {
    const model = await loadModel(`${LAVA}/tinynet/tiny.net`);
    const net = quantiseForLoihi(model, {});
    const p = net.populations[1];
    const bad = { ...net, populations: net.populations.map((x) => (x === p ? { ...p, profile: { ...p.profile, vth: 2 ** 20 } } : x)) };
    expect(() => toNetxLayers(bad)).toThrow(new RegExp(`^layer "${p.name}": neuron/vThMant = 1048576 \\(an integer in 0…262144 expected\\) cannot be expressed in NetX$`));
    const nan = { ...net, populations: net.populations.map((x) => (x === p ? { ...p, profile: { ...p.profile, dv: NaN } } : x)) };
    expect(() => toNetxLayers(nan)).toThrow(new RegExp(`^layer "${p.name}": neuron/vDecay = NaN \\(an integer in 0…4096 expected\\) cannot be expressed in NetX$`));
  });
});

describe('written HDF5 files are deterministic', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  async function twice(emit: (out: string) => Promise<unknown>, file: string): Promise<[Buffer, Buffer]> {
    const [a, b] = [join(dir, `det-a-${file}`), join(dir, `det-b-${file}`)];
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2024-01-01T00:00:00Z'));
    await emit(a);
    vi.setSystemTime(new Date('2025-06-30T12:34:56Z'));
    await emit(b);
    return [readFileSync(join(a, file)), readFileSync(join(b, file))];
  }

  it('nir: the same model gives the same bytes at different times', async () => {
    const { model } = await readNir(`${NIR}/03_rnn/braille_noDelay_bias_zero.nir`, { dt: 1e-4 });
    const [a, b] = await twice((out) => nirTarget.emit(model, out, {}), 'model.nir');
    expect(a.equals(b)).toBe(true);
  });

  it('netx: the same model gives the same bytes at different times', async () => {
    const model = await loadModel(`${LAVA}/tinynet/tiny.net`);
    const [a, b] = await twice((out) => netxTarget.emit(model, out, {}), 'model.net');
    expect(a.equals(b)).toBe(true);
  });
});
