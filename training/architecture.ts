/**
 * Architecture files for `snnc train`: a JSON list of layers without weights, validated against a JSON
 * Schema (errors name the file, the line and what was expected), and turned into an IR model with seeded
 * He-uniform weights and zero biases. Training then changes weights, biases (and batchnorm statistics).
 * Each layer reads the layer before it, or the layers named in `inputs` (residual `add`s).
 *
 *   { "name": "fmnist-mlp", "input": { "shape": [1, 28, 28], "scale": 0.00392156862745098 },
 *     "timesteps": 8,
 *     "layers": [ { "type": "flatten" }, { "type": "dense", "units": 400 }, { "type": "lif", "beta": 0.9 },
 *                 { "type": "dense", "units": 10 } ] }
 *
 * Modes: `t1-noise` takes IF neurons only and builds T=1; `ann` builds each spiking neuron layer as a
 * ReLU, so the same file trains the ANN baseline; `bptt` builds the neurons as written (if, lif, cuba_lif,
 * and a non-spiking li readout) at the file's (or --timesteps) T. The readout is the last layer: a dense
 * layer (decoded as its mean current over the steps), an li layer (its mean membrane) or a spiking layer
 * (its spike count).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { badInput } from '../compiler/errors.js';
import { describeSchemaError, parseJson, pointerLocation } from '../compiler/io/json-document.js';
import { readInputText } from '../compiler/io/read-file.js';
import * as L from '../compiler/ir/layers.js';
import { type Decoding, INPUT, type SnnModel } from '../compiler/ir/model.js';
import { type Tensor, sizeOf, tensor } from '../compiler/ir/tensor.js';
import { verifyModel } from '../compiler/ir/verify.js';
import { inferShapes } from '../compiler/ir/shapes.js';
import { streamGenerator } from '../compiler/reference/seeded-rng.js';

const NEURON_TYPES = ['if', 'lif', 'cuba_lif', 'li'] as const;
export const ARCH_LAYER_TYPES = ['dense', 'conv2d', 'avgpool2d', 'maxpool2d', 'flatten', 'batchnorm', 'add', ...NEURON_TYPES] as const;
export type TrainingMode = 't1-noise' | 'ann' | 'bptt';
export const TRAINING_MODES: readonly TrainingMode[] = ['t1-noise', 'ann', 'bptt'];
/** The metadata entry through which an architecture names the neuron parameters to train ({layer: [param, …]}). */
export const LEARN_KEY = 'learn';
/** Most steps a network is unrolled for in training. */
export const MAX_TRAINING_TIMESTEPS = 1000;

const posInt = { type: 'integer', minimum: 1, maximum: 1 << 20 };
const pair = { oneOf: [posInt, { type: 'array', items: posInt, minItems: 2, maxItems: 2 }] };
const layerName = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.\\-]*$' };
const layer = (type: string, props: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required: ['type', ...required],
  properties: { type: { const: type }, name: layerName, inputs: { type: 'array', items: layerName, minItems: 1, maxItems: 64, description: 'The layers this one reads (default: the layer before it).' }, ...props },
});
const decay = (what: string) => ({ type: 'number', minimum: 0, maximum: 1, description: `${what} decay per step (default 0.9).` });
const neuronProps = {
  threshold: { type: 'number', exclusiveMinimum: 0, description: 'θ (default 1).' },
  reset: { enum: ['subtract', 'zero'], description: 'After a spike: v ← v − θ (default) or v ← 0.' },
  recurrent: { type: 'boolean', description: 'bptt: add learned recurrent weights W·s(t−1) (vector layers).' },
  learn: { type: 'array', items: { enum: ['threshold', 'beta', 'alpha'] }, uniqueItems: true, description: 'bptt: neuron parameters trained per neuron (θ, β, α).' },
};

