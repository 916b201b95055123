/**
 * Fan-in splitting (targets/loihi/fan-in.ts): a layer reading more source neurons than a core has input
 * axons is summed by relay populations. Golden: ResNet-18's stage-4 fan-in (512·3·3 + 256) is cut into
 * relays of at most 2 048 axons each. Property (fast-check): random networks, split for a chip with a
 * tiny axon budget, run on the emulator exactly as unsplit (decoded outputs and every population's
 * spikes over its window, 0 mismatches), and split networks on Loihi's grid equal the float simulator.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { CHIPS } from '../../targets/loihi/chip.js';
import { buildDescriptor } from '../../targets/loihi/descriptor.js';
import { LoihiEmulator } from '../../targets/loihi/emulator.js';
import { splitFanIn } from '../../targets/loihi/fan-in.js';
import { neuronFanIn } from '../../targets/common/synaptic-terms.js';
import { compileLoihi, quantiseForChip } from '../../targets/loihi/index.js';
import { partitionLoihiCores } from '../../targets/loihi/partition.js';
import { mlp, randomInput, randomTensor, residual, rng } from '../helpers/models.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { snncErrorMessage } from '../helpers/errors.js';

/** events [3, 6, 6] → conv 3×3 → IF → conv 3×3 → LIF → flatten → dense → IF. */
function convNet(seed: number): SnnModel {
  const r = rng(seed);
  const neuron = { threshold: 1, reset: 'zero' as const, v0: 0 };
  return {
    name: 'conv_fan_in',
    input: { shape: [3, 6, 6], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers: [
      L.conv2d({ name: 'c1', inputs: [INPUT], weight: randomTensor(r, [4, 3, 3, 3], 0.6, 0.15), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
      L.ifNeuron({ name: 'n1', inputs: ['c1'], ...neuron }),
      L.conv2d({ name: 'c2', inputs: ['n1'], weight: randomTensor(r, [5, 4, 3, 3], 0.6, 0.1), stride: [2, 2], padding: [1, 1, 1, 1], groups: 1 }),
      L.lifNeuron({ name: 'n2', inputs: ['c2'], ...neuron, beta: 0.875 }),
      L.flatten({ name: 'f', inputs: ['n2'] }),
      L.dense({ name: 'fc', inputs: ['f'], weight: randomTensor(r, [6, 45], 0.5, 0.05) }),
      L.ifNeuron({ name: 'out', inputs: ['fc'], ...neuron }),
    ],
    output: { layer: 'out', decoding: 'spike_count' },
    timesteps: 8,
    dt: 1e-3,
    metadata: {},
  };
}

const FAMILIES: Record<string, { make: (seed: number) => SnnModel; size: number }> = {
  'mlp (rate)': { make: (s) => mlp(s), size: 20 },
  'residual (rate; a skip and a spiking branch into one layer)': { make: (s) => ({ ...residual(s), input: { ...residual(s).input, encoding: { type: 'rate', seed: 3 } } }), size: 16 },
  'conv → conv → dense (events)': { make: convNet, size: 8 * 3 * 36 },
};

/** The model compiled as is, and with every population split for a chip of `axons` input axons. */
function compiledBothWays(model: SnnModel, axons: number) {
  const whole = compileLoihi(model, { chips: 16 });
  const chip = CHIPS.loihi2;
  const split = splitFanIn(quantiseForChip(model), { ...chip, inAxons: axons });
  const part = partitionLoihiCores(split, chip);
  const built = buildDescriptor(split, part, { snncVersion: 'test', sourceHash: 'test' });
  return { whole, split, splitProgram: built };
}

describe('fan-in splitting', () => {
  it('ResNet-18 stage 4 (3×3 conv of 512 channels plus a 256-channel shortcut) is cut into relays of at most 2 048 input axons', () => {
    const r = rng(1);
    const neuron = { threshold: 1, reset: 'zero' as const, v0: 0 };
    const model: SnnModel = {
      name: 'stage4',
      input: { shape: [512, 3, 3], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
      layers: [
        L.conv2d({ name: 's', inputs: [INPUT], weight: randomTensor(r, [512, 512, 1, 1], 0.01), stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 }),
        L.ifNeuron({ name: 'a', inputs: ['s'], ...neuron }),
        L.conv2d({ name: 'half', inputs: [INPUT], weight: randomTensor(r, [256, 512, 1, 1], 0.01), stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 }),
        L.ifNeuron({ name: 'b', inputs: ['half'], ...neuron }),
        L.conv2d({ name: 'c', inputs: ['a'], weight: randomTensor(r, [512, 512, 3, 3], 0.01), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
        L.conv2d({ name: 'sc', inputs: ['b'], weight: randomTensor(r, [512, 256, 1, 1], 0.01), stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 }),
        L.add({ name: 'sum', inputs: ['c', 'sc'] }),
        L.ifNeuron({ name: 'out', inputs: ['sum'], ...neuron }),
      ],
      output: { layer: 'out', decoding: 'spike_count' },
      timesteps: 4,
      dt: 1e-3,
      metadata: {},
    };
    const net = quantiseForChip(model);
    const into = (pop: string, n = net) => n.projections.filter((p) => p.target === pop);
    expect(into('out').reduce((s, p) => s + neuronFanIn(p.geometry), 0)).toBe(512 * 9 + 256);
    const split = splitFanIn(net, CHIPS.loihi2);
    const relays = split.populations.filter((p) => p.name.startsWith('out.relay'));
    expect(relays.map((p) => into(p.name, split).reduce((s, x) => s + neuronFanIn(x.geometry), 0))).toEqual([227 * 9, 227 * 9, 58 * 9 + 256]);
    expect(into('out', split).map((p) => p.source)).toEqual(relays.map((p) => p.name));
    const depth = (n: typeof net, name: string) => n.populations.find((p) => p.name === name)!.depth;
    expect(depth(split, 'out')).toBe(depth(net, 'out') + 1);
    // the other populations are untouched
    expect(split.populations.filter((p) => !p.name.includes('.relay')).map((p) => p.name)).toEqual(net.populations.map((p) => p.name));
    expect(snncErrorMessage(() => splitFanIn(net, { ...CHIPS.loihi2, inAxons: 4 }))).toMatch(/^layer "out": input axons 9 > limit 4 \(over by 5\) per neuron even split to one source channel/);
  });

  it('on Loihi’s grid a split network equals the float simulator spike for spike (0 mismatches)', () => {
    let fired = 0;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -64, max: 63 }), { minLength: 72, maxLength: 72 }), fc.array(fc.boolean(), { minLength: 8 * 10 * 2, maxLength: 8 * 10 * 2 }), (w, bits) => {
        // Even weights k/32 (mixed-sign Dense weights lose their LSB on the chip), θ = 1: on the grid.
        const weight = (n: number, at: number) => Float32Array.from({ length: n }, (_, i) => w[(at + i) % w.length] / 32);
        const model: SnnModel = {
          name: 'grid_split',
          input: { shape: [8], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
          layers: [
            L.dense({ name: 'd1', inputs: [INPUT], weight: tensor([6, 8], weight(48, 0)) }),
            L.ifNeuron({ name: 'n1', inputs: ['d1'], threshold: 1, reset: 'subtract', v0: 0 }),
            L.dense({ name: 'd2', inputs: ['n1'], weight: tensor([4, 6], weight(24, 48)) }),
            L.ifNeuron({ name: 'n2', inputs: ['d2'], threshold: 1, reset: 'zero', v0: 0 }),
          ],
          output: { layer: 'n2', decoding: 'spike_count' },
          timesteps: 10,
          dt: 1e-3,
          metadata: { fixedPoint: { format: 'loihi', weightScale: 64 } },
        };
        const x = Float32Array.from(bits, (b) => (b ? 1 : 0));
        const { splitProgram } = compiledBothWays(model, 4);
        const chip = new LoihiEmulator(splitProgram).run(x, 2, { probes: ['n1', 'n2'] });
        const float = simulate(model, x, 2, { probes: ['n1', 'n2'] });
        for (const name of ['n1', 'n2']) {
          const p = splitProgram.descriptor.populations.find((q) => q.name === name)!;
          const N = p.neurons * 2;
          const s = Array.from(float.spikes.get(name)!);
          expect({ name, s: Array.from(chip.spikes.get(name)!.subarray(p.depth * N, (p.depth + 10) * N)) }).toEqual({ name, s });
          fired += s.reduce((k, v) => k + v, 0);
        }
      }),
      { numRuns: 25, seed: 23 },
    );
    expect(fired).toBeGreaterThan(100);
  });

  for (const [name, { make, size }] of Object.entries(FAMILIES)) {
    it(`random ${name}: split for a 12-axon chip, the emulator gives the unsplit network's outputs and spikes (0 mismatches)`, () => {
      let fired = 0;
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (seed, inputSeed) => {
          const model = make(seed);
          const n = 3;
          const x = Float32Array.from(randomInput(inputSeed, n * size, 1), (v) => (model.input.encoding.type === 'events' ? (v > 0.6 ? 1 : 0) : v));
          const { whole, split, splitProgram } = compiledBothWays(model, 12);
          expect(split.populations.some((p) => p.profile.relay)).toBe(true);
          const a = new LoihiEmulator(whole).run(x, n, { probes: 'all' });
          const b = new LoihiEmulator(splitProgram).run(x, n, { probes: 'all' });
          expect(Array.from(b.output)).toEqual(Array.from(a.output));
          for (const p of whole.descriptor.populations) {
            const q = splitProgram.descriptor.populations.find((x) => x.name === p.name)!;
            const N = p.neurons * n;
            const window = (s: Uint8Array, depth: number) => Array.from(s.subarray(depth * N, (depth + model.timesteps) * N));
            const sa = window(a.spikes.get(p.name)!, p.depth);
            expect({ p: p.name, s: window(b.spikes.get(p.name)!, q.depth) }).toEqual({ p: p.name, s: sa });
            fired += sa.reduce((k, v) => k + v, 0);
          }
        }),
        { numRuns: 6, seed: 22 },
      );
      expect(fired).toBeGreaterThan(100); // not vacuous
    });
  }
});
