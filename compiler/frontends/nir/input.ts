/**
 * The model's input shape from the NIR Input node. Exporters that trace a batched sample (Norse and
 * Rockpool by default, snnTorch without ignore_dims) write a leading batch axis of 1 ([1, 100],
 * [1, 2, 34, 34]); NIR shapes exclude the batch. The axis is dropped, with a diagnostic, when the first
 * shape-sensitive nodes downstream (past elementwise ones) all accept the shape without it: [1, 28, 28]
 * into a one-channel Conv2d keeps its axis. This module owns that decision.
 */
import { badInput } from '../../errors.js';
import { sameShape, shapeToString } from '../../ir/tensor.js';
import { type NirGraph, type NirNode, type Warn, toNumbers } from './graph.js';
import type { Topology } from '../../nir/topology.js';

/** Nodes that read any shape of their size and pass it on (the Input's readers are looked for beyond them). */
const ELEMENTWISE = new Set(['Identity', 'Scale', 'Delay', 'IF', 'LIF', 'CubaLIF', 'LI', 'CubaLI', 'I', 'Threshold']);

/** Whether `node` can read a tensor of `shape`. */
function accepts(node: NirNode, shape: readonly number[]): boolean {
  const dims = (key: string) => node.params.get(key)?.shape ?? [];
  const ints = (key: string) => toNumbers(node.params.get(key)?.value);
  switch (node.type) {
    case 'Affine':
    case 'Linear':
      return shape.length === 1 && shape[0] === dims('weight').at(-1);
    case 'Conv1d': {
      const [w, groups, l] = [dims('weight'), ints('groups')[0] ?? 1, ints('input_shape')];
      return shape.length === 2 && (w.length !== 3 || shape[0] === w[1] * groups) && (l.length !== 1 || shape[1] === l[0]);
    }
    case 'Conv2d': {
      const [w, groups, hw] = [dims('weight'), ints('groups')[0] ?? 1, ints('input_shape')];
      return shape.length === 3 && (w.length !== 4 || shape[0] === w[1] * groups) && (hw.length !== 2 || (shape[1] === hw[0] && shape[2] === hw[1]));
    }
    case 'SumPool2d':
    case 'AvgPool2d':
      return shape.length === 3;
    case 'Flatten': {
      const t = ints('input_type');
      return t.length === 0 || sameShape(t, shape);
    }
    default:
      return true;
  }
}

/** The first nodes downstream of `name` whose shape matters, looking through elementwise nodes. */
function readers(name: string, g: NirGraph, topo: Topology, seen = new Set<string>()): NirNode[] {
  return topo.succs.get(name)!.flatMap((s) => {
    if (seen.has(s)) return [];
    seen.add(s);
    const n = g.nodes.get(s)!;
    return ELEMENTWISE.has(n.type) ? readers(s, g, topo, seen) : [n];
  });
}

/** The per-sample input shape: the Input node's shape, less a leading batch axis of 1 that no reader needs. */
export function modelInputShape(input: NirNode, g: NirGraph, topo: Topology, file: string, warn: Warn): number[] {
  const shape = toNumbers(input.params.get('shape')?.value);
  if (shape.length === 0 || shape.some((d) => !(Number.isInteger(d) && d >= 1))) throw badInput(`${file}: Input "${input.name}" has no valid shape`);
  if (shape.length < 2 || shape[0] !== 1) return shape;
  const rest = shape.slice(1);
  if (!readers(input.name, g, topo).every((n) => accepts(n, rest))) return shape;
  warn(input.name, `Input shape ${shapeToString(shape)} has a leading batch axis of 1 (Norse, Rockpool, snnTorch without ignore_dims); dropped: the input is ${shapeToString(rest)}`);
  return rest;
}
