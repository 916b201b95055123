/**
 * SpiNNaker-1 machines (spinnaker.md §1, §12.1): chips on a hexagonal grid with six links, the cores
 * and SDRAM a user's vertices may use, and router capacity. `spinn3` is the 4-chip board, `spinn5`
 * the 48-chip board (its 8×8 hexagonal footprint, not wrapped), `NxM-boards` N×M triads of three
 * SpiNN-5 boards: a (12N)×(12M) torus, as sPyNNaker's virtual machines; `1M` is SpiNNaker-1M,
 * 20x20-boards (240×240 chips). Dead chips and links (--dead-chips, --dead-links) are left out: no
 * core is placed on a dead chip and no route crosses a dead link or enters a dead chip. It also owns
 * shortest routes between chips (longest dimension first, §7.2; breadth-first around dead chips and
 * links). It places nothing.
 */
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';

/** Link l moves a packet by LINK_DELTA[l]: 0 E, 1 NE, 2 N, 3 W, 4 SW, 5 S; the opposite link is (l + 3) mod 6. */
export const LINK_DELTA: readonly (readonly [number, number])[] = [
  [1, 0],
  [1, 1],
  [0, 1],
  [-1, 0],
  [-1, -1],
  [0, -1],
];

/** Names of the six links, by number (LINK_DELTA). */
export const LINK_NAMES = ['E', 'NE', 'N', 'W', 'SW', 'S'] as const;

/** A chip the machine does without: [x, y]. */
export type DeadChip = readonly [number, number];
/** A link the machine does without, in both directions: [x, y, link] (link 0–5 as LINK_DELTA). */
export type DeadLink = readonly [number, number, number];

export interface MachineOverrides {
  readonly routerEntries?: number;
  readonly maxAtomsPerCore?: number;
  readonly deadChips?: readonly DeadChip[];
  readonly deadLinks?: readonly DeadLink[];
}

export interface Chip {
  readonly x: number;
  readonly y: number;
  /** Application processors: 1 … appCores (core 0 is the monitor). */
  readonly appCores: number;
  readonly ethernet: boolean;
}

export interface Machine {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly wrap: boolean;
  readonly boards: number;
  /** Live chips in placement order (breadth-first from (0, 0) over live links; then any part the dead chips and links cut off, likewise). */
  readonly chips: readonly Chip[];
  /** As given (duplicates dropped); their chips are not in `chips`. */
  readonly deadChips: readonly DeadChip[];
  /** As given (duplicates dropped); each is dead in both directions. */
  readonly deadLinks: readonly DeadLink[];
  readonly routerEntries: number;
  readonly sdramPerChip: number;
  readonly dtcmPerCore: number;
  readonly maxAtomsPerCore: number;
  readonly source: string;
}

const ROUTER_ENTRIES = 1023;
const SDRAM_PER_CHIP = 123_469_792;
const DTCM = 65_536;
/** 18 cores − the monitor − the extra monitor; Ethernet chips also host the data gatherer. */
const APP_CORES = 16;
const SOURCE = 'SpiNNMachine/spinnaker_tools constants (spinnaker.md §1, §12.1)';

/** The 48 chips of a SpiNN-5 board relative to its Ethernet chip. */
function spinn5Footprint(): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < 8; y++) {
    const [lo, hi] = y < 4 ? [0, 4 + y] : [y - 3, 7];
    for (let x = lo; x <= hi; x++) out.push([x, y]);
  }
  return out;
}

/** Triads per axis: 12 chips each, and a chip coordinate is 8 bits (P2P addresses are 16-bit). */
const MAX_TRIADS = 21;

/** Names that stand for another machine (the descriptor keeps the name as given). */
const ALIASES: Readonly<Record<string, string>> = { '1M': '20x20-boards' };

export const MACHINE_HELP = `spinn3 (4 chips), spinn5 (one 48-chip board), NxM-boards (N×M triads of 3 boards: a 12N×12M-chip torus, N, M ≤ ${MAX_TRIADS}), or 1M (SpiNNaker-1M: 20x20-boards, 240×240 chips)`;

const CHIP_SYNTAX = '"x,y" (whole numbers), items separated by ";", e.g. --dead-chips "3,4;5,6"';
/** "0 E, 1 NE, …, 5 S". */
const LINK_LIST = LINK_NAMES.map((n, i) => `${i} ${n}`).join(', ');
const LINK_SYNTAX = `"x,y,link" (whole numbers; link 0–5: ${LINK_LIST}), items separated by ";", e.g. --dead-links "3,4,0;5,6,2"`;

