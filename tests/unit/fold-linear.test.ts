/**
 * Golden tests of foldLinear (compiler/passes/fold-linear.ts): small seeded models in the IR, folded
 * through runPasses (so the verifier runs), the structure of the result asserted (layers, ops, inputs,
 * weight shapes, geometry), and the reference simulator at T=1 giving the same outputs on random inputs
 * to 1e-5 relative. Chains that must not fold stay as they are and unfoldedLinearChains names them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { inferShapes } from '../../compiler/ir/shapes.js';
import { type Tensor, sizeOf, tensor } from '../../compiler/ir/tensor.js';
import { foldLinear, unfoldedLinearChains } from '../../compiler/passes/fold-linear.js';
import { runPasses } from '../../compiler/passes/pipeline.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { net, randomInput, randomTensor, rng } from '../helpers/models.js';

type Rng = () => number;
type Pair = readonly [number, number];
type Pad = readonly [number, number, number, number];


function dense(r: Rng, name: string, input: string, out: number, inn: number, bias = true): L.Dense {
  return L.dense({ name, inputs: [input], weight: randomTensor(r, [out, inn], 1), ...(bias ? { bias: randomTensor(r, [out], 1) } : {}) });
}

interface ConvOpts {
  stride?: Pair;
  padding?: Pad;
  groups?: number;
  dilation?: Pair;
  bias?: 'random' | 'none' | 'zero';
}

/** A conv with weight [out, in/groups, kh, kw]. */
function conv(r: Rng, name: string, input: string, [out, inn, kh, kw]: number[], o: ConvOpts = {}): L.Conv2d {
  const groups = o.groups ?? 1;
  const bias: Tensor | undefined = o.bias === 'none' ? undefined : o.bias === 'zero' ? tensor([out], new Float32Array(out)) : randomTensor(r, [out], 1);
  return L.conv2d({
    name,
    inputs: [input],
    weight: randomTensor(r, [out, inn / groups, kh, kw], 1),
    ...(bias ? { bias } : {}),
    stride: o.stride ?? [1, 1],
    padding: o.padding ?? [0, 0, 0, 0],
    groups,
    ...(o.dilation ? { dilation: o.dilation } : {}),
  });
}

const relu = (name: string, input: string) => L.relu({ name, inputs: [input] });
const flatten = (name: string, input: string) => L.flatten({ name, inputs: [input] });

