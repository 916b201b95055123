/**
 * One fuzz generator per frontend: a valid seed input, mutated structurally (where the format has
 * structure) or at the byte level, written into a case folder, then read through snnc's public entry
 * points (and, where the reader returns something runnable, run on a small input). A case passes when it
 * loads or fails with an SnncError; any other exception is an internal error.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import onnxPkg from 'onnx-proto';
import { SnncError } from '../../compiler/errors.js';
import { loadModel } from '../../compiler/frontends/index.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { loadDataset, readArray } from '../../compiler/io/datasets.js';
import { LoihiEmulator, readLoihiFolder } from '../../targets/loihi/emulator.js';
import { OrtRunner } from '../../runtime/ort-runner.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { SpinnakerEmulator, readSpinnakerFolder } from '../../targets/spinnaker/emulator.js';
import { gpuTarget } from '../../targets/gpu/index.js';
import { loihiTarget } from '../../targets/loihi/index.js';
import { spinnakerTarget } from '../../targets/spinnaker/index.js';
import { type H5Group, readTree, treeMutation, writeTree } from './hdf5-tree.js';
import { type Json, type Mutation, byteMutation, jsonFileMutation, jsonMutation } from './mutate.js';

const onnx = onnxPkg.onnx;

/** The repository root (this file runs from dist/bench/fuzz/). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = join(REPO, '..', 'shared', 'fixtures');

/** A generated case: a description of the mutation and how to write its files into a case folder. */
export interface FuzzCase {
  readonly desc: string;
  write(dir: string): Promise<void> | void;
}

export interface LoadedFrontend {
  readonly arb: fc.Arbitrary<FuzzCase>;
  /** Reads (and runs) what `write` put in `dir`; throws what snnc throws. */
  run(dir: string): Promise<void>;
}

export interface Frontend {
  readonly name: string;
  readonly what: string;
  /** 'process' for frontends that call native code that could take the harness down with it. */
  readonly isolation: 'thread' | 'process';
  load(seedDir: string): Promise<LoadedFrontend>;
}

/**
 * Runs every step; an SnncError does not stop the later steps, anything else propagates at once. Ends
 * by throwing the first SnncError, so the case counts as a named error.
 */
async function allSteps(...fns: (() => unknown)[]): Promise<void> {
  let first: SnncError | undefined;
  for (const f of fns) {
    try {
      await f();
    } catch (e) {
      if (!(e instanceof SnncError)) throw e;
      first ??= e;
    }
  }
  if (first) throw first;
}

const files = (...list: [string, Uint8Array | string][]) => (dir: string) => {
  for (const [name, bytes] of list) writeFileSync(join(dir, name), bytes);
};

/** Values of a small deterministic pseudo-random tensor. */
function values(n: number, seed: number, scale = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return Math.round(((s / 2 ** 31) * 2 - 0.5) * scale * 1000) / 1000;
  });
}
const matrix = (rows: number, cols: number, seed: number, scale = 1) => {
  const v = values(rows * cols, seed, scale);
  return Array.from({ length: rows }, (_, r) => v.slice(r * cols, (r + 1) * cols));
};

/** A small CNN with inline tensors in all three encodings ({shape,data}, base64, nested arrays). */
export function tinyCnn(): Json {
  const w = new Float32Array(values(18, 3, 1.5));
  return {
    format: 'snnc-model', version: 1, name: 'tiny-cnn', timesteps: 4, dt: 0.001,
    input: { shape: [1, 6, 6], encoding: { type: 'direct' }, preprocess: { scale: 0.01, mean: [0], std: [1] } },
    layers: [
      { name: 'conv1', type: 'conv2d', weight: { shape: [2, 1, 3, 3], dtype: 'float32', base64: Buffer.from(w.buffer).toString('base64') }, bias: { shape: [2], data: [0.1, -0.1] }, padding: 1 },
      { name: 'pool1', type: 'avgpool2d', kernel: 2 },
      { name: 'if1', type: 'if', threshold: 1, reset: 'zero', v0: 0 },
      { name: 'flat', type: 'flatten' },
      { name: 'fc', type: 'dense', weight: matrix(3, 18, 7, 2) },
      { name: 'if2', type: 'if', threshold: 1, reset: 'zero' },
    ],
    output: { layer: 'if2', decoding: 'spike_count' },
  };
}

/** A small rate-coded MLP with a recurrent LIF layer and a dense readout. */
export function tinyMlp(): Json {
  return {
    format: 'snnc-model', version: 1, name: 'tiny-mlp', timesteps: 5, dt: 0.001,
    input: { shape: [8], encoding: { type: 'rate', seed: 3 }, preprocess: { scale: 1 } },
    layers: [
      { name: 'fc1', type: 'dense', weight: matrix(6, 8, 11, 2), bias: values(6, 5, 0.2) },
      { name: 'lif1', type: 'lif', beta: 0.9, threshold: 0.5, reset: 'zero', recurrent_weight: matrix(6, 6, 13, 0.5) },
      { name: 'fc2', type: 'dense', weight: matrix(3, 6, 17, 1) },
    ],
    output: { layer: 'fc2', decoding: 'accumulate' },
  };
}

/**
 * Model.json version 2: event input, a cycle through a delay, a LIF with per-neuron β and reset to
 * v_reset, an adaptive LIF, a reshape and a per-channel leaky-integrator readout.
 */