export const architectureSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'snnc training architecture',
  type: 'object',
  additionalProperties: false,
  required: ['input', 'layers'],
  properties: {
    name: { type: 'string' },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['shape'],
      properties: {
        shape: { type: 'array', items: posInt, minItems: 1, maxItems: 3, description: 'Per-sample shape: [features] or [C, H, W].' },
        scale: { type: 'number', exclusiveMinimum: 0, description: 'Raw data is multiplied by this before the network (e.g. 1/255 for pixels). Default 1.' },
        encoding: { enum: ['direct', 'rate', 'events'], description: 'bptt: the input as a constant current every step (direct, default), Bernoulli spikes (rate), or per-step values the data carries (events: samples of shape [T, …shape]).' },
      },
    },
    timesteps: { type: 'integer', minimum: 1, maximum: MAX_TRAINING_TIMESTEPS, description: 'bptt: steps T (default 8; --timesteps overrides).' },
    seed: { type: 'integer', description: 'Seed of the weight initialisation (default 1).' },
    layers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          layer('dense', { units: posInt }, ['units']),
          layer('conv2d', { channels: posInt, kernel: pair, stride: pair, padding: { type: 'integer', minimum: 0, maximum: 64 } }, ['channels', 'kernel']),
          layer('avgpool2d', { kernel: pair, stride: pair }, ['kernel']),
          layer('maxpool2d', { kernel: pair, stride: pair }, ['kernel']),
          layer('flatten'),
          layer('batchnorm'),
          layer('add'),
          layer('if', neuronProps),
          layer('lif', { ...neuronProps, beta: decay('Membrane') }),
          layer('cuba_lif', { ...neuronProps, beta: decay('Membrane'), alpha: decay('Synaptic-current') }),
          layer('li', { beta: decay('Membrane'), learn: neuronProps.learn }),
        ],
      },
    },
  },
} as const;

let validator: ValidateFunction | undefined;

interface LayerJson {
  type: (typeof ARCH_LAYER_TYPES)[number];
  name?: string;
  inputs?: string[];
  units?: number;
  channels?: number;
  kernel?: number | number[];
  stride?: number | number[];
  padding?: number;
  threshold?: number;
  reset?: 'subtract' | 'zero';
  recurrent?: boolean;
  beta?: number;
  alpha?: number;
  learn?: string[];
}

interface ArchitectureJson {
  name?: string;
  input: { shape: number[]; scale?: number; encoding?: 'direct' | 'rate' | 'events' };
  timesteps?: number;
  seed?: number;
  layers: LayerJson[];
}

export interface ArchitectureOptions {
  readonly mode?: TrainingMode;
  /** bptt: overrides the file's `timesteps`. */
  readonly timesteps?: number;
}

