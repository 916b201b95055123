/**
 * Architecture files for `snnc train`: a JSON list of layers without weights, validated against a JSON
 * Schema (errors name the file, the JSON pointer and the line), and turned into an IR model at T=1 with
 * seeded He-uniform weights, zero biases and IF neurons (v(0) = 0, θ as given). Training then only
 * changes weights and biases. In `ann` mode each IF layer is built as a ReLU instead, so the same file
 * trains the ANN baseline that the conversion pass takes.
 *
 *   { "name": "mnist-mlp", "input": { "shape": [1, 28, 28], "scale": 0.00392156862745098 },
 *     "layers": [ { "type": "flatten" }, { "type": "dense", "units": 256 }, { "type": "if" },
 *                 { "type": "dense", "units": 10 } ] }
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { badInput } from '../compiler/errors.js';
import { describeSchemaError, parseJson } from '../compiler/io/json-document.js';
import { readInputText } from '../compiler/io/read-file.js';
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../compiler/ir/model.js';
import { type Tensor, sizeOf, tensor } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import { streamGenerator } from '../compiler/reference/seeded-rng.js';

export const ARCH_LAYER_TYPES = ['dense', 'conv2d', 'avgpool2d', 'flatten', 'if'] as const;
export type TrainingMode = 't1-noise' | 'ann';
export const TRAINING_MODES: readonly TrainingMode[] = ['t1-noise', 'ann'];

const posInt = { type: 'integer', minimum: 1, maximum: 1 << 20 };
const pair = { oneOf: [posInt, { type: 'array', items: posInt, minItems: 2, maxItems: 2 }] };
const layer = (type: string, props: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required: ['type', ...required],
  properties: { type: { const: type }, name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.\\-]*$' }, ...props },
});

export const architectureSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'snnc training architecture',
  type: 'object',
  additionalProperties: false,
  required: ['input', 'layers'],
  properties: {
    name: { type: 'string' },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['shape'],
      properties: {
        shape: { type: 'array', items: posInt, minItems: 1, maxItems: 3, description: 'Per-sample shape: [features] or [C, H, W].' },
        scale: { type: 'number', exclusiveMinimum: 0, description: 'Raw data is multiplied by this before the network (e.g. 1/255 for pixels). Default 1.' },
      },
    },
    seed: { type: 'integer', description: 'Seed of the weight initialisation (default 1).' },
    layers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          layer('dense', { units: posInt }, ['units']),
          layer('conv2d', { channels: posInt, kernel: pair, stride: pair, padding: { type: 'integer', minimum: 0, maximum: 64 } }, ['channels', 'kernel']),
          layer('avgpool2d', { kernel: pair, stride: pair }, ['kernel']),
          layer('flatten'),
          layer('if', { threshold: { type: 'number', exclusiveMinimum: 0, description: 'θ (default 1).' } }),
        ],
      },
    },
  },
} as const;

let validator: ValidateFunction | undefined;

const asPair = (v: number | number[] | undefined, dflt: L.Pair): L.Pair => (v === undefined ? dflt : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** He-uniform weights U(−√(6/fan_in), √(6/fan_in)) from a seeded generator: the same file gives the same model. */
function heUniform(shape: number[], fanIn: number, next: () => number): Tensor {
  const limit = Math.sqrt(6 / fanIn);
  return tensor(shape, Float32Array.from({ length: sizeOf(shape) }, () => (2 * next() - 1) * limit));
}

/** Reads and validates an architecture file and builds the initial T=1 model (IF, or ReLU for `ann`). */
export function readArchitecture(file: string, mode: TrainingMode = 't1-noise'): SnnModel {
  const text = readInputText(file, 'architecture file');
  const doc = parseJson(text, file);
  validator ??= new Ajv2020({ allErrors: true, discriminator: true, strict: false }).compile(architectureSchema);
  if (!validator(doc)) throw badInput(describeSchemaError(validator.errors ?? [], text, file, doc, ARCH_LAYER_TYPES));
  return buildArchitecture(doc as ArchitectureJson, file, mode);
}

