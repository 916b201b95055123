/**
 * Shared pieces of the artifact-descriptor readers (loihi.json, spinnaker.json, gpu manifest.json): JSON
 * Schema validation with snnc's phrasing of the first error (JSON pointer and line), named errors for
 * the cross-reference checks a schema cannot express, and the host encoder embedded in a descriptor,
 * turned into a model through the same validation as a model.json file.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { badInput } from '../../compiler/errors.js';
import { parseModelJson } from '../../compiler/ir/serialize/read.js';
import { describeSchemaError, parseJson } from '../../compiler/io/json-document.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { inferShapes } from '../../compiler/ir/shapes.js';

/** Largest int32 (offsets and lengths of words files, raw s16.15 values). */
export const INT32_MAX = 2 ** 31 - 1;
export const UINT32_MAX = 2 ** 32 - 1;

export const integer = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;
export const number = { type: 'number' } as const;
export const string = { type: 'string', maxLength: 4096 } as const;
/** A per-sample shape: 1–8 positive dimensions. */
export const shape = { type: 'array', items: integer(1, 1 << 24), minItems: 1, maxItems: 8 } as const;
export const tuple = (items: object, n: number) => ({ type: 'array', items, minItems: n, maxItems: n }) as const;
export const object = (properties: Record<string, unknown>, required: readonly string[] = Object.keys(properties)) => ({ type: 'object', properties, required: [...required], additionalProperties: false }) as const;
export const encoding = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: { type: { enum: ['direct', 'rate', 'events'] }, seed: integer(-INT32_MAX - 1, UINT32_MAX) },
  if: { properties: { type: { const: 'rate' } } },
  then: { required: ['type', 'seed'] },
} as const;
export const preprocess = object({ scale: number, mean: { type: 'array', items: number, minItems: 1 }, std: { type: 'array', items: number, minItems: 1 } });
/** A non-negative int32 (counts, offsets). */
export const count = integer(0, INT32_MAX);
/** The fields every chip descriptor opens with: provenance and the model input the host encodes. */
export const descriptorProvenance = { snncVersion: string, sourceHash: string, model: string, input: object({ shape, encoding, preprocess }) } as const;

const compiled = new WeakMap<object, ValidateFunction>();

/** Parses `text` and validates it against `schema`; the first error is one line naming file, pointer and line. */
export function parseWithSchema<T>(text: string, file: string, schema: object, precheck?: (doc: any) => void): T {
  const doc = parseJson(text, file);
  precheck?.(doc);
  let validate = compiled.get(schema);
  if (!validate) {
    validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(doc)) throw badInput(describeSchemaError(validate.errors ?? [], text, file, doc, []));
  return doc as T;
}

/** Throws a named bad-input error `file: pointer: message` unless `ok`. */
export function check(ok: boolean, file: string, pointer: string, message: () => string): asserts ok {
  if (!ok) throw badInput(`${file}: ${pointer}: ${message()}`);
}

/** Product of a shape's dimensions. */
export const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Preprocessing's mean and std have one value, or one per channel (the shape's first axis). */
export function checkPreprocess(p: { mean: readonly number[]; std: readonly number[] }, shape: readonly number[], file: string, at: string): void {
  for (const k of ['mean', 'std'] as const) check(p[k].length === 1 || p[k].length === shape[0], file, `${at}/${k}`, () => `has ${p[k].length} values; expected 1 or one per channel (${shape[0]})`);
}

const encoders = new WeakMap<object, SnnModel>();
/** Most values per sample of any layer of an embedded host encoder. */
export const MAX_ENCODER_VALUES = 1 << 24;

/**
 * The host encoder a descriptor embeds (a model.json document), validated exactly as a model.json file
 * is (JSON Schema, then the IR verifier); its tensors must be inline (no sidecar files), and it must read
 * the descriptor's input shape. Memoised per document object.
 */
export function hostEncoder(doc: unknown, file: string, inputShape: readonly number[]): SnnModel {
  if (doc && typeof doc === 'object' && encoders.has(doc)) return encoders.get(doc)!;
  const label = `${file} (host.encoder)`;
  const layers = (doc as { layers?: unknown })?.layers;
  if (Array.isArray(layers)) {
    layers.forEach((l, i) => {
      if (!l || typeof l !== 'object') return;
      for (const [k, v] of Object.entries(l)) {
        if (v && typeof v === 'object' && !Array.isArray(v) && 'file' in v) throw badInput(`${label}: /layers/${i}/${k}: an embedded encoder's tensors must be inline, not a file reference`);
      }
    });
  }
  const model = parseModelJson(JSON.stringify(doc, null, 1) ?? 'null', label);
  const s = model.input.shape;
  if (s.length !== inputShape.length || s.some((d, i) => d !== inputShape[i])) throw badInput(`${label}: /input/shape: [${s.join(', ')}] differs from the descriptor's input shape [${inputShape.join(', ')}]`);
  // The simulator allocates every layer's output: refuse absurd sizes (a huge padding passes the schema).
  for (const [layer, sh] of inferShapes(model)) {
    const n = product(sh);
    if (!(n <= MAX_ENCODER_VALUES)) throw badInput(`${label}: layer "${layer}" has ${n} output values per sample > ${MAX_ENCODER_VALUES}`);
  }
  if (doc && typeof doc === 'object') encoders.set(doc, model);
  return model;
}

/** Values per sample the host encoder outputs. */
export function encoderOutputSize(model: SnnModel): number {
  return product(inferShapes(model).get(model.output.layer)!);
}
