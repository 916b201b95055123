/**
 * manifest.json of a compiled gpu folder: everything a runner needs besides model.onnx (input layout
 * and encoding, decoding, schedule, state tensors, probes) plus provenance (snnc version, source hash).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxPkg from 'onnx-proto';
import type { onnx as onnxTypes } from 'onnx-proto';
import { badInput } from '../../compiler/errors.js';
import { readInputFile, readInputText } from '../../compiler/io/read-file.js';
import { DECODINGS, type Decoding, type Encoding, type Preprocess } from '../../compiler/ir/model.js';
import { check, checkPreprocess, encoding, integer, number, object, parseWithSchema, preprocess, product, shape, string } from '../common/descriptor-checks.js';
import { type Elem, graphInterface } from './graph-interface.js';
import { type GraphIO, SCHEDULES, type Schedule } from './schedules.js';

export const MANIFEST_FORMAT = 'snnc-gpu';

/**
 * A folder compiled with `--numerics loihi|spinnaker`: that chip target's integer arithmetic in ONNX
 * (targets/<chip>/onnx.ts), layerwise. The graph takes uint8 input spikes [S, B, ...input] (rate, events)
 * or int32 host currents [B, N] (direct input), and outputs y, int32 [S, B, classes]; the runner
 * (runtime/chip-numerics.ts) decodes the window steps start … start + length − 1 (0-based) as the chip's
 * emulator does.
 */
