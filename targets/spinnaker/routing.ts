/**
 * Multicast routing (spinnaker.md §7): a tree per sending core over the chips (shortest paths,
 * longest dimension first), one table entry per (source core, chip) merged into whole-population or
 * power-of-two blocks of cores where their routes agree, then the ordered pair compressor (§7.3).
 * Route bits: 0–5 links E, NE, N, W, SW, S; 6 + p deliver to processor p. The first matching entry
 * wins; a packet that matches nothing leaves by the link opposite to the one it came in on. `followKey`
 * walks a packet through tables as the routers do, which both the emulator and the tests use.
 */
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import type { Machine, Router } from './machine.js';

export interface RoutingEntry {
  readonly key: number;
  readonly mask: number;
  readonly route: number;
}

export interface ChipTable {
  readonly x: number;
  readonly y: number;
  /** Entries before compression (after merging whole populations and aligned blocks of cores). */
  readonly uncompressed: readonly RoutingEntry[];
  readonly entries: readonly RoutingEntry[];
}

export interface SendingCore {
  readonly population: string;
  /** Core index within its population (its machine-vertex index). */
  readonly index: number;
  /** Neurons on the core (each sends key + (neuron << colour bits)). */
  readonly atoms: number;
  readonly key: number;
  readonly mask: number;
  readonly chip: readonly [number, number];
  /** Where its spikes must go: chip and processor. */
  readonly targets: readonly (readonly [number, number, number])[];
}

const chipKey = (x: number, y: number) => `${x},${y}`;
/** A chip as one number (coordinates are 8-bit). */
const chipId = (x: number, y: number) => x * 256 + y;
export const coreBit = (p: number) => 2 ** (6 + p);

/** Route bits per chip (chipId) of one core's multicast tree (no chip is entered twice). */
export function routingTree(router: Router, src: SendingCore): Map<number, number> {
  const routes = new Map<number, number>([[chipId(src.chip[0], src.chip[1]), 0]]);
  const byChip = new Map<number, { x: number; y: number; label: string; cores: number[] }>();
  for (const [x, y, p] of src.targets) {
    const k = chipId(x, y);
    let c = byChip.get(k);
    if (!c) byChip.set(k, (c = { x, y, label: chipKey(x, y), cores: [] }));
    c.cores.push(p);
  }
  // Target chips in the order of their "x,y" labels (the order trees have always been grown in).
  for (const [k, { x, y, cores }] of [...byChip.entries()].sort((a, b) => (a[1].label < b[1].label ? -1 : 1))) {
    if (!routes.has(k)) {
      // Walk the path; graft it onto the tree after the last chip the tree already reaches.
      const links = router.path(src.chip[0], src.chip[1], x, y);
      const chips: number[] = [chipId(src.chip[0], src.chip[1])];
      let [cx, cy] = src.chip;
      for (const l of links) {
        [cx, cy] = router.neighbour(cx, cy, l)!;
        chips.push(chipId(cx, cy));
      }
      let from = 0;
      chips.forEach((c, i) => {
        if (routes.has(c)) from = i;
      });
      for (let i = from; i < links.length; i++) {
        routes.set(chips[i], routes.get(chips[i])! | (1 << links[i]));
        routes.set(chips[i + 1], 0);
      }
    }
    let r = routes.get(k)!;
    for (const p of cores) r |= coreBit(p);
    routes.set(k, r);
  }
  return routes;
}

/**
 * Routing trees of senders, shared by senders on the same chip with the same targets (in an all-to-all
 * network, every core of a chip): a tree depends on nothing else.
 */
class TreeCache {
  private readonly trees = new Map<string, { readonly targets: SendingCore['targets']; readonly tree: Map<number, number> }[]>();

  constructor(private readonly router: Router) {}

