/**
 * manifest.json of a compiled gpu folder: everything a runner needs besides model.onnx (input layout
 * and encoding, decoding, schedule, state tensors, probes) plus provenance (snnc version, source hash).
 */
import { badInput } from '../../compiler/errors.js';
import type { Decoding, Encoding, Preprocess } from '../../compiler/ir/model.js';
import type { GraphIO, Schedule } from './schedules.js';

export const MANIFEST_FORMAT = 'snnc-gpu';

export interface GpuManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: 1;
  readonly snncVersion: string;
  readonly sourceHash: string;
  readonly model: string;
  readonly file: 'model.onnx';
  readonly opset: number;
  readonly irVersion: number;
  readonly schedule: Schedule;
  readonly timesteps: number;
  readonly batch: number;
  readonly dt: number;
  /** Per-sample input shape; raw data as the model's frontend expects it (preprocessing is in the graph, except for rate coding). */
  readonly inputShape: number[];
  readonly encoding: Encoding;
  readonly preprocess: Preprocess;
  readonly decoding: Decoding;
  readonly classes: number;
  readonly io: GraphIO;
}

export function parseManifest(text: string, file: string): GpuManifest {
  let m: GpuManifest;
  try {
    m = JSON.parse(text);
  } catch {
    throw badInput(`${file}: not valid JSON`);
  }
  if (m?.format !== MANIFEST_FORMAT || m.formatVersion !== 1) throw badInput(`${file}: not an snnc gpu manifest (format "${m?.format}", expected "${MANIFEST_FORMAT}" version 1)`);
  return m;
}
