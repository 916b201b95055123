/**
 * SpiNNaker-1 machines (spinnaker.md §1, §12.1): chips on a hexagonal grid with six links, the cores
 * and SDRAM a user's vertices may use, and router capacity. `spinn3` is the 4-chip board, `spinn5`
 * the 48-chip board (its 8×8 hexagonal footprint, not wrapped), `NxM-boards` N×M triads of three
 * SpiNN-5 boards: a (12N)×(12M) torus, as sPyNNaker's virtual machines. It also owns shortest routes
 * between chips (longest dimension first, §7.2). It places nothing.
 */
import { badInput } from '../../compiler/errors.js';

/** Link l moves a packet by LINK_DELTA[l]: 0 E, 1 NE, 2 N, 3 W, 4 SW, 5 S; the opposite link is (l + 3) mod 6. */
export const LINK_DELTA: readonly (readonly [number, number])[] = [
  [1, 0],
  [1, 1],
  [0, 1],
  [-1, 0],
  [-1, -1],
  [0, -1],
];

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
  /** Chips in placement order (breadth-first from (0, 0)). */
  readonly chips: readonly Chip[];
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

export const MACHINE_HELP = 'spinn3 (4 chips), spinn5 (one 48-chip board), or NxM-boards (N×M triads of 3 boards: a 12N×12M-chip torus)';

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

export function machineByName(name: string, overrides: { routerEntries?: number; maxAtomsPerCore?: number } = {}): Machine {
  let width: number;
  let height: number;
  let wrap: boolean;
  let chips: [number, number, boolean][];
  let boards: number;
  const triads = /^(\d+)x(\d+)-boards$/.exec(name);
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
    if (n > MAX_TRIADS || m > MAX_TRIADS) throw badInput(`--machine ${name}: a SpiNNaker chip address has 8-bit x and y, so at most ${MAX_TRIADS}x${MAX_TRIADS}-boards (${12 * MAX_TRIADS}×${12 * MAX_TRIADS} chips); SpiNNaker-1M is 20x20-boards`);
    [width, height, wrap, boards] = [12 * n, 12 * m, true, 3 * n * m];
    const eth = new Set<string>();
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (const [dx, dy] of [[0, 0], [4, 8], [8, 4]]) eth.add(`${12 * i + dx},${12 * j + dy}`);
    chips = [];
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) chips.push([x, y, eth.has(`${x},${y}`)]);
  } else {
    throw badInput(`--machine must be ${MACHINE_HELP}; got "${name}"`);
  }
  const byXY = new Map(chips.map((c) => [`${c[0]},${c[1]}`, c]));
  // Breadth-first order from (0, 0) keeps consecutive vertices on neighbouring chips.
  const order: Chip[] = [];
  const seen = new Set<string>(['0,0']);
  const queue: [number, number][] = [[0, 0]];
  while (queue.length) {
    const [x, y] = queue.shift()!;
    const c = byXY.get(`${x},${y}`)!;
    order.push({ x, y, appCores: c[2] ? APP_CORES - 1 : APP_CORES, ethernet: c[2] });
    for (const [dx, dy] of LINK_DELTA) {
      const nx = wrap ? (x + dx + width) % width : x + dx;
      const ny = wrap ? (y + dy + height) % height : y + dy;
      const k = `${nx},${ny}`;
      if (byXY.has(k) && !seen.has(k)) {
        seen.add(k);
        queue.push([nx, ny]);
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
    routerEntries: overrides.routerEntries ?? ROUTER_ENTRIES,
    sdramPerChip: SDRAM_PER_CHIP,
    dtcmPerCore: DTCM,
    maxAtomsPerCore: overrides.maxAtomsPerCore ?? 256,
    source: SOURCE,
  };
}

/** Shortest routes on one machine, memoised per chip pair. */
export class Router {
  private readonly exists: Set<string>;
  constructor(readonly machine: Machine) {
    this.exists = new Set(machine.chips.map((c) => `${c.x},${c.y}`));
  }

  neighbour(x: number, y: number, link: number): [number, number] | undefined {
    const m = this.machine;
    let nx = x + LINK_DELTA[link][0];
    let ny = y + LINK_DELTA[link][1];
    if (m.wrap) {
      nx = (nx + m.width) % m.width;
      ny = (ny + m.height) % m.height;
    }
    return this.exists.has(`${nx},${ny}`) ? [nx, ny] : undefined;
  }

  /**
   * The links from (x0, y0) to (x1, y1): the minimal vector over E, N and the NE diagonal (each wrap
   * image on a torus), walked longest dimension first; breadth-first search if that leaves the board.
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
    while (queue.length) {
      const [x, y] = queue.shift()!;
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
      if (!p) throw new Error(`no route from (${x0}, ${y0}) to (${x1}, ${y1})`);
      links.unshift(p[1]);
      k = p[0];
    }
    return links;
  }
}

const median = (a: number, b: number, c: number) => Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
const hops = (v: readonly number[]) => Math.abs(v[0]) + Math.abs(v[1]) + Math.abs(v[2]);
