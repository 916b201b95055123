/**
 * Dense float32 tensors, the only tensor type in the IR (weights, biases, recurrent matrices).
 * Owns construction with shape checking, and the one layout change several stages share (a matrix's
 * transpose); arithmetic lives with the code that needs it.
 */

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Builds a tensor, checking that `data` holds exactly `shape`'s element count. */
export function tensor(shape: readonly number[], data: Float32Array): Tensor {
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`tensor shape ${shapeToString(shape)} must have positive integer dimensions`);
  }
  if (data.length !== sizeOf(shape)) {
    throw new Error(`tensor data has ${data.length} elements, shape ${shapeToString(shape)} needs ${sizeOf(shape)}`);
  }
  return { shape: [...shape], data };
}

/** Index of the first NaN or ±Inf element, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** A row-major [rows, cols] matrix as [cols, rows], into `out` (a new array by default). */
export function transposeMatrix(a: Float32Array, rows: number, cols: number, out: Float32Array = new Float32Array(a.length)): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
