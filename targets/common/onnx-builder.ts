/**
 * A small ONNX graph builder on onnx-proto: deterministic value names, float/int64 initializers,
 * typed attributes, nested subgraphs (Scan bodies) that share the root's initializers and name space,
 * and model encoding. It knows ONNX's wire format, nothing about SNNs.
 */
import onnxPkg from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';

const onnx = onnxPkg.onnx;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export type Attr =
  | { readonly kind: 'int'; readonly v: number }
  | { readonly kind: 'ints'; readonly v: readonly number[] }
  | { readonly kind: 'float'; readonly v: number }
  | { readonly kind: 'string'; readonly v: string }
  | { readonly kind: 'graph'; readonly v: O.IGraphProto }
  | { readonly kind: 'tensor'; readonly v: O.ITensorProto };
export const int = (v: number): Attr => ({ kind: 'int', v });
export const ints = (v: readonly number[]): Attr => ({ kind: 'ints', v });
export const float = (v: number): Attr => ({ kind: 'float', v });
export const str = (v: string): Attr => ({ kind: 'string', v });
export const graphAttr = (v: O.IGraphProto): Attr => ({ kind: 'graph', v });
/** A one-value tensor attribute (ConstantOfShape's `value`). */
export const scalarAttr = (elem: 'int32' | 'uint8' | 'float', v: number): Attr => {
  const data = elem === 'int32' ? Int32Array.of(v) : elem === 'uint8' ? Uint8Array.of(v) : Float32Array.of(v);
  return { kind: 'tensor', v: { dataType: ELEM[elem], dims: [1], rawData: new Uint8Array(data.buffer) } };
};

function attribute(name: string, a: Attr): O.IAttributeProto {
  switch (a.kind) {
    case 'int':
      return { name, type: AT.INT, i: a.v };
    case 'ints':
      return { name, type: AT.INTS, ints: [...a.v] };
    case 'float':
      return { name, type: AT.FLOAT, f: a.v };
    case 'string':
      return { name, type: AT.STRING, s: new TextEncoder().encode(a.v) };
    case 'graph':
      return { name, type: AT.GRAPH, g: a.v };
    case 'tensor':
      return { name, type: AT.TENSOR, t: a.v };
  }
}

export type ElemType = 'float' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
const ELEM: Record<ElemType, number> = { float: DT.FLOAT, int64: DT.INT64, int32: DT.INT32, int8: DT.INT8, uint8: DT.UINT8, bool: DT.BOOL };
/** Typed arrays for the integer initializers. */
const ARRAYS = { int32: Int32Array, int8: Int8Array, uint8: Uint8Array } as const;

