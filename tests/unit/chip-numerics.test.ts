/**
 * `--target gpu --numerics loihi|spinnaker`: the chip targets' integer arithmetic in ONNX. Loihi: against
 * lava-dl's own ground truths (oxford: spikes and currents over 2000 steps; tinynet: conv, stride 2,
 * staggered reset every 17 steps); SpiNNaker: against spinnaker.md's §8 vectors (V and I_exc per step,
 * refractory spikes). Both against their bit-accurate emulators (every population's spikes and recorded
 * states, and the decoded output) on the MNIST CNN examples and on random networks of every construct
 * the quantisers map (IF, LIF, CUBA-LIF, recurrence, delays that align residual paths, max-pool joins or
 * OR populations, host-fed direct input, readouts, rate and event input), on onnxruntime-node and
 * onnxruntime-web (wasm). 0 mismatches everywhere. And the shortcuts the lowerings take on the MNIST
 * examples (cropped and fused convolutions, pooling as AveragePool), so that a change that drops one shows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/frontends/index.js';
import { readArray } from '../../compiler/io/datasets.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type Encoding, type SnnModel } from '../../compiler/ir/model.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { OrtRunner, type RunResult } from '../../runtime/ort-runner.js';
import { compileGpu } from '../../targets/gpu/index.js';
import { LoihiEmulator } from '../../targets/loihi/emulator.js';
import { compileLoihi } from '../../targets/loihi/index.js';
import * as ort from 'onnxruntime-node';
import onnxPkg from 'onnx-proto';
import { encodeModel } from '../../targets/common/onnx-builder.js';
import { SpinnakerEmulator } from '../../targets/spinnaker/emulator.js';
import { toS1615 } from '../../targets/spinnaker/fixed-point.js';
import { compileSpinnaker } from '../../targets/spinnaker/index.js';
import { lowerSpinnakerToOnnx, slotSumBounds } from '../../targets/spinnaker/onnx.js';
import type { SpinnakerNetwork } from '../../targets/spinnaker/quantise.js';
import { cubaRecurrent, lifRecurrent, mlp, randomInput, randomTensor, residual, rng } from '../helpers/models.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { ONE_SPIKE_V_IEXC, REFRACTORY, oneNeuron } from '../helpers/spinnaker-vectors.js';

const LAVA = '../shared/fixtures/lava';
const onnx = onnxPkg.onnx;

type Chip = 'loihi' | 'spinnaker';

/**
 * Runs the integer ONNX of `model` on n samples with every population probed (or none: then each
 * population's later steps that reach no output are not computed).
 */
async function runOnnx(model: SnnModel, x: Float32Array, n: number, options: { chip?: Chip; resetInterval?: number; backend?: 'node' | 'web'; probes?: 'all' | 'none' } = {}): Promise<RunResult> {
  const probes = options.probes === 'none' ? {} : { probes: 'all' as const };
  const { onnx, manifest } = compileGpu(model, { numerics: options.chip ?? 'loihi', ...probes, batch: Math.min(n, 4), resetInterval: options.resetInterval });
  const runner = await OrtRunner.fromBytes(manifest, onnx, { backend: options.backend });
  try {
    return await runner.run(x, n);
  } finally {
    await runner.close();
  }
}

/** The chip's emulator on the same input: output, and per probed (spiking) population its spikes and the two states it records. */
function emulate(chip: Chip, model: SnnModel, x: Float32Array, n: number) {
  if (chip === 'loihi') {
    const compiled = compileLoihi(model, { chips: 1e6 });
    const pops = compiled.network.populations.filter((p) => p.profile.spiking).map((p) => p.name);
    const r = new LoihiEmulator(compiled).run(x, n, { probes: pops, states: pops });
    return { output: r.output, pops: pops.map((p) => ({ layer: p, spikes: r.spikes.get(p)!, u: r.states.get(p)!.u, v: r.states.get(p)!.v })) };
  }
  const compiled = compileSpinnaker(model, { machine: '20x20-boards' });
  const pops = compiled.network.populations.filter((p) => p.role === 'neuron' || p.role === 'or').map((p) => p.name);
  const r = new SpinnakerEmulator(compiled).run(x, n, { probes: pops, voltages: pops });
  return { output: r.output, pops: pops.map((p) => ({ layer: p, spikes: r.spikes.get(p)!, u: r.excCurrents.get(p)!, v: r.voltages.get(p)! })) };
}

