/**
 * foldLinear: merges two consecutive synaptic layers (dense, conv2d) with no activation between them
 * into one, and unfoldedLinearChains: the ones it left, each with the reason. Owns only this rewrite;
 * a chain through an add, a batchnorm or a pool is reported, not folded (foldBatchNorm runs first).
 *
 * B reads A, directly or through flatten/reshape layers (row-major, so the identity on the values),
 * each of those layers read by nothing else and not the output; A stays when others read it. Two affine maps compose:
 * B(A(x)) = W_B·(W_A·x + b_A) + b_B = (W_B·W_A)·x + (W_B·b_A + b_B). Folded when that is one layer:
 *   dense → dense:            W = W_B·W_A.
 *   conv → conv 1×1 (stride 1, no padding): W[o, c, u, v] = Σ_m W_B[o, m]·W_A[m, c, u, v], A's geometry.
 *   conv 1×1 (stride 1, no padding) → conv: W[o, c, u, v] = Σ_m W_B[o, m, u, v]·W_A[m, c], B's geometry;
 *                             only when b_A = 0 or B has no padding (B pads A's output with zeros, not b_A).
 *   conv → flatten → dense:   a flatten of A's input and a dense W = W_B·M_A (M_A: A as a matrix), when
 *                             W has at most 4× the values of W_A and W_B together.
 * Grouped weights are expanded first: the folded conv has groups 1. b = W_B·b_A + b_B, summed over B's
 * kernel positions for a conv B. Products are summed in float64 and rounded once to float32, so the
 * result is exact up to float32 rounding. The folded layer takes B's name and place; the layers between
 * disappear, and A too unless something else reads it. Deterministic: the first foldable B in layer order is folded, until none is.
 *
 * A dense or pointwise-conv B reading an add with a linear term (MobileNetV2's residual stream) is
 * distributed over it: B(Σ c_i·x_i) = Σ (c_i·W_B)·x_i + b_B becomes an add named B of one layer
 * "B.x_i" per term (a name model.json accepts), folded into x_i's producer when that is a dense (B dense) or a conv (B pointwise);
 * b_B goes to the first term. The add and folded producers go when nothing else reads them; a term that
 * reads another add is distributed in turn. Exact; it may duplicate weights when the stream has other readers.
 */
import * as L from '../ir/layers.js';
import { consumers } from '../ir/graph.js';
import { INPUT, type SnnModel } from '../ir/model.js';
import { type ShapeMap, inferShapes } from '../ir/shapes.js';
import { sameShape, sizeOf, tensor } from '../ir/tensor.js';
import { type Link, type Synaptic, linkRefusal, readsBetween, replaceChain, throughLinks, untilDone } from './linked-chain.js';
import type { Pass } from './pipeline.js';


/** B reading A through `links` (flatten/reshape layers, in data order). */
interface Chain {
  readonly a: Synaptic;
  readonly links: readonly Link[];
  readonly b: Synaptic;
}

/** How much larger than W_A and W_B together a dense folded from conv → flatten → dense may be. */
export const MAX_DENSE_GROWTH = 4;

const isSynaptic = (l: L.Layer | undefined): l is Synaptic => l?.op === 'dense' || l?.op === 'conv2d';

// ---------------------------------------------------------------------------------------------
// Finding chains and saying why one does not fold.

function directChain(b: Synaptic, byName: ReadonlyMap<string, L.Layer>): Chain | undefined {
  const r = throughLinks(b, byName);
  return r && isSynaptic(r.source) ? { a: r.source, links: r.links, b } : undefined;
}

function is1x1(c: L.Conv2d): boolean {
  return c.weight.shape[2] === 1 && c.weight.shape[3] === 1;
}

/** A conv that reads one input pixel per output pixel: 1×1, stride 1, no padding. */
function isPointwise(c: L.Conv2d): boolean {
  return is1x1(c) && c.stride.every((s) => s === 1) && c.padding.every((p) => p === 0);
}

