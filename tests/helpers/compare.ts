/** Runs a model through the simulator and through compiled ONNX, and counts spike mismatches. */
import { sizeOf } from '../../compiler/ir/tensor.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { type OrtBackend, OrtRunner } from '../../runtime/ort-runner.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { compileGpu } from '../../targets/gpu/index.js';
import type { Schedule } from '../../targets/gpu/schedules.js';
import { argmax } from '../../compiler/reference/predictions.js';
import { randomInput } from './models.js';

export interface Comparison {
  spikes: number;
  mismatches: number;
  /**
   * max |y_ort − y_sim| / max(1, max |y_sim|): decoded outputs are float32 sums over T whose order
   * differs between kernels, so their error scales with the size of the summands, not of the result.
   */
  maxRelDiff: number;
  /** Samples whose argmax (predicted class) is the same in both. */
  predictionsAgree: number;
}

/** Input for a test model: uniform [0, 1) (×255 when the model rescales), binary for event input. */
export function inputFor(model: SnnModel, n: number, seed = 11): Float32Array {
  const events = model.input.encoding.type === 'events';
  const x = randomInput(seed, n * sizeOf(model.input.shape) * (events ? model.timesteps : 1));
  if (events) for (let i = 0; i < x.length; i++) x[i] = x[i] < 0.3 ? 1 : 0;
  if (model.input.preprocess.scale !== 1) for (let i = 0; i < x.length; i++) x[i] /= model.input.preprocess.scale;
  return x;
}

export async function compareWithOrt(model: SnnModel, x: Float32Array, n: number, schedule: Schedule, batch: number, backend: OrtBackend = 'node'): Promise<Comparison> {
  const sim = simulate(model, x, n, { probes: 'all' });
  const { onnx, manifest } = compileGpu(model, { batch, schedule, probes: 'all' });
  const runner = await OrtRunner.fromBytes(manifest, onnx, { backend, threads: 1 });
  const res = await runner.run(x, n);
  await runner.close();
  let spikes = 0;
  let mismatches = 0;
  for (const [layer, s] of sim.spikes) {
    const o = res.spikes.get(layer)!;
    if (o.length !== s.length) throw new Error(`probe ${layer}: ${o.length} vs ${s.length} values`);
    for (let i = 0; i < s.length; i++) {
      spikes += s[i];
      if (s[i] !== o[i]) mismatches++;
    }
  }
  const classes = sim.classes;
  let predictionsAgree = 0;
  for (let b = 0; b < n; b++) {
    if (argmax(sim.output.subarray(b * classes, (b + 1) * classes)) === argmax(res.output.subarray(b * classes, (b + 1) * classes))) predictionsAgree++;
  }
  return { spikes, mismatches, maxRelDiff: relativeDiff(res.output, sim.output), predictionsAgree };
}

/** max |a − b| relative to the scale of b (see Comparison.maxRelDiff). */
export function relativeDiff(a: Float32Array, b: Float32Array): number {
  let scale = 1;
  let diff = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
}
