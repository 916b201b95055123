/**
 * The spinnaker target at machine scale (issue 22): synaptic rows only for the source neurons that
 * reach a core (spinnaker.bin linear in synapses, not a row per source neuron per core), core-level
 * master-population-table entries run by the emulator exactly as the integer ONNX computes the network,
 * rows gathered again when not kept give the same words, spinnaker.bin written in chunks equals the
 * array, the stage line and stage progress of large networks; the synapse collector written out per
 * geometry visits what forEachFanIn visits, and `check`'s layout-only compile describes the same network.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { OrtRunner } from '../../runtime/ort-runner.js';
import { compileGpu } from '../../targets/gpu/index.js';
import { SpinnakerEmulator } from '../../targets/spinnaker/emulator.js';
import { compileSpinnaker, spinnakerTarget } from '../../targets/spinnaker/index.js';
import { Router, machineByName } from '../../targets/spinnaker/machine.js';
import { followSampledKeys } from '../../targets/spinnaker/routing.js';
import { type StoredGeometry, forEachFanIn } from '../../targets/common/synaptic-terms.js';
import type { SpinnakerProjection } from '../../targets/spinnaker/quantise.js';
import { RowContext, type SourceInfo, buildCoreSynapses, collectSynapses, ringBufferFormat, synapseWord } from '../../targets/spinnaker/synaptic-matrix.js';
import { randomInput, randomTensor, rng } from '../helpers/models.js';

const root = mkdtempSync(join(tmpdir(), 'snnc-spinnaker-scale-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ifNeuron = (name: string, input: string) => L.ifNeuron({ name, inputs: [input], threshold: 1, reset: 'zero', v0: 0 });
const same = { stride: [1, 1] as const, padding: [1, 1, 1, 1] as const, groups: 1 };

function events(name: string, shape: number[], layers: L.Layer[], output = layers[layers.length - 1].name): SnnModel {
  return { name, input: { shape, encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } }, layers, output: { layer: output, decoding: 'spike_count' }, timesteps: 8, dt: 1e-3, metadata: {} };
}

/** Events [2, 64, 64] → conv 3×3 (4) → IF → dense 10 → IF: the conv's cores are fed by few input cores, the dense's by all. */
function mixed(): SnnModel {
  const r = rng(22);
  return events('mixed', [2, 64, 64], [
    L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [4, 2, 3, 3], 0.5, 0.15), ...same }),
    ifNeuron('n', 'c'),
    L.flatten({ name: 'f', inputs: ['n'] }),
    L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [10, 4 * 64 * 64], 0.05, 0.004) }),
    ifNeuron('out', 'd'),
  ]);
}