interface ArchitectureJson {
  name?: string;
  input: { shape: number[]; scale?: number };
  seed?: number;
  layers: Array<{ type: (typeof ARCH_LAYER_TYPES)[number]; name?: string; units?: number; channels?: number; kernel?: number | number[]; stride?: number | number[]; padding?: number; threshold?: number }>;
}

export function buildArchitecture(doc: ArchitectureJson, file: string, mode: TrainingMode): SnnModel {
  const rng = streamGenerator(doc.seed ?? 1);
  const next = () => uniformFloat64(rng);
  const layers: L.Layer[] = [];
  let prev = INPUT;
  let shape = [...doc.input.shape];
  const counts = new Map<string, number>();
  for (const [k, j] of doc.layers.entries()) {
    const n = (counts.get(j.type) ?? 0) + 1;
    counts.set(j.type, n);
    const name = j.name ?? `${j.type === 'if' && mode === 'ann' ? 'relu' : j.type}${n}`;
    const at = `${file}: /layers/${k} (${j.type} "${name}")`;
    const base = { name, inputs: [prev] };
    let built: L.Layer;
    switch (j.type) {
      case 'dense': {
        if (shape.length !== 1) throw badInput(`${at}: dense takes a vector but gets shape [${shape}]; add {"type": "flatten"} before it`);
        built = L.dense({ ...base, weight: heUniform([j.units!, shape[0]], shape[0], next), bias: tensor([j.units!], new Float32Array(j.units!)) });
        shape = [j.units!];
        break;
      }
      case 'conv2d': {
        if (shape.length !== 3) throw badInput(`${at}: conv2d takes [C, H, W] but gets shape [${shape}]`);
        const [kh, kw] = asPair(j.kernel, [1, 1]);
        const [sh, sw] = asPair(j.stride, [1, 1]);
        const p = j.padding ?? 0;
        const C = shape[0];
        built = L.conv2d({ ...base, weight: heUniform([j.channels!, C, kh, kw], C * kh * kw, next), bias: tensor([j.channels!], new Float32Array(j.channels!)), stride: [sh, sw], padding: [p, p, p, p], groups: 1 });
        shape = [j.channels!, Math.floor((shape[1] + 2 * p - kh) / sh) + 1, Math.floor((shape[2] + 2 * p - kw) / sw) + 1];
        break;
      }
      case 'avgpool2d': {
        if (shape.length !== 3) throw badInput(`${at}: avgpool2d takes [C, H, W] but gets shape [${shape}]`);
        const kernel = asPair(j.kernel, [1, 1]);
        const stride = asPair(j.stride, kernel);
        built = L.avgpool2d({ ...base, kernel, stride, padding: [0, 0, 0, 0] });
        shape = [shape[0], Math.floor((shape[1] - kernel[0]) / stride[0]) + 1, Math.floor((shape[2] - kernel[1]) / stride[1]) + 1];
        break;
      }
      case 'flatten':
        built = L.flatten(base);
        shape = [sizeOf(shape)];
        break;
      case 'if':
        built = mode === 'ann' ? L.relu(base) : L.ifNeuron({ ...base, threshold: j.threshold ?? 1, reset: 'subtract', v0: 0 });
        break;
    }
    if (shape.some((d) => d < 1)) throw badInput(`${at}: the output would be empty (shape [${shape}])`);
    layers.push(built);
    prev = name;
  }
  const last = layers[layers.length - 1];
  if (last.op !== 'dense') throw badInput(`${file}: the last layer must be a dense readout (its values are the class scores), got ${last.op}`);
  const model: SnnModel = {
    name: doc.name ?? 'trained',
    input: { shape: doc.input.shape, encoding: { type: 'direct' }, preprocess: { scale: doc.input.scale ?? 1, mean: [0], std: [1] } },
    layers,
    output: { layer: last.name, decoding: mode === 'ann' ? 'accumulate' : 'mean' },
    timesteps: 1,
    dt: 1e-3,
    metadata: {},
  };
  verifyModel(model);
  return model;
}
