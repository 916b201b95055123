/**
 * JSON Schema (draft 2020-12) of model.json (version 2; version 1 files are a subset and read
 * unchanged), validated with ajv. `snnc schema` prints it, so editors can validate model files too.
 * Neuron layers are generated from the neuron model declarations (compiler/ir/neurons.ts): one layer
 * type per model, one field per parameter (a number, or a tensor that broadcasts to the layer).
 * Semantic checks that a schema cannot express (shapes, names that resolve) are the IR verifier's.
 */
import { DECODINGS } from '../model.js';
import { type NeuronModel, type ParamSpec, RESET_MODES, neuronModels, resets } from '../neurons.js';

/** What a layer name in model.json may be (the writer checks it too, so that it never writes a file the reader refuses). */
export const LAYER_NAME = /^[A-Za-z_][A-Za-z0-9_.\-]*$/;
const name = { type: 'string', pattern: LAYER_NAME.source, description: 'Layer name: letters, digits, _ . -' };
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
  inputs: {
    type: 'array',
    items: { type: 'string' },
    minItems: 1,
    description: 'Layers read (default: the previous layer, or "input" for the first). Reading a neuron listed later (or itself) reads its output of the previous step; a delay may be read from anywhere.',
  },
};

/** A parameter: one number for every neuron, or a tensor (per channel, per neuron) that broadcasts to the layer. */
function paramSchema(p: ParamSpec) {
  const range = { positive: { exclusiveMinimum: 0 }, decay: { minimum: 0, maximum: 1 }, nonnegative: { minimum: 0 }, count: { type: 'integer', minimum: 1 }, finite: {} }[p.range];
  return { description: `${p.doc}${p.default === undefined ? '' : ` Default ${p.default}.`} A number, or a tensor broadcasting to the layer.`, oneOf: [{ ...f32, ...range }, ref('tensor')] };
}

function neuronLayerSchema(m: NeuronModel) {
  const props: Record<string, unknown> = { ...common, type: { const: m.name, description: `${m.title}: ${m.equations}` } };
  for (const p of m.params) props[p.name] = paramSchema(p);
  if (resets(m)) props.reset = { enum: [...RESET_MODES], default: 'subtract' };
  if (m.fire) props.recurrent_weight = { ...ref('tensor'), description: 'W_rec [N, N]: adds W_rec·s(t−1) to the input current.' };
  props.refractory = { const: 0, description: 'Refractory period in steps: only 0 (none) is supported.' };
  return layer(props, m.params.filter((p) => p.default === undefined).map((p) => p.name));
}

function layer(props: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', properties: props, required: ['name', 'type', ...required], additionalProperties: false };
}

const SYNAPTIC_TYPES = ['dense', 'sparse', 'conv2d', 'avgpool2d', 'maxpool2d', 'gated_maxpool2d', 'flatten', 'reshape', 'add', 'concat', 'batchnorm', 'relu', 'delay'];

/** Every layer type model.json accepts: the synaptic layers, then one per declared neuron model. */
export function layerTypes(): string[] {
  return [...SYNAPTIC_TYPES, ...neuronModels().map((m) => m.name)];
}

/** The schema, with one neuron layer type per model declared now (a registered model is included). */
export function modelSchema() {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://snnc.dev/schema/model-v2.json',
    title: 'snnc model.json, version 2 (version 1 files are valid too)',
    type: 'object',
    required: ['format', 'version', 'input', 'layers'],
    additionalProperties: false,
    properties: {
      format: { const: 'snnc-model' },
      version: { enum: [1, 2] },
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
            layer(
              {
                ...common,
                type: { const: 'sparse', description: 'A sparse projection by rule: each of size targets reads fan_in distinct inputs (flattened), drawn with their weights from seed; never a matrix.' },
                size: posInt,
                fan_in: posInt,
                seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
                weight: { type: 'object', properties: { low: f32, high: f32 }, required: ['low', 'high'], additionalProperties: false, description: 'Weights uniform in [low, high] (float32).' },
                columns: {
                  type: 'object',
                  properties: { count: posInt, radius: { type: 'integer', minimum: 0 }, offset: { type: 'integer', description: 'Default 0.' } },
                  required: ['count', 'radius'],
                  additionalProperties: false,
                  description: 'Input and output cut into count blocks on a ring; a target of block c draws from blocks c + offset − radius … c + offset + radius.',
                },
              },
              ['size', 'fan_in', 'seed', 'weight'],
            ),
            layer({ ...common, type: { const: 'conv2d' }, weight: ref('tensor'), bias: ref('tensor'), stride: pair, padding, groups: posInt, dilation: pair }, ['weight']),
            layer({ ...common, type: { const: 'avgpool2d' }, kernel: pair, stride: pair, padding }, ['kernel']),
            layer({ ...common, type: { const: 'maxpool2d' }, kernel: pair, stride: pair, padding }, ['kernel']),
            layer({ ...common, type: { const: 'gated_maxpool2d' }, kernel: pair, stride: pair }, ['kernel']),
            layer({ ...common, type: { const: 'flatten' } }),
            layer({ ...common, type: { const: 'reshape' }, shape: { type: 'array', items: posInt, minItems: 1, description: 'The per-sample shape after (same number of values, row-major).' } }, ['shape']),
            layer({ ...common, type: { const: 'add' }, inputs: { type: 'array', items: { type: 'string' }, minItems: 2 }, coefficients: { type: 'array', items: f32 } }, ['inputs']),
            layer({ ...common, type: { const: 'concat' }, inputs: { type: 'array', items: { type: 'string' }, minItems: 2 } }, ['inputs']),
            layer({ ...common, type: { const: 'batchnorm' }, scale: ref('tensor'), shift: ref('tensor') }, ['scale', 'shift']),
            layer({ ...common, type: { const: 'delay' }, steps: { type: 'integer', minimum: 1, maximum: 100_000, description: 'd: y(t) = x(t − d), 0 for t ≤ d.' } }, ['steps']),
            layer({ ...common, type: { const: 'relu' }, max: { ...f32, exclusiveMinimum: 0, description: 'Clip ceiling (clipped ReLU / QCFS λ).' } }),
            ...neuronModels().map(neuronLayerSchema),
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
}
