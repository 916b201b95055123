/**
 * Picks the frontend for a model file by its extension. Today: snnc's model.json. Each frontend returns
 * a verified IR model.
 */
import { extname } from 'node:path';
import { badInput } from '../errors.js';
import type { SnnModel } from '../ir/model.js';
import { readModelJson } from './modeljson/read.js';
import { readOnnx } from './onnx/read.js';

export const MODEL_FORMATS = ['.json (snnc model.json)', '.onnx (an ANN, imported with T = 1; convert it with `snnc convert`)'];

export function loadModel(path: string): SnnModel {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return readModelJson(path);
  if (ext === '.onnx') return readOnnx(path);
  throw badInput(`${path}: unsupported model format "${ext || '(none)'}" (supported: ${MODEL_FORMATS.join(', ')})`);
}
