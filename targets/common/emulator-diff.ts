/**
 * Layer-wise diff of the float reference simulator against a target's emulator on the same input: per
 * spiking population, spike counts on both sides, mismatching (step, neuron) entries and the first
 * divergence, with the emulator's pipeline delay removed (a population at depth d runs d steps behind
 * the float model), and how many samples get the same predicted class. Each target with an emulator
 * (loihi/diff.ts, spinnaker/diff.ts) supplies its populations and a run.
 */
import type { SnnModel } from '../../compiler/ir/model.js';
import { argmax } from '../../compiler/reference/predictions.js';
import { simulate } from '../../compiler/reference/simulator.js';
import type { EmulatorDiff, LayerDiff } from '../target.js';

export interface Probed {
  readonly name: string;
  readonly depth: number;
  readonly neurons: number;
}

export interface EmulatorRun {
  readonly output: Float32Array;
  /** [steps, batch, neurons] per probed population. */
  readonly spikes: ReadonlyMap<string, Uint8Array>;
}

export function compareWithEmulator(target: string, model: SnnModel, raw: Float32Array, batch: number, T: number, populations: readonly Probed[], run: (steps: number, probes: string[]) => EmulatorRun): EmulatorDiff {
  // A population the chip graph adds (the always-on bias source, compiler/passes/current-bias.ts) has no float counterpart.
  const pops = populations.filter((p) => model.layers.some((l) => l.name === p.name));
  const maxDepth = Math.max(0, ...pops.map((p) => p.depth));
  const names = pops.map((p) => p.name);
  const emu = run(T + maxDepth, names);
  const ref = simulate(model, raw, batch, { timesteps: T, probes: names });
  const layers = pops.map((p): LayerDiff => {
    const a = ref.spikes.get(p.name)!;
    const b = emu.spikes.get(p.name)!;
    const N = p.neurons;
    let floatSpikes = 0;
    let emulatorSpikes = 0;
    let mismatches = 0;
    let first: LayerDiff['first'];
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < batch; s++) {
        for (let i = 0; i < N; i++) {
          const x = a[(t * batch + s) * N + i];
          const y = b[((t + p.depth) * batch + s) * N + i];
          floatSpikes += x;
          emulatorSpikes += y;
          if (x !== y) {
            mismatches++;
            first ??= { step: t + 1, sample: s, neuron: i };
          }
        }
      }
    }
    return { layer: p.name, depth: p.depth, floatSpikes, emulatorSpikes, mismatches, ...(first ? { first } : {}) };
  });
  let agreeing = 0;
  const k = ref.classes;
  for (let s = 0; s < batch; s++) if (argmax(ref.output.subarray(s * k, (s + 1) * k)) === argmax(emu.output.subarray(s * k, (s + 1) * k))) agreeing++;
  return { target, layers, samples: batch, timesteps: T, agreeing };
}
