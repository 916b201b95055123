/**
 * foldPool: an average pool or a per-channel scale (batchnorm; NIR's SumPool2d is an average pool then
 * a scale by kh·kw) read by a dense or conv layer B, directly or through flatten/reshape layers, is
 * folded into B's weights, so that B reads what the pool read. For targets whose synapses carry spikes
 * (loihi, spinnaker: targets/common/chip-graph.ts runs it): a pool of spikes is not spikes, but the
 * pool followed by B is one linear map of the spikes. Owns only this rewrite; the gpu target never runs it.
 *
 *   batchnorm (scale s, shift t) → B:  W'[o, j] = W[o, j]·s[c(j)], b' = b + Σ_j W[o, j]·t[c(j)] (c(j): the
 *                      channel of input j); into a padded conv only when t = 0 (the padding is zeros, not t).
 *   avgpool → flatten → dense:  a flatten of the pool's input and W'[o, (c, y, x)] = Σ W[o, (c, i, j)]/(kh·kw)
 *                      over the windows (c, i, j) that hold (y, x): any stride and padding (padding counts
 *                      in the mean, as the IR's). The dense grows by H·W/(H'·W'), ≈ the pool's stride².
 *   avgpool → conv:    one conv with kernel (k_B − 1)·s_P + k_P, stride s_B·s_P, padding p_B·s_P + p_P before,
 *                      and the kernel W' = W upsampled by s_P and box-filtered by the pool (groups kept).
 *                      Exact when every pooled position that B reads in its zero padding pools no input
 *                      pixel (else the folded conv would see them); refused otherwise, and for a dilated B.
 * Products are summed in float64 and rounded once to float32. The folded layer takes B's name and place;
 * the links between disappear, the pool too unless something else reads it. A chain whose links have
 * other readers or are the output, or whose pool reads a value listed between it and B (its previous
 * step), is left. Deterministic: the first foldable B in layer order is folded, until none is.
 */
import * as L from '../ir/layers.js';
import { consumers } from '../ir/graph.js';
import type { SnnModel } from '../ir/model.js';
import { type ShapeMap, inferShapes } from '../ir/shapes.js';
import { sameShape, sizeOf, tensor } from '../ir/tensor.js';
import { describeLayer } from './fold-linear.js';
import { type Link, type Synaptic, linkRefusal, replaceChain, throughLinks, untilDone } from './linked-chain.js';
import type { Pass } from './pipeline.js';

type Pool = L.AvgPool2d | L.BatchNorm;

/** B reading the pool P through `links` (flatten/reshape layers, in data order). */
interface Chain {
  readonly p: Pool;
  readonly links: readonly Link[];
  readonly b: Synaptic;
}

function chainOf(b: Synaptic, byName: ReadonlyMap<string, L.Layer>): Chain | undefined {
  const r = throughLinks(b, byName);
  return r && (r.source.op === 'avgpool2d' || r.source.op === 'batchnorm') ? { p: r.source, links: r.links, b } : undefined;
}

function chains(model: SnnModel): Chain[] {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  return model.layers.flatMap((b) => (b.op === 'dense' || b.op === 'conv2d' ? (chainOf(b, byName) ?? []) : []));
}

// ---------------------------------------------------------------------------------------------
// Why a chain does not fold.

/** Why the graph forbids folding (a link read by others or the output, a previous-step read), or undefined. */
function graphRefusal(model: SnnModel, { p, links, b }: Chain, readers: ReadonlyMap<string, readonly L.Layer[]>): string | undefined {
  return linkRefusal(model, p, links, b, readers, { head: `${describeLayer(b)} reads ${p.op} "${p.name}"` });
}

/**
 * Along one axis of avgpool P → conv B: whether a pooled position that B reads in its zero padding
 * (index −1, or the first past the pooled size `n`) pools input pixels (of `size`).
 */
function bordersPoolPixels(size: number, n: number, k: number, s: number, padBefore: number, bPadBefore: number, lastRead: number): boolean {
  const before = bPadBefore > 0 && -s - padBefore + k - 1 >= 0;
  const after = lastRead >= n && n * s - padBefore < size;
  return before || after;
}

