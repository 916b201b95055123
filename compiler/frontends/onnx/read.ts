/**
 * The ONNX frontend: a trained ANN (opsets 7–21) → IR layers (dense, conv2d, pools, relu, batchnorm,
 * add, concat, flatten) with T = 1, ready for foldBatchNorm and ANN→SNN conversion. Handles what real
 * exports contain: initializers listed as graph inputs (IR 3), Constant nodes and constant-folded shape
 * arithmetic, auto_pad, biases as broadcast Add, weight Reshapes on initializers, Gemm/MatMul,
 * BatchNormalization, Clip, Softmax or Sigmoid at the output (dropped: both keep the argmax), input
 * normalisation (folded into the model's preprocessing). Every op is checked before any work; an
 * unsupported one is an error naming the node, its op type and the opset. As torch.onnx.export writes
 * them: only the batch axis of the input may be symbolic (an error names the symbolic axes and the node
 * that reads the input), and a tensor whose external data cannot be read is named with the node that
 * reads it.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import onnxPkg from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';
import { SnncError, badInput } from '../../errors.js';
import { MAX_INPUT_BYTES, readInputFile } from '../../io/read-file.js';
import * as L from '../../ir/layers.js';
import { INPUT, type Preprocess, type SnnModel } from '../../ir/model.js';
import { layerOutputShape } from '../../ir/shapes.js';
import { type Tensor, shapeToString, sizeOf, tensor } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';

const onnx = onnxPkg.onnx;
const DT = onnx.TensorProto.DataType;

export const SUPPORTED_OPS = [
  'Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'Flatten', 'Reshape', 'Concat', 'Softmax', 'Sigmoid', 'Identity', 'Dropout', 'Constant', 'Shape', 'Gather',
  'Unsqueeze', 'Squeeze', 'Cast',
] as const;
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

/** A constant (initializer, Constant node, or folded shape arithmetic). */
interface Const {
  kind: 'const';
  dims: number[];
  data: Float64Array;
}
/** An activation per sample, produced by the IR layer `layer` (or the model input). */
interface Act {
  kind: 'act';
  layer: string;
  shape: number[];
}
type Value = Const | Act;

/** Largest input dimension (as model.json's schema) and per-sample input size accepted. */
const MAX_DIM = 1 << 24;
const MAX_INPUT_ELEMENTS = 2 ** 31 - 1;

/** Largest tensor a model may declare: its bytes must fit in one buffer (see MAX_INPUT_BYTES). */
const MAX_TENSOR_BYTES = MAX_INPUT_BYTES;

/** Reads tensors' external data (`data_location: EXTERNAL`): files beside the model, read once each. */
class ExternalData {
  private readonly files = new Map<string, Uint8Array>();
  constructor(private readonly baseDir: string | undefined) {}

  bytes(t: O.ITensorProto, where: string, needed: number): Uint8Array {
    const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    if (!location) throw badInput(`${where}: tensor "${t.name}" has external data without a "location"`);
    if (this.baseDir === undefined) throw badInput(`${where}: tensor "${t.name}" has its data in the external file "${location}", which cannot be read when the model is not read from a file`);
    if (isAbsolute(location) || location.split(/[\\/]/).includes('..')) throw badInput(`${where}: tensor "${t.name}" has external data "${location}" outside the model's folder`);
    const path = resolve(this.baseDir, location);
    let file = this.files.get(path);
    if (!file) {
      file = readInputFile(path, `the external data of tensor "${t.name}"`, { name: `${where}: ${location}` });
      this.files.set(path, file);
    }
    const num = (k: string, d: number) => {
      const v = entries.get(k);
      if (v === undefined) return d;
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw badInput(`${where}: tensor "${t.name}" has external data ${k} "${v}", not a non-negative integer`);
      return n;
    };
    const offset = num('offset', 0);
    const length = num('length', file.length - Math.min(offset, file.length));
    if (offset + length > file.length) throw badInput(`${where}: tensor "${t.name}" has external data [${offset}, ${offset + length}) past the end of "${location}" (${file.length} bytes)`);
    if (length !== needed) throw badInput(`${where}: tensor "${t.name}" has ${length} bytes of external data in "${location}", its shape needs ${needed}`);
    return file.subarray(offset, offset + length);
  }
}

