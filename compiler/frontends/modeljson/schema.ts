/**
 * JSON Schema (draft 2020-12) of model.json version 1, validated with ajv. `snnc schema` prints it,
 * so editors can validate model files too. Semantic checks that a schema cannot express (shapes,
 * names that resolve) are the IR verifier's.
 */
import { DECODINGS } from '../../ir/model.js';

const name = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.\\-]*$', description: 'Layer name: letters, digits, _ . -' };
const posInt = { type: 'integer', minimum: 1, maximum: 1 << 24 };
const pair = { oneOf: [posInt, { type: 'array', items: posInt, minItems: 2, maxItems: 2 }] };
const padding = {
  description: 'Zero padding: one number (all sides), [vertical, horizontal], or [top, left, bottom, right].',
  oneOf: [
    { type: 'integer', minimum: 0, maximum: 1 << 24 },
    { type: 'array', items: { type: 'integer', minimum: 0, maximum: 1 << 24 }, minItems: 2, maxItems: 2 },
    { type: 'array', items: { type: 'integer', minimum: 0, maximum: 1 << 24 }, minItems: 4, maxItems: 4 },
  ],
};
/** A number stored as float32 (in the IR and the compiled models): finite float32 range. */
const FLOAT32_MAX = 3.4028234663852886e38;
const f32 = { type: 'number', minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX };
const ref = (def: string) => ({ $ref: `#/$defs/${def}` });
const common = {
  name,
  type: { type: 'string' },
  inputs: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Layers read (default: the previous layer, or "input" for the first).' },
};
const neuronCommon = {
  ...common,
  threshold: { ...f32, exclusiveMinimum: 0, default: 1, description: 'θ: spike when v ≥ θ.' },
  reset: { enum: ['subtract', 'zero'], default: 'subtract' },
  v0: { ...f32, default: 0, description: 'Initial membrane potential v(0).' },
  refractory: { const: 0, description: 'Refractory period in steps: only 0 (none) is supported.' },
};
const decay = { type: 'number', minimum: 0, maximum: 1 };

function layer(props: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', properties: props, required: ['name', 'type', ...required], additionalProperties: false };
}

export const LAYER_TYPES = ['dense', 'conv2d', 'avgpool2d', 'maxpool2d', 'gated_maxpool2d', 'flatten', 'add', 'concat', 'batchnorm', 'relu', 'if', 'lif', 'cuba_lif'] as const;

export const modelSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://snnc.dev/schema/model-v1.json',
  title: 'snnc model.json, version 1',
  type: 'object',
  required: ['format', 'version', 'input', 'layers'],
  additionalProperties: false,
  properties: {
    format: { const: 'snnc-model' },
    version: { const: 1 },
    name: { type: 'string' },
    timesteps: { ...posInt, maximum: 100_000, default: 16, description: 'Time steps T per sample (the CLI can override).' },
    dt: { type: 'number', exclusiveMinimum: 0, default: 0.001, description: 'Seconds per step (metadata).' },
    input: {
      type: 'object',
      required: ['shape'],
      additionalProperties: false,
      properties: {
        shape: { type: 'array', items: posInt, minItems: 1, description: 'Per-sample shape, e.g. [1, 28, 28].' },
        encoding: {
          type: 'object',
          required: ['type'],
          additionalProperties: false,
          properties: {
            type: { enum: ['direct', 'rate', 'events'] },
            seed: { type: 'integer', description: 'Seed of the rate encoder (default 0).' },
          },
        },
        preprocess: {
          type: 'object',
          additionalProperties: false,
          description: "x' = (x·scale − mean) / std, applied to raw data before encoding.",
          properties: {
            scale: f32,
            mean: { oneOf: [f32, { type: 'array', items: f32, minItems: 1 }] },
            std: { oneOf: [f32, { type: 'array', items: f32, minItems: 1 }] },
          },
        },
      },
    },
    layers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          layer({ ...common, type: { const: 'dense' }, weight: ref('tensor'), bias: ref('tensor') }, ['weight']),
          layer({ ...common, type: { const: 'conv2d' }, weight: ref('tensor'), bias: ref('tensor'), stride: pair, padding, groups: posInt }, ['weight']),
          layer({ ...common, type: { const: 'avgpool2d' }, kernel: pair, stride: pair, padding }, ['kernel']),
          layer({ ...common, type: { const: 'maxpool2d' }, kernel: pair, stride: pair, padding }, ['kernel']),
          layer({ ...common, type: { const: 'gated_maxpool2d' }, kernel: pair, stride: pair }, ['kernel']),
          layer({ ...common, type: { const: 'flatten' } }),
          layer({ ...common, type: { const: 'add' }, inputs: { type: 'array', items: { type: 'string' }, minItems: 2 }, coefficients: { type: 'array', items: f32 } }, ['inputs']),
          layer({ ...common, type: { const: 'concat' }, inputs: { type: 'array', items: { type: 'string' }, minItems: 2 } }, ['inputs']),
          layer({ ...common, type: { const: 'batchnorm' }, scale: ref('tensor'), shift: ref('tensor') }, ['scale', 'shift']),
          layer({ ...common, type: { const: 'relu' }, max: { ...f32, exclusiveMinimum: 0, description: 'Clip ceiling (clipped ReLU / QCFS λ).' } }),
          layer({ ...neuronCommon, type: { const: 'if' } }),
          layer({ ...neuronCommon, type: { const: 'lif' }, beta: decay, recurrent_weight: ref('tensor') }, ['beta']),
          layer({ ...neuronCommon, type: { const: 'cuba_lif' }, alpha: decay, beta: decay, bias: ref('tensor'), recurrent_weight: ref('tensor') }, ['alpha', 'beta']),
        ],
      },
    },
    output: {
      type: 'object',
      additionalProperties: false,
      properties: {
        layer: { type: 'string', description: 'Output layer (default: the last layer).' },
        decoding: { enum: [...DECODINGS], description: 'spike_count, accumulate (Σ over the steps) or mean (Σ/T) of the output layer, or mean_membrane of a neuron output layer. Default: spike_count for a neuron layer, else accumulate.' },
      },
    },
    metadata: { type: 'object' },
  },
  $defs: {
    nested: { anyOf: [{ type: 'number' }, { type: 'array', items: { $ref: '#/$defs/nested' } }] },
    tensor: {
      description: 'A float32 tensor: nested arrays, {shape, data}, {shape, dtype: "float32", base64} (little-endian), or {file, key?} (a .npy or .safetensors file beside the model).',
      oneOf: [
        { type: 'array', items: { $ref: '#/$defs/nested' } },
        { type: 'object', required: ['shape', 'data'], additionalProperties: false, properties: { shape: { type: 'array', items: posInt }, data: { type: 'array', items: { type: 'number' } } } },
        {
          type: 'object',
          required: ['shape', 'dtype', 'base64'],
          additionalProperties: false,
          properties: { shape: { type: 'array', items: posInt }, dtype: { const: 'float32' }, base64: { type: 'string' } },
        },
        { type: 'object', required: ['file'], additionalProperties: false, properties: { file: { type: 'string', minLength: 1 }, key: { type: 'string' } } },
      ],
    },
  },
} as const;