const asPair = (v: number | number[] | undefined, dflt: L.Pair): L.Pair => (v === undefined ? dflt : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** He-uniform weights U(−√(6/fan_in), √(6/fan_in)) from a seeded generator: the same file gives the same model. */
function heUniform(shape: number[], fanIn: number, next: () => number): Tensor {
  const limit = Math.sqrt(6 / fanIn);
  return tensor(shape, Float32Array.from({ length: sizeOf(shape) }, () => (2 * next() - 1) * limit));
}

/** Reads and validates an architecture file and builds the initial model for `options.mode` (default t1-noise). */
export function readArchitecture(file: string, options: ArchitectureOptions = {}): SnnModel {
  const text = readInputText(file, 'architecture file');
  const doc = parseJson(text, file);
  validator ??= new Ajv2020({ allErrors: true, discriminator: true, strict: false }).compile(architectureSchema);
  if (!validator(doc)) throw badInput(describeSchemaError(validator.errors ?? [], text, file, doc, ARCH_LAYER_TYPES));
  return buildArchitecture(doc as ArchitectureJson, (pointer) => `${file}${pointerLocation(text, pointer)}: ${pointer}`, options);
}

/** What a layer may read, and what it must not follow, per mode. */
function checkPlacement(j: LayerJson, mode: TrainingMode, at: string, reads: readonly L.Layer[]): void {
  const neuron = (NEURON_TYPES as readonly string[]).includes(j.type);
  if (mode === 't1-noise' && j.type !== 'if' && neuron) throw badInput(`${at}: --mode t1-noise trains IF neurons at T=1; ${j.type} layers need --mode bptt`);
  if (mode === 't1-noise' && (j.type === 'batchnorm' || j.type === 'add' || j.type === 'maxpool2d')) throw badInput(`${at}: --mode t1-noise takes dense, conv2d, avgpool2d, flatten and if layers; ${j.type} needs --mode bptt or ann`);
  if (mode === 'ann' && j.type === 'li') throw badInput(`${at}: an li readout has no ANN counterpart; end with a dense layer for --mode ann`);
  if (mode !== 'bptt' && j.recurrent) throw badInput(`${at}: recurrent weights act from step 2 on; they need --mode bptt`);
  if (mode !== 'bptt' && j.learn?.length) throw badInput(`${at}: learned neuron parameters need --mode bptt`);
  if (j.learn?.includes('alpha') && j.type !== 'cuba_lif') throw badInput(`${at}: ${j.type} neurons have no synaptic decay α to learn`);
  if (j.learn?.includes('beta') && j.type === 'if') throw badInput(`${at}: if neurons have no decay β to learn (use lif)`);
  if (j.learn?.includes('threshold') && j.type === 'li') throw badInput(`${at}: li neurons do not spike, so they have no threshold to learn`);
  if (j.learn?.length && j.recurrent) throw badInput(`${at}: a recurrent layer cannot learn its neuron parameters here`);
  if (j.type === 'add' && (j.inputs?.length ?? 0) < 2) throw badInput(`${at}: add sums two or more layers; name them in "inputs", e.g. ["conv3", "lif1"]`);
  if (j.type !== 'add' && (j.inputs?.length ?? 1) !== 1) throw badInput(`${at}: ${j.type} reads one layer, "inputs" names ${j.inputs!.length}`);
  if (j.type === 'batchnorm' && (reads.length === 0 || !reads.every((l) => l.op === 'dense' || l.op === 'conv2d'))) throw badInput(`${at}: batchnorm normalises the input currents of neurons, so it must read a dense or conv2d layer, not ${reads.map((l) => L.layerKind(l)).join(', ') || 'the input'}`);
}

/** The neuron layer `j` as the mode builds it. */
function neuronLayer(j: LayerJson, base: { name: string; inputs: string[] }, mode: TrainingMode): L.Layer {
  if (mode === 'ann') return L.relu(base);
  const threshold = j.threshold ?? 1;
  const reset = j.reset ?? 'subtract';
  const common = { ...base, threshold, reset, v0: 0 };
  switch (j.type) {
    case 'if':
      return L.ifNeuron(common);
    case 'lif':
      return L.lifNeuron({ ...common, beta: j.beta ?? 0.9 });
    case 'cuba_lif':
      return L.cubaLifNeuron({ ...common, alpha: j.alpha ?? 0.9, beta: j.beta ?? 0.9 });
    default:
      return L.neuron('li', { ...base, params: { beta: j.beta ?? 0.9, v0: 0, v_leak: 0, r: 1 } });
  }
}

/** The layer with `params` made per-neuron tensors of `shape` (the values they train from). */
function perNeuron(layer: L.Layer, params: readonly string[], shape: readonly number[]): L.Layer {
  if (!params.length || !L.isNeuron(layer)) return layer;
  const out = { ...layer.params };
  for (const p of params) out[p] = tensor([...shape], new Float32Array(sizeOf(shape)).fill(layer.params[p] as number));
  return { ...layer, params: out };
}

/** The readout decoding of the last layer. */
function decodingOf(last: L.Layer, mode: TrainingMode, where: string): Decoding {
  if (last.op === 'dense') return mode === 'ann' ? 'accumulate' : 'mean';
  if (mode === 'bptt' && L.isNeuron(last)) return L.isSpikingLayer(last) ? 'spike_count' : 'mean';
  throw badInput(`${where}: the last layer must be a readout (its values are the class scores): a dense layer${mode === 'bptt' ? ', an li layer or a spiking layer (spike count)' : ''}, got ${L.layerKind(last)}`);
}

export function buildArchitecture(doc: ArchitectureJson, at: (pointer: string) => string, options: ArchitectureOptions = {}): SnnModel {
  const mode = options.mode ?? 't1-noise';
  if (mode !== 'bptt' && options.timesteps !== undefined) throw badInput(`--timesteps applies to --mode bptt; ${mode} trains at T=1`);
  if (mode !== 'bptt' && (doc.input.encoding ?? 'direct') !== 'direct') throw badInput(`${at('/input/encoding')}: ${doc.input.encoding} input needs --mode bptt`);
  const rng = streamGenerator(doc.seed ?? 1);
  const next = () => uniformFloat64(rng);
  const layers: L.Layer[] = [];
  const byName = new Map<string, L.Layer>();
  const counts = new Map<string, number>();
  let shapes = new Map<string, readonly number[]>([[INPUT, doc.input.shape]]);
  for (const [k, j] of doc.layers.entries()) {
    const n = (counts.get(j.type) ?? 0) + 1;
    counts.set(j.type, n);
    const spiking = j.type !== 'li' && (NEURON_TYPES as readonly string[]).includes(j.type);
    const name = j.name ?? `${spiking && mode === 'ann' ? 'relu' : j.type}${n}`;
    const where = `${at(`/layers/${k}`)} (${j.type} "${name}")`;
    if (byName.has(name) || name === INPUT) throw badInput(`${where}: the name "${name}" is already used`);
    const inputs = j.inputs ?? [layers.length ? layers[layers.length - 1].name : INPUT];
    const unknown = inputs.find((i) => i !== INPUT && !byName.has(i));
    if (unknown !== undefined) throw badInput(`${where}: "inputs" names "${unknown}", which is not a layer before this one`);
    checkPlacement(j, mode, where, inputs.filter((i) => i !== INPUT).map((i) => byName.get(i)!));
    const shape = shapes.get(inputs[0])!;
    const built = buildLayer(j, { name, inputs }, shape, mode, where, next);
    layers.push(built);
    byName.set(name, built);
    try {
      shapes = new Map(inferShapes({ ...draft(doc, layers, mode, options), output: { layer: name, decoding: 'mean' } }));
    } catch (e) {
      throw badInput(`${where}: ${(e as Error).message.replace(/^layer "[^"]*": /, '')}`);
    }
    if (shapes.get(name)!.some((d) => d < 1)) throw badInput(`${where}: the output would be empty (shape [${shapes.get(name)}])`);
  }
  const last = layers[layers.length - 1];
  const learn = Object.fromEntries(doc.layers.flatMap((j, k) => (j.learn?.length && mode === 'bptt' ? [[layers[k].name, j.learn]] : [])));
  const base = draft(doc, layers, mode, options);
  const model: SnnModel = { ...base, output: { layer: last.name, decoding: decodingOf(last, mode, at(`/layers/${layers.length - 1}`)) }, metadata: Object.keys(learn).length ? { [LEARN_KEY]: learn } : {} };
  verifyModel(model);
  return model;
}

/** The model without its readout: input, layers, T. */
function draft(doc: ArchitectureJson, layers: L.Layer[], mode: TrainingMode, options: ArchitectureOptions): Omit<SnnModel, 'output'> {
  const encoding = doc.input.encoding === 'rate' ? { type: 'rate' as const, seed: doc.seed ?? 1 } : { type: doc.input.encoding ?? 'direct' };
  return {
    name: doc.name ?? 'trained',
    input: { shape: doc.input.shape, encoding: encoding as SnnModel['input']['encoding'], preprocess: { scale: doc.input.scale ?? 1, mean: [0], std: [1] } },
    layers,
    timesteps: mode === 'bptt' ? (options.timesteps ?? doc.timesteps ?? 8) : 1,
    dt: 1e-3,
    metadata: {},
  };
}

/** One layer with its initial weights; `shape` is its (first) input's per-sample shape. */
function buildLayer(j: LayerJson, base: { name: string; inputs: string[] }, shape: readonly number[], mode: TrainingMode, where: string, next: () => number): L.Layer {
  switch (j.type) {
    case 'dense':
      if (shape.length !== 1) throw badInput(`${where}: dense takes a vector but gets shape [${shape}]; add {"type": "flatten"} before it`);
      return L.dense({ ...base, weight: heUniform([j.units!, shape[0]], shape[0], next), bias: tensor([j.units!], new Float32Array(j.units!)) });
    case 'conv2d': {
      if (shape.length !== 3) throw badInput(`${where}: conv2d takes [C, H, W] but gets shape [${shape}]`);
      const [kh, kw] = asPair(j.kernel, [1, 1]);
      const [sh, sw] = asPair(j.stride, [1, 1]);
      const p = j.padding ?? 0;
      const C = shape[0];
      return L.conv2d({ ...base, weight: heUniform([j.channels!, C, kh, kw], C * kh * kw, next), bias: tensor([j.channels!], new Float32Array(j.channels!)), stride: [sh, sw], padding: [p, p, p, p], groups: 1 });
    }
    case 'avgpool2d':
    case 'maxpool2d': {
      if (shape.length !== 3) throw badInput(`${where}: ${j.type} takes [C, H, W] but gets shape [${shape}]`);
      const kernel = asPair(j.kernel, [1, 1]);
      const fields = { ...base, kernel, stride: asPair(j.stride, kernel), padding: [0, 0, 0, 0] as L.Padding4 };
      return j.type === 'avgpool2d' ? L.avgpool2d(fields) : L.maxpool2d(fields);
    }
    case 'flatten':
      return L.flatten(base);
    case 'batchnorm': {
      const c = shape[0];
      return L.batchNorm({ ...base, scale: tensor([c], new Float32Array(c).fill(1)), shift: tensor([c], new Float32Array(c)) });
    }
    case 'add':
      return L.add(base);
    default: {
      const built = perNeuron(neuronLayer(j, base, mode), j.learn ?? [], shape);
      if (!j.recurrent) return built;
      if (shape.length !== 1) throw badInput(`${where}: recurrent weights need a vector layer, this one has shape [${shape}]`);
      const n = shape[0];
      return { ...(built as L.NeuronLayer), recurrent: heUniform([n, n], n, next) };
    }
  }
}
