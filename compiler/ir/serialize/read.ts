/**
 * Reading model.json, the IR's own serialisation (versions 1 and 2): file → JSON (syntax errors with
 * line and column) → schema validation (errors with JSON pointer, line and column) → IR records
 * (defaults filled in, tensors resolved) → verifier. Every error is prefixed with the file's path.
 * Targets and engines read and write models here, never through a frontend.
 */
import { dirname } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { SnncError, badInput } from '../../errors.js';
import { describeSchemaError, parseJson } from '../../io/json-document.js';
import { readInputText } from '../../io/read-file.js';
import * as L from '../layers.js';
import { type Decoding, type Encoding, INPUT, type Preprocess, type SnnModel } from '../model.js';
import type { Tensor } from '../tensor.js';
import { verifyModel } from '../verify.js';
import { earlyRead, evaluationOrder } from '../graph.js';
import { neuronModel } from '../neurons.js';
import { layerTypes, modelSchema } from './schema.js';
import { type TensorJson, TensorResolver } from './tensors.js';

type Json = Record<string, any>;

/** The compiled schema, for the neuron models declared when it was compiled. */
let validator: { types: string; validate: ValidateFunction } | undefined;
function validate(doc: unknown): ErrorObject[] {
  const types = layerTypes().join();
  if (validator?.types !== types) validator = { types, validate: new Ajv2020({ allErrors: true, discriminator: true, strict: false }).compile(modelSchema()) };
  return validator.validate(doc) ? [] : (validator.validate.errors ?? []);
}

const pair = (v: number | number[] | undefined, dflt: L.Pair): L.Pair => (v === undefined ? dflt : typeof v === 'number' ? [v, v] : [v[0], v[1]]);
function padding4(v: number | number[] | undefined): L.Padding4 {
  if (v === undefined) return [0, 0, 0, 0];
  if (typeof v === 'number') return [v, v, v, v];
  if (v.length === 2) return [v[0], v[1], v[0], v[1]];
  return [v[0], v[1], v[2], v[3]];
}
const list = (v: number | number[] | undefined, dflt: number): number[] => (v === undefined ? [dflt] : typeof v === 'number' ? [v] : [...v]);

function buildLayer(j: Json, inputs: string[], tensors: TensorResolver): L.Layer {
  const t = (field: string): Tensor | undefined =>
    j[field] === undefined ? undefined : tensors.resolve(j[field] as TensorJson, `layer "${j.name}" ${field}`);
  const base = { name: j.name as string, inputs };
  const model = neuronModel(j.type);
  if (model) {
    const params = Object.fromEntries(model.params.map((p) => [p.name, typeof j[p.name] === 'number' ? (j[p.name] as number) : t(p.name)]));
    return L.neuron(model.name, { ...base, params, reset: j.reset, recurrent: t('recurrent_weight') });
  }
  switch (j.type as Exclude<L.LayerOp, 'neuron'>) {
    case 'dense':
      return L.dense({ ...base, weight: t('weight')!, bias: t('bias') });
    case 'sparse':
      return L.sparse({ ...base, size: j.size, fanIn: j.fan_in, seed: j.seed, weight: { low: j.weight.low, high: j.weight.high }, ...(j.columns ? { columns: { count: j.columns.count, radius: j.columns.radius, ...(j.columns.offset ? { offset: j.columns.offset } : {}) } } : {}) });
    case 'conv2d':
      return L.conv2d({ ...base, weight: t('weight')!, bias: t('bias'), stride: pair(j.stride, [1, 1]), padding: padding4(j.padding), groups: j.groups ?? 1, ...(j.dilation === undefined ? {} : { dilation: pair(j.dilation, [1, 1]) }) });
    case 'avgpool2d':
    case 'maxpool2d': {
      const kernel = pair(j.kernel, [1, 1]);
      const f = { ...base, kernel, stride: pair(j.stride, kernel), padding: padding4(j.padding) };
      return j.type === 'avgpool2d' ? L.avgpool2d(f) : L.maxpool2d(f);
    }
    case 'gated_maxpool2d': {
      const kernel = pair(j.kernel, [1, 1]);
      return L.gatedMaxpool2d({ ...base, kernel, stride: pair(j.stride, kernel) });
    }
    case 'flatten':
      return L.flatten(base);
    case 'reshape':
      return L.reshape({ ...base, shape: j.shape });
    case 'add':
      return L.add({ ...base, coefficients: j.coefficients });
    case 'concat':
      return L.concat(base);
    case 'batchnorm':
      return L.batchNorm({ ...base, scale: t('scale')!, shift: t('shift')! });
    case 'relu':
      return L.relu({ ...base, max: j.max });
    case 'delay':
      return L.delay({ ...base, steps: j.steps });
  }
}

/** Builds the IR from a schema-valid model.json document. `baseDir` anchors sidecar paths. */
export function modelFromJson(doc: Json, baseDir: string): SnnModel {
  const tensors = new TensorResolver(baseDir);
  const layers: L.Layer[] = [];
  let previous = INPUT;
  for (const j of doc.layers as Json[]) {
    const layer = buildLayer(j, j.inputs ?? [previous], tensors);
    layers.push(layer);
    previous = layer.name;
  }
  // Listed in evaluation order, the layers keep it (and their meaning); otherwise find one.
  if (earlyRead(layers)) layers.splice(0, layers.length, ...evaluationOrder(layers));
  const outName: string = doc.output?.layer ?? previous;
  const outLayer = layers.find((l) => l.name === outName);
  const decoding: Decoding = doc.output?.decoding ?? (outLayer && L.isSpikingLayer(outLayer) ? 'spike_count' : 'accumulate');
  const enc = doc.input.encoding ?? { type: 'direct' };
  const encoding: Encoding = enc.type === 'rate' ? { type: 'rate', seed: enc.seed ?? 0 } : { type: enc.type };
  const pre = doc.input.preprocess ?? {};
  const preprocess: Preprocess = { scale: pre.scale ?? 1, mean: list(pre.mean, 0), std: list(pre.std, 1) };
  const model: SnnModel = {
    name: doc.name ?? 'model',
    input: { shape: doc.input.shape, encoding, preprocess },
    layers,
    output: { layer: outName, decoding },
    timesteps: doc.timesteps ?? 16,
    dt: doc.dt ?? 0.001,
    metadata: doc.metadata ?? {},
  };
  verifyModel(model);
  return model;
}

export function parseModelJson(text: string, file: string): SnnModel {
  const doc = parseJson(text, file);
  const errors = validate(doc);
  if (errors.length > 0) throw badInput(describeSchemaError(errors, text, file, doc, layerTypes()));
  try {
    return modelFromJson(doc as Json, dirname(file));
  } catch (e) {
    if (e instanceof SnncError) throw new SnncError(`${file}: ${e.message}`, e.exitCode);
    throw e;
  }
}

export function readModelJson(file: string): SnnModel {
  return parseModelJson(readInputText(file, 'model file'), file);
}
