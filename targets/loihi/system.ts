/**
 * Multi-chip Loihi systems: how many chips, where each chip id sits on the chip mesh, and the routes
 * spikes take between chips. Published (loihi.md §4): Kapoho Point holds 8 Loihi 2 chips; Hala Point
 * 1 152 Loihi 2 chips (140 544 cores); Loihi 2 chips connect in a 3-D mesh (Loihi 1: 2-D, 4 planar
 * directions). Assumed, as the layouts are not public: Kapoho Point a 4 × 2 mesh, Hala Point a
 * 12 × 12 × 8 mesh (144 stacked 8-chip boards), any other chip count the squarest 2-D mesh that holds
 * it, and dimension-order routing (x, then y, then z) on every mesh. Chip ids follow a snake through
 * the mesh, so consecutive chips are neighbours, and cores fill chips band by band of the feature map
 * (every layer's tiles of the same rows together), so a conv's spikes mostly stay on their chip. It
 * owns only this geometry, the chip of each core and the route count of a compiled network; link
 * bandwidths are not published, so nothing here refuses a fit.
 */
import { badInput } from '../../compiler/errors.js';

export interface LoihiSystem {
  readonly name: string;
  readonly chips: number;
  /** Chips along x, y and z. */
  readonly mesh: readonly [number, number, number];
}

const NAMED: Readonly<Record<string, LoihiSystem>> = {
  'kapoho-point': { name: 'kapoho-point', chips: 8, mesh: [4, 2, 1] },
  'hala-point': { name: 'hala-point', chips: 1152, mesh: [12, 12, 8] },
};

export const SYSTEM_NAMES = Object.keys(NAMED);

/** The named system, or `chips` chips on the squarest 2-D mesh that holds them. */
export function loihiSystem(name: string | undefined, chips: number): LoihiSystem {
  if (name !== undefined) {
    const s = NAMED[name];
    if (!s) throw badInput(`--system must be one of ${SYSTEM_NAMES.join(', ')}; got "${name}"`);
    return s;
  }
  const x = Math.ceil(Math.sqrt(chips));
  return { name: `${chips} chip(s)`, chips, mesh: [x, Math.ceil(chips / x), 1] };
}

/** Where a tile sits in its population, 0…1: its middle row over the height (a population without rows: its middle channel over the channels). */
export function tileBand(box: { readonly c0: number; readonly c1: number; readonly y0: number; readonly y1: number }, [c, h]: readonly [number, number, number]): number {
  return h > 1 ? (box.y0 + box.y1) / 2 / h : (box.c0 + box.c1) / 2 / c;
}

/**
 * The chip of each core: cores sorted by their band (tileBand), then by core id, fill chips of
 * `coresPerChip` in that order; a network of one chip's worth or fewer is all on chip 0.
 */
export function chipsByBand(bands: readonly number[], coresPerChip: number): number[] {
  const order = bands.map((_, i) => i).sort((a, b) => bands[a] - bands[b] || a - b);
  const chipOf = new Array<number>(bands.length);
  order.forEach((core, k) => (chipOf[core] = Math.floor(k / coresPerChip)));
  return chipOf;
}

/** Mesh coordinates of chip `id`: a snake along x, back and forth, row by row, and layer by layer. */
export function chipPosition(system: LoihiSystem, id: number): [number, number, number] {
  const [nx, ny] = system.mesh;
  const z = Math.floor(id / (nx * ny));
  const inLayer = z % 2 === 0 ? id % (nx * ny) : nx * ny - 1 - (id % (nx * ny));
  const y = Math.floor(inLayer / nx);
  const x = y % 2 === 0 ? inLayer % nx : nx - 1 - (inLayer % nx);
  return [x, y, z];
}

/** Spike routes of a compiled network between its chips. */
export interface InterChipRoutes {
  /** Output axons (one route each) that leave their chip, and all output axons. */
  readonly interChip: number;
  readonly axons: number;
  readonly maxHops: number;
  readonly meanHops: number;
  /** Routes over the busiest directed chip-to-chip link. */
  readonly busiestLink: number;
}

/**
 * Counts the routes of every output axon (`chipOfCore[core]` of each (source core, destination core)
 * pair given by `forEachAxon`) that crosses chips, walked in dimension order over the mesh.
 */
export function interChipRoutes(system: LoihiSystem, chipOfCore: (core: number) => number, forEachAxon: (fn: (from: number, to: number) => void) => void): InterChipRoutes {
  const positions = new Map<number, [number, number, number]>();
  const at = (chip: number) => positions.get(chip) ?? positions.set(chip, chipPosition(system, chip)).get(chip)!;
  const links = new Map<number, number>(); // chip · 6 + direction → routes
  let [axons, interChip, hops, maxHops] = [0, 0, 0, 0];
  forEachAxon((from, to) => {
    axons++;
    const [a, b] = [chipOfCore(from), chipOfCore(to)];
    if (a === b) return;
    interChip++;
    const p = [...at(a)];
    const q = at(b);
    let n = 0;
    for (let d = 0; d < 3; d++) {
      while (p[d] !== q[d]) {
        const dir = p[d] < q[d] ? 2 * d : 2 * d + 1;
        const key = ((p[2] * system.mesh[1] + p[1]) * system.mesh[0] + p[0]) * 6 + dir;
        links.set(key, (links.get(key) ?? 0) + 1);
        p[d] += p[d] < q[d] ? 1 : -1;
        n++;
      }
    }
    hops += n;
    maxHops = Math.max(maxHops, n);
  });
  return { interChip, axons, maxHops, meanHops: interChip ? hops / interChip : 0, busiestLink: Math.max(0, ...links.values()) };
}