/** max |after − before| / max |before| of the simulator's T=1 outputs on n random inputs in [−1, 1). */
function relErr(before: SnnModel, after: SnnModel, seed = 3, n = 8): number {
  const x = randomInput(seed, n * sizeOf(before.input.shape), 2).map((v) => v - 1);
  const a = simulate(before, x, n, { timesteps: 1 }).output;
  const b = simulate(after, x, n, { timesteps: 1 }).output;
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

/** Each layer as "name:op<-inputs". */
const summary = (m: SnnModel) => m.layers.map((l) => `${l.name}:${l.op}<-${l.inputs.join(',')}`);
const weightShape = (m: SnnModel, name: string) => (m.layers.find((l) => l.name === name) as L.Dense | L.Conv2d).weight.shape;
const convOf = (m: SnnModel, name: string) => m.layers.find((l) => l.name === name) as L.Conv2d;

/** Folds through runPasses, checks the outputs agree to 1e-5 and the output shape is kept. */
function fold(model: SnnModel): SnnModel {
  const folded = runPasses(model, [foldLinear]);
  expect(inferShapes(folded).get(folded.output.layer)).toEqual(inferShapes(model).get(model.output.layer));
  expect(relErr(model, folded)).toBeLessThan(1e-5);
  return folded;
}

describe('foldLinear: exact folds', () => {
  it('dense → dense → dense: W = W_B·W_A, b = W_B·b_A + b_B, twice; the survivor is the last one, in its place', () => {
    const r = rng(1);
    const model = net('mlp', [6], [dense(r, 'a', INPUT, 5, 6), dense(r, 'b', 'a', 4, 5), dense(r, 'c', 'b', 3, 4), relu('r', 'c'), dense(r, 'head', 'r', 2, 3)], 'head');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['c:dense<-input', 'r:relu<-c', 'head:dense<-r']);
    expect(weightShape(folded, 'c')).toEqual([3, 6]);
    expect(unfoldedLinearChains(folded)).toEqual([]);
  });

  it('golden dense → dense with hand-computed values; no bias anywhere gives no bias', () => {
    const t = (shape: number[], ...v: number[]) => tensor(shape, Float32Array.of(...v));
    const a = L.dense({ name: 'a', inputs: [INPUT], weight: t([2, 2], 1, 2, 3, 4), bias: t([2], 1, -1) });
    const b = L.dense({ name: 'b', inputs: ['a'], weight: t([1, 2], 2, -1), bias: t([1], 0.5) });
    // W = [2, −1]·[[1, 2], [3, 4]] = [−1, 0]; b = 2·1 − 1·(−1) + 0.5 = 3.5
    expect(runPasses(net('g', [2], [a, b], 'b'), [foldLinear]).layers).toEqual([L.dense({ name: 'b', inputs: [INPUT], weight: t([1, 2], -1, 0), bias: t([1], 3.5) })]);
    const noBias = runPasses(net('g', [2], [{ ...a, bias: undefined }, { ...b, bias: undefined }], 'b'), [foldLinear]);
    expect((noBias.layers[0] as L.Dense).bias).toBeUndefined();
  });

  it('dense → reshape → flatten → dense: the reshapes are the identity on the values and disappear', () => {
    const r = rng(2);
    const model = net('reshaped', [5], [dense(r, 'a', INPUT, 6, 5), L.reshape({ name: 'rs', inputs: ['a'], shape: [2, 3] }), flatten('f', 'rs'), dense(r, 'b', 'f', 4, 6)], 'b');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['b:dense<-input']);
  });

  it('conv 3×3 (stride 2, asymmetric padding) → conv 1×1: one conv with A’s geometry, weight [O_B, C, 3, 3]', () => {
    const r = rng(3);
    const model = net('c31', [3, 7, 6], [conv(r, 'a', INPUT, [5, 3, 3, 3], { stride: [2, 2], padding: [1, 0, 1, 2] }), conv(r, 'b', 'a', [4, 5, 1, 1])], 'b');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['b:conv2d<-input']);
    expect(convOf(folded, 'b')).toMatchObject({ stride: [2, 2], padding: [1, 0, 1, 2], groups: 1, weight: { shape: [4, 3, 3, 3] } });
  });

  it('grouped (groups 2) and depthwise A → conv 1×1: A’s weight expanded, the folded conv has groups 1', () => {
    const r = rng(4);
    const grouped = net('g2', [4, 6, 6], [conv(r, 'a', INPUT, [6, 4, 3, 3], { groups: 2, padding: [1, 1, 1, 1] }), conv(r, 'b', 'a', [3, 6, 1, 1])], 'b');
    expect(convOf(fold(grouped), 'b')).toMatchObject({ groups: 1, padding: [1, 1, 1, 1], weight: { shape: [3, 4, 3, 3] } });
    // MobileNet's depthwise 3×3 (stride 2) straight into a pointwise conv.
    const depthwise = net('dw', [4, 7, 7], [conv(r, 'dw', INPUT, [4, 4, 3, 3], { groups: 4, stride: [2, 2], padding: [1, 1, 1, 1] }), conv(r, 'pw', 'dw', [6, 4, 1, 1])], 'pw');
    const folded = fold(depthwise);
    expect(summary(folded)).toEqual(['pw:conv2d<-input']);
    expect(convOf(folded, 'pw')).toMatchObject({ groups: 1, stride: [2, 2], weight: { shape: [6, 4, 3, 3] } });
  });

  it('dilated A → conv 1×1 keeps the dilation; a grouped 1×1 B is expanded too', () => {
    const r = rng(5);
    const model = net('dil', [2, 9, 9], [conv(r, 'a', INPUT, [4, 2, 3, 3], { dilation: [2, 3], padding: [2, 1, 0, 3] }), conv(r, 'b', 'a', [6, 4, 1, 1], { groups: 2 })], 'b');
    expect(convOf(fold(model), 'b')).toMatchObject({ dilation: [2, 3], padding: [2, 1, 0, 3], groups: 1, weight: { shape: [6, 2, 3, 3] } });
  });

  it('MobileNetV2 linear bottleneck: project 1×1 → expand 1×1 (both with bias) → relu6 folds to one 1×1', () => {
    const r = rng(6);
    const model = net('mbv2', [8, 4, 4], [
      conv(r, 'expand0', INPUT, [16, 8, 1, 1]),
      L.relu({ name: 'r0', inputs: ['expand0'], max: 6 }),
      conv(r, 'project', 'r0', [4, 16, 1, 1]),
      conv(r, 'expand1', 'project', [12, 4, 1, 1]),
      L.relu({ name: 'r1', inputs: ['expand1'], max: 6 }),
    ], 'r1');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['expand0:conv2d<-input', 'r0:relu<-expand0', 'expand1:conv2d<-r0', 'r1:relu<-expand1']);
    expect(weightShape(folded, 'expand1')).toEqual([12, 16, 1, 1]);
  });

  it('conv 1×1 without bias → conv 3×3 (padding 1, stride 2, dilation 2, groups 2): B’s geometry, groups 1', () => {
    const r = rng(7);
    const model = net('p3', [3, 8, 8], [conv(r, 'a', INPUT, [4, 3, 1, 1], { bias: 'none' }), conv(r, 'b', 'a', [6, 4, 3, 3], { padding: [1, 1, 1, 1], stride: [2, 2], dilation: [2, 2], groups: 2 })], 'b');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['b:conv2d<-input']);
    expect(convOf(folded, 'b')).toMatchObject({ padding: [1, 1, 1, 1], stride: [2, 2], dilation: [2, 2], groups: 1, weight: { shape: [6, 3, 3, 3] } });
  });

  it('conv 1×1 with an all-zero bias → padded conv, and 1×1 with bias → unpadded conv (b_A summed over B’s kernel)', () => {
    const r = rng(8);
    const zero = net('z', [3, 6, 6], [conv(r, 'a', INPUT, [4, 3, 1, 1], { bias: 'zero' }), conv(r, 'b', 'a', [2, 4, 3, 3], { padding: [1, 1, 1, 1] })], 'b');
    expect(summary(fold(zero))).toEqual(['b:conv2d<-input']);
    const unpadded = net('u', [3, 6, 6], [conv(r, 'a', INPUT, [4, 3, 1, 1]), conv(r, 'b', 'a', [2, 4, 3, 2], { stride: [2, 1] })], 'b');
    expect(convOf(fold(unpadded), 'b')).toMatchObject({ stride: [2, 1], weight: { shape: [2, 3, 3, 2] } });
  });

  it('conv → flatten → dense: a flatten of A’s input (named as the flatten) and one dense W_B·M_A', () => {
    const r = rng(9);
    const model = net('cd', [2, 5, 5], [
      conv(r, 'a', INPUT, [4, 2, 3, 3], { stride: [2, 2], padding: [1, 0, 2, 1], groups: 2 }),
      flatten('f', 'a'),
      dense(r, 'b', 'f', 3, 4 * 3 * 2),
    ], 'b');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['f:flatten<-input', 'b:dense<-f']);
    expect(weightShape(folded, 'b')).toEqual([3, 50]);
  });

  // c3 folds c2 in first; d1 cannot take the conv yet (its folded weight would be too large), but once d2
  // has folded d1 in, the conv → flatten → dense fold fits.
  it('a whole stack folds to the end: conv 3×3 → conv 1×1 → flatten → dense → dense', () => {
    const r = rng(10);
    const model = net('stack', [1, 6, 6], [
      conv(r, 'c1', INPUT, [2, 1, 3, 3], { padding: [1, 1, 1, 1] }),
      relu('r1', 'c1'),
      conv(r, 'c2', 'r1', [4, 2, 3, 3], { stride: [2, 2] }),
      conv(r, 'c3', 'c2', [3, 4, 1, 1]),
      flatten('f', 'c3'),
      dense(r, 'd1', 'f', 10, 12),
      dense(r, 'd2', 'd1', 5, 10),
    ], 'd2');
    const folded = fold(model);
    expect(summary(folded)).toEqual(['c1:conv2d<-input', 'r1:relu<-c1', 'f:flatten<-r1', 'd2:dense<-f']);
    expect(weightShape(folded, 'd2')).toEqual([5, 2 * 6 * 6]);
  });

  it('is deterministic and idempotent', () => {
    const r = rng(11);
    const model = net('det', [2, 5, 5], [conv(r, 'a', INPUT, [3, 2, 3, 3]), conv(r, 'b', 'a', [3, 3, 1, 1]), flatten('f', 'b'), dense(r, 'c', 'f', 4, 27)], 'c');
    const once = foldLinear.run(model);
    expect(foldLinear.run(model)).toEqual(once);
    expect(foldLinear.run(once)).toBe(once);
  });
});

