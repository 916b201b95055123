/**
 * Which NIR node feeds which, and the order in which the reader builds them (an IR evaluation order,
 * compiler/ir/graph.ts). A spiking neuron ⇄ Affine/Linear self-loop becomes the neuron's recurrent weight
 * (chip targets rely on that form). Any other cycle is read as IR edges, and must pass through a neuron
 * or a Delay of at least one step: an edge out of a Delay never constrains the order (the delay's output
 * is known before the step), and inside a cycle an edge out of a neuron may read that neuron's output of
 * the previous step. Which of them do is decided by walking the graph forward from the Input, so that
 * the feed-forward path keeps same-step timing and the feedback reads the previous step (one step per
 * cycle, at the last neuron before the cycle closes). A cycle through neither, a zero-delay cycle, is
 * refused naming its nodes. Acyclic graphs are built in the order of a depth-first walk back from the
 * Output. Shared by the NIR reader and the NIR writer (which warns where the reader would time a cycle
 * otherwise than the model says).
 */
import { badInput } from '../errors.js';
import { stronglyConnected } from '../ir/graph.js';
import { type NirGraph, type NirNode, type Warn } from './graph.js';

/** NIR neuron primitives whose output is spikes (they may carry recurrent weights). */
export const SPIKING_TYPES = new Set(['IF', 'LIF', 'CubaLIF', 'Threshold']);
/** NIR neuron primitives whose output is their membrane. */
export const READOUT_TYPES = new Set(['LI', 'CubaLI', 'I']);
export const isNeuronType = (type: string): boolean => SPIKING_TYPES.has(type) || READOUT_TYPES.has(type);

/** The graph's edges, less the recurrent pairs, as predecessor and successor lists. */
export interface Wiring {
  /** Predecessors and successors in edge order (recurrent pairs removed, back edges kept). */
  readonly preds: Map<string, string[]>;
  readonly succs: Map<string, string[]>;
  /** Neuron node → the Affine/Linear node that feeds its output back into it. */
  readonly recurrentOf: Map<string, NirNode>;
  /** The nodes the Output depends on, through any edge. */
  readonly needed: Set<string>;
}

export interface Topology extends Wiring {
  /** The needed nodes in build order: each after what it reads at the same step. */
  readonly order: string[];
  /** Delay node → its delay in whole steps (0: a pass-through). */
  readonly delays: ReadonlyMap<string, number>;
  /** Edges "src→dst" that read src before it is built: src is a neuron on a cycle (its previous step) or a delay on a cycle. */
  readonly late: ReadonlySet<string>;
}

/**
 * Neuron ⇄ Affine/Linear pairs where the Affine/Linear is fed only by the neuron and feeds only it back.
 * A nested recurrent graph whose Input feeds the Affine/Linear instead of the neuron (the wiring of
 * snnTorch's and Spyx's importers, nir.md §7) is read as Input → neuron, with a diagnostic: those edges
 * come back in `rewired`. A readout neuron's loop is left as an ordinary cycle (its membrane fed back).
 */
function recurrentPairs(g: NirGraph, file: string, warn: Warn): { recurrentOf: Map<string, NirNode>; rewired: [string, string][] } {
  const recurrentOf = new Map<string, NirNode>();
  const rewired: [string, string][] = [];
  for (const a of g.nodes.values()) {
    if (a.type !== 'Affine' && a.type !== 'Linear') continue;
    const outs = g.edges.filter(([src]) => src === a.name).map(([, t]) => t);
    const ins = g.edges.filter(([, t]) => t === a.name).map(([src]) => src);
    if (outs.length !== 1 || !ins.includes(outs[0])) continue;
    const entry = ins.filter((i) => i !== outs[0]);
    const port = ins.length === 2 && entry.length === 1 && g.nodes.get(entry[0])!.type === 'Identity' && g.edges.filter(([src]) => src === entry[0]).length === 1 ? entry[0] : undefined;
    if (ins.length !== 1 && !port) continue;
    const n = g.nodes.get(outs[0])!;
    if (!SPIKING_TYPES.has(n.type)) continue;
    if (recurrentOf.has(n.name)) throw badInput(`${file}: node "${n.name}" (${n.type}) has two recurrent weights ("${recurrentOf.get(n.name)!.name}", "${a.name}")`);
    recurrentOf.set(n.name, a);
    if (port) {
      rewired.push([port, n.name]);
      warn(a.name, `the nested graph's input "${port}" feeds the recurrent weights; read as feeding "${n.name}" (the recurrent-layer convention of snnTorch and Spyx)`);
    }
  }
  return { recurrentOf, rewired };
}

