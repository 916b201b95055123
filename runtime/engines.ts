/**
 * Running compiled artifacts: the one batch loop over samples for every engine (an emulator, the
 * onnxruntime runner, the reference simulator behind the same interface), and opening a compiled
 * folder by asking each target whether it recognises it; a gpu folder runs in onnxruntime.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { badInput } from '../compiler/errors.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { simulate } from '../compiler/reference/simulator.js';
import { TARGETS } from '../targets/index.js';
import type { Engine, RunGpu, RunOptions } from '../targets/target.js';
import type { GpuManifest } from '../targets/gpu/manifest.js';
import { OrtRunner } from './ort-runner.js';

/** Raw samples [n, ...sample shape] and the global index of the first (rate encoders seed by it). */
export interface Samples {
  readonly x: Float32Array;
  readonly n: number;
  readonly offset: number;
}

/** Runs `engine` over all samples, `engine.batch` at a time; returns the decoded outputs [n, classes]. */
export async function runEngine(engine: Engine, data: Samples, onProgress?: (done: number) => void): Promise<{ output: Float32Array; classes: number }> {
  const per = data.n === 0 ? 0 : data.x.length / data.n;
  let output = new Float32Array(0);
  let classes = 0;
  for (let start = 0; start < data.n; start += engine.batch) {
    const count = Math.min(engine.batch, data.n - start);
    const r = await engine.run(data.x.subarray(start * per, (start + count) * per), count, { sampleOffset: data.offset + start });
    if (start === 0) {
      classes = r.classes;
      output = new Float32Array(data.n * classes);
    }
    output.set(r.output, start * classes);
    onProgress?.(start + count);
  }
  return { output, classes };
}

/** The reference simulator as an engine, for T steps, `batch` samples at a time. */
export function simulatorEngine(model: SnnModel, timesteps: number, batch: number): Engine {
  return { input: model.input, timesteps, description: 'reference simulator', batch, run: (x, n, o) => simulate(model, x, n, { timesteps, sampleOffset: o.sampleOffset }) };
}

/** The engine of a compiled folder: the first target that recognises it, else a gpu folder in onnxruntime. */
export async function openCompiled(dir: string, options: RunOptions = {}): Promise<Engine> {
  const target = TARGETS.find((t) => t.recognises?.(dir) && t.open);
  if (target) return target.open!(dir, options);
  if (!existsSync(join(dir, 'manifest.json')) || !existsSync(join(dir, 'model.onnx'))) {
    const runnable = TARGETS.filter((t) => t.open).map((t) => t.name);
    throw badInput(`${dir}: not a compiled folder snnc can run (a gpu folder has manifest.json and model.onnx; ${runnable.join(', ')} folders are recognised by their descriptors)`);
  }
  const runner = await OrtRunner.open(dir, options);
  const m = runner.manifest;
  return {
    input: { shape: m.inputShape, encoding: m.encoding },
    timesteps: m.timesteps,
    description: `onnxruntime-${options.backend ?? 'node'} ${m.schedule}${m.numerics ? `, ${m.numerics.chip} integer arithmetic` : ''}`,
    batch: m.batch,
    run: (x, n, o) => runner.run(x, n, o.sampleOffset),
    close: () => runner.close(),
  };
}

/** Runs a compiled gpu model held in memory on onnxruntime-node (the RunGpu a target's diff gets). */
export const runCompiledGpu: RunGpu = async (compiled, raw, n) => {
  const runner = await OrtRunner.fromBytes(compiled.manifest as GpuManifest, compiled.onnx);
  try {
    return await runner.run(raw, n);
  } finally {
    await runner.close();
  }
};