/** Mismatches of spikes, u and v per population, and whether the decoded outputs (probed and not) are identical. */
async function againstEmulator(chip: Chip, model: SnnModel, x: Float32Array, n: number, backend: 'node' | 'web' = 'node') {
  const emu = emulate(chip, model, x, n);
  const onnx = await runOnnx(model, x, n, { chip, backend });
  const count = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => m + (v !== b[i] ? 1 : 0), 0);
  const layers = emu.pops.map((p) => ({
    layer: p.layer,
    spikes: count(onnx.spikes.get(p.layer)!, p.spikes),
    u: count(onnx.states!.get(p.layer)!.u, p.u),
    v: count(onnx.states!.get(p.layer)!.v, p.v),
  }));
  const fired = emu.pops.reduce((s, p) => s + p.spikes.reduce((a, b) => a + b, 0), 0);
  const unprobed = await runOnnx(model, x, n, { chip, backend, probes: 'none' });
  const equal = (y: Float32Array) => Buffer.from(y.buffer).equals(Buffer.from(emu.output.buffer));
  return { layers, outputsEqual: equal(onnx.output) && equal(unprobed.output), fired };
}

const exact = (layers: { layer: string }[]) => layers.map((l) => ({ layer: l.layer, spikes: 0, u: 0, v: 0 }));

describe('lava-dl ground truths through integer ONNX (0 mismatches)', () => {
  it('oxford .net: layer 0 spikes and currents over 2000 steps, and layer 1 spikes', async () => {
    const model = await loadModel(`${LAVA}/oxford/network.net`, { netx: { timesteps: 2000 } });
    const raster = readArray(`${LAVA}/lif_dense_oxford_layer0/in.npy`); // [200, 2000], column k = step k+1
    const T = 2000;
    const x = new Float32Array(T * 200);
    for (let i = 0; i < 200; i++) for (let t = 0; t < T; t++) x[t * 200 + i] = raster.data[i * T + t];
    const r = await runOnnx(model, x, 1);
    const out = readArray(`${LAVA}/lif_dense_oxford_layer0/out.npy`).data;
    const current = readArray(`${LAVA}/lif_dense_oxford_layer0/current.npy`).data;
    const gt1 = readArray(`${LAVA}/oxford/DERIVED_lava_bitacc_output_layer1.npy`).data;
    const [s0, u0, s1] = [r.spikes.get('layer0')!, r.states!.get('layer0')!.u, r.spikes.get('layer1')!];
    let [spikeMismatch, currentMismatch, mismatch1, spikes0, spikes1] = [0, 0, 0, 0, 0];
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < 256; o++) {
        spikes0 += s0[t * 256 + o];
        if (s0[t * 256 + o] !== out[o * T + t]) spikeMismatch++;
        if (u0[t * 256 + o] !== current[o * T + t] * 64) currentMismatch++;
      }
      for (let o = 0; o < 200; o++) {
        spikes1 += s1[t * 200 + o];
        if (s1[t * 200 + o] !== Number(gt1[o * T + t])) mismatch1++;
      }
    }
    expect({ spikeMismatch, currentMismatch, spikes0, mismatch1, spikes1 }).toEqual({ spikeMismatch: 0, currentMismatch: 0, spikes0: 1826, mismatch1: 0, spikes1: 9565 });
  }, 60_000);

  it('tinynet .net (conv, stride 2, staggered reset every 17 steps, host-fed input): output spikes of steps 3…17', async () => {
    const model = await loadModel(`${LAVA}/tinynet/tiny.net`);
    const bias = readArray(`${LAVA}/tinynet/input_bias.npy`); // (W, H, C) bias mantissas of the input layer
    const [W, H, C] = bias.shape;
    const x = new Float32Array(C * H * W);
    for (let w = 0; w < W; w++) for (let h = 0; h < H; h++) for (let ch = 0; ch < C; ch++) x[(ch * H + h) * W + w] = bias.data[(w * H + h) * C + ch] / 64;
    const r = await runOnnx(model, x, 1, { resetInterval: 17 });
    const gt = readArray(`${LAVA}/tinynet/output.npy`).data; // slayer (1, 36, 1, 1, 16)
    const s = r.spikes.get('layer2')!;
    let [mismatches, spikes] = [0, 0];
    for (let ch = 0; ch < 36; ch++) {
      for (let t = 3; t <= 17; t++) {
        spikes += s[(t - 1) * 36 + ch];
        if (s[(t - 1) * 36 + ch] !== Number(gt[ch * 16 + (t - 2)])) mismatches++;
      }
    }
    expect({ mismatches, spikes }).toEqual({ mismatches: 0, spikes: 92 });
  });
});