/** The edges without the recurrent pairs, and the nodes the Output depends on. */
export function wiring(g: NirGraph, output: string, file: string, warn: Warn): Wiring {
  const { recurrentOf, rewired } = recurrentPairs(g, file, warn);
  const recurrentNames = new Set([...recurrentOf.values()].map((a) => a.name));
  const forward = [...g.edges.filter(([src, t]) => !recurrentNames.has(src) && !recurrentNames.has(t)), ...rewired];
  const preds = new Map<string, string[]>([...g.nodes.keys()].map((k) => [k, []]));
  const succs = new Map<string, string[]>([...g.nodes.keys()].map((k) => [k, []]));
  for (const [s, t] of forward) {
    preds.get(t)!.push(s);
    succs.get(s)!.push(t);
  }
  const needed = new Set([output]);
  for (const todo = [output]; todo.length > 0; ) {
    for (const p of preds.get(todo.pop()!)!) if (!needed.has(p)) todo.push(needed.add(p) && p);
  }
  return { preds, succs, recurrentOf, needed };
}

/**
 * A depth-first order: each node after the nodes `before(node)` lists. An edge back to a node being
 * visited is ignored, or, with `cycle`, reported with the path that closes on itself.
 */
function dfsOrder(roots: Iterable<string>, before: (n: string) => string[], cycle?: (path: string[]) => never): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') {
      if (cycle) cycle([n, ...stack.slice(stack.indexOf(n) + 1).reverse(), n]); // the stack runs against the edges
      return;
    }
    state.set(n, 'visiting');
    stack.push(n);
    for (const p of before(n)) visit(p);
    stack.pop();
    state.set(n, 'done');
    order.push(n);
  };
  for (const r of roots) visit(r);
  return order;
}

/** Each needed node's position in a reverse post-order of a depth-first walk forward from the Input. */
function forwardRank(w: Wiring, input: string): Map<string, number> {
  const after = (n: string) => [...w.succs.get(n)!].reverse().filter((s) => w.needed.has(s));
  const post = dfsOrder([input, ...w.needed], after);
  return new Map(post.reverse().map((n, i) => [n, i]));
}

/**
 * The build order of the needed nodes. Delays with `delays` > 0 steps and, inside each cycle, neurons may
 * be read before they are built. First, an order that follows the forward walk from the Input (its rank)
 * as far as the edges allow decides which neuron edges read the previous step (their reader comes first);
 * then the layers are listed in a depth-first walk back from the Output that keeps those decisions.
 */
export function topology(g: NirGraph, w: Wiring, input: string, output: string, delays: ReadonlyMap<string, number>, file: string): Topology {
  const type = (n: string) => g.nodes.get(n)!.type;
  const isDelay = (n: string) => type(n) === 'Delay' && (delays.get(n) ?? 0) > 0;
  const needed = [...w.needed];
  const next = (n: string) => w.succs.get(n)!.filter((t) => w.needed.has(t));
  const [cycle, neuronCycle] = [stronglyConnected(needed, next), stronglyConnected(needed, (n) => (isDelay(n) ? [] : next(n)))];
  // Edges that may read a value of the previous step: out of a delay on a cycle, or out of a neuron on a cycle that no delay closes.
  const may = (s: string, t: string) => (isDelay(s) && cycle.get(s) === cycle.get(t)) || (isNeuronType(type(s)) && neuronCycle.get(s) === neuronCycle.get(t));
  const rank = forwardRank(w, input);
  const byRank = (a: string, b: string) => rank.get(a)! - rank.get(b)!;
  const first = dfsOrder(needed.sort(byRank), (n) => w.preds.get(n)!.filter((s) => !may(s, n)).sort(byRank), (path) => zeroDelayCycle(g, path, delays, file));
  const at = new Map(first.map((n, i) => [n, i]));
  const late = new Set<string>();
  for (const t of needed) for (const s of w.preds.get(t)!) if (may(s, t) && at.get(t)! <= at.get(s)!) late.add(`${s}→${t}`);
  const before = (n: string) => [...w.preds.get(n)!.filter((s) => !late.has(`${s}→${n}`)), ...w.succs.get(n)!.filter((t) => t !== n && late.has(`${n}→${t}`))];
  const order = dfsOrder([output, ...first], before, (path) => {
    throw new Error(`internal: the build order has a cycle ${path.join(' → ')}`);
  });
  return { ...w, order, delays, late };
}

/** The refusal of a cycle that passes through no neuron and no Delay of at least one step. */
function zeroDelayCycle(g: NirGraph, path: string[], delays: ReadonlyMap<string, number>, file: string): never {
  const names = path.map((n) => `"${n}"`).join(' → ');
  const what = path.length === 2 ? `node ${names.split(' ')[0]} (${g.nodes.get(path[0])!.type}) has an edge to itself` : `nodes ${names} (${path.slice(0, -1).map((n) => g.nodes.get(n)!.type).join(', ')}) form a cycle`;
  const zero = path.filter((n) => g.nodes.get(n)!.type === 'Delay' && delays.get(n) === 0).map((n) => ` (Delay "${n}" is 0 steps at this dt)`);
  throw badInput(`${file}: ${what} through no neuron and no delay${zero[0] ?? ''}: each node needs another's output of the same step; close the cycle through a neuron or a Delay`);
}