/** Refuses a dead link whose link number is not 0–5. */
function checkLinkNumber(l: DeadLink): void {
  if (!(l[2] >= 0 && l[2] <= 5)) throw badInput(`--dead-links: "${l.join(',')}": link ${l[2]} is not one of 0–5 (${LINK_LIST})`);
}

/** Items of a ";"-separated list of `n` comma-separated whole numbers each (blank items skipped); `fail` on any other item. */
function parseTuples(text: string, n: number, fail: (item: string) => never): number[][] {
  return text
    .split(';')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const parts = item.split(',').map((p) => p.trim());
      if (parts.length !== n || !parts.every((p) => /^\d{1,9}$/.test(p))) fail(item);
      return parts.map(Number);
    });
}

/** --dead-chips text ("x,y;x,y") as chips; throws a one-line bad-input error naming the item. Whether they are chips of the machine is machineByName's to check. */
export function parseDeadChips(text: string): DeadChip[] {
  return parseTuples(text, 2, (item) => {
    throw badInput(`--dead-chips: "${item}" is not a chip; expected ${CHIP_SYNTAX}`);
  }) as unknown as DeadChip[];
}

/** --dead-links text ("x,y,link;…") as links; throws a one-line bad-input error naming the item. */
export function parseDeadLinks(text: string): DeadLink[] {
  const links = parseTuples(text, 3, (item) => {
    throw badInput(`--dead-links: "${item}" is not a link; expected ${LINK_SYNTAX}`);
  }) as unknown as DeadLink[];
  links.forEach(checkLinkNumber);
  return links;
}

/** The dead-link set of a machine as "x,y,l" strings, both directions of each link. */
function deadLinkSet(m: { readonly width: number; readonly height: number; readonly wrap: boolean }, links: readonly DeadLink[]): Set<string> {
  const out = new Set<string>();
  for (const [x, y, l] of links) {
    out.add(`${x},${y},${l}`);
    const [nx, ny] = step(m, x, y, l);
    out.add(`${nx},${ny},${(l + 3) % 6}`);
  }
  return out;
}

/** The coordinates one link away (wrapped on a torus; possibly off a board that does not wrap). */
function step(m: { readonly width: number; readonly height: number; readonly wrap: boolean }, x: number, y: number, link: number): [number, number] {
  const nx = x + LINK_DELTA[link][0];
  const ny = y + LINK_DELTA[link][1];
  return m.wrap ? [(nx + m.width) % m.width, (ny + m.height) % m.height] : [nx, ny];
}

/**
 * The smallest square (or N×(N+1)) machine of triads with at least `cores` application cores (each
 * triad: 144 chips of APP_CORES, less one on each of its 3 Ethernet chips), for messages that say which
 * --machine would hold a network.
 */
export function machineFor(cores: number): string {
  const capacity = (n: number, m: number) => 144 * n * m * APP_CORES - 3 * n * m;
  for (let n = 1; n <= MAX_TRIADS; n++) {
    if (capacity(n, n) >= cores) return `${n}x${n}-boards`;
    if (n < MAX_TRIADS && capacity(n, n + 1) >= cores) return `${n}x${n + 1}-boards`;
  }
  return `more than ${MAX_TRIADS}x${MAX_TRIADS}-boards (the largest machine snnc models)`;
}

/**
 * The machine called `name` (spinn3, spinn5, NxM-boards or 1M), less `overrides.deadChips` and
 * `deadLinks`; a dead chip or link that is not on the machine, or one that leads off it, is a
 * one-line bad-input error naming the option and the item.
 */