export function tinyTime(): Json {
  return {
    format: 'snnc-model', version: 2, name: 'tiny-time', timesteps: 6, dt: 0.001,
    input: { shape: [4], encoding: { type: 'events' } },
    layers: [
      { name: 'fc', type: 'dense', inputs: ['input'], weight: matrix(4, 4, 19, 2) },
      { name: 'sum', type: 'add', inputs: ['fc', 'late'], coefficients: [1, 0.5] },
      { name: 'lif', type: 'lif', beta: { shape: [4], data: [0.9, 0.8, 0.95, 0.5] }, threshold: 0.8, reset: 'to_v_reset', v_reset: -0.1, v_leak: 0.05 },
      { name: 'fb', type: 'dense', inputs: ['lif'], weight: matrix(4, 4, 23, 1) },
      { name: 'late', type: 'delay', inputs: ['fb'], steps: 2 },
      { name: 'ad', type: 'alif', inputs: ['lif'], beta: 0.9, rho: 0.8, kappa: 0.3 },
      { name: 'grid', type: 'reshape', inputs: ['ad'], shape: [2, 2, 1] },
      { name: 'out', type: 'li', inputs: ['grid'], beta: { shape: [2, 1, 1], data: [0.7, 0.9] } },
    ],
    output: { layer: 'out', decoding: 'mean' },
  };
}

/** The MLP with its weights in a .safetensors sidecar. */
function sidecarMlp(): Json {
  const doc = tinyMlp() as any;
  doc.name = 'tiny-sidecar';
  doc.layers[0].weight = { file: 'w.safetensors', key: 'fc1.weight' };
  doc.layers[0].bias = { file: 'w.safetensors', key: 'fc1.bias' };
  doc.layers[1].recurrent_weight = { file: 'w.safetensors', key: 'lif1.w_rec' };
  doc.layers[2].weight = { file: 'w.safetensors', key: 'fc2.weight' };
  return doc;
}

/** A safetensors file from a header object and data bytes. */
function encodeSafetensors(header: Json, data: Uint8Array, pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function sidecarTensors(): { header: Json; data: Uint8Array } {
  const mlp = tinyMlp() as any;
  const t: [string, number[], number[]][] = [
    ['fc1.weight', [6, 8], mlp.layers[0].weight.flat()],
    ['fc1.bias', [6], mlp.layers[0].bias],
    ['lif1.w_rec', [6, 6], mlp.layers[1].recurrent_weight.flat()],
    ['fc2.weight', [3, 6], mlp.layers[2].weight.flat()],
  ];
  const header: Record<string, Json> = { __metadata__: { format: 'pt' } };
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const [k, shape, v] of t) {
    const b = new Uint8Array(new Float32Array(v).buffer);
    header[k] = { dtype: 'F32', shape, data_offsets: [off, off + b.length] };
    chunks.push(b);
    off += b.length;
  }
  return { header, data: Buffer.concat(chunks) };
}

/** Loads then simulates one sample for two steps, when the model is small enough to do so quickly. */
async function loadAndSimulate(path: string, load: (p: string) => Promise<SnnModel> | SnnModel = loadModel): Promise<void> {
  const model = await load(path);
  const per = model.input.shape.reduce((a, b) => a * b, 1);
  if (!(per <= 100_000)) return;
  const T = Math.min(model.timesteps, 2);
  const n = per * (model.input.encoding.type === 'events' ? T : 1);
  simulate(model, Float32Array.from({ length: n }, (_, i) => (i * 37) % 256), 1, { timesteps: T });
}

// ---------------------------------------------------------------------------------------------------
// Seeds that the fuzzer generates (compiled folders, the sidecar model), written once by the parent.

export async function prepareSeeds(seedDir: string): Promise<void> {
  mkdirSync(seedDir, { recursive: true });
  writeFileSync(join(seedDir, 'tiny-cnn.json'), JSON.stringify(tinyCnn()));
  writeFileSync(join(seedDir, 'tiny-mlp.json'), JSON.stringify(tinyMlp()));
  const cnn = readModelJson(join(seedDir, 'tiny-cnn.json'));
  const mlp = readModelJson(join(seedDir, 'tiny-mlp.json'));
  for (const [name, model] of [['cnn', cnn], ['mlp', mlp]] as const) {
    await loihiTarget.emit(model, join(seedDir, `loihi-${name}`), {});
    await spinnakerTarget.emit(model, join(seedDir, `spinnaker-${name}`), {});
    await gpuTarget.emit(model, join(seedDir, `gpu-${name}`), { batch: 2, schedule: name === 'cnn' ? 'layerwise' : 'step' });
  }
  // Small MNIST idx files: the first 20 test images and labels.
  const images = gunzipSync(readFileSync(join(FIXTURES, 'data/mnist/t10k-images-idx3-ubyte.gz')));
  const labels = gunzipSync(readFileSync(join(FIXTURES, 'data/mnist/t10k-labels-idx1-ubyte.gz')));
  const img = Buffer.from(images.subarray(0, 16 + 20 * 784));
  img.writeUInt32BE(20, 4);
  const lab = Buffer.from(labels.subarray(0, 8 + 20));
  lab.writeUInt32BE(20, 4);
  writeFileSync(join(seedDir, 'images-idx3-ubyte'), img);
  writeFileSync(join(seedDir, 'labels-idx1-ubyte'), lab);
  writeFileSync(join(seedDir, 'x.npy'), npyBytes({ descr: '<f4', fortran: false, shape: [3, 1, 6, 6] }));
  writeFileSync(join(seedDir, 'x8.npy'), npyBytes({ descr: '<f4', fortran: false, shape: [3, 8] }));
  writeFileSync(join(seedDir, 'labels.npy'), npyBytes({ descr: '<i8', fortran: false, shape: [3] }));
}

