/**
 * The certified host encoder (runtime/host-encoder.ts) against the reference simulator. Its exact
 * fallback (chainValue) gives simulate()'s value for every output of random conv/dense encoders with
 * and without a max-pool. Its host currents equal the simulator's values rounded as each chip rounds
 * them: for random encoders and roundings, for encoders whose sums land exactly on rounding steps (so
 * that the fallback runs), for the MNIST examples' encoders on test images, and for NaN, infinite and
 * overflowing pixels (the same currents or the same error).
 */
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../compiler/io/datasets.js';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { chainValue, encoderChain } from '../../compiler/reference/encoder-chain.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { chipInput } from '../../runtime/chip-numerics.js';
import { CertifiedEncoder, type HostRounding } from '../../runtime/host-encoder.js';
import { hostEncoder } from '../../targets/common/descriptor-checks.js';
import { compileGpu } from '../../targets/gpu/index.js';
import { roundHalfEven } from '../../targets/spinnaker/fixed-point.js';
import { rng } from '../helpers/models.js';

const BATCH = 3;

function encoder(shape: number[], layers: L.Layer[]): SnnModel {
  return { name: 'encoder', input: { shape, encoding: { type: 'direct' }, preprocess: IDENTITY_PREPROCESS }, layers, output: { layer: layers.at(-1)!.name, decoding: 'accumulate' }, timesteps: 1, dt: 1e-3, metadata: {} };
}

/** Values from `pick` (a uniform draw in [0, 1) → value), a third of them zero as spike-free inputs often are. */
function values(n: number, seed: number, pick: (u: number) => number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 1 / 3 ? 0 : pick(r())));
}

const geometry = fc.record({
  C: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 2 }),
  perGroup: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
  extra: fc.integer({ min: 0, max: 4 }),
  pool: fc.option(fc.record({ k: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 1 }) }), { nil: undefined }),
  bias: fc.boolean(),
  flatten: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

type Geometry = typeof geometry extends fc.Arbitrary<infer T> ? T : never;

/** A conv2d (grouped, strided, dilated, padded), then maybe a max-pool and a flatten; weights from `pick`. */
function convEncoder(g: Geometry, pick: (u: number) => number): SnnModel {
  const C = g.C * g.groups;
  const O = g.perGroup * g.groups;
  const span = g.dilation * (g.k - 1) + 1;
  const H = span + g.extra + 4; // the conv's output is at least 3 × 3: room for any pool drawn
  const layers: L.Layer[] = [
    L.conv2d({
      name: 'conv',
      inputs: [INPUT],
      weight: tensor([O, g.C, g.k, g.k], values(O * g.C * g.k * g.k, g.seed, pick)),
      ...(g.bias ? { bias: tensor([O], values(O, g.seed + 1, pick)) } : {}),
      stride: [g.stride, g.stride],
      padding: [g.pads[0], g.pads[1], g.pads[2], g.pads[3]] as L.Padding4,
      groups: g.groups,
      dilation: [g.dilation, g.dilation],
    }),
  ];
  if (g.pool) layers.push(L.maxpool2d({ name: 'pool', inputs: ['conv'], kernel: [g.pool.k, g.pool.k], stride: [g.pool.stride, g.pool.stride], padding: [0, 0, Math.min(g.pool.pad, g.pool.k - 1), 0] }));
  if (g.flatten) layers.push(L.flatten({ name: 'flat', inputs: [layers.at(-1)!.name] }));
  return encoder([C, H, H + 1], layers);
}

function denseEncoder(nIn: number, nOut: number, seed: number, pick: (u: number) => number): SnnModel {
  return encoder([nIn], [L.dense({ name: 'fc', inputs: [INPUT], weight: tensor([nOut, nIn], values(nOut * nIn, seed, pick)), bias: tensor([nOut], values(nOut, seed + 1, pick)) })]);
}

