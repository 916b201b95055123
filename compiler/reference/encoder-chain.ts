/**
 * A host encoder of the simplest, most common form (a conv2d or dense layer on the input, then an
 * optional max-pool, with flatten/reshape anywhere), and any one of its output values computed exactly
 * as simulate() computes it: float64 sums of float32 products from the bias, inputs in the simulator's
 * order (ascending channel, row, column, or input index), zero inputs skipped, then rounded to
 * float32; a max-pool takes the largest of its window. It is the exact fallback of a faster evaluation
 * that cannot certify a value (runtime/host-encoder.ts); it does not evaluate whole layers.
 */
import type * as L from '../ir/layers.js';
import { INPUT, type SnnModel } from '../ir/model.js';
import { type ConvGeometry, convGeometry, inferShapes } from '../ir/shapes.js';
import { sizeOf } from '../ir/tensor.js';

/** The encoder's one weighted layer, its max-pool if any, and the sizes the flat indices need. */
export interface EncoderChain {
  readonly linear: L.Conv2d | L.Dense;
  /** Products per output value: the fan-in of one output of `linear`. */
  readonly fanIn: number;
  readonly conv?: ConvGeometry;
  readonly pool?: { readonly layer: L.MaxPool2d; readonly OH: number; readonly OW: number };
  readonly inputSize: number;
  /** Output values per sample. */
  readonly outputSize: number;
}

const LAYOUT_ONLY = new Set<L.LayerOp>(['flatten', 'reshape']);

/** The chain of `model` (every layer reading the one before, the last the output), or undefined if it has another form. */
export function encoderChain(model: SnnModel): EncoderChain | undefined {
  const shapes = inferShapes(model);
  let previous = INPUT;
  for (const layer of model.layers) {
    if (layer.inputs.length !== 1 || layer.inputs[0] !== previous) return undefined;
    previous = layer.name;
  }
  if (previous !== model.output.layer) return undefined;
  const kept = model.layers.filter((l) => !LAYOUT_ONLY.has(l.op));
  const [linear, pool, ...rest] = kept;
  if (rest.length || !linear || (linear.op !== 'conv2d' && linear.op !== 'dense')) return undefined;
  if (pool && (pool.op !== 'maxpool2d' || linear.op !== 'conv2d')) return undefined;
  const inShape = shapes.get(linear.inputs[0])!;
  const outShape = shapes.get(linear.name)!;
  const base = { inputSize: sizeOf(model.input.shape), outputSize: sizeOf(shapes.get(model.output.layer)!) };
  if (linear.op === 'dense') return { ...base, linear, fanIn: linear.weight.shape[1] };
  const conv = convGeometry(linear, inShape, outShape);
  const fanIn = conv.cinPG * conv.KH * conv.KW;
  if (!pool) return { ...base, linear, fanIn, conv };
  const [, OH, OW] = shapes.get(pool.name)!;
  return { ...base, linear, fanIn, conv, pool: { layer: pool as L.MaxPool2d, OH, OW } };
}

/** Output value i (flat over [batch, outputSize]) of the chain on preprocessed input x, as simulate() gives it. */
export function chainValue(chain: EncoderChain, x: Float32Array, i: number): number {
  const b = Math.floor(i / chain.outputSize);
  const k = i % chain.outputSize;
  const { linear } = chain;
  if (linear.op === 'dense') return denseValue(linear, x, b * chain.inputSize, k);
  const geo = chain.conv!;
  const xOff = b * chain.inputSize;
  if (!chain.pool) {
    const plane = geo.OH * geo.OW;
    return convValue(linear, geo, x, xOff, Math.floor(k / plane), Math.floor((k % plane) / geo.OW), k % geo.OW);
  }
  const { layer: pool, OH, OW } = chain.pool;
  const o = Math.floor(k / (OH * OW));
  const py = Math.floor((k % (OH * OW)) / OW);
  const px = k % OW;
  let best = -Infinity;
  for (let ky = 0; ky < pool.kernel[0]; ky++) {
    const y = py * pool.stride[0] - pool.padding[0] + ky;
    if (y < 0 || y >= geo.OH) continue;
    for (let kx = 0; kx < pool.kernel[1]; kx++) {
      const xx = px * pool.stride[1] - pool.padding[1] + kx;
      if (xx < 0 || xx >= geo.OW) continue;
      best = Math.max(best, convValue(linear, geo, x, xOff, o, y, xx));
    }
  }
  return best;
}

/** Dense output o of the sample at xOff: the bias (or 0), then w·x for ascending nonzero inputs, in float64; float32. */
function denseValue(layer: L.Dense, x: Float32Array, xOff: number, o: number): number {
  const [, nIn] = layer.weight.shape;
  const w = layer.weight.data;
  let acc = layer.bias ? layer.bias.data[o] : 0;
  for (let j = 0; j < nIn; j++) {
    const v = x[xOff + j];
    if (v !== 0) acc += w[o * nIn + j] * v;
  }
  return Math.fround(acc);
}

/**
 * Conv output (o, y, x) of the sample at xOff. The simulator scatters each nonzero input in (c, iy, ix)
 * order; for one output those inputs come in ascending (c, ky, kx), since iy = y·sh − pt + ky·dh and
 * ix likewise grow with ky and kx: the same float64 sum in the same order.
 */
function convValue(layer: L.Conv2d, geo: ConvGeometry, x: Float32Array, xOff: number, o: number, y: number, xx: number): number {
  const { H, W, KH, KW, cinPG, coutPG, sh, sw, dh, dw, pt, pl } = geo;
  const w = layer.weight.data;
  const g = Math.floor(o / coutPG);
  let acc = layer.bias ? layer.bias.data[o] : 0;
  for (let cg = 0; cg < cinPG; cg++) {
    const plane = xOff + (g * cinPG + cg) * H * W;
    for (let ky = 0; ky < KH; ky++) {
      const iy = y * sh - pt + ky * dh;
      if (iy < 0 || iy >= H) continue;
      for (let kx = 0; kx < KW; kx++) {
        const ix = xx * sw - pl + kx * dw;
        if (ix < 0 || ix >= W) continue;
        const v = x[plane + iy * W + ix];
        if (v !== 0) acc += w[((o * cinPG + cg) * KH + ky) * KW + kx] * v;
      }
    }
  }
  return Math.fround(acc);
}