function valueInfo(name: string, dims: readonly number[], elem: ElemType = 'float'): O.IValueInfoProto {
  return { name, type: { tensorType: { elemType: ELEM[elem], shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

interface Shared {
  readonly initializers: O.ITensorProto[];
  readonly used: Set<string>;
}

export class GraphBuilder {
  readonly nodes: O.INodeProto[] = [];
  readonly inputs: O.IValueInfoProto[] = [];
  readonly outputs: O.IValueInfoProto[] = [];
  private readonly shared: Shared;

  constructor(parent?: GraphBuilder) {
    this.shared = parent ? parent.shared : { initializers: [], used: new Set() };
  }

  /** A new name derived from `hint`, unique in the whole model (subgraphs included). */
  fresh(hint: string): string {
    let name = hint;
    for (let k = 1; this.shared.used.has(name); k++) name = `${hint}_${k}`;
    this.shared.used.add(name);
    return name;
  }

  /** A float32 initializer, stored as raw little-endian bytes. */
  constFloat(hint: string, data: Float32Array, dims: readonly number[]): string {
    const name = this.fresh(hint);
    // A view, not a copy: IR tensors are never written after they are made, and a large model's weights would otherwise be held twice.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.shared.initializers.push({ name, dataType: DT.FLOAT, dims: [...dims], rawData: bytes });
    return name;
  }

  /** A float64 scalar initializer. */
  constDouble(hint: string, value: number): string {
    const name = this.fresh(hint);
    this.shared.initializers.push({ name, dataType: DT.DOUBLE, dims: [], rawData: new Uint8Array(Float64Array.of(value).buffer) });
    return name;
  }

  constScalar(hint: string, value: number): string {
    return this.constFloat(hint, Float32Array.of(value), []);
  }

  /** An int32, int8 or uint8 initializer from integers already in range. */
  constInt(hint: string, elem: keyof typeof ARRAYS, values: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.fresh(hint);
    const data = ARRAYS[elem].from(values as ArrayLike<number>);
    if (data.some((v, i) => v !== values[i])) throw new Error(`internal error: ${hint}: values out of ${elem} range`);
    this.shared.initializers.push({ name, dataType: ELEM[elem], dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 initializer: a vector, or a scalar with dims []. */
  constInt64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.shared.initializers.push({ name, dataType: DT.INT64, dims: [...dims], rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds a node; returns its output names (`outputs` hints, made unique). */
  nodeN(op: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, Attr> = {}): string[] {
    const outs = outputs.map((o) => this.fresh(o));
    const name = this.fresh(`${op}_${outs[0]}`);
    this.nodes.push({ name, opType: op, input: [...inputs], output: outs, attribute: Object.entries(attrs).map(([k, a]) => attribute(k, a)) });
    return outs;
  }

  node(op: string, inputs: readonly string[], output: string, attrs: Record<string, Attr> = {}): string {
    return this.nodeN(op, inputs, [output], attrs)[0];
  }

  /** Declares a graph input with a fixed name (the caller guarantees uniqueness). */
  input(name: string, dims: readonly number[], elem: ElemType = 'float'): string {
    this.shared.used.add(name);
    this.inputs.push(valueInfo(name, dims, elem));
    return name;
  }

  /** Declares `value` as a graph output, renaming it through Identity when a fixed name is wanted. */
  output(value: string, dims: readonly number[], name?: string, elem: ElemType = 'float'): string {
    let out = value;
    if (name && name !== value) {
      this.shared.used.add(name);
      this.nodes.push({ name: this.fresh(`Identity_${name}`), opType: 'Identity', input: [value], output: [name] });
      out = name;
    }
    this.outputs.push(valueInfo(out, dims, elem));
    return out;
  }

  /** This builder's graph; only the root graph carries the initializers. */
  graph(name: string, isRoot: boolean): O.IGraphProto {
    return {
      name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: isRoot ? this.shared.initializers : [],
    };
  }
}

/** The small constants of one graph (scalars, shapes, axes), each made once. */
export class GraphConstants {
  private readonly cache = new Map<string, string>();
  constructor(private readonly g: GraphBuilder) {}
  private memo(key: string, make: () => string): string {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key)!;
  }
  int(v: number): string {
    return this.memo(`i${v}`, () => this.g.constInt(`c${v < 0 ? 'm' : ''}${Math.abs(v)}`, 'int32', [v], []));
  }
  int64(v: number): string {
    return this.memo(`l${v}`, () => this.g.constInt64(`l${v < 0 ? 'm' : ''}${Math.abs(v)}`, [v], []));
  }
  shape(dims: readonly number[]): string {
    return this.memo(`s${dims}`, () => this.g.constInt64('shape', dims));
  }
  double(v: number): string {
    return this.memo(`d${v}`, () => this.g.constDouble('d', v));
  }
  axes(axes: readonly number[]): string {
    return this.memo(`a${axes}`, () => this.g.constInt64('axes', axes));
  }
  /** A tensor of `dims` filled with `value` (int32 unless said). */
  fill(hint: string, dims: readonly number[], value: number, elem: 'int32' | 'uint8' | 'float' = 'int32'): string {
    return this.g.node('ConstantOfShape', [this.shape(dims)], hint, { value: scalarAttr(elem, value) });
  }
}

export interface ModelInfo {
  readonly opset: number;
  readonly irVersion: number;
  readonly producerVersion: string;
  readonly docString: string;
  readonly metadata: Record<string, string>;
}

export function encodeModel(graph: O.IGraphProto, info: ModelInfo): Uint8Array {
  const model: O.IModelProto = {
    irVersion: info.irVersion,
    opsetImport: [{ domain: '', version: info.opset }],
    producerName: 'snnc',
    producerVersion: info.producerVersion,
    docString: info.docString,
    graph,
    metadataProps: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
  };
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`internal error: invalid ONNX model: ${err}`);
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
