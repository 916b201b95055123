/**
 * Dataset files for the CLI's `--data FILE [--labels FILE] [--range START:END]` and `--input FILE`
 * conventions: MNIST idx files (optionally gzipped) and .npy arrays. Returns float32 samples (raw values,
 * e.g. pixels 0–255) and integer labels. Shape checks against a model happen in `fitToModel`.
 */
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { badInput } from '../errors.js';
import { parseNpy, parseNpyHeader } from './npy.js';
import { MAX_INPUT_BYTES, readInputFile } from './read-file.js';
import { shapeToString, sizeOf } from '../ir/tensor.js';

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
  if (!m) throw badInput(`--range must be START:END with non-negative integers START < END (e.g. 0:2000), got "${text}"`);
  const start = m[1] ? Number(m[1]) : 0;
  const end = m[2] ? Number(m[2]) : undefined;
  if (!Number.isSafeInteger(start) || (end !== undefined && !Number.isSafeInteger(end))) throw badInput(`--range ${text}: START and END must be integers below 2^53`);
  if (end !== undefined && end <= start) throw badInput(`--range ${text}: END must be greater than START`);
  return { start, end };
}

interface RawArray {
  shape: number[];
  data: Float32Array;
}

/**
 * Largest dataset, stored or decompressed: 2 GiB − 1 bytes (as for any input file, see read-file.ts).
 * A gzipped file must declare (in its idx or .npy header) no more than this.
 */
export const MAX_DATA_BYTES = MAX_INPUT_BYTES;

const IDX_WIDTH: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

interface IdxHeader {
  type: number;
  shape: number[];
  dataOffset: number;
  dataBytes: number;
}

/** The idx header at the start of `bytes`, or undefined when `bytes` is too short to hold it. */
function parseIdxHeader(bytes: Uint8Array, path: string): IdxHeader | undefined {
  if (bytes.length < 4) return undefined;
  if (bytes[0] !== 0 || bytes[1] !== 0) throw badInput(`${path}: not an idx or .npy file (bad magic number)`);
  const type = bytes[2];
  const rank = bytes[3];
  if (!IDX_WIDTH[type]) throw badInput(`${path}: unsupported idx element type 0x${type.toString(16)}`);
  if (rank < 1) throw badInput(`${path}: idx file of rank 0 (expected a leading sample axis)`);
  const dataOffset = 4 + 4 * rank;
  if (bytes.length < dataOffset) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  return { type, shape, dataOffset, dataBytes: sizeOf(shape) * IDX_WIDTH[type] };
}

/** Bytes a whole file has according to the header at the start of `head` (undefined: need more). */
function declaredBytes(head: Uint8Array, path: string): { total: number; shape: number[] } | undefined {
  if (head.length > 0 && head[0] === 0x93) {
    const h = parseNpyHeader(head, path);
    return h && { total: h.dataOffset + h.dataBytes, shape: h.shape };
  }
  const h = parseIdxHeader(head, path);
  return h && { total: h.dataOffset + h.dataBytes, shape: h.shape };
}

/**
 * Decompresses a gzipped dataset without trusting it: the idx or .npy header is read from the first
 * decompressed bytes (decompressing a prefix of the file, whose output deflate's ~1032:1 ratio bounds),
 * its declared size is checked against MAX_DATA_BYTES, and decompression stops with an error as soon as
 * the output outgrows the declared size. Peak memory is about the declared size, not the bomb's.
 */