  of(src: SendingCore): Map<number, number> {
    let hash = 0x811c9dc5;
    for (const [x, y, p] of src.targets) hash = Math.imul(hash ^ ((x << 16) | (y << 8) | p), 0x01000193);
    const key = `${src.chip[0]},${src.chip[1]}:${src.targets.length}:${hash}`;
    const same = this.trees.get(key) ?? [];
    const found = same.find((t) => t.targets.every((q, i) => q === src.targets[i] || (q[0] === src.targets[i][0] && q[1] === src.targets[i][1] && q[2] === src.targets[i][2])));
    if (found) return found.tree;
    const tree = routingTree(this.router, src);
    this.trees.set(key, [...same, { targets: src.targets, tree }]);
    return tree;
  }
}

/**
 * Tables for every chip: per sending population, one entry when all its cores that pass a chip route
 * alike, else aligned power-of-two blocks of consecutive cores with equal routes; then compressed.
 */
export function buildRoutingTables(
  machine: Machine,
  router: Router,
  senders: readonly SendingCore[],
  population: (name: string) => { key: number; mask: number; atomBits: number },
  onProgress?: (done: number, total: number) => void,
): ChipTable[] {
  /** Per chip, per sending population: its cores whose trees pass the chip, and their route bits there. */
  const perChip = new Map<number, Map<string, { cores: SendingCore[]; routes: number[] }>>();
  const work = senders.length + machine.chips.length; // trees, then tables
  const trees = new TreeCache(router);
  let done = 0;
  for (const s of senders) {
    onProgress?.(++done, work);
    if (!s.targets.length) continue;
    for (const [k, route] of trees.of(s)) {
      let pops = perChip.get(k);
      if (!pops) perChip.set(k, (pops = new Map()));
      let at = pops.get(s.population);
      if (!at) pops.set(s.population, (at = { cores: [], routes: [] }));
      at.cores.push(s);
      at.routes.push(route);
    }
  }
  const tables: ChipTable[] = [];
  for (const chip of machine.chips) {
    onProgress?.(++done, work);
    const entries: RoutingEntry[] = [];
    for (const [pop, { cores, routes }] of perChip.get(chipId(chip.x, chip.y)) ?? []) {
      const info = population(pop);
      if (routes.every((r) => r === routes[0])) {
        entries.push({ key: info.key, mask: info.mask, route: routes[0] });
        continue;
      }
      let i = 0;
      while (i < cores.length) {
        let end = i + 1;
        while (end < cores.length && routes[end] === routes[i] && cores[end].index === cores[end - 1].index + 1) end++;
        for (let at = i; at < end; ) {
          const idx = cores[at].index;
          let block = 1;
          while (idx % (block * 2) === 0 && at + block * 2 <= end) block *= 2;
          entries.push({ key: cores[at].key, mask: (cores[at].mask & ~((block - 1) * 2 ** info.atomBits)) >>> 0, route: routes[at] });
          at += block;
        }
        i = end;
      }
    }
    if (!entries.length) continue;
    const compressed = compressOrderedPairs(entries);
    if (compressed.length > machine.routerEntries) {
      throw new SnncError(`routing: chip (${chip.x}, ${chip.y}): routing table has ${compressed.length} entries after compression (${entries.length} before) > ${machine.routerEntries} (over by ${compressed.length - machine.routerEntries}); spread the populations over more chips or use fewer, larger cores`, ExitCode.doesNotFit);
    }
    tables.push({ x: chip.x, y: chip.y, uncompressed: entries, entries: compressed });
  }
  return tables;
}

/**
 * Ordered pair compression (spinnaker.md §7.3): groups by route, least frequent first; each group's
 * first entry absorbs, in order, every later entry of its group whose merge captures no key of a later
 * group, then the next remaining entry starts. An entry that once failed to merge fails again against
 * the grown entry (its merge only covers more keys), so one pass in order finds every merge.
 */
