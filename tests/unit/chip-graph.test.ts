/**
 * What the chip targets (loihi, spinnaker) now take through targets/common/chip-graph.ts and
 * synaptic-terms.ts: average and sum pools of spikes read by a dense or conv (folded by foldPool),
 * identity residual shortcuts (one-to-one synapses, delayed to line the paths up), and a synaptic bias
 * into a decaying current (fed by an always-on neuron, compiler/passes/current-bias.ts). On Loihi's grid
 * the emulator equals the float simulator with 0 spike mismatches (properties); the NIR paper's Sinabs
 * CNN and Braille RNN (with biases) and the PyTorch-exported ResNet miniature, converted, compile to both
 * chips; what cannot map is refused by name.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import { readNir } from '../../compiler/frontends/nir/read.js';
import { readOnnx } from '../../compiler/frontends/onnx/read.js';
import { readArray } from '../../compiler/io/datasets.js';
import { binEvents, parseNmnistBin } from '../../compiler/io/events.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { inferShapes } from '../../compiler/ir/shapes.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { calibrateAnn, convertCalibrated } from '../../compiler/passes/conversion.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { chipGraph } from '../../targets/common/chip-graph.js';
import { diffLoihi } from '../../targets/loihi/diff.js';
import { compileLoihi } from '../../targets/loihi/index.js';
import { diffSpinnaker } from '../../targets/spinnaker/diff.js';
import { compileSpinnaker } from '../../targets/spinnaker/index.js';
import { snncErrorMessage } from '../helpers/errors.js';

const NIR = '../shared/fixtures/nir';

/** m/64 for each m: on Loihi's grid at weight scale 64 (the model says so in metadata.fixedPoint). */
const grid = (shape: number[], ms: readonly number[], step = 1) => tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (step * ms[i % ms.length]) / 64));

