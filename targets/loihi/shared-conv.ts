/**
 * Shared convolution weights in a compiled Loihi core (chip.ts's 'shared' format): a core stores the
 * kernel slice of its output channels once, and each input axon names its source's channel and position
 * (the axon map's two words), from which the chip walks the kernel to the compartments it reaches. This
 * module owns that format: which source neurons a tile reads (the descriptor's input axons, in source
 * order), where the tile sits in the convolution's output grid and, with a max-pool join, which
 * compartments each grid position feeds, the checks of all of it, and the walk of one axon's synapses,
 * which the emulator expands every axon into once, when it loads a descriptor.
 */
import type { CoreDescriptor } from './descriptor.js';
import type { Box, ConvGeometry } from './footprint.js';
import { axisReads, channelReads, gridLines } from './footprint.js';
import type { LoihiPopulation, LoihiProjection } from './quantise.js';
import { neuronFanIn } from '../common/synaptic-terms.js';

/** [offset, length] into loihi.bin, in int32 elements. */
type Range = readonly [number, number];

export interface SharedConvFormat {
  /** The kernel slice [grid box channels, Cin/groups, kh, kw] (loihi.bin). */
  readonly weights: Range;
  readonly inShape: readonly [number, number, number];
  /** The convolution's output grid [Cout, H, W] (before a max-pool join). */
  readonly outShape: readonly [number, number, number];
  readonly groups: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Top and left padding. */
  readonly padding: readonly [number, number];
}

/** The box of the convolutions' output grid a core holds, [c0, c1, y0, y1, x0, x1], and with a max-pool join each position's compartments. */
export interface CoreGrid {
  readonly box: readonly [number, number, number, number, number, number];
  /** Box volume + 1 offsets, then compartments: position p feeds compartments list[offsets[p] … offsets[p+1] − 1]. Absent: position p is compartment p. */
  readonly targets?: Range;
}

/** Most synapses the emulator expands shared axons into, over all cores. */
export const MAX_EXPANDED_SYNAPSES = 2 ** 27;

/** The input axons a tile needs for a convolution: (channel, position, source neuron) per axon, in source order. */
export function sharedAxons(proj: LoihiProjection, g: ConvGeometry, pop: LoihiPopulation, box: Box): [number, number, number][] {
  const [, H, W] = g.inShape;
  const [c0, c1] = channelReads(g, [box.c0, box.c1]).source;
  const covered = (axis: 0 | 1, lo: number, hi: number) => {
    const reads = axisReads(gridLines(lo, hi, pop.pool, axis), g.kernel[axis], g.stride[axis], g.padding[axis], g.inShape[axis + 1]);
    return Array.from({ length: g.inShape[axis + 1] }, (_, i) => i).filter((i) => reads.prefix[i + 1] > reads.prefix[i]);
  };
  const rows = covered(0, box.y0, box.y1);
  const cols = covered(1, box.x0, box.x1);
  const offset = proj.sourceOffset ?? 0;
  const axons: [number, number, number][] = [];
  for (let c = c0; c < c1; c++) for (const y of rows) for (const x of cols) axons.push([c, y * W + x, offset + (c * H + y) * W + x]);
  return axons;
}

/** The format record of a convolution whose kernel slice is `weights`. */
export function sharedFormat(g: ConvGeometry, weights: Range): SharedConvFormat {
  return { weights, inShape: g.inShape, outShape: g.outShape, groups: g.groups, kernel: g.kernel, stride: g.stride, padding: [g.padding[0], g.padding[1]] };
}

/** The kernel slice of a tile's output channels [c0, c1): contiguous in [Cout, Cin/groups, kh, kw]. */
export function kernelSlice(proj: LoihiProjection, g: ConvGeometry, box: Box): Int32Array {
  const per = neuronFanIn(g); // weights per output channel
  return proj.weights.subarray(box.c0 * per, box.c1 * per);
}