// ---------------------------------------------------------------------------------------------------
// .npy

interface NpyFields {
  descr: string;
  fortran: boolean | string;
  shape: (number | string)[];
  version?: number;
  /** Header text override (a mutated dict literal). */
  headerText?: string;
  /** Header length override. */
  headerLen?: number;
  /** Data bytes override (default: the right number of bytes for the shape). */
  dataBytes?: number;
}

const WIDTH: Record<string, number> = { f4: 4, f8: 8, f2: 2, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8, b1: 1, c8: 8, U4: 16 };

function npyBytes(f: NpyFields): Uint8Array {
  const version = f.version ?? 1;
  const shape = f.shape.length === 1 ? `(${f.shape[0]},)` : `(${f.shape.join(', ')})`;
  let text = f.headerText ?? `{'descr': '${f.descr}', 'fortran_order': ${f.fortran === true ? 'True' : f.fortran === false ? 'False' : f.fortran}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  text += ' '.repeat((64 - ((pre + text.length + 1) % 64)) % 64) + '\n';
  const header = new TextEncoder().encode(text);
  const numeric = f.shape.map(Number);
  const n = numeric.every((d) => Number.isInteger(d) && d >= 0) ? numeric.reduce((a, b) => a * b, 1) : 4;
  const w = WIDTH[f.descr.slice(1)] ?? 4;
  const len = Math.min(f.dataBytes ?? n * w, 1 << 20);
  const out = new Uint8Array(pre + header.length + Math.max(0, len));
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, f.headerLen ?? header.length, true);
  else dv.setUint32(8, f.headerLen ?? header.length, true);
  out.set(header, pre);
  for (let i = pre + header.length, k = 0; i < out.length; i++, k++) out[i] = (k * 29 + 7) & 0xff;
  return out;
}

const npyDescr = fc.constantFrom('<f4', '<f8', '|u1', '|i1', '<i2', '<i4', '<i8', '<u8', '>f4', '>i4', '<f2', '|b1', '<c8', '<U4', '|O', '|V8', '<M8', 'f4', '<f16', '', "'", '<f4\x00');
const npyDim = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom<number | string>(-1, 2 ** 31, 2 ** 32 + 1, 1e9, 2 ** 53, 'x', '1.5', '', '()', '1e3') });
const npyFields: fc.Arbitrary<{ f: NpyFields; desc: string }> = fc
  .record({
    descr: npyDescr,
    fortran: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom('1', 'None', "'True'", '') }),
    shape: fc.array(npyDim, { minLength: 0, maxLength: 4 }),
    version: fc.constantFrom(1, 1, 1, 2, 3, 0, 9),
    headerLen: fc.option(fc.constantFrom(0, 1, 10, 0xffff, 0xffffffff, 118), { freq: 6 }),
    dataBytes: fc.option(fc.constantFrom(0, 1, 3, 7, 100, 5000), { freq: 4 }),
  })
  .map((r) => ({ f: { ...r, headerLen: r.headerLen ?? undefined, dataBytes: r.dataBytes ?? undefined }, desc: `npy: ${JSON.stringify(r)}` }));

/** A header dict with a key dropped, duplicated, or syntax broken. */
const npyHeaderText: fc.Arbitrary<{ f: NpyFields; desc: string }> = fc
  .tuple(fc.constantFrom(
    "{'descr': '<f4', 'shape': (2, 3), }",
    "{'fortran_order': False, 'shape': (2, 3), }",
    "{'descr': '<f4', 'fortran_order': False, }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
    "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }",
    '{"descr": "<f4", "fortran_order": false, "shape": [2, 3]}',
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }",
    "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 0, 3), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
    "{'descr': '<f4', 'fortran_order': True, 'shape': (65536, 65536, 65536), }",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (9007199254740993,), }",
    '',
    '{}',
    'not a dict',
  ), fc.constantFrom(1, 2))
  .map(([headerText, version]) => ({ f: { descr: '<f4', fortran: false, shape: [2, 3], headerText, version }, desc: `npy header text ${JSON.stringify(headerText)} v${version}` }));

const npyFrontend: Frontend = {
  name: 'npy',
  what: '.npy arrays (header fields, header text, bytes) through loadDataset / readArray',
  isolation: 'thread',
  async load(seedDir) {
    const seeds = [npyBytes({ descr: '<f4', fortran: false, shape: [3, 1, 6, 6] }), npyBytes({ descr: '|u1', fortran: false, shape: [4, 5] }), npyBytes({ descr: '<f8', fortran: true, shape: [2, 3, 4] }), npyBytes({ descr: '<i8', fortran: false, shape: [5] })];
    const labels = readFileSync(join(seedDir, 'labels.npy'));
    const arb = fc.oneof(
      npyFields.map(({ f, desc }) => ({ bytes: npyBytes(f), desc })),
      npyHeaderText.map(({ f, desc }) => ({ bytes: npyBytes(f), desc })),
      fc.tuple(fc.nat({ max: seeds.length - 1 }), byteMutation).map(([i, m]) => ({ bytes: m.apply(seeds[i]), desc: `seed ${i}, ${m.desc}` })),
    ).chain((c) => fc.tuple(fc.constantFrom('data', 'labels', 'gz-data'), fc.constantFrom('', '0:2', '1:', '5:9', ':1')).map(([role, range]) => ({
      desc: `${c.desc} as ${role}${range ? ` --range ${range}` : ''}`,
      write: files(['a.npy', role === 'gz-data' ? gzipSync(c.bytes) : c.bytes], ['labels.npy', labels], ['data.npy', readFileSync(join(seedDir, 'x.npy'))], ['role', role], ['range', range]),
    })));
    return {
      arb,
      run: async (dir) => {
        const role = readFileSync(join(dir, 'role'), 'utf8');
        const range = readFileSync(join(dir, 'range'), 'utf8');
        const { parseRange } = await import('../../compiler/io/datasets.js');
        const r = range ? parseRange(range) : undefined;
        const a = join(dir, 'a.npy');
        await allSteps(() => (role === 'labels' ? loadDataset(join(dir, 'data.npy'), a, r) : loadDataset(a, join(dir, 'labels.npy'), r)), () => readArray(a));
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------------
// MNIST idx (.gz too)

const idxFrontend: Frontend = {
  name: 'idx',
  what: 'MNIST idx files, raw and gzipped (magic, type, rank, dims, data length, gzip bytes) through loadDataset',
  isolation: 'thread',
  async load(seedDir) {
    const images = readFileSync(join(seedDir, 'images-idx3-ubyte'));
    const labels = readFileSync(join(seedDir, 'labels-idx1-ubyte'));
    const dim = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 2, arbitrary: fc.constantFrom(0xffffffff, 0x80000000, 0x7fffffff, 65536, 1e6, 784, 10000) });
    const header = fc
      .record({
        which: fc.constantFrom('images', 'labels'),
        magic: fc.option(fc.constantFrom(0x0100, 0x00ff, 0xffff), { freq: 6 }),
        type: fc.option(fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0x0a, 0xff), { freq: 2 }),
        rank: fc.option(fc.constantFrom(0, 1, 2, 3, 4, 5, 255), { freq: 2 }),
        dims: fc.option(fc.array(dim, { minLength: 0, maxLength: 5 }), { freq: 2 }),
        truncate: fc.option(fc.integer({ min: 0, max: 20000 }), { freq: 3 }),
      })
      .map((r) => ({
        desc: `idx header ${JSON.stringify(r)}`,
        make: () => {
          const src = r.which === 'images' ? images : labels;
          const oldRank = src[3];
          const rank = r.rank ?? oldRank;
          const dims = r.dims ?? Array.from({ length: oldRank }, (_, i) => src.readUInt32BE(4 + 4 * i));
          const head = Buffer.alloc(4 + 4 * dims.length);
          head.writeUInt16BE(r.magic ?? 0, 0);
          head[2] = r.type ?? src[2];
          head[3] = rank;
          dims.forEach((d, i) => head.writeUInt32BE(d >>> 0, 4 + 4 * i));
          let out: Uint8Array = Buffer.concat([head, src.subarray(4 + 4 * oldRank)]);
          if (r.truncate !== null) out = out.subarray(0, r.truncate);
          return { bytes: out, which: r.which };
        },
      }));
    const bytes = fc.tuple(fc.constantFrom('images', 'labels'), byteMutation).map(([which, m]) => ({ desc: `${which} ${m.desc}`, make: () => ({ bytes: m.apply(which === 'images' ? images : labels), which }) }));
    const arb = fc
      .tuple(fc.oneof(header, bytes), fc.constantFrom('raw', 'gz', 'gz-then-bytes'), byteMutation, fc.constantFrom('', '0:5', '3:', '19:40', '30:31'))
      .map(([c, gz, gzMut, range]): FuzzCase => ({
        desc: `${c.desc}; ${gz === 'gz-then-bytes' ? `gzipped then ${gzMut.desc}` : gz}${range ? `; --range ${range}` : ''}`,
        write: (dir) => {
          const { bytes: b, which } = c.make();
          const enc = gz === 'raw' ? b : gz === 'gz' ? gzipSync(b) : gzMut.apply(gzipSync(b));
          files(['images', which === 'images' ? enc : images], ['labels', which === 'labels' ? enc : labels], ['range', range])(dir);
        },
      }));
    return {
      arb,
      run: async (dir) => {
        const { parseRange } = await import('../../compiler/io/datasets.js');
        const range = readFileSync(join(dir, 'range'), 'utf8');
        await allSteps(() => loadDataset(join(dir, 'images'), join(dir, 'labels'), range ? parseRange(range) : undefined), () => loadDataset(join(dir, 'labels')));
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------------
// model.json

const modelJsonFrontend: Frontend = {
  name: 'model-json',
  what: 'model.json (structural JSON edits and text bytes; MNIST CNN example and small inline models, version 1 and 2) through loadModel + simulate',
  isolation: 'thread',
  async load() {
    const example = JSON.parse(readFileSync(join(REPO, 'examples/mnist-cnn/model.json'), 'utf8')) as Json;
    const exampleSt = readFileSync(join(REPO, 'examples/mnist-cnn/model.safetensors'));
    const docs: [string, Json][] = [['mnist-cnn', example], ['tiny-cnn', tinyCnn()], ['tiny-mlp', tinyMlp()], ['tiny-time', tinyTime()]];
    const arb = fc.oneof(...docs.map(([name, doc]) => jsonFileMutation(doc).map((m): FuzzCase => ({ desc: `${name}: ${m.desc}`, write: files(['model.json', m.apply(new Uint8Array())], ['model.safetensors', exampleSt]) }))));
    return { arb, run: (dir) => loadAndSimulate(join(dir, 'model.json')) };
  },
};

// ---------------------------------------------------------------------------------------------------
// .safetensors sidecars

const safetensorsFrontend: Frontend = {
  name: 'safetensors',
  what: '.safetensors sidecars (header JSON fields, header length, data, bytes) through loadModel of a model.json that references them + simulate',
  isolation: 'thread',
  async load() {
    const { header, data } = sidecarTensors();
    const doc = JSON.stringify(sidecarMlp());
    const example = readFileSync(join(REPO, 'examples/mnist-cnn/model.safetensors'));
    const exampleDoc = readFileSync(join(REPO, 'examples/mnist-cnn/model.json'));
    const valid = encodeSafetensors(header, data);
    const structural = fc.tuple(jsonMutation(header), fc.boolean()).map(([m, pad]) => ({ desc: `header ${m.desc}${pad ? '' : ' (unpadded)'}`, bytes: () => encodeSafetensors(m.apply(header), data, pad) }));
    const lengthField = fc.constantFrom(0n, 1n, 7n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 100000n).map((len) => ({
      desc: `header length field = ${len}`,
      bytes: () => {
        const b = valid.slice();
        new DataView(b.buffer).setBigUint64(0, len, true);
        return b;
      },
    }));
    const dataLen = fc.integer({ min: -64, max: 64 }).map((d) => ({ desc: `data ${d >= 0 ? '+' : ''}${d} bytes`, bytes: () => (d >= 0 ? Buffer.concat([valid, Buffer.alloc(d)]) : valid.subarray(0, valid.length + d)) }));
    const headerText = fc.constantFrom('', '[]', 'null', '1', '"x"', '{"a":1}', '{"fc1.weight":null}', '{"fc1.weight":{"dtype":"F32"}}', '{"fc1.weight":{"dtype":"F32","shape":[6,8],"data_offsets":[0]}}', '{"fc1.weight":{"dtype":"F32","shape":"68","data_offsets":[0,192]}}', '{"__proto__":{"dtype":"F32"}}').map((t) => ({
      desc: `header text ${t}`,
      bytes: () => encodeSafetensors(JSON.parse(t || 'null') ?? {}, data),
    }));
    const raw = byteMutation.map((m) => ({ desc: m.desc, bytes: () => m.apply(valid) }));
    const arb = fc.oneof(
      { weight: 4, arbitrary: structural.map((c) => ({ ...c, which: 'tiny' })) },
      { weight: 1, arbitrary: lengthField.map((c) => ({ ...c, which: 'tiny' })) },
      { weight: 1, arbitrary: dataLen.map((c) => ({ ...c, which: 'tiny' })) },
      { weight: 1, arbitrary: headerText.map((c) => ({ ...c, which: 'tiny' })) },
      { weight: 3, arbitrary: raw.map((c) => ({ ...c, which: 'tiny' })) },
      { weight: 1, arbitrary: byteMutation.map((m) => ({ desc: `mnist-cnn example ${m.desc}`, bytes: () => m.apply(example), which: 'mnist' })) },
    ).map((c): FuzzCase => ({
      desc: `${c.which}: ${c.desc}`,
      write: c.which === 'tiny' ? files(['model.json', doc], ['w.safetensors', c.bytes()]) : files(['model.json', exampleDoc], ['model.safetensors', c.bytes()]),
    }));
    return { arb, run: (dir) => loadAndSimulate(join(dir, 'model.json')) };
  },
};

// ---------------------------------------------------------------------------------------------------
// ONNX

const DATA_TYPES = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 99];
const ATTR_NAMES = ['kernel_shape', 'pads', 'strides', 'group', 'axis', 'dilations', 'auto_pad', 'alpha', 'beta', 'transA', 'transB', 'epsilon', 'min', 'max', 'perm', 'allowzero', 'keepdims', 'axes', 'value', 'to', 'count_include_pad', 'ceil_mode'];
const INTS = [0, 1, -1, 2, 3, 5, 2 ** 31, -(2 ** 31), 2 ** 40, 1e9];

function onnxMutation(model: any): fc.Arbitrary<Mutation<any>> {
  const g = model.graph;
  const nInit = g.initializer.length;
  const nNode = g.node.length;
  const pickInt = fc.constantFrom(...INTS);
  const ops: fc.Arbitrary<Mutation<any>>[] = [
    fc.tuple(fc.nat({ max: nInit - 1 }), fc.constantFrom('set', 'add', 'remove', 'empty'), fc.nat({ max: 4 }), pickInt).map(([i, how, k, v]) => ({
      desc: `initializer ${i} dims: ${how}${how === 'set' || how === 'add' ? ` ${v}` : ''} at ${k}`,
      apply: (m: any) => {
        const t = m.graph.initializer[i];
        const dims = (t.dims ?? []).map(Number);
        if (how === 'set' && dims.length) dims[k % dims.length] = v;
        if (how === 'add') dims.splice(k % (dims.length + 1), 0, v);
        if (how === 'remove' && dims.length) dims.splice(k % dims.length, 1);
        t.dims = how === 'empty' ? [] : dims;
        return m;
      },
    })),
    fc.tuple(fc.nat({ max: nInit - 1 }), fc.constantFrom(...DATA_TYPES)).map(([i, dt]) => ({ desc: `initializer ${i} dataType = ${dt}`, apply: (m: any) => ((m.graph.initializer[i].dataType = dt), m) })),
    fc.tuple(fc.nat({ max: nInit - 1 }), fc.integer({ min: -64, max: 64 }), fc.constantFrom('raw', 'floatData', 'none')).map(([i, d, where]) => ({
      desc: `initializer ${i} data: ${where} ${d >= 0 ? '+' : ''}${d} bytes`,
      apply: (m: any) => {
        const t = m.graph.initializer[i];
        const raw: Uint8Array = t.rawData?.length ? new Uint8Array(t.rawData) : new Uint8Array(new Float32Array(t.floatData ?? []).buffer);
        const b = d >= 0 ? Buffer.concat([raw, Buffer.alloc(d)]) : raw.subarray(0, Math.max(0, raw.length + d));
        t.rawData = where === 'raw' ? b : new Uint8Array(0);
        t.floatData = where === 'floatData' ? Array.from(new Float32Array(b.buffer, b.byteOffset, b.length >> 2)) : [];
        return m;
      },
    })),
    fc.tuple(fc.nat({ max: nNode - 1 }), fc.nat(), fc.constantFrom('i', 'ints', 'f', 'type', 'delete', 's', 't'), pickInt, fc.array(pickInt, { maxLength: 5 })).map(([j, k, how, v, list]) => ({
      desc: `node ${j} attribute #${k}: ${how} ${how === 'ints' ? JSON.stringify(list) : v}`,
      apply: (m: any) => {
        const attrs = m.graph.node[j].attribute ?? [];
        if (!attrs.length) return m;
        const a = attrs[k % attrs.length];
        if (how === 'i') a.i = v;
        if (how === 'ints') a.ints = list;
        if (how === 'f') a.f = [NaN, Infinity, -1, 0, 1e30][Math.abs(v) % 5];
        if (how === 'type') a.type = Math.abs(v) % 15;
        if (how === 's') a.s = new TextEncoder().encode(['SAME_UPPER', 'VALID', 'NOTSET', 'SAME_LOWER', 'x'][Math.abs(v) % 5]);
        if (how === 't') a.t = { dims: [2, 2], dataType: 1, floatData: [1] };
        if (how === 'delete') attrs.splice(k % attrs.length, 1);
        return m;
      },
    })),
    fc.tuple(fc.nat({ max: nNode - 1 }), fc.constantFrom(...ATTR_NAMES), fc.constantFrom(1, 2, 7), pickInt, fc.array(pickInt, { maxLength: 5 })).map(([j, name, type, v, list]) => ({
      desc: `node ${j} add attribute ${name} type ${type} = ${type === 7 ? JSON.stringify(list) : v}`,
      apply: (m: any) => {
        const node = m.graph.node[j];
        node.attribute = [...(node.attribute ?? []).filter((a: any) => a.name !== name), { name, type, i: v, f: v, ints: type === 7 ? list : [] }];
        return m;
      },
    })),
    fc.tuple(fc.nat({ max: nNode - 1 }), fc.constantFrom('Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Reshape', 'Concat', 'Softmax', 'Identity', 'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast', 'BatchNormalization', 'Clip', 'Dropout', 'LSTM', '')).map(([j, op]) => ({
      desc: `node ${j} opType = ${op}`,
      apply: (m: any) => ((m.graph.node[j].opType = op), m),
    })),
    fc.tuple(fc.nat({ max: nNode - 1 }), fc.constantFrom('input', 'output'), fc.constantFrom('drop', 'rename', 'dup', 'empty', 'self'), fc.nat()).map(([j, side, how, k]) => ({
      desc: `node ${j} ${side}s: ${how} #${k}`,
      apply: (m: any) => {
        const node = m.graph.node[j];
        const list: string[] = [...(node[side] ?? [])];
        const at = list.length ? k % list.length : 0;
        if (how === 'drop') list.splice(at, 1);
        if (how === 'rename') list[at] = 'nonexistent';
        if (how === 'dup') list.push(list[at] ?? 'x');
        if (how === 'empty') list[at] = '';
        if (how === 'self') list[at] = side === 'input' ? (node.output?.[0] ?? 'x') : (node.input?.[0] ?? 'x');
        node[side] = list;
        return m;
      },
    })),
    fc.tuple(fc.nat({ max: nNode - 1 }), fc.constantFrom('delete', 'duplicate', 'swap-next', 'move-first')).map(([j, how]) => ({
      desc: `node ${j}: ${how}`,
      apply: (m: any) => {
        const nodes = m.graph.node;
        if (how === 'delete') nodes.splice(j, 1);
        if (how === 'duplicate') nodes.splice(j, 0, onnx.NodeProto.fromObject(onnx.NodeProto.toObject(nodes[j])));
        if (how === 'swap-next' && j + 1 < nodes.length) [nodes[j], nodes[j + 1]] = [nodes[j + 1], nodes[j]];
        if (how === 'move-first') nodes.unshift(...nodes.splice(j, 1));
        return m;
      },
    })),
    fc.constantFrom(0, 1, 6, 7, 13, 17, 21, 22, 1000, -1).map((v) => ({ desc: `opset = ${v}`, apply: (m: any) => ((m.opsetImport = [{ domain: '', version: v }]), m) })),
    fc.tuple(fc.nat({ max: 4 }), fc.constantFrom(0, -1, 1, 3, 28, 2 ** 31, 1e6), fc.constantFrom('set', 'param', 'drop', 'add')).map(([k, v, how]) => ({
      desc: `graph input dim ${k}: ${how} ${v}`,
      apply: (m: any) => {
        const inputs = m.graph.input.filter((i: any) => !m.graph.initializer.some((t: any) => t.name === i.name));
        const dims = inputs[0]?.type?.tensorType?.shape?.dim;
        if (!dims) return m;
        const at = k % Math.max(1, dims.length);
        if (how === 'set' && dims[at]) dims[at] = { dimValue: v };
        if (how === 'param' && dims[at]) dims[at] = { dimParam: 'N' };
        if (how === 'drop') dims.splice(at, 1);
        if (how === 'add') dims.push({ dimValue: v });
        return m;
      },
    })),
    fc.tuple(fc.nat({ max: nInit - 1 }), fc.constantFrom('delete', 'rename', 'duplicate')).map(([i, how]) => ({
      desc: `initializer ${i}: ${how}`,
      apply: (m: any) => {
        const inits = m.graph.initializer;
        if (how === 'delete') inits.splice(i, 1);
        if (how === 'rename') inits[i].name = 'renamed';
        if (how === 'duplicate') inits.push(onnx.TensorProto.fromObject(onnx.TensorProto.toObject(inits[i])));
        return m;
      },
    })),
    fc.constantFrom('outputs-none', 'outputs-two', 'inputs-none', 'inputs-extra').map((how) => ({
      desc: `graph ${how}`,
      apply: (m: any) => {
        if (how === 'outputs-none') m.graph.output = [];
        if (how === 'outputs-two') m.graph.output = [...m.graph.output, ...m.graph.output];
        if (how === 'inputs-none') m.graph.input = [];
        if (how === 'inputs-extra') m.graph.input = [...m.graph.input, { name: 'extra', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }] } } } }];
        return m;
      },
    })),
  ];
  // An edit whose target an earlier edit removed is skipped.
  const tryApply = (o: Mutation<any>, x: any) => {
    try {
      return o.apply(x);
    } catch {
      return x;
    }
  };
  return fc.array(fc.oneof(...ops), { minLength: 1, maxLength: 3 }).map((list) => ({ desc: `onnx: ${list.map((o) => o.desc).join('; ')}`, apply: (m) => list.reduce((x, o) => tryApply(o, x), m) }));
}