export function machineByName(name: string, overrides: MachineOverrides = {}): Machine {
  let width: number;
  let height: number;
  let wrap: boolean;
  let chips: [number, number, boolean][];
  let boards: number;
  const triads = /^(\d+)x(\d+)-boards$/.exec(ALIASES[name] ?? name);
  if (name === 'spinn3') {
    [width, height, wrap, boards] = [2, 2, false, 1];
    chips = [
      [0, 0, true],
      [1, 0, false],
      [0, 1, false],
      [1, 1, false],
    ];
  } else if (name === 'spinn5') {
    [width, height, wrap, boards] = [8, 8, false, 1];
    chips = spinn5Footprint().map(([x, y]) => [x, y, x === 0 && y === 0]);
  } else if (triads && Number(triads[1]) >= 1 && Number(triads[2]) >= 1) {
    const [n, m] = [Number(triads[1]), Number(triads[2])];
    if (n > MAX_TRIADS || m > MAX_TRIADS) throw badInput(`--machine ${name}: a SpiNNaker chip address has 8-bit x and y, so at most ${MAX_TRIADS}x${MAX_TRIADS}-boards (${12 * MAX_TRIADS}×${12 * MAX_TRIADS} chips); SpiNNaker-1M is 20x20-boards (--machine 1M)`);
    [width, height, wrap, boards] = [12 * n, 12 * m, true, 3 * n * m];
    const eth = new Set<string>();
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (const [dx, dy] of [[0, 0], [4, 8], [8, 4]]) eth.add(`${12 * i + dx},${12 * j + dy}`);
    chips = [];
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) chips.push([x, y, eth.has(`${x},${y}`)]);
  } else {
    throw badInput(`--machine must be ${MACHINE_HELP}; got "${name}"`);
  }
  const byXY = new Map(chips.map((c) => [`${c[0]},${c[1]}`, c]));
  const geometry = { width, height, wrap };
  const what = `${name} (${chips.length} chips${wrap ? `, a ${width}×${height} torus` : ''})`;
  const deadChips = unique(overrides.deadChips ?? []);
  const deadLinks = unique(overrides.deadLinks ?? []);
  for (const c of deadChips) {
    if (c.length !== 2 || !c.every(Number.isInteger) || !byXY.has(`${c[0]},${c[1]}`)) throw badInput(`--dead-chips: "${c.join(',')}" is not a chip of ${what}`);
  }
  for (const l of deadLinks) {
    if (l.length !== 3 || !l.every(Number.isInteger) || !byXY.has(`${l[0]},${l[1]}`)) throw badInput(`--dead-links: "${l.join(',')}": (${l[0]}, ${l[1]}) is not a chip of ${what}`);
    checkLinkNumber(l);
    const [nx, ny] = step(geometry, l[0], l[1], l[2]);
    if (!byXY.has(`${nx},${ny}`)) throw badInput(`--dead-links: "${l.join(',')}": link ${l[2]} (${LINK_NAMES[l[2]]}) of chip (${l[0]}, ${l[1]}) leads off ${name}`);
  }
  for (const [x, y] of deadChips) byXY.delete(`${x},${y}`);
  if (!byXY.size) throw badInput(`--dead-chips: every chip of ${what} is dead`);
  const dead = deadLinkSet(geometry, deadLinks);
  // Breadth-first order from (0, 0) keeps consecutive vertices on neighbouring chips; chips the dead
  // chips and links cut off from it follow, each part breadth-first from its first chip.
  const order: Chip[] = [];
  const seen = new Set<string>();
  for (const seed of [[0, 0, false] as const, ...chips]) {
    const k0 = `${seed[0]},${seed[1]}`;
    if (!byXY.has(k0) || seen.has(k0)) continue;
    seen.add(k0);
    const queue: [number, number][] = [[seed[0], seed[1]]];
    for (let head = 0; head < queue.length; head++) {
      const [x, y] = queue[head];
      const c = byXY.get(`${x},${y}`)!;
      order.push({ x, y, appCores: c[2] ? APP_CORES - 1 : APP_CORES, ethernet: c[2] });
      for (let l = 0; l < 6; l++) {
        const [nx, ny] = step(geometry, x, y, l);
        const k = `${nx},${ny}`;
        if (byXY.has(k) && !seen.has(k) && !dead.has(`${x},${y},${l}`)) {
          seen.add(k);
          queue.push([nx, ny]);
        }
      }
    }
  }
  return {
    name,
    width,
    height,
    wrap,
    boards,
    chips: order,
    deadChips,
    deadLinks,
    routerEntries: overrides.routerEntries ?? ROUTER_ENTRIES,
    sdramPerChip: SDRAM_PER_CHIP,
    dtcmPerCore: DTCM,
    maxAtomsPerCore: overrides.maxAtomsPerCore ?? 256,
    source: SOURCE,
  };
}

/** Shortest routes on one machine, around its dead chips and links. */
export class Router {
  /** 1 where a live chip is, row by row. */
  private readonly live: Uint8Array;
  private readonly dead: Set<string>;
  constructor(readonly machine: Machine) {
    this.live = new Uint8Array(machine.width * machine.height);
    for (const c of machine.chips) this.live[c.y * machine.width + c.x] = 1;
    this.dead = deadLinkSet(machine, machine.deadLinks ?? []);
  }