export function compressOrderedPairs(entries: readonly RoutingEntry[]): RoutingEntry[] {
  const byRoute = new Map<number, RoutingEntry[]>();
  for (const e of entries) {
    const group = byRoute.get(e.route);
    if (group) group.push(e);
    else byRoute.set(e.route, [e]);
  }
  // Least frequent route first; ties by route value, so the result is deterministic.
  const groups = [...byRoute.values()].sort((a, b) => a.length - b.length || a[0].route - b[0].route);
  const keys = new Uint32Array(entries.length);
  const masks = new Uint32Array(entries.length);
  let at = 0;
  for (const group of groups) for (const e of group) [keys[at], masks[at++]] = [e.key, e.mask];
  const out: RoutingEntry[] = [];
  let laterFrom = 0; // keys[laterFrom…] are the later groups'
  for (const group of groups) {
    laterFrom += group.length;
    const capturesLater = (key: number, mask: number) => {
      for (let i = laterFrom; i < keys.length; i++) if (((key & masks[i]) >>> 0) === ((keys[i] & mask) >>> 0)) return true;
      return false;
    };
    const remaining = [...group];
    while (remaining.length) {
      let l = remaining.shift()!;
      for (let j = 0; j < remaining.length; ) {
        const e = remaining[j];
        const mask = (l.mask & e.mask & ~(l.key ^ e.key)) >>> 0;
        const key = (l.key & e.key & mask) >>> 0;
        if (capturesLater(key, mask)) {
          j++;
          continue;
        }
        l = { key, mask, route: l.route };
        remaining.splice(j, 1);
      }
      out.push(l);
    }
  }
  return out;
}

/** The route of the first entry matching `key`, or undefined (default routing). */
export function lookup(entries: readonly RoutingEntry[], key: number): number | undefined {
  for (const e of entries) if (((key & e.mask) >>> 0) === e.key) return e.route;
  return undefined;
}

/**
 * Follows a packet injected at (x, y) through the tables: the processors it reaches, as [x, y, p].
 * Throws (SnncError: the tables are bad input) if a packet injected locally matches nothing, leaves the
 * machine, or loops.
 */
export function followKey(router: Router, tables: ReadonlyMap<string, readonly RoutingEntry[]>, x: number, y: number, key: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  const stack: [number, number, number][] = [[x, y, -1]];
  let hops = 0;
  while (stack.length) {
    const [cx, cy, inLink] = stack.pop()!;
    if (++hops > 100000) throw badInput(`key 0x${key.toString(16)} loops`);
    let route = lookup(tables.get(chipKey(cx, cy)) ?? [], key);
    if (route === undefined) {
      if (inLink < 0) throw badInput(`key 0x${key.toString(16)} from chip (${x}, ${y}) matches no entry there`);
      route = 1 << ((inLink + 3) % 6);
    }
    for (let l = 0; l < 6; l++) {
      if (!(route & (1 << l))) continue;
      const nb = router.neighbour(cx, cy, l);
      if (!nb) throw badInput(`key 0x${key.toString(16)} leaves chip (${cx}, ${cy}) by link ${l}, which goes nowhere`);
      stack.push([nb[0], nb[1], (l + 3) % 6]);
    }
    for (let p = 0; p < 18; p++) if (Math.floor(route / coreBit(p)) % 2 === 1) out.push([cx, cy, p]);
  }
  return out;
}

/**
 * The proof by following keys, on a seeded sample: for `samples` (sending core, neuron) pairs, the key
 * of that neuron followed from the core's chip through `tables` must reach exactly the processors the
 * core's spikes are meant for (`targets`), each once. Returns one line per key that does not.
 */
export function followSampledKeys(router: Router, tables: readonly ChipTable[], senders: readonly SendingCore[], colourBits: number, samples: number, seed = 1): string[] {
  const byChip = new Map(tables.map((t) => [chipKey(t.x, t.y), t.entries]));
  const sending = senders.filter((s) => s.targets.length);
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const wrong: string[] = [];
  for (let i = 0; i < samples && sending.length; i++) {
    const s = sending[Math.floor(next() * sending.length)];
    const neuron = Math.floor(next() * s.atoms);
    const key = (s.key | (neuron << colourBits)) >>> 0;
    const got = followKey(router, byChip, s.chip[0], s.chip[1], key).map((p) => p.join(',')).sort();
    const want = s.targets.map((p) => p.join(',')).sort();
    if (got.join(' ') !== want.join(' ')) wrong.push(`key 0x${key.toString(16)} (${s.population} core ${s.index}, neuron ${neuron}) reaches [${got.join(' ')}], expected [${want.join(' ')}]`);
  }
  return wrong;
}
