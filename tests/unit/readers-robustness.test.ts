/**
 * Input readers against hostile files: special files (devices, FIFOs, directories) and oversized ones,
 * truncated and lying .npy / idx headers, gzip bombs, malformed safetensors, deeply nested JSON,
 * float32 overflow, NaN/Inf ONNX initializers, external ONNX data, --range past the data. Each must be
 * a named SnncError (bad input), never a hang, a crash or unbounded memory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import onnxPkg from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { parseModelJson, readModelJson } from '../../compiler/ir/serialize/read.js';
import { parseOnnx, readOnnx } from '../../compiler/frontends/onnx/read.js';
import { MAX_JSON_DEPTH } from '../../compiler/io/json-document.js';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import { encodeSafetensors, readSafetensors } from '../../compiler/io/safetensors.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { loadDataset, parseRange, readArray } from '../../compiler/io/datasets.js';
import { readArchitecture } from '../../training/architecture.js';
import { snncError, snncErrorMessage } from '../helpers/errors.js';
import { convAnn } from '../helpers/onnx-ann.js';
import { tempDir } from '../helpers/tmp.js';

const onnx = onnxPkg.onnx;
const dir = tempDir('snnc-readers-');
const MNIST = '../shared/fixtures/data/mnist';

function write(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const tiny = (weight: unknown, extra: Record<string, unknown> = {}) => ({
  format: 'snnc-model',
  version: 1,
  input: { shape: [3] },
  layers: [{ name: 'fc', type: 'dense', weight }, { name: 'n', type: 'if' }],
  ...extra,
});

/** A .npy file with a hand-written header dict (padded as NumPy does) followed by `data`. */
function npy(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let header = dict;
  header += ' '.repeat(63 - ((pre + header.length) % 64)) + '\n';
  const head = Buffer.alloc(pre);
  head.set([0x93, ...Buffer.from('NUMPY'), version, 0]);
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const idxHeader = (type: number, shape: number[]) => {
  const b = Buffer.alloc(4 + 4 * shape.length);
  b.set([0, 0, type, shape.length]);
  shape.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
};

/** Runs the built CLI with a time limit: a reader that blocks fails the test instead of hanging it. */
function snncTimed(args: string[]): { code: number | null; stderr: string; timedOut: boolean } {
  const r = spawnSync(process.execPath, [resolve('bin/snnc.js'), ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SNNC_DEBUG: '' } });
  return { code: r.status, stderr: r.stderr, timedOut: r.signal === 'SIGTERM' };
}

