/**
 * Shape inference: the per-sample output shape of every layer, from the input shape and each layer's
 * parameters. Throws an error naming the layer when an input's shape does not suit it.
 */
import { sparseRule } from './connectivity.js';
import { badInput } from '../errors.js';
import type { Conv2d, Layer, Padding4, Pair } from './layers.js';
import { INPUT, type SnnModel } from './model.js';
import { sameShape, shapeToString, sizeOf } from './tensor.js';
import { broadcastsTo } from './params.js';

export type ShapeMap = ReadonlyMap<string, readonly number[]>;

function fail(layer: Layer, message: string): never {
  throw badInput(`layer "${layer.name}" (${layer.op}): ${message}`);
}

/** Spatial output size of a sliding window (floor mode, as ONNX with ceil_mode=0). */
export function windowOutput(size: number, kernel: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - kernel) / stride) + 1;
}

function spatial(layer: Layer, x: readonly number[], kernel: Pair, stride: Pair, padding: Padding4): [number, number] {
  if (x.length !== 3) fail(layer, `expects a [C, H, W] input, got ${shapeToString(x)}`);
  const h = windowOutput(x[1], kernel[0], stride[0], padding[0], padding[2]);
  const w = windowOutput(x[2], kernel[1], stride[1], padding[1], padding[3]);
  if (h < 1 || w < 1) fail(layer, `kernel [${kernel.join(', ')}] does not fit input ${shapeToString(x)} with padding [${padding.join(', ')}]`);
  return [h, w];
}

export function layerOutputShape(layer: Layer, ins: readonly (readonly number[])[]): number[] {
  const x = ins[0];
  switch (layer.op) {
    case 'dense': {
      const [out, inn] = layer.weight.shape;
      if (x.length !== 1) fail(layer, `expects a vector input (add a flatten layer), got ${shapeToString(x)}`);
      if (x[0] !== inn) fail(layer, `weight ${shapeToString(layer.weight.shape)} expects ${inn} inputs, got ${x[0]}`);
      return [out];
    }
    case 'sparse':
      sparseRule(layer, sizeOf(x)); // refuses a rule the input cannot serve, naming the layer
      return [layer.size];
    case 'conv2d': {
      const [out, cinPerGroup, kh, kw] = layer.weight.shape;
      if (x.length !== 3) fail(layer, `expects a [C, H, W] input, got ${shapeToString(x)}`);
      if (x[0] !== cinPerGroup * layer.groups) {
        fail(layer, `weight ${shapeToString(layer.weight.shape)} with groups=${layer.groups} expects ${cinPerGroup * layer.groups} input channels, got ${x[0]}`);
      }
      const [dh, dw] = layer.dilation ?? [1, 1];
      return [out, ...spatial(layer, x, [(kh - 1) * dh + 1, (kw - 1) * dw + 1], layer.stride, layer.padding)];
    }
    case 'avgpool2d':
    case 'maxpool2d':
      return [x[0], ...spatial(layer, x, layer.kernel, layer.stride, layer.padding)];
    case 'gated_maxpool2d':
      return [x[0], ...spatial(layer, x, layer.kernel, layer.stride, [0, 0, 0, 0])];
    case 'relu':
      return [...x];
    case 'batchnorm':
      if (x[0] !== layer.scale.shape[0]) fail(layer, `has ${layer.scale.shape[0]} channels but its input ${shapeToString(x)} has ${x[0]}`);
      return [...x];
    case 'concat': {
      for (let i = 1; i < ins.length; i++) {
        if (!sameShape(ins[i].slice(1), x.slice(1))) {
          fail(layer, `inputs must agree except in the channel axis: "${layer.inputs[0]}" is ${shapeToString(x)} but "${layer.inputs[i]}" is ${shapeToString(ins[i])}`);
        }
      }
      return [ins.reduce((c, s) => c + s[0], 0), ...x.slice(1)];
    }
    case 'flatten':
      return [sizeOf(x)];
    case 'reshape':
      if (sizeOf(layer.shape) !== sizeOf(x)) fail(layer, `cannot reshape ${shapeToString(x)} (${sizeOf(x)} values) to ${shapeToString(layer.shape)} (${sizeOf(layer.shape)})`);
      return [...layer.shape];
    case 'add': {
      for (let i = 1; i < ins.length; i++) {
        if (!sameShape(ins[i], x)) {
          fail(layer, `all inputs must have the same shape: "${layer.inputs[0]}" is ${shapeToString(x)} but "${layer.inputs[i]}" is ${shapeToString(ins[i])}`);
        }
      }
      return [...x];
    }
    case 'delay':
      return [...x];
    case 'neuron': {
      const n = sizeOf(x);
      if (layer.recurrent && layer.recurrent.shape[0] !== n) {
        fail(layer, `recurrent weight ${shapeToString(layer.recurrent.shape)} does not match the layer's ${n} neurons`);
      }
      for (const [name, t] of Object.entries(layer.params)) {
        if (typeof t !== 'number' && !broadcastsTo(t.shape, x)) fail(layer, `parameter ${name} has shape ${shapeToString(t.shape)}, which does not broadcast to the layer shape ${shapeToString(x)}`);
      }
      return [...x];
    }
  }
}

