/**
 * `--target gpu --numerics loihi`: the Loihi target's integer arithmetic in ONNX. Against lava-dl's own
 * ground truths (oxford: spikes and currents over 2000 steps; tinynet: conv, stride 2, staggered reset
 * every 17 steps) and against the bit-accurate emulator (every population's spikes, u and v, and the
 * decoded output) on the MNIST CNN and on random networks of every construct the quantiser maps (IF,
 * LIF, CUBA-LIF, recurrence, delays that align residual paths, max-pool joins, host-fed direct input,
 * rate and event input), on onnxruntime-node and onnxruntime-web (wasm). 0 mismatches everywhere.
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
import { cubaRecurrent, lifRecurrent, mlp, randomInput, randomTensor, residual, rng } from '../helpers/models.js';
import { snncErrorMessage } from '../helpers/errors.js';

const LAVA = '../shared/fixtures/lava';

/** Runs the integer ONNX of `model` on n samples with every population probed. */
async function runOnnx(model: SnnModel, x: Float32Array, n: number, options: { resetInterval?: number; backend?: 'node' | 'web' } = {}): Promise<RunResult> {
  const { onnx, manifest } = compileGpu(model, { numerics: 'loihi', probes: 'all', batch: Math.min(n, 4), resetInterval: options.resetInterval });
  const runner = await OrtRunner.fromBytes(manifest, onnx, { backend: options.backend });
  try {
    return await runner.run(x, n);
  } finally {
    await runner.close();
  }
}

/** Mismatches of spikes, u and v per population, and whether the decoded outputs are identical. */
async function againstEmulator(model: SnnModel, x: Float32Array, n: number, backend: 'node' | 'web' = 'node') {
  const compiled = compileLoihi(model, { chips: 1e6 });
  const pops = compiled.network.populations.filter((p) => p.profile.spiking).map((p) => p.name);
  const emu = new LoihiEmulator(compiled).run(x, n, { probes: pops, states: pops });
  const onnx = await runOnnx(model, x, n, { backend });
  const count = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => m + (v !== b[i] ? 1 : 0), 0);
  const layers = pops.map((p) => ({
    layer: p,
    spikes: count(onnx.spikes.get(p)!, emu.spikes.get(p)!),
    u: count(onnx.states!.get(p)!.u, emu.states.get(p)!.u),
    v: count(onnx.states!.get(p)!.v, emu.states.get(p)!.v),
  }));
  const fired = pops.reduce((s, p) => s + emu.spikes.get(p)!.reduce((a, b) => a + b, 0), 0);
  return { layers, outputsEqual: Buffer.from(onnx.output.buffer).equals(Buffer.from(emu.output.buffer)), fired };
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

const FAMILIES: Record<string, { make: (seed: number) => SnnModel; size: number }> = {
  'mlp (IF, rate)': { make: (s) => mlp(s), size: 20 },
  'recurrent LIF (events, mean_membrane readout)': { make: (s) => lifRecurrent(s), size: 12 * 9 },
  'recurrent CUBA-LIF with bias (rate)': { make: (s) => cubaRecurrent(s), size: 10 },
  'residual IF with a delayed skip (events)': { make: (s) => ({ ...residual(s), input: { ...residual(s).input, encoding: { type: 'events' } as Encoding } }), size: 16 * 10 },
  'conv → max-pool join → LIF → CUBA-LIF (host-fed direct input)': { make: (s) => pooledConv(s), size: 72 },
};

describe('integer ONNX = the Loihi emulator (spikes, u, v of every population; decoded outputs identical)', () => {
  it('the MNIST CNN example on 8 test-set-like images, onnxruntime-node and -web', async () => {
    const model = readModelJson('examples/mnist-cnn/model.json');
    const x = Float32Array.from(randomInput(5, 8 * 784, 1), (v) => Math.round(v * 255));
    for (const backend of ['node', 'web'] as const) {
      const r = await againstEmulator(model, x, 8, backend);
      expect(r.layers).toEqual(exact(r.layers));
      expect(r.outputsEqual).toBe(true);
      expect(r.fired).toBeGreaterThan(1000);
    }
  }, 60_000);

  for (const [name, { make, size }] of Object.entries(FAMILIES)) {
    it(`random ${name}`, async () => {
      let fired = 0;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), async (seed, inputSeed) => {
          const events = make(seed).input.encoding.type === 'events';
          const x = Float32Array.from(randomInput(inputSeed, 3 * size, 1), (v) => (events ? (v > 0.6 ? 1 : 0) : make(seed).input.encoding.type === 'direct' ? Math.round(255 * v) : v));
          const r = await againstEmulator(make(seed), x, 3);
          expect(r.layers).toEqual(exact(r.layers));
          expect(r.outputsEqual).toBe(true);
          fired += r.fired;
        }),
        { numRuns: 8, seed: 11 },
      );
      expect(fired).toBeGreaterThan(50); // not vacuous
    }, 60_000);
  }

  it('refuses what it cannot run, by name', () => {
    const model = readModelJson('examples/mnist-cnn/model.json');
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'loihi', schedule: 'step' }))).toMatch(/--numerics loihi is compiled layerwise/);
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'loihi', chip: 'loihi1' }))).toMatch(/layer "if1": reset "subtract" needs a Loihi 2 microcode neuron/);
    expect(snncErrorMessage(() => compileGpu(model, { numerics: 'spinnaker' }))).toMatch(/--numerics must be one of float, loihi/);
  });
});