/**
 * Where a tile sits in its output grid: its box (with a join, the rows and columns its pool windows
 * span), and each position's compartments from the tile's (grid index, compartment) targets.
 */
export function coreGrid(pop: LoihiPopulation, box: Box, targets: readonly (readonly [number, number])[], add: (values: number[]) => Range): CoreGrid {
  if (!pop.pool) return { box: [box.c0, box.c1, box.y0, box.y1, box.x0, box.x1] };
  const [, H, W] = pop.pool.inShape;
  const rows = gridLines(box.y0, box.y1, pop.pool, 0);
  const cols = gridLines(box.x0, box.x1, pop.pool, 1);
  const [y0, y1, x0, x1] = [Math.min(...rows), Math.max(...rows) + 1, Math.min(...cols), Math.max(...cols) + 1];
  const lists: number[][] = Array.from({ length: (box.c1 - box.c0) * (y1 - y0) * (x1 - x0) }, () => []);
  for (const [o, cx] of targets) {
    const c = Math.floor(o / (H * W));
    const y = Math.floor(o / W) % H;
    lists[((c - box.c0) * (y1 - y0) + (y - y0)) * (x1 - x0) + (o % W) - x0].push(cx);
  }
  const offsets = [0];
  for (const l of lists) offsets.push(offsets[offsets.length - 1] + l.length);
  return { box: [box.c0, box.c1, y0, y1, x0, x1], targets: add([...offsets, ...lists.flat()]) };
}

/**
 * Calls fn(compartment, weight) for every synapse of the axon of source `channel` at `position`: the
 * kernel taps that land it on an output position of the core's box, for the box's channels of its group.
 */
export function walkAxon(f: SharedConvFormat, grid: CoreGrid, kernel: Int32Array, csr: Int32Array | null, channel: number, position: number, fn: (cx: number, w: number) => void): void {
  const [C, , W] = f.inShape;
  const [c0, c1, y0, y1, x0, x1] = grid.box;
  const [kh, kw] = f.kernel;
  const cinPG = C / f.groups;
  const coutPG = f.outShape[0] / f.groups;
  const group = Math.floor(channel / cinPG);
  const ci = channel % cinPG;
  const [lo, hi] = [Math.max(c0, group * coutPG), Math.min(c1, (group + 1) * coutPG)];
  const y = Math.floor(position / W);
  const x = position % W;
  const vol = (c1 - c0) * (y1 - y0) * (x1 - x0);
  for (let u = 0; u < kh; u++) {
    const ty = y + f.padding[0] - u;
    const r = ty / f.stride[0];
    if (ty < 0 || !Number.isInteger(r) || r < y0 || r >= y1) continue;
    for (let v = 0; v < kw; v++) {
      const tx = x + f.padding[1] - v;
      const q = tx / f.stride[1];
      if (tx < 0 || !Number.isInteger(q) || q < x0 || q >= x1) continue;
      for (let co = lo; co < hi; co++) {
        const w = kernel[((co - c0) * cinPG + ci) * kh * kw + u * kw + v];
        const p = ((co - c0) * (y1 - y0) + (r - y0)) * (x1 - x0) + (q - x0);
        if (!csr) fn(p, w);
        else for (let k = csr[p]; k < csr[p + 1]; k++) fn(csr[vol + 1 + k], w);
      }
    }
  }
}

