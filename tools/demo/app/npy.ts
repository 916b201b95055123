/**
 * Reads NumPy .npy files (format versions 1–3, little-endian, C order; float32/float64 and integer
 * dtypes) into float32, and takes the first sample of one.
 */

export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

type Reader = (v: DataView, offset: number) => number;

const READERS: Record<string, [number, Reader]> = {
  f4: [4, (v, o) => v.getFloat32(o, true)],
  f8: [8, (v, o) => v.getFloat64(o, true)],
  u1: [1, (v, o) => v.getUint8(o)],
  i1: [1, (v, o) => v.getInt8(o)],
  b1: [1, (v, o) => v.getUint8(o)],
  u2: [2, (v, o) => v.getUint16(o, true)],
  i2: [2, (v, o) => v.getInt16(o, true)],
  u4: [4, (v, o) => v.getUint32(o, true)],
  i4: [4, (v, o) => v.getInt32(o, true)],
};

function headerField(header: string, key: string): string {
  const m = new RegExp(`['"]${key}['"]\\s*:\\s*('[^']*'|"[^"]*"|True|False|\\([^)]*\\))`).exec(header);
  if (!m) throw new Error(`.npy header has no '${key}'`);
  return m[1];
}

/** The header text and where the data starts. */
function readHeader(bytes: Uint8Array): { header: string; dataStart: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new Error('not a .npy file (no \\x93NUMPY magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`.npy format version ${major} is not supported`);
  const [len, start] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  if (start + len > bytes.length) throw new Error('.npy header is truncated');
  return { header: new TextDecoder().decode(bytes.subarray(start, start + len)), dataStart: start + len };
}

function parseShape(text: string): number[] {
  return text
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(n) || n < 0) throw new Error(`.npy shape has a bad dimension "${s}"`);
      return n;
    });
}

export function parseNpy(bytes: Uint8Array): NpyArray {
  const { header, dataStart } = readHeader(bytes);
  const descr = headerField(header, 'descr').slice(1, -1);
  if (headerField(header, 'fortran_order') === 'True') throw new Error('.npy is in Fortran order; save it in C order');
  if (descr[0] === '>' && descr.slice(1) !== 'u1' && descr.slice(1) !== 'i1') throw new Error(`.npy dtype ${descr} is big-endian; expected little-endian`);
  const reader = READERS[descr.replace(/^[<>|=]/, '')];
  if (!reader) throw new Error(`.npy dtype ${descr} is not supported (float32, float64 or an integer type)`);
  const shape = parseShape(headerField(header, 'shape'));
  const count = shape.reduce((a, b) => a * b, 1);
  const [size, read] = reader;
  if (dataStart + count * size > bytes.length) throw new Error(`.npy data is truncated: shape [${shape.join(', ')}] needs ${count * size} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * size);
  return { shape, data: Float32Array.from({ length: count }, (_, i) => read(view, i * size)) };
}

/** The first sample of `sampleSize` values: the whole array if it is one sample, else row 0 of [N, ...]. */
export function firstSample(a: NpyArray, sampleSize: number): { values: Float32Array; count: number } {
  if (a.data.length === sampleSize) return { values: a.data, count: 1 };
  const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
  if (a.shape.length >= 2 && per === sampleSize && a.shape[0] > 0) return { values: a.data.slice(0, sampleSize), count: a.shape[0] };
  throw new Error(`.npy of shape [${a.shape.join(', ')}] holds no samples of ${sampleSize} values (expected one sample, or [N, …] with ${sampleSize} values per sample)`);
}
