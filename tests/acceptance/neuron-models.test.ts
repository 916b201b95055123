/**
 * Every declared neuron model, with random shapes, per-neuron / per-channel / scalar parameters, reset
 * modes and input currents (fast-check):
 *   1. the reference simulator against an independent step-by-step implementation written here from
 *      the equations (compiler/ir/neurons.ts), spike for spike and membrane for membrane, bit-exact;
 *   2. the ONNX lowering (every schedule, onnxruntime-node; layerwise on onnxruntime-web) against the
 *      simulator: 0 spike mismatches, and identical per-step outputs of non-spiking readouts.
 * Both sides round to float32 after every operation in the same order, so equality is exact.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { type NeuronModel, type ParamSpec, neuronModels, resets } from '../../compiler/ir/neurons.js';
import { type Param, paramValues } from '../../compiler/ir/params.js';
import { sizeOf, tensor } from '../../compiler/ir/tensor.js';
import { OrtRunner } from '../../runtime/ort-runner.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { compileGpu } from '../../targets/gpu/index.js';
import { SCHEDULES } from '../../targets/gpu/schedules.js';

const f = Math.fround;
/** Values as numbers, −0 as 0: eliding an `x + 0` keeps a −0 that the full formula turns into +0. */
const values = (a: ArrayLike<number>) => Array.from(a, (v) => v + 0);

/** A parameter value in its range, as one number, one per channel, or one per neuron. */
function paramArb(spec: ParamSpec, shape: readonly number[]): fc.Arbitrary<Param> {
  if (spec.range === 'count') return fc.integer({ min: 1, max: 4 }); // whole numbers, one for the layer
  const [lo, hi] =
    spec.range === 'positive' ? [0.2, 2] : spec.range === 'decay' ? [0, 1] : spec.range === 'nonnegative' ? [0, 1] : spec.name === 'r' ? [0.5, 1.5] : [-0.4, 0.4];
  const value = fc.double({ min: lo, max: hi, noNaN: true }).map(f);
  const channelShape = shape.length === 3 ? [shape[0], 1, 1] : [shape[0]];
  const tensorOf = (dims: number[]) => fc.array(value, { minLength: sizeOf(dims), maxLength: sizeOf(dims) }).map((v) => tensor(dims, Float32Array.from(v)));
  return fc.oneof(value, tensorOf(channelShape), tensorOf([...shape]));
}

interface Case {
  readonly model: SnnModel;
  readonly x: Float32Array;
  readonly batch: number;
}

function caseArb(decl: NeuronModel): fc.Arbitrary<Case> {
  const shapeArb = fc.oneof(fc.tuple(fc.integer({ min: 1, max: 12 })).map((s) => [...s]), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).map((s) => [...s]));
  return shapeArb.chain((shape) => {
    const params = fc.record(Object.fromEntries(decl.params.map((p) => [p.name, paramArb(p, shape)])));
    const reset = fc.constantFrom(...(resets(decl) ? (['subtract', 'zero', 'to_v_reset'] as const) : (['subtract'] as const)));
    const T = fc.integer({ min: 2, max: 10 });
    const batch = fc.integer({ min: 1, max: 3 });
    return fc.tuple(params, reset, T, batch).chain(([p, r, t, b]) =>
      fc.array(fc.double({ min: -0.5, max: 1.5, noNaN: true }).map(f), { minLength: b * t * sizeOf(shape), maxLength: b * t * sizeOf(shape) }).map((xs) => {
        const layer = L.neuron(decl.name, { name: 'n', inputs: [INPUT], params: p, reset: r });
        const model: SnnModel = {
          name: `prop_${decl.name}`,
          input: { shape, encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
          layers: [layer],
          output: { layer: 'n', decoding: decl.fire ? 'spike_count' : 'accumulate' },
          timesteps: t,
          dt: 1e-3,
          metadata: {},
        };
        return { model, x: Float32Array.from(xs), batch: b };
      }),
    );
  });
}

/**
 * The models' equations, written out independently of the declarations: per neuron, per step, in
 * the declared operation order. Returns spikes (or outputs) and membranes [T, B, N].
 */