const onnxFrontend: Frontend = {
  name: 'onnx',
  what: 'ONNX ANN (protobuf fields: dims, data types, raw_data lengths, attributes, op types, edges, opset, graph I/O; bytes) through loadModel + simulate',
  isolation: 'thread',
  async load() {
    const bytes = readFileSync(join(FIXTURES, 'models/onnx_mnist_cnn_cntk/mnist.onnx'));
    const decoded = onnx.ModelProto.decode(bytes);
    const arb = fc.oneof(
      { weight: 3, arbitrary: onnxMutation(decoded).map((m) => ({ desc: m.desc, make: () => onnx.ModelProto.encode(m.apply(onnx.ModelProto.decode(bytes))).finish() })) },
      { weight: 1, arbitrary: byteMutation.map((m) => ({ desc: m.desc, make: () => m.apply(bytes) })) },
    ).map((c): FuzzCase => ({ desc: c.desc, write: (dir) => files(['model.onnx', c.make()])(dir) }));
    return { arb, run: (dir) => loadAndSimulate(join(dir, 'model.onnx')) };
  },
};

// ---------------------------------------------------------------------------------------------------
// NIR and NetX (HDF5)

function hdf5Frontend(name: string, what: string, ext: string, seedFiles: string[]): Frontend {
  return {
    name,
    what,
    isolation: 'thread',
    async load() {
      const seeds = await Promise.all(seedFiles.map(async (f) => ({ file: f, bytes: readFileSync(f), tree: await readTree(f) })));
      const short = (f: string) => f.replace(`${FIXTURES}/`, '');
      const arb = fc.oneof(
        ...seeds.map((s) => fc.oneof(
          { weight: 3, arbitrary: treeMutation(s.tree).map((m): FuzzCase => ({ desc: `${short(s.file)}: ${m.desc}`, write: (dir) => writeTree(join(dir, `model${ext}`), m.apply(s.tree) as H5Group) })) },
          { weight: 2, arbitrary: byteMutation.map((m): FuzzCase => ({ desc: `${short(s.file)}: ${m.desc}`, write: files([`model${ext}`, m.apply(s.bytes)]) })) },
        )),
      );
      return { arb, run: (dir) => loadAndSimulate(join(dir, `model${ext}`)) };
    },
  };
}