const hasPadding = (c: L.Conv2d) => c.padding.some((p) => p !== 0);
const isZero = (t: L.Dense['bias']) => !t || t.data.every((v) => v === 0);

/** A layer for messages: `dense "fc"`, or a conv with its geometry (`conv "c" (3×3, stride 2, padding 1)`). */
export function describeLayer(l: L.Layer): string {
  if (l.op !== 'conv2d') return `${l.op} "${l.name}"`;
  const [, , kh, kw] = l.weight.shape;
  const parts = [`${kh}×${kw}`];
  if (l.stride.some((s) => s !== 1)) parts.push(`stride ${l.stride[0] === l.stride[1] ? l.stride[0] : `[${l.stride.join(', ')}]`}`);
  if (hasPadding(l)) parts.push(`padding ${l.padding.every((p) => p === l.padding[0]) ? l.padding[0] : `[${l.padding.join(', ')}]`}`);
  if (l.groups !== 1) parts.push(`groups ${l.groups}`);
  if (l.dilation?.some((d) => d !== 1)) parts.push(`dilation [${l.dilation.join(', ')}]`);
  return `conv "${l.name}" (${parts.join(', ')})`;
}

/** Why the graph around a chain forbids folding it (other readers, the output, a previous-step read). */
function graphRefusal(model: SnnModel, { a, links, b }: Chain, readers: ReadonlyMap<string, readonly L.Layer[]>): string | undefined {
  const head = `${describeLayer(b)} reads ${describeLayer(a)}`;
  return linkRefusal(model, a, links, b, readers, { head, inUse: ': folding would remove a value still in use', previousStep: ': the folded layer would read the current one' });
}

/** Why the two maps do not compose into one layer exactly (or too large a one), or undefined. */
function mathRefusal(chain: Chain, shapes: ShapeMap): string | undefined {
  const { a, b, links } = chain;
  const head = `${describeLayer(b)} reads ${describeLayer(a)}`;
  const via = links.length > 0 ? ` through ${links.map((l) => `${l.op} "${l.name}"`).join(', ')}` : '';
  if (b.op === 'dense') {
    if (a.op === 'dense') return undefined;
    const size = b.weight.shape[0] * sizeOf(shapes.get(a.inputs[0])!);
    const limit = MAX_DENSE_GROWTH * (a.weight.data.length + b.weight.data.length);
    return size <= limit ? undefined : `${head}${via}: the folded dense weight would have ${size} values, more than ${MAX_DENSE_GROWTH}× the two weights (${limit / MAX_DENSE_GROWTH})`;
  }
  if (a.op === 'dense') return `${head}${via}: a dense layer into a conv is not folded`;
  if (!sameShape(shapes.get(a.name)!, shapes.get(links.at(-1)?.name ?? a.name)!)) return `${head}${via}, which changes the image layout: not folded`;
  if (isPointwise(b)) return undefined;
  if (isPointwise(a)) {
    return isZero(a.bias) || !hasPadding(b) ? undefined : `${head} whose bias is non-zero: folding would change the border (B pads A's output with zeros, the folded conv would see A's bias there)`;
  }
  return `${head}: neither is a 1×1 conv with stride 1 and no padding, and composing two such kernels is not folded`;
}

// ---------------------------------------------------------------------------------------------
// The arithmetic: weights as float64 arrays, grouped weights expanded to groups 1.

/** A conv's weight as [O, C, KH, KW] with groups 1 (zeros outside each output's group). */
function fullConvWeight(c: L.Conv2d): Float64Array {
  const [O, cinPG, KH, KW] = c.weight.shape;
  const C = cinPG * c.groups;
  const coutPG = O / c.groups;
  const k = KH * KW;
  const full = new Float64Array(O * C * k);
  for (let o = 0; o < O; o++) {
    const c0 = Math.floor(o / coutPG) * cinPG;
    for (let i = 0; i < cinPG * k; i++) full[(o * C + c0) * k + i] = c.weight.data[o * cinPG * k + i];
  }
  return full;
}