function reference(model: SnnModel, x: Float32Array, batch: number): { out: Float32Array; v: Float32Array } {
  const layer = model.layers[0] as L.NeuronLayer;
  const shape = model.input.shape;
  const N = sizeOf(shape);
  const T = model.timesteps;
  const P = (name: string) => paramValues(layer.params[name] ?? 0, shape);
  const [theta, beta, alpha, r, vLeak, vReset, v0, bias, rho, kappa, maxSpikes] = ['threshold', 'beta', 'alpha', 'r', 'v_leak', 'v_reset', 'v0', 'bias', 'rho', 'kappa', 'max_spikes'].map(P);
  const out = new Float32Array(T * batch * N);
  const vs = new Float32Array(T * batch * N);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < N; k++) {
      let [v, i, a, p] = [v0[k], 0, 0, 0];
      let [sigma, act, residue] = [0, 0, 0];
      const leak = f(f(1 - beta[k]) * vLeak[k]);
      for (let t = 0; t < T; t++) {
        const I = f(x[(b * T + t) * N + k] * r[k]);
        let th = theta[k];
        const idx = (t * batch + b) * N + k;
        if (layer.model === 'delta' || layer.model === 'sigma_delta') {
          // Graded: the change of the activation plus the residue, sent when its magnitude reaches θ.
          if (layer.model === 'sigma_delta') sigma = f(sigma + I);
          let d = f(residue - act);
          act = layer.model === 'delta' ? I : Math.max(f(sigma + bias[k]), 0);
          d = f(d + act);
          const sent = Math.abs(d) >= th ? d : 0;
          residue = f(d - sent);
          out[idx] = sent;
          vs[idx] = layer.model === 'delta' ? act : sigma;
          continue;
        }
        if (layer.model === 'burst_if') {
          // A burst: as many spikes as whole thresholds in v (θ/θ = 1 at least), at most Γ; subtract takes them all.
          v = f(v + I);
          const s = v >= th ? Math.min(Math.floor(f(v / th)), maxSpikes[k]) : 0;
          if (s) v = layer.reset === 'subtract' ? f(v - f(s * th)) : layer.reset === 'zero' ? 0 : vReset[k];
          out[idx] = s;
          vs[idx] = v;
          continue;
        }
        switch (layer.model) {
          case 'if':
          case 'i':
            v = f(v + I);
            break;
          case 'lif':
          case 'li':
          case 'alif':
            v = f(f(f(v * beta[k]) + I) + leak);
            break;
          case 'cuba_lif':
          case 'cuba_li':
            i = f(f(i * alpha[k]) + I);
            v = f(f(f(f(v * beta[k]) + i) + bias[k]) + leak);
            break;
          case 'lif_delayed_reset':
            v = f(f(f(f(v * beta[k]) + I) + leak) - f(p * theta[k]));
            break;
          case 'cuba_lif_delayed_reset':
            i = f(f(i * alpha[k]) + I);
            v = f(f(f(f(f(v * beta[k]) + i) + bias[k]) + leak) - f(p * theta[k]));
            break;
          case 'threshold':
            break;
          default:
            throw new Error(`no reference for ${layer.model}`);
        }
        if (layer.model === 'alif') th = f(th + f(a * kappa[k]));
        const spiking = !['li', 'cuba_li', 'i'].includes(layer.model);
        const s = spiking && (layer.model === 'threshold' ? I : v) >= th ? 1 : 0;
        const delayed = layer.model.endsWith('_delayed_reset');
        if (delayed) p = s;
        if (s && layer.model !== 'threshold' && !delayed) v = layer.reset === 'subtract' ? f(v - th) : layer.reset === 'zero' ? 0 : vReset[k];
        if (layer.model === 'alif') a = f(f(a * rho[k]) + s);
        out[idx] = spiking ? s : v;
        vs[idx] = v;
      }
    }
  }
  return { out, v: vs };
}

const BUILT_IN = ['if', 'burst_if', 'lif', 'cuba_lif', 'li', 'cuba_li', 'i', 'threshold', 'alif', 'lif_delayed_reset', 'cuba_lif_delayed_reset', 'delta', 'sigma_delta'];

describe('neuron models: simulator vs the equations', () => {
  it('every built-in model is declared, and the README shows its equations', () => {
    expect(neuronModels().map((m) => m.name)).toEqual(expect.arrayContaining(BUILT_IN));
    const readme = readFileSync('README.md', 'utf8');
    for (const m of neuronModels()) {
      expect(readme).toContain(`| \`${m.name}\` |`);
      expect(readme).toContain(m.equations);
    }
  });
  for (const decl of neuronModels().filter((m) => BUILT_IN.includes(m.name))) {
    it(`${decl.name}: spikes and membranes bit-exact for random shapes and per-neuron parameters`, () => {
      let bursts = 0;
      fc.assert(
        fc.property(caseArb(decl), ({ model, x, batch }) => {
          const withMembrane = decl.membrane !== undefined;
          const sim = simulate(model, x, batch, { probes: decl.fire ? ['n'] : [], membranes: withMembrane ? ['n'] : [], outputSteps: true });
          const ref = reference(model, x, batch);
          const got = decl.fire && !decl.fire.graded && !decl.fire.burst ? Float32Array.from(sim.spikes.get('n')!) : sim.outputSteps!;
          expect(values(got)).toEqual(values(ref.out));
          if (withMembrane) expect(values(sim.membranes.get('n')!)).toEqual(values(ref.v));
          bursts += ref.out.filter((s) => s > 1).length;
        }),
        { numRuns: 60, seed: 16 },
      );
      if (decl.fire?.burst) expect(bursts).toBeGreaterThan(20); // bursts of 2 or more happened: not vacuous
    });
  }
});

async function runOrt(model: SnnModel, x: Float32Array, batch: number, schedule: (typeof SCHEDULES)[number], backend: 'node' | 'web') {
  const { onnx, manifest } = compileGpu(model, { batch, schedule, probes: 'all', outputSteps: true });
  const runner = await OrtRunner.fromBytes(manifest, onnx, { backend, threads: 1 });
  try {
    return await runner.run(x, batch);
  } finally {
    await runner.close();
  }
}

describe('neuron models: ONNX vs simulator', () => {
  for (const decl of neuronModels().filter((m) => BUILT_IN.includes(m.name))) {
    it(`${decl.name}: every schedule on onnxruntime-node, layerwise on onnxruntime-web, exactly equal`, async () => {
      let spikes = 0;
      await fc.assert(
        fc.asyncProperty(caseArb(decl), fc.constantFrom(...SCHEDULES), async ({ model, x, batch }, schedule) => {
          const sim = simulate(model, x, batch, { probes: 'all', outputSteps: true });
          for (const backend of schedule === 'layerwise' ? (['node', 'web'] as const) : (['node'] as const)) {
            const ort = await runOrt(model, x, batch, schedule, backend);
            if (decl.fire) {
              const s = sim.spikes.get('n')!;
              spikes += s.reduce((a, v) => a + v, 0);
              expect(values(ort.spikes.get('n')!)).toEqual(values(s));
            }
            expect(values(ort.outputSteps!)).toEqual(values(sim.outputSteps!));
          }
        }),
        { numRuns: 25, seed: 16 },
      );
      if (decl.fire) expect(spikes).toBeGreaterThan(20); // not vacuous
    }, 120_000);
  }
});
