/**
 * manifest.json of a compiled gpu folder: everything a runner needs besides model.onnx (input layout
 * and encoding, decoding, schedule, state tensors, probes) plus provenance (snnc version, source hash).
 */
import onnxPkg from 'onnx-proto';
import type { onnx as onnxTypes } from 'onnx-proto';
import { badInput } from '../../compiler/errors.js';
import { DECODINGS, type Decoding, type Encoding, type Preprocess } from '../../compiler/ir/model.js';
import { check, checkPreprocess, encoding, integer, number, object, parseWithSchema, preprocess, product, shape, string } from '../common/descriptor-checks.js';
import { type GraphIO, SCHEDULES, type Schedule } from './schedules.js';

export const MANIFEST_FORMAT = 'snnc-gpu';

export interface GpuManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: 1;
  readonly snncVersion: string;
  readonly sourceHash: string;
  readonly model: string;
  readonly file: 'model.onnx';
  readonly opset: number;
  readonly irVersion: number;
  readonly schedule: Schedule;
  readonly timesteps: number;
  readonly batch: number;
  readonly dt: number;
  /** Per-sample input shape; raw data as the model's frontend expects it (preprocessing is in the graph, except for rate coding). */
  readonly inputShape: number[];
  readonly encoding: Encoding;
  readonly preprocess: Preprocess;
  readonly decoding: Decoding;
  readonly classes: number;
  readonly io: GraphIO;
}

const dims = { type: 'array', items: integer(1, 1 << 24), minItems: 1, maxItems: 10 } as const;
const tensorIO = object({ name: { type: 'string', minLength: 1, maxLength: 4096 }, dims });

/** JSON Schema (draft 2020-12) of a gpu folder's manifest.json, from the interfaces above. */
export const gpuManifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'snnc gpu manifest.json, format version 1',
  type: 'object',
  required: ['format', 'formatVersion', 'snncVersion', 'sourceHash', 'model', 'file', 'opset', 'irVersion', 'schedule', 'timesteps', 'batch', 'dt', 'inputShape', 'encoding', 'preprocess', 'decoding', 'classes', 'io'],
  properties: {
    format: { const: MANIFEST_FORMAT },
    formatVersion: { const: 1 },
    snncVersion: string,
    sourceHash: string,
    model: string,
    file: { const: 'model.onnx' },
    opset: integer(1, 1000),
    irVersion: integer(1, 1000),
    schedule: { enum: [...SCHEDULES] },
    timesteps: integer(1, 100_000),
    batch: integer(1, 65_536),
    dt: number,
    inputShape: shape,
    encoding,
    preprocess,
    decoding: { enum: [...DECODINGS] },
    classes: integer(1, 1 << 24),
    io: object(
      {
        input: object({ name: tensorIO.properties.name, dims, hasTimeAxis: { type: 'boolean' } }),
        output: tensorIO,
        states: { type: 'array', items: object({ layer: string, key: string, input: tensorIO.properties.name, output: tensorIO.properties.name, dims, init: { oneOf: [number, { type: 'array', items: number, minItems: 1 }] } }) },
        probes: { type: 'array', items: object({ layer: string, name: tensorIO.properties.name, dims }) },
        outputSteps: tensorIO,
      },
      ['input', 'output', 'states', 'probes'],
    ),
  },
} as const;

/** Most float32 values one batch's tensors may hold (input time steps, states, probes). */
const MAX_TENSOR_VALUES = 2 ** 27;

/**
 * Parses manifest.json: JSON Schema, then the graph interface it records against its own fields (input
 * dims from the schedule, encoding, batch and input shape; output [B, classes]; probes and per-step
 * outputs with a time axis unless the schedule is `step`; states only for `step`; unique names).
 * `checkManifestAgainstOnnx` then checks that model.onnx has exactly that interface.
 */