function constOf(t: O.ITensorProto, where: string, external: ExternalData, kind = 'tensor'): Const {
  const name = `${kind} "${t.name}"`;
  const dims = (t.dims ?? []).map(Number);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw badInput(`${where}: ${name} has dimensions [${dims}]; expected non-negative integers`);
  const width: Record<number, number> = { [DT.FLOAT]: 4, [DT.DOUBLE]: 8, [DT.INT64]: 8, [DT.INT32]: 4 };
  const w = width[t.dataType ?? 0];
  if (!w) throw badInput(`${where}: ${name} has unsupported data type ${t.dataType}`);
  const n = sizeOf(dims);
  if (n * w > MAX_TENSOR_BYTES) throw badInput(`${where}: ${name} of shape [${dims}] would take ${n * w} bytes, more than the limit of ${MAX_TENSOR_BYTES}`);
  let raw: Uint8Array | undefined = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = external.bytes(t, where, n * w);
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  if (view && view.byteLength !== n * w) throw badInput(`${where}: ${name} has ${view.byteLength} bytes of data, shape [${dims}] needs ${n * w}`);
  const typed = { [DT.FLOAT]: t.floatData, [DT.DOUBLE]: t.doubleData, [DT.INT64]: t.int64Data, [DT.INT32]: t.int32Data }[t.dataType!] ?? [];
  if (!view && typed.length !== n) throw badInput(`${where}: ${name} has ${typed.length} values, shape [${dims}] needs ${n}`);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (view) {
      switch (t.dataType) {
        case DT.FLOAT: data[i] = view.getFloat32(4 * i, true); break;
        case DT.DOUBLE: data[i] = view.getFloat64(8 * i, true); break;
        case DT.INT64: data[i] = Number(view.getBigInt64(8 * i, true)); break;
        case DT.INT32: data[i] = view.getInt32(4 * i, true); break;
      }
    } else data[i] = Number(typed[i]);
  }
  // NaN is never meaningful; ±Inf (or a double beyond float32) only as a scalar bound, e.g. Clip's max.
  const bad = data.findIndex((v) => Number.isNaN(v) || (n > 1 && !Number.isFinite(Math.fround(v))));
  if (bad >= 0) throw badInput(`${where}: ${name} has ${Number.isFinite(data[bad]) ? `${data[bad]}, which overflows float32,` : `a non-finite value (${data[bad]})`} at flat index ${bad}`);
  return { kind: 'const', dims, data };
}

type Attrs = Map<string, O.IAttributeProto>;
const attrInt = (a: Attrs, k: string, d: number) => (a.has(k) ? Number(a.get(k)!.i) : d);
const attrInts = (a: Attrs, k: string): number[] | undefined => a.get(k)?.ints?.map(Number);
const attrFloat = (a: Attrs, k: string, d: number) => (a.has(k) ? Number(a.get(k)!.f) : d);
const attrString = (a: Attrs, k: string, d: string) => (a.get(k)?.s ? new TextDecoder().decode(a.get(k)!.s as Uint8Array) : d);

const sanitize = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^([^A-Za-z_])/, '_$1');