const anyValue = (u: number) => Math.fround((u * 2 - 1) * 3);
/** ±2³⁰ beside ±1 and ±2⁻³⁰: products cancel, and float64 sums of them differ in another order (2⁶⁰ + 1 − 2⁶⁰). */
const WIDE = [2 ** 30, -(2 ** 30), 1, -1, 2 ** -30, -(2 ** -30), 0.75];
const wideValue = (u: number) => WIDE[Math.floor(u * WIDE.length)];

describe('chainValue: one output of a host encoder, exactly as simulate() computes it', () => {
  it('equals every output of random conv (grouped, strided, dilated, padded; max-pooled or not) and dense encoders', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const model = convEncoder(g, wideValue);
        const chain = encoderChain(model)!;
        expect(chain).toBeDefined();
        const x = values(BATCH * chain.inputSize, g.seed + 2, wideValue);
        const expected = simulate(model, x, BATCH, { timesteps: 1 }).output;
        for (let i = 0; i < expected.length; i++) expect(chainValue(chain, x, i)).toBe(expected[i] + 0);
      }),
      { numRuns: 150 },
    );
    for (let seed = 1; seed <= 20; seed++) {
      const model = denseEncoder(1 + (seed % 17), 1 + (seed % 5), seed, wideValue);
      const chain = encoderChain(model)!;
      const x = values(BATCH * chain.inputSize, seed + 2, wideValue);
      const expected = simulate(model, x, BATCH, { timesteps: 1 }).output;
      for (let i = 0; i < expected.length; i++) expect(chainValue(chain, x, i)).toBe(expected[i] + 0);
    }
  });

  it('is not taken for other encoders (two weighted layers, a pool before the conv, an average pool)', () => {
    const w = tensor([1, 1, 1, 1], Float32Array.of(1));
    const conv = (name: string, input: string) => L.conv2d({ name, inputs: [input], weight: w, stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 });
    expect(encoderChain(encoder([1, 4, 4], [conv('a', INPUT), conv('b', 'a')]))).toBeUndefined();
    expect(encoderChain(encoder([1, 4, 4], [L.maxpool2d({ name: 'p', inputs: [INPUT], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }), conv('a', 'p')]))).toBeUndefined();
    expect(encoderChain(encoder([1, 4, 4], [conv('a', INPUT), L.avgpool2d({ name: 'p', inputs: ['a'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] })]))).toBeUndefined();
  });
});

/** Loihi's rounding, round(v·λ), and SpiNNaker's, the s16.15 of v·λ/gain rounded half to even. */
const loihi = (scale: number): HostRounding => ({ multiplier: scale, divisor: 1, unit: 1, exact: (v) => Math.round(v * scale) });
const spinnaker = (scale: number, gain: number): HostRounding => ({ multiplier: scale, divisor: gain, unit: 32768, exact: (v) => roundHalfEven(((v * scale) / gain) * 32768) });

/** The certified currents of `model` on x against the simulator's values rounded by `rounding`; how many were recomputed. */
async function certifiedAgainstSimulator(model: SnnModel, x: Float32Array, rounding: HostRounding, batch = BATCH): Promise<number> {
  const certified = (await CertifiedEncoder.open(ort, model, batch, 'node'))!;
  try {
    const { currents, recomputed } = (await certified.currents(x, rounding))!;
    const values = simulate(model, x, batch, { timesteps: 1 }).output;
    const expected = Int32Array.from(values, (v, i) => rounding.exact(v, i));
    expect(currents).toEqual(expected);
    return recomputed;
  } finally {
    await certified.close();
  }
}

