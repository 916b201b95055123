/**
 * model.json: every tensor form yields the same IR, write → read is exact, and each kind of bad input
 * gets a clear error naming the file and the place (line/column, JSON pointer, or layer).
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelJson, readModelJson } from '../../compiler/ir/serialize/read.js';
import { SIDECAR_ABOVE, tensorBytes, writeModelJson } from '../../compiler/ir/serialize/write.js';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import { encodeSafetensors, readSafetensors } from '../../compiler/io/safetensors.js';
import { openInputFile } from '../../compiler/io/read-file.js';
import { modelHash } from '../../compiler/ir/hash.js';
import { tensor } from '../../compiler/ir/tensor.js';
import { ALL_MODELS } from '../helpers/models.js';
import { snncError } from '../helpers/errors.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

const W = [[1, 2, 3], [4, 5, 6]];
const wFlat = Float32Array.of(1, 2, 3, 4, 5, 6);
function doc(weight: unknown, extra: Record<string, unknown> = {}) {
  return {
    format: 'snnc-model',
    version: 1,
    name: 'tiny',
    timesteps: 4,
    input: { shape: [3] },
    layers: [{ name: 'fc', type: 'dense', weight }, { name: 'n', type: 'if', v0: 0.5 }],
    ...extra,
  };
}
function write(name: string, content: unknown): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

describe('tensor forms', () => {
  it('nested arrays, {shape, data}, base64, .npy and .safetensors sidecars give the same model', () => {
    writeFileSync(join(dir, 'w.npy'), encodeNpyFloat32(wFlat, [2, 3]));
    writeFileSync(join(dir, 'w.safetensors'), encodeSafetensors(new Map([['fc.weight', tensor([2, 3], wFlat)], ['other', tensor([1], Float32Array.of(0))]])));
    const forms = [
      W,
      { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { shape: [2, 3], dtype: 'float32', base64: Buffer.from(wFlat.buffer).toString('base64') },
      { file: 'w.npy' },
      { file: 'w.safetensors', key: 'fc.weight' },
    ];
    const hashes = forms.map((w, i) => modelHash(readModelJson(write(`form${i}.json`, doc(w)))));
    expect(new Set(hashes).size).toBe(1);
    const m = readModelJson(write('form-check.json', doc(W)));
    expect(m.layers[0].op).toBe('dense');
    expect([...(m.layers[0] as { weight: { data: Float32Array } }).weight.data]).toEqual([...wFlat]);
    expect(m.output).toEqual({ layer: 'n', decoding: 'spike_count' }); // defaults: last layer, spiking → count
    expect(m.layers[1].inputs).toEqual(['fc']); // a plain list chains
  });

  it('write → read is exact for every test model, inline and with a sidecar', () => {
    for (const [name, make] of Object.entries(ALL_MODELS)) {
      const model = make();
      for (const sidecar of [false, true]) {
        const path = join(dir, `rt-${name}-${sidecar}`, 'model.json');
        writeModelJson(model, path, { sidecar });
        expect(modelHash(readModelJson(path))).toBe(modelHash(model));
      }
    }
  });

  it('past a size, the weights go to the sidecar without being asked (a large model never becomes one giant string)', () => {
    const model = ALL_MODELS.mlp();
    // mlp: fc1 32×20 + 32 bias, fc2 10×32, in float32.
    expect(tensorBytes(model)).toBe(4 * (32 * 20 + 32 + 10 * 32));
    const small = join(dir, 'auto-small', 'model.json');
    writeModelJson(model, small);
    expect(existsSync(small.replace(/model\.json$/, 'model.safetensors'))).toBe(false);
    const large = join(dir, 'auto-large', 'model.json');
    writeModelJson(model, large, { sidecarAbove: tensorBytes(model) - 1 });
    expect(existsSync(large.replace(/model\.json$/, 'model.safetensors'))).toBe(true);
    expect(readFileSync(large, 'utf8')).not.toMatch(/base64/);
    expect(modelHash(readModelJson(large))).toBe(modelHash(model));
    expect(SIDECAR_ABOVE).toBe(64 * 2 ** 20);
  });

  it('the writer refuses a layer name the reader would refuse, and writes nothing', () => {
    const model = ALL_MODELS.mlp();
    const renamed = { ...model, layers: model.layers.map((l, i) => (i === 0 ? { ...l, name: 'b/x' } : { ...l, inputs: l.inputs.map((n) => (n === model.layers[0].name ? 'b/x' : n)) })) };
    const path = join(dir, 'bad-name', 'model.json');
    expect(snncError(() => writeModelJson(renamed, path)).message).toMatch(/^layer "b\/x": model\.json layer names are letters, digits/);
    expect(existsSync(path)).toBe(false);
  });

  it('a sidecar is read tensor by tensor (streamed), giving the tensors the whole-buffer reading gives', () => {
    const model = ALL_MODELS.mlp();
    const path = join(dir, 'streamed', 'model.json');
    writeModelJson(model, path, { sidecar: true });
    const file = openInputFile(path.replace(/model\.json$/, 'model.safetensors'));
    const reads: number[] = [];
    const streamed = readSafetensors({ size: file.size, read: (o, n) => (reads.push(n), file.read(o, n)) }, 'sidecar');
    file.close();
    const whole = readSafetensors(readFileSync(path.replace(/model\.json$/, 'model.safetensors')), 'sidecar');
    expect([...streamed.keys()]).toEqual([...whole.keys()]);
    for (const [k, t] of whole) expect(streamed.get(k)).toEqual(t);
    // The 8-byte length, the header, then one read per tensor of exactly its bytes: never the data whole.
    expect(reads.length).toBe(2 + streamed.size);
    expect(Math.max(...reads.slice(2))).toBe(Math.max(...[...streamed.values()].map((t) => t.data.byteLength)));
    expect(reads.reduce((a, b) => a + b, 0)).toBe(file.size);
    expect(modelHash(readModelJson(path))).toBe(modelHash(model));
  });
});

describe('bad model files', () => {
  it('malformed JSON: line and column', () => {
    const path = write('bad-syntax.json', '{\n  "format": "snnc-model",\n  "version": 1,\n  "layers": [}\n}');
    const e = snncError(() => readModelJson(path));
    expect(e.message).toMatch(/bad-syntax\.json:4:\d+: malformed JSON/);
    expect(e.exitCode).toBe(2);
  });

  it('schema violations: JSON pointer, line and column', () => {
    const path = write('bad-schema.json', doc(W, { timesteps: -3 }));
    expect(snncError(() => readModelJson(path)).message).toMatch(/bad-schema\.json:5:\d+: \/timesteps: must be >= 1/);
    const unknownField = write('bad-field.json', { ...doc(W), layers: [{ name: 'fc', type: 'dense', weight: W, strides: 2 }] });
    expect(snncError(() => readModelJson(unknownField)).message).toMatch(/\/layers\/0: unknown field "strides"/);
    const badReset = write('bad-reset.json', { ...doc(W), layers: [{ name: 'fc', type: 'dense', weight: W }, { name: 'n', type: 'if', reset: 'hard' }] });
    expect(snncError(() => readModelJson(badReset)).message).toMatch(/\/layers\/1\/reset: must be one of "subtract", "zero"/);
  });

  it('unknown layer type: names it and lists the known ones', () => {
    const path = write('bad-type.json', { ...doc(W), layers: [{ name: 'fc', type: 'dense', weight: W }, { name: 'g', type: 'gelu' }] });
    expect(snncError(() => readModelJson(path)).message).toMatch(/\/layers\/1\/type: unknown layer type "gelu" \(expected one of: dense, sparse, conv2d/);
  });

  it('shape mismatch: names the layer and both shapes', () => {
    const path = write('bad-shape.json', { ...doc(W), input: { shape: [4] } });
    expect(snncError(() => readModelJson(path)).message).toMatch(/bad-shape\.json: layer "fc" \(dense\): weight \[2, 3\] expects 3 inputs, got 4/);
    const add = write('bad-add.json', {
      ...doc(W),
      layers: [{ name: 'fc', type: 'dense', weight: W }, { name: 'fc2', type: 'dense', inputs: ['input'], weight: [[1, 1, 1]] }, { name: 's', type: 'add', inputs: ['fc', 'fc2'] }],
    });
    expect(snncError(() => readModelJson(add)).message).toMatch(/layer "s" \(add\): all inputs must have the same shape: "fc" is \[2\] but "fc2" is \[1\]/);
    const ragged = write('bad-ragged.json', doc([[1, 2, 3], [4, 5]]));
    expect(snncError(() => readModelJson(ragged)).message).toMatch(/layer "fc" weight\[1\]: ragged nested array/);
  });

  it('missing and escaping sidecar paths', () => {
    expect(snncError(() => readModelJson(write('m1.json', doc({ file: 'nope.npy' })))).message).toMatch(/layer "fc" weight: sidecar file "nope.npy" does not exist/);
    expect(snncError(() => readModelJson(write('sub/m2.json', doc({ file: '../w.npy' })))).message).toMatch(/sidecar path "..\/w.npy" leaves the model file's folder/);
    expect(snncError(() => readModelJson(write('m3.json', doc({ file: '/etc/passwd' })))).message).toMatch(/must be relative to the model file's folder/);
    mkdirSync(join(dir, 'linked'), { recursive: true });
    symlinkSync(join(dir, 'w.npy'), join(dir, 'linked', 'escape.npy'));
    expect(snncError(() => readModelJson(write('linked/m4.json', doc({ file: 'escape.npy' })))).message).toMatch(/leads out of the model file's folder \(through a link\)/);
    expect(snncError(() => readModelJson(write('m5.json', doc({ file: 'w.safetensors' })))).message).toMatch(/holds 2 tensors; name one with "key"/);
  });

  it('NaN and Inf weights: names the layer, field and index', () => {
    const nan = Float32Array.of(1, 2, NaN, 4, 5, 6);
    const b64 = write('nan.json', doc({ shape: [2, 3], dtype: 'float32', base64: Buffer.from(nan.buffer).toString('base64') }));
    expect(snncError(() => readModelJson(b64)).message).toMatch(/layer "fc": weight has a non-finite value \(NaN\) at flat index 2/);
    writeFileSync(join(dir, 'inf.npy'), encodeNpyFloat32(Float32Array.of(1, 2, 3, Infinity, 5, 6), [2, 3]));
    expect(snncError(() => readModelJson(write('inf.json', doc({ file: 'inf.npy' })))).message).toMatch(/non-finite value \(Infinity\) at flat index 3/);
    // JSON has no NaN, but 1e999 parses as Infinity.
    expect(snncError(() => readModelJson(write('big.json', '{"format":"snnc-model","version":1,"input":{"shape":[1]},"layers":[{"name":"d","type":"dense","weight":[[1e999]]}]}'))).message).toMatch(/non-finite/);
  });

  it('graph errors: unknown input, a zero-delay cycle, unused layers, neuron decoding on a dense output', () => {
    const base = doc(W);
    const at = (layers: unknown[], extra = {}) => snncError(() => parseModelJson(JSON.stringify({ ...base, layers, ...extra }), join(dir, 'g.json'))).message;
    expect(at([{ name: 'fc', type: 'dense', inputs: ['ghost'], weight: W }])).toMatch(/layer "fc": input "ghost" is not a layer of the model/);
    // An empty name is not a layer either (the fuzzer found it slipping past as a falsy string into shape inference).
    expect(at([{ name: 'fc', type: 'dense', weight: W }, { name: 's', type: 'add', inputs: ['fc', ''] }])).toMatch(/layer "s": input "" is not a layer of the model/);
    expect(at([{ name: 'r', type: 'relu', inputs: ['fc'] }, { name: 'fc', type: 'dense', inputs: ['r'], weight: W }], { output: { layer: 'fc' } })).toMatch(/g\.json: layers "r", "fc" form a cycle with no delay and no neuron/);
    expect(at([{ name: 'fc', type: 'dense', weight: W }, { name: 'n', type: 'if' }], { output: { layer: 'fc' } })).toMatch(/layer\(s\) "n" do not contribute to the output "fc"/);
    expect(at([{ name: 'fc', type: 'dense', weight: W }], { output: { decoding: 'spike_count' } })).toMatch(/decoding "spike_count" needs a spiking output layer, but "fc" is dense/);
    expect(at([{ name: 'input', type: 'dense', weight: W }])).toMatch(/"input" is reserved/);
  });
});
