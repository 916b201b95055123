/**
 * Picks the frontend for a model file by its extension: snnc's model.json, an ONNX ANN, a NIR graph, or
 * a lava-dl NetX network.
 * Each frontend returns a verified IR model; NIR import also returns diagnostics for repaired quirks.
 */
import { extname } from 'node:path';
import { badInput } from '../errors.js';
import type { SnnModel } from '../ir/model.js';
import { readModelJson } from '../ir/serialize/read.js';
import { type NetxImportOptions, readNetx } from './netx/read.js';
import { type Diagnostic, type NirImportOptions, readNir } from './nir/read.js';
import { readOnnx } from './onnx/read.js';

export const MODEL_FORMATS = ['.json (snnc model.json)', '.onnx (an ANN, imported with T = 1; convert it with `snnc convert`)', '.nir (a NIR graph; see `snnc import`)', '.net (a lava-dl NetX network)'];

export interface LoadOptions {
  readonly nir?: NirImportOptions;
  readonly netx?: NetxImportOptions;
  /** Called with each import diagnostic (a quirk that was repaired). */
  readonly onDiagnostic?: (d: Diagnostic) => void;
}

export async function loadModel(path: string, options: LoadOptions = {}): Promise<SnnModel> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return readModelJson(path);
  if (ext === '.onnx') return readOnnx(path);
  if (ext === '.nir') {
    const r = await readNir(path, options.nir);
    for (const d of r.diagnostics) options.onDiagnostic?.(d);
    return r.model;
  }
  if (ext === '.net') return readNetx(path, options.netx);
  throw badInput(`${path}: unsupported model format "${ext || '(none)'}" (supported: ${MODEL_FORMATS.join(', ')})`);
}
