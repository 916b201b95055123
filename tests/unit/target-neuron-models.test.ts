/**
 * What the chip targets (loihi, netx, spinnaker, pynn) and nir say about neuron models: a model they do
 * not list (a dummy registered here, li, threshold, alif) is refused by layer and model name with exit 3
 * in check and emit, never run as another model (gpu, which interprets declarations, runs the dummy as
 * declared); a parameter that differs between neurons is refused by
 * name with its number of distinct values where a target takes one value per layer; and the parameters
 * they express are expressed exactly: the input gain r folded into the weights, v_leak as Loihi bias
 * and SpiNNaker v_rest, reset to v_reset as SpiNNaker v_reset (Loihi refuses a non-zero one).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { type NeuronModel, registerNeuronModel, unregisterNeuronModel } from '../../compiler/ir/neurons.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { diffLoihi } from '../../targets/loihi/diff.js';
import { diffSpinnaker } from '../../targets/spinnaker/diff.js';
import { compileLoihi, loihiTarget } from '../../targets/loihi/index.js';
import { netxTarget } from '../../targets/netx/index.js';
import { gpuTarget } from '../../targets/gpu/index.js';
import { nirTarget } from '../../targets/nir/index.js';
import { toS1615 } from '../../targets/spinnaker/fixed-point.js';
import { compileSpinnaker, spinnakerTarget } from '../../targets/spinnaker/index.js';
import { pynnTarget } from '../../targets/spinnaker/pynn.js';
import type { Target } from '../../targets/target.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { compareWithOrt } from '../helpers/compare.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const CHIP_TARGETS: readonly Target[] = [loihiTarget, netxTarget, spinnakerTarget, pynnTarget];

/** An integrator that fires: IF under another name, so a target that guessed would run it as IF. */
const DUMMY: NeuronModel = {
  name: 'dummy_if',
  title: 'a test-only model',
  equations: 'v ← v + I;  s = [v ≥ θ];  reset v',
  params: [{ name: 'threshold', default: 1, range: 'positive', doc: 'θ' }],
  state: [{ name: 'v', init: 0 }],
  update: [{ state: 'v', expr: { kind: 'add', a: { kind: 'state', name: 'v' }, b: { kind: 'input' }, as: 'u' } }],
  fire: { value: { kind: 'state', name: 'v' }, threshold: { kind: 'param', name: 'threshold' }, resets: 'v' },
  membrane: 'v',
};

const W = tensor([4, 6], Float32Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) / 16 - 0.25));