const nirFiles = () => [
  ...['01_lif/lif_norse.nir', '01_lif/two_lif_neurons.nir', '02_cnn/cnn_sinabs.nir', '03_rnn/braille_noDelay_bias_zero.nir', '03_rnn/braille_noDelay_noBias_subtract_subgraph.nir'].map((f) => join(FIXTURES, 'nir/paper', f)),
];
const netxFiles = () => ['tinynet/tiny.net', 'oxford/network.net', 'mnist_netx/trained_mnist_network.net'].map((f) => join(FIXTURES, 'lava', f));

// ---------------------------------------------------------------------------------------------------
// Compiled artifact folders (loihi, spinnaker: descriptor + words; gpu: manifest + model.onnx)

function folderFiles(dir: string): Map<string, Uint8Array> {
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
}

/** manifest.json without its "sha256" field (unchanged when it is not JSON). */
function withoutChecksums(bytes: Uint8Array): Uint8Array {
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes));
    delete m.sha256;
    return new TextEncoder().encode(JSON.stringify(m));
  } catch {
    return bytes;
  }
}

/** Mutates one file of a compiled folder: JSON files structurally or by bytes; binary files by bytes or 32-bit words. */
function folderMutation(seedDir: string, folders: string[], jsonDepth: number): fc.Arbitrary<FuzzCase> {
  const seeds = folders.map((f) => ({ name: f, files: folderFiles(join(seedDir, f)) }));
  return fc.oneof(
    ...seeds.flatMap((s) =>
      [...s.files].map(([file, bytes]) => {
        const isJson = file.endsWith('.json');
        const words = fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(0, 1, -1, 2, 255, 4096, 65535, 2 ** 24, 2 ** 31 - 1, -(2 ** 31), 1e9)), { minLength: 1, maxLength: 4 }).map((edits) => ({
          desc: `words: ${edits.map(([f, v]) => `[${Math.floor(f * (bytes.length >> 2))}] = ${v}`).join(', ')}`,
          apply: (b: Uint8Array) => {
            const o = new Uint8Array(b);
            const dv = new DataView(o.buffer);
            for (const [f, v] of edits) if (o.length >= 4) dv.setInt32(4 * Math.floor(f * (o.length >> 2)), v, true);
            return o;
          },
        }));
        const m: fc.Arbitrary<Mutation<Uint8Array>> = isJson ? jsonFileMutation(JSON.parse(new TextDecoder().decode(bytes)), jsonDepth) : file.endsWith('.bin') ? fc.oneof(words, words, byteMutation) : byteMutation;
        // In 3 cases of 4 the folder is "edited by hand": manifest.json loses its checksums, so the
        // descriptor and words reach the validators instead of being refused by the checksum.
        return fc.tuple(m, fc.nat(3)).map(([mm, keep]): FuzzCase => ({
          desc: `${s.name}/${file}: ${mm.desc}${keep ? '; sha256 removed from manifest.json' : ''}`,
          write: (dir) => {
            for (const [f, b] of s.files) writeFileSync(join(dir, f), f === file ? mm.apply(b) : f === 'manifest.json' && keep ? withoutChecksums(b) : b);
          },
        }));
      }),
    ),
  );
}

