/**
 * Fan-in splitting: a population whose neurons read more source neurons than a core has input axons
 * (ResNet-18's stage 4: 512·3·3 + 256 = 4 864 > 4 096) cannot sit on any core, however finely it is
 * tiled, because every source neuron reaching a core takes one of its axons. Its inputs are therefore
 * split by source channels (a conv) or source neurons (a dense) into groups of at most half a core's
 * axons, and each group is summed by a relay population: one compartment per target neuron that
 * forwards its summed input a(t) each step as a graded spike (a Loihi 2 microcode neuron with no
 * state; |a| < 2^17 fits the 24-bit payload). The target then reads its relays one to one with
 * weight 1, so it receives the very same a(t), one step later: its depth grows by one and every
 * delay downstream is recomputed so paths still line up. Exact: partial sums add to the whole sum
 * (the quantiser keeps |a| below 2^17, so no 24-bit wrap differs).
 *
 * A network transform between quantisation and partitioning; it knows nothing of tiles or cores beyond
 * the per-core input-axon limit.
 */
import type { ChipSpec } from './chip.js';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import type { LoihiNetwork, LoihiPopulation, LoihiProjection, ProjectionGeometry } from './quantise.js';
import { type StoredGeometry, isStored, neuronFanIn } from '../common/synaptic-terms.js';


/** One part of a projection: source channels (conv) or source neurons (dense) [from, to). */
interface Part {
  readonly proj: LoihiProjection;
  readonly from: number;
  readonly to: number;
  readonly fanIn: number;
}

function refuse(pop: string, what: string): never {
  throw new SnncError(`layer "${pop}": ${what}`, ExitCode.doesNotFit);
}

/** The geometry of a projection with stored weights (splitFanIn refuses to split a sparse rule before it gets here). */
function stored(proj: LoihiProjection): StoredGeometry {
  if (!isStored(proj.geometry)) throw new Error(`internal error: fan-in split of the sparse rule "${proj.name}"`);
  return proj.geometry;
}

/** Cuts a projection into parts of at most `budget` source neurons per target neuron. */
function parts(proj: LoihiProjection, budget: number): Part[] {
  const g = stored(proj);
  const perUnit = g.kind === 'dense' ? 1 : g.kernel[0] * g.kernel[1];
  const units = g.kind === 'dense' ? g.nIn : g.inShape[0];
  if (g.kind === 'conv' && g.groups !== 1) return [{ proj, from: 0, to: units, fanIn: neuronFanIn(g) }]; // grouped: each neuron reads its group only
  const step = Math.max(1, Math.floor(budget / perUnit));
  const out: Part[] = [];
  for (let a = 0; a < units; a += step) out.push({ proj, from: a, to: Math.min(units, a + step), fanIn: (Math.min(units, a + step) - a) * perUnit });
  return out;
}

/** The projection restricted to a part: its weights for those source units, reading from `sourceOffset`. */
function restrict(p: Part, target: string): LoihiProjection {
  const g = stored(p.proj);
  const n = p.to - p.from;
  if (g.kind === 'dense') {
    const weights = new Int32Array(g.nOut * n);
    for (let o = 0; o < g.nOut; o++) weights.set(p.proj.weights.subarray(o * g.nIn + p.from, o * g.nIn + p.to), o * n);
    return { ...p.proj, name: `${p.proj.name}[${p.from}:${p.to}]`, target, geometry: { kind: 'dense', nIn: n, nOut: g.nOut }, weights, sourceOffset: (p.proj.sourceOffset ?? 0) + p.from };
  }
  const [C, H, W] = g.inShape;
  const k = g.kernel[0] * g.kernel[1];
  const cout = g.outShape[0];
  const weights = new Int32Array(cout * n * k);
  for (let o = 0; o < cout; o++) weights.set(p.proj.weights.subarray((o * C + p.from) * k, (o * C + p.to) * k), o * n * k);
  return { ...p.proj, name: `${p.proj.name}[${p.from}:${p.to}]`, target, geometry: { ...g, inShape: [n, H, W] }, weights, sourceOffset: (p.proj.sourceOffset ?? 0) + p.from * H * W };
}

