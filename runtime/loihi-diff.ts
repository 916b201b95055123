/**
 * Layer-wise diff of the float reference simulator against the Loihi emulator on the same input: per
 * neuron layer, spike counts on both sides, mismatching (step, neuron) entries and the first divergence,
 * with the emulator's pipeline delay removed (a layer at depth d runs d steps behind the float model).
 */
import type { SnnModel } from '../compiler/ir/model.js';
import { compileLoihi } from '../targets/loihi/index.js';
import type { CompileOptions } from '../targets/target.js';
import { LoihiEmulator } from './loihi-emulator.js';
import { argmax } from './predictions.js';
import { simulate } from './simulator.js';

export interface LayerDiff {
  readonly layer: string;
  readonly depth: number;
  readonly floatSpikes: number;
  readonly loihiSpikes: number;
  readonly mismatches: number;
  /** First differing entry in time order: step (1-based, float time), sample, neuron. */
  readonly first?: { readonly step: number; readonly sample: number; readonly neuron: number };
}

export interface LoihiDiff {
  readonly layers: readonly LayerDiff[];
  readonly samples: number;
  readonly timesteps: number;
  /** Samples whose predicted class agrees. */
  readonly agreeing: number;
}

export function diffLoihi(model: SnnModel, raw: Float32Array, batch: number, options: CompileOptions = {}): LoihiDiff {
  const compiled = compileLoihi(model, options);
  const d = compiled.descriptor;
  const T = d.timesteps;
  const spiking = d.populations.filter((p) => p.profile.spiking);
  const maxDepth = Math.max(0, ...d.populations.map((p) => p.depth));
  const emu = new LoihiEmulator(compiled).run(raw, batch, { steps: T + maxDepth, probes: spiking.map((p) => p.name) });
  const ref = simulate(model, raw, batch, { timesteps: T, probes: spiking.map((p) => p.name) });
  const layers = spiking.map((p): LayerDiff => {
    const a = ref.spikes.get(p.name)!;
    const b = emu.spikes.get(p.name)!;
    const N = p.neurons;
    let floatSpikes = 0;
    let loihiSpikes = 0;
    let mismatches = 0;
    let first: LayerDiff['first'];
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < batch; s++) {
        for (let i = 0; i < N; i++) {
          const x = a[(t * batch + s) * N + i];
          const y = b[((t + p.depth) * batch + s) * N + i];
          floatSpikes += x;
          loihiSpikes += y;
          if (x !== y) {
            mismatches++;
            first ??= { step: t + 1, sample: s, neuron: i };
          }
        }
      }
    }
    return { layer: p.name, depth: p.depth, floatSpikes, loihiSpikes, mismatches, ...(first ? { first } : {}) };
  });
  let agreeing = 0;
  const k = ref.classes;
  for (let s = 0; s < batch; s++) if (argmax(ref.output.subarray(s * k, (s + 1) * k)) === argmax(emu.output.subarray(s * k, (s + 1) * k))) agreeing++;
  return { layers, samples: batch, timesteps: T, agreeing };
}