describe('foldLinear: chains that must not fold, named by unfoldedLinearChains', () => {
  it('a relu between: nothing folds, nothing to report', () => {
    const r = rng(20);
    const model = net('relu', [4], [dense(r, 'a', INPUT, 3, 4), relu('r', 'a'), dense(r, 'b', 'r', 2, 3)], 'b');
    expect(foldLinear.run(model)).toBe(model);
    expect(unfoldedLinearChains(model)).toEqual([]);
  });

  it('A with another reader stays for it, and B reads A\'s input (MobileNetV2: a projection read by the next expansion and the residual add)', () => {
    const r = rng(21);
    const two = net('two', [4], [dense(r, 'a', INPUT, 3, 4), dense(r, 'b', 'a', 2, 3), relu('r', 'a'), dense(r, 'c', 'r', 2, 3), L.add({ name: 's', inputs: ['b', 'c'] })], 's');
    const folded = fold(two);
    expect(summary(folded)).toEqual(['a:dense<-input', 'b:dense<-input', 'r:relu<-a', 'c:dense<-r', 's:add<-b,c']);
    expect(unfoldedLinearChains(folded)).toEqual([]);
  });

  it('A is the output (B feeds it back through a neuron): A stays; or A reads a neuron listed between A and B: not folded', () => {
    const r = rng(28);
    const neuron = (name: string, input: string) => L.ifNeuron({ name, inputs: [input], threshold: 1, reset: 'subtract', v0: 0 });
    const out = net('out', [3], [L.add({ name: 's', inputs: [INPUT, 'n'] }), dense(r, 'a', 's', 3, 3), dense(r, 'b', 'a', 3, 3), neuron('n', 'b')], 'a');
    expect(summary(runPasses(out, [foldLinear]))).toEqual(['s:add<-input,n', 'a:dense<-s', 'b:dense<-s', 'n:neuron<-b']);
    // a reads n's previous step; a layer in b's place would read n's current one.
    const between = net('between', [3], [dense(r, 'a', 'n', 3, 3), neuron('n', INPUT), dense(r, 'b', 'a', 2, 3)], 'b');
    expect(runPasses(between, [foldLinear])).toBe(between);
    expect(unfoldedLinearChains(between)[0].reason).toContain('reads "n" listed between them (its previous step)');
  });

  it('a flatten between with another reader', () => {
    const r = rng(22);
    const model = net('flat2', [2, 3, 3], [conv(r, 'a', INPUT, [2, 2, 1, 1]), flatten('f', 'a'), dense(r, 'b', 'f', 3, 18), dense(r, 'c', 'f', 3, 18), L.add({ name: 's', inputs: ['b', 'c'] })], 's');
    expect(foldLinear.run(model)).toBe(model);
    expect(unfoldedLinearChains(model).map((u) => [u.layer, u.input, u.reason])).toEqual([
      ['b', 'a', expect.stringContaining('through flatten "f", which "c" also reads')],
      ['c', 'a', expect.stringContaining('through flatten "f", which "b" also reads')],
    ]);
  });

  it('1×1 with a non-zero bias → padded 3×3: not exact (the border would see b_A)', () => {
    const r = rng(23);
    const model = net('border', [3, 5, 5], [conv(r, 'a', INPUT, [4, 3, 1, 1]), conv(r, 'b', 'a', [2, 4, 3, 3], { padding: [1, 1, 1, 1] })], 'b');
    expect(runPasses(model, [foldLinear])).toBe(model);
    expect(unfoldedLinearChains(model)).toEqual([
      { layer: 'b', input: 'a', reason: expect.stringMatching(/^conv "b" \(3×3, padding 1\) reads conv "a" \(1×1\) whose bias is non-zero: folding would change the border/) },
    ]);
  });

  it('two kernels larger than 1×1, a strided 1×1 before a 3×3, a padded 1×1 B after a 3×3', () => {
    const r = rng(24);
    const cases: [string, L.Conv2d, L.Conv2d][] = [
      ['3x3-3x3', conv(r, 'a', INPUT, [3, 2, 3, 3]), conv(r, 'b', 'a', [2, 3, 3, 3])],
      ['strided-1x1', conv(r, 'a', INPUT, [3, 2, 1, 1], { stride: [2, 2], bias: 'none' }), conv(r, 'b', 'a', [2, 3, 3, 3])],
      ['padded-1x1-B', conv(r, 'a', INPUT, [3, 2, 3, 3]), conv(r, 'b', 'a', [2, 3, 1, 1], { padding: [1, 1, 1, 1] })],
    ];
    for (const [name, a, b] of cases) {
      const model = net(name, [2, 9, 9], [a, b], 'b');
      expect(runPasses(model, [foldLinear])).toBe(model);
      expect(unfoldedLinearChains(model)).toEqual([{ layer: 'b', input: 'a', reason: expect.stringContaining('neither is a 1×1 conv with stride 1 and no padding') }]);
    }
  });

  it('conv → flatten → dense whose folded weight would be more than 4× the two weights', () => {
    const r = rng(25);
    // A: 8 channels of 16×16 → 1×1 conv to 1 channel; B: 2 × 256. Folded: 2 × 2048 > 4·(8 + 512).
    const model = net('big', [8, 16, 16], [conv(r, 'a', INPUT, [1, 8, 1, 1]), flatten('f', 'a'), dense(r, 'b', 'f', 2, 256)], 'b');
    expect(foldLinear.run(model)).toBe(model);
    expect(unfoldedLinearChains(model)[0]).toEqual({ layer: 'b', input: 'a', reason: expect.stringContaining('4096 values, more than 4× the two weights (520)') });
  });

  it('dense → reshape → conv, and conv → reshape to another image layout → conv', () => {
    const r = rng(26);
    const dc = net('dc', [4], [dense(r, 'a', INPUT, 8, 4), L.reshape({ name: 'rs', inputs: ['a'], shape: [2, 2, 2] }), conv(r, 'b', 'rs', [1, 2, 1, 1])], 'b');
    expect(foldLinear.run(dc)).toBe(dc);
    expect(unfoldedLinearChains(dc)[0].reason).toContain('a dense layer into a conv is not folded');
    const cc = net('cc', [2, 2, 4], [conv(r, 'a', INPUT, [2, 2, 1, 1]), L.reshape({ name: 'rs', inputs: ['a'], shape: [4, 2, 2] }), conv(r, 'b', 'rs', [1, 4, 1, 1])], 'b');
    expect(foldLinear.run(cc)).toBe(cc);
    expect(unfoldedLinearChains(cc)[0].reason).toContain('changes the image layout');
  });

  it('reports chains through an add, a batchnorm or a pool (residual streams), and a foldable chain before folding', () => {
    const r = rng(27);
    const model = net('res', [2, 4, 4], [
      conv(r, 'stem', INPUT, [3, 2, 3, 3], { padding: [1, 1, 1, 1] }),
      relu('r0', 'stem'),
      conv(r, 'proj', 'r0', [3, 3, 1, 1]),
      L.add({ name: 'sum', inputs: ['proj', 'r0'] }),
      L.batchNorm({ name: 'bn', inputs: ['sum'], scale: randomTensor(r, [3], 1), shift: randomTensor(r, [3], 1) }),
      L.avgpool2d({ name: 'pool', inputs: ['bn'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
      conv(r, 'next', 'pool', [2, 3, 1, 1]),
      conv(r, 'last', 'next', [2, 2, 1, 1]),
    ], 'last');
    expect(unfoldedLinearChains(model)).toEqual([
      { layer: 'next', input: 'proj', reason: expect.stringContaining('through add "sum", batchnorm "bn", avgpool2d "pool": a linear chain through') },
      { layer: 'last', input: 'next', reason: expect.stringContaining('foldable (run foldLinear)') },
    ]);
    const folded = fold(model);
    expect(unfoldedLinearChains(folded).map((u) => [u.layer, u.input])).toEqual([['last', 'proj']]);
  });
});

describe('foldLinear: property', () => {
  const geometry = fc.record({
    kind: fc.constantFrom('dense', 'into-pointwise', 'from-pointwise', 'into-dense'),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    c: fc.integer({ min: 1, max: 3 }),
    mid: fc.integer({ min: 1, max: 4 }),
    out: fc.integer({ min: 1, max: 4 }),
    size: fc.integer({ min: 5, max: 7 }),
    k: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }),
    dilation: fc.integer({ min: 1, max: 2 }),
    pad: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 4 }),
    grouped: fc.boolean(),
    bias: fc.boolean(),
  });

  it('any foldable dense/conv pair folds to one synaptic layer computing the same outputs (1e-5)', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const r = rng(g.seed);
        const pad = g.pad as unknown as Pad;
        // Grouped: c input channels and g.c·mid channels in the middle, in c groups.
        const groups = g.grouped ? g.c : 1;
        const mid = g.mid * groups;
        const spatial = { stride: [g.stride, g.stride] as Pair, padding: pad, dilation: [g.dilation, g.dilation] as Pair, groups };
        const bias = g.bias ? 'random' : 'none';
        let layers: L.Layer[];
        let shape = [g.c, g.size, g.size];
        if (g.kind === 'dense') {
          shape = [g.c * g.size];
          layers = [dense(r, 'a', INPUT, mid, g.c * g.size, g.bias), dense(r, 'b', 'a', g.out, mid)];
        } else if (g.kind === 'into-pointwise') {
          layers = [conv(r, 'a', INPUT, [mid, g.c, g.k, g.k], { ...spatial, bias }), conv(r, 'b', 'a', [g.out, mid, 1, 1])];
        } else if (g.kind === 'from-pointwise') {
          layers = [conv(r, 'a', INPUT, [mid, g.c, 1, 1], { groups, bias: pad.some((p) => p > 0) ? 'zero' : bias }), conv(r, 'b', 'a', [g.out, mid, g.k, g.k], { ...spatial, groups: 1 })];
        } else {
          // Stride 1 and at least as many channels out as in: the folded dense stays within 4× the weights.
          const a = conv(r, 'a', INPUT, [mid * g.c, g.c, g.k, g.k], { padding: pad, groups, bias });
          const [, oh, ow] = inferShapes(net('s', shape, [a], 'a')).get('a')!;
          layers = [a, flatten('f', 'a'), dense(r, 'b', 'f', g.out, mid * g.c * oh * ow)];
        }
        const model = net('prop', shape, layers, 'b');
        const folded = runPasses(model, [foldLinear]);
        expect(folded.layers.filter((l) => l.op === 'dense' || l.op === 'conv2d').map((l) => l.name)).toEqual(['b']);
        expect(unfoldedLinearChains(folded)).toEqual([]);
        expect(relErr(model, folded, g.seed, 4)).toBeLessThan(1e-5);
      }),
      { numRuns: 60, seed: 42 },
    );
  });
});

