/**
 * Golden tests of foldPool (compiler/passes/fold-pool.ts): small models in the IR with an average pool,
 * a sum pool (NIR's SumPool2d: an average pool then a batchnorm scale of kh·kw) or a batchnorm read by a
 * dense or conv, folded through runPasses (so the verifier runs); the layers that come out are asserted
 * (hand-computed weights where small), and the reference simulator at T=1 gives the same outputs on
 * random inputs to 1e-5 relative. Chains that do not fold exactly stay, and unfoldedPool says why.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { inferShapes } from '../../compiler/ir/shapes.js';
import { sizeOf, tensor } from '../../compiler/ir/tensor.js';
import { foldPool, unfoldedPool } from '../../compiler/passes/fold-pool.js';
import { runPasses } from '../../compiler/passes/pipeline.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { net, randomInput, randomTensor, rng } from '../helpers/models.js';

type Pair = readonly [number, number];
type Pad = readonly [number, number, number, number];

const t = (shape: number[], ...v: number[]) => tensor(shape, Float32Array.of(...v));
const pool = (name: string, input: string, kernel: Pair, stride: Pair = kernel, padding: Pad = [0, 0, 0, 0]) => L.avgpool2d({ name, inputs: [input], kernel, stride, padding });
const scale = (name: string, input: string, c: number, s: number, shift = 0) => L.batchNorm({ name, inputs: [input], scale: tensor([c], new Float32Array(c).fill(s)), shift: tensor([c], new Float32Array(c).fill(shift)) });
const flatten = (name: string, input: string) => L.flatten({ name, inputs: [input] });
const conv = (r: () => number, name: string, input: string, w: number[], stride: Pair = [1, 1], padding: Pad = [0, 0, 0, 0], groups = 1, bias = true) =>
  L.conv2d({ name, inputs: [input], weight: randomTensor(r, w, 1), ...(bias ? { bias: randomTensor(r, [w[0]], 1) } : {}), stride, padding, groups });

/** max |after − before| / max |before| of the simulator's T=1 outputs on n random inputs in [0, 1). */
function relErr(before: SnnModel, after: SnnModel, seed = 3, n = 4): number {
  const x = randomInput(seed, n * sizeOf(before.input.shape));
  const a = simulate(before, x, n, { timesteps: 1 }).output;
  const b = simulate(after, x, n, { timesteps: 1 }).output;
  let top = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    top = Math.max(top, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  expect(top).toBeGreaterThan(0);
  return diff / top;
}

/** Folds through runPasses; the output shape is kept and the outputs agree to 1e-5. */
function fold(model: SnnModel): SnnModel {
  const folded = runPasses(model, [foldPool]);
  expect(inferShapes(folded).get(folded.output.layer)).toEqual(inferShapes(model).get(model.output.layer));
  expect(relErr(model, folded)).toBeLessThan(1e-5);
  return folded;
}

const summary = (m: SnnModel) => m.layers.map((l) => `${l.name}:${l.op}<-${l.inputs.join(',')}`);
const convOf = (m: SnnModel, name: string) => m.layers.find((l) => l.name === name) as L.Conv2d;

describe('foldPool: exact folds', () => {
  it('golden avgpool 2×2 → flatten → dense: a flatten of the pool input and W/4 on each window member', () => {
    const model = net('g', [1, 2, 4], [pool('p', INPUT, [2, 2]), flatten('f', 'p'), L.dense({ name: 'd', inputs: ['f'], weight: t([1, 2], 1, 2), bias: t([1], 0.5) })], 'd');
    expect(fold(model).layers).toEqual([L.flatten({ name: 'f', inputs: [INPUT] }), L.dense({ name: 'd', inputs: ['f'], weight: t([1, 8], 0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5), bias: t([1], 0.5) })]);
  });

  it('golden sum pool (NIR SumPool2d: avgpool then ×4) → flatten → dense: W itself on each window member; the dense grows 4×', () => {
    const model = net('g', [1, 2, 4], [pool('p.mean', INPUT, [2, 2]), scale('p', 'p.mean', 1, 4), flatten('f', 'p'), L.dense({ name: 'd', inputs: ['f'], weight: t([1, 2], 1, 2) })], 'd');
    expect(fold(model).layers).toEqual([L.flatten({ name: 'f', inputs: [INPUT] }), L.dense({ name: 'd', inputs: ['f'], weight: t([1, 8], 1, 1, 2, 2, 1, 1, 2, 2) })]);
  });

  it('golden batchnorm with a shift → dense: weights scaled per channel, the shift in the bias', () => {
    const bn = L.batchNorm({ name: 'bn', inputs: [INPUT], scale: t([2], 2, 3), shift: t([2], 1, -1) });
    const model = net('g', [2], [bn, L.dense({ name: 'd', inputs: ['bn'], weight: t([1, 2], 1, 2), bias: t([1], 0.5) })], 'd');
    // W' = [1·2, 2·3]; b' = 0.5 + 1·1 + 2·(−1) = −0.5
    expect(fold(model).layers).toEqual([L.dense({ name: 'd', inputs: [INPUT], weight: t([1, 2], 2, 6), bias: t([1], -0.5) })]);
  });

  it('Sinabs CNN: sum pool 2×2 → conv 3×3 padding 1 on 16×16 becomes one conv 6×6, stride 2, padding 2 (W upsampled)', () => {
    const r = rng(1);
    const model = net('sinabs', [3, 16, 16], [pool('p.mean', INPUT, [2, 2]), scale('p', 'p.mean', 3, 4), conv(r, 'c', 'p', [2, 3, 3, 3], [1, 1], [1, 1, 1, 1])], 'c');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['c:conv2d<-input']);
    const c = convOf(folded, 'c');
    expect({ w: c.weight.shape, stride: c.stride, padding: c.padding }).toEqual({ w: [2, 3, 6, 6], stride: [2, 2], padding: [2, 2, 2, 2] });
    const w = (model.layers[2] as L.Conv2d).weight.data;
    // Sum pool: W'[o, c, Y, X] = W[o, c, ⌊Y/2⌋, ⌊X/2⌋].
    expect(c.weight.data[((1 * 3 + 2) * 6 + 5) * 6 + 2]).toBe(w[((1 * 3 + 2) * 3 + 2) * 3 + 1]);
  });

  it('overlapping, padded pools (3×3, stride 2, padding 1) into a dense and into a grouped strided conv', () => {
    const r = rng(2);
    const p = pool('p', INPUT, [3, 3], [2, 2], [1, 1, 1, 1]);
    const dense = net('d', [2, 7, 5], [p, flatten('f', 'p'), L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [3, 2 * 4 * 3], 1) })], 'd');
    expect(summary(fold(dense))).toEqual(['f:flatten<-input', 'd:dense<-f']);
    const grouped = net('c', [4, 7, 7], [p, conv(r, 'c', 'p', [4, 2, 3, 3], [2, 2], [1, 1, 1, 1], 2)], 'c');
    const c = convOf(fold(grouped), 'c');
    expect({ w: c.weight.shape, stride: c.stride, padding: c.padding, groups: c.groups }).toEqual({ w: [4, 2, 7, 7], stride: [4, 4], padding: [3, 3, 1, 1], groups: 2 });
  });

  it('two pools in a row fold one after the other; a pool read by something else stays for it', () => {
    const r = rng(3);
    const twice = net('two', [1, 8, 8], [pool('p1', INPUT, [2, 2]), pool('p2', 'p1', [2, 2]), flatten('f', 'p2'), L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [2, 4], 1) })], 'd');
    expect(summary(fold(twice))).toEqual(['f:flatten<-input', 'd:dense<-f']);
    const shared = net('shared', [1, 4, 4], [pool('p', INPUT, [2, 2]), conv(r, 'c', 'p', [1, 1, 1, 1]), L.add({ name: 'sum', inputs: ['c', 'p'] })], 'sum');
    expect(summary(fold(shared))).toEqual(['p:avgpool2d<-input', 'c:conv2d<-input', 'sum:add<-c,p']);
  });

  it('is deterministic and idempotent', () => {
    const r = rng(4);
    const model = net('i', [2, 6, 6], [pool('p', INPUT, [2, 2]), conv(r, 'c', 'p', [2, 2, 2, 2], [1, 1], [1, 1, 1, 1]), L.relu({ name: 'r', inputs: ['c'] }), pool('q', 'r', [2, 2]), flatten('f', 'q'), L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [3, 8], 1) })], 'd');
    const once = runPasses(model, [foldPool]);
    expect(runPasses(model, [foldPool])).toEqual(once);
    expect(runPasses(once, [foldPool])).toEqual(once);
  });
});