export function parseManifest(text: string, file: string): GpuManifest {
  const m = parseWithSchema<GpuManifest>(text, file, gpuManifestSchema, (doc) => {
    if (doc?.format !== MANIFEST_FORMAT || doc.formatVersion !== 1) throw badInput(`${file}: not an snnc gpu manifest (format "${doc?.format}", expected "${MANIFEST_FORMAT}" version 1)`);
  });
  const { batch: B, timesteps: T, classes: C, io } = m;
  const step = m.schedule === 'step';
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const expectDims = (got: readonly number[], want: readonly number[], at: string) => check(same(got, want), file, at, () => `[${got.join(', ')}], expected [${want.join(', ')}]`);
  checkPreprocess(m.preprocess, m.inputShape, file, '/preprocess');
  const timeAxis = m.encoding.type !== 'direct' && !step;
  check(io.input.hasTimeAxis === timeAxis, file, '/io/input/hasTimeAxis', () => `${io.input.hasTimeAxis}, expected ${timeAxis} for ${m.encoding.type} input and the ${m.schedule} schedule`);
  expectDims(io.input.dims, [...(timeAxis ? [T] : []), B, ...m.inputShape], '/io/input/dims');
  check(product(io.input.dims) * (m.encoding.type === 'direct' ? 1 : step ? T : 1) <= MAX_TENSOR_VALUES, file, '/io/input/dims', () => `a batch of inputs has more than ${MAX_TENSOR_VALUES} values`);
  expectDims(io.output.dims, [B, C], '/io/output/dims');
  if (io.outputSteps) {
    expectDims(io.outputSteps.dims, step ? [B, C] : [T, B, C], '/io/outputSteps/dims');
    if (step) check(io.outputSteps.name === io.output.name, file, '/io/outputSteps/name', () => `"${io.outputSteps!.name}": for the step schedule it is the output "${io.output.name}" itself`);
    check(T * B * C <= MAX_TENSOR_VALUES, file, '/io/outputSteps/dims', () => `more than ${MAX_TENSOR_VALUES} values`);
  }
  io.probes.forEach((p, i) => {
    const N = p.dims[p.dims.length - 1];
    expectDims(p.dims, step ? [B, N] : [T, B, N], `/io/probes/${i}/dims`);
    check(T * B * N <= MAX_TENSOR_VALUES, file, `/io/probes/${i}/dims`, () => `more than ${MAX_TENSOR_VALUES} values over ${T} steps`);
  });
  check(step || io.states.length === 0, file, '/io/states', () => `only the step schedule feeds states back; this is ${m.schedule}`);
  io.states.forEach((s, i) => check(product(s.dims) <= MAX_TENSOR_VALUES, file, `/io/states/${i}/dims`, () => `more than ${MAX_TENSOR_VALUES} values`));
  const inputs = [io.input.name, ...io.states.map((s) => s.input)];
  const outputs = [io.output.name, ...io.states.map((s) => s.output), ...io.probes.map((p) => p.name), ...(io.outputSteps && !step ? [io.outputSteps.name] : [])];
  for (const [names, what] of [[inputs, 'input'], [outputs, 'output']] as const) {
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    check(dup === undefined, file, '/io', () => `graph ${what} "${dup}" is named twice`);
  }
  return m;
}

/** The graph's inputs and outputs the runner feeds and reads, each with its dims (from the manifest). */
export function graphInterface(m: GpuManifest): { inputs: Map<string, readonly number[]>; outputs: Map<string, readonly number[]> } {
  const io = m.io;
  return {
    inputs: new Map<string, readonly number[]>([[io.input.name, io.input.dims], ...io.states.map((s) => [s.input, s.dims] as [string, number[]])]),
    outputs: new Map<string, readonly number[]>([
      [io.output.name, io.output.dims],
      ...io.states.map((s) => [s.output, s.dims] as [string, number[]]),
      ...io.probes.map((p) => [p.name, p.dims] as [string, number[]]),
      ...(io.outputSteps ? [[io.outputSteps.name, io.outputSteps.dims] as [string, number[]]] : []),
    ]),
  };
}

const FLOAT = 1;

/**
 * Checks that model.onnx's graph has exactly the inputs the manifest feeds (besides initializers) and
 * every output it reads, all float32 with the manifest's dims (a symbolic dimension matches any).
 */
export function checkManifestAgainstOnnx(m: GpuManifest, bytes: Uint8Array, file: string): void {
  let model: onnxTypes.ModelProto;
  try {
    model = onnxPkg.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw badInput(`${file}: not an ONNX model (${(e as Error).message})`);
  }
  const g = model.graph;
  if (!g) throw badInput(`${file}: the ONNX model has no graph`);
  const { inputs, outputs } = graphInterface(m);
  const initializers = new Set((g.initializer ?? []).map((t) => t.name));
  const graphInputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  const describe = (v: onnxTypes.IValueInfoProto, want: readonly number[], what: string) => {
    const t = v.type?.tensorType;
    if (!t || t.elemType !== FLOAT) throw badInput(`${file}: graph ${what} "${v.name}" is not a float32 tensor, as manifest.json expects`);
    const dimsOf = t.shape?.dim ?? [];
    const ok = dimsOf.length === want.length && dimsOf.every((d, i) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) !== 0 ? Number(d.dimValue) === want[i] : true));
    if (!ok) {
      const got = dimsOf.map((d) => (d.dimParam ? d.dimParam : String(Number(d.dimValue ?? 0))));
      throw badInput(`${file}: graph ${what} "${v.name}" has dims [${got.join(', ')}]; manifest.json expects [${want.join(', ')}]`);
    }
  };
  for (const v of graphInputs) {
    const want = inputs.get(v.name ?? '');
    if (!want) throw badInput(`${file}: graph input "${v.name}" is not fed by the runner (manifest.json /io names ${[...inputs.keys()].map((n) => `"${n}"`).join(', ')})`);
    describe(v, want, 'input');
  }
  for (const name of inputs.keys()) if (!graphInputs.some((v) => v.name === name)) throw badInput(`${file}: the graph has no input "${name}" (named in manifest.json /io)`);
  for (const [name, want] of outputs) {
    const v = (g.output ?? []).find((o) => o.name === name);
    if (!v) throw badInput(`${file}: the graph has no output "${name}" (named in manifest.json /io)`);
    describe(v, want, 'output');
  }
}
