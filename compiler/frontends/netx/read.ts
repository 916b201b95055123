/**
 * The NetX frontend: a lava-dl `.net` (HDF5, read with h5wasm; loihi.md §3) → IR. Supported: input,
 * dense, dense_rec, conv, flatten layers with CUBA/LOIHI neurons (binary spikes, refDelay 1); anything
 * else is refused by name. The file's integers are kept exactly: weights and biases become w/64,
 * decays α = 1 − iDecay/4096 and β = 1 − vDecay/4096, the threshold the next float32 above vThMant/64
 * (Loihi fires on v > θ, the IR on v ≥ θ), reset to zero. The model records `fixedPoint: {format:
 * "loihi", weightScale: 64}` so the Loihi target quantises back to the very same integers.
 *
 * Time: Loihi's synapses delay every layer by one step and the IR's do not, so the float simulator of an
 * imported network runs each layer earlier than Lava; the Loihi target restores the delays.
 */
import h5wasm, { type Group } from 'h5wasm/node';
import { ExitCode, SnncError, badInput } from '../../errors.js';
import { type Hdf5File, type Hdf5Value, hdf5Member, hdf5Numbers, openHdf5 } from '../../io/hdf5.js';
import { nextFloat32Up } from '../../ir/float32.js';
import * as L from '../../ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../ir/model.js';
import { tensor } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';

export interface NetxImportOptions {
  /** Time steps recorded in the model (default: the file's simulation/tSample, else 100). */
  readonly timesteps?: number;
}

export async function readNetx(file: string, options: NetxImportOptions = {}): Promise<SnnModel> {
  const f = await openHdf5(file, 'NetX');
  try {
    return parseNetx(f, file, options);
  } catch (e) {
    if (e instanceof SnncError) throw new SnncError(e.message.startsWith(file) ? e.message : `${file}: ${e.message}`, e.exitCode);
    throw badInput(`${file}: cannot read the NetX network (${(e as Error).message})`);
  } finally {
    f.close();
  }
}

function value(g: Group, path: string): Hdf5Value | undefined {
  const d = hdf5Member(g, path);
  return d instanceof h5wasm.Dataset ? (d.value as Hdf5Value) : undefined;
}

function str(g: Group, path: string): string | undefined {
  const v = value(g, path);
  if (v === undefined) return undefined;
  return typeof v === 'object' ? String((v as ArrayLike<unknown>)[0]) : String(v);
}

function nums(g: Group, path: string): number[] | undefined {
  const v = value(g, path);
  return v === undefined ? undefined : hdf5Numbers(v);
}

function num(g: Group, path: string, what: string): number {
  const v = nums(g, path);
  if (!v || v.length !== 1 || !Number.isFinite(v[0])) throw badInput(`${what}: "${path}" must be one number`);
  return v[0];
}

function shapeOf(g: Group, path: string): number[] {
  const d = hdf5Member(g, path);
  return d instanceof h5wasm.Dataset ? [...(d.shape ?? [])] : [];
}

function refuse(where: string, what: string): never {
  throw new SnncError(`${where}: ${what}`, ExitCode.doesNotFit);
}

