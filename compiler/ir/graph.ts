/** Graph queries over a model's layers: who reads a value, what a value depends on, what never changes. */
import { badInput } from '../errors.js';
import { type Layer, isStateful } from './layers.js';
import { INPUT, type SnnModel } from './model.js';

/** For each value (layer name or "input"), the layers that read it, in model order. */
export function consumers(model: SnnModel): Map<string, Layer[]> {
  const map = new Map<string, Layer[]>([[INPUT, []], ...model.layers.map((l) => [l.name, []] as [string, Layer[]])]);
  for (const layer of model.layers) for (const src of layer.inputs) map.get(src)!.push(layer);
  return map;
}

/** `name` and every value it reads, directly or through other layers. */
export function ancestors(model: SnnModel, name: string): Set<string> {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const found = new Set<string>([name]);
  const todo = [name];
  while (todo.length > 0) {
    for (const src of byName.get(todo.pop()!)?.inputs ?? []) {
      if (!found.has(src)) {
        found.add(src);
        todo.push(src);
      }
    }
  }
  return found;
}

/**
 * Values that are the same at every step: the input under direct encoding, and every stateless layer
 * that reads only such values (the static prefix, computed once per sample).
 */
export function staticValues(model: SnnModel): Set<string> {
  const statics = new Set<string>(model.input.encoding.type === 'direct' ? [INPUT] : []);
  for (const l of model.layers) if (!isStateful(l) && l.op !== 'delay' && l.inputs.every((n) => statics.has(n))) statics.add(l.name);
  return statics;
}

/** An edge src → dst whose source is listed at or after its reader (the one query behind back edges). */
export interface LaterRead {
  readonly layer: Layer;
  readonly src: Layer;
}

/** Every edge of `layers` that reads a layer listed at or after the reader, in listing order. */
export function laterReads(layers: readonly Layer[]): LaterRead[] {
  const at = new Map(layers.map((l, i) => [l.name, i]));
  return layers.flatMap((layer, i) => layer.inputs.filter((n) => n !== INPUT && (at.get(n) ?? -1) >= i).map((n) => ({ layer, src: layers[at.get(n)!] })));
}

/**
 * The edges "src→dst" that read src's value from the previous step: src listed at or after dst (only a
 * neuron may be such a source, which the verifier checks). Edges into and out of a delay never do: a
 * delay's output at step t is known before the step, its input after it.
 */
export function previousStepReads(model: SnnModel): Set<string> {
  return new Set(laterReads(model.layers).filter((e) => e.src.op !== 'delay' && e.layer.op !== 'delay').map((e) => `${e.src.name}→${e.layer.name}`));
}

/**
 * The first edge of `layers` that reads a value before it is computed: src listed at or after dst, and
 * neither a neuron (its previous step's value) nor a delay, nor into a delay. Undefined when the
 * listing is an evaluation order.
 */
export function earlyRead(layers: readonly Layer[]): LaterRead | undefined {
  return laterReads(layers).find((e) => e.layer.op !== 'delay' && e.src.op !== 'neuron' && e.src.op !== 'delay');
}

/**
 * An evaluation order for layers that may form cycles: a topological order (stable: ties keep the
 * listing order) of the graph without the edges into and out of delays and, inside each cycle, without
 * the edges leaving a neuron (they carry the neuron's output of the previous step). Throws, naming the
 * layers, if a cycle remains: a zero-delay cycle has no first layer to compute.
 */
export function evaluationOrder(layers: readonly Layer[]): Layer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const edges = (cut: (src: Layer, dst: Layer) => boolean) =>
    layers.flatMap((dst) => dst.inputs.filter((n) => n !== INPUT && byName.has(n)).map((n) => [byName.get(n)!, dst] as const)).filter(([src, dst]) => src.op !== 'delay' && dst.op !== 'delay' && !cut(src, dst));
  const component = stronglyConnected(layers, successors(layers, edges(() => false)));
  const kept = edges((src, dst) => src.op === 'neuron' && component.get(src) === component.get(dst));
  const order = topologicalOrder(layers, kept);
  if (order.length < layers.length) {
    const left = stronglyConnected(layers, successors(layers, kept));
    const size = (l: Layer) => [...left.values()].filter((c) => c === left.get(l)).length;
    const stuck = layers.filter((l) => !order.includes(l) && (size(l) > 1 || kept.some(([s, d]) => s === l && d === l))).map((l) => `"${l.name}"`);
    throw badInput(`layers ${stuck.join(', ')} form a cycle with no delay and no neuron: each needs the others' output of the same step (add a delay layer, or close the cycle through a neuron)`);
  }
  return order;
}

/** Kahn's algorithm, taking the earliest-listed ready layer first. */
function topologicalOrder(layers: readonly Layer[], edges: readonly (readonly [Layer, Layer])[]): Layer[] {
  const indegree = new Map(layers.map((l) => [l, 0]));
  for (const [, dst] of edges) indegree.set(dst, indegree.get(dst)! + 1);
  const order: Layer[] = [];
  const done = new Set<Layer>();
  for (;;) {
    const next = layers.find((l) => !done.has(l) && indegree.get(l) === 0);
    if (!next) return order;
    done.add(next);
    order.push(next);
    for (const [src, dst] of edges) if (src === next) indegree.set(dst, indegree.get(dst)! - 1);
  }
}

/** Tarjan's strongly connected components of `nodes` under `next`: each node's component index. */
export function stronglyConnected<T>(nodes: readonly T[], next: (n: T) => readonly T[]): Map<T, number> {
  const [index, low, component] = [new Map<T, number>(), new Map<T, number>(), new Map<T, number>()];
  const stack: T[] = [];
  const visit = (v: T): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next(v)) {
      if (!index.has(w)) visit(w);
      if (!component.has(w)) low.set(v, Math.min(low.get(v)!, low.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      component.set(w, index.get(v)!);
      if (w === v) break;
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return component;
}

/** The layer graph's successor lists for `edges`. */
function successors(layers: readonly Layer[], edges: readonly (readonly [Layer, Layer])[]): (l: Layer) => Layer[] {
  const out = new Map<Layer, Layer[]>(layers.map((l) => [l, []]));
  for (const [src, dst] of edges) out.get(src)!.push(dst);
  return (l) => out.get(l)!;
}