/** conv (with bias) → max-pool join → LIF → flatten → dense → CUBA-LIF, fed by the host (direct input). */
function pooledConv(seed: number): SnnModel {
  const r = rng(seed);
  return {
    name: 'pooled',
    input: { shape: [2, 6, 6], encoding: { type: 'direct' }, preprocess: { scale: 1 / 255, mean: [0.2, 0.1], std: [0.5, 0.4] } },
    layers: [
      L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [4, 2, 3, 3], 0.5, 0.05), bias: randomTensor(r, [4], 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
      L.maxpool2d({ name: 'p', inputs: ['c'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
      L.lifNeuron({ name: 'n1', inputs: ['p'], threshold: 1, reset: 'subtract', v0: 0.25, beta: 0.9 }),
      L.flatten({ name: 'f', inputs: ['n1'] }),
      L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [5, 36], 0.6, 0.08) }),
      L.cubaLifNeuron({ name: 'n2', inputs: ['d'], threshold: 1, reset: 'zero', v0: 0, alpha: 0.7, beta: 0.95 }),
    ],
    output: { layer: 'n2', decoding: 'spike_count' },
    timesteps: 10,
    dt: 1e-3,
    metadata: {},
  };
}

/**
 * Event input → conv → max-pool join over a 7×7 grid whose 2×2 windows read 6×6 (the edge no neuron
 * sees is left uncomputed) → LIF → flatten → dense → CUBA-LIF.
 */
function eventPooledConv(seed: number): SnnModel {
  const r = rng(seed);
  const base = pooledConv(seed);
  return {
    ...base,
    name: 'event_pooled',
    input: { shape: [2, 7, 7], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0, 0], std: [1, 1] } },
    layers: [
      L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [4, 2, 3, 3], 0.7, 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
      L.maxpool2d({ name: 'p', inputs: ['c'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
      L.lifNeuron({ name: 'n1', inputs: ['p'], threshold: 1, reset: 'subtract', v0: 0.25, beta: 0.9 }),
      ...base.layers.slice(3),
    ],
  };
}

type Family = Record<string, { make: (seed: number) => SnnModel; size: number }>;

const LOIHI_FAMILIES: Family = {
  'mlp (IF, rate)': { make: (s) => mlp(s), size: 20 },
  'recurrent LIF (events, mean_membrane readout)': { make: (s) => lifRecurrent(s), size: 12 * 9 },
  'recurrent CUBA-LIF with bias (rate)': { make: (s) => cubaRecurrent(s), size: 10 },
  'residual IF with a delayed skip (events)': { make: (s) => ({ ...residual(s), input: { ...residual(s).input, encoding: { type: 'events' } as Encoding } }), size: 16 * 10 },
  'conv → max-pool join → LIF → CUBA-LIF (host-fed direct input)': { make: (s) => pooledConv(s), size: 72 },
  'event conv → max-pool join reading 6×6 of a 7×7 grid → LIF → CUBA-LIF': { make: (s) => eventPooledConv(s), size: 2 * 7 * 7 * 10 },
};

/** An IF network with spiking max-pool (an OR population on SpiNNaker), host-fed, read out by a synaptic layer. */
function spikePool(seed: number): SnnModel {
  const r = rng(seed);
  return {
    ...pooledConv(seed),
    name: 'spike_pool',
    layers: [
      L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [4, 2, 3, 3], 0.5, 0.05), bias: randomTensor(r, [4], 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
      L.ifNeuron({ name: 'n1', inputs: ['c'], threshold: 1, reset: 'zero', v0: 0 }),
      L.maxpool2d({ name: 'p', inputs: ['n1'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
      L.flatten({ name: 'f', inputs: ['p'] }),
      L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [5, 36], 0.6, 0.08) }),
    ],
    output: { layer: 'd', decoding: 'accumulate' },
  };
}

/** IF_curr_exp resets to v_reset: the same models with reset "zero". */
const zeroReset = (m: SnnModel): SnnModel => ({ ...m, layers: m.layers.map((l) => (L.isNeuron(l) ? { ...l, reset: 'zero' as const } : l)) });

const SPINNAKER_FAMILIES: Family = {
  'mlp (IF, rate)': { make: (s) => zeroReset(mlp(s)), size: 20 },
  'recurrent CUBA-LIF with bias (rate)': { make: (s) => zeroReset(cubaRecurrent(s)), size: 10 },
  'residual IF with a delayed skip (events)': { make: (s) => zeroReset(LOIHI_FAMILIES['residual IF with a delayed skip (events)'].make(s)), size: 16 * 10 },
  'conv → IF → spike max-pool (OR) → readout (host-fed direct input)': { make: spikePool, size: 72 },
};

/** Random inputs for a model: 0/1 events, pixel values for direct input, values in [0, 1] for rate coding. */
function inputFor(model: SnnModel, seed: number, n: number, size: number): Float32Array {
  const type = model.input.encoding.type;
  return Float32Array.from(randomInput(seed, n * size, 1), (v) => (type === 'events' ? (v > 0.6 ? 1 : 0) : type === 'direct' ? Math.round(255 * v) : v));
}

const CHIPS = [
  { chip: 'loihi' as const, example: 'examples/mnist-cnn/model.json', families: LOIHI_FAMILIES },
  { chip: 'spinnaker' as const, example: 'examples/mnist-cnn/model-spinnaker.json', families: SPINNAKER_FAMILIES },
];

for (const { chip, example, families } of CHIPS) {
  describe(`integer ONNX = the ${chip} emulator (spikes and recorded states of every population; decoded outputs identical)`, () => {
    it(`the MNIST CNN example (${example}) on 8 test-set-like images, onnxruntime-node and -web`, async () => {
      const model = readModelJson(example);
      const x = Float32Array.from(randomInput(5, 8 * 784, 1), (v) => Math.round(v * 255));
      for (const backend of ['node', 'web'] as const) {
        const r = await againstEmulator(chip, model, x, 8, backend);
        expect(r.layers).toEqual(exact(r.layers));
        expect(r.outputsEqual).toBe(true);
        expect(r.fired).toBeGreaterThan(1000);
      }
    }, 120_000);

    for (const [name, { make, size }] of Object.entries(families)) {
      it(`random ${name}`, async () => {
        let fired = 0;
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), async (seed, inputSeed) => {
            const r = await againstEmulator(chip, make(seed), inputFor(make(seed), inputSeed, 3, size), 3);
            expect(r.layers).toEqual(exact(r.layers));
            expect(r.outputsEqual).toBe(true);
            fired += r.fired;
          }),
          { numRuns: chip === 'spinnaker' ? 4 : 8, seed: 11 },
        );
        expect(fired).toBeGreaterThan(50); // not vacuous
      }, 60_000);
    }
  });
}