/** CUBA neuron parameters of a layer, as an IR neuron record (without name/inputs/bias). */
function neuronOf(g: Group, where: string): { alpha: number; beta: number; threshold: number } {
  const type = str(g, 'neuron/type');
  if (type === undefined) return { alpha: 1, beta: 0, threshold: nextFloat32Up(2 ** 17 / 64) }; // netx's default non-leaky integrator
  if (type !== 'CUBA' && type !== 'LOIHI') refuse(where, `neuron type "${type}" is not supported (CUBA and LOIHI are; SDNN and RF neurons are not yet)`);
  const ref = nums(g, 'neuron/refDelay')?.[0] ?? 1;
  if (ref !== 1) refuse(where, `refDelay ${ref}: refractory periods are not supported (only refDelay 1)`);
  const graded = nums(g, 'neuron/gradedSpike')?.[0];
  if (graded) refuse(where, 'graded spikes are not supported');
  const iDecay = num(g, 'neuron/iDecay', where);
  const vDecay = num(g, 'neuron/vDecay', where);
  const vth = num(g, 'neuron/vThMant', where);
  for (const [k, v, max] of [['iDecay', iDecay, 4096], ['vDecay', vDecay, 4096], ['vThMant', vth, 2 ** 18]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw badInput(`${where}: neuron/${k} must be an integer in 0…${max}, got ${v}`);
  }
  return { alpha: 1 - iDecay / 4096, beta: 1 - vDecay / 4096, threshold: nextFloat32Up(vth / 64) };
}

function scaled(data: ArrayLike<number>): Float32Array {
  return Float32Array.from(data, (x) => x / 64);
}

function parseNetx(f: Hdf5File, file: string, options: NetxImportOptions): SnnModel {
  const root = hdf5Member(f, 'layer');
  if (!(root instanceof h5wasm.Group)) throw badInput(`${file}: not a NetX network (no /layer group)`);
  const keys = root.keys().filter((k) => /^\d+$/.test(k)).map(Number).sort((a, b) => a - b);
  if (!keys.length || keys.some((k, i) => k !== i)) throw badInput(`${file}: /layer must hold groups 0…n−1, found ${root.keys().join(', ')}`);
  const layers: L.Layer[] = [];
  let inputShape: number[] | undefined;
  let encoding: SnnModel['input']['encoding'] = { type: 'events' };
  let previous = INPUT;
  let prevShape: number[] | undefined;
  const inputTransform: Record<string, number> = {};

  const addNeuron = (name: string, g: Group, where: string, shape: number[], bias: Float32Array | undefined, recurrent?: Float32Array) => {
    const n = neuronOf(g, where);
    layers.push(
      L.cubaLifNeuron({
        name,
        inputs: [previous],
        ...n,
        reset: 'zero',
        v0: 0,
        ...(bias ? { bias: tensor(shape, bias) } : {}),
        ...(recurrent ? { recurrent: tensor([shape[0], shape[0]], recurrent) } : {}),
      }),
    );
    previous = name;
    prevShape = shape;
  };
  /** Per-neuron bias from a scalar, per-neuron or per-channel dataset (/64). */
  const biasOf = (g: Group, shape: number[], where: string): Float32Array | undefined => {
    const b = nums(g, 'bias');
    if (!b || b.every((x) => x === 0)) return undefined;
    const n = shape.reduce((a, c) => a * c, 1);
    const perChannel = n / shape[0];
    if (b.length !== 1 && b.length !== n && b.length !== shape[0]) throw badInput(`${where}: bias has ${b.length} values, expected 1, ${shape[0]} or ${n}`);
    return Float32Array.from({ length: n }, (_, i) => (b.length === 1 ? b[0] : b.length === n ? b[i] : b[Math.floor(i / perChannel)]) / 64);
  };

  for (const i of keys) {
    const g = hdf5Member(root, String(i)) as Group;
    const where = `layer ${i}`;
    const type = str(g, 'type');
    const shape = nums(g, 'shape');
    if (!shape || shape.some((d) => !Number.isInteger(d) || d < 1)) throw badInput(`${where}: "shape" must be positive integers`);
    const name = `layer${i}`;
    const delay = nums(g, 'delay');
    if (delay?.some((d) => d !== 0)) refuse(where, 'axonal delays are not supported');
    switch (type) {
      case 'input': {
        if (i !== 0) throw badInput(`${where}: an input layer must come first`);
        inputShape = shape;
        encoding = { type: 'direct' };
        for (const k of ['weight', 'bias']) {
          const v = nums(g, k);
          if (v?.length === 1) inputTransform[k] = v[0];
        }
        // netx's input block: a neuron driven by its bias (the encoded input, /64 here) on every step.
        addNeuron(name, g, where, shape, undefined);
        break;
      }
      case 'dense':
      case 'dense_rec': {
        const w = nums(g, 'weight');
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
          const r = nums(g, 'weight_rec');
          if (!r || r.length !== nOut * nOut) throw badInput(`${where}: weight_rec must be ${nOut}×${nOut}`);
          rec = scaled(r);
        }
        addNeuron(name, g, where, shape, biasOf(g, shape, where), rec);
        break;
      }
      case 'conv': {
        if (i === 0) refuse(where, 'a network that starts with a conv layer has no input size; add an input layer');
        const wShape = shapeOf(g, 'weight');
        const w = nums(g, 'weight')!;
        if (wShape.length < 4 || (wShape.length === 5 && wShape[4] !== 1)) throw badInput(`${where}: conv weight must be (Cout, Cin, kH, kW[, 1]), got (${wShape.join(', ')})`);
        const dil = nums(g, 'dilation') ?? [1, 1];
        if (dil.some((d) => d !== 1)) refuse(where, `dilation ${dil.join('×')} is not supported`);
        const stride = nums(g, 'stride') ?? [1, 1];
        const pad = nums(g, 'padding') ?? [0, 0];
        const groups = nums(g, 'groups')?.[0] ?? 1;
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
        refuse(where, `layer type "${type}" is not supported (input, dense, dense_rec, conv and flatten are)`);
    }
  }
  const tSample = nums(f as unknown as Group, 'simulation/tSample')?.[0];
  const model: SnnModel = {
    name: file.replace(/^.*[\\/]/, '').replace(/\.net$/i, ''),
    input: { shape: inputShape!, encoding, preprocess: IDENTITY_PREPROCESS },
    layers,
    output: { layer: previous, decoding: 'spike_count' },
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