describe('foldPool: chains that do not fold, and why', () => {
  it('a conv whose zero padding covers pooled positions that pool input pixels (before or after the map)', () => {
    const r = rng(5);
    // Pool 3×3 stride 1: position −1 of the pooled map pools pixel row 0.
    const before = net('b', [1, 6, 6], [pool('p', INPUT, [3, 3], [1, 1]), conv(r, 'c', 'p', [1, 1, 3, 3], [1, 1], [1, 1, 1, 1])], 'c');
    // Pool 3×3/2/1 on 8 pixels: 4 positions, the 5th (in the conv's padding) would pool pixel 7.
    const after = net('a', [1, 8, 8], [pool('p', INPUT, [3, 3], [2, 2], [1, 1, 1, 1]), conv(r, 'c', 'p', [1, 1, 3, 3], [1, 1], [1, 1, 1, 1])], 'c');
    for (const model of [before, after]) {
      expect(runPasses(model, [foldPool])).toEqual(model);
      expect(unfoldedPool(model, 'c')).toMatch(/^conv "c" \(3×3, padding 1\) reads avgpool2d "p": the conv's zero padding covers pooled positions whose windows hold input pixels/);
    }
    // On 7 pixels the 5th position would pool pixels 7 and 8, outside the map: it folds.
    expect(summary(fold({ ...after, input: { ...after.input, shape: [1, 7, 7] } }))).toEqual(['c:conv2d<-input']);
  });

  it('a dilated conv, a batchnorm shift into a padded conv, a link read by another layer', () => {
    const r = rng(6);
    const dilated = net('d', [1, 8, 8], [pool('p', INPUT, [2, 2]), L.conv2d({ ...conv(r, 'c', 'p', [1, 1, 2, 2]), dilation: [2, 2] })], 'c');
    expect(unfoldedPool(dilated, 'c')).toMatch(/reads avgpool2d "p": a dilated conv after a pool is not folded/);
    const shifted = net('s', [1, 4, 4], [scale('bn', INPUT, 1, 2, 0.5), conv(r, 'c', 'bn', [1, 1, 3, 3], [1, 1], [1, 1, 1, 1])], 'c');
    expect(unfoldedPool(shifted, 'c')).toMatch(/reads batchnorm "bn" whose shift is non-zero: folding would change the border/);
    const linked = net('l', [1, 4, 4], [pool('p', INPUT, [2, 2]), flatten('f', 'p'), L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [2, 4], 1) }), L.dense({ name: 'e', inputs: ['f'], weight: randomTensor(r, [2, 4], 1) }), L.add({ name: 'sum', inputs: ['d', 'e'] })], 'sum');
    expect(unfoldedPool(linked, 'd')).toBe('dense "d" reads avgpool2d "p" through flatten "f", which "e" also reads');
    for (const m of [dilated, shifted, linked]) expect(runPasses(m, [foldPool])).toEqual(m);
    expect(unfoldedPool(linked, 'sum')).toBeUndefined();
  });
});