/** [n, k]·[k, m] in float64. */
function matmul(x: ArrayLike<number>, y: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const v = x[i * k + j];
      if (v === 0) continue;
      for (let p = 0; p < m; p++) out[i * m + p] += v * y[j * m + p];
    }
  }
  return out;
}

/** b_B + W·b_A, W: [out, n] reading b_A[input(j)] at column j; undefined when neither layer has a bias. */
function foldedBias(a: Synaptic, b: Synaptic, w: ArrayLike<number>, out: number, n: number, input: (j: number) => number): L.Dense['bias'] {
  if (!a.bias && !b.bias) return undefined;
  const bias = Float64Array.from({ length: out }, (_, o) => b.bias?.data[o] ?? 0);
  if (a.bias) for (let o = 0; o < out; o++) for (let j = 0; j < n; j++) bias[o] += w[o * n + j] * a.bias.data[input(j)];
  return tensor([out], Float32Array.from(bias));
}

const f32 = (shape: number[], data: Float64Array) => tensor(shape, Float32Array.from(data));

function foldDense(a: L.Dense, b: L.Dense): L.Dense {
  const [out, mid] = b.weight.shape;
  const n = a.weight.shape[1];
  const weight = f32([out, n], matmul(b.weight.data, a.weight.data, out, mid, n));
  return L.dense({ name: b.name, inputs: a.inputs, weight, bias: foldedBias(a, b, b.weight.data, out, mid, (j) => j) });
}

/** conv A → pointwise conv B: A's geometry, W = W_B[:, :, 0, 0]·W_A. */
function foldIntoPointwise(a: L.Conv2d, b: L.Conv2d): L.Conv2d {
  const [mid, cinPG, KH, KW] = a.weight.shape;
  const [out] = b.weight.shape;
  const C = cinPG * a.groups;
  const wB = fullConvWeight(b);
  const weight = f32([out, C, KH, KW], matmul(wB, fullConvWeight(a), out, mid, C * KH * KW));
  const bias = foldedBias(a, b, wB, out, mid, (j) => j);
  return L.conv2d({ name: b.name, inputs: a.inputs, weight, bias, stride: a.stride, padding: a.padding, groups: 1, ...(a.dilation ? { dilation: a.dilation } : {}) });
}

/** pointwise conv A → conv B: B's geometry, W[o, c, u, v] = Σ_m W_B[o, m, u, v]·W_A[m, c]. */
function foldFromPointwise(a: L.Conv2d, b: L.Conv2d): L.Conv2d {
  const [out, , KH, KW] = b.weight.shape;
  const mid = a.weight.shape[0];
  const C = a.weight.shape[1] * a.groups;
  const k = KH * KW;
  const wA = fullConvWeight(a);
  const wB = fullConvWeight(b);
  const w = new Float64Array(out * C * k);
  for (let o = 0; o < out; o++) {
    for (let m = 0; m < mid; m++) {
      for (let c = 0; c < C; c++) {
        const am = wA[m * C + c];
        if (am !== 0) for (let i = 0; i < k; i++) w[(o * C + c) * k + i] += wB[(o * mid + m) * k + i] * am;
      }
    }
  }
  const bias = foldedBias(a, b, wB, out, mid * k, (j) => Math.floor(j / k));
  return L.conv2d({ ...b, inputs: a.inputs, weight: f32([out, C, KH, KW], w), bias, groups: 1 });
}