/** Why the maps do not compose into one layer exactly, or undefined. */
function mathRefusal({ p, links, b }: Chain, shapes: ShapeMap): string | undefined {
  const head = `${describeLayer(b)} reads ${p.op} "${p.name}"`;
  if (b.op === 'dense') return undefined;
  if (!sameShape(shapes.get(p.name)!, shapes.get(links.at(-1)?.name ?? p.name)!)) return `${head} through a reshape that changes the image layout: not folded`;
  if (p.op === 'batchnorm') {
    return b.padding.some((x) => x !== 0) && p.shift.data.some((x) => x !== 0) ? `${head} whose shift is non-zero: folding would change the border (the conv pads with zeros, the folded conv would see the shift there)` : undefined;
  }
  if (b.dilation?.some((d) => d !== 1)) return `${head}: a dilated conv after a pool is not folded`;
  const [, H, W] = shapes.get(p.inputs[0])!;
  const [, n, m] = shapes.get(p.name)!;
  const [, OH, OW] = shapes.get(b.name)!;
  const [, , kh, kw] = b.weight.shape;
  const rows = bordersPoolPixels(H, n, p.kernel[0], p.stride[0], p.padding[0], b.padding[0], (OH - 1) * b.stride[0] - b.padding[0] + kh - 1);
  const cols = bordersPoolPixels(W, m, p.kernel[1], p.stride[1], p.padding[1], b.padding[1], (OW - 1) * b.stride[1] - b.padding[1] + kw - 1);
  if (!rows && !cols) return undefined;
  return `${head}: the conv's zero padding covers pooled positions whose windows hold input pixels, so no single conv over the pool's input equals them`;
}

// ---------------------------------------------------------------------------------------------
// The arithmetic.

const f32 = (shape: readonly number[], data: Float64Array) => tensor([...shape], Float32Array.from(data));

/** The channel of each of B's inputs j (dense: flat index; conv: input channel), for a pool output of shape `shape`. */
function inputChannel(b: Synaptic, shape: readonly number[]): (j: number) => number {
  const per = sizeOf(shape) / shape[0];
  return b.op === 'dense' ? (j) => Math.floor(j / per) : (j) => j;
}

/** batchnorm → B: B's weights scaled per input channel, the shift into B's bias. */
function foldScale(bn: L.BatchNorm, b: Synaptic, shapes: ShapeMap): Synaptic {
  const channel = inputChannel(b, shapes.get(bn.name)!);
  const [out] = b.weight.shape;
  const perOut = b.weight.data.length / out;
  const k = b.op === 'conv2d' ? b.weight.shape[2] * b.weight.shape[3] : 1;
  const cinPG = perOut / k;
  const w = new Float64Array(b.weight.data.length);
  const bias = Float64Array.from({ length: out }, (_, o) => b.bias?.data[o] ?? 0);
  const coutPG = b.op === 'conv2d' ? out / b.groups : out;
  for (let o = 0; o < out; o++) {
    const c0 = b.op === 'conv2d' ? Math.floor(o / coutPG) * cinPG : 0;
    for (let i = 0; i < perOut; i++) {
      const c = channel(c0 + Math.floor(i / k));
      const v = b.weight.data[o * perOut + i];
      w[o * perOut + i] = v * bn.scale.data[c];
      bias[o] += v * bn.shift.data[c];
    }
  }
  const hasBias = b.bias !== undefined || bn.shift.data.some((x) => x !== 0);
  const fields = { name: b.name, inputs: bn.inputs, weight: f32(b.weight.shape, w), ...(hasBias ? { bias: f32([out], bias) } : {}) };
  return b.op === 'dense' ? L.dense(fields) : L.conv2d({ ...b, ...fields });
}