function gunzipBounded(raw: Uint8Array, path: string): Uint8Array {
  const corrupt = (e: unknown) => badInput(`${path}: corrupt gzip data (${(e as Error).message})`);
  let declared: { total: number; shape: number[] } | undefined;
  for (const k of [256, 4096, 65_536]) {
    let head: Uint8Array;
    try {
      head = gunzipSync(raw.subarray(0, k), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw corrupt(e);
    }
    declared = declaredBytes(head, path);
    if (declared || k >= raw.length) break;
  }
  if (!declared) {
    if (raw.length <= 65_536) {
      // The whole file, too short for a header: the parser names what is missing.
      try {
        return gunzipSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      } catch (e) {
        throw corrupt(e);
      }
    }
    throw badInput(`${path}: no idx or .npy header in the first 64 KiB of gzip data`);
  }
  if (declared.total > MAX_DATA_BYTES) {
    throw badInput(`${path}: header declares shape ${shapeToString(declared.shape)}, ${declared.total} bytes decompressed, more than the limit of ${MAX_DATA_BYTES} bytes`);
  }
  try {
    return gunzipSync(raw, { maxOutputLength: Math.max(1, declared.total) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw badInput(`${path}: gzip data decompresses to more than the ${declared.total} bytes its header declares (shape ${shapeToString(declared.shape)})`);
    }
    throw corrupt(e);
  }
}

function readBytes(path: string): Uint8Array {
  const bytes = readInputFile(path, 'data file');
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipBounded(bytes, path) : bytes;
}

/** idx format: 2 zero bytes, a type byte, the rank, then big-endian int32 dimensions and the data. */
function parseIdx(bytes: Uint8Array, path: string): RawArray {
  const h = parseIdxHeader(bytes, path);
  if (!h) throw badInput(`${path}: truncated idx file (${bytes.length} bytes, shorter than its header)`);
  const { type, shape, dataOffset: start } = h;
  const width = IDX_WIDTH[type];
  const needed = start + h.dataBytes;
  if (bytes.length !== needed) {
    throw badInput(`${path}: ${bytes.length < needed ? 'truncated idx file: ' : ''}shape ${shapeToString(shape)} needs ${needed} bytes, the file has ${bytes.length}`);
  }
  const n = h.dataBytes / width;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(n);
  if (type === 0x08) data.set(bytes.subarray(start, needed));
  else {
    for (let i = 0; i < n; i++) {
      const o = start + i * width;
      switch (type) {
        case 0x09: data[i] = view.getInt8(o); break;
        case 0x0b: data[i] = view.getInt16(o, false); break;
        case 0x0c: data[i] = view.getInt32(o, false); break;
        case 0x0d: data[i] = view.getFloat32(o, false); break;
        case 0x0e: data[i] = view.getFloat64(o, false); break;
      }
    }
  }
  return { shape, data };
}

export function readArray(path: string): RawArray {
  const bytes = readBytes(path);
  return bytes.length > 0 && bytes[0] === 0x93 ? parseNpy(bytes, path) : parseIdx(bytes, path);
}

export function loadDataset(dataPath: string, labelsPath?: string, range?: Range): Dataset {
  const arr = readArray(dataPath);
  if (arr.shape.length < 1) throw badInput(`${dataPath}: expected an array with a leading sample axis, got shape ${shapeToString(arr.shape)}`);
  const total = arr.shape[0];
  const start = range?.start ?? 0;
  const end = range?.end ?? total;
  if (total === 0) throw badInput(`${dataPath}: has no samples (shape ${shapeToString(arr.shape)})`);
  if (range && (start >= total || end > total)) {
    throw badInput(`--range ${start}:${range.end ?? ''} is past the end of ${dataPath}, which has ${total} samples (indices 0 to ${total - 1})`);
  }
  const sampleShape = arr.shape.slice(1);
  const per = sizeOf(sampleShape);
  const x = arr.data.slice(start * per, end * per);
  let labels: Int32Array | undefined;
  if (labelsPath) {
    const l = readArray(labelsPath);
    if (l.shape.length !== 1) throw badInput(`${labelsPath}: labels must be a vector of class indices, got shape ${shapeToString(l.shape)}`);
    if (l.shape[0] !== total) throw badInput(`${labelsPath}: has ${l.shape[0]} labels but ${dataPath} has ${total} samples`);
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
