/**
 * The NetX frontend: a lava-dl `.net` (HDF5, read by io/hdf5.ts in a worker with a time limit; loihi.md
 * §3) → IR. Supported: input, dense, dense_rec, conv, flatten layers with CUBA/LOIHI neurons (binary
 * spikes, refDelay 1) or SDNN neurons (sigma-delta networks: a `delta` input layer, `sigma_delta` layers
 * with ReLU, a `sigma_output` layer as an `i` integrator; thresholds and biases /64 like the CUBA ones,
 * so the units match netx's spike_exp = state_exp = 6); other lava-dl layer and neuron types are refused
 * by name (exit 3), while a file
 * that is corrupt (unreadable HDF5, a type lava-dl does not know, NaN or infinite values) is bad input
 * (exit 2). The file's integers are kept exactly: weights and biases become w/64,
 * decays α = 1 − iDecay/4096 and β = 1 − vDecay/4096, the threshold the next float32 above vThMant/64
 * (Loihi fires on v > θ, the IR on v ≥ θ), reset to zero. The model records `fixedPoint: {format:
 * "loihi", weightScale: 64}` so the Loihi target quantises back to the very same integers.
 *
 * Time: Loihi's synapses delay every layer by one step and the IR's do not, so the float simulator of an
 * imported network runs each layer earlier than Lava; the Loihi target restores the delays.
 */
import { ExitCode, SnncError, badInput } from '../../errors.js';
import { type Hdf5Group, type Hdf5Tree, type Hdf5Value, hdf5Numbers, readHdf5 } from '../../io/hdf5.js';
import { nextFloat32Up } from '../../ir/float32.js';
import * as L from '../../ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../ir/model.js';
import { tensor } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';

export interface NetxImportOptions {
  /** Time steps recorded in the model (default: the file's simulation/tSample, else 100). */
  readonly timesteps?: number;
  /** Time limit of the HDF5 parsing in seconds (default: $SNNC_HDF5_TIMEOUT, else 60; see io/hdf5.ts). */
  readonly hdf5TimeoutS?: number;
}

/** lava-dl NetX layer and neuron types snnc does not support yet (refused with exit 3); any other unknown name is a corrupt file. */
const LAVA_LAYER_TYPES = ['average', 'concat', 'pool', 'convT', 'unpool', 'conv_transpose', 'sum'];
const LAVA_NEURON_TYPES = ['Sigma', 'SIGMA', 'SigmaDelta', 'RF', 'RF_IZ', 'ADRF', 'ADRF_IZ', 'ALIF', 'PilotNet'];

export async function readNetx(file: string, options: NetxImportOptions = {}): Promise<SnnModel> {
  const t = await readHdf5(file, 'NetX', { timeoutS: options.hdf5TimeoutS });
  // NetX readers use the whole file: any unreadable part means a corrupt file (exit 2), before a refusal could say exit 3.
  const broken = t.firstError();
  if (broken) throw t.corrupt(broken.path, broken.error);
  try {
    return parseNetx(t, file, options);
  } catch (e) {
    if (e instanceof SnncError) throw new SnncError(e.message.startsWith(file) ? e.message : `${file}: ${e.message}`, e.exitCode);
    throw badInput(`${file}: cannot read the NetX network (${(e as Error).message})`);
  }
}

/** Dataset accessors of one file. */
function accessors(t: Hdf5Tree) {
  const value = (g: Hdf5Group, path: string): Hdf5Value | undefined => t.value(g, path);
  const str = (g: Hdf5Group, path: string): string | undefined => {
    const v = value(g, path);
    if (v === undefined) return undefined;
    return typeof v === 'object' ? String((v as ArrayLike<unknown>)[0]) : String(v);
  };
  const nums = (g: Hdf5Group, path: string, where?: string): number[] | undefined => {
    const v = value(g, path);
    if (v === undefined) return undefined;
    const n = hdf5Numbers(v);
    if (where !== undefined && n.some((x) => !Number.isFinite(x))) throw badInput(`${where}: "${path}" contains NaN or an infinity`);
    return n;
  };
  const num = (g: Hdf5Group, path: string, what: string): number => {
    const v = nums(g, path);
    if (!v || v.length !== 1 || !Number.isFinite(v[0])) throw badInput(`${what}: "${path}" must be one finite number`);
    return v[0];
  };
  const shapeOf = (g: Hdf5Group, path: string): number[] => [...(t.dataset(g, path)?.shape ?? [])];
  return { str, nums, num, shapeOf };
}
type Accessors = ReturnType<typeof accessors>;

/** A delay or refractory period in steps, as lava-dl writes them (a value outside this range is a corrupt file, not an unsupported feature). */
const plausibleSteps = (x: number) => Number.isInteger(x) && x >= 0 && x <= 2 ** 16;

