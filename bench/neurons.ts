/**
 * Benchmark: what interpreting neuron declarations costs the reference simulator. One neuron layer of
 * N neurons fed directly by event input, B samples, T steps, for each declared model; beside it, in
 * the same run, a hand-fused loop of the same LIF step (one pass, no instruction dispatch: what the
 * simulator ran before neuron models were data) as the baseline. Reports ns per neuron-step, median
 * (min–max) of several runs after warm-up.
 *
 *   npm run bench:neurons [-- --runs 7 --neurons 100000 --batch 8 --timesteps 20]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as L from '../compiler/ir/layers.js';
import { IDENTITY_PREPROCESS, INPUT, type SnnModel } from '../compiler/ir/model.js';
import { neuronModels } from '../compiler/ir/neurons.js';
import { simulate } from '../compiler/reference/simulator.js';
import { fmt, time } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, neurons: { type: 'string', default: '100000' }, batch: { type: 'string', default: '8' }, timesteps: { type: 'string', default: '20' } } });
const [RUNS, N, B, T] = [values.runs, values.neurons, values.batch, values.timesteps].map(Number);
const steps = N * B * T;
const perNeuronStep = (ms: number[]) => ms.map((m) => (m * 1e6) / steps);

const x = Float32Array.from({ length: B * T * N }, (_, i) => ((i * 2654435761) % 1000) / 700);
const PARAMS: Record<string, number> = { threshold: 1, beta: 0.9, alpha: 0.8, rho: 0.95, kappa: 0.2 };

function modelOf(name: string): SnnModel {
  const decl = neuronModels().find((m) => m.name === name)!;
  const params = Object.fromEntries(decl.params.filter((p) => p.name in PARAMS).map((p) => [p.name, PARAMS[p.name]]));
  return {
    name,
    input: { shape: [N], encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: [L.neuron(name, { name: 'n', inputs: [INPUT], params, reset: 'subtract' })],
    output: { layer: 'n', decoding: decl.fire ? 'spike_count' : 'accumulate' },
    timesteps: T,
    dt: 1e-3,
    metadata: {},
  };
}

/** The LIF step fused by hand into one loop (the baseline): u = β·v + I; s = [u ≥ θ]; v = u − θ·s. */
function fusedLif(): number {
  const f = Math.fround;
  const v = new Float32Array(B * N);
  let count = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const base = (b * T + t) * N;
      for (let k = 0; k < N; k++) {
        const i = b * N + k;
        const u = f(f(0.9 * v[i]) + x[base + k]);
        const s = u >= 1 ? 1 : 0;
        v[i] = s ? f(u - 1) : u;
        count += s;
      }
    }
  }
  return count;
}

console.log(`neuron layer of ${N} neurons, batch ${B}, T=${T}, event input; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}`);
console.log('ns per neuron-step: median (min–max)\n');
console.log(`| | ns per neuron-step |\n|---|---|`);
console.log(`| hand-fused LIF loop (baseline) | ${fmt(perNeuronStep(await time(fusedLif, RUNS)), 1)} |`);
for (const m of neuronModels()) {
  const model = modelOf(m.name);
  console.log(`| simulator, ${m.name} | ${fmt(perNeuronStep(await time(() => simulate(model, x, B), RUNS)), 1)} |`);
}