/** A raw input for a compiled folder's input shape (skips absurdly large ones). */
function inputFor(shape: unknown, events: boolean, T: unknown, n: number): Float32Array | undefined {
  if (!Array.isArray(shape)) return undefined;
  const per = shape.reduce((a: number, b: unknown) => a * Number(b), 1) * (events ? Number(T) : 1);
  if (!Number.isInteger(per) || per < 0 || per > 100_000) return undefined;
  return Float32Array.from({ length: per * n }, (_, i) => (i * 53) % 256);
}

/** A neuromorphic target's compiled folders, read and run (2 samples) in its emulator. */
function emulatorFolderFrontend(target: 'loihi' | 'spinnaker', open: (dir: string) => { descriptor: unknown; run(x: Float32Array, n: number): unknown }): Frontend {
  return {
    name: `${target}-folder`,
    what: `compiled ${target} folders (${target}.json structure, ${target}.bin words and bytes, manifest.json), read and run in the ${target} emulator`,
    isolation: 'process', // a mutated descriptor can allocate gigabytes of typed arrays: watched per child
    async load(seedDir) {
      return {
        arb: folderMutation(seedDir, [`${target}-cnn`, `${target}-mlp`], 10),
        run: async (dir) => {
          const e = open(dir);
          const d = e.descriptor as any;
          const x = inputFor(d.input?.shape, d.input?.encoding?.type === 'events', d.timesteps, 2);
          if (x && Number(d.timesteps) <= 1000) e.run(x, 2);
        },
      };
    },
  };
}

