/**
 * Multi-chip Loihi systems (issue 22): chip ids snake through the mesh (every chip once, consecutive ids
 * one hop apart), cores fill chips band by band of the feature map (fewer axons leave their chip than
 * in population order), inter-chip routes follow dimension order (hops = the Manhattan distance, link
 * loads counted per direction), and `--system` bounds the board and names the system when a network
 * does not fit.
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { compileLoihi, loihiTarget } from '../../targets/loihi/index.js';
import { chipPosition, interChipRoutes, loihiSystem } from '../../targets/loihi/system.js';
import { randomTensor, rng } from '../helpers/models.js';
import { tempDir } from '../helpers/tmp.js';

const distance = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0);

describe('Loihi systems', () => {
  it.each([
    ['hala-point', 1152],
    ['kapoho-point', 8],
    [undefined, 7],
  ] as const)('%s: every chip id has its own place on the mesh, and consecutive ids are neighbours', (name, chips) => {
    const s = loihiSystem(name, chips);
    expect(s.chips).toBe(chips);
    const places = Array.from({ length: chips }, (_, id) => chipPosition(s, id));
    expect(new Set(places.map((p) => p.join(','))).size).toBe(chips);
    places.forEach((p) => p.forEach((x, d) => expect(x >= 0 && x < s.mesh[d]).toBe(true)));
    for (let id = 1; id < chips; id++) expect(distance(places[id - 1], places[id])).toBe(1);
  });

  it('routes between chips take the Manhattan distance in hops, and each directed link counts the routes over it', () => {
    const s = loihiSystem(undefined, 9); // 3 × 3: ids 0 1 2 / 5 4 3 / 6 7 8
    expect([chipPosition(s, 3), chipPosition(s, 6)]).toEqual([
      [2, 1, 0],
      [0, 2, 0],
    ]);
    // Core c sits on chip c; axons 0→8 (4 hops), 0→2 (2), 2→0 (2), 4→4 (none).
    const r = interChipRoutes(s, (c) => c, (fn) => [[0, 8], [0, 2], [2, 0], [4, 4]].forEach(([a, b]) => fn(a, b)));
    expect(r).toEqual({ interChip: 3, axons: 4, maxHops: 4, meanHops: 8 / 3, busiestLink: 2 }); // 0→8 and 0→2 share the link east of chip 0
  });

  it('--system sets the board: a network over its chips is refused naming the system; compile reports the routes between chips', () => {
    const r = rng(4);
    const model = (units: number, inputs = 64): SnnModel => ({
      name: 'wide',
      input: { shape: [inputs], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
      layers: [L.dense({ name: 'd', inputs: [INPUT], weight: randomTensor(r, [units, inputs], 0.3, 0.1) }), L.ifNeuron({ name: 'n', inputs: ['d'], threshold: 1, reset: 'zero', v0: 0 })],
      output: { layer: 'n', decoding: 'spike_count' },
      timesteps: 4,
      dt: 1e-3,
      metadata: {},
    });
    expect(() => loihiTarget.check(model(8), { system: 'none' })).toThrow(/--system must be one of kapoho-point, hala-point; got "none"/);
    const refused = loihiTarget.check(model(4096 * 128 * 8 + 1, 1), { system: 'kapoho-point', chip: 'loihi2' });
    expect(refused.fits).toBe(false);
    expect(refused.messages.join('\n')).toMatch(/needs 1025 cores > 1024 on kapoho-point's 8 loihi2 chip\(s\)/);
    const fits = loihiTarget.check(model(8), { system: 'hala-point' });
    expect(fits.messages).toContain('system hala-point: 1152 chips on a 12×12×8 mesh (layout assumed; see targets/loihi/system.ts)');
    expect(compileLoihi(model(8), { system: 'kapoho-point' }).descriptor.totals.chips).toBe(1);
  });

  it('compile on two chips fills them band by band and reports the output axons that leave their chip, as counted from the descriptor', async () => {
    const r = rng(5);
    const same = { stride: [1, 1] as const, padding: [1, 1, 1, 1] as const, groups: 1 };
    const layers: L.Layer[] = [];
    for (let i = 1, from = INPUT; i <= 3; from = `n${i++}`) layers.push(L.conv2d({ name: `c${i}`, inputs: [from], weight: randomTensor(r, [16, 16, 3, 3], 0.3, 0.1), ...same }), L.ifNeuron({ name: `n${i}`, inputs: [`c${i}`], threshold: 1, reset: 'zero', v0: 0 }));
    const model: SnnModel = { name: 'deep', input: { shape: [16, 112, 112], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } }, layers, output: { layer: 'n3', decoding: 'spike_count' }, timesteps: 4, dt: 1e-3, metadata: {} };
    const c = compileLoihi(model, { system: 'kapoho-point' });
    const d = c.descriptor;
    expect(d.totals.chips).toBe(2);
    let all = 0;
    const leavingFrom = [0, 0]; // by the chip they leave
    for (const core of d.cores) {
      for (let i = 0; i < core.outAxons[1]; i += 3, all++) if (d.cores[c.ints[core.outAxons[0] + i + 1]].chip !== core.chip) leavingFrom[core.chip]++;
    }
    const leaving = leavingFrom[0] + leavingFrom[1];
    expect(leaving).toBeGreaterThan(0);
    // Cores filled into chips in population order instead of band by band: more axons leave their chip.
    let byId = 0;
    for (const core of d.cores) for (let i = 0; i < core.outAxons[1]; i += 3) if (Math.floor(c.ints[core.outAxons[0] + i + 1] / 128) !== Math.floor(core.id / 128)) byId++;
    expect(leaving).toBeLessThan(byId / 2);
    const { summary } = await loihiTarget.emit(model, tempDir('snnc-loihi-system-'), { system: 'kapoho-point', force: true });
    expect(summary['inter-chip routes']).toBe(`${leaving} of ${all} output axons leave their chip, ≤ 1 hops (mean 1.00) on kapoho-point's 4×2×1 mesh, busiest link ${Math.max(...leavingFrom)} routes`);
  });
});
