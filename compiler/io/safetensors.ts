/**
 * The safetensors container (8-byte little-endian header length, JSON header, raw little-endian data):
 * read float tensors by key, and write float32 tensors with keys in sorted order (deterministic bytes).
 * No npm package implements the format for Node, and it is small enough to own here.
 */
import { badInput } from '../errors.js';
import { type Tensor, tensor } from '../ir/tensor.js';

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, I32: 4, I64: 8, U8: 1, I8: 1, I16: 2 };

/** Longest JSON header: the format's own limit (100 MB; the reference implementation refuses more). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** Where a safetensors file's bytes come from: a buffer, or an open file read range by range (InputFile). */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * The float tensors of a safetensors file, each decoded to float32. From a ByteSource the file is read
 * one tensor at a time, so a sidecar never sits in memory whole beside its tensors (and may exceed the
 * 2 GiB of one Node buffer).
 */
export function readSafetensors(source: Uint8Array | ByteSource, what: string): Map<string, Tensor> {
  const bytes: ByteSource = source instanceof Uint8Array ? { size: source.length, read: (o, n) => source.subarray(o, o + n) } : source;
  const size = bytes.size;
  if (size < 8) throw badInput(`${what}: too short to be a safetensors file (${size} bytes, the header length alone takes 8)`);
  const lengthBytes = bytes.read(0, 8);
  const declared = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_SAFETENSORS_HEADER)) throw badInput(`${what}: safetensors header length ${declared} is over the format's limit of ${MAX_SAFETENSORS_HEADER} bytes`);
  const headerLen = Number(declared);
  if (headerLen > size - 8) throw badInput(`${what}: safetensors header length ${headerLen} exceeds the file size (${size - 8} bytes after the length)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.read(8, headerLen)));
  } catch {
    throw badInput(`${what}: safetensors header is not valid UTF-8 JSON`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw badInput(`${what}: safetensors header must be a JSON object of tensors, got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}`);
  }
  const base = 8 + headerLen;
  const dataLen = size - base;
  const out = new Map<string, Tensor>();
  for (const [key, e] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') continue;
    const at = `${what}: tensor "${key}"`;
    const { dtype, shape, start, end } = checkedEntry(e, at, dataLen);
    const raw = bytes.read(base + start, end - start);
    if (raw.length !== end - start) throw badInput(`${at}: the file ends inside its data (it shrank while being read)`);
    out.set(key, tensor(shape.length ? shape : [1], decode(raw, dtype, at)));
  }
  return out;
}

/** One header entry, checked against the data it claims: dtype, shape, and offsets within `dataLen` bytes. */
function checkedEntry(e: unknown, at: string, dataLen: number): { dtype: string; shape: number[]; start: number; end: number } {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw badInput(`${at}: expected an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = e as Record<string, unknown>;
  const width = typeof dtype === 'string' && Object.hasOwn(BYTES, dtype) ? BYTES[dtype] : undefined;
  if (!width) throw badInput(`${at}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw badInput(`${at}: shape ${JSON.stringify(shape)} must be a list of positive integers`);
  }
  let n = 1;
  for (const d of shape as number[]) n *= d;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw badInput(`${at}: data_offsets ${JSON.stringify(offsets)} must be [start, end], two non-negative integers`);
  }
  const [start, end] = offsets as [number, number];
  if (end < start) throw badInput(`${at}: data_offsets [${start}, ${end}] end before they start`);
  if (end > dataLen) throw badInput(`${at}: data_offsets [${start}, ${end}] run past the end of the data (${dataLen} bytes)`);
  if (end - start !== n * width) {
    throw badInput(`${at}: data_offsets [${start}, ${end}] span ${end - start} bytes, but ${dtype} of shape [${shape.join(', ')}] needs ${n * width}`);
  }
  return { dtype: dtype as string, shape: shape as number[], start, end };
}

/** A tensor's little-endian bytes as float32 values (F32 copied as they are on a little-endian host). */
function decode(raw: Uint8Array, dtype: string, at: string): Float32Array {
  const n = raw.length / BYTES[dtype];
  const data = new Float32Array(n);
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    new Uint8Array(data.buffer).set(raw);
    return data;
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32': data[i] = dv.getFloat32(i * 4, true); break;
      case 'F64': data[i] = dv.getFloat64(i * 8, true); break;
      case 'F16': data[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
      case 'I32': data[i] = dv.getInt32(i * 4, true); break;
      case 'I64': data[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'U8': data[i] = dv.getUint8(i); break;
      case 'I8': data[i] = dv.getInt8(i); break;
      case 'I16': data[i] = dv.getInt16(i * 2, true); break;
    }
  }
  if (dtype === 'F64') {
    const k = data.findIndex((v, i) => !Number.isFinite(v) && Number.isFinite(dv.getFloat64(i * 8, true)));
    if (k >= 0) throw badInput(`${at}: value ${dv.getFloat64(k * 8, true)} at flat index ${k} overflows float32 (|x| ≤ 3.4028235e38)`);
  }
  return data;
}

/** An IEEE 754 half-precision value (its 16 bits) as a number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>): Uint8Array {
  const keys = [...tensors.keys()].sort();
  const header: Record<string, Entry> = {};
  let offset = 0;
  for (const k of keys) {
    const t = tensors.get(k)!;
    header[k] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const k of keys) {
    const t = tensors.get(k)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