/** The sizes a conv2d works with, for loops over its input or output. */
export interface ConvGeometry {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly O: number;
  readonly OH: number;
  readonly OW: number;
  readonly KH: number;
  readonly KW: number;
  /** Input channels per group and output channels per group. */
  readonly cinPG: number;
  readonly coutPG: number;
  readonly sh: number;
  readonly sw: number;
  /** Dilation. */
  readonly dh: number;
  readonly dw: number;
  /** Top and left padding. */
  readonly pt: number;
  readonly pl: number;
}

export function convGeometry(layer: Conv2d, inShape: readonly number[], outShape: readonly number[]): ConvGeometry {
  const [C, H, W] = inShape;
  const [O, OH, OW] = outShape;
  const [, cinPG, KH, KW] = layer.weight.shape;
  const [dh, dw] = layer.dilation ?? [1, 1];
  return { C, H, W, O, OH, OW, KH, KW, cinPG, coutPG: O / layer.groups, sh: layer.stride[0], sw: layer.stride[1], dh, dw, pt: layer.padding[0], pl: layer.padding[1] };
}

/**
 * Output shape of the input and of every layer. Assumes names resolve (the verifier checks that first).
 * A layer reading a later one (a cycle through a neuron's previous step, or a delay) is inferred once
 * its inputs are: passes repeat until every shape is known, an `add` taking the shape of its known
 * inputs when that is all a cycle leaves; a final pass checks every layer with all its inputs known.
 */
export function inferShapes(model: SnnModel): ShapeMap {
  const shapes = new Map<string, readonly number[]>([[INPUT, model.input.shape]]);
  if (sizeOf(model.input.shape) > MAX_LAYER_VALUES) throw badInput(`model "${model.name}": the input has ${sizeOf(model.input.shape)} values per sample, more than the ${MAX_LAYER_VALUES} snnc supports`);
  const infer = (layer: Layer, ins: (readonly number[])[]) => {
    const shape = layerOutputShape(layer, ins);
    if (sizeOf(shape) > MAX_LAYER_VALUES) fail(layer, `has ${sizeOf(shape)} values per sample (shape [${shape.join(', ')}]), more than the ${MAX_LAYER_VALUES} snnc supports`);
    shapes.set(layer.name, shape);
  };
  let pending = [...model.layers];
  while (pending.length > 0) {
    const waiting = pending.filter((layer) => {
      const ins = layer.inputs.map((n) => shapes.get(n));
      if (ins.some((x) => x === undefined)) return true;
      infer(layer, ins as (readonly number[])[]);
      return false;
    });
    if (waiting.length === pending.length) {
      const add = waiting.find((l) => l.op === 'add' && l.inputs.some((n) => shapes.has(n)));
      if (!add) fail(waiting[0], `reads ${waiting[0].inputs.filter((n) => !shapes.has(n)).map((n) => `"${n}"`).join(', ')}, whose shape depends on this layer's own output`);
      infer(add, add.inputs.filter((n) => shapes.has(n)).map((n) => shapes.get(n)!));
      pending = waiting.filter((l) => l !== add);
    } else pending = waiting;
  }
  for (const layer of model.layers) {
    const shape = layerOutputShape(layer, layer.inputs.map((n) => shapes.get(n)!));
    if (!sameShape(shape, shapes.get(layer.name)!)) fail(layer, `its output ${shapeToString(shape)} differs from the ${shapeToString(shapes.get(layer.name)!)} its cycle needs`);
  }
  return shapes;
}

/** Most values one layer may hold per sample (2^28: 1 GiB of float32), so that every buffer a simulator or target allocates for it is addressable. */
export const MAX_LAYER_VALUES = 2 ** 28;