  private exists(x: number, y: number): boolean {
    const m = this.machine;
    return x >= 0 && y >= 0 && x < m.width && y < m.height && this.live[y * m.width + x] === 1;
  }

  /** The chip link `link` of (x, y) leads to; undefined off the machine, into a dead chip or across a dead link. */
  neighbour(x: number, y: number, link: number): [number, number] | undefined {
    const next = step(this.machine, x, y, link);
    if (!this.exists(next[0], next[1])) return undefined;
    return this.dead.size && this.dead.has(`${x},${y},${link}`) ? undefined : next;
  }

  /**
   * The links from (x0, y0) to (x1, y1): the minimal vector over E, N and the NE diagonal (each wrap
   * image on a torus), walked longest dimension first; breadth-first search if that leaves the board
   * or meets a dead chip or link. Where no route exists (dead chips and links cut the two chips apart),
   * a one-line SnncError.
   */
  path(x0: number, y0: number, x1: number, y1: number): number[] {
    const m = this.machine;
    const images = (d: number, size: number) => (m.wrap ? [d, d - size, d + size] : [d]);
    let best: [number, number, number] | undefined;
    for (const dx of images(x1 - x0, m.width)) {
      for (const dy of images(y1 - y0, m.height)) {
        const z = median(0, dx, dy);
        const v: [number, number, number] = [dx - z, dy - z, z];
        if (!best || hops(v) < hops(best)) best = v;
      }
    }
    const [a, b, c] = best!;
    const dims: [number, number, number][] = [
      [Math.abs(a), a > 0 ? 0 : 3, 0],
      [Math.abs(b), b > 0 ? 2 : 5, 1],
      [Math.abs(c), c > 0 ? 1 : 4, 2],
    ];
    dims.sort((p, q) => q[0] - p[0] || p[2] - q[2]);
    const links: number[] = [];
    let [x, y] = [x0, y0];
    for (const [n, link] of dims) {
      for (let i = 0; i < n; i++) {
        const next = this.neighbour(x, y, link);
        if (!next) return this.search(x0, y0, x1, y1);
        links.push(link);
        [x, y] = next;
      }
    }
    return links;
  }

  private search(x0: number, y0: number, x1: number, y1: number): number[] {
    const prev = new Map<string, [string, number]>();
    const start = `${x0},${y0}`;
    const goal = `${x1},${y1}`;
    const queue: [number, number][] = [[x0, y0]];
    const seen = new Set([start]);
    for (let head = 0; head < queue.length; head++) {
      const [x, y] = queue[head];
      if (`${x},${y}` === goal) break;
      for (let l = 0; l < 6; l++) {
        const nb = this.neighbour(x, y, l);
        if (!nb || seen.has(`${nb[0]},${nb[1]}`)) continue;
        seen.add(`${nb[0]},${nb[1]}`);
        prev.set(`${nb[0]},${nb[1]}`, [`${x},${y}`, l]);
        queue.push(nb);
      }
    }
    const links: number[] = [];
    for (let k = goal; k !== start; ) {
      const p = prev.get(k);
      if (!p) throw this.unreachable(x0, y0, x1, y1);
      links.unshift(p[1]);
      k = p[0];
    }
    return links;
  }

  private unreachable(x0: number, y0: number, x1: number, y1: number): SnncError {
    const m = this.machine;
    const notLive = [[x0, y0], [x1, y1]].find(([x, y]) => !this.exists(x, y));
    if (notLive) return new SnncError(`no route from chip (${x0}, ${y0}) to chip (${x1}, ${y1}): (${notLive[0]}, ${notLive[1]}) is not a live chip of ${m.name}`, ExitCode.doesNotFit);
    const [chips, links] = [m.deadChips?.length ?? 0, m.deadLinks?.length ?? 0];
    const dead = [...(chips ? [`${chips} dead chip${chips > 1 ? 's' : ''}`] : []), ...(links ? [`${links} dead link${links > 1 ? 's' : ''}`] : [])].join(' and ');
    return new SnncError(`no route from chip (${x0}, ${y0}) to chip (${x1}, ${y1}) on ${m.name}: the ${dead || 'missing links'} cut them apart (--dead-chips, --dead-links); give fewer dead chips and links or a larger --machine`, ExitCode.doesNotFit);
  }
}

/** `items` without repeats (by value), in order. */
function unique<T extends readonly number[]>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = t.join(',');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const median = (a: number, b: number, c: number) => Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
const hops = (v: readonly number[]) => Math.abs(v[0]) + Math.abs(v[1]) + Math.abs(v[2]);
