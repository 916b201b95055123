/**
 * Resolves model.json tensor values into IR tensors: nested arrays, {shape, data}, base64 float32, and
 * sidecar files (.npy, .safetensors) named relative to the model file. A sidecar path must stay inside
 * the model's folder (no absolute paths, no "..", no symlinks leading out).
 */
import { realpathSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { badInput } from '../../errors.js';
import { parseNpy } from '../../io/npy.js';
import { openInputFile, readInputFile } from '../../io/read-file.js';
import { readSafetensors } from '../../io/safetensors.js';
import { type Tensor, shapeToString, sizeOf, tensor } from '../tensor.js';

export type TensorJson =
  | unknown[]
  | { shape: number[]; data: number[] }
  | { shape: number[]; dtype: 'float32'; base64: string }
  | { file: string; key?: string };

export class TensorResolver {
  private readonly sidecars = new Map<string, Map<string, Tensor>>();
  private readonly realBase: string;

  /** `baseDir` is the folder of the model file; sidecars must live below it. */
  constructor(private readonly baseDir: string) {
    this.realBase = realpathSync(baseDir);
  }

  /** `where` names the field for errors, e.g. `layer "fc1" weight`. */
  resolve(value: TensorJson, where: string): Tensor {
    if (Array.isArray(value)) return fromNested(value, where);
    if ('file' in value) return this.fromFile(value.file, value.key, where);
    if ('base64' in value) {
      const bytes = Buffer.from(value.base64, 'base64');
      const n = sizeOf(value.shape);
      if (bytes.length !== n * 4) throw badInput(`${where}: base64 data has ${bytes.length} bytes, shape ${shapeToString(value.shape)} needs ${n * 4}`);
      const data = new Float32Array(n);
      new Uint8Array(data.buffer).set(bytes);
      return tensor(value.shape, data);
    }
    const n = sizeOf(value.shape);
    if (value.data.length !== n) throw badInput(`${where}: data has ${value.data.length} values, shape ${shapeToString(value.shape)} needs ${n}`);
    value.data.forEach((v, i) => checkFloat32Value(v, `${where}: data[${i}]`));
    return tensor(value.shape, Float32Array.from(value.data));
  }

  private fromFile(file: string, key: string | undefined, where: string): Tensor {
    const path = this.confine(file, where);
    const ext = extname(path).toLowerCase();
    if (ext === '.npy') {
      if (key !== undefined) throw badInput(`${where}: "key" only applies to .safetensors files, not ${file}`);
      const arr = parseNpy(this.read(path, file, where), `${where}: ${file}`);
      if (arr.shape.some((d) => d < 1)) throw badInput(`${where}: ${file} has shape ${shapeToString(arr.shape)}; a tensor needs positive dimensions`);
      return tensor(arr.shape.length ? arr.shape : [1], arr.data);
    }
    if (ext !== '.safetensors') throw badInput(`${where}: sidecar file ${file} must be .npy or .safetensors`);
    let tensors = this.sidecars.get(path);
    if (!tensors) {
      // Read tensor by tensor: the file is never held whole beside its tensors, and may pass 2 GiB.
      const source = openInputFile(path, `sidecar file "${file}"`, { name: where, maxBytes: Number.MAX_SAFE_INTEGER });
      try {
        tensors = readSafetensors(source, `${where}: ${file}`);
      } finally {
        source.close();
      }
      this.sidecars.set(path, tensors);
    }
    if (key === undefined) {
      if (tensors.size !== 1) throw badInput(`${where}: ${file} holds ${tensors.size} tensors; name one with "key"`);
      return [...tensors.values()][0];
    }
    const t = tensors.get(key);
    if (!t) throw badInput(`${where}: ${file} has no tensor "${key}" (it has: ${[...tensors.keys()].slice(0, 10).join(', ')})`);
    return t;
  }

  private confine(file: string, where: string): string {
    const escapes = (base: string, p: string) => {
      const rel = relative(base, p);
      return rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel);
    };
    if (isAbsolute(file)) throw badInput(`${where}: sidecar path "${file}" must be relative to the model file's folder`);
    const path = resolve(this.baseDir, file);
    if (escapes(this.baseDir, path)) throw badInput(`${where}: sidecar path "${file}" leaves the model file's folder`);
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw badInput(`${where}: sidecar file "${file}" does not exist (looked for ${path})`);
    }
    if (escapes(this.realBase, real)) throw badInput(`${where}: sidecar path "${file}" leads out of the model file's folder (through a link)`);
    return path;
  }

  private read(path: string, file: string, where: string): Uint8Array {
    return readInputFile(path, `sidecar file "${file}"`, { name: where });
  }
}

/** Largest finite float32: a JSON number beyond it would silently become ±Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Refuses a number that rounds to ±Infinity in float32 (JSON numbers are float64). */
export function checkFloat32Value(v: number, where: string): void {
  // Values a little above FLOAT32_MAX still round down to it; only those that round to ±Inf overflow.
  if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) throw badInput(`${where}: ${v} overflows float32 (|x| ≤ ${FLOAT32_MAX})`);
}

function fromNested(value: unknown[], where: string): Tensor {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    if (probe.length === 0) throw badInput(`${where}: empty array`);
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float32Array(sizeOf(shape));
  let k = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') throw badInput(`${where}${path}: expected a number, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      checkFloat32Value(v, `${where}${path}`);
      data[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw badInput(`${where}${path}: ragged nested array: expected ${shape[depth]} elements at depth ${depth} (shape ${shapeToString(shape)})`);
    }
    v.forEach((x, i) => walk(x, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, '');
  return tensor(shape, data);
}
