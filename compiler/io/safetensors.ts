/**
 * The safetensors container (8-byte little-endian header length, JSON header, raw little-endian data):
 * read float tensors by key, and write float32 tensors with keys in sorted order (deterministic bytes).
 * No npm package implements the format for Node, and it is small enough to own here.
 */
import { badInput } from '../errors.js';
import { type Tensor, sizeOf, tensor } from '../ir/tensor.js';

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, I32: 4, I64: 8, U8: 1, I8: 1, I16: 2 };

export function readSafetensors(bytes: Uint8Array, what: string): Map<string, Tensor> {
  if (bytes.length < 8) throw badInput(`${what}: too short to be a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) throw badInput(`${what}: safetensors header length ${headerLen} exceeds the file size`);
  let header: Record<string, Entry>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    throw badInput(`${what}: safetensors header is not valid JSON`);
  }
  const base = 8 + headerLen;
  const out = new Map<string, Tensor>();
  for (const [key, e] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const width = BYTES[e?.dtype];
    if (!width) throw badInput(`${what}: tensor "${key}" has unsupported dtype ${e?.dtype}`);
    const [start, end] = e.data_offsets ?? [];
    const n = sizeOf(e.shape ?? []);
    if (!Number.isInteger(start) || end - start !== n * width || base + end > bytes.length) {
      throw badInput(`${what}: tensor "${key}" has data offsets that do not match its shape or the file size`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset + base + start, end - start);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      switch (e.dtype) {
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
    out.set(key, tensor(e.shape.length ? e.shape : [1], data));
  }
  return out;
}

function halfToFloat(h: number): number {
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
