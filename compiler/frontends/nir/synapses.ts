/**
 * NIR's stateless primitives → IR layers: Affine/Linear → dense; Conv2d → conv2d (padding pairs or
 * "same"/"valid", dilation); Conv1d over [C, L] → reshape [C, 1, L], a conv2d with a [1, k] kernel,
 * reshape [O, L']; AvgPool2d → avgpool2d; SumPool2d → avgpool2d then ×kH·kW (a per-channel batchnorm
 * scale); Flatten(start_dim, end_dim) over the per-sample dimensions (negative ones count from the end) →
 * flatten when the result is a vector, else reshape; Scale → a per-channel batchnorm (an all-ones Scale is
 * an identity). "same" padding is PyTorch's: d·(k − 1) in all, the odd one at the end, stride 1 only.
 * This module owns those mappings; neurons and the graph walk live elsewhere.
 */
import { badInput } from '../../errors.js';
import * as L from '../../ir/layers.js';
import { type Tensor, shapeToString, sizeOf, tensor } from '../../ir/tensor.js';
import { type NirNode, toNumbers } from './graph.js';

/** What a mapping needs of the reader: the layers built so far, fresh names and shapes of IR values. */
export interface BuildContext {
  readonly layers: L.Layer[];
  fresh(hint: string): string;
  shapeOf(value: string): readonly number[];
}

/** NIR types this module maps. */
export const SYNAPSE_TYPES = new Set(['Affine', 'Linear', 'Conv1d', 'Conv2d', 'AvgPool2d', 'SumPool2d', 'Flatten', 'Scale']);

/** Parameter access with errors naming the node. */
function access(node: NirNode, where: string) {
  const p = (key: string, required = true) => {
    const v = node.params.get(key);
    if (!v && required) throw badInput(`${where}: missing parameter "${key}"`);
    return v;
  };
  const floats = (key: string): Tensor => {
    const v = p(key)!;
    const data = Float32Array.from(toNumbers(v.value));
    return tensor(v.shape.length ? v.shape : [data.length], data);
  };
  const pair = (key: string, dflt: number): [number, number] => {
    const v = toNumbers(p(key, false)?.value);
    return v.length === 0 ? [dflt, dflt] : v.length === 1 ? [v[0], v[0]] : [v[0], v[1]];
  };
  const int = (key: string, dflt: number): number => toNumbers(p(key, false)?.value)[0] ?? dflt;
  return { p, floats, pair, int };
}

/** A per-channel scale as a batchnorm with no shift. */
function scaleLayer(name: string, input: string, scale: Float32Array): L.BatchNorm {
  return L.batchNorm({ name, inputs: [input], scale: tensor([scale.length], scale), shift: tensor([scale.length], new Float32Array(scale.length)) });
}

