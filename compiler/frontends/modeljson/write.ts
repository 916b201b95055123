/**
 * Writes an IR model as model.json version 1 (the inverse of read.ts), with weights inline as base64
 * float32 (exact) or in a .safetensors sidecar beside the file. Output bytes are deterministic.
 */
import { basename } from 'node:path';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { encodeSafetensors } from '../../io/safetensors.js';
import type { Layer } from '../../ir/layers.js';
import { INPUT, type SnnModel } from '../../ir/model.js';
import type { Tensor } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';

export interface WriteOptions {
  /** Put tensors in `<name>.safetensors` beside the model file instead of inline base64. */
  readonly sidecar?: boolean;
}

function layerJson(layer: Layer, previous: string, tensor: (key: string, t: Tensor) => unknown): Record<string, unknown> {
  const j: Record<string, unknown> = { name: layer.name, type: layer.op };
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
    case 'conv2d':
      put('weight', layer.weight);
      put('bias', layer.bias);
      Object.assign(j, { stride: [...layer.stride], padding: [...layer.padding], groups: layer.groups });
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
    case 'flatten':
    case 'concat':
      break;
    case 'if':
    case 'lif':
    case 'cuba_lif':
      Object.assign(j, { threshold: layer.threshold, reset: layer.reset, v0: layer.v0 });
      if (layer.op !== 'if') {
        if (layer.op === 'cuba_lif') j.alpha = layer.alpha;
        j.beta = layer.beta;
        put('recurrent_weight', layer.recurrent);
        if (layer.op === 'cuba_lif') put('bias', layer.bias);
      }
      break;
  }
  return j;
}

/** The model.json document and, with `sidecar`, the tensors to store beside it. */
export function modelToJson(model: SnnModel, sidecarFile?: string): { doc: Record<string, unknown>; tensors: Map<string, Tensor> } {
  verifyModel(model);
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
    version: 1,
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
  const sidecar = options.sidecar ? `${basename(path).replace(/\.json$/i, '')}.safetensors` : undefined;
  const { doc, tensors } = modelToJson(model, sidecar);
  if (sidecar) writeFileAtomic(path.replace(/[^/\\]*$/, sidecar), encodeSafetensors(tensors));
  writeFileAtomic(path, `${JSON.stringify(doc, null, 1)}\n`);
}