describe('foldLinear: distributing over an add (residual streams)', () => {
  /** A MobileNetV2-like stage: x1 = x0 + p1(h1), x2 = 0.5·x1 + 2·p2(h2), each block's expand 1×1 reading x_k. */
  function stage(r: Rng): SnnModel {
    return net('stage', [4, 5, 5], [
      conv(r, 'stem', INPUT, [4, 4, 3, 3], { padding: [1, 1, 1, 1] }),
      relu('x0', 'stem'),
      conv(r, 'e1', 'x0', [8, 4, 1, 1]),
      L.relu({ name: 'h1', inputs: ['e1'], max: 6 }),
      conv(r, 'p1', 'h1', [4, 8, 1, 1]),
      L.add({ name: 'x1', inputs: ['x0', 'p1'] }),
      conv(r, 'e2', 'x1', [8, 4, 1, 1]),
      L.relu({ name: 'h2', inputs: ['e2'], max: 6 }),
      conv(r, 'p2', 'h2', [4, 8, 1, 1]),
      L.add({ name: 'x2', inputs: ['x1', 'p2'], coefficients: [0.5, 2] }),
      conv(r, 'e3', 'x2', [6, 4, 1, 1]),
      relu('h3', 'e3'),
      flatten('f', 'h3'),
      dense(r, 'out', 'f', 3, 150),
    ], 'out');
  }

  it('B(Σ c_i·x_i) = Σ (c_i·B)(x_i) + b_B, each term folded into its projection; repeated down the stream', () => {
    const model = stage(rng(30));
    expect(unfoldedLinearChains(model).map((u) => `${u.layer}<-${u.input}`)).toEqual(['e2<-p1', 'e3<-p1', 'e3<-p2']);
    const folded = fold(model);
    expect(summary(folded)).toEqual([
      'stem:conv2d<-input', 'x0:relu<-stem', 'e1:conv2d<-x0', 'h1:relu<-e1',
      // e2 over x1 = x0 + p1: e2·x0 + (e2∘p1)(h1); x1 and p1 go once e3 is distributed too.
      'e2.x0:conv2d<-x0', 'e2.p1:conv2d<-h1', 'e2:add<-e2.x0,e2.p1', 'h2:relu<-e2',
      // e3 over x2 = 0.5·x1 + 2·p2, then its x1 term over x1.
      'e3.x1.x0:conv2d<-x0', 'e3.x1.p1:conv2d<-h1', 'e3.x1:add<-e3.x1.x0,e3.x1.p1', 'e3.p2:conv2d<-h2', 'e3:add<-e3.x1,e3.p2',
      'h3:relu<-e3', 'f:flatten<-h3', 'out:dense<-f',
    ]);
    expect(weightShape(folded, 'e3.p2')).toEqual([6, 8, 1, 1]);
    expect(unfoldedLinearChains(folded)).toEqual([]);
  });

  it('a dense B over an add of a dense and a relu; a 3×3 conv over an add is reported, not distributed', () => {
    const r = rng(31);
    const vec = net('vec', [5], [dense(r, 'a', INPUT, 4, 5), relu('x', 'a'), dense(r, 'p', 'x', 4, 4), L.add({ name: 's', inputs: ['p', 'x'], coefficients: [-1, 3] }), dense(r, 'b', 's', 2, 4)], 'b');
    expect(summary(fold(vec))).toEqual(['a:dense<-input', 'x:relu<-a', 'b.p:dense<-x', 'b.x:dense<-x', 'b:add<-b.p,b.x']);
    const img = net('img', [2, 4, 4], [conv(r, 'a', INPUT, [2, 2, 1, 1]), relu('x', 'a'), conv(r, 'p', 'x', [2, 2, 1, 1]), L.add({ name: 's', inputs: ['p', 'x'] }), conv(r, 'b', 's', [2, 2, 3, 3])], 'b');
    expect(foldLinear.run(img)).toBe(img);
    expect(unfoldedLinearChains(img)).toEqual([{ layer: 'b', input: 'p', reason: expect.stringContaining('through add "s"') }]);
  });

  it('an add of activations only (through adds) is left alone', () => {
    const r = rng(32);
    const model = net('acts', [4], [
      relu('r1', INPUT), dense(r, 'd', 'r1', 4, 4), relu('r2', 'd'), relu('r3', 'r2'),
      L.add({ name: 'inner', inputs: ['r2', 'r3'] }), L.add({ name: 's', inputs: ['r1', 'inner'] }), dense(r, 'b', 's', 2, 4),
    ], 'b');
    expect(foldLinear.run(model)).toBe(model);
    expect(unfoldedLinearChains(model)).toEqual([]);
  });
});