/** input [6] (events) → dense → a neuron layer "n" of `model` → output. */
function oneLayer(model: string, params: L.ParamValues, options: { reset?: L.ResetMode; weight?: typeof W } = {}): SnnModel {
  const n = L.neuron(model, { name: 'n', inputs: ['fc'], params, reset: options.reset ?? 'zero' });
  const spiking = !['li', 'cuba_li', 'i'].includes(model);
  return {
    name: `one_${model}`,
    input: { shape: [6], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: [L.dense({ name: 'fc', inputs: [INPUT], weight: options.weight ?? W }), n],
    output: { layer: 'n', decoding: spiking ? 'spike_count' : 'accumulate' },
    timesteps: 8,
    dt: 1e-3,
    metadata: {},
  };
}

/** check reports "does not fit" with `message`, and emit fails with exit 3 and the same message, writing nothing. */
async function expectRefused(target: Target, model: SnnModel, message: RegExp): Promise<void> {
  const report = target.check(model, {});
  expect({ target: target.name, fits: report.fits }).toEqual({ target: target.name, fits: false });
  expect(report.messages.join('\n')).toMatch(message);
  const out = join(dir, `${target.name}-${model.name}`);
  const error = await target.emit(model, out, {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SnncError);
  expect({ target: target.name, exit: (error as SnncError).exitCode }).toEqual({ target: target.name, exit: 3 });
  expect((error as SnncError).message).toMatch(message);
  expect(existsSync(out)).toBe(false);
}

describe('each target runs only the neuron models it lists', () => {
  beforeAll(() => registerNeuronModel(DUMMY));
  afterAll(() => unregisterNeuronModel(DUMMY.name));

  for (const target of [...CHIP_TARGETS, nirTarget]) {
    it(`${target.name} refuses a registered model it does not list, by layer and model, in check and emit (exit 3)`, async () => {
      expect(target.neuronModels).not.toBe('all');
      expect(target.neuronModels).not.toContain(DUMMY.name);
      await expectRefused(target, oneLayer(DUMMY.name, {}), new RegExp(`layer "n": the ${target.name} target does not support dummy_if neurons`));
    });
  }

  it('gpu interprets the declaration instead: the dummy runs in ONNX exactly as in the simulator, and as the IF it copies', async () => {
    expect(gpuTarget.neuronModels).toBe('all');
    const dummy = oneLayer(DUMMY.name, {});
    const x = Float32Array.from({ length: 5 * 8 * 6 }, (_, i) => ((i * 37) % 10 < 7 ? 1 : 0));
    const c = await compareWithOrt(dummy, x, 5, 'scan', 5);
    expect(c.spikes).toBeGreaterThan(20);
    expect(c.mismatches).toBe(0);
    const asIf = simulate(oneLayer('if', {}), x, 5, { probes: ['n'] }).spikes.get('n');
    expect(simulate(dummy, x, 5, { probes: ['n'] }).spikes.get('n')).toEqual(asIf);
  });

  it('loihi, netx, spinnaker and pynn list IF, LIF and CUBA-LIF (Loihi and NetX also sigma-delta), and refuse li, threshold and alif by name', async () => {
    const lava = ['cuba_lif', 'delta', 'i', 'if', 'lif', 'sigma_delta'];
    for (const target of CHIP_TARGETS) expect([...(target.neuronModels as readonly string[])].sort()).toEqual(['loihi', 'netx'].includes(target.name) ? lava : ['cuba_lif', 'if', 'lif']);
    const others = [oneLayer('li', { beta: 0.5 }), oneLayer('threshold', {}), oneLayer('alif', { beta: 0.9, rho: 0.9, kappa: 0.1 })];
    for (const target of CHIP_TARGETS) {
      const supported = ['loihi', 'netx'].includes(target.name) ? 'if, lif, cuba_lif, delta, sigma_delta, i' : 'if, lif, cuba_lif';
      for (const m of others) await expectRefused(target, m, new RegExp(`layer "n": the ${target.name} target does not support ${(m.layers[1] as L.NeuronLayer).model} neurons \\(it supports ${supported}\\)`));
    }
    for (const target of CHIP_TARGETS.filter((t) => !['loihi', 'netx'].includes(t.name))) await expectRefused(target, oneLayer('sigma_delta', {}), /does not support sigma_delta neurons/);
  });
});

describe('one value per layer', () => {
  const perNeuron = (values: number[]) => tensor([4], Float32Array.from(values));

  it('loihi and netx refuse a per-neuron β, θ or v(0) by name with the number of distinct values', async () => {
    const beta = oneLayer('lif', { beta: perNeuron([0.5, 0.5, 0.75, 0.9]) });
    for (const target of [loihiTarget, netxTarget]) await expectRefused(target, beta, /layer "n": beta has 3 distinct values across neurons; a Loihi compartment profile takes one value per layer/);
    expect(snncErrorMessage(() => compileLoihi(oneLayer('if', { threshold: perNeuron([1, 2, 1, 2]) })))).toMatch(/layer "n": threshold has 2 distinct values across neurons/);
    expect(snncErrorMessage(() => compileLoihi(oneLayer('cuba_lif', { alpha: perNeuron([0, 0.5, 0.25, 0.125]), beta: 0.5 })))).toMatch(/layer "n": alpha has 4 distinct values across neurons/);
    expect(snncErrorMessage(() => compileLoihi(oneLayer('if', { v0: perNeuron([0, 0.5, 0, 0]) })))).toMatch(/layer "n": v0 has 2 distinct values across neurons/);
  });

  it('spinnaker and pynn refuse a per-neuron θ, β, v_leak or v_reset by name with the number of distinct values', async () => {
    const theta = oneLayer('if', { threshold: perNeuron([1, 1.5, 2, 2.5]) });
    for (const target of [spinnakerTarget, pynnTarget]) await expectRefused(target, theta, /layer "n": threshold has 4 distinct values across neurons; an IF_curr_exp population takes one value per layer/);
    expect(snncErrorMessage(() => compileSpinnaker(oneLayer('lif', { beta: perNeuron([0.5, 0.9, 0.5, 0.9]) })))).toMatch(/layer "n": beta has 2 distinct values across neurons/);
    expect(snncErrorMessage(() => compileSpinnaker(oneLayer('lif', { beta: 0.5, v_leak: perNeuron([0, 0.1, 0, 0]) })))).toMatch(/layer "n": v_leak has 2 distinct values across neurons/);
    expect(snncErrorMessage(() => compileSpinnaker(oneLayer('lif', { beta: 0.5, v_reset: perNeuron([0, 0.1, 0.2, 0]) }, { reset: 'to_v_reset' })))).toMatch(/layer "n": v_reset has 3 distinct values across neurons/);
  });

  it('a per-neuron parameter with one value everywhere is one value (and compiles as the scalar)', () => {
    const a = compileLoihi(oneLayer('lif', { beta: perNeuron([0.75, 0.75, 0.75, 0.75]), threshold: perNeuron([1, 1, 1, 1]) }));
    const b = compileLoihi(oneLayer('lif', { beta: 0.75, threshold: 1 }));
    expect(a.ints).toEqual(b.ints);
    expect(a.descriptor.populations).toEqual(b.descriptor.populations);
  });
});

describe('parameters the chips express', () => {
  const scaled = (w: typeof W, rows: number[]) => tensor(w.shape, w.data.map((x, i) => x * rows[Math.floor(i / w.shape[1])]));

  it('the input gain r is folded into the weights: r·W ≡ W scaled per row (loihi and spinnaker give the same integers)', () => {
    for (const r of [[2, 2, 2, 2], [0.5, 2, 1, 1.5]]) {
      const gain = oneLayer('lif', { beta: 0.9375, r: r[0] === r[1] ? r[0] : tensor([4], Float32Array.from(r)) });
      const folded = oneLayer('lif', { beta: 0.9375 }, { weight: scaled(W, r) });
      expect(compileLoihi(gain).ints).toEqual(compileLoihi(folded).ints);
      expect(compileSpinnaker(gain).words).toEqual(compileSpinnaker(folded).words);
    }
  });

  it('r per channel of a convolution is folded into its kernels; r varying within a channel is refused by name', () => {
    const kernel = tensor([2, 1, 3, 3], Float32Array.from({ length: 18 }, (_, i) => ((i * 5) % 7) / 8 - 0.3));
    const conv = (weight: typeof kernel, r: L.ParamValues['r']): SnnModel => ({
      name: 'conv_r',
      input: { shape: [1, 4, 4], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
      layers: [L.conv2d({ name: 'c', inputs: [INPUT], weight, stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }), L.neuron('if', { name: 'n', inputs: ['c'], params: { r }, reset: 'zero' })],
      output: { layer: 'n', decoding: 'spike_count' },
      timesteps: 4,
      dt: 1e-3,
      metadata: {},
    });
    const perChannel = conv(kernel, tensor([2, 1, 1], Float32Array.of(2, 0.5)));
    const folded = conv(tensor(kernel.shape, kernel.data.map((x, i) => x * (i < 9 ? 2 : 0.5))), 1);
    expect(compileLoihi(perChannel).ints).toEqual(compileLoihi(folded).ints);
    expect(compileSpinnaker(perChannel).words).toEqual(compileSpinnaker(folded).words);
    const perNeuron = conv(kernel, tensor([2, 4, 4], Float32Array.from({ length: 32 }, (_, i) => 1 + (i % 3) / 4)));
    expect(snncErrorMessage(() => compileLoihi(perNeuron))).toMatch(/layer "n": an input gain r ≠ 1 that differs within a channel \(3 distinct values\): Loihi folds r into the weights/);
    expect(snncErrorMessage(() => compileSpinnaker(perNeuron))).toMatch(/layer "n": an input gain r ≠ 1 that differs within a channel \(3 distinct values\): SpiNNaker folds r into the weights/);
  });

  it('loihi: v_leak enters the bias as (1 − β)·v_leak, the same integers as a CUBA-LIF bias', () => {
    const leaky = compileLoihi(oneLayer('lif', { beta: 0.75, v_leak: tensor([4], Float32Array.of(0.5, -1, 0, 2)) }));
    const biased = compileLoihi(oneLayer('cuba_lif', { alpha: 0, beta: 0.75, bias: tensor([4], Float32Array.of(0.125, -0.25, 0, 0.5)) }));
    expect(leaky.ints).toEqual(biased.ints);
    expect(leaky.network.populations[0].bias).not.toBeNull();
  });

  it('loihi: reset to v_reset = 0 is reset to zero; a non-zero v_reset is refused by name', () => {
    const toZero = compileLoihi(oneLayer('lif', { beta: 0.5 }, { reset: 'to_v_reset' }));
    expect(toZero.ints).toEqual(compileLoihi(oneLayer('lif', { beta: 0.5 }, { reset: 'zero' })).ints);
    expect(toZero.descriptor.populations).toEqual(compileLoihi(oneLayer('lif', { beta: 0.5 }, { reset: 'zero' })).descriptor.populations);
    expect(snncErrorMessage(() => compileLoihi(oneLayer('lif', { beta: 0.5, v_reset: 0.25 }, { reset: 'to_v_reset' })))).toMatch(/layer "n": reset to v_reset = 0.25: Loihi resets v to 0/);
  });

  it('spinnaker: v_leak is v_rest and reset to v_reset is v_reset, both scaled to mV; reset "subtract" is refused', () => {
    const c = compileSpinnaker(oneLayer('lif', { beta: 0.9375, v_leak: 0.25, v_reset: -0.5 }, { reset: 'to_v_reset' }));
    const p = c.network.populations.find((q) => q.name === 'n')!;
    expect(p.params.vRest).toBe(toS1615(p.scale * 0.25, 'v_rest'));
    expect(p.params.vReset).toBe(toS1615(p.scale * -0.5, 'v_reset'));
    const plain = compileSpinnaker(oneLayer('lif', { beta: 0.9375 })).network.populations.find((q) => q.name === 'n')!;
    expect([plain.params.vRest, plain.params.vReset]).toEqual([0, 0]);
    expect(snncErrorMessage(() => compileSpinnaker(oneLayer('lif', { beta: 0.9375 }, { reset: 'subtract' })))).toMatch(/layer "n": reset "subtract" has no IF_curr_exp equivalent/);
  });

  it('the emulators follow the float simulator with v_leak, v_reset and r (within 1 % of spikes; they change the spikes)', () => {
    const W2 = tensor([20, 30], Float32Array.from({ length: 600 }, (_, i) => (((i * 37) % 23) - 9) / 40));
    const B = 4;
    const x = Float32Array.from({ length: B * 40 * 30 }, (_, i) => ((i * 7919) % 13 < 4 ? 1 : 0));
    const model = (params: L.ParamValues, reset: L.ResetMode = 'zero'): SnnModel => ({ ...oneLayer('lif', params, { reset }), timesteps: 40, input: { shape: [30], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS }, layers: [L.dense({ name: 'fc', inputs: [INPUT], weight: W2 }), L.neuron('lif', { name: 'n', inputs: ['fc'], params, reset })] });
    const spikes = (d: ReturnType<typeof diffSpinnaker>) => d.layers[0].floatSpikes;
    const plain = spikes(diffSpinnaker(model({ beta: 0.9375 }), x, B));
    const cases: [string, SnnModel][] = [
      ['spinnaker v_leak', model({ beta: 0.9375, v_leak: 1.5 })],
      ['spinnaker v_reset', model({ beta: 0.9375, v_leak: 0.5, v_reset: -0.3 }, 'to_v_reset')],
      ['spinnaker r', model({ beta: 0.9375, r: 1.7 })],
      ['loihi v_leak', model({ beta: 0.9375, v_leak: 1.5 })],
      ['loihi r', model({ beta: 0.9375, r: 1.7 })],
    ];
    for (const [what, m] of cases) {
      const d = what.startsWith('loihi') ? diffLoihi(m, x, B) : diffSpinnaker(m, x, B);
      const l = d.layers[0];
      expect({ what, changed: l.floatSpikes !== plain, within: l.mismatches <= 0.01 * l.floatSpikes }).toEqual({ what, changed: true, within: true });
      expect(l.floatSpikes).toBeGreaterThan(500);
    }
  });
});