describe('special and oversized files are refused before reading', () => {
  it('/dev/zero as a model, an ONNX model, a data file', () => {
    expect(snncErrorMessage(() => readModelJson('/dev/zero'))).toMatch(/^\/dev\/zero: cannot read model file \(it is a character device; snnc reads regular files only\)$/);
    expect(snncErrorMessage(() => readOnnx('/dev/zero'))).toMatch(/\/dev\/zero: .*character device/);
    expect(snncErrorMessage(() => loadDataset('/dev/zero'))).toMatch(/\/dev\/zero: cannot read data file \(it is a character device/);
  });

  it('a directory as a model, a data file, labels', () => {
    const d = join(dir, 'a-folder');
    mkdirSync(d, { recursive: true });
    expect(snncErrorMessage(() => readModelJson(d))).toMatch(/a-folder: cannot read model file \(it is a directory/);
    expect(snncErrorMessage(() => loadDataset(d))).toMatch(/a-folder: cannot read data file \(it is a directory/);
    expect(snncErrorMessage(() => loadDataset(`${MNIST}/t10k-labels-idx1-ubyte.gz`, d))).toMatch(/a-folder: .*directory/);
    expect(snncErrorMessage(() => readArchitecture(d))).toMatch(/a-folder: cannot read architecture file \(it is a directory/);
  });

  it('files over the size caps (sparse: nothing is written) are refused from their size alone', () => {
    const big = join(dir, 'big.npy');
    writeFileSync(big, '');
    truncateSync(big, 3 * 2 ** 30);
    expect(snncErrorMessage(() => readArray(big))).toMatch(/big\.npy: cannot read data file \(it has 3221225472 bytes, more than the limit of 2147483647 bytes/);
    const json = join(dir, 'big.json');
    writeFileSync(json, '');
    truncateSync(json, 600 * 2 ** 20);
    expect(snncErrorMessage(() => readModelJson(json))).toMatch(/big\.json: cannot read model file \(it has 629145600 bytes, more than the limit of \d+ bytes \(\d+(\.\d)? MiB, V8's maximum string length/);
  });

  it('a FIFO as a model, a safetensors sidecar, and data fails at once (CLI, with a time limit)', () => {
    const fifoDir = join(dir, 'fifo');
    mkdirSync(fifoDir, { recursive: true });
    const fifo = join(fifoDir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    // Only through the CLI, with a time limit: in this process, a reader that opened the FIFO would block the test run.
    const model = join(fifoDir, 'model.json');
    writeFileSync(model, JSON.stringify(tiny({ file: 'pipe.safetensors' })));
    const sidecar = snncTimed(['check', model, '--target', 'gpu']);
    expect(sidecar.timedOut).toBe(false);
    expect(sidecar.code).toBe(2);
    expect(sidecar.stderr).toMatch(/model\.json: layer "fc" weight: cannot read sidecar file "pipe\.safetensors" \(it is a named pipe \(FIFO\)/);
    const fifoModel = join(fifoDir, 'pipe-model.json');
    execFileSync('mkfifo', [fifoModel]);
    const asModel = snncTimed(['check', fifoModel, '--target', 'gpu']);
    expect(asModel.timedOut).toBe(false);
    expect(asModel.code).toBe(2);
    expect(asModel.stderr).toMatch(/pipe-model\.json: cannot read model file \(it is a named pipe \(FIFO\)/);
    const ok = join(fifoDir, 'ok.json');
    writeFileSync(ok, JSON.stringify(tiny([[1, 2, 3]])));
    const asData = snncTimed(['simulate', ok, '--data', fifo]);
    expect(asData.timedOut).toBe(false);
    expect(asData.code).toBe(2);
    expect(asData.stderr).toMatch(/pipe\.safetensors: cannot read data file \(it is a named pipe/);
  });
});

describe('truncated and lying .npy and idx files', () => {
  it('truncated data names the expected and actual bytes', () => {
    const full = encodeNpyFloat32(new Float32Array(12), [3, 4]);
    const cut = write('cut.npy', full.subarray(0, full.length - 10));
    expect(snncErrorMessage(() => readArray(cut))).toMatch(/cut\.npy: truncated \.npy file: shape \(3, 4\) of f4 needs 48 bytes of data, the file has 38/);
    const headerCut = write('headcut.npy', full.subarray(0, 20));
    expect(snncErrorMessage(() => readArray(headerCut))).toMatch(/headcut\.npy: truncated \.npy file \(20 bytes, shorter than its header\)/);
    // idx: the header says rank 3, the file ends inside the dimensions (was a DataView RangeError).
    const idxCut = write('cut.idx', Buffer.from([0, 0, 8, 3, 0, 0, 0, 10]));
    expect(snncErrorMessage(() => readArray(idxCut))).toMatch(/cut\.idx: truncated idx file \(8 bytes, shorter than its header\)/);
    const idxData = write('cutdata.idx', Buffer.concat([idxHeader(8, [10, 2, 2]), Buffer.alloc(7)]));
    expect(snncErrorMessage(() => readArray(idxData))).toMatch(/truncated idx file: shape \[10, 2, 2\] needs 56 bytes, the file has 23/);
    expect(snncErrorMessage(() => readArray(write('extra.idx', Buffer.concat([idxHeader(8, [1, 2]), Buffer.alloc(5)]))))).toMatch(/shape \[1, 2\] needs 14 bytes, the file has 17/);
  });

  it('headers that lie about shape or dtype, or are malformed, are refused before allocating', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['more-data', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32(1, 2, 3)), /shape \(2\) of f4 needs 8 bytes of data, the file has 12/],
      ['complex', npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", f32(1, 2)), /dtype "<c8" is not supported/],
      ['unicode', npy("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(12)), /dtype "<U3" is not supported/],
      ['object', npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), /dtype "\|O" is not supported/],
      ['structured', npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", f32(1)), /structured dtypes are not supported/],
      ['fortran-str', npy("{'descr': '<f4', 'fortran_order': 'yes', 'shape': (1,), }", f32(1)), /"fortran_order" must be True or False/],
      ['fortran-missing', npy("{'descr': '<f4', 'shape': (1,), }", f32(1)), /"fortran_order" must be True or False/],
      ['negative', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }", f32(1)), /dimension -1 is not a non-negative integer/],
      ['huge', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", f32(1)), /shape \(4294967296, 4294967296\) is too large/],
      ['huge-fits-number', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }", f32(1)), /needs 800000000000 bytes of data, the file has 4/],
      ['garbage', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), nonsense", f32(1)), /malformed \.npy header/],
      ['not-a-dict', npy('[1, 2, 3]', f32(1)), /malformed \.npy header: expected a dict/],
      ['extra-key', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", f32(1)), /unexpected key "x"/],
      ['float-dim', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", f32(1)), /malformed \.npy header/],
      ['version', (() => { const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f32(1)); b[6] = 9; return b; })(), /format version 9\.0 is not supported/],
      ['long-header', (() => { const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f32(1), 2); new DataView(b.buffer, b.byteOffset).setUint32(8, 0xfffffff0, true); return b; })(), /header of 4294967280 bytes is longer than the limit/],
      ['f8-overflow', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(Float64Array.of(1, 1e39).buffer)), /value 1e\+39 at flat index 1 overflows float32/],
    ];
    for (const [name, bytes, re] of cases) {
      const msg = snncErrorMessage(() => readArray(write(`${name}.npy`, bytes)));
      expect(msg, name).toMatch(re);
      expect(msg, name).toContain(`${name}.npy`);
    }
  });

  it('valid headers in NumPy and npyjs spellings, version 2, big-endian and Fortran order still read', () => {
    const a = readArray(write('v2.npy', npy("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 2), }", Buffer.from([0, 1, 0, 3, 0, 2, 0, 4]), 2)));
    expect(a.shape).toEqual([2, 2]);
    expect([...a.data]).toEqual([1, 2, 3, 4]);
    const b = readArray(write('compact.npy', npy("{'descr':'<f4','fortran_order':False,'shape':(3,)}", f32(1, 2, 3))));
    expect([...b.data]).toEqual([1, 2, 3]);
  });
});

describe('gzip', () => {
  /** A gzip bomb: an idx header declaring [1, 28, 28] u8 (800 bytes), then `mib` MiB of zeros. */
  function bomb(mib: number, shape = [1, 28, 28]): Buffer {
    // Concatenated gzip members (valid gzip): one member of header + 8 MiB zeros, then 8 MiB members.
    const block = gzipSync(Buffer.alloc(8 * 2 ** 20), { level: 9 });
    const first = gzipSync(Buffer.concat([idxHeader(8, shape), Buffer.alloc(8 * 2 ** 20)]), { level: 9 });
    return Buffer.concat([first, ...Array.from({ length: mib / 8 - 1 }, () => block)]);
  }

  it('a bomb stops as soon as the output outgrows the declared size, without the memory', () => {
    const file = write('bomb-idx3-ubyte.gz', bomb(200));
    expect(file.length).toBeGreaterThan(0);
    const before = process.resourceUsage().maxRSS;
    expect(snncErrorMessage(() => readArray(file))).toMatch(/bomb-idx3-ubyte\.gz: gzip data decompresses to more than the 800 bytes its header declares \(shape \[1, 28, 28\]\)/);
    const grewMiB = (process.resourceUsage().maxRSS - before) / 1024;
    expect(grewMiB).toBeLessThan(64); // the whole bomb is 200 MiB
  });

  it('a declared size over the cap is refused before decompressing; truncated or corrupt data is named', () => {
    const huge = write('huge.gz', gzipSync(idxHeader(8, [60000, 1000, 1000])));
    expect(snncErrorMessage(() => readArray(huge))).toMatch(/huge\.gz: header declares shape \[60000, 1000, 1000\], 60000000016 bytes decompressed, more than the limit of 2147483647 bytes/);
    const short = write('short.gz', gzipSync(Buffer.concat([idxHeader(8, [100, 28, 28]), Buffer.alloc(100)])));
    expect(snncErrorMessage(() => readArray(short))).toMatch(/short\.gz: truncated idx file: shape \[100, 28, 28\] needs 78416 bytes, the file has 116/);
    const gz = gzipSync(encodeNpyFloat32(Float32Array.of(1, 2, 3), [3]));
    expect([...readArray(write('ok.npy.gz', gz)).data]).toEqual([1, 2, 3]);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xff, 20, 40);
    expect(snncErrorMessage(() => readArray(write('corrupt.gz', corrupt)))).toMatch(/corrupt\.gz: (corrupt gzip data|malformed|truncated|not an idx)/);
    expect(snncErrorMessage(() => readArray(write('cut.gz', gz.subarray(0, 15))))).toMatch(/cut\.gz: /);
  });
});

describe('safetensors', () => {
  const good = encodeSafetensors(new Map([['w', tensor([1, 3], Float32Array.of(1, 2, 3))]]));
  /** A file with the given header object (or raw header text) and `data` bytes. */
  function st(header: unknown, data = new Uint8Array(12), raw?: string): Uint8Array {
    const text = Buffer.from(raw ?? JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    return Buffer.concat([len, text, data]);
  }
  const entry = (e: Record<string, unknown>) => ({ w: { dtype: 'F32', shape: [1, 3], data_offsets: [0, 12], ...e } });

  it('reads a good file', () => {
    expect([...readSafetensors(good, 'g').get('w')!.data]).toEqual([1, 2, 3]);
  });

  it('every kind of malformed header is a named error', () => {
    const cases: [Uint8Array, RegExp][] = [
      [st(entry({ shape: [0, 3] })), /tensor "w": shape \[0,3\] must be a list of positive integers/],
      [st(entry({ shape: [-1, 3] })), /shape \[-1,3\] must be a list/],
      [st(entry({ shape: ['1', 3] })), /shape \["1",3\] must be a list/],
      [st(entry({ shape: [1.5, 2] })), /shape \[1\.5,2\] must be a list/],
      [st(entry({ shape: 'big' })), /shape "big" must be a list/],
      [st(null, undefined, 'null'), /header must be a JSON object of tensors, got null/],
      [st(null, undefined, '[1]'), /got an array/],
      [st(null, undefined, '7'), /got number/],
      [st({ w: null }), /tensor "w": expected an object/],
      [st(entry({ data_offsets: [-8, 4] })), /data_offsets \[-8,4\] must be \[start, end\], two non-negative integers/],
      [st(entry({ data_offsets: [12, 0] })), /data_offsets \[12, 0\] end before they start/],
      [st(entry({ data_offsets: [0, 16] })), /data_offsets \[0, 16\] run past the end of the data \(12 bytes\)/],
      [st(entry({ data_offsets: [0, 8] })), /data_offsets \[0, 8\] span 8 bytes, but F32 of shape \[1, 3\] needs 12/],
      [st(entry({ data_offsets: '0-12' })), /data_offsets "0-12" must be/],
      [st(entry({ dtype: 'BF16' })), /unsupported dtype "BF16"/],
      [st(entry({ dtype: 'toString' })), /unsupported dtype "toString"/],
      [st(null, undefined, '{not json'), /header is not valid UTF-8 JSON/],
      [(() => { const b = Buffer.from(good); b.writeBigUInt64LE(BigInt(good.length)); return b; })(), /header length \d+ exceeds the file size/],
      [(() => { const b = Buffer.from(good); b.writeBigUInt64LE(2n ** 63n); return b; })(), /header length 9223372036854775808 is over the format's limit of 100000000 bytes/],
      [good.subarray(0, 5), /too short to be a safetensors file/],
      [st({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(Float64Array.of(-1e39).buffer)), /value -1e\+39 at flat index 0 overflows float32/],
    ];
    for (const [bytes, re] of cases) expect(snncErrorMessage(() => readSafetensors(bytes, 'w.safetensors'))).toMatch(new RegExp(`^w\\.safetensors: .*${re.source}`));
  });

  it('a bad sidecar is reported with the model file and the layer', () => {
    const d = join(dir, 'st');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'w.safetensors'), st(entry({ data_offsets: [-4, 8] })));
    writeFileSync(join(d, 'w.npy'), npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", new Uint8Array(0)));
    writeFileSync(join(d, 'm.json'), JSON.stringify(tiny({ file: 'w.safetensors' })));
    writeFileSync(join(d, 'n.json'), JSON.stringify(tiny({ file: 'w.npy' })));
    expect(snncErrorMessage(() => readModelJson(join(d, 'm.json')))).toMatch(/m\.json: layer "fc" weight: w\.safetensors: tensor "w": data_offsets \[-4,8\]/);
    expect(snncErrorMessage(() => readModelJson(join(d, 'n.json')))).toMatch(/n\.json: layer "fc" weight: w\.npy has shape \[0, 3\]; a tensor needs positive dimensions/);
  });
});

describe('JSON documents', () => {
  const deep = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n);

  it(`nesting deeper than ${MAX_JSON_DEPTH} is refused before the recursive validators (model.json, architecture)`, () => {
    const text = JSON.stringify(tiny('WEIGHT')).replace('"WEIGHT"', deep(5000));
    expect(snncErrorMessage(() => parseModelJson(text, 'deep.json'))).toMatch(/^deep\.json:1:\d+: JSON nested more than 256 levels deep$/);
    expect(snncErrorMessage(() => parseModelJson(deep(5000), 'deep.json'))).toMatch(/nested more than 256/);
    const arch = write('deep-arch.json', `{"input": {"shape": [1]}, "layers": ${deep(5000)}}`);
    expect(snncErrorMessage(() => readArchitecture(arch))).toMatch(/deep-arch\.json:1:\d+: JSON nested more than 256 levels deep/);
    // Brackets inside strings do not count.
    expect(() => parseModelJson(JSON.stringify(tiny([[1, 2, 3]], { name: '['.repeat(5000) })), 'strings.json')).not.toThrow();
  });

  it('numbers that overflow float32 are refused, naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [tiny([[1, 2, 3]], { input: { shape: [3], preprocess: { scale: 1e39 } } }), /\/input\/preprocess\/scale: 1e\+39 overflows float32/],
      [tiny([[1, 2, 3]], { input: { shape: [3], preprocess: { mean: 1e39 } } }), /\/input\/preprocess\/mean: /],
      [tiny([[1, 2, 3]], { input: { shape: [3], preprocess: { std: [1, -1e39, 1] } } }), /\/input\/preprocess\/std\/1: -1e\+39 overflows float32/],
      [tiny([[1, 1e39, 3]]), /layer "fc" weight\[0\]\[1\]: 1e\+39 overflows float32/],
      [tiny({ shape: [1, 3], data: [1, 2, -1e39] }), /layer "fc" weight: data\[2\]: -1e\+39 overflows float32/],
      [{ ...tiny([[1, 2, 3]]), layers: [{ name: 'fc', type: 'dense', weight: [[1, 2, 3]] }, { name: 'n', type: 'if', threshold: 1e39 }] }, /\/layers\/1\/threshold: 1e\+39 overflows float32/],
    ];
    for (const [doc, re] of cases) expect(snncErrorMessage(() => parseModelJson(JSON.stringify(doc), 'f32.json'))).toMatch(new RegExp(`^f32\\.json.*${re.source}`));
    // The largest float32 itself is fine.
    expect(() => parseModelJson(JSON.stringify(tiny([[1, 3.4028234663852886e38, 3]])), 'max.json')).not.toThrow();
  });
});

describe('ONNX', () => {
  const decode = () => onnx.ModelProto.decode(convAnn());
  const init = (m: onnxPkg.onnx.ModelProto, name: string) => m.graph!.initializer!.find((t) => t.name === name)!;
  const encode = (m: onnxPkg.onnx.ModelProto) => onnx.ModelProto.encode(m).finish();
  const setFloats = (t: onnxPkg.onnx.ITensorProto, v: number[]) => {
    t.rawData = new Uint8Array(0);
    t.floatData = v;
  };

  it('NaN/Inf initializers name the file and the initializer', () => {
    const m = decode();
    const w = init(m, 'w3');
    setFloats(w, Array.from({ length: 40 }, (_, i) => (i === 7 ? NaN : 0.1)));
    expect(snncErrorMessage(() => parseOnnx(encode(m), 'nan.onnx'))).toMatch(/^nan\.onnx: initializer "w3" has a non-finite value \(NaN\) at flat index 7$/);
    setFloats(w, Array.from({ length: 40 }, (_, i) => (i === 3 ? -Infinity : 0.1)));
    expect(snncErrorMessage(() => parseOnnx(encode(m), 'inf.onnx'))).toMatch(/^inf\.onnx: initializer "w3" has a non-finite value \(-Infinity\) at flat index 3$/);
  });

  it('huge, negative or mismatched dims are refused before allocating', () => {
    const m = decode();
    const w = init(m, 'w3');
    w.dims = [1e9, 1e9];
    expect(snncErrorMessage(() => parseOnnx(encode(m), 'huge.onnx'))).toMatch(/huge\.onnx: initializer "w3" of shape \[1000000000,1000000000\] would take 4000000000000000000 bytes, more than the limit/);
    w.dims = [-1, 8];
    expect(snncErrorMessage(() => parseOnnx(encode(m), 'neg.onnx'))).toMatch(/neg\.onnx: initializer "w3" has dimensions \[-1,8\]; expected non-negative integers/);
    w.dims = [5, 9];
    expect(snncErrorMessage(() => parseOnnx(encode(m), 'mismatch.onnx'))).toMatch(/mismatch\.onnx: initializer "w3" has \d+ (bytes of data|values), shape \[5,9\] needs/);
    const big = decode();
    big.graph!.input![0].type!.tensorType!.shape!.dim![2].dimValue = 1e12;
    expect(snncErrorMessage(() => parseOnnx(encode(big), 'bigin.onnx'))).toMatch(/bigin\.onnx: input "image" has per-sample shape \[2,1000000000000,10\]; each dimension must be at most 16777216/);
  });

  it('external data: a missing file is named with the tensor; a present one is read; escapes are refused', () => {
    const d = join(dir, 'ext');
    mkdirSync(d, { recursive: true });
    const m = decode();
    const w = init(m, 'w3');
    const values = w.rawData?.length ? new Uint8Array(w.rawData) : new Uint8Array(Float32Array.from(w.floatData!).buffer);
    w.rawData = new Uint8Array(0);
    w.floatData = [];
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '16' }, { key: 'length', value: String(values.length) }];
    const file = join(d, 'ext.onnx');
    writeFileSync(file, encode(m));
    expect(snncErrorMessage(() => readOnnx(file))).toMatch(/ext\.onnx: weights\.bin: cannot read the external data of tensor "w3" \(ENOENT\)/);
    writeFileSync(join(d, 'weights.bin'), Buffer.concat([Buffer.alloc(16), values]));
    const layer = readOnnx(file).layers.find((l) => l.op === 'dense')!;
    expect(layer).toBeDefined();
    writeFileSync(join(d, 'weights.bin'), Buffer.alloc(20));
    expect(snncErrorMessage(() => readOnnx(file))).toMatch(/tensor "w3" has external data \[16, 176\) past the end of "weights\.bin" \(20 bytes\)/);
    w.externalData = [{ key: 'location', value: '../../etc/passwd' }];
    expect(snncErrorMessage(() => parseOnnx(encode(m), file))).toMatch(/tensor "w3" has external data "\.\.\/\.\.\/etc\/passwd" outside the model's folder/);
  });

  it('truncated and corrupt protobufs are named errors at every cut', () => {
    const bytes = convAnn();
    for (let cut = 1; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 97))) {
      try {
        parseOnnx(bytes.subarray(0, cut), 'cut.onnx');
      } catch (e) {
        expect(snncError(() => { throw e; }).message).toMatch(/^cut\.onnx: /);
      }
    }
    const noOutput = decode();
    noOutput.graph!.node![2].output = [];
    expect(snncErrorMessage(() => parseOnnx(encode(noOutput), 'noout.onnx'))).toMatch(/noout\.onnx: node "\w*conv1" \(Conv\) has no output/);
  });
});

describe('--range', () => {
  const images = `${MNIST}/t10k-images-idx3-ubyte.gz`;
  it('past the data is an error naming the range and the sample count', () => {
    expect(snncErrorMessage(() => loadDataset(images, undefined, parseRange('0:20000')))).toMatch(/--range 0:20000 is past the end of .*t10k-images-idx3-ubyte\.gz, which has 10000 samples/);
    expect(snncErrorMessage(() => loadDataset(images, undefined, parseRange('10000:')))).toMatch(/--range 10000: is past the end .* 10000 samples/);
    expect(loadDataset(images, undefined, parseRange('9990:10000')).n).toBe(10);
  });
  it('malformed ranges', () => {
    for (const r of ['5:2', '3:3', 'a:b', '-1:3', '1.5:3', '1', '']) expect(snncErrorMessage(() => parseRange(r)), r).toMatch(/--range/);
    expect(snncErrorMessage(() => parseRange('0:99999999999999999999'))).toMatch(/below 2\^53/);
  });
});