describe('foldPool: property', () => {
  const geometry = fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    head: fc.constantFrom('dense', 'conv'),
    sum: fc.boolean(),
    c: fc.integer({ min: 1, max: 3 }),
    size: fc.integer({ min: 4, max: 9 }),
    kp: fc.integer({ min: 1, max: 3 }),
    sp: fc.integer({ min: 1, max: 3 }),
    pp: fc.integer({ min: 0, max: 1 }),
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 2 }),
    pad: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
  });

  it('a pool (average or sum, any stride and padding) into a dense or conv folds to one layer computing the same, or is refused for its border', () => {
    let folded = 0;
    fc.assert(
      fc.property(geometry, (g) => {
        const r = rng(g.seed);
        const pp = Math.min(g.pp, g.kp - 1);
        const layers: L.Layer[] = [pool('p', INPUT, [g.kp, g.kp], [g.sp, g.sp], [pp, pp, pp, pp])];
        if (g.sum) layers.push(scale('s', 'p', g.c, g.kp * g.kp));
        const src = g.sum ? 's' : 'p';
        const [, n] = inferShapes(net('x', [g.c, g.size, g.size], layers, src)).get(src)!;
        if (g.head === 'dense') layers.push(flatten('f', src), L.dense({ name: 'b', inputs: ['f'], weight: randomTensor(r, [3, g.c * n * n], 1), bias: randomTensor(r, [3], 1) }));
        else layers.push(conv(r, 'b', src, [2, g.c, Math.min(g.k, n), Math.min(g.k, n)], [g.s, g.s], g.pad.map((x) => Math.min(x, Math.min(g.k, n) - 1)) as unknown as Pad));
        const model = net('prop', [g.c, g.size, g.size], layers, 'b');
        const reason = unfoldedPool(runPasses(model, [foldPool]), 'b');
        if (reason) {
          expect(g.head).toBe('conv');
          expect(reason).toMatch(/the conv's zero padding covers pooled positions whose windows hold input pixels/);
          return;
        }
        folded++;
        expect(summary(fold(model)).at(-1)).toBe(`b:${g.head === 'dense' ? 'dense<-f' : 'conv2d<-input'}`);
      }),
      { numRuns: 80, seed: 11 },
    );
    expect(folded).toBeGreaterThan(50);
  });
});
