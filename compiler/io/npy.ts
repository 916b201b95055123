/**
 * NumPy .npy files (through npyjs): read any numeric array, write float32 arrays. Errors name the file.
 */
import { dump, parse } from 'npyjs';
import { badInput } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';

export interface NumericArray {
  readonly shape: number[];
  /** The values, converted to float32 when the file held another numeric dtype. */
  readonly data: Float32Array;
  /** The dtype stored in the file, e.g. 'f4' or 'u1'. */
  readonly dtype: string;
}

export function parseNpy(bytes: Uint8Array, what: string): NumericArray {
  let arr;
  try {
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    arr = parse(copy);
  } catch (e) {
    throw badInput(`${what}: not a readable .npy file (${(e as Error).message})`);
  }
  const src = arr.data;
  let data: Float32Array;
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) data = Float32Array.from(src, (v) => Number(v));
  else if (typeof (src as { length?: unknown }).length !== 'number' || String(arr.dtype).startsWith('U') || String(arr.dtype).startsWith('c')) {
    throw badInput(`${what}: dtype ${arr.dtype} is not a real numeric type`);
  } else data = src instanceof Float32Array ? src : Float32Array.from(src as unknown as ArrayLike<number>);
  return { shape: arr.shape, dtype: arr.dtype, data: arr.fortranOrder ? toCOrder(data, arr.shape) : data };
}

/** A column-major (Fortran-ordered, as NumPy writes transposed arrays) array in row-major order. */
function toCOrder(data: Float32Array, shape: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let k = shape.length - 1; k >= 0; k--) f = f * shape[k] + idx[k];
    out[c] = data[f];
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Uint8Array {
  return new Uint8Array(dump(data, [...shape], { dtype: 'f4' }));
}

export function writeNpyFloat32(path: string, data: Float32Array, shape: readonly number[]): void {
  writeFileAtomic(path, encodeNpyFloat32(data, shape));
}