describe('CertifiedEncoder: host currents equal to the simulator-based ones', () => {
  it('random conv and dense encoders, Loihi and SpiNNaker roundings with random (also negative) scales', async () => {
    await fc.assert(
      fc.asyncProperty(geometry, fc.double({ min: 1, max: 5000, noNaN: true }), fc.boolean(), fc.boolean(), async (g, scale, negative, chip) => {
        const model = g.seed % 4 === 0 ? denseEncoder(1 + (g.seed % 23), 1 + (g.seed % 7), g.seed, anyValue) : convEncoder(g, anyValue);
        const x = values(BATCH * encoderChain(model)!.inputSize, g.seed + 2, anyValue);
        const s = negative ? -scale : scale;
        await certifiedAgainstSimulator(model, x, chip ? loihi(s) : spinnaker(s / 4096, 1 + (g.seed % 3)));
      }),
      { numRuns: 40 },
    );
  });

  it('sums that land exactly on rounding steps (ties) are recomputed and rounded by each chip\'s tie rule', async () => {
    // Halves and quarters: every sum is exact in float32 and float64, and v·1 hits n + ½ often.
    const dyadic = (u: number) => Math.floor(u * 8 - 4) / 4;
    let recomputed = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const model = convEncoder({ C: 2, groups: 1, perGroup: 3, k: 3, stride: 1, dilation: 1, pads: [1, 1, 1, 1], extra: 4, pool: seed % 2 ? { k: 2, stride: 2, pad: 0 } : undefined, bias: true, flatten: false, seed }, dyadic);
      const x = values(BATCH * encoderChain(model)!.inputSize, seed + 2, dyadic);
      recomputed += await certifiedAgainstSimulator(model, x, loihi(1));
      recomputed += await certifiedAgainstSimulator(model, x, spinnaker(1 / 32768, 1));
    }
    expect(recomputed).toBeGreaterThan(50);
  });

  it('inputs beyond the bound\'s reach (NaN, infinite, overflowing s16.15): the same currents, or the same error, as the simulator path', async () => {
    const B = 8;
    const data = loadDataset('../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz', '../shared/fixtures/data/mnist/t10k-labels-idx1-ubyte.gz', { start: 0, end: B });
    for (const [numerics, file] of [['loihi', 'examples/mnist-cnn/model.json'], ['spinnaker', 'examples/mnist-cnn/model-spinnaker.json']] as const) {
      const { manifest: m } = compileGpu(readModelJson(file), { numerics, batch: B });
      const n = m.numerics!;
      const certified = (await CertifiedEncoder.open(ort, hostEncoder(n.host!.encoder, 'manifest.json', m.inputShape), B, 'node'))!;
      const outcome = (p: Promise<{ data: ArrayLike<number> }>) => p.then((r) => Array.from(r.data), (e: Error) => e.message);
      for (const odd of [Number.NaN, Number.POSITIVE_INFINITY, 1e9]) {
        const raw = Float32Array.from(data.x);
        raw[300] = odd; // a pixel of the first image
        const [reference, fast] = [await outcome(chipInput(m, n, raw, 0)), await outcome(chipInput(m, n, raw, 0, certified))];
        expect(fast).toEqual(reference);
        if (numerics === 'spinnaker') expect(reference).toMatch(/overflows s16\.15/);
      }
      await certified.close();
    }
  });

  it('the MNIST CNN examples\' encoders: the same graph input as the simulator gives, on onnxruntime-node (256 test images) and -web (64)', async () => {
    const B = 64;
    const data = loadDataset('../shared/fixtures/data/mnist/t10k-images-idx3-ubyte.gz', '../shared/fixtures/data/mnist/t10k-labels-idx1-ubyte.gz', { start: 0, end: 256 });
    const web = (await import('onnxruntime-web')) as unknown as typeof ort;
    for (const [numerics, file] of [['loihi', 'examples/mnist-cnn/model.json'], ['spinnaker', 'examples/mnist-cnn/model-spinnaker.json']] as const) {
      const { manifest: m } = compileGpu(readModelJson(file), { numerics, batch: B });
      const n = m.numerics!;
      for (const [backend, runtime, images] of [['node', ort, 256], ['web', web, 64]] as const) {
        const certified = (await CertifiedEncoder.open(runtime, hostEncoder(n.host!.encoder, 'manifest.json', m.inputShape), B, backend))!;
        expect(certified).toBeDefined();
        for (let start = 0; start < images; start += B) {
          const raw = data.x.subarray(start * 784, (start + B) * 784);
          const [reference, fast] = [await chipInput(m, n, raw, start), await chipInput(m, n, raw, start, certified)];
          expect(fast.data).toEqual(reference.data);
        }
        await certified.close();
      }
    }
  });
});