describe('SpiNNaker: spinnaker.md §8 vectors through integer ONNX (exact)', () => {
  /** V and I_exc per step, and the spike steps, of the one-neuron network on these input spikes. */
  async function run(net: SpinnakerNetwork, inputSpikes: number[]) {
    const { builder, io } = lowerSpinnakerToOnnx(net, { batch: 1, probes: ['n'] });
    const session = await ort.InferenceSession.create(encodeModel(builder.graph('vector', true), { opset: 17, irVersion: 8, producerVersion: 'test', docString: '', metadata: {} }));
    const x = new Uint8Array(io.steps);
    for (const t of inputSpikes) x[t] = 1;
    const r = await session.run({ [io.input.name]: new ort.Tensor('uint8', x, io.input.dims) });
    const p = io.probes[0];
    return { v: r[p.v].data as Int32Array, iExc: r[p.u].data as Int32Array, spikes: [...(r[p.spikes].data as Uint8Array)].flatMap((s, t) => (s ? [t] : [])) };
  }

  it('one input spike at t=0 (w = 1 nA, delay 1, shift 1): V and I_exc per step', async () => {
    const r = await run(oneNeuron({}, 0), [0]);
    const expected = ONE_SPIKE_V_IEXC;
    expect(expected.map(([t]) => [t, r.v[t], r.iExc[t]])).toEqual(expected);
  });

  it('i_offset = 1 nA, tau_refrac = 2 ms: V at t = 1…3, spikes at steps 27 and 57', async () => {
    const r = await run({ ...oneNeuron({ tauRefrac: toS1615(2, 'tau_refrac') }, 1), timesteps: 60 }, []);
    expect([r.v[1], r.v[2], r.v[3]]).toEqual(REFRACTORY.v1to3);
    expect(r.spikes).toEqual(REFRACTORY.spikes);
    expect(r.v[27]).toBe(REFRACTORY.v27);
  });
});

