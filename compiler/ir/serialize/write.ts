/**
 * Writes an IR model as model.json (the inverse of read.ts), with weights inline as base64 float32
 * (exact) or in a .safetensors sidecar beside the file: on request, and always past SIDECAR_ABOVE bytes
 * of weights, since inline base64 of a large model (VGG's half gigabyte) exceeds what one JS string can
 * hold. Output bytes are deterministic. The file says version 1 when version 1 can express the model
 * (so older readers take it), else version 2.
 */
import { basename } from 'node:path';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { encodeSafetensors } from '../../io/safetensors.js';
import { type Layer, type NeuronLayer, layerKind } from '../layers.js';
import { classicNeuron } from '../classic-neurons.js';
import { modelOf } from '../neuron-program.js';
import { resets } from '../neurons.js';
import { INPUT, type SnnModel } from '../model.js';
import type { Tensor } from '../tensor.js';
import { verifyModel } from '../verify.js';
import { badInput } from '../../errors.js';
import { LAYER_NAME } from './schema.js';

/** Weights beyond this many bytes go to the sidecar even when not asked (inline base64 is 4/3 of it). */
export const SIDECAR_ABOVE = 64 * 2 ** 20;

export interface WriteOptions {
  /** Put tensors in `<name>.safetensors` beside the model file instead of inline base64 (default: past `sidecarAbove` bytes). */
  readonly sidecar?: boolean;
  /** The weight size past which the sidecar is used anyway (default SIDECAR_ABOVE). */
  readonly sidecarAbove?: number;
}

/** Bytes of all tensors of a model (weights, biases, per-neuron parameters). */
export function tensorBytes(model: SnnModel): number {
  const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && (v as Tensor).data instanceof Float32Array;
  return model.layers.reduce((n, l) => n + [...Object.values(l), ...(l.op === 'neuron' ? Object.values(l.params) : [])].reduce<number>((m, v) => m + (isTensor(v) ? v.data.byteLength : 0), 0), 0);
}

function layerJson(layer: Layer, previous: string, tensor: (key: string, t: Tensor) => unknown): Record<string, unknown> {
  const j: Record<string, unknown> = { name: layer.name, type: layerKind(layer) };
  const chained = layer.inputs.length === 1 && layer.inputs[0] === previous;
  if (!chained) j.inputs = [...layer.inputs];
  const put = (field: string, t: Tensor | undefined) => {
    if (t) j[field] = tensor(`${layer.name}.${field}`, t);
  };
  switch (layer.op) {
    case 'dense':
      put('weight', layer.weight);
      put('bias', layer.bias);
      break;
    case 'sparse':
      Object.assign(j, { size: layer.size, fan_in: layer.fanIn, seed: layer.seed, weight: { low: layer.weight.low, high: layer.weight.high } });
      if (layer.columns) j.columns = { count: layer.columns.count, radius: layer.columns.radius, ...(layer.columns.offset ? { offset: layer.columns.offset } : {}) };
      break;
    case 'conv2d':
      put('weight', layer.weight);
      put('bias', layer.bias);
      Object.assign(j, { stride: [...layer.stride], padding: [...layer.padding], groups: layer.groups });
      if (layer.dilation && layer.dilation.some((d) => d !== 1)) j.dilation = [...layer.dilation];
      break;
    case 'avgpool2d':
    case 'maxpool2d':
      Object.assign(j, { kernel: [...layer.kernel], stride: [...layer.stride], padding: [...layer.padding] });
      break;
    case 'gated_maxpool2d':
      Object.assign(j, { kernel: [...layer.kernel], stride: [...layer.stride] });
      break;
    case 'add':
      if (layer.coefficients) j.coefficients = [...layer.coefficients];
      break;
    case 'batchnorm':
      put('scale', layer.scale);
      put('shift', layer.shift);
      break;
    case 'relu':
      if (layer.max !== undefined) j.max = layer.max;
      break;
    case 'delay':
      j.steps = layer.steps;
      break;
    case 'reshape':
      j.shape = [...layer.shape];
      break;
    case 'flatten':
    case 'concat':
      break;
    case 'neuron':
      neuronJson(j, layer, put);
      break;
  }
  return j;
}