/** conv A → flatten → dense B: a flatten of A's input (named as the last link) and W = W_B·M_A. */
function foldConvIntoDense(a: L.Conv2d, b: L.Dense, flatName: string, shapes: ShapeMap): L.Layer[] {
  const [C, H, W] = shapes.get(a.inputs[0])!;
  const [O, OH, OW] = shapes.get(a.name)!;
  const [, cinPG, KH, KW] = a.weight.shape;
  const [dh, dw] = a.dilation ?? [1, 1];
  const [out, mid] = b.weight.shape;
  const n = C * H * W;
  const w = new Float64Array(out * n);
  for (let m = 0; m < O; m++) {
    const c0 = Math.floor(m / (O / a.groups)) * cinPG;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const j = (m * OH + oy) * OW + ox;
        for (let cg = 0; cg < cinPG; cg++) {
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * a.stride[0] - a.padding[0] + ky * dh;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              const ix = ox * a.stride[1] - a.padding[1] + kx * dw;
              if (ix < 0 || ix >= W) continue;
              const wa = a.weight.data[((m * cinPG + cg) * KH + ky) * KW + kx];
              const col = ((c0 + cg) * H + iy) * W + ix;
              for (let o = 0; o < out; o++) w[o * n + col] += b.weight.data[o * mid + j] * wa;
            }
          }
        }
      }
    }
  }
  const bias = foldedBias(a, b, b.weight.data, out, mid, (j) => Math.floor(j / (OH * OW)));
  return [L.flatten({ name: flatName, inputs: a.inputs }), L.dense({ name: b.name, inputs: [flatName], weight: f32([out, n], w), bias })];
}

/** The layers that take B's place (mathRefusal has accepted the chain). */
function foldChain({ a, b, links }: Chain, shapes: ShapeMap): L.Layer[] {
  if (b.op === 'dense') return a.op === 'dense' ? [foldDense(a, b)] : foldConvIntoDense(a, b, links.at(-1)!.name, shapes);
  if (a.op !== 'conv2d') throw new Error(`fold-linear: dense "${a.name}" into conv "${b.name}"`);
  return [isPointwise(b) ? foldIntoPointwise(a, b) : foldFromPointwise(a, b)];
}

// ---------------------------------------------------------------------------------------------

function chains(model: SnnModel): Chain[] {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  return model.layers.filter(isSynaptic).flatMap((b) => directChain(b, byName) ?? []);
}

// ---------------------------------------------------------------------------------------------
// Distributing B over an add (a residual stream): B(Σ c_i·x_i) = Σ (c_i·B)(x_i) + b_B.

/** The add a dense or pointwise-conv B reads, when it sums a synaptic layer's output (directly or through adds). */
function distributableAdd(model: SnnModel, b: Synaptic, byName: ReadonlyMap<string, L.Layer>): L.Add | undefined {
  const s = byName.get(b.inputs[0]);
  if (s?.op !== 'add' || (b.op === 'conv2d' && !isPointwise(b))) return undefined;
  const at = (name: string) => model.layers.findIndex((l) => l.name === name);
  if (!s.inputs.every((n) => n === INPUT || at(n) < at(s.name))) return undefined;
  const seen = new Set<string>();
  const linear = (n: string): boolean => {
    const l = byName.get(n);
    if (seen.has(n) || !l) return false;
    seen.add(n);
    return isSynaptic(l) || (l.op === 'add' && l.inputs.some(linear));
  };
  return s.inputs.some(linear) ? s : undefined;
}

/** c·B without bias applied to `x`, folded into x's producer when that composes with B exactly. */
function term(model: SnnModel, b: Synaptic, c: number, x: string, name: string, byName: ReadonlyMap<string, L.Layer>): Synaptic {
  const { bias: _, ...unbiased } = b;
  const scaled = { ...unbiased, name, inputs: [x], weight: tensor(b.weight.shape, b.weight.data.map((v) => v * c)) };
  const p = byName.get(x);
  if (p?.op === 'dense' && scaled.op === 'dense' && !readsBetween(model, p, b)) return { ...foldDense(p, scaled), name };
  if (p?.op === 'conv2d' && scaled.op === 'conv2d' && !readsBetween(model, p, b)) return { ...foldIntoPointwise(p, scaled), name };
  return scaled.op === 'dense' ? L.dense(scaled) : L.conv2d(scaled);
}