/** Padding [before, after] of one spatial axis: a number, or "same" (PyTorch: d·(k − 1) in all, the odd one after) or "valid". */
function axisPadding(value: unknown, pad: number, kernel: number, dilation: number, stride: number, where: string): [number, number] {
  if (typeof value !== 'string') return [pad, pad];
  if (value === 'valid') return [0, 0];
  if (value !== 'same') throw badInput(`${where}: unknown padding "${value}"`);
  if (stride !== 1) throw badInput(`${where}: padding "same" with stride ${stride} (PyTorch allows "same" with stride 1 only)`);
  const total = dilation * (kernel - 1);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function conv2d(node: NirNode, input: string, where: string, ctx: BuildContext): string {
  const { p, floats, pair, int } = access(node, where);
  const weight = floats('weight');
  if (weight.shape.length !== 4) throw badInput(`${where}: weight must have rank 4 [out, in/groups, kh, kw], got ${shapeToString(weight.shape)}`);
  const padValue = p('padding', false)?.value;
  const [stride, dilation, pads] = [pair('stride', 1), pair('dilation', 1), typeof padValue === 'string' ? [0, 0] : pair('padding', 0)];
  const [top, bottom] = axisPadding(padValue, pads[0], weight.shape[2], dilation[0], stride[0], where);
  const [left, right] = axisPadding(padValue, pads[1], weight.shape[3], dilation[1], stride[1], where);
  const plain = dilation[0] === 1 && dilation[1] === 1;
  const layer = L.conv2d({ name: ctx.fresh(node.name), inputs: [input], weight, bias: floats('bias'), stride, padding: [top, left, bottom, right], groups: int('groups', 1), ...(plain ? {} : { dilation }) });
  ctx.layers.push(layer);
  return layer.name;
}

/** Conv1d over [C, L]: reshape to [C, 1, L], a conv2d with a [1, k] kernel (stride, dilation and padding on the second axis), reshape to [O, L']. */
function conv1d(node: NirNode, input: string, where: string, ctx: BuildContext): string {
  const { p, floats, int } = access(node, where);
  const w = floats('weight');
  const x = ctx.shapeOf(input);
  if (w.shape.length !== 3) throw badInput(`${where}: weight must have rank 3 [out, in/groups, k], got ${shapeToString(w.shape)}`);
  if (x.length !== 2) throw badInput(`${where}: expects a [C, L] input, got ${shapeToString(x)}`);
  const [O, cg, k] = w.shape;
  const [stride, dilation] = [int('stride', 1), int('dilation', 1)];
  const padValue = p('padding', false)?.value;
  const [before, after] = axisPadding(padValue, typeof padValue === 'string' ? 0 : int('padding', 0), k, dilation, stride, where);
  const as2d = L.reshape({ name: ctx.fresh(`${node.name}.as2d`), inputs: [input], shape: [x[0], 1, x[1]] });
  ctx.layers.push(as2d);
  const bias = node.params.has('bias') ? floats('bias') : undefined;
  const conv = L.conv2d({ name: ctx.fresh(`${node.name}.conv`), inputs: [as2d.name], weight: tensor([O, cg, 1, k], w.data), bias, stride: [1, stride], padding: [0, before, 0, after], groups: int('groups', 1), dilation: [1, dilation] });
  ctx.layers.push(conv);
  const [, , L1] = ctx.shapeOf(conv.name);
  const back = L.reshape({ name: ctx.fresh(node.name), inputs: [conv.name], shape: [O, L1] });
  ctx.layers.push(back);
  return back.name;
}

function pool(node: NirNode, input: string, where: string, ctx: BuildContext): string {
  const { pair } = access(node, where);
  const kernel = pair('kernel_size', 1);
  const [ph, pw] = pair('padding', 0);
  const sum = node.type === 'SumPool2d';
  const avg = L.avgpool2d({ name: ctx.fresh(sum ? `${node.name}.mean` : node.name), inputs: [input], kernel, stride: pair('stride', kernel[0]), padding: [ph, pw, ph, pw] });
  ctx.layers.push(avg);
  if (!sum) return avg.name;
  const C = ctx.shapeOf(avg.name)[0];
  const scaled = scaleLayer(ctx.fresh(node.name), avg.name, new Float32Array(C).fill(kernel[0] * kernel[1]));
  ctx.layers.push(scaled);
  return scaled.name;
}

/** Flatten(start_dim, end_dim) of the per-sample dimensions: a vector is a flatten layer, anything else a reshape. */
function flatten(node: NirNode, input: string, where: string, ctx: BuildContext): string {
  const { int } = access(node, where);
  const x = ctx.shapeOf(input);
  const rank = x.length;
  const [start, end] = [int('start_dim', 0), int('end_dim', -1)];
  const [s, e] = [start < 0 ? start + rank : start, end < 0 ? end + rank : end];
  if (!(s >= 0 && s <= e && e < rank)) throw badInput(`${where}: start_dim ${start} and end_dim ${end} do not select dimensions of the rank-${rank} input ${shapeToString(x)}`);
  const shape = [...x.slice(0, s), sizeOf(x.slice(s, e + 1)), ...x.slice(e + 1)];
  const layer = shape.length === 1 ? L.flatten({ name: ctx.fresh(node.name), inputs: [input] }) : L.reshape({ name: ctx.fresh(node.name), inputs: [input], shape });
  ctx.layers.push(layer);
  return layer.name;
}

/** Per-channel scale factors of a Scale node, or undefined when the scale varies within a channel. */
export function channelScale(node: NirNode, shape: readonly number[]): Float32Array | undefined {
  const s = toNumbers(node.params.get('scale')?.value);
  const C = shape[0] ?? 1;
  if (s.length === 1) return new Float32Array(C).fill(s[0]);
  const per = s.length / C;
  if (!Number.isInteger(per) || per < 1) return undefined;
  const scale = Float32Array.from({ length: C }, (_, c) => s[c * per]);
  return s.every((v, i) => Math.fround(v) === scale[Math.floor(i / per)]) ? scale : undefined;
}

function scale(node: NirNode, input: string, where: string, ctx: BuildContext): string {
  access(node, where).p('scale');
  const s = channelScale(node, ctx.shapeOf(input));
  if (!s) throw badInput(`${where}: a scale that varies within a channel is only supported right before a neuron node that reads nothing else`);
  if (s.every((v) => v === 1)) return input; // an identity (snnc writes sums of edges into a unit Scale)
  const layer = scaleLayer(ctx.fresh(node.name), input, s);
  ctx.layers.push(layer);
  return layer.name;
}

/** Builds the layers of a stateless NIR node reading `input`; returns the IR value it computes. */
export function synapse(node: NirNode, input: string, where: string, ctx: BuildContext): string {
  switch (node.type) {
    case 'Affine':
    case 'Linear': {
      const { floats } = access(node, where);
      const layer = L.dense({ name: ctx.fresh(node.name), inputs: [input], weight: floats('weight'), bias: node.type === 'Affine' ? floats('bias') : undefined });
      ctx.layers.push(layer);
      return layer.name;
    }
    case 'Conv1d':
      return conv1d(node, input, where, ctx);
    case 'Conv2d':
      return conv2d(node, input, where, ctx);
    case 'AvgPool2d':
    case 'SumPool2d':
      return pool(node, input, where, ctx);
    case 'Flatten':
      return flatten(node, input, where, ctx);
    case 'Scale':
      return scale(node, input, where, ctx);
    default:
      throw new Error(`not a synapse: ${node.type}`);
  }
}