function gridNet(name: string, shape: number[], layers: L.Layer[], T: number): SnnModel {
  return {
    name,
    input: { shape, encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers,
    output: { layer: layers.at(-1)!.name, decoding: 'spike_count' },
    timesteps: T,
    dt: 1e-3,
    metadata: { fixedPoint: { format: 'loihi', weightScale: 64 } },
  };
}

/** 0/1 events for n samples, from a bit pattern. */
const events = (model: SnnModel, n: number, bits: readonly boolean[]) =>
  Float32Array.from({ length: n * model.timesteps * model.input.shape.reduce((a, b) => a * b, 1) }, (_, i) => (bits[(i * 7) % bits.length] !== bits[i % bits.length] ? 1 : 0));

/** diffLoihi's per-layer mismatches (all must be 0) and the float spikes seen. */
function expectExact(model: SnnModel, x: Float32Array, n: number): number {
  const diff = diffLoihi(model, x, n);
  for (const l of diff.layers) expect({ layer: l.layer, mismatches: l.mismatches }).toEqual({ layer: l.layer, mismatches: 0 });
  expect(diff.agreeing).toBe(n);
  return diff.layers.reduce((s, l) => s + l.floatSpikes, 0);
}

describe('pools of spikes into a dense or conv on Loihi (property, on the grid)', () => {
  const shape = fc.record({
    size: fc.integer({ min: 4, max: 6 }),
    channels: fc.integer({ min: 2, max: 3 }),
    kp: fc.integer({ min: 1, max: 2 }),
    sp: fc.integer({ min: 1, max: 2 }),
    pp: fc.integer({ min: 0, max: 1 }),
    sum: fc.boolean(),
    head: fc.constantFrom('dense', 'conv'),
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 2 }),
    pad: fc.integer({ min: 0, max: 1 }),
    reset: fc.constantFrom('zero' as const, 'subtract' as const),
  });
  const ints = (max: number) => fc.array(fc.integer({ min: -max, max }), { minLength: 1, maxLength: 60 });

  it('IF → avg or sum pool (any stride, padding) → flatten → dense or → conv → IF: 0 spike mismatches', () => {
    let spikes = 0;
    let refused = 0;
    fc.assert(
      fc.property(shape, ints(64), ints(31), fc.integer({ min: 0, max: 63 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), (g, w1, w2, v0, bits) => {
        const kk = g.kp * g.kp;
        const pp = Math.min(g.pp, g.kp - 1);
        const layers: L.Layer[] = [
          L.conv2d({ name: 'c', inputs: [INPUT], weight: grid([g.channels, 2, 3, 3], w1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
          L.ifNeuron({ name: 'n1', inputs: ['c'], threshold: 1, reset: g.reset, v0: v0 / 64 }),
          L.avgpool2d({ name: 'p', inputs: ['n1'], kernel: [g.kp, g.kp], stride: [g.sp, g.sp], padding: [pp, pp, pp, pp] }),
        ];
        if (g.sum) layers.push(L.batchNorm({ name: 's', inputs: ['p'], scale: tensor([g.channels], new Float32Array(g.channels).fill(kk)), shift: tensor([g.channels], new Float32Array(g.channels)) }));
        const src = layers.at(-1)!.name;
        const [C, n] = inferShapes(gridNet('x', [2, g.size, g.size], layers, 1)).get(src)!;
        // Each window adds W/kk (average) or W (sum) to its members: the folded weight stays on the grid
        // (dense weights even: mixed-sign Dense weights lose their LSB on the chip).
        const unit = g.sum ? 1 : kk;
        if (g.head === 'dense') {
          layers.push(L.flatten({ name: 'f', inputs: [src] }), L.dense({ name: 'b', inputs: ['f'], weight: grid([4, C * n * n], w2, 2 * unit) }));
        } else {
          const k = Math.min(g.k, n);
          const pad = Math.min(g.pad, k - 1);
          layers.push(L.conv2d({ name: 'b', inputs: [src], weight: grid([3, C, k, k], w2, 2 * unit), stride: [g.s, g.s], padding: [pad, pad, pad, pad], groups: 1 }));
        }
        layers.push(L.ifNeuron({ name: 'n2', inputs: ['b'], threshold: 1, reset: 'zero', v0: 0 }));
        const model = gridNet('pools', [2, g.size, g.size], layers, 10);
        try {
          spikes += expectExact(model, events(model, 2, bits), 2);
        } catch (e) {
          if (!(e instanceof SnncError)) throw e;
          // Only a conv whose padding would see pooled pixels is refused, by name and reason.
          expect(e.message).toMatch(new RegExp(`^layer "b": its input "${src}" is not spikes .*Loihi synapses carry spikes only, and conv "b" .* reads avgpool2d "p": the conv's zero padding covers pooled positions`));
          refused++;
        }
      }),
      { numRuns: 30, seed: 19 },
    );
    expect(refused).toBeLessThan(8);
    expect(spikes).toBeGreaterThan(500); // not vacuous
  });
});

describe('identity residual shortcuts', () => {
  /** n1 → 2 synaptic layers → add(·, c·n1) → n3: the shortcut skips two layers (a delay of 1 on Loihi). */
  function residual(conv: boolean, w: readonly number[], c: number, reset: L.ResetMode): SnnModel {
    const syn = (name: string, input: string, k: number): L.Layer =>
      conv
        ? L.conv2d({ name, inputs: [input], weight: grid([3, 3, 3, 3], w.map((m, i) => m * ((i + k) % 3 === 0 ? -1 : 1))), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 })
        : L.dense({ name, inputs: [input], weight: grid([8, 8], w.map((m, i) => m * ((i + k) % 3 === 0 ? -1 : 1)), 2) });
    const first = conv ? L.conv2d({ name: 'c0', inputs: [INPUT], weight: grid([3, 2, 3, 3], w), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }) : L.dense({ name: 'c0', inputs: [INPUT], weight: grid([8, 8], w, 2) });
    return gridNet('residual', conv ? [2, 4, 4] : [8], [
      first,
      L.ifNeuron({ name: 'n1', inputs: ['c0'], threshold: 1, reset, v0: 0 }),
      syn('c1', 'n1', 1),
      L.ifNeuron({ name: 'n2', inputs: ['c1'], threshold: 1, reset, v0: 0 }),
      syn('c2', 'n2', 2),
      L.add({ name: 'sum', inputs: ['c2', 'n1'], coefficients: [1, c] }),
      L.ifNeuron({ name: 'n3', inputs: ['sum'], threshold: 1, reset, v0: 0 }),
    ], 12);
  }

  it('dense and conv blocks on Loihi: a one-to-one projection from n1, delayed 1 step; 0 spike mismatches (property)', () => {
    let spikes = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.integer({ min: -48, max: 64 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: -64, max: 96 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), (conv, w, c, bits) => {
        const model = residual(conv, w, c / 64, 'subtract');
        const shortcut = compileLoihi(model).network.projections.find((p) => p.name === 'n3.n1')!;
        expect({ source: shortcut.source, delay: shortcut.delay, kind: shortcut.geometry.kind }).toEqual({ source: 'n1', delay: 1, kind: 'conv' });
        spikes += expectExact(model, events(model, 2, bits), 2);
      }),
      { numRuns: 20, seed: 23 },
    );
    expect(spikes).toBeGreaterThan(500);
  });

  it('on SpiNNaker the shortcut is a one-to-one projection whose delay (2) lines it up with the two-synapse path', () => {
    const model = residual(true, [20, -7, 33, 5, -12, 41], 0.75, 'zero');
    const net = compileSpinnaker(model).network;
    const shortcut = net.projections.find((p) => p.name === 'n3.n1')!;
    expect({ source: shortcut.source, delay: shortcut.delay, weights: shortcut.weights.length }).toEqual({ source: 'n1', delay: 2, weights: 3 });
    expect(net.projections.find((p) => p.name === 'c2')!.delay).toBe(1);
  });
});

describe('a synaptic bias into a decaying current (CUBA-LIF, α ≠ 0)', () => {
  /**
   * Events → dense (bias) → CUBA-LIF (α = 1/2, θ = 4) → dense (bias) → CUBA-LIF over 6 steps, weights and
   * biases multiples of 1/2 (32 Loihi units): u halves at most 5 times and stays a multiple of 64, so v
   * does too and Loihi's strict threshold equals the IR's.
   */
  function cuba(w: readonly number[], b: readonly number[]): SnnModel {
    const neuron = { threshold: 4, reset: 'zero' as const, v0: 0, alpha: 0.5, beta: 1 };
    return gridNet('cuba', [6], [
      L.dense({ name: 'fc1', inputs: [INPUT], weight: grid([5, 6], w, 32), bias: grid([5], b, 32) }),
      L.cubaLifNeuron({ name: 'n1', inputs: ['fc1'], ...neuron }),
      L.dense({ name: 'fc2', inputs: ['n1'], weight: grid([3, 5], w.map((m) => -m), 32), bias: grid([3], b.map((m) => -m), 32) }),
      L.cubaLifNeuron({ name: 'n2', inputs: ['fc2'], ...neuron }),
    ], 6);
  }

  it('becomes a dense from one always-on IF neuron added into the current; the biases leave fc1 and fc2', () => {
    const model = cuba([3, -1, 5], [1, -2]);
    const g = chipGraph(model, 'Loihi');
    expect(g.layers.map((l) => `${l.name}:${l.op}<-${l.inputs.join(',')}`)).toEqual([
      'fc1:dense<-input',
      'always_on.in:dense<-input',
      'always_on:neuron<-always_on.in',
      'n1.bias:dense<-always_on',
      'n1.current:add<-fc1,n1.bias',
      'n1:neuron<-n1.current',
      'fc2:dense<-n1',
      'n2.bias:dense<-always_on',
      'n2.current:add<-fc2,n2.bias',
      'n2:neuron<-n2.current',
    ]);
    const layer = (name: string) => g.layers.find((l) => l.name === name) as L.Dense;
    expect([layer('fc1').bias, layer('fc2').bias]).toEqual([undefined, undefined]);
    expect(layer('n1.bias').weight).toEqual(tensor([5, 1], (model.layers[0] as L.Dense).bias!.data));
    // The always-on neuron spikes at every step, so the float model computes the same spikes.
    const x = events(model, 3, [true, false, false, true, true]);
    const before = simulate(model, x, 3, { probes: ['n1', 'n2'] }).spikes;
    const after = simulate(g, x, 3, { probes: ['n1', 'n2', 'always_on'] }).spikes;
    expect([after.get('n1'), after.get('n2')]).toEqual([before.get('n1'), before.get('n2')]);
    expect(after.get('always_on')!.every((s) => s === 1)).toBe(true);
  });

  it('a conv layer gets it through a reshape; the always-on neuron reads one input pixel per channel; both chips compile it', () => {
    const model = gridNet('conv_cuba', [2, 5, 5], [
      L.conv2d({ name: 'c', inputs: [INPUT], weight: grid([3, 2, 3, 3], [5, -3, 7], 32), bias: grid([3], [1, -1, 2], 32), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
      L.cubaLifNeuron({ name: 'n', inputs: ['c'], threshold: 4, reset: 'zero', v0: 0, alpha: 0.5, beta: 1 }),
    ], 6);
    const g = chipGraph(model, 'SpiNNaker');
    expect(g.layers.map((l) => `${l.name}:${l.op}<-${l.inputs.join(',')}`)).toEqual([
      'c:conv2d<-input',
      'always_on.in:conv2d<-input',
      'always_on:neuron<-always_on.in',
      'always_on.flat:flatten<-always_on',
      'n.bias:dense<-always_on.flat',
      'n.bias_grid:reshape<-n.bias',
      'n.current:add<-c,n.bias_grid',
      'n:neuron<-n.current',
    ]);
    expect((g.layers[1] as L.Conv2d).stride).toEqual([5, 5]);
    expect(compileSpinnaker(model).network.populations.map((p) => `${p.name}@${p.depth}`)).toEqual(['input@0', 'always_on@1', 'n@2']);
    expect(expectExact(model, events(model, 2, [true, false, true, true, false, false]), 2)).toBeGreaterThan(20);
  });

  it('on Loihi’s grid: 0 spike mismatches (property); the refusal when the biased layer has another reader', () => {
    let spikes = 0;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -6, max: 7 }), { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: -4, max: 6 }), { minLength: 1, maxLength: 5 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), (w, b, bits) => {
        const model = cuba(w, b);
        spikes += expectExact(model, events(model, 2, bits), 2);
      }),
      { numRuns: 20, seed: 29 },
    );
    expect(spikes).toBeGreaterThan(100);
    const shared = cuba([3, -1, 5], [1, -2]);
    const fc1 = shared.layers[0] as L.Dense;
    const extra = [L.dense({ name: 'fc3', inputs: ['n2'], weight: grid([5, 3], [64]) }), L.add({ name: 'both', inputs: ['fc1', 'fc3'] }), L.ifNeuron({ name: 'n3', inputs: ['both'], threshold: 1, reset: 'zero', v0: 0 })];
    const model = { ...shared, layers: [...shared.layers, ...extra], output: { layer: 'n3', decoding: 'spike_count' as const } };
    expect(fc1.bias).toBeDefined();
    expect(snncErrorMessage(() => compileLoihi(model))).toMatch(/^layer "n1": a synaptic bias into a neuron with current decay α=0.5 > 0: Loihi adds a constant to the membrane, not to the decaying current, and no always-on neuron can feed it here \(a biased layer also feeds other layers/);
  });
});

