/** `snnc diff --target loihi`: the Loihi emulator beside the float simulator (common/emulator-diff.ts). */
import type { SnnModel } from '../../compiler/ir/model.js';
import { compareWithEmulator } from '../common/emulator-diff.js';
import type { EmulatorDiff } from '../target.js';
import { LoihiEmulator } from './emulator.js';
import type { LoihiOptions } from './options.js';
import { compileLoihi } from './index.js';

export function diffLoihi(model: SnnModel, raw: Float32Array, batch: number, options: LoihiOptions = {}): EmulatorDiff {
  const compiled = compileLoihi(model, options);
  const d = compiled.descriptor;
  const pops = d.populations.filter((p) => p.profile.spiking);
  const emulator = new LoihiEmulator(compiled);
  return compareWithEmulator('loihi', model, raw, batch, d.timesteps, pops, (steps, probes) => emulator.run(raw, batch, { steps, probes }));
}
