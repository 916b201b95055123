/**
 * IR reshapes → NIR, which has no general reshape: a reshape [C, L] → [C, 1, L] read only by a conv2d
 * with a [1, k] kernel, read only by a reshape [O, 1, L'] → [O, L'], is one NIR Conv1d (the form the NIR
 * reader gives Conv1d); a reshape that merges consecutive dimensions is a Flatten(start_dim, end_dim)
 * (with input_type). Any other reshape is refused by name. This module owns those patterns, and the
 * test for PyTorch's "same" padding that both convolutions write when their padding is asymmetric.
 */
import { consumers } from '../../compiler/ir/graph.js';
import type * as L from '../../compiler/ir/layers.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import type { ShapeMap } from '../../compiler/ir/shapes.js';
import { sameShape, sizeOf } from '../../compiler/ir/tensor.js';
import type { NirParamOut } from './neurons.js';

/** reshape → conv2d → reshape: one NIR Conv1d, named after the last reshape. */
export interface Conv1dPattern {
  readonly as2d: L.Reshape;
  readonly conv: L.Conv2d;
  readonly back: L.Reshape;
}

/** The Conv1d patterns of a model, by the name of their last reshape. */
export function conv1dPatterns(model: SnnModel, shapes: ShapeMap): Map<string, Conv1dPattern> {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const readers = consumers(model);
  const only = (name: string, reader: L.Layer) => readers.get(name)!.length === 1 && readers.get(name)![0] === reader;
  const found = new Map<string, Conv1dPattern>();
  for (const back of model.layers) {
    const conv = back.op === 'reshape' ? byName.get(back.inputs[0]) : undefined;
    const as2d = conv?.op === 'conv2d' ? byName.get(conv.inputs[0]) : undefined;
    if (back.op !== 'reshape' || conv?.op !== 'conv2d' || as2d?.op !== 'reshape') continue;
    const [x, y] = [shapes.get(as2d.inputs[0])!, shapes.get(conv.name)!];
    const flat = x.length === 2 && sameShape(as2d.shape, [x[0], 1, x[1]]) && conv.weight.shape[2] === 1 && conv.padding[0] === 0 && conv.padding[2] === 0;
    if (flat && y[1] === 1 && sameShape(back.shape, [y[0], y[2]]) && only(as2d.name, conv) && only(conv.name, back)) found.set(back.name, { as2d, conv, back });
  }
  return found;
}

const int = (v: number): NirParamOut => ({ kind: 'int', data: [v], shape: [] });

/** The NIR Conv1d parameters of a pattern; undefined padding: asymmetric and not "same" (the caller refuses it). */
export function conv1dParams(p: Conv1dPattern, shapes: ShapeMap): Record<string, NirParamOut> | undefined {
  const { conv } = p;
  const [O, cg, , k] = conv.weight.shape;
  const [, left, , right] = conv.padding;
  const d = conv.dilation?.[1] ?? 1;
  if (left !== right && !isSamePadding(k, d, conv.stride[1], left, right)) return undefined;
  return {
    weight: { kind: 'float', data: Float32Array.from(conv.weight.data), shape: [O, cg, k] },
    bias: { kind: 'float', data: conv.bias ? Float32Array.from(conv.bias.data) : new Float32Array(O), shape: [O] },
    stride: int(conv.stride[1]),
    padding: left === right ? int(left) : { kind: 'string', value: 'same' },
    dilation: int(d),
    groups: int(conv.groups),
    input_shape: int(shapes.get(p.as2d.inputs[0])![1]),
  };
}

/** [start_dim, end_dim] of a Flatten that turns `from` into `to` by merging consecutive dimensions (the first such pair). */
export function mergedDims(from: readonly number[], to: readonly number[]): [number, number] | undefined {
  for (let s = 0; s < from.length; s++) {
    for (let e = s; e < from.length; e++) {
      if (sameShape([...from.slice(0, s), sizeOf(from.slice(s, e + 1)), ...from.slice(e + 1)], to)) return [s, e];
    }
  }
  return undefined;
}

/** Whether padding [before, after] of one axis is PyTorch's "same" for kernel k, dilation d and stride 1. */
export function isSamePadding(k: number, d: number, stride: number, before: number, after: number): boolean {
  return stride === 1 && before === Math.floor((d * (k - 1)) / 2) && before + after === d * (k - 1);
}