describe('SpiNNaker: the slot-sum bounds that drop saturation and wide products', () => {
  it('bound every neuron\'s sum of each synapse type with all its sources spiking, and are reached where a kernel lies inside the input', () => {
    const conv = fc.record({ C: fc.integer({ min: 1, max: 3 }), O: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 3, max: 7 }), k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 2 }), seed: fc.integer() });
    fc.assert(
      fc.property(conv, ({ C, O, H, k, s, pad, seed }) => {
        const r = rng(seed);
        const weights = Int32Array.from({ length: O * C * k * k }, () => Math.round((r() - 0.5) * 2000));
        const OH = Math.floor((H + 2 * pad - k) / s) + 1;
        const geometry = { kind: 'conv' as const, inShape: [C, H, H] as [number, number, number], outShape: [O, OH, OH] as [number, number, number], kernel: [k, k] as const, stride: [s, s] as const, padding: [pad, pad, pad, pad] as const, groups: 1 };
        const bounds = slotSumBounds([{ name: 'p', source: 'a', target: 'b', geometry, weights, delay: 1 }], O * OH * OH);
        ([1, -1] as const).forEach((sign, type) => {
          let [most, inside] = [0, false];
          for (let o = 0; o < O; o++) {
            for (let oy = 0; oy < OH; oy++) {
              for (let ox = 0; ox < OH; ox++) {
                let [sum, taps] = [0, 0]; // every input spiking: the taps that land inside the input
                for (let c = 0; c < C; c++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
                  const [iy, ix] = [oy * s - pad + ky, ox * s - pad + kx];
                  if (iy < 0 || iy >= H || ix < 0 || ix >= H) continue;
                  sum += Math.max(0, sign * weights[((o * C + c) * k + ky) * k + kx]);
                  taps++;
                }
                most = Math.max(most, sum);
                inside ||= taps === C * k * k;
              }
            }
          }
          expect(most).toBeLessThanOrEqual(bounds[type]);
          if (inside) expect(most).toBe(bounds[type]); // some window lies entirely inside the input
        });
      }),
      { numRuns: 200, seed: 3 },
    );
  });
});

describe('what the graphs compute (the MNIST CNN examples)', () => {
  /** The integer graph's top-level nodes. */
  const nodesOf = (chip: Chip, file: string) => onnx.ModelProto.decode(compileGpu(readModelJson(file), { numerics: chip, batch: 2 }).onnx).graph!.node!;
  const ints = (n: onnxPkg.onnx.INodeProto, name: string) => n.attribute!.find((a) => a.name === name)!.ints!.map(Number);

  it('Loihi: the conv into the 3×3 join computes only the 12×12 of its 14×14 grid the windows read, and is pooled right after', () => {
    const nodes = nodesOf('loihi', 'examples/mnist-cnn/model.json');
    const conv = nodes.find((n) => n.opType === 'Conv')!;
    expect(ints(conv, 'pads')).toEqual([2, 2, 0, 0]);
    expect(nodes.find((n) => n.opType === 'MaxPool')!.input).toEqual(conv.output);
  });

  it('SpiNNaker: one Conv for both synapse types of conv2; the OR populations\' uniform depthwise convolutions as AveragePools', () => {
    const nodes = nodesOf('spinnaker', 'examples/mnist-cnn/model-spinnaker.json');
    expect(nodes.filter((n) => n.opType === 'Conv').map((n) => n.name)).toEqual(['Conv_conv2_f']);
    expect(nodes.filter((n) => n.opType === 'AveragePool').map((n) => ints(n, 'kernel_shape'))).toEqual([[2, 2], [3, 3]]);
  });
});

describe('refusals', () => {

  it('refuses what it cannot run, by name', () => {
    const model = readModelJson('examples/mnist-cnn/model.json');
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'loihi', schedule: 'step' }))).toMatch(/--numerics loihi is compiled layerwise/);
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'loihi', chip: 'loihi1' }))).toMatch(/layer "if1": reset "subtract" needs a Loihi 2 microcode neuron/);
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'spinnaker' }))).toMatch(/layer "if1": reset "subtract" has no IF_curr_exp equivalent/);
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'truenorth' }))).toMatch(/--numerics must be one of float, loihi, spinnaker/);
  });
});