/** avgpool → (flatten) → dense: the dense over the pool's input (flattened, named `flatName`). */
function foldPoolIntoDense(p: L.AvgPool2d, b: L.Dense, flatName: string, shapes: ShapeMap): L.Layer[] {
  const [C, H, W] = shapes.get(p.inputs[0])!;
  const [, n, m] = shapes.get(p.name)!;
  const [kh, kw] = p.kernel;
  const [out, mid] = b.weight.shape;
  const cols = C * H * W;
  const w = new Float64Array(out * cols);
  const inv = 1 / (kh * kw);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const from = (c * n + i) * m + j;
        for (let u = 0; u < kh; u++) {
          const y = i * p.stride[0] - p.padding[0] + u;
          if (y < 0 || y >= H) continue;
          for (let v = 0; v < kw; v++) {
            const x = j * p.stride[1] - p.padding[1] + v;
            if (x < 0 || x >= W) continue;
            const to = (c * H + y) * W + x;
            for (let o = 0; o < out; o++) w[o * cols + to] += b.weight.data[o * mid + from] * inv;
          }
        }
      }
    }
  }
  const dense = L.dense({ name: b.name, inputs: [flatName], weight: f32([out, cols], w), ...(b.bias ? { bias: b.bias } : {}) });
  return [L.flatten({ name: flatName, inputs: p.inputs }), dense];
}

/** avgpool → conv: one conv over the pool's input (mathRefusal has checked the borders). */
function foldPoolIntoConv(p: L.AvgPool2d, b: L.Conv2d, shapes: ShapeMap): L.Conv2d {
  const [O, cinPG, kh, kw] = b.weight.shape;
  const [ph, pw] = p.kernel;
  const [sh, sw] = p.stride;
  const [KH, KW] = [(kh - 1) * sh + ph, (kw - 1) * sw + pw];
  const w = new Float64Array(O * cinPG * KH * KW);
  const inv = 1 / (ph * pw);
  for (let oc = 0; oc < O * cinPG; oc++) {
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const v = b.weight.data[(oc * kh + y) * kw + x] * inv;
        for (let u = 0; u < ph; u++) for (let t = 0; t < pw; t++) w[(oc * KH + y * sh + u) * KW + x * sw + t] += v;
      }
    }
  }
  const [, H, W] = shapes.get(p.inputs[0])!;
  const [, OH, OW] = shapes.get(b.name)!;
  const stride: L.Pair = [b.stride[0] * sh, b.stride[1] * sw];
  const top = b.padding[0] * sh + p.padding[0];
  const left = b.padding[1] * sw + p.padding[1];
  // The bottom/right padding that gives B's output size: the last window's far edge, past the input.
  const bottom = Math.max(0, (OH - 1) * stride[0] - top + KH - H);
  const right = Math.max(0, (OW - 1) * stride[1] - left + KW - W);
  return L.conv2d({ ...b, inputs: p.inputs, weight: f32([O, cinPG, KH, KW], w), stride, padding: [top, left, bottom, right] });
}

/** The layers that take B's place. */
function foldChain({ p, links, b }: Chain, shapes: ShapeMap): L.Layer[] {
  if (p.op === 'batchnorm') {
    const folded = foldScale(p, b, shapes);
    // A dense reading a flattened image reads the batchnorm's input through the flatten (renamed onto it).
    if (b.op === 'dense' && links.length > 0 && shapes.get(p.name)!.length > 1) return [L.flatten({ name: links.at(-1)!.name, inputs: p.inputs }), { ...folded, inputs: [links.at(-1)!.name] }];
    return [folded];
  }
  return b.op === 'dense' ? foldPoolIntoDense(p, b, links.at(-1)!.name, shapes) : [foldPoolIntoConv(p, b, shapes)];
}

// ---------------------------------------------------------------------------------------------

/** One fold, the first in layer order; undefined when none is left. */
function step(model: SnnModel): SnnModel | undefined {
  const readers = consumers(model);
  const shapes = inferShapes(model);
  const chain = chains(model).find((c) => !graphRefusal(model, c, readers) && !mathRefusal(c, shapes));
  if (!chain) return undefined;
  return replaceChain(model, chain.p, chain.links, chain.b, readers, foldChain(chain, shapes));
}

export const foldPool: Pass = {
  name: 'fold-pool',
  run: untilDone(step),
};

/** Why foldPool left the pool or batchnorm that `layer` (a dense or conv) reads, or undefined when it reads none. */
export function unfoldedPool(model: SnnModel, layer: string): string | undefined {
  const chain = chains(model).find((c) => c.b.name === layer);
  return chain && (graphRefusal(model, chain, consumers(model)) ?? mathRefusal(chain, inferShapes(model)));
}
