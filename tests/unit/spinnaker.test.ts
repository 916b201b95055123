/**
 * The spinnaker target: the s16.15 arithmetic and IF_curr_exp constants against spinnaker.md §2.3/§3.2,
 * the emulator against the §8 test vectors (through keys, routing tables, master population table and
 * synaptic rows), routing tables within 1023 entries and routing every key exactly as before compression
 * (MNIST CNN, a synthetic network filling a 48-chip board, random tables), and named errors. The MNIST
 * CNN's accuracy and the command line are in tests/acceptance/spinnaker-mnist-cli.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/frontends/index.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { SpinnakerEmulator } from '../../targets/spinnaker/emulator.js';
import { buildSpinnaker } from '../../targets/spinnaker/descriptor.js';
import { deriveConstants, expk, expulr, kdivk, toS1615 } from '../../targets/spinnaker/fixed-point.js';
import { compileSpinnaker, type CompiledSpinnaker } from '../../targets/spinnaker/index.js';
import { Router, machineByName } from '../../targets/spinnaker/machine.js';
import type { SpinnakerNetwork } from '../../targets/spinnaker/quantise.js';
import { type RoutingEntry, compressOrderedPairs, followKey, lookup } from '../../targets/spinnaker/routing.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { ONE_SPIKE_V_IEXC, PYNN_DEFAULTS, REFRACTORY, oneNeuron } from '../helpers/spinnaker-vectors.js';

const SPINNAKER_MODEL = 'examples/mnist-cnn/model-spinnaker.json';

describe('s16.15 arithmetic (spinnaker.md §2.3, §3.2)', () => {
  it('expk / expulr give the documented values', () => {
    expect([expk(-1638), expk(-6553), expk(-32768), expk(32768)]).toEqual([31170, 26828, 12054, 89072]);
    expect([expulr(-6553), expulr(-32768)]).toEqual([3516490311, 1580030169]);
  });

  it('IF_curr_exp load-time constants match the §3.2 table for τ = 2, 5, 10, 20, 50 ms', () => {
    const table = [
      [2, 16384, 19874, 2605026136, 3379882318],
      [5, 6553, 26828, 3516490311, 3892384920],
      [10, 3276, 29650, 3886339153, 4086281420],
      [20, 1638, 31170, 4085544196, 4188461980],
      [50, 655, 32119, 4209972212, 4249754150],
    ];
    for (const [tau, k, expTc, decay, init] of table) {
      const raw = toS1615(tau, 'tau');
      const c = deriveConstants({ ...PYNN_DEFAULTS, tauM: raw, tauSynE: raw, tauSynI: raw });
      expect([kdivk(32768, raw), c.expTc, c.decayE, c.initE]).toEqual([k, expTc, decay, init]);
    }
    expect(deriveConstants(PYNN_DEFAULTS).rMembrane).toBe(655360);
    // tau_refrac → whole steps, rounded up.
    expect([0.1, 1, 2, 2.5, 0].map((r) => deriveConstants({ ...PYNN_DEFAULTS, tauRefrac: toS1615(r, 'r') }).tRefract)).toEqual([1, 1, 2, 3, 0]);
    expect(() => toS1615(70000, 'i_offset')).toThrow(/i_offset = 70000 overflows s16.15/);
  });
});

function emulate(net: SpinnakerNetwork, inputSpikes: number[], steps: number) {
  const built = buildSpinnaker(net, machineByName('spinn3'), { snncVersion: 'test', sourceHash: 'test' });
  const raw = new Float32Array(net.timesteps);
  for (const t of inputSpikes) raw[t] = 1;
  return new SpinnakerEmulator(built).run(raw, 1, { steps, probes: ['n'], voltages: ['n'] });
}

describe('emulator: spinnaker.md §8 test vectors (exact)', () => {
  it('one input spike at t=0 (w = 1 nA, delay 1, shift 1): V and I_exc per step', () => {
    const r = emulate(oneNeuron({}, 0), [0], 8);
    const expected = ONE_SPIKE_V_IEXC;
    expect(expected.map(([t]) => [t, r.voltages.get('n')![t], r.excCurrents.get('n')![t]])).toEqual(expected);
    expect(r.packets).toBe(1);
    expect(r.synapticEvents).toBe(1);
  });

  it('i_offset = 1 nA, tau_refrac = 2 ms: V at t = 1…3, spikes at steps 27 and 57', () => {
    const r = emulate(oneNeuron({ tauRefrac: toS1615(2, 'tau_refrac') }, 1), [], 60);
    const v = r.voltages.get('n')!;
    expect([v[1], v[2], v[3]]).toEqual(REFRACTORY.v1to3);
    const spikes = [...r.spikes.get('n')!].flatMap((s, t) => (s ? [t] : []));
    expect(spikes).toEqual(REFRACTORY.spikes);
    expect(v[27]).toBe(REFRACTORY.v27);
  });
});

/**
 * Every key every sending core can emit routes to the same processors through the compressed tables as
 * through the uncompressed ones. With `everyKey` false one key per core is followed, after checking that
 * no entry looks at the neuron/colour bits (so all keys of a core route alike: that is then a proof too).
 */