/** B replaced by an add (named B) of one synaptic layer per term of the add S it read; b_B goes to the first. */
function distribute(model: SnnModel, b: Synaptic, s: L.Add, byName: ReadonlyMap<string, L.Layer>): SnnModel {
  const taken = new Set(model.layers.map((l) => l.name));
  const unique = (base: string) => {
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}#${k}`;
    taken.add(name);
    return name;
  };
  const terms = s.inputs.map((x, i) => term(model, b, s.coefficients?.[i] ?? 1, x, unique(`${b.name}.${x}`), byName));
  if (b.bias) {
    const first = terms[0];
    const bias = tensor(b.bias.shape, b.bias.data.map((v, o) => v + (first.bias?.data[o] ?? 0)));
    terms[0] = first.op === 'dense' ? L.dense({ ...first, bias }) : L.conv2d({ ...first, bias });
  }
  const sum = L.add({ name: b.name, inputs: terms.map((t) => t.name) });
  let layers = model.layers.flatMap((l) => (l === b ? [...terms, sum] : [l]));
  // S, and the producers folded into the terms, go once nothing reads them.
  for (const l of [s, ...s.inputs.map((n) => byName.get(n))]) {
    if (l && !layers.some((r) => r.inputs.includes(l.name)) && model.output.layer !== l.name) layers = layers.filter((r) => r !== l);
  }
  return { ...model, layers };
}

// ---------------------------------------------------------------------------------------------

/** One fold or one distribution, the first in layer order (folds first); undefined when none is left. */
function step(model: SnnModel): SnnModel | undefined {
  const readers = consumers(model);
  const shapes = inferShapes(model);
  const chain = chains(model).find((c) => !graphRefusal(model, c, readers) && !mathRefusal(c, shapes));
  // A stays when something else reads it (MobileNetV2's projection, read by the next expansion and the residual add).
  if (chain) return replaceChain(model, chain.a, chain.links, chain.b, readers, foldChain(chain, shapes));
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  for (const b of model.layers.filter(isSynaptic)) {
    const s = distributableAdd(model, b, byName);
    if (s) return distribute(model, b, s, byName);
  }
  return undefined;
}

export const foldLinear: Pass = {
  name: 'fold-linear',
  run: untilDone(step),
};

/** Layers a linear chain may pass through without an activation (what unfoldedLinearChains walks). */
const LINEAR_THROUGH = new Set<L.LayerOp>(['flatten', 'reshape', 'add', 'batchnorm', 'avgpool2d', 'maxpool2d', 'concat']);

/**
 * Every synaptic layer whose input is still the output of a synaptic layer (directly or through
 * flatten/reshape/add/batchnorm/pools/concat), one entry per such pair in layer order, with why
 * foldLinear did not fold it. Empty when every synaptic layer reads an activation, spikes or the input.
 */
export function unfoldedLinearChains(model: SnnModel): { layer: string; input: string; reason: string }[] {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const readers = consumers(model);
  const shapes = inferShapes(model);
  return model.layers.filter(isSynaptic).flatMap((b) => {
    const direct = directChain(b, byName);
    return linearSources(b, byName).map(({ a, via }) => {
      if (direct?.a === a) {
        const reason = graphRefusal(model, direct, readers) ?? mathRefusal(direct, shapes) ?? `${describeLayer(b)} reads ${describeLayer(a)}: foldable (run foldLinear)`;
        return { layer: b.name, input: a.name, reason };
      }
      const path = via.map((l) => `${l.op} "${l.name}"`).join(', ');
      return { layer: b.name, input: a.name, reason: `${describeLayer(b)} reads ${describeLayer(a)} through ${path}: a linear chain through an add, batchnorm, pool or concat is not folded` };
    });
  });
}

/** The synaptic layers B reads through linear layers only, each with the first path found to it. */
function linearSources(b: Synaptic, byName: ReadonlyMap<string, L.Layer>): { a: Synaptic; via: L.Layer[] }[] {
  const found: { a: Synaptic; via: L.Layer[] }[] = [];
  const seen = new Set<string>();
  const visit = (name: string, via: L.Layer[]): void => {
    const l = byName.get(name);
    if (!l || seen.has(name)) return;
    seen.add(name);
    if (isSynaptic(l)) found.push({ a: l, via });
    else if (LINEAR_THROUGH.has(l.op)) for (const src of l.inputs) visit(src, [l, ...via]);
  };
  visit(b.inputs[0], []);
  return found;
}
