/**
 * NumPy .npy files: read any real numeric array (own parser: the header is checked in full, and the
 * data's size against it, before anything is allocated), write float32 arrays (through npyjs). Errors
 * name the file.
 */
import { dump } from 'npyjs';
import { badInput } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { halfToFloat } from './safetensors.js';

export interface NumericArray {
  readonly shape: number[];
  /** The values, converted to float32 when the file held another numeric dtype. */
  readonly data: Float32Array;
  /** The dtype stored in the file, e.g. 'f4' or 'u1'. */
  readonly dtype: string;
}

/** Longest header read: NumPy itself refuses headers over 10 000 bytes by default. */
export const MAX_NPY_HEADER = 65_536;

export const isNpy = (bytes: Uint8Array): boolean => bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY';

export interface NpyHeader {
  readonly shape: number[];
  /** Type code without byte order, e.g. 'f4'. */
  readonly dtype: string;
  readonly littleEndian: boolean;
  readonly itemsize: number;
  readonly fortranOrder: boolean;
  /** Offset of the data. */
  readonly dataOffset: number;
  /** Bytes of data the header declares: shape product × itemsize. */
  readonly dataBytes: number;
}

const KINDS: Record<string, number[]> = { b: [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [2, 4, 8] };

/**
 * Parses the header at the start of `bytes`, or returns undefined when `bytes` is a prefix too short
 * to hold it (streamed input reads more). Throws a named error for anything malformed.
 */
export function parseNpyHeader(bytes: Uint8Array, what: string): NpyHeader | undefined {
  if (bytes.length < 10) return undefined;
  if (!isNpy(bytes)) throw badInput(`${what}: not a .npy file (bad magic string)`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw badInput(`${what}: .npy format version ${major}.${bytes[7]} is not supported (1.0 to 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major > 1 && bytes.length < 12) return undefined;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (headerLen > MAX_NPY_HEADER) throw badInput(`${what}: .npy header of ${headerLen} bytes is longer than the limit of ${MAX_NPY_HEADER}`);
  if (bytes.length < start + headerLen) return undefined;
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const dict = parsePyDict(text, what);
  const bad = (msg: string) => badInput(`${what}: malformed .npy header: ${msg} (header: ${JSON.stringify(text.trim().slice(0, 200))})`);
  for (const k of Object.keys(dict)) if (!['descr', 'fortran_order', 'shape'].includes(k)) throw bad(`unexpected key "${k}"`);
  const { descr, fortran_order: fortran, shape } = dict;
  if (typeof descr !== 'string') throw bad(Array.isArray(descr) ? 'structured dtypes are not supported' : '"descr" must be a dtype string');
  if (typeof fortran !== 'boolean') throw bad('"fortran_order" must be True or False');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw bad('"shape" must be a tuple of integers');
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const kind = m?.[2];
  const itemsize = Number(m?.[3]);
  if (!m || !kind || !KINDS[kind]?.includes(itemsize)) {
    throw badInput(`${what}: .npy dtype "${descr}" is not supported (expected a real numeric type: bool, int8–int64, uint8–uint64, float16/32/64)`);
  }
  if (m[1] === '|' && itemsize > 1) throw bad(`dtype "${descr}" needs a byte order`);
  let elements = 1;
  for (const d of shape as number[]) {
    if (!Number.isSafeInteger(d) || d < 0) throw bad(`dimension ${d} is not a non-negative integer`);
    elements *= d;
  }
  const dataBytes = elements * itemsize;
  if (!Number.isSafeInteger(dataBytes)) throw bad(`shape (${(shape as number[]).join(', ')}) is too large`);
  return {
    shape: shape as number[],
    dtype: `${kind}${itemsize}`,
    littleEndian: m[1] !== '>',
    itemsize,
    fortranOrder: fortran,
    dataOffset: start + headerLen,
    dataBytes,
  };
}

export function parseNpy(bytes: Uint8Array, what: string): NumericArray {
  const h = parseNpyHeader(bytes, what);
  if (!h) throw badInput(`${what}: truncated .npy file (${bytes.length} bytes, shorter than its header)`);
  const got = bytes.length - h.dataOffset;
  if (got !== h.dataBytes) {
    throw badInput(`${what}: ${got < h.dataBytes ? 'truncated .npy file: ' : ''}shape (${h.shape.join(', ')}) of ${h.dtype} needs ${h.dataBytes} bytes of data, the file has ${got}`);
  }
  const n = h.dataBytes / h.itemsize;
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, h.dataBytes);
  const data = new Float32Array(n);
  const le = h.littleEndian;
  const read: (o: number) => number = {
    b1: (o: number) => (view.getUint8(o) ? 1 : 0),
    i1: (o: number) => view.getInt8(o),
    u1: (o: number) => view.getUint8(o),
    i2: (o: number) => view.getInt16(o, le),
    u2: (o: number) => view.getUint16(o, le),
    i4: (o: number) => view.getInt32(o, le),
    u4: (o: number) => view.getUint32(o, le),
    i8: (o: number) => Number(view.getBigInt64(o, le)),
    u8: (o: number) => Number(view.getBigUint64(o, le)),
    f2: (o: number) => halfToFloat(view.getUint16(o, le)),
    f4: (o: number) => view.getFloat32(o, le),
    f8: (o: number) => view.getFloat64(o, le),
  }[h.dtype]!;
  if (h.dtype === 'f4' && le) new Uint8Array(data.buffer).set(bytes.subarray(h.dataOffset, h.dataOffset + h.dataBytes));
  else if (h.dtype === 'u1') data.set(bytes.subarray(h.dataOffset, h.dataOffset + h.dataBytes));
  else for (let i = 0; i < n; i++) data[i] = read(i * h.itemsize);
  if (h.dtype === 'f8') {
    const k = data.findIndex((v, i) => !Number.isFinite(v) && Number.isFinite(read(i * 8)));
    if (k >= 0) throw badInput(`${what}: value ${read(k * 8)} at flat index ${k} overflows float32 (|x| ≤ 3.4028235e38)`);
  }
  return { shape: h.shape, dtype: h.dtype, data: h.fortranOrder ? toCOrder(data, h.shape) : data };
}

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

/**
 * The Python literal of a .npy header: a dict of string keys to strings, integers, True/False/None,
 * tuples and lists (nested at most a few levels: the header is short and its depth bounded).
 */
function parsePyDict(text: string, what: string): Record<string, PyValue> {
  let i = 0;
  const fail = (msg: string): never => {
    throw badInput(`${what}: malformed .npy header: ${msg} at character ${i} (header: ${JSON.stringify(text.trim().slice(0, 200))})`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 8) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[' || c === '{') {
      const close = c === '(' ? ')' : c === '[' ? ']' : '}';
      i++;
      const items: PyValue[] = [];
      const obj: Record<string, PyValue> = Object.create(null);
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        if (c === '{') {
          const k = value(depth + 1);
          if (typeof k !== 'string') fail('dict keys must be strings');
          ws();
          if (text[i] !== ':') fail('expected ":"');
          i++;
          if (Object.hasOwn(obj, k as string)) fail(`duplicate key "${k}"`);
          obj[k as string] = value(depth + 1);
        } else items.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
      return c === '{' ? obj : items;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) return fail('unexpected character');
    i += m[1].length;
    return m[1] === 'True' ? true : m[1] === 'False' ? false : m[1] === 'None' ? null : Number(m[1].replace('L', ''));
  };
  ws();
  if (text[i] !== '{') fail('expected a dict');
  const dict = value(0);
  ws();
  if (i < text.length) fail('unexpected text after the dict');
  return dict as Record<string, PyValue>;
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