function proveRouting(c: CompiledSpinnaker, everyKey: boolean): { keys: number; chips: number } {
  const d = c.descriptor;
  const router = new Router(machineByName(d.machine.name, { routerEntries: d.machine.routerEntries }));
  const compressed = new Map(c.tables.map((t) => [`${t.x},${t.y}`, t.entries]));
  const original = new Map(c.tables.map((t) => [`${t.x},${t.y}`, t.uncompressed]));
  const lowBits = 2 ** d.keySpace.atomBits - 1;
  for (const t of c.tables) for (const e of [...t.entries, ...t.uncompressed]) expect(e.mask & lowBits).toBe(0);
  let keys = 0;
  for (const core of d.cores) {
    if (core.key === undefined) continue;
    const n = everyKey ? (core.hi - core.lo) * 2 ** d.keySpace.colourBits : 1;
    for (let i = 0; i < n; i++) {
      const key = (core.key + i) >>> 0;
      const a = followKey(router, compressed, core.chip[0], core.chip[1], key).map(String).sort();
      const b = followKey(router, original, core.chip[0], core.chip[1], key).map(String).sort();
      if (a.join() !== b.join()) throw new Error(`key 0x${key.toString(16)} routes to ${a} after compression, ${b} before`);
      keys++;
    }
  }
  for (const t of c.tables) expect(t.entries.length).toBeLessThanOrEqual(1023);
  return { keys, chips: c.tables.length };
}

/** A conv network of IF neurons (reset zero) with seeded weights, big enough to fill a SpiNN-5 board. */
function syntheticBoardModel(): SnnModel {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const w = (shape: number[]) => tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 0.3));
  const neuron = { threshold: 1, reset: 'zero' as const, v0: 0 };
  const same = { stride: [1, 1] as const, padding: [1, 1, 1, 1] as const, groups: 1 };
  return {
    name: 'board',
    input: { shape: [2, 32, 32], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers: [
      L.conv2d({ name: 'c1', inputs: [INPUT], weight: w([16, 2, 3, 3]), ...same }),
      L.ifNeuron({ name: 'n1', inputs: ['c1'], ...neuron }),
      L.conv2d({ name: 'c2', inputs: ['n1'], weight: w([16, 16, 3, 3]), ...same }),
      L.ifNeuron({ name: 'n2', inputs: ['c2'], ...neuron }),
      L.conv2d({ name: 'c3', inputs: ['n2'], weight: w([16, 16, 3, 3]), ...same }),
      L.ifNeuron({ name: 'n3', inputs: ['c3'], ...neuron }),
      L.flatten({ name: 'f', inputs: ['n3'] }),
      L.dense({ name: 'out', inputs: ['f'], weight: w([10, 16384]) }),
    ],
    output: { layer: 'out', decoding: 'accumulate' },
    timesteps: 8,
    dt: 0.001,
    metadata: {},
  };
}

describe('routing tables', () => {
  it('MNIST CNN: every chip within 1023 entries, and the compressed tables route every key as the uncompressed ones', async () => {
    const c = compileSpinnaker(await loadModel(SPINNAKER_MODEL));
    const proof = proveRouting(c, true);
    expect(proof.keys).toBe(c.descriptor.cores.filter((k) => k.key !== undefined).reduce((s, k) => s + (k.hi - k.lo) * 16, 0));
  });

  it('a synthetic network filling a 48-chip SpiNN-5 board: within 1023 entries per chip, compression proven', () => {
    const c = compileSpinnaker(syntheticBoardModel(), { machine: 'spinn5', atomsPerCore: 68 });
    expect(c.descriptor.totals.chips).toBe(48);
    const proof = proveRouting(c, false);
    expect(proof.chips).toBeGreaterThanOrEqual(40);
    // The compressor did real work somewhere, and never grew a table.
    expect(c.tables.some((t) => t.entries.length < t.uncompressed.length)).toBe(true);
    for (const t of c.tables) expect(t.entries.length).toBeLessThanOrEqual(t.uncompressed.length);
  });

  it('ordered pair compression keeps the first-match route of every key of every entry (random tables)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 60 }), (rows) => {
        // Entries over distinct 8-key blocks (as cores' keys are), routes from a small set.
        const seen = new Set<number>();
        const entries: RoutingEntry[] = [];
        for (const [block, route] of rows) {
          if (seen.has(block)) continue;
          seen.add(block);
          entries.push({ key: block << 3, mask: 0xfffffff8, route: 1 << route });
        }
        const out = compressOrderedPairs(entries);
        expect(out.length).toBeLessThanOrEqual(entries.length);
        for (const e of entries) for (let k = 0; k < 8; k++) expect(lookup(out, e.key + k)).toBe(e.route);
      }),
      { seed: 11, numRuns: 200 },
    );
  });
});

describe('named errors', () => {
  it('soft reset, a max-pool of currents, no room, an overflowing weight and an incompressible table', async () => {
    const soft = await loadModel('examples/mnist-cnn/model.json');
    expect(snncErrorMessage(() => compileSpinnaker(soft))).toMatch(/layer "if1": reset "subtract" has no IF_curr_exp equivalent/);
    const hard: SnnModel = { ...soft, layers: soft.layers.map((l) => (L.isModel(l, 'if') ? { ...l, reset: 'zero' as const } : l)) };
    expect(snncErrorMessage(() => compileSpinnaker(hard))).toMatch(/layer "if2": a max-pool of spike-driven currents has no IF_curr_exp equivalent/);
    const model = await loadModel(SPINNAKER_MODEL);
    expect(snncErrorMessage(() => compileSpinnaker(model, { machine: 'spinn3', atomsPerCore: 32 }))).toMatch(/cannot be placed: the network needs \d+ cores, spinn3 has 63 application cores on 4 chips/);
    expect(snncErrorMessage(() => compileSpinnaker(model, { maxSummedWeight: 0.01 }))).toMatch(/layer "pool1": weight .* overflows the 16-bit synaptic weight field with ring-buffer shift 0/);
    expect(snncErrorMessage(() => compileSpinnaker(model, { routerEntries: 2 }))).toMatch(/^routing: chip \(1, 0\): routing table has (\d+) entries after compression \(\d+ before\) > 2 \(over by \d+\)/);
    expect(snncErrorMessage(() => machineByName('3x-boards'))).toMatch(/--machine must be spinn3 .*got "3x-boards"/);
  });
});
