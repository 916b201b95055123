/**
 * The ANN on onnxruntime-node for calibration and ANN evaluation: the IR model lowered to one graph
 * (targets/gpu/ann-graph.ts) whose outputs are the layers asked for, run in fixed batches (the last one
 * padded) sized so that the recorded values of a batch stay within a memory budget. An AnnSession of
 * compiler/passes/calibrate.ts; it does not choose λ or hold activations beyond one batch.
 */
import * as ort from 'onnxruntime-node';
import { ExitCode, SnncError } from '../compiler/errors.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import type { AnnSession, OpenAnnSession } from '../compiler/passes/calibrate.js';
import { ANN_INPUT, annGraph, annOutput } from '../targets/gpu/ann-graph.js';
import { firstLine } from './graph-outputs.js';

/** Recorded values per batch (float32): 128 MiB. */
const BATCH_VALUES = 2 ** 25;
const MAX_BATCH = 64;

export interface AnnSessionOptions {
  readonly threads?: number;
  /** Samples per run; default: as many as fit the memory budget, at most 64. */
  readonly batch?: number;
}

export function ortAnnSession(options: AnnSessionOptions = {}): OpenAnnSession {
  return async (ann: SnnModel, record: readonly string[]): Promise<AnnSession> => {
    const shapes = verifyModel(ann);
    const recorded = record.reduce((k, name) => k + sizeOf(shapes.get(name)!), 0);
    const B = options.batch ?? Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_VALUES / Math.max(1, recorded))));
    const sessionOptions: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}) };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(annGraph(ann, B, record), sessionOptions);
    } catch (e) {
      throw new SnncError(`model "${ann.name}": onnxruntime could not load its ANN graph: ${firstLine(e)}`, ExitCode.runtime);
    }
    const per = sizeOf(ann.input.shape);
    return {
      batch: B,
      async run(x: Float32Array, count: number) {
        const padded = new Float32Array(B * per);
        padded.set(x.subarray(0, count * per));
        const r = await session.run({ [ANN_INPUT]: new ort.Tensor('float32', padded, [B, ...ann.input.shape]) });
        return new Map(record.map((name) => [name, (r[annOutput(name)].data as Float32Array).subarray(0, count * sizeOf(shapes.get(name)!))]));
      },
      release: () => session.release(),
    };
  };
}