describe('fixtures on both chips', () => {
  it('NIR paper CNN (Sinabs: sum pools into a conv and into flatten → dense) compiles to loihi and spinnaker', async () => {
    const { model } = await readNir(`${NIR}/paper/02_cnn/cnn_sinabs.nir`, { timesteps: 12 });
    const g = chipGraph(model, 'Loihi');
    const conv = g.layers.find((l) => l.name === 'n5') as L.Conv2d;
    expect({ w: conv.weight.shape, stride: conv.stride, padding: conv.padding, input: conv.inputs[0] }).toEqual({ w: [8, 16, 6, 6], stride: [2, 2], padding: [2, 2, 2, 2], input: 'n3' });
    expect((g.layers.find((l) => l.name === 'n9') as L.Dense).weight.shape).toEqual([256, 512]); // 4× the 256 × 128 dense
    const loihi = compileLoihi(model);
    expect(loihi.network.populations.map((p) => p.name)).toEqual(['n1', 'n3', 'n6', 'n10', 'n12']);
    expect(loihi.partition.chips).toBe(1);
    const spinnaker = compileSpinnaker(model);
    expect(spinnaker.descriptor.totals.neurons).toBe(16 * 16 * 16 * 2 + 8 * 8 * 8 + 256 + 10); // the 5 neuron layers
  });

  it('the NIR CNN classifies the N-MNIST sample as the float simulator does on both chips (reset zero, as the file)', async () => {
    const ev = parseNmnistBin(new Uint8Array(readFileSync('../shared/fixtures/data/nmnist/sample_nmnist.bin')), 'sample_nmnist.bin');
    const T = Math.ceil((Math.max(...ev.t) + 1) / 1000);
    const frames = binEvents(ev, 34, 34, 1000, T).map((v) => Math.min(v, 1)); // Loihi's inputs are binary spikes
    const { model } = await readNir(`${NIR}/paper/02_cnn/cnn_sinabs.nir`, { timesteps: T });
    for (const diff of [diffLoihi, diffSpinnaker]) {
      const d = diff(model, frames, 1);
      expect(d.agreeing).toBe(1);
      // Measured: the layers' spike counts within 1.5 % of the float model's (the weights are rounded to the chip's).
      for (const l of d.layers) expect(Math.abs(l.emulatorSpikes - l.floatSpikes)).toBeLessThanOrEqual(Math.max(3, 0.03 * l.floatSpikes));
    }
  });

  it('NIR paper Braille RNN with biases (CuBa-LIF, α 0.55 and 0.5) compiles to loihi and spinnaker with one always-on neuron', async () => {
    const { model } = await readNir(`${NIR}/paper/03_rnn/braille_noDelay_bias_zero.nir`, {});
    const loihi = compileLoihi(model);
    expect(loihi.network.populations.map((p) => `${p.name}@${p.depth}`)).toEqual(['always_on@1', 'lif1.lif@2', 'lif2@3']);
    const spinnaker = compileSpinnaker(model);
    expect(spinnaker.network.populations.map((p) => p.name)).toEqual(['input', 'always_on', 'lif1.lif', 'lif2']);
  });

  /** A tests/fixtures/pytorch miniature converted (max normalisation on its 4 inputs, T = 32) with the given reset and max-pool policy. */
  function converted(name: string, maxpool: 'auto' | 'avg'): (reset: L.ResetMode) => SnnModel {
    const ann = readOnnx(`tests/fixtures/pytorch/${name}_op17.onnx`);
    const x = readArray(`tests/fixtures/pytorch/${name}_inputs.npy`);
    const c = calibrateAnn(ann, { x: x.data, n: x.shape[0], sampleShape: [3, 32, 32], offset: 0 }, { norm: 'max', maxpool });
    return (reset) => convertCalibrated(c, { norm: 'max', v0: 'half', maxpool, timesteps: 32, reset }).snn;
  }

  it('the PyTorch-exported ResNet miniature, converted, compiles to loihi (subtract reset) and spinnaker (reset zero): identity shortcuts delayed', () => {
    const convert = converted('resnet_mini', 'auto');
    const loihi = compileLoihi(convert('subtract'));
    const shortcut = loihi.network.projections.find((p) => p.name === '_layer1_layer1.0_relu_1_Relu._relu_Relu')!;
    expect({ source: shortcut.source, delay: shortcut.delay }).toEqual({ source: '_relu_Relu', delay: 1 }); // the identity shortcut of the first block
    expect(loihi.network.populations.at(-1)!.name).toBe('_fc_Gemm'); // global average pool → flatten → fc folded into the readout
    expect(loihi.partition.chips).toBe(1);
    const spinnaker = compileSpinnaker(convert('zero'));
    expect(spinnaker.network.projections.find((p) => p.name === '_layer1_layer1.0_relu_1_Relu._relu_Relu')!.delay).toBe(2);
    expect(spinnaker.descriptor.totals.chips).toBe(1);
  });

  it('MobileNetV2 and VGG miniatures (VGG with average pools) compile to both chips; a gated max-pool is refused with what to do', () => {
    for (const [name, maxpool] of [['mobilenet_v2_mini', 'auto'], ['vgg_mini', 'avg']] as const) {
      const convert = converted(name, maxpool);
      // Both fit one Loihi 2 chip; on SpiNNaker (measured) MobileNetV2 takes 217 cores on 14 chips, VGG 67 on 5.
      expect(compileLoihi(convert('subtract')).partition.chips).toBe(1);
      expect(compileSpinnaker(convert('zero')).descriptor.totals.cores).toBeGreaterThan(0);
    }
    const gated = converted('vgg_mini', 'auto')('subtract');
    expect(snncErrorMessage(() => compileLoihi(gated))).toBe(
      'layer "_features_features.6_Conv": its input "_features_features.5_MaxPool" is not spikes (a neuron layer, a max-pool of spikes or a rate/event-encoded input); Loihi synapses carry spikes only (a gated max-pool counts each input\'s spikes, which synapses cannot: convert with --maxpool avg)',
    );
  });
});