function refuse(where: string, what: string): never {
  throw new SnncError(`${where}: ${what}`, ExitCode.doesNotFit);
}

/** netx's default SDNN message width (loihi.md §3.2); the Loihi target models it (targets/loihi/quantise.ts NETX_SIGMA_DELTA). */
const SDNN_MESSAGE_BITS = 16;

/** What a layer's neuron group becomes (loihi.md §3.2): a CUBA compartment, or a sigma-delta neuron (SDNN). */
type NeuronKind = { kind: 'cuba'; alpha: number; beta: number; threshold: number } | { kind: 'delta' | 'sigma_delta'; threshold: number } | { kind: 'sigma' };

function neuronOf(a: Accessors, g: Hdf5Group, where: string, isInput: boolean): NeuronKind {
  const { str, nums, num } = a;
  const type = str(g, 'neuron/type');
  if (type === undefined) return { kind: 'cuba', alpha: 1, beta: 0, threshold: nextFloat32Up(2 ** 17 / 64) }; // netx's default non-leaky integrator
  if (type === 'SDNN') return sigmaDeltaOf(a, g, where, isInput);
  if (type !== 'CUBA' && type !== 'LOIHI') {
    if (!LAVA_NEURON_TYPES.includes(type)) throw badInput(`${where}: unknown neuron type "${type}" (not a lava-dl NetX neuron; a corrupt file?)`);
    refuse(where, `neuron type "${type}" is not supported (CUBA, LOIHI and SDNN are; RF neurons are not yet)`);
  }
  const ref = nums(g, 'neuron/refDelay', where)?.[0] ?? 1;
  if (!plausibleSteps(ref)) throw badInput(`${where}: neuron/refDelay ${ref} is not a step count (a corrupt file?)`);
  if (ref !== 1) refuse(where, `refDelay ${ref}: refractory periods are not supported (only refDelay 1)`);
  const graded = nums(g, 'neuron/gradedSpike', where)?.[0];
  if (graded !== undefined && graded !== 0 && graded !== 1) throw badInput(`${where}: neuron/gradedSpike ${graded} is not a boolean (a corrupt file?)`);
  if (graded) refuse(where, 'graded spikes of CUBA neurons are not supported (sigma-delta ones are)');
  const iDecay = num(g, 'neuron/iDecay', where);
  const vDecay = num(g, 'neuron/vDecay', where);
  const vth = thresholdMantissa(a, g, where);
  for (const [k, v, max] of [['iDecay', iDecay, 4096], ['vDecay', vDecay, 4096]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw badInput(`${where}: neuron/${k} must be an integer in 0…${max}, got ${v}`);
  }
  return { kind: 'cuba', alpha: 1 - iDecay / 4096, beta: 1 - vDecay / 4096, threshold: nextFloat32Up(vth / 64) };
}

function thresholdMantissa({ num }: Accessors, g: Hdf5Group, where: string): number {
  const vth = num(g, 'neuron/vThMant', where);
  if (!Number.isInteger(vth) || vth < 0 || vth > 2 ** 18) throw badInput(`${where}: neuron/vThMant must be an integer in 0…${2 ** 18}, got ${vth}`);
  return vth;
}

/** netx's SDNN neurons: Delta for the input layer, Sigma for a `sigma_output` layer, else SigmaDelta with ReLU. */
function sigmaDeltaOf(a: Accessors, g: Hdf5Group, where: string, isInput: boolean): NeuronKind {
  const { str, nums } = a;
  const bits = nums(g, 'neuron/messageBits', where)?.[0];
  if (bits !== undefined && bits !== SDNN_MESSAGE_BITS) refuse(where, `neuron/messageBits ${bits}: only netx's ${SDNN_MESSAGE_BITS}-bit graded messages are supported`);
  if (isInput) return { kind: 'delta', threshold: thresholdMantissa(a, g, where) / 64 };
  if (nums(g, 'neuron/sigma_output', where)?.[0]) return { kind: 'sigma' };
  const activation = str(g, 'neuron/activation') ?? 'relu';
  if (activation !== 'relu') refuse(where, `SDNN activation "${activation}" is not supported (relu is)`);
  return { kind: 'sigma_delta', threshold: thresholdMantissa(a, g, where) / 64 };
}

/** The IR neuron layer of a NetX layer (bias: per neuron, /64; the caller checks shapes). */
function neuronLayer(n: NeuronKind, f: { name: string; inputs: string[]; where: string; shape: number[]; bias?: Float32Array; recurrent?: Float32Array }): L.NeuronLayer {
  const { name, inputs, shape, bias, recurrent } = f;
  if (n.kind !== 'cuba' && recurrent) refuse(f.where, 'recurrent sigma-delta layers are not supported');
  switch (n.kind) {
    case 'cuba':
      return L.cubaLifNeuron({ name, inputs, alpha: n.alpha, beta: n.beta, threshold: n.threshold, reset: 'zero', v0: 0, ...(bias ? { bias: tensor(shape, bias) } : {}), ...(recurrent ? { recurrent: tensor([shape[0], shape[0]], recurrent) } : {}) });
    case 'delta':
      return L.neuron('delta', { name, inputs, params: { threshold: n.threshold } });
    case 'sigma_delta':
      return L.neuron('sigma_delta', { name, inputs, params: { threshold: n.threshold, ...(bias ? { bias: tensor(shape, bias) } : {}) } });
    case 'sigma':
      if (bias) refuse(f.where, 'a bias on a sigma_output layer (lava\'s Sigma has none)');
      return L.neuron('i', { name, inputs, params: {} });
  }
}

function scaled(data: ArrayLike<number>): Float32Array {
  return Float32Array.from(data, (x) => x / 64);
}

function parseNetx(t: Hdf5Tree, file: string, options: NetxImportOptions): SnnModel {
  const a = accessors(t);
  const { str, nums, shapeOf } = a;
  const root = t.group(t.root, 'layer');
  if (!root) throw badInput(`${file}: not a NetX network (no /layer group)`);
  const keys = t.keys(root).filter((k) => /^\d+$/.test(k)).map(Number).sort((x, y) => x - y);
  if (!keys.length || keys.some((k, i) => k !== i)) throw badInput(`${file}: /layer must hold groups 0…n−1, found ${t.keys(root).join(', ')}`);
  const layers: L.Layer[] = [];
  let inputShape: number[] | undefined;
  let encoding: SnnModel['input']['encoding'] = { type: 'events' };
  let previous = INPUT;
  let prevShape: number[] | undefined;
  const inputTransform: Record<string, number> = {};

  const addNeuron = (name: string, g: Hdf5Group, where: string, shape: number[], bias: Float32Array | undefined, recurrent?: Float32Array) => {
    const n = neuronOf(a, g, where, layers.length === 0);
    layers.push(neuronLayer(n, { name, inputs: [previous], where, shape, bias, recurrent }));
    previous = name;
    prevShape = shape;
  };
  /** Per-neuron bias from a scalar, per-neuron or per-channel dataset (/64). */
  const biasOf = (g: Hdf5Group, shape: number[], where: string): Float32Array | undefined => {
    const b = nums(g, 'bias', where);
    if (!b || b.every((x) => x === 0)) return undefined;
    const n = shape.reduce((a, c) => a * c, 1);
    const perChannel = n / shape[0];
    if (b.length !== 1 && b.length !== n && b.length !== shape[0]) throw badInput(`${where}: bias has ${b.length} values, expected 1, ${shape[0]} or ${n}`);
    return Float32Array.from({ length: n }, (_, i) => (b.length === 1 ? b[0] : b.length === n ? b[i] : b[Math.floor(i / perChannel)]) / 64);
  };

  for (const i of keys) {
    const where = `layer ${i}`;
    const g = t.group(root, String(i));
    if (!g) throw badInput(`${file}: /layer/${i} is not a group`);
    const type = str(g, 'type');
    const shape = nums(g, 'shape', where);
    if (!shape || shape.some((d) => !Number.isInteger(d) || d < 1)) throw badInput(`${where}: "shape" must be positive integers`);
    const name = `layer${i}`;
    const delay = nums(g, 'delay', where);
    if (delay?.some((d) => !plausibleSteps(d))) throw badInput(`${where}: "delay" holds values that are not step counts (a corrupt file?)`);
    if (delay?.some((d) => d !== 0)) refuse(where, 'axonal delays are not supported');
    switch (type) {
      case 'input': {
        if (i !== 0) throw badInput(`${where}: an input layer must come first`);
        inputShape = shape;
        encoding = { type: 'direct' };
        for (const k of ['weight', 'bias']) {
          const v = nums(g, k, where);
          if (v?.length === 1) inputTransform[k] = v[0];
        }
        // netx's input block: a neuron driven by its bias (the encoded input, /64 here) on every step.
        addNeuron(name, g, where, shape, undefined);
        break;
      }
      case 'dense':
      case 'dense_rec': {
        const w = nums(g, 'weight', where);
        const nOut = shape.reduce((a, c) => a * c, 1);
        if (!w || w.length % nOut !== 0) throw badInput(`${where}: weight has ${w?.length ?? 0} values, not a multiple of ${nOut} outputs`);
        const nIn = w.length / nOut;
        if (i === 0) inputShape = [nIn];
        else if (prevShape && prevShape.length > 1) {
          layers.push(L.flatten({ name: `${name}_flatten`, inputs: [previous] }));
          previous = `${name}_flatten`;
        }
        layers.push(L.dense({ name: `${name}_dense`, inputs: [previous], weight: tensor([nOut, nIn], scaled(w)) }));
        previous = `${name}_dense`;
        let rec: Float32Array | undefined;
        if (type === 'dense_rec') {
          const r = nums(g, 'weight_rec', where);
          if (!r || r.length !== nOut * nOut) throw badInput(`${where}: weight_rec must be ${nOut}×${nOut}`);
          rec = scaled(r);
        }
        // lava-dl writes a dense layer after a flatten with a 3-d shape such as [100, 1, 1]: its neurons are a vector.
        addNeuron(name, g, where, [nOut], biasOf(g, [nOut], where), rec);
        break;
      }
      case 'conv': {
        if (i === 0) refuse(where, 'a network that starts with a conv layer has no input size; add an input layer');
        const wShape = shapeOf(g, 'weight');
        const w = nums(g, 'weight', where);
        if (!w || w.length !== wShape.reduce((x, y) => x * y, 1)) throw badInput(`${where}: conv weight is missing or does not match its shape`);
        if (wShape.length < 4 || (wShape.length === 5 && wShape[4] !== 1)) throw badInput(`${where}: conv weight must be (Cout, Cin, kH, kW[, 1]), got (${wShape.join(', ')})`);
        const dil = nums(g, 'dilation', where) ?? [1, 1];
        const stride = nums(g, 'stride', where) ?? [1, 1];
        const pad = nums(g, 'padding', where) ?? [0, 0];
        if (dil.some((d) => d !== 1)) {
          // A dilation whose kernel is wider than the (padded) input is a corrupt value, not an unsupported feature.
          const span = Math.max(...dil) * (Math.max(wShape[2], wShape[3]) - 1) + 1;
          const extent = Math.max(0, ...(prevShape ?? inputShape ?? [])) + 2 * Math.max(0, ...pad);
          if (dil.some((d) => !Number.isInteger(d) || d < 1) || span > extent) throw badInput(`${where}: dilation ${dil.join('×')} is not valid for a ${wShape[2]}×${wShape[3]} kernel on this input (a corrupt file?)`);
          refuse(where, `dilation ${dil.join('×')} is not supported`);
        }
        const groups = nums(g, 'groups', where)?.[0] ?? 1;
        layers.push(
          L.conv2d({
            name: `${name}_conv`,
            inputs: [previous],
            weight: tensor(wShape.slice(0, 4), scaled(w)),
            stride: [stride[0], stride[stride.length - 1]],
            padding: [pad[0], pad[pad.length - 1], pad[0], pad[pad.length - 1]],
            groups,
          }),
        );
        previous = `${name}_conv`;
        addNeuron(name, g, where, shape, biasOf(g, shape, where));
        break;
      }
      case 'flatten':
        layers.push(L.flatten({ name, inputs: [previous] }));
        previous = name;
        prevShape = [shape.reduce((a, c) => a * c, 1)];
        break;
      default:
        if (type === undefined || !LAVA_LAYER_TYPES.includes(type)) throw badInput(`${where}: ${type === undefined ? 'no layer type' : `unknown layer type "${type}"`} (not a lava-dl NetX layer; a corrupt file?)`);
        refuse(where, `layer type "${type}" is not supported (input, dense, dense_rec, conv and flatten are)`);
    }
  }
  const tSample = nums(t.root, 'simulation/tSample')?.[0];
  const model: SnnModel = {
    name: file.replace(/^.*[\\/]/, '').replace(/\.net$/i, ''),
    input: { shape: inputShape!, encoding, preprocess: IDENTITY_PREPROCESS },
    layers,
    // A sigma-delta network ends in a Sigma: its value (the network's output, e.g. PilotNet's steering angle) averaged over the steps.
    output: { layer: previous, decoding: L.isModel(layers.at(-1)!, 'i') ? 'mean_membrane' : 'spike_count' },
    timesteps: options.timesteps ?? (tSample && Number.isInteger(tSample) ? tSample : 100),
    dt: 0.001,
    metadata: {
      source: `lava-dl NetX ${file.replace(/^.*[\\/]/, '')}`,
      fixedPoint: { format: 'loihi', weightScale: 64 },
      ...(Object.keys(inputTransform).length ? { netxInputTransform: inputTransform } : {}),
    },
  };
  verifyModel(model);
  return model;
}