/**
 * A neuron layer's fields: threshold, reset and v0 always (what a reader looks for first), then every
 * other parameter that is required or differs from its default; one value as a number, else a tensor.
 */
function neuronJson(j: Record<string, unknown>, layer: NeuronLayer, put: (field: string, t: Tensor | undefined) => void): void {
  const model = modelOf(layer);
  const field = (name: string) => {
    const p = layer.params[name];
    if (typeof p === 'number') j[name] = p;
    else put(name, p);
  };
  const declares = (name: string) => model.params.some((p) => p.name === name);
  if (declares('threshold')) field('threshold');
  if (resets(model)) j.reset = layer.reset;
  if (declares('v0')) field('v0');
  for (const p of model.params) {
    if (p.name !== 'threshold' && p.name !== 'v0' && (p.default === undefined || layer.params[p.name] !== p.default)) field(p.name);
  }
  put('recurrent_weight', layer.recurrent);
}

/** Whether model.json version 1 can express the layer. */
function isV1Layer(layer: Layer, index: number, layers: readonly Layer[]): boolean {
  if (layer.inputs.some((n) => layers.findIndex((l) => l.name === n) >= index)) return false; // v1 read earlier layers only
  if (layer.op === 'delay' || layer.op === 'reshape' || layer.op === 'sparse' || (layer.op === 'conv2d' && layer.dilation?.some((d) => d !== 1))) return false;
  return layer.op !== 'neuron' || classicNeuron(layer) !== undefined;
}

/** The model.json document and, with `sidecar`, the tensors to store beside it. */
export function modelToJson(model: SnnModel, sidecarFile?: string): { doc: Record<string, unknown>; tensors: Map<string, Tensor> } {
  verifyModel(model);
  const unnamed = model.layers.find((l) => !LAYER_NAME.test(l.name));
  if (unnamed) throw badInput(`layer "${unnamed.name}": model.json layer names are letters, digits, _ . - (${LAYER_NAME.source}); rename it before writing`);
  const tensors = new Map<string, Tensor>();
  const tensorJson = (key: string, t: Tensor) => {
    if (sidecarFile) {
      tensors.set(key, t);
      return { file: sidecarFile, key };
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    return { shape: [...t.shape], dtype: 'float32', base64: Buffer.from(bytes).toString('base64') };
  };
  let previous = INPUT;
  const layers = model.layers.map((l) => {
    const j = layerJson(l, previous, tensorJson);
    previous = l.name;
    return j;
  });
  const enc = model.input.encoding;
  const doc = {
    format: 'snnc-model',
    version: model.layers.every(isV1Layer) ? 1 : 2,
    name: model.name,
    timesteps: model.timesteps,
    dt: model.dt,
    input: {
      shape: [...model.input.shape],
      encoding: enc.type === 'rate' ? { type: 'rate', seed: enc.seed } : { type: enc.type },
      preprocess: { scale: model.input.preprocess.scale, mean: [...model.input.preprocess.mean], std: [...model.input.preprocess.std] },
    },
    layers,
    output: { layer: model.output.layer, decoding: model.output.decoding },
    metadata: model.metadata,
  };
  return { doc, tensors };
}

export function writeModelJson(model: SnnModel, path: string, options: WriteOptions = {}): void {
  const wanted = options.sidecar ?? tensorBytes(model) > (options.sidecarAbove ?? SIDECAR_ABOVE);
  const sidecar = wanted ? `${basename(path).replace(/\.json$/i, '')}.safetensors` : undefined;
  const { doc, tensors } = modelToJson(model, sidecar);
  if (sidecar) writeFileAtomic(path.replace(/[^/\\]*$/, sidecar), encodeSafetensors(tensors));
  writeFileAtomic(path, `${JSON.stringify(doc, null, 1)}\n`);
}