/** What a core's shared formats and grid must satisfy for the walk to stay inside its compartments, or the failing check's message. */
export function sharedFormatProblem(f: SharedConvFormat, grid: CoreGrid | undefined, compartments: number): string | undefined {
  const C = f.inShape[0];
  const [O, OH, OW] = f.outShape;
  if (!grid) return 'a shared convolution format needs the core\'s "grid"';
  const [c0, c1, y0, y1, x0, x1] = grid.box;
  if (C % f.groups || O % f.groups) return `groups ${f.groups} do not divide ${C} input and ${O} output channels`;
  if (!(c0 < c1 && c1 <= O && y0 < y1 && y1 <= OH && x0 < x1 && x1 <= OW)) return `grid box [${grid.box.join(', ')}] is not inside the output grid [${O}, ${OH}, ${OW}]`;
  if (f.weights[1] !== (c1 - c0) * (C / f.groups) * f.kernel[0] * f.kernel[1]) return `kernel slice of ${f.weights[1]} weights; the grid box's ${c1 - c0} channels need ${(c1 - c0) * (C / f.groups) * f.kernel[0] * f.kernel[1]}`;
  if (!grid.targets && (c1 - c0) * (y1 - y0) * (x1 - x0) > compartments) return `grid box of ${(c1 - c0) * (y1 - y0) * (x1 - x0)} positions, but the core has ${compartments} compartments`;
  return undefined;
}

/** Checks a core's grid targets words (offsets rising from 0, compartments in range), or the failing check's message. */
export function gridWordsProblem(grid: CoreGrid, words: Int32Array, compartments: number): string | undefined {
  const [c0, c1, y0, y1, x0, x1] = grid.box;
  const vol = (c1 - c0) * (y1 - y0) * (x1 - x0);
  if (words.length < vol + 1 || words[0] !== 0 || words.length !== vol + 1 + words[vol]) return `${words.length} words; expected ${vol + 1} offsets from 0 and then as many compartments as the last offset`;
  for (let p = 0; p < vol; p++) if (words[p + 1] < words[p]) return `offset ${p + 1} (${words[p + 1]}) is below offset ${p} (${words[p]})`;
  for (let k = vol + 1; k < words.length; k++) if (words[k] < 0 || words[k] >= compartments) return `target ${k - vol - 1} is compartment ${words[k]}; the core has ${compartments}`;
  return undefined;
}

/** Upper bound of the synapses one axon of format `f` expands into on a core with this grid. */
export function synapsesPerAxon(f: SharedConvFormat, grid: CoreGrid, csr: Int32Array | null): number {
  const [c0, c1, y0, y1, x0, x1] = grid.box;
  let fanOut = 1;
  if (csr) {
    const vol = (c1 - c0) * (y1 - y0) * (x1 - x0);
    for (let p = 0; p < vol; p++) fanOut = Math.max(fanOut, csr[p + 1] - csr[p]);
  }
  return (c1 - c0) * f.kernel[0] * f.kernel[1] * fanOut;
}

/** A core's synapses as the emulator walks them: per input axon (pointer, count, format) into (compartment, weight) arrays. */
export interface CoreSynapses {
  readonly axonMap: Int32Array;
  readonly synCx: Int32Array;
  readonly synW: Float64Array;
}

/** A core's synapses with every shared-weight axon expanded into the synapses its kernel walk reaches. */
export function expandSynapses(c: CoreDescriptor, ints: Int32Array): CoreSynapses {
  const words = (r: Range) => ints.subarray(r[0], r[0] + r[1]);
  const map = words(c.axonMap);
  const syn = words(c.synapses);
  const csr = c.grid?.targets ? words(c.grid.targets) : null;
  const axonMap = new Int32Array(map.length);
  const cx: number[] = [];
  const w: number[] = [];
  for (let a = 0; a < map.length; a += 3) {
    const f = c.formats[map[a + 2]];
    axonMap[a] = cx.length;
    axonMap[a + 2] = map[a + 2];
    if (f.shared) {
      walkAxon(f.shared, c.grid!, words(f.shared.weights), csr, map[a], map[a + 1], (k, x) => void (cx.push(k), w.push(x)));
    } else {
      for (let k = map[a]; k < map[a] + map[a + 1]; k++) cx.push(syn[2 * k]), w.push(syn[2 * k + 1]);
    }
    axonMap[a + 1] = cx.length - axonMap[a];
  }
  return { axonMap, synCx: Int32Array.from(cx), synW: Float64Array.from(w) };
}
