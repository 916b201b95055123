/** `snnc diff --target spinnaker`: the SpiNNaker emulator beside the float simulator (common/emulator-diff.ts). */
import type { SnnModel } from '../../compiler/ir/model.js';
import { compareWithEmulator } from '../common/emulator-diff.js';
import type { EmulatorDiff } from '../target.js';
import { SpinnakerEmulator } from './emulator.js';
import type { SpinnakerOptions } from './options.js';
import { compileSpinnaker } from './index.js';

/** Max-pools of spikes (OR populations) are compared too: the float model's max-pool layer of that name. */
export function diffSpinnaker(model: SnnModel, raw: Float32Array, batch: number, options: SpinnakerOptions = {}): EmulatorDiff {
  const compiled = compileSpinnaker(model, options);
  const d = compiled.descriptor;
  const pops = d.populations.filter((p) => p.role === 'neuron' || p.role === 'or');
  const emulator = new SpinnakerEmulator(compiled);
  return compareWithEmulator('spinnaker', model, raw, batch, d.timesteps, pops, (steps, probes) => emulator.run(raw, batch, { steps, probes }));
}