/** First-fit packing of parts into groups of at most `budget` source neurons per target neuron. */
function pack(all: readonly Part[], budget: number): Part[][] {
  const groups: { parts: Part[]; fanIn: number }[] = [];
  for (const p of all) {
    const g = groups.find((x) => x.fanIn + p.fanIn <= budget);
    if (g) {
      g.parts.push(p);
      g.fanIn += p.fanIn;
    } else groups.push({ parts: [p], fanIn: p.fanIn });
  }
  return groups.map((g) => g.parts);
}

/** The weight-1 one-to-one projection from a relay to its target (a 1×1 conv with one group per channel). */
function join(relay: LoihiPopulation, target: LoihiPopulation): LoihiProjection {
  const s = relay.shape.length === 3 ? ([...relay.shape] as [number, number, number]) : ([relay.neurons, 1, 1] as [number, number, number]);
  const geometry: ProjectionGeometry = { kind: 'conv', inShape: s, outShape: s, kernel: [1, 1], stride: [1, 1], padding: [0, 0, 0, 0], groups: s[0] };
  return { name: `${relay.name}.join`, source: relay.name, target: target.name, geometry, weights: new Int32Array(s[0]).fill(1), signMode: 'excitatory', delay: 0 };
}

/**
 * Splits every population whose neurons read more than `chip.inAxons` source neurons (see the module
 * comment); a network that needs no split is returned as it is.
 */
export function splitFanIn(net: LoihiNetwork, chip: ChipSpec): LoihiNetwork {
  const budget = Math.floor(chip.inAxons / 2);
  const populations: LoihiPopulation[] = [];
  let projections = [...net.projections];
  let split = false;
  for (const pop of net.populations) {
    const incoming = projections.filter((p) => p.target === pop.name);
    const fanIn = incoming.reduce((s, p) => s + neuronFanIn(p.geometry), 0);
    if (fanIn <= chip.inAxons) {
      populations.push(pop);
      continue;
    }
    if (incoming.some((p) => p.source === pop.name)) refuse(pop.name, `input axons ${fanIn} > limit ${chip.inAxons} (over by ${fanIn - chip.inAxons}) per neuron, and its recurrent weights cannot be split across relay compartments`);
    const rule = incoming.find((p) => !isStored(p.geometry));
    if (rule) refuse(pop.name, `input axons ${fanIn} > limit ${chip.inAxons} (over by ${fanIn - chip.inAxons}) per neuron, and the sparse rule of "${rule.name}" draws its sources per target, so its synapses cannot be split by source across relay compartments`);
    if (pop.pool) refuse(pop.name, `input axons ${fanIn} > limit ${chip.inAxons} (over by ${fanIn - chip.inAxons}) per neuron, and its max-pool dendrites cannot be split across relay compartments`);
    const groups = pack(incoming.flatMap((p) => parts(p, budget)), budget);
    const big = groups.find((g) => g[0].fanIn > chip.inAxons);
    if (big) refuse(pop.name, `input axons ${big[0].fanIn} > limit ${chip.inAxons} (over by ${big[0].fanIn - chip.inAxons}) per neuron even split to one source channel (or one group of a grouped convolution) per relay`);
    projections = projections.filter((p) => p.target !== pop.name);
    groups.forEach((group, k) => {
      const relay: LoihiPopulation = { ...pop, name: `${pop.name}.relay${k}`, profile: { ...pop.profile, relay: true, spiking: true }, bias: null, pool: undefined, hostCurrent: false };
      populations.push(relay);
      projections.push(...group.map((p) => restrict(p, relay.name)), join(relay, pop));
    });
    populations.push(pop);
    split = true;
  }
  return split ? alignDepths({ ...net, populations, projections }) : net;
}

/** Depth of every population (synapses from the input, the host feeding depth 0) and the delays that line paths up. */
function alignDepths(net: LoihiNetwork): LoihiNetwork {
  const depth = new Map<string, number>([['input', 0]]);
  for (const p of net.populations) {
    const ins = net.projections.filter((x) => x.target === p.name && x.source !== p.name);
    depth.set(p.name, p.hostCurrent ? 0 : Math.max(0, ...ins.map((x) => depth.get(x.source)! + 1)));
  }
  return {
    ...net,
    populations: net.populations.map((p) => ({ ...p, depth: depth.get(p.name)! })),
    quantisation: net.quantisation.map((r) => ({ ...r, depth: depth.get(r.layer) ?? r.depth })),
    projections: net.projections.map((x) => ({ ...x, delay: x.source === x.target ? 0 : depth.get(x.target)! - depth.get(x.source)! - 1 })),
  };
}