describe('synaptic rows at scale', () => {
  it('rows only for the source neurons that reach a core: a 3×3 conv on 200² has core-level entries and spinnaker.bin linear in synapses', () => {
    const model = events('wide', [1, 200, 200], [L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(rng(1), [1, 1, 3, 3], 0.5, 0.6), ...same }), ifNeuron('n', 'c')]);
    const d = compileSpinnaker(model).descriptor;
    expect(d.totals.synapses).toBe(598 ** 2); // (3S − 2)² taps inside the grid
    expect(d.blob.words).toBeLessThan(3 * d.totals.synapses); // a row per source neuron per core would be 157 × 40 000 rows
    for (const core of d.cores.filter((c) => c.population === 'n')) {
      expect(core.popTable.length).toBeGreaterThanOrEqual(1);
      expect(core.popTable.length).toBeLessThanOrEqual(3);
      for (const e of core.popTable) expect([e.coreMask, e.mask, e.key % 2 ** d.keySpace.atomBits]).toEqual([0, d.populations[0].keys!.vertexMask, 0]);
    }
  });

  it('core-level and application-level entries: the emulator equals the integer ONNX (spikes, currents, voltages, output)', async () => {
    const model = mixed();
    const c = compileSpinnaker(model, { machine: '20x20-boards' });
    const entries = c.descriptor.cores.flatMap((k) => k.popTable);
    expect(entries.some((e) => e.source === INPUT && e.coreMask === 0)).toBe(true); // input has 32 cores: core-level
    expect(entries.some((e) => e.source === 'n' && e.coreMask > 0)).toBe(true); // every n core feeds the dense: application-level
    const n = 2;
    const x = randomInput(5, n * 8 * 2 * 64 * 64).map((v) => (v > 0.7 ? 1 : 0));
    const pops = ['n', 'out'];
    const emu = new SpinnakerEmulator(c).run(x, n, { probes: pops, voltages: pops });
    const { onnx, manifest } = compileGpu(model, { numerics: 'spinnaker', probes: 'all', batch: n });
    const runner = await OrtRunner.fromBytes(manifest, onnx);
    try {
      const r = await runner.run(x, n);
      for (const p of pops) {
        expect(Buffer.from(r.spikes.get(p)!).equals(Buffer.from(emu.spikes.get(p)!))).toBe(true);
        expect(Array.from(r.states!.get(p)!.u)).toEqual(Array.from(emu.excCurrents.get(p)!));
        expect(Array.from(r.states!.get(p)!.v)).toEqual(Array.from(emu.voltages.get(p)!));
      }
      expect(Array.from(r.output)).toEqual(Array.from(emu.output));
      expect(emu.spikes.get('out')!.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await runner.close();
    }
  }, 60_000);

  it('rows gathered again (past the kept budget) give the same words as kept rows, core-level and application-level', () => {
    const c = compileSpinnaker(mixed());
    const keys = new Map(c.keySpace.partitions.map((k) => [k.population, k]));
    const sources = new Map<string, SourceInfo>(c.network.populations.filter((p) => keys.has(p.name)).map((p) => [p.name, { neurons: p.neurons, atomsPerCore: Math.min(256, p.neurons), keys: keys.get(p.name)! }]));
    for (const [population, lo, hi] of [['n', 512, 768], ['out', 0, 10]] as const) {
      const incoming = c.network.projections.filter((q) => q.target === population);
      const format = ringBufferFormat(256, Math.max(1, ...incoming.map((q) => q.delay)), population);
      const build = (context: RowContext) => buildCoreSynapses(population, lo, hi, incoming, format, sources, c.keySpace, context);
      const none = new RowContext();
      none.keptWords = 0;
      const [kept, again] = [build(new RowContext()), build(none)];
      const [a, b] = [new Uint32Array(kept.size), new Uint32Array(again.size)];
      kept.write(a, 0);
      again.write(b, 0);
      expect(a.some((w) => w !== 0)).toBe(true);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      expect(kept.popTable).toEqual(again.popTable);
      expect(kept.popTable.every((e) => (e.coreMask === 0) === (population === 'n'))).toBe(true);
    }
  });

  it('spinnaker.bin written chunk by chunk is the words array, byte for byte (and its sha256 in the manifest)', async () => {
    const model = mixed();
    const c = compileSpinnaker(model);
    const out = join(root, 'mixed');
    await spinnakerTarget.emit(model, out, {});
    const bin = readFileSync(join(out, 'spinnaker.bin'));
    expect(bin.equals(Buffer.from(c.words.buffer))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).sha256['spinnaker.bin']).toBe(createHash('sha256').update(bin).digest('hex'));
  });

  it('check prints a per-stage time and memory line for networks of 10⁷ synapses or more, and none below', () => {
    const r = rng(3);
    const dense = (n: number) => events('dense', [n], [L.dense({ name: 'd', inputs: [INPUT], weight: randomTensor(r, [n, n], 0.1, 0.2) }), ifNeuron('n', 'd')]);
    const big = spinnakerTarget.check(dense(3200), {});
    expect(big.fits).toBe(true);
    expect(big.messages.at(-1)).toMatch(/^stages: quantise \d+\.\d\d s \(\d+ MiB\), machine \d+\.\d\d s \(\d+ MiB\), partition .*, keys .*, rows .*, place .*, routing \d+\.\d\d s \(\d+ MiB\); peak RSS \d+\.\d\d GiB$/);
    expect(spinnakerTarget.check(dense(100), {}).messages.some((m) => m.startsWith('stages:'))).toBe(false);
  }, 60_000);

  it('the synapse collector visits, in order, the non-zero synapses forEachFanIn visits (random conv and dense geometries)', () => {
    const conv = fc
      .record({ cin: fc.integer({ min: 1, max: 3 }), groups: fc.constantFrom(1, 2), cout: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }), kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 2 }) })
      .filter((g) => g.h + 2 * g.pad >= g.kh && g.w + 2 * g.pad >= g.kw)
      .map((g): StoredGeometry => {
        const [oh, ow] = [Math.floor((g.h + 2 * g.pad - g.kh) / g.stride) + 1, Math.floor((g.w + 2 * g.pad - g.kw) / g.stride) + 1];
        return { kind: 'conv', inShape: [g.cin * g.groups, g.h, g.w], outShape: [g.cout * g.groups, oh, ow], kernel: [g.kh, g.kw], stride: [g.stride, g.stride], padding: [g.pad, g.pad, g.pad, g.pad], groups: g.groups };
      });
    const dense = fc.record({ nIn: fc.integer({ min: 1, max: 40 }), nOut: fc.integer({ min: 1, max: 9 }) }).map((g): StoredGeometry => ({ kind: 'dense', ...g }));
    fc.assert(
      fc.property(fc.oneof(conv, dense), fc.integer({ min: 0, max: 2 ** 30 }), (geometry, seed) => {
        const r = rng(seed);
        const size = geometry.kind === 'dense' ? geometry.nIn * geometry.nOut : geometry.outShape[0] * (geometry.inShape[0] / geometry.groups) * geometry.kernel[0] * geometry.kernel[1];
        const weights = Int32Array.from({ length: size }, () => (r() < 0.3 ? 0 : Math.round((r() - 0.5) * 200)));
        const p: SpinnakerProjection = { name: 'p', source: 's', target: 't', geometry, weights, delay: 2 };
        const targets = geometry.kind === 'dense' ? geometry.nOut : geometry.outShape[0] * geometry.outShape[1] * geometry.outShape[2];
        const [lo, hi] = [Math.floor(targets / 3), targets];
        const format = ringBufferFormat(256, 2, 't');
        const expected: [number, number][] = [];
        for (let o = lo; o < hi; o++) forEachFanIn(geometry, o, (pre, k) => weights[k] !== 0 && expected.push([pre, synapseWord(Math.abs(weights[k]), 2, weights[k] < 0 ? 1 : 0, o - lo, format)]));
        const [pres, found] = [new Int32Array(size * targets), new Uint32Array(size * targets)];
        const { n, first, last } = collectSynapses(p, lo, hi, format, pres, found);
        expect(Array.from({ length: n }, (_, i) => [pres[i], found[i]])).toEqual(expected);
        if (n) expect([first, last]).toEqual([Math.min(...expected.map((e) => e[0])), Math.max(...expected.map((e) => e[0]))]);
      }),
      { numRuns: 300, seed: 22 },
    );
  });

  it("check's layout-only compile describes the network as the full compile does, and reports each stage's progress up to its total", () => {
    const model = mixed();
    const progress = new Map<string, [number, number][]>();
    const layoutOnly = compileSpinnaker(model, { onProgress: (stage, done, total) => progress.set(stage, [...(progress.get(stage) ?? []), [done, total]]) }, true);
    expect(JSON.stringify(layoutOnly.descriptor)).toBe(JSON.stringify(compileSpinnaker(model).descriptor));
    expect([...progress.keys()]).toEqual(['rows', 'routing']);
    for (const steps of progress.values()) {
      expect(steps.every(([d, t], i) => d === i + 1 && t === steps[0][1])).toBe(true);
      expect(steps.at(-1)![0]).toBe(steps[0][1]);
    }
    expect(progress.get('rows')!.length).toBe(layoutOnly.descriptor.totals.cores);
  });

  it('the sampled proof by following keys: every sampled key reaches exactly its core\'s targets, and a table missing an entry is caught', () => {
    const c = compileSpinnaker(mixed(), { machine: '2x2-boards', atomsPerCore: 64 });
    const router = new Router(machineByName('2x2-boards'));
    expect(c.senders.filter((s) => s.targets.length).length).toBeGreaterThan(100);
    expect(followSampledKeys(router, c.tables, c.senders, c.keySpace.colourBits, 500)).toEqual([]);
    // Drop, on the busiest chip, the first entry that delivers to a processor (a packet that matches nothing goes straight on).
    const busiest = c.tables.reduce((a, b) => (b.entries.length > a.entries.length ? b : a));
    const delivering = busiest.entries.findIndex((e) => e.route >= 64);
    const broken = c.tables.map((t) => (t === busiest ? { ...t, entries: t.entries.filter((_, i) => i !== delivering) } : t));
    expect(followSampledKeys(router, broken, c.senders, c.keySpace.colourBits, 500).length).toBeGreaterThan(0);
  });
});
