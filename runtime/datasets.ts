/**
 * Dataset files for the CLI's `--data FILE [--labels FILE] [--range START:END]` and `--input FILE`
 * conventions: MNIST idx files (optionally gzipped) and .npy arrays. Returns float32 samples (raw values,
 * e.g. pixels 0–255) and integer labels. Shape checks against a model happen in `fitToModel`.
 */
import { gunzipSync } from 'node:zlib';
import { badInput } from '../compiler/errors.js';
import { parseNpy } from '../compiler/io/npy.js';
import { readInputFile } from '../compiler/io/read-file.js';
import { shapeToString, sizeOf } from '../compiler/ir/tensor.js';

export interface Dataset {
  /** Samples, flattened: n × sampleShape. */
  readonly x: Float32Array;
  readonly n: number;
  /** Per-sample shape as stored in the file. */
  readonly sampleShape: number[];
  readonly labels?: Int32Array;
  /** Global index of the first sample (from --range). */
  readonly offset: number;
}

export interface Range {
  readonly start: number;
  readonly end?: number;
}

export function parseRange(text: string): Range {
  const m = /^(\d*):(\d*)$/.exec(text.trim());
  if (!m) throw badInput(`--range must be START:END (e.g. 0:2000), got "${text}"`);
  const start = m[1] ? Number(m[1]) : 0;
  const end = m[2] ? Number(m[2]) : undefined;
  if (end !== undefined && end <= start) throw badInput(`--range ${text}: END must be greater than START`);
  return { start, end };
}

interface RawArray {
  shape: number[];
  data: Float32Array;
}

function readBytes(path: string): Uint8Array {
  const bytes = readInputFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw badInput(`${path}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return bytes;
}

/** idx format: 2 zero bytes, a type byte, the rank, then big-endian int32 dimensions and the data. */
function parseIdx(bytes: Uint8Array, path: string): RawArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw badInput(`${path}: not an idx file (bad magic number)`);
  const type = bytes[2];
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const width: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  if (!width[type]) throw badInput(`${path}: unsupported idx element type 0x${type.toString(16)}`);
  const n = sizeOf(shape);
  const start = 4 + 4 * rank;
  if (bytes.length < start + n * width[type]) throw badInput(`${path}: truncated idx file (${shapeToString(shape)} needs ${start + n * width[type]} bytes, has ${bytes.length})`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = start + i * width[type];
    switch (type) {
      case 0x08: data[i] = bytes[o]; break;
      case 0x09: data[i] = view.getInt8(o); break;
      case 0x0b: data[i] = view.getInt16(o, false); break;
      case 0x0c: data[i] = view.getInt32(o, false); break;
      case 0x0d: data[i] = view.getFloat32(o, false); break;
      case 0x0e: data[i] = view.getFloat64(o, false); break;
    }
  }
  return { shape, data };
}

export function readArray(path: string): RawArray {
  const bytes = readBytes(path);
  const isNpy = bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY';
  return isNpy ? parseNpy(bytes, path) : parseIdx(bytes, path);
}

export function loadDataset(dataPath: string, labelsPath?: string, range?: Range): Dataset {
  const arr = readArray(dataPath);
  if (arr.shape.length < 1) throw badInput(`${dataPath}: expected an array with a leading sample axis, got shape ${shapeToString(arr.shape)}`);
  const total = arr.shape[0];
  const start = range?.start ?? 0;
  const end = Math.min(range?.end ?? total, total);
  if (start >= total) throw badInput(`--range starts at ${start} but ${dataPath} has only ${total} samples`);
  const sampleShape = arr.shape.slice(1);
  const per = sizeOf(sampleShape);
  const x = arr.data.slice(start * per, end * per);
  let labels: Int32Array | undefined;
  if (labelsPath) {
    const l = readArray(labelsPath);
    if (l.shape[0] !== total) throw badInput(`${labelsPath}: has ${l.shape[0]} labels but ${dataPath} has ${total} samples`);
    if (l.shape.length !== 1) throw badInput(`${labelsPath}: labels must be a vector of class indices, got shape ${shapeToString(l.shape)}`);
    labels = Int32Array.from(l.data.subarray(start, end));
  }
  return { x, n: end - start, sampleShape, labels, offset: start };
}

/**
 * Checks that each sample holds what the model takes: `shape` (e.g. [1, 28, 28] also accepts [28, 28]
 * files: same element count), times T for event input ([T, ...shape]).
 */
export function fitToModel(data: Dataset, inputShape: readonly number[], timesteps: number | undefined, what: string): void {
  const expected = sizeOf(inputShape) * (timesteps ?? 1);
  const got = sizeOf(data.sampleShape);
  if (got !== expected) {
    const want = timesteps ? `[${timesteps}, ${inputShape.join(', ')}] (T × input shape, for event input)` : shapeToString(inputShape);
    throw badInput(`${what}: each sample has shape ${shapeToString(data.sampleShape)} (${got} values) but the model takes ${want}`);
  }
}