const loihiFrontend = emulatorFolderFrontend('loihi', (dir) => new LoihiEmulator(readLoihiFolder(dir)));
const spinnakerFrontend = emulatorFolderFrontend('spinnaker', (dir) => new SpinnakerEmulator(readSpinnakerFolder(dir)));

const gpuFrontend: Frontend = {
  name: 'gpu-folder',
  what: 'compiled gpu folders (manifest.json structure, model.onnx protobuf fields and bytes) through OrtRunner.open + run (onnxruntime-node, in a child process)',
  isolation: 'process',
  async load(seedDir) {
    const base = folderMutation(seedDir, ['gpu-cnn', 'gpu-mlp'], 8);
    const seeds = ['gpu-cnn', 'gpu-mlp'].map((f) => ({ name: f, files: folderFiles(join(seedDir, f)) }));
    const onnxStructural = fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.nat()).chain(([i]) => {
      const s = seeds[i];
      const bytes = s.files.get('model.onnx')!;
      return onnxMutation(onnx.ModelProto.decode(bytes)).map((m): FuzzCase => ({
        desc: `${s.name}/model.onnx: ${m.desc}`,
        write: (dir) => {
          for (const [f, b] of s.files) writeFileSync(join(dir, f), f === 'model.onnx' ? onnx.ModelProto.encode(m.apply(onnx.ModelProto.decode(bytes))).finish() : b);
        },
      }));
    });
    return {
      arb: fc.oneof({ weight: 3, arbitrary: base }, { weight: 1, arbitrary: onnxStructural }),
      run: async (dir) => {
        const r = await OrtRunner.open(dir, { threads: 1 });
        try {
          const m = r.manifest as any;
          const x = inputFor(m.inputShape, m.encoding?.type === 'events', m.timesteps, 2);
          if (x && Number(m.timesteps) <= 1000 && Number(m.batch) <= 1000) await r.run(x, 2);
        } finally {
          await r.close();
        }
      },
    };
  },
};

export const FRONTENDS: readonly Frontend[] = [
  modelJsonFrontend,
  safetensorsFrontend,
  npyFrontend,
  idxFrontend,
  onnxFrontend,
  hdf5Frontend('nir', 'NIR graphs (HDF5 tree edits: delete/rename/retype/reshape members, copy nodes; bytes) through loadModel + simulate', '.nir', nirFiles()),
  hdf5Frontend('netx', 'lava-dl NetX .net (HDF5 tree edits and bytes) through loadModel + simulate', '.net', netxFiles()),
  loihiFrontend,
  spinnakerFrontend,
  gpuFrontend,
];

export function frontendByName(name: string): Frontend | undefined {
  return FRONTENDS.find((f) => f.name === name);
}
