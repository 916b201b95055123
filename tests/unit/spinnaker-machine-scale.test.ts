/**
 * SpiNNaker machines up to SpiNNaker-1M (issue 22). `--machine 1M`: 57 600 chips on a 240×240 torus,
 * its application cores, and shortest routes over the wrap (every Router.path from a chip as long as
 * the breadth-first distance and the closed-form hexagonal torus distance, at most 160 hops). Dead
 * chips and links: nothing is placed on a dead chip, routes go around a dead link and never cross it
 * (followKey through the compiled tables, with a router that knows the dead links), a machine the dead
 * chips cut apart is a one-line error, bad lists are named, and the lists are recorded in and read back
 * from spinnaker.json. Routing at scale: for a seeded sample of (sending core, neuron) keys of a
 * synthetic deep conv network on 2x2-boards, healthy and with dead chips and links among its cores,
 * the compressed tables deliver each key to exactly the cores whose master population table takes it
 * (a core-level entry, or an application-level one with a non-empty row of the sending core), and
 * every table fits the router.
 */
import { describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { parseSpinnakerDescriptor, type SpinnakerDescriptor } from '../../targets/spinnaker/descriptor.js';
import { type CompiledSpinnaker, compileSpinnaker } from '../../targets/spinnaker/index.js';
import { LINK_DELTA, MACHINE_HELP, type Machine, Router, machineByName } from '../../targets/spinnaker/machine.js';
import { type RoutingEntry, followKey } from '../../targets/spinnaker/routing.js';
import { ROW_HEADER_WORDS, entryRows } from '../../targets/spinnaker/synaptic-matrix.js';
import { deepConv } from '../../bench/synthetic-networks.js';
import { rng } from '../helpers/models.js';
import { snncError, snncErrorMessage } from '../helpers/errors.js';

/** Hops between chips (dx, dy) apart on the hexagonal grid (links E, N, NE and their opposites). */
const hexDistance = (dx: number, dy: number) => (dx * dy > 0 ? Math.max(Math.abs(dx), Math.abs(dy)) : Math.abs(dx) + Math.abs(dy));

/** The same on a W×H torus: the nearest wrap image. */
function torusDistance(w: number, h: number, dx: number, dy: number): number {
  const [a, b] = [((dx % w) + w) % w, ((dy % h) + h) % h];
  let best = Infinity;
  for (const x of [a, a - w]) for (const y of [b, b - h]) best = Math.min(best, hexDistance(x, y));
  return best;
}

/** Breadth-first hop counts from (x0, y0) over the router's live links (index y · width + x; −1: unreachable). */
function bfs(router: Router, x0: number, y0: number): Int32Array {
  const m = router.machine;
  const dist = new Int32Array(m.width * m.height).fill(-1);
  dist[y0 * m.width + x0] = 0;
  const queue: [number, number][] = [[x0, y0]];
  for (let head = 0; head < queue.length; head++) {
    const [x, y] = queue[head];
    for (let l = 0; l < 6; l++) {
      const nb = router.neighbour(x, y, l);
      if (!nb || dist[nb[1] * m.width + nb[0]] >= 0) continue;
      dist[nb[1] * m.width + nb[0]] = dist[y * m.width + x] + 1;
      queue.push(nb);
    }
  }
  return dist;
}

/** The chips a list of links visits from (x, y), the start included. */
function walk(router: Router, x: number, y: number, links: readonly number[]): [number, number][] {
  const chips: [number, number][] = [[x, y]];
  for (const l of links) {
    const [cx, cy] = chips[chips.length - 1];
    const next = router.neighbour(cx, cy, l);
    if (!next) throw new Error(`link ${l} of (${cx}, ${cy}) goes nowhere`);
    chips.push(next);
  }
  return chips;
}

/** Events [1, 12, 12] → conv 3×3 (2) → IF: 144 + 288 neurons, 27 cores at 16 atoms per core. */
function small(): SnnModel {
  const w = tensor([2, 1, 3, 3], Float32Array.from({ length: 18 }, (_, i) => ((i % 5) - 2) * 0.2));
  return {
    name: 'small',
    input: { shape: [1, 12, 12], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers: [L.conv2d({ name: 'c', inputs: [INPUT], weight: w, stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }), L.ifNeuron({ name: 'n', inputs: ['c'], threshold: 1, reset: 'zero', v0: 0 })],
    output: { layer: 'n', decoding: 'spike_count' },
    timesteps: 4,
    dt: 0.001,
    metadata: {},
  };
}

/** The machine spinnaker.json describes, as its reader rebuilds it (dead chips and links included). */
const machineOf = (d: SpinnakerDescriptor): Machine => machineByName(d.machine.name, { routerEntries: d.machine.routerEntries, deadChips: d.machine.deadChips, deadLinks: d.machine.deadLinks });
const compressedTables = (c: CompiledSpinnaker) => new Map<string, readonly RoutingEntry[]>(c.tables.map((t) => [`${t.x},${t.y}`, t.entries]));
const coreName = (k: { population: string; index: number }) => `${k.population}#${k.index}`;

/**
 * For a seeded sample of (sending core, neuron) keys: the processors followKey reaches from the
 * sender's chip through the compressed tables, and the cores whose master population table takes the
 * key (an entry matching it, core-level or with a non-empty row of the sending core in one of its
 * blocks). Each key's reached processors (as core names) are returned in sample order.
 */
function followSample(c: CompiledSpinnaker, samples: number, seed: number): { reached: string[][]; pairs: [readonly [number, number], readonly [number, number]][] } {
  const d = c.descriptor;
  const router = new Router(machineOf(d));
  const tables = compressedTables(c);
  const words = c.words;
  const neurons = new Map(d.populations.map((p) => [p.name, p.neurons]));
  const at = new Map(d.cores.map((k) => [`${k.chip[0]},${k.chip[1]},${k.processor}`, k]));
  const senders = d.cores.filter((k) => k.key !== undefined);
  const feeds = new Map<string, boolean>();
  /** Whether core `t`'s entry `e` has a non-empty row of source core `s`. */
  const hasRows = (t: (typeof d.cores)[number], e: (typeof t.popTable)[number], s: number) => {
    const memo = `${coreName(t)} ${e.source}#${s}`;
    if (!feeds.has(memo)) {
      const first = e.coreMask === 0 ? 0 : s * e.nNeurons;
      const last = Math.min(first + e.nNeurons, entryRows(e, neurons.get(e.source)!));
      feeds.set(memo, e.addresses.some((a) => Array.from({ length: last - first }, (_, r) => words[t.matrix.offset + a.offset + (first + r) * (a.rowLength + ROW_HEADER_WORDS) + 1]).some((n) => n > 0)));
    }
    return feeds.get(memo)!;
  };
  const r = rng(seed);
  const reached: string[][] = [];
  const pairs: [readonly [number, number], readonly [number, number]][] = [];
  for (let i = 0; i < samples; i++) {
    const sender = senders[Math.floor(r() * senders.length)];
    const neuron = Math.floor(r() * (sender.hi - sender.lo));
    const key = (sender.key! | (neuron << d.keySpace.colourBits)) >>> 0;
    const got = followKey(router, tables, sender.chip[0], sender.chip[1], key).map(([x, y, p]) => `${x},${y},${p}`);
    expect(new Set(got).size, `key 0x${key.toString(16)} delivered twice to a processor`).toBe(got.length);
    const sourceCore = sender.index;
    const expected = d.cores
      .filter((t) => t.popTable.some((e) => ((key & e.mask) >>> 0) === e.key && (e.coreMask === 0 || hasRows(t, e, sourceCore))))
      .map((t) => `${t.chip[0]},${t.chip[1]},${t.processor}`);
    expect(got.sort(), `key 0x${key.toString(16)} of ${coreName(sender)} neuron ${neuron}`).toEqual(expected.sort());
    reached.push(got.map((p) => coreName(at.get(p)!)).sort());
    for (const p of got) pairs.push([sender.chip, at.get(p)!.chip]);
  }
  return { reached, pairs };
}

describe('SpiNNaker-1M: --machine 1M', () => {
  it('is 20x20-boards: 57 600 chips on a 240×240 torus, 1 200 Ethernet chips, 920 400 application cores', () => {
    const m = machineByName('1M');
    expect([m.name, m.width, m.height, m.wrap, m.boards, m.chips.length]).toEqual(['1M', 240, 240, true, 1200, 57_600]);
    expect(m.chips.filter((c) => c.ethernet)).toHaveLength(1200);
    // 16 application cores per chip, one fewer on an Ethernet chip (its data gatherer).
    expect(m.chips.reduce((n, c) => n + c.appCores, 0)).toBe(144 * 400 * 16 - 3 * 400);
    expect(m.chips).toEqual(machineByName('20x20-boards').chips);
    expect(new Set(m.chips.map((c) => `${c.x},${c.y}`)).size).toBe(57_600);
    expect(MACHINE_HELP).toMatch(/1M \(SpiNNaker-1M: 20x20-boards, 240×240 chips\)/);
    expect(snncErrorMessage(() => machineByName('22x20-boards'))).toMatch(/at most 21x21-boards .*SpiNNaker-1M is 20x20-boards \(--machine 1M\)$/);
  });

  it('Router.path uses the wrap: from a chip to each of the 57 600 as long as breadth-first search and the closed form, at most 160 hops', () => {
    const m = machineByName('1M');
    const router = new Router(m);
    // The torus is vertex-transitive, so distances from (0, 0) are every pair's distance.
    const dist = bfs(router, 0, 0);
    expect(Math.max(...dist)).toBe(160);
    const wrong: string[] = [];
    for (let y = 0; y < 240; y++) {
      for (let x = 0; x < 240; x++) {
        const links = router.path(0, 0, x, y);
        const end = walk(router, 0, 0, links).pop()!;
        if (links.length !== dist[y * 240 + x] || links.length !== torusDistance(240, 240, x, y) || end.join() !== `${x},${y}`) wrong.push(`(${x}, ${y}): ${links.length} hops to (${end})`);
      }
    }
    expect(wrong).toEqual([]);
    // From anywhere to anywhere (a seeded sample): the closed form, ≤ 160 hops, ending where asked.
    const r = rng(22);
    for (let i = 0; i < 2000; i++) {
      const [x0, y0, x1, y1] = [0, 0, 0, 0].map(() => Math.floor(r() * 240));
      const links = router.path(x0, y0, x1, y1);
      expect(links.length).toBe(torusDistance(240, 240, x1 - x0, y1 - y0));
      expect(links.length).toBeLessThanOrEqual(160);
      expect(walk(router, x0, y0, links).pop()).toEqual([x1, y1]);
    }
    expect(router.path(0, 0, 239, 239)).toEqual([4]); // one SW hop over both wraps
    expect(router.path(0, 0, 200, 10)).toHaveLength(50); // 40 W over the wrap + 10 N, not 200 E
    expect(router.path(0, 0, 160, 80)).toHaveLength(160); // a farthest chip
  });

  it('closed form equals breadth-first search on small tori too (12×12, 24×12)', () => {
    for (const name of ['1x1-boards', '2x1-boards']) {
      const m = machineByName(name);
      const router = new Router(m);
      for (const [x0, y0] of [[0, 0], [5, 7], [m.width - 1, 3]]) {
        const dist = bfs(router, x0, y0);
        for (const c of m.chips) {
          expect(dist[c.y * m.width + c.x]).toBe(torusDistance(m.width, m.height, c.x - x0, c.y - y0));
          expect(router.path(x0, y0, c.x, c.y)).toHaveLength(dist[c.y * m.width + c.x]);
        }
      }
    }
  });
});

describe('dead chips and links', () => {
  it('dead chips leave the machine: placement order goes around them, nothing is placed on them, and spinnaker.json records them', () => {
    const dead = [[1, 1], [2, 0], [0, 2]] as const;
    const m = machineByName('spinn5', { deadChips: dead });
    expect(m.chips).toHaveLength(45);
    expect(m.chips[0]).toMatchObject({ x: 0, y: 0 });
    for (const [x, y] of dead) expect(m.chips.some((c) => c.x === x && c.y === y)).toBe(false);
    // Breadth-first: every chip after the first is one live link from an earlier one.
    const router = new Router(m);
    m.chips.forEach((c, i) => {
      if (i === 0) return;
      const earlier = new Set(m.chips.slice(0, i).map((e) => `${e.x},${e.y}`));
      expect([0, 1, 2, 3, 4, 5].some((l) => earlier.has(String(router.neighbour(c.x, c.y, l))))).toBe(true);
    });
    expect(router.neighbour(0, 0, 1)).toBeUndefined(); // NE of (0, 0) is (1, 1): dead

    const c = compileSpinnaker(deepConv(6), { machine: 'spinn5', atomsPerCore: 32, deadChips: '1,1; 2,0;0,2' });
    const d = c.descriptor;
    expect(d.machine.deadChips).toEqual(dead);
    expect(d.machine.deadLinks).toBeUndefined();
    const isDead = (x: number, y: number) => dead.some(([a, b]) => a === x && b === y);
    expect(d.cores.filter((k) => isDead(k.chip[0], k.chip[1]))).toEqual([]);
    expect(d.routing.filter((t) => isDead(t.chip[0], t.chip[1]))).toEqual([]);
    expect(d.totals.chips).toBeGreaterThan(8);
    // Read back: the same machine, so the same chips; a core moved onto a dead chip is refused.
    const read = parseSpinnakerDescriptor(JSON.stringify(d), 'spinnaker.json');
    expect(machineOf(read).chips).toEqual(m.chips);
    const moved = JSON.parse(JSON.stringify(d));
    moved.cores[0].chip = [1, 1];
    expect(snncErrorMessage(() => parseSpinnakerDescriptor(JSON.stringify(moved), 'spinnaker.json'))).toBe('spinnaker.json: /cores/0/chip: (1, 1) is not a chip of spinn5');
    // Without dead chips the descriptor has no such field (existing artifacts are unchanged).
    expect('deadChips' in compileSpinnaker(small(), { machine: 'spinn3' }).descriptor.machine).toBe(false);
  });

  it('a dead link: routes go around it and never cross it, and every key reaches the same cores as on the healthy machine', () => {
    const options = { machine: 'spinn5', atomsPerCore: 32 };
    const healthy = compileSpinnaker(deepConv(6), options);
    // The link the healthy tables use most.
    const uses = new Map<string, number>();
    for (const t of healthy.tables) for (const e of t.entries) for (let l = 0; l < 6; l++) if (e.route & (1 << l)) uses.set(`${t.x},${t.y},${l}`, (uses.get(`${t.x},${t.y},${l}`) ?? 0) + 1);
    const busiest = [...uses.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    const [x, y, l] = busiest.split(',').map(Number);
    const [nx, ny] = [x + LINK_DELTA[l][0], y + LINK_DELTA[l][1]];

    const broken = compileSpinnaker(deepConv(6), { ...options, deadLinks: busiest });
    const d = broken.descriptor;
    expect(d.machine.deadLinks).toEqual([[x, y, l]]);
    const router = new Router(machineOf(d));
    expect(router.neighbour(x, y, l)).toBeUndefined();
    expect(router.neighbour(nx, ny, (l + 3) % 6)).toBeUndefined(); // dead both ways
    // No entry sends a packet over it, either way.
    for (const t of broken.tables) {
      for (const e of t.entries) {
        if (t.x === x && t.y === y) expect(e.route & (1 << l)).toBe(0);
        if (t.x === nx && t.y === ny) expect(e.route & (1 << ((l + 3) % 6))).toBe(0);
      }
    }
    // followKey with the dead-aware router throws if a packet (default routing included) would cross it.
    const tables = compressedTables(broken);
    const healthyTables = compressedTables(healthy);
    const healthyRouter = new Router(machineOf(healthy.descriptor));
    const name = (c: CompiledSpinnaker) => new Map(c.descriptor.cores.map((k) => [`${k.chip[0]},${k.chip[1]},${k.processor}`, coreName(k)]));
    const [names, healthyNames] = [name(broken), name(healthy)];
    const healthyCores = new Map(healthy.descriptor.cores.map((k) => [coreName(k), k]));
    let keys = 0;
    for (const k of d.cores) {
      if (k.key === undefined) continue;
      const h = healthyCores.get(coreName(k))!;
      const got = followKey(router, tables, k.chip[0], k.chip[1], k.key).map((p) => names.get(p.join())!);
      const want = followKey(healthyRouter, healthyTables, h.chip[0], h.chip[1], h.key!).map((p) => healthyNames.get(p.join())!);
      expect(got.sort()).toEqual(want.sort());
      keys++;
    }
    expect(keys).toBeGreaterThan(100);
  });

  it('a machine the dead chips cut apart: the route that cannot be found is a one-line SnncError', () => {
    // spinn3 without (0, 0) and (1, 1): (1, 0) and (0, 1) are not neighbours.
    const m = machineByName('spinn3', { deadChips: [[0, 0], [1, 1]] });
    expect(m.chips.map((c) => [c.x, c.y])).toEqual([[1, 0], [0, 1]]);
    const e = snncError(() => new Router(m).path(1, 0, 0, 1));
    expect(e.message).toBe('no route from chip (1, 0) to chip (0, 1) on spinn3: the 2 dead chips cut them apart (--dead-chips, --dead-links); give fewer dead chips and links or a larger --machine');
    // 27 cores: 16 on (1, 0), the rest on (0, 1), with spikes between them.
    const message = snncErrorMessage(() => compileSpinnaker(small(), { machine: 'spinn3', atomsPerCore: 16, deadChips: '0,0;1,1' }));
    expect(message).toMatch(/^no route from chip \(1, 0\) to chip \(0, 1\) on spinn3: the 2 dead chips cut them apart/);
    expect(message).not.toContain('\n');
    // Dead links alone can cut a chip off too.
    const links = snncErrorMessage(() => compileSpinnaker(small(), { machine: 'spinn3', atomsPerCore: 8, deadLinks: '1,1,3;1,1,4;1,1,5' }));
    expect(links).toMatch(/^no route from chip \(\d, \d\) to chip \(\d, \d\) on spinn3: the 3 dead links cut them apart/);
  });

  it('bad lists: one line naming the option, the item and what was expected', () => {
    const bad = (options: object) => {
      const e = snncError(() => compileSpinnaker(small(), { machine: 'spinn5', ...options }));
      expect(e).toBeInstanceOf(SnncError);
      expect(e.message).not.toContain('\n');
      return e.message;
    };
    expect(bad({ deadChips: '1,2;3' })).toBe('--dead-chips: "3" is not a chip; expected "x,y" (whole numbers), items separated by ";", e.g. --dead-chips "3,4;5,6"');
    expect(bad({ deadChips: '1,-2' })).toMatch(/^--dead-chips: "1,-2" is not a chip; expected "x,y"/);
    expect(bad({ deadChips: '7,0' })).toBe('--dead-chips: "7,0" is not a chip of spinn5 (48 chips)');
    expect(bad({ machine: '1M', deadChips: '240,0' })).toBe('--dead-chips: "240,0" is not a chip of 1M (57600 chips, a 240×240 torus)');
    expect(bad({ deadLinks: '1,2' })).toMatch(/^--dead-links: "1,2" is not a link; expected "x,y,link" \(whole numbers; link 0–5: 0 E, 1 NE, 2 N, 3 W, 4 SW, 5 S\)/);
    expect(bad({ deadLinks: '1,2,6' })).toBe('--dead-links: "1,2,6": link 6 is not one of 0–5 (0 E, 1 NE, 2 N, 3 W, 4 SW, 5 S)');
    expect(bad({ deadLinks: '7,7,0' })).toBe('--dead-links: "7,7,0": link 0 (E) of chip (7, 7) leads off spinn5');
    expect(bad({ deadLinks: '8,0,0' })).toBe('--dead-links: "8,0,0": (8, 0) is not a chip of spinn5 (48 chips)');
    expect(bad({ machine: 'spinn3', deadChips: '0,0;1,0;0,1;1,1' })).toBe('--dead-chips: every chip of spinn3 (4 chips) is dead');
    // A torus link over the wrap is a link; duplicates count once.
    expect(machineByName('1x1-boards', { deadLinks: [[11, 0, 0], [11, 0, 0]] }).deadLinks).toEqual([[11, 0, 0]]);
    // The same refusals when spinnaker.json lists them.
    const d = JSON.parse(JSON.stringify(compileSpinnaker(small(), { machine: 'spinn5' }).descriptor));
    d.machine.deadChips = [[7, 0]];
    expect(snncErrorMessage(() => parseSpinnakerDescriptor(JSON.stringify(d), 'spinnaker.json'))).toBe('spinnaker.json: /machine/deadChips: "7,0" is not a chip of spinn5 (48 chips)');
    d.machine.deadChips = [];
    d.machine.deadLinks = [[0, 0, 6]];
    expect(snncErrorMessage(() => parseSpinnakerDescriptor(JSON.stringify(d), 'spinnaker.json'))).toMatch(/^spinnaker\.json:1:\d+: \/machine\/deadLinks\/0\/2: must be <= 5$/);
  });
});

describe('routing at scale: sampled keys through the compressed tables', () => {
  const model = deepConv(17);
  const options = { machine: '2x2-boards', atomsPerCore: 64 };
  const deadChips = [[1, 1], [23, 23], [2, 22]] as const;
  const deadLinks = [[0, 21, 0], [2, 23, 1], [0, 0, 2], [22, 1, 4], [3, 1, 5]] as const;
  let healthyReached: string[][] = [];

  it('2x2-boards, deep conv S = 17 (≈ 10⁷ synapses): 200 keys each reach exactly the cores that take them; tables fit', () => {
    const c = compileSpinnaker(model, options);
    const d = c.descriptor;
    expect(d.totals.synapses).toBeGreaterThan(9e6);
    expect(d.totals.chips).toBeGreaterThan(40);
    expect(d.cores.some((k) => k.chip[0] > 20)).toBe(true); // placed over the wrap
    const routerEntries = machineOf(d).routerEntries;
    for (const t of c.tables) expect(t.entries.length).toBeLessThanOrEqual(routerEntries);
    const { reached } = followSample(c, 200, 17);
    expect(reached.filter((r) => r.length > 0).length).toBeGreaterThan(150);
    healthyReached = reached;
  });

  it('the same with dead chips and links among the cores: routes around them, the same cores reached', () => {
    const c = compileSpinnaker(model, { ...options, deadChips: deadChips.map((p) => p.join()).join(';'), deadLinks: deadLinks.map((p) => p.join()).join(';') });
    const d = c.descriptor;
    expect(d.machine.deadChips).toEqual(deadChips);
    expect(d.machine.deadLinks).toEqual(deadLinks);
    const machine = machineOf(parseSpinnakerDescriptor(JSON.stringify(d), 'spinnaker.json'));
    expect(machine.chips).toHaveLength(576 - 3);
    const isDead = (x: number, y: number) => deadChips.some(([a, b]) => a === x && b === y);
    expect(d.cores.filter((k) => isDead(k.chip[0], k.chip[1]))).toEqual([]);
    expect(c.tables.filter((t) => isDead(t.x, t.y))).toEqual([]);
    const healthy = new Router(machineByName(options.machine));
    for (const [x, y, l] of deadLinks) {
      const [nx, ny] = healthy.neighbour(x, y, l)!;
      for (const t of c.tables) {
        for (const e of t.entries) {
          if (t.x === x && t.y === y) expect(e.route & (1 << l)).toBe(0);
          if (t.x === nx && t.y === ny) expect(e.route & (1 << ((l + 3) % 6))).toBe(0);
        }
      }
    }
    for (const t of c.tables) expect(t.entries.length).toBeLessThanOrEqual(machine.routerEntries);
    const { reached, pairs } = followSample(c, 200, 17);
    // Keys and synapses do not depend on placement: each sampled key reaches the same cores.
    expect(reached).toEqual(healthyReached);
    // The dead chips and links were in the way: some delivery's shortest route on the healthy machine crosses one.
    const crossesDead = ([a, b]: (typeof pairs)[number]) => {
      const chips = walk(healthy, a[0], a[1], healthy.path(a[0], a[1], b[0], b[1]));
      return chips.some(([x, y], i) => isDead(x, y) || (i > 0 && deadLinks.some(([dx, dy, l]) => {
        const [px, py] = chips[i - 1];
        const [nx, ny] = healthy.neighbour(dx, dy, l)!;
        return (px === dx && py === dy && x === nx && y === ny) || (px === nx && py === ny && x === dx && y === dy);
      })));
    };
    expect(pairs.filter(crossesDead).length).toBeGreaterThan(0);
  });
});