export interface ChipNumerics {
  readonly kind: 'loihi' | 'spinnaker';
  /** loihi1 | loihi2 | spinnaker1. */
  readonly chip: string;
  /** Steps the graph runs (S = window.start + window.length). */
  readonly steps: number;
  readonly window: { readonly start: number; readonly length: number };
  /** What y holds: the output population's spikes (counted), or its v (loihi: summed over the window; spinnaker: the last step's), divided by outputScale. */
  readonly outputValues: 'spikes' | 'v';
  readonly outputScale: number;
  /**
   * Direct input: the host computes `encoder` (a model.json document; absent = the preprocessed input)
   * and feeds, per neuron, loihi: round(value·scale); spinnaker: s16.15 of value·scale/gain.
   */
  readonly host?: { readonly scale: number; readonly gain?: number; readonly encoder?: Record<string, unknown> };
  /** int32 state outputs [S, B, N] of the probed populations, as the emulator records them (loihi: u and v; spinnaker: u = I_exc after the ring-buffer transfer, v = V before the update). */
  readonly states: readonly { readonly layer: string; readonly u: string; readonly v: string }[];
}

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
  /** Absent: float32 arithmetic (the IR's). */
  readonly numerics?: ChipNumerics;
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
    numerics: object(
      {
        kind: { enum: ['loihi', 'spinnaker'] },
        chip: string,
        steps: integer(1, 1 << 20),
        window: object({ start: integer(0, 1 << 20), length: integer(1, 100_000) }),
        outputValues: { enum: ['spikes', 'v'] },
        outputScale: number,
        host: object({ scale: number, gain: number, encoder: { type: 'object' } }, ['scale']),
        states: { type: 'array', items: object({ layer: string, u: tensorIO.properties.name, v: tensorIO.properties.name }) },
      },
      ['kind', 'chip', 'steps', 'window', 'outputValues', 'outputScale', 'states'],
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
  if (m.numerics) return checkLoihiIO(m, m.numerics, file);
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

/** The interface of a chip-numerics graph (see ChipNumerics) against the manifest's own fields. */
function checkLoihiIO(m: GpuManifest, n: ChipNumerics, file: string): GpuManifest {
  const { batch: B, classes: C, io } = m;
  const S = n.steps;
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const expectDims = (got: readonly number[], want: readonly number[], at: string) => check(same(got, want), file, at, () => `[${got.join(', ')}], expected [${want.join(', ')}]`);
  check(m.schedule === 'layerwise', file, '/schedule', () => `"${m.schedule}"; ${n.kind} numerics are compiled layerwise`);
  check(n.kind === 'loihi' || n.host?.gain !== undefined || !n.host, file, '/numerics/host/gain', () => 'missing: spinnaker host currents are value·scale/gain');
  check(n.window.length === m.timesteps && n.window.start + n.window.length === S, file, '/numerics/window', () => `start ${n.window.start}, length ${n.window.length}; expected length T = ${m.timesteps} ending at step ${S}`);
  check((n.host !== undefined) === (m.encoding.type === 'direct'), file, '/numerics/host', () => (n.host ? `present, but the input is ${m.encoding.type}-encoded spikes` : 'missing: direct input is fed by the host'));
  if (!n.host) expectDims(io.input.dims, [S, B, ...m.inputShape], '/io/input/dims');
  else check(io.input.dims.length === 2 && io.input.dims[0] === B, file, '/io/input/dims', () => `[${io.input.dims.join(', ')}], expected [${B}, neurons] host currents`);
  check(S * B * product(io.input.dims.slice(-1)) <= MAX_TENSOR_VALUES * 4, file, '/io/input/dims', () => 'the input is too large');
  expectDims(io.output.dims, [S, B, C], '/io/output/dims');
  io.probes.forEach((p, i) => expectDims(p.dims, [S, B, p.dims[p.dims.length - 1]], `/io/probes/${i}/dims`));
  check(io.states.length === 0 && !io.outputSteps, file, '/io', () => 'chip numerics have no fed-back states or per-step float outputs');
  n.states.forEach((s, i) => check(io.probes.some((p) => p.layer === s.layer), file, `/numerics/states/${i}/layer`, () => `"${s.layer}" is not a probed layer`));
  const names = [io.output.name, ...io.probes.map((p) => p.name), ...n.states.flatMap((s) => [s.u, s.v])];
  const dup = names.find((x, i) => names.indexOf(x) !== i);
  check(dup === undefined, file, '/io', () => `graph output "${dup}" is named twice`);
  return m;
}

/** ONNX's codes of the element types the interface uses. */
const ELEM: Readonly<Record<Elem, number>> = { float: 1, uint8: 2, int32: 6 };

/**
 * Checks that model.onnx's graph has exactly the inputs the manifest feeds (besides initializers) and
 * every output it reads, with the manifest's dims (a symbolic dimension matches any) and element types
 * (float32; for chip numerics uint8 spikes and int32 currents and states).
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
  const describe = (v: onnxTypes.IValueInfoProto, { dims: want, elem }: { dims: readonly number[]; elem: Elem }, what: string) => {
    const t = v.type?.tensorType;
    if (!t || t.elemType !== ELEM[elem]) throw badInput(`${file}: graph ${what} "${v.name}" is not a${elem === 'int32' ? 'n' : ''} ${elem === 'float' ? 'float32' : elem} tensor, as manifest.json expects`);
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

/** The files of a compiled gpu folder. */
export const GPU_FILES = ['model.onnx', 'manifest.json'] as const;

/** Writes a compiled model's files (GPU_FILES) into `dir`. */
export function writeGpuFiles(dir: string, compiled: { readonly onnx: Uint8Array; readonly manifest: GpuManifest }): void {
  writeFileSync(join(dir, 'model.onnx'), compiled.onnx);
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(compiled.manifest, null, 2)}\n`);
}

/** A compiled gpu folder, read and checked: its manifest against itself and against model.onnx's interface. */
export function readGpuFolder(dir: string): { manifest: GpuManifest; onnx: Uint8Array; onnxPath: string } {
  const manifestPath = join(dir, 'manifest.json');
  const onnxPath = join(dir, 'model.onnx');
  if (!existsSync(manifestPath) || !existsSync(onnxPath)) throw badInput(`${dir}: not a compiled gpu folder (manifest.json or model.onnx is missing)`);
  const text = readInputText(manifestPath, 'gpu manifest');
  const onnx = readInputFile(onnxPath, 'ONNX model');
  const manifest = parseManifest(text, manifestPath);
  checkManifestAgainstOnnx(manifest, onnx, onnxPath);
  return { manifest, onnx, onnxPath };
}