/** `baseDir` is where external tensor data lives (default: the folder of `file`). */
export function parseOnnx(bytes: Uint8Array, file: string, baseDir: string | undefined = dirname(file)): SnnModel {
  const external = new ExternalData(baseDir);
  let model: O.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw badInput(`${file}: not an ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node || graph.node.length === 0) throw badInput(`${file}: not an ONNX model (no graph or no nodes)`);
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsetEntry ? Number(opsetEntry.version) : 1;
  if (opset < MIN_OPSET || opset > MAX_OPSET) throw badInput(`${file}: opset ${opset} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET})`);

  // Check every op first: an unsupported model fails before any work.
  // (The op type first: an unsupported op such as LSTM may leave its first output unnamed.)
  for (const [i, node] of graph.node.entries()) {
    if ((node.domain && node.domain !== 'ai.onnx') || !(SUPPORTED_OPS as readonly string[]).includes(node.opType ?? '')) {
      throw badInput(`${file}: node "${node.name || `#${i}`}" has op type ${node.domain ? `${node.domain}::` : ''}${node.opType} (opset ${opset}), which snnc cannot convert (supported: ${SUPPORTED_OPS.join(', ')})`);
    }
    if (!node.output?.length || !node.output[0]) throw badInput(`${file}: node "${node.name || `#${i}`}" (${node.opType}) has no output`);
  }
  /** The first node that reads each value, for errors about a value (an initializer, the input). */
  const firstReader = new Map<string, string>();
  for (const [i, node] of graph.node.entries()) {
    for (const v of node.input ?? []) if (v && !firstReader.has(v)) firstReader.set(v, `node "${node.name || `#${i}`}" (${node.opType})`);
  }

  const values = new Map<string, Value>();
  for (const init of graph.initializer ?? []) {
    try {
      values.set(init.name!, constOf(init, file, external, 'initializer'));
    } catch (e) {
      // External data that cannot be read: say which node needs the tensor.
      const reader = firstReader.get(init.name!);
      if (e instanceof SnncError && init.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL && reader) throw new SnncError(`${e.message}, the input "${init.name}" of ${reader}`, e.exitCode);
      throw e;
    }
  }
  const realInputs = (graph.input ?? []).filter((i) => !values.has(i.name!));
  if (realInputs.length !== 1) throw badInput(`${file}: expected exactly one non-constant graph input, found ${realInputs.length} (${realInputs.map((i) => i.name).join(', ')})`);
  const inputInfo = realInputs[0];
  const dimInfo = inputInfo.type?.tensorType?.shape?.dim ?? [];
  const inDims = dimInfo.map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1));
  if (inDims.length < 2 || inDims.slice(1).some((d) => d < 1)) {
    // torch.onnx.export with dynamic_axes beyond the batch axis writes names ("height") where sizes belong.
    const shown = dimInfo.map((d, k) => (inDims[k] > 0 ? String(inDims[k]) : d.dimParam ? d.dimParam : '?'));
    const reader = firstReader.get(inputInfo.name!);
    const symbolic = inDims.slice(1).some((d) => d < 1)
      ? `; axes ${inDims.map((d, k) => (k > 0 && d < 1 ? k : -1)).filter((k) => k > 0).join(', ')} have no fixed size, so the shapes of ${reader ?? 'the layers'} and everything after cannot be fixed (export with dynamic_axes on the batch axis only, e.g. {0: 'batch'})`
      : '';
    throw badInput(`${file}: input "${inputInfo.name}" must have a batch axis and fixed per-sample dimensions, got [${shown.join(', ')}]${symbolic}`);
  }
  if (inDims.slice(1).some((d) => d > MAX_DIM) || sizeOf(inDims.slice(1)) > MAX_INPUT_ELEMENTS) {
    throw badInput(`${file}: input "${inputInfo.name}" has per-sample shape [${inDims.slice(1)}]; each dimension must be at most ${MAX_DIM} and the sample at most ${MAX_INPUT_ELEMENTS} values`);
  }
  const inputShape = inDims.slice(1);
  values.set(inputInfo.name!, { kind: 'act', layer: INPUT, shape: inputShape });

  const layers: L.Layer[] = [];
  const used = new Set<string>([INPUT]);
  const uniqueName = (hint: string) => {
    let name = sanitize(hint) || 'layer';
    for (let k = 1; used.has(name); k++) name = `${sanitize(hint)}_${k}`;
    used.add(name);
    return name;
  };
  // Input normalisation folded into preprocessing: x' = a·x + b per channel (a, b of length 1 or C).
  let affine: { a: number[]; b: number[] } = { a: [1], b: [0] };
  let inputConsumed = false;
  const droppedAtOutput = new Set<string>();
  const outputNames = (graph.output ?? []).map((o) => o.name!);
  if (outputNames.length !== 1) throw badInput(`${file}: expected one graph output, found ${outputNames.length}`);
  // Values that reach the output unchanged (through Identity, Dropout or Cast) count as the output.
  const atOutput = new Set(outputNames);
  for (const node of [...graph.node].reverse()) {
    if (['Identity', 'Dropout', 'Cast'].includes(node.opType ?? '') && atOutput.has(node.output![0])) atOutput.add(node.input![0]);
  }

  for (const [i, node] of graph.node.entries()) {
    const where = `${file}: node "${node.name || `#${i}`}" (${node.opType})`;
    const attrs: Attrs = new Map((node.attribute ?? []).map((a) => [a.name!, a]));
    const ins = (node.input ?? []).map((n) => (n === '' ? undefined : values.get(n)));
    const out = node.output![0];
    const need = (k: number): Value => {
      const v = ins[k];
      if (!v) throw badInput(`${where}: input "${node.input![k]}" is not produced by any earlier node or initializer`);
      return v;
    };
    const needConst = (k: number, what: string): Const => {
      const v = need(k);
      if (v.kind !== 'const') throw badInput(`${where}: ${what} must be a constant (initializer), not a computed value`);
      return v;
    };
    const needAct = (k: number): Act => {
      const v = need(k);
      if (v.kind !== 'act') throw badInput(`${where}: expected an activation input, got a constant`);
      if (v.layer === INPUT) inputConsumed = true;
      return v;
    };
    const push = (layer: L.Layer, shape: number[]) => {
      layers.push(layer);
      values.set(out, { kind: 'act', layer: layer.name, shape });
    };
    const name = uniqueName(node.name || out);
    const f32 = (c: Const, dims = c.dims) => tensor(dims, Float32Array.from(c.data));

    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
      case 'Cast':
        values.set(out, need(0));
        break;
      case 'Constant': {
        const t = attrs.get('value')?.t;
        if (!t) throw badInput(`${where}: only the "value" form of Constant is supported`);
        values.set(out, constOf(t, where, external));
        break;
      }
      case 'Shape': {
        const v = need(0);
        const dims = v.kind === 'act' ? [1, ...v.shape] : v.dims;
        values.set(out, { kind: 'const', dims: [dims.length], data: Float64Array.from(dims) });
        break;
      }
      case 'Gather': {
        const src = needConst(0, 'Gather data');
        const idx = needConst(1, 'Gather indices');
        if (src.dims.length !== 1) throw badInput(`${where}: only 1-D constant Gather is supported`);
        const data = Float64Array.from(idx.data, (k) => src.data[k < 0 ? k + src.data.length : k]);
        values.set(out, { kind: 'const', dims: idx.dims, data });
        break;
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        const c = needConst(0, `${node.opType} data`);
        const axes = attrInts(attrs, 'axes') ?? (ins[1]?.kind === 'const' ? [...ins[1].data] : []);
        let dims = [...c.dims];
        if (node.opType === 'Unsqueeze') for (const a of [...axes].sort((x, y) => x - y)) dims.splice(a < 0 ? a + dims.length + 1 : a, 0, 1);
        else dims = axes.length ? dims.filter((_, k) => !axes.map((a) => (a < 0 ? a + dims.length : a)).includes(k)) : dims.filter((d) => d !== 1);
        values.set(out, { kind: 'const', dims, data: c.data });
        break;
      }
      case 'Reshape': {
        const shapeConst = attrInts(attrs, 'shape') ?? [...needConst(1, 'Reshape shape').data];
        const v = need(0);
        const total = v.kind === 'const' ? sizeOf(v.dims) : sizeOf(v.shape);
        const resolved = resolveReshape(shapeConst, v.kind === 'const' ? v.dims : [1, ...v.shape], total, where);
        if (v.kind === 'const') values.set(out, { kind: 'const', dims: resolved, data: v.data });
        else {
          // On an activation, only flattening to [N, features] (or no change) is meaningful.
          const perSample = resolved.slice(1);
          if (perSample.length === v.shape.length && perSample.every((d, k) => d === v.shape[k])) values.set(out, v);
          else if (perSample.length === 1 && perSample[0] === sizeOf(v.shape)) push(L.flatten({ name, inputs: [needAct(0).layer] }), perSample);
          else throw badInput(`${where}: reshaping an activation ${shapeToString(v.shape)} to ${shapeToString(perSample)} is not supported (only flattening)`);
        }
        break;
      }
      case 'Flatten': {
        const x = needAct(0);
        if (attrInt(attrs, 'axis', 1) !== 1) throw badInput(`${where}: only Flatten with axis=1 is supported`);
        if (x.shape.length === 1) values.set(out, x);
        else push(L.flatten({ name, inputs: [x.layer] }), [sizeOf(x.shape)]);
        break;
      }
      case 'Conv': {
        const x = needAct(0);
        const w = needConst(1, 'Conv weight');
        if (w.dims.length !== 4 || x.shape.length !== 3) throw badInput(`${where}: only 2-D convolutions are supported (weight [${w.dims}], input ${shapeToString(x.shape)})`);
        const dil = attrInts(attrs, 'dilations') ?? [1, 1];
        // The window a dilated kernel spans, for auto_pad.
        const kernel: L.Pair = [(w.dims[2] - 1) * dil[0] + 1, (w.dims[3] - 1) * dil[1] + 1];
        const stride = (attrInts(attrs, 'strides') ?? [1, 1]) as unknown as L.Pair;
        const padding = pads(attrs, x.shape, kernel, stride, where);
        const bias = ins[2] ? f32(needConst(2, 'Conv bias')) : undefined;
        const dilation = dil.some((d) => d !== 1) ? { dilation: [dil[0], dil[1]] as const } : {};
        const layer = L.conv2d({ name, inputs: [x.layer], weight: f32(w), bias, stride: [stride[0], stride[1]], padding, groups: attrInt(attrs, 'group', 1), ...dilation });
        push(layer, outputShapeOf(layer, x.shape));
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const x = needAct(0);
        const b = needConst(1, `${node.opType} weight`);
        if (x.shape.length !== 1 || b.dims.length !== 2) throw badInput(`${where}: expects a [N, features] activation and a 2-D weight, got ${shapeToString(x.shape)} and [${b.dims}]`);
        if (node.opType === 'Gemm' && attrInt(attrs, 'transA', 0) !== 0) throw badInput(`${where}: transA=1 is not supported`);
        const transB = node.opType === 'Gemm' && attrInt(attrs, 'transB', 0) === 1;
        const alpha = node.opType === 'Gemm' ? attrFloat(attrs, 'alpha', 1) : 1;
        const [rows, cols] = b.dims;
        const nOut = transB ? rows : cols;
        const nIn = transB ? cols : rows;
        const wData = new Float32Array(nOut * nIn);
        for (let o = 0; o < nOut; o++) for (let k = 0; k < nIn; k++) wData[o * nIn + k] = alpha * (transB ? b.data[o * cols + k] : b.data[k * cols + o]);
        let bias: Tensor | undefined;
        if (node.opType === 'Gemm' && ins[2]) {
          const c = needConst(2, 'Gemm bias');
          if (sizeOf(c.dims) !== nOut) throw badInput(`${where}: bias of shape [${c.dims}] does not match ${nOut} outputs`);
          const beta = attrFloat(attrs, 'beta', 1);
          bias = tensor([nOut], Float32Array.from(c.data, (v) => v * beta));
        }
        push(L.dense({ name, inputs: [x.layer], weight: tensor([nOut, nIn], wData), bias }), [nOut]);
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const [a, b] = [need(0), need(1)];
        if (a.kind === 'act' && b.kind === 'act') {
          if (node.opType !== 'Add') throw badInput(`${where}: ${node.opType} of two activations is not supported`);
          if (a.layer === INPUT || b.layer === INPUT) inputConsumed = true;
          const layer = L.add({ name, inputs: [a.layer, b.layer] });
          push(layer, outputShapeOf(layer, a.shape, b.shape));
          break;
        }
        if (a.kind === 'const' && b.kind === 'const') {
          values.set(out, foldConst(node.opType, a, b, where));
          break;
        }
        const act = (a.kind === 'act' ? a : b) as Act;
        const c = (a.kind === 'const' ? a : b) as Const;
        if ((node.opType === 'Sub' || node.opType === 'Div') && a.kind === 'const') throw badInput(`${where}: constant ${node.opType === 'Sub' ? '−' : '÷'} activation is not supported`);
        const perChannel = channelValues(c, act.shape, where);
        // As x·scale + shift per channel.
        const scale = perChannel.map((v) => (node.opType === 'Mul' ? v : node.opType === 'Div' ? 1 / v : 1));
        const shift = perChannel.map((v) => (node.opType === 'Add' ? v : node.opType === 'Sub' ? -v : 0));
        if (act.layer === INPUT && !inputConsumed) {
          affine = composeAffine(affine, scale, shift);
          values.set(out, act);
          break;
        }
        const C = act.shape[0];
        const expand = (v: number[]) => tensor([C], Float32Array.from({ length: C }, (_, k) => v[v.length === 1 ? 0 : k]));
        push(L.batchNorm({ name, inputs: [needAct(a.kind === 'act' ? 0 : 1).layer], scale: expand(scale), shift: expand(shift) }), act.shape);
        break;
      }
      case 'BatchNormalization': {
        const x = needAct(0);
        const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => needConst(k, 'BatchNormalization parameter'));
        const eps = attrFloat(attrs, 'epsilon', 1e-5);
        const C = x.shape[0];
        if (gamma.data.length !== C) throw badInput(`${where}: ${gamma.data.length} channels, input ${shapeToString(x.shape)} has ${C}`);
        const scale = Float32Array.from(gamma.data, (g, c) => g / Math.sqrt(variance.data[c] + eps));
        const shift = Float32Array.from(beta.data, (b, c) => b - mean.data[c] * (gamma.data[c] / Math.sqrt(variance.data[c] + eps)));
        push(L.batchNorm({ name, inputs: [x.layer], scale: tensor([C], scale), shift: tensor([C], shift) }), x.shape);
        break;
      }
      case 'Relu':
      case 'Clip': {
        const x = needAct(0);
        let max: number | undefined;
        if (node.opType === 'Clip') {
          const lo = opset < 11 ? attrFloat(attrs, 'min', -Infinity) : ins[1] ? needConst(1, 'Clip min').data[0] : -Infinity;
          const hi = opset < 11 ? attrFloat(attrs, 'max', Infinity) : ins[2] ? needConst(2, 'Clip max').data[0] : Infinity;
          if (lo !== 0) throw badInput(`${where}: only Clip with min 0 (a clipped ReLU) is supported, got min ${lo}`);
          max = Number.isFinite(hi) ? hi : undefined;
        }
        push(L.relu({ name, inputs: [x.layer], max }), x.shape);
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const x = needAct(0);
        const kernel = attrInts(attrs, 'kernel_shape') as unknown as L.Pair;
        if (!kernel || kernel.length !== 2) throw badInput(`${where}: only 2-D pooling is supported`);
        if (attrInt(attrs, 'ceil_mode', 0) !== 0) throw badInput(`${where}: ceil_mode=1 is not supported`);
        const stride = (attrInts(attrs, 'strides') ?? [1, 1]) as unknown as L.Pair;
        const padding = pads(attrs, x.shape, kernel, stride, where);
        if (node.opType === 'AveragePool' && attrInt(attrs, 'count_include_pad', 0) === 0 && padding.some((p) => p > 0)) {
          throw badInput(`${where}: average pooling that excludes padding from the count is not supported (set count_include_pad=1 or remove the padding)`);
        }
        const f = { name, inputs: [x.layer], kernel: [kernel[0], kernel[1]] as L.Pair, stride: [stride[0], stride[1]] as L.Pair, padding };
        const layer = node.opType === 'MaxPool' ? L.maxpool2d(f) : L.avgpool2d(f);
        push(layer, outputShapeOf(layer, x.shape));
        break;
      }
      case 'GlobalAveragePool': {
        const x = needAct(0);
        const layer = L.avgpool2d({ name, inputs: [x.layer], kernel: [x.shape[1], x.shape[2]], stride: [x.shape[1], x.shape[2]], padding: [0, 0, 0, 0] });
        push(layer, [x.shape[0], 1, 1]);
        break;
      }
      case 'Concat': {
        if (ins.every((v) => v?.kind === 'const')) {
          const parts = ins as Const[];
          values.set(out, { kind: 'const', dims: [parts.reduce((n, p) => n + p.data.length, 0)], data: Float64Array.from(parts.flatMap((p) => [...p.data])) });
          break;
        }
        const acts = ins.map((_, k) => needAct(k));
        if (attrInt(attrs, 'axis', 1) !== 1) throw badInput(`${where}: only concatenation along the channel axis (axis=1) is supported`);
        const layer = L.concat({ name, inputs: acts.map((a) => a.layer) });
        push(layer, outputShapeOf(layer, ...acts.map((a) => a.shape)));
        break;
      }
      case 'Softmax':
      case 'Sigmoid': {
        const x = needAct(0);
        if (!atOutput.has(out)) throw badInput(`${where}: ${node.opType} is only supported at the output (where it is dropped: argmax is unchanged)`);
        droppedAtOutput.add(node.opType);
        values.set(out, x);
        break;
      }
    }
  }

  const outValue = values.get(outputNames[0]);
  if (!outValue || outValue.kind !== 'act' || outValue.layer === INPUT) throw badInput(`${file}: the graph output "${outputNames[0]}" is not computed from the input`);
  const C = inputShape[0];
  const preprocess = affineToPreprocess(affine, C);
  const result: SnnModel = {
    name: sanitize(graph.name || 'ann'),
    input: { shape: inputShape, encoding: { type: 'direct' }, preprocess },
    layers,
    output: { layer: outValue.layer, decoding: 'accumulate' },
    timesteps: 1,
    dt: 0.001,
    metadata: { source: { format: 'onnx', opset, irVersion: Number(model.irVersion), producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(), softmaxAtOutputDropped: droppedAtOutput.has('Softmax'), ...(droppedAtOutput.has('Sigmoid') ? { sigmoidAtOutputDropped: true } : {}) } },
  };
  try {
    verifyModel(result);
  } catch (e) {
    if (e instanceof SnncError) throw new SnncError(`${file}: ${e.message}`, e.exitCode);
    throw e;
  }
  return result;
}

export function readOnnx(file: string): SnnModel {
  return parseOnnx(readInputFile(file), file);
}

// ---------------------------------------------------------------------------------------------

const outputShapeOf = (layer: L.Layer, ...inputs: number[][]): number[] => layerOutputShape(layer, inputs);

/** Explicit pads from `pads` or `auto_pad` (SAME_UPPER puts the odd extra at the end). */
function pads(attrs: Attrs, x: number[], kernel: L.Pair, stride: L.Pair, where: string): L.Padding4 {
  const mode = attrString(attrs, 'auto_pad', 'NOTSET');
  if (mode === 'NOTSET') {
    const p = attrInts(attrs, 'pads') ?? [0, 0, 0, 0];
    if (p.length !== 4) throw badInput(`${where}: pads must have 4 values, got [${p}]`);
    return [p[0], p[1], p[2], p[3]];
  }
  if (mode === 'VALID') return [0, 0, 0, 0];
  if (mode !== 'SAME_UPPER' && mode !== 'SAME_LOWER') throw badInput(`${where}: unknown auto_pad "${mode}"`);
  const total = [0, 1].map((k) => Math.max((Math.ceil(x[k + 1] / stride[k]) - 1) * stride[k] + kernel[k] - x[k + 1], 0));
  const small = total.map((t) => Math.floor(t / 2));
  const big = total.map((t, k) => t - small[k]);
  return mode === 'SAME_UPPER' ? [small[0], small[1], big[0], big[1]] : [big[0], big[1], small[0], small[1]];
}

function resolveReshape(target: number[], from: number[], total: number, where: string): number[] {
  const dims = target.map((d, k) => (d === 0 ? from[k] : d));
  const unknown = dims.indexOf(-1);
  if (unknown >= 0) {
    const known = dims.reduce((n, d) => (d === -1 ? n : n * d), 1);
    dims[unknown] = total / known;
  }
  if (sizeOf(dims) !== total || dims.some((d) => !Number.isInteger(d) || d < 1)) throw badInput(`${where}: cannot reshape ${total} values to [${target}]`);
  return dims;
}

/** A constant broadcast against a per-sample activation [C, …]: its per-channel values (length 1 or C). */
function channelValues(c: Const, shape: number[], where: string): number[] {
  const n = c.data.length;
  if (n === 1) return [c.data[0]];
  const C = shape[0];
  const squeezed = c.dims.filter((d) => d !== 1);
  if (n === C && squeezed.length === 1) {
    // [C], [C,1,1], [1,C,1,1] on images; [C] or [1,C] on vectors.
    const axisFromEnd = c.dims.length - c.dims.indexOf(C);
    if (axisFromEnd === shape.length || shape.length === 1) return [...c.data];
  }
  throw badInput(`${where}: a constant of shape [${c.dims}] must be a scalar or per-channel for an activation of shape ${shapeToString(shape)}`);
}

function foldConst(op: string, a: Const, b: Const, where: string): Const {
  if (a.data.length !== b.data.length && b.data.length !== 1) throw badInput(`${where}: constant folding needs equal shapes or a scalar`);
  const fn = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => x / y }[op]!;
  return { kind: 'const', dims: a.dims, data: Float64Array.from(a.data, (x, i) => fn(x, b.data[b.data.length === 1 ? 0 : i])) };
}

/** (a₂, b₂) ∘ (a₁, b₁): x ↦ a₂(a₁x + b₁) + b₂, per channel. */
function composeAffine(first: { a: number[]; b: number[] }, a2: number[], b2: number[]): { a: number[]; b: number[] } {
  const n = Math.max(first.a.length, a2.length);
  const at = (v: number[], k: number) => v[v.length === 1 ? 0 : k];
  return {
    a: Array.from({ length: n }, (_, k) => at(a2, k) * at(first.a, k)),
    b: Array.from({ length: n }, (_, k) => at(a2, k) * at(first.b, k) + at(b2, k)),
  };
}

/** x' = a·x + b as preprocessing (x·1 − mean)/std with std = 1/a, mean = −b/a. */
function affineToPreprocess(f: { a: number[]; b: number[] }, channels: number): Preprocess {
  if (f.a.length > 1 && f.a.length !== channels) throw badInput(`input normalisation has ${f.a.length} channels, the input has ${channels}`);
  return { scale: 1, mean: f.a.map((a, k) => -f.b[k] / a + 0), std: f.a.map((a) => 1 / a) }; // + 0 turns −0 into 0
}
