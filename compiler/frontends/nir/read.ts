/**
 * The NIR frontend (nir.md): a `.nir` HDF5 graph (read by io/hdf5.ts, in a worker with a time limit) → IR, discretised with forward Euler
 * at a chosen dt (nir.md §5). Lenient: quirks it can repair (missing v_reset, dtype mixes, 0-d parameters,
 * unordered edges) become diagnostics naming the node; what it cannot represent is a clear error.
 *
 * Mapping (h = dt):
 * - Affine / Linear → dense; Conv2d → conv2d (padding pairs or "same"/"valid"); AvgPool2d → avgpool2d;
 *   SumPool2d → avgpool2d then ×kH·kW; Flatten → flatten; Scale → a per-channel batchnorm.
 * - LIF: τ·dv/dt = −v + R·x  →  v ← β·v + g·x with β = 1 − h/τ, g = R·h/τ (v_leak must be 0).
 * - CubaLIF: I ← α·I + (h/τ_syn)·w_in·x, v ← β·v + (h/τ_mem)·R·I with α = 1 − h/τ_syn, β = 1 − h/τ_mem;
 *   the IR's current is scaled by (h/τ_mem)·R, so the input gain is g = (h/τ_mem)·R·(h/τ_syn)·w_in.
 * - IF: v ← v + R·x per step (IF has no time constant to scale by h).
 * The gain g is folded into the weights (and bias) of the dense/conv layer feeding the neuron, or applied
 * by a batchnorm scale. NIR spikes when v > θ (strict); the IR spikes when v ≥ θ, so θ becomes the next
 * float32 above θ, which is exactly equivalent on float32 membranes.
 * Nested graphs are inlined; a neuron ⇄ Affine/Linear cycle becomes the neuron's recurrent weight.
 * Not yet supported (clear errors): other cycles, Conv1d, Delay, Threshold, I, LI, CubaLI, non-zero
 * v_leak or v_reset, per-neuron thresholds or time constants that differ within a layer.
 * NaN or infinite parameters, and parameters whose discretisation overflows, are refused by node.
 */
import { type Hdf5Group, type Hdf5Tree, type Hdf5Value, hdf5Numbers, readHdf5 } from '../../io/hdf5.js';
import { SnncError, badInput } from '../../errors.js';
import * as L from '../../ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../ir/model.js';
import { inferShapes } from '../../ir/shapes.js';
import { type Tensor, sizeOf, tensor } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';
import { nextFloat32Up } from '../../ir/float32.js';

export interface NirImportOptions {
  /** Seconds per step (default 1e-4, the NIR paper's convention). */
  readonly dt?: number;
  /** Reset for neurons whose file gives no v_reset (files before NIR 1.0.6); default 'zero' as the reference reader. */
  readonly reset?: L.ResetMode;
  readonly timesteps?: number;
  /** Time limit of the HDF5 parsing in seconds (default: $SNNC_HDF5_TIMEOUT, else 60; see io/hdf5.ts). */
  readonly hdf5TimeoutS?: number;
}

export interface Diagnostic {
  readonly node: string;
  readonly message: string;
}

export interface NirImport {
  readonly model: SnnModel;
  readonly diagnostics: Diagnostic[];
  readonly version: string;
}

type Value = Hdf5Value | undefined;
interface NirNode {
  readonly name: string;
  readonly type: string;
  readonly params: Map<string, { shape: number[]; value: Value }>;
  /** String values of the node's metadata group (e.g. snnc's reset = "subtract"). */
  readonly metadata?: Map<string, string>;
}

const toNumbers = (v: Value): number[] => (v === undefined ? [] : hdf5Numbers(v));

export async function readNir(file: string, options: NirImportOptions = {}): Promise<NirImport> {
  if (options.dt !== undefined && !(Number.isFinite(options.dt) && options.dt > 0)) throw badInput(`${file}: dt must be a finite positive number of seconds, got ${options.dt}`);
  const t = await readHdf5(file, 'NIR', { timeoutS: options.hdf5TimeoutS });
  try {
    return parseNirFile(t, file, options);
  } catch (e) {
    if (e instanceof SnncError) throw e;
    throw badInput(`${file}: cannot read the NIR graph (${(e as Error).message})`); // corrupt HDF5 content
  }
}

function parseNirFile(t: Hdf5Tree, file: string, options: NirImportOptions): NirImport {
  const diagnostics: Diagnostic[] = [];
  const warn = (node: string, message: string) => diagnostics.push({ node, message });
  const versionValue = t.value(t.root, 'version');
  const version = versionValue !== undefined ? String(versionValue) : 'unknown';
  const root = t.group(t.root, 'node');
  if (!root) throw badInput(`${file}: not a NIR file (no /node group)`);
  const rootType = t.value(root, 'type');
  if (rootType !== undefined && String(rootType) !== 'NIRGraph') throw badInput(`${file}: /node is a ${String(rootType)}, expected a NIRGraph`);

  const { nodes, edges } = flattenGraph(t, root, '', file, warn);
  const dt = options.dt ?? 1e-4;
  if (options.dt === undefined && [...nodes.values()].some((n) => n.type === 'LIF' || n.type === 'CubaLIF')) warn('(graph)', `no --dt given: using dt = 1e-4 (the NIR paper's convention); NIR files carry no time step`);

  const inputs = [...nodes.values()].filter((n) => n.type === 'Input');
  const outputs = [...nodes.values()].filter((n) => n.type === 'Output');
  if (inputs.length !== 1 || outputs.length !== 1) throw badInput(`${file}: expected one Input and one Output node, found ${inputs.length} and ${outputs.length}`);
  // A neuron N and an Affine/Linear A fed only by N and feeding N back form a recurrent layer: A's
  // weights become N's recurrent weights (one step of delay, as snnTorch and NIRTorch read such cycles).
  const recurrentOf = new Map<string, NirNode>();
  const isNeuronType = (t: string) => t === 'IF' || t === 'LIF' || t === 'CubaLIF';
  for (const a of nodes.values()) {
    if (a.type !== 'Affine' && a.type !== 'Linear') continue;
    const ins = edges.filter(([, t]) => t === a.name).map(([src]) => src);
    const outs = edges.filter(([src]) => src === a.name).map(([, t]) => t);
    if (ins.length === 1 && outs.length === 1 && ins[0] === outs[0] && isNeuronType(nodes.get(ins[0])!.type)) {
      if (nodes.get(ins[0])!.type === 'IF') throw badInput(`${file}: node "${ins[0]}" (IF) has recurrent weights; snnc supports recurrence on LIF and CubaLIF`);
      recurrentOf.set(ins[0], a);
    }
  }
  const recurrentNames = new Set([...recurrentOf.values()].map((a) => a.name));
  const forward = edges.filter(([src, t]) => !recurrentNames.has(src) && !recurrentNames.has(t));
  const preds = new Map<string, string[]>([...nodes.keys()].map((k) => [k, []]));
  for (const [s, t] of forward) preds.get(t)!.push(s);

  // Topological order from the Input; a node reachable only through a cycle is recurrence (not yet supported).
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') throw badInput(`${file}: node "${n}" is on a cycle (recurrent NIR graphs are not supported yet)`);
    state.set(n, 'visiting');
    for (const p of preds.get(n)!) visit(p);
    state.set(n, 'done');
    order.push(n);
  };
  visit(outputs[0].name);

  const layers: L.Layer[] = [];
  const valueOf = new Map<string, string>([[inputs[0].name, INPUT]]); // NIR node → IR value
  const used = new Set([INPUT]);
  const fresh = (hint: string) => {
    let n = hint.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^([^A-Za-z_])/, 'n$1');
    for (let k = 1; used.has(n); k++) n = `${hint}_${k}`.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^([^A-Za-z_])/, 'n$1');
    used.add(n);
    return n;
  };
  const inputShape = toNumbers(inputs[0].params.get('shape')?.value);
  if (inputShape.length === 0 || inputShape.some((d) => !(d >= 1))) throw badInput(`${file}: Input "${inputs[0].name}" has no valid shape`);

  for (const name of order) {
    const node = nodes.get(name)!;
    if (node.type === 'Input') continue;
    const where = `${file}: node "${name}" (${node.type})`;
    const p = (key: string, required = true) => {
      const v = node.params.get(key);
      if (!v && required) throw badInput(`${where}: missing parameter "${key}"`);
      return v;
    };
    const floats = (key: string): Tensor => {
      const v = p(key)!;
      const data = Float32Array.from(toNumbers(v.value));
      return tensor(v.shape.length ? v.shape : [data.length], data);
    };
    const uniform = (key: string): number => {
      const values = toNumbers(p(key)!.value);
      if (values.length === 0) throw badInput(`${where}: parameter "${key}" is empty`);
      if (values.some((v) => v !== values[0])) throw badInput(`${where}: "${key}" differs between neurons; snnc needs one value per layer`);
      if (p(key)!.shape.length === 0) warn(name, `"${key}" is a 0-d scalar; broadcast to the layer`);
      return values[0];
    };
    // Several incoming edges are summed (NIRTorch's rule).
    const srcs = preds.get(name)!.map((s) => valueOf.get(s)!);
    if (srcs.length === 0) throw badInput(`${where}: has no incoming edge`);
    let input = srcs[0];
    if (srcs.length > 1) {
      input = fresh(`${name}.sum`);
      layers.push(L.add({ name: input, inputs: srcs }));
      warn(name, `${srcs.length} incoming edges are summed`);
    }
    const emit = (layer: L.Layer) => {
      layers.push(layer);
      valueOf.set(name, layer.name);
    };
    const pair = (key: string, dflt: number): [number, number] => {
      const v = toNumbers(p(key, false)?.value);
      return v.length === 0 ? [dflt, dflt] : v.length === 1 ? [v[0], v[0]] : [v[0], v[1]];
    };
    switch (node.type) {
      case 'Output':
      case 'Identity': // a nested graph's Input or Output, after inlining
        valueOf.set(name, input);
        break;
      case 'Affine':
      case 'Linear':
        emit(L.dense({ name: fresh(name), inputs: [input], weight: floats('weight'), bias: node.type === 'Affine' ? floats('bias') : undefined }));
        break;
      case 'Conv2d': {
        const weight = floats('weight');
        if (pair('dilation', 1).some((d) => d !== 1)) throw badInput(`${where}: dilation is not supported`);
        const padValue = p('padding', false)?.value;
        let padding: L.Padding4;
        if (typeof padValue === 'string') {
          if (padValue === 'valid') padding = [0, 0, 0, 0];
          else if (padValue === 'same') {
            const [kh, kw] = [weight.shape[2], weight.shape[3]];
            padding = [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2), Math.ceil((kh - 1) / 2), Math.ceil((kw - 1) / 2)];
          } else throw badInput(`${where}: unknown padding "${padValue}"`);
        } else {
          const [ph, pw] = pair('padding', 0);
          padding = [ph, pw, ph, pw];
        }
        const groups = toNumbers(p('groups', false)?.value)[0] ?? 1;
        emit(L.conv2d({ name: fresh(name), inputs: [input], weight, bias: floats('bias'), stride: pair('stride', 1), padding, groups }));
        break;
      }
      case 'AvgPool2d':
      case 'SumPool2d': {
        const kernel = pair('kernel_size', 1);
        const [ph, pw] = pair('padding', 0);
        const pool = L.avgpool2d({ name: fresh(node.type === 'SumPool2d' ? `${name}.mean` : name), inputs: [input], kernel, stride: pair('stride', kernel[0]), padding: [ph, pw, ph, pw] });
        if (node.type === 'AvgPool2d') {
          emit(pool);
          break;
        }
        layers.push(pool);
        const C = channelsOf(layers, pool.name, inputShape);
        emit(L.batchNorm({ name: fresh(name), inputs: [pool.name], scale: tensor([C], new Float32Array(C).fill(kernel[0] * kernel[1])), shift: tensor([C], new Float32Array(C)) }));
        break;
      }
      case 'Flatten': {
        const start = toNumbers(p('start_dim', false)?.value)[0] ?? 0;
        const end = toNumbers(p('end_dim', false)?.value)[0] ?? -1;
        if (start !== 0 || end !== -1) throw badInput(`${where}: only flattening all dimensions (start_dim 0, end_dim −1) is supported, got ${start}..${end}`);
        emit(L.flatten({ name: fresh(name), inputs: [input] }));
        break;
      }
      case 'Scale': {
        const s = toNumbers(p('scale')!.value);
        const C = channelsOf(layers, input, inputShape);
        const per = s.length / C;
        const scale = Float32Array.from({ length: C }, (_, c) => s[c * per]);
        if (s.some((v, i) => v !== scale[Math.floor(i / per)])) throw badInput(`${where}: a scale that varies within a channel is not supported`);
        emit(L.batchNorm({ name: fresh(name), inputs: [input], scale: tensor([C], scale), shift: tensor([C], new Float32Array(C)) }));
        break;
      }
      case 'IF':
      case 'LIF':
      case 'CubaLIF': {
        if (node.params.has('v_leak') && toNumbers(p('v_leak')!.value).some((v) => v !== 0)) throw badInput(`${where}: a non-zero v_leak is not supported`);
        let reset: L.ResetMode;
        if (node.metadata?.get('reset') === 'subtract') {
          reset = 'subtract'; // snnc's own hint: NIR ≥ 1.0.6 cannot express subtraction
          warn(name, 'reset by subtraction, from the node metadata');
        } else if (node.params.has('v_reset')) {
          if (toNumbers(p('v_reset')!.value).some((v) => v !== 0)) throw badInput(`${where}: a non-zero v_reset is not supported`);
          reset = 'zero';
        } else {
          reset = options.reset ?? 'zero';
          warn(name, `no v_reset (NIR ${version} predates it): reset ${reset === 'zero' ? 'to zero, as the reference reader does; use --reset subtract for models trained with subtraction' : 'by subtraction (--reset)'}`);
        }
        const threshold = nextFloat32Up(Math.fround(uniform('v_threshold')));
        const r = uniform('r');
        let gain: number;
        if (node.type === 'IF' && recurrentOf.has(name)) throw badInput(`${where}: IF neurons cannot be recurrent in snnc`);
        let neuron: L.NeuronLayer;
        const base = { name: fresh(name), threshold, reset, v0: 0 };
        if (node.type === 'IF') {
          gain = r;
          neuron = L.ifNeuron({ ...base, inputs: ['(pending)'] });
        } else if (node.type === 'LIF') {
          const tau = uniform('tau');
          gain = (r * dt) / tau;
          neuron = L.lifNeuron({ ...base, inputs: ['(pending)'], beta: 1 - dt / tau });
        } else {
          const [tauSyn, tauMem] = [uniform('tau_syn'), uniform('tau_mem')];
          const wIn = node.params.has('w_in') ? uniform('w_in') : 1;
          if (!node.params.has('w_in')) warn(name, 'no w_in: taken as 1');
          gain = ((dt / tauMem) * r * dt * wIn) / tauSyn;
          neuron = L.cubaLifNeuron({ ...base, inputs: ['(pending)'], alpha: 1 - dt / tauSyn, beta: 1 - dt / tauMem });
        }
        if (!(neuron.op === 'if' || (neuron.beta >= 0 && neuron.beta <= 1))) throw badInput(`${where}: dt = ${dt} is larger than a time constant; choose a smaller --dt`);
        if (neuron.op === 'cuba_lif' && !(neuron.alpha >= 0 && neuron.alpha <= 1)) throw badInput(`${where}: dt = ${dt} is larger than tau_syn; choose a smaller --dt`);
        if (!Number.isFinite(gain) || !Number.isFinite(threshold)) throw badInput(`${where}: the input gain (r, tau, w_in at dt = ${dt}) or the threshold is not a finite number`);
        if (Math.abs(gain - 1) < 1e-6) gain = 1; // the snnTorch convention (R = τ/dt, w_in = τ_syn/dt), up to float rounding
        const rec = recurrentOf.get(name);
        let recurrent: Tensor | undefined;
        if (rec) {
          const w = toNumbers(rec.params.get('weight')?.value);
          const n = sizeOf(inputShapeOf(layers, input, inputShape));
          if (w.length !== n * n) throw badInput(`${where}: recurrent weights of "${rec.name}" have ${w.length} values for ${n} neurons`);
          recurrent = tensor([n, n], Float32Array.from(w, (v) => v * gain));
          const bias = toNumbers(rec.params.get('bias')?.value);
          if (bias.some((b) => b !== 0)) addBias(layers, input, bias, where);
        }
        const src = applyGain(layers, input, gain, fresh, channelsOf(layers, input, inputShape));
        emit({ ...neuron, inputs: [src], ...(recurrent ? { recurrent } : {}) } as L.Layer);
        break;
      }
      default:
        throw badInput(`${where}: NIR ${node.type} nodes are not supported yet (supported: Input, Output, Affine, Linear, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale, IF, LIF, CubaLIF)`);
    }
  }
  const outName = valueOf.get(outputs[0].name)!;
  const outLayer = layers.find((l) => l.name === outName);
  if (!outLayer) throw badInput(`${file}: the Output is not computed from the Input`);
  const model: SnnModel = {
    name: file.replace(/^.*[\\/]/, '').replace(/\.nir$/i, ''),
    input: { shape: inputShape, encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers,
    output: { layer: outName, decoding: L.isNeuron(outLayer) ? 'spike_count' : 'accumulate' },
    timesteps: options.timesteps ?? 100,
    dt,
    metadata: { source: { format: 'nir', version, dt, discretisation: 'forward Euler' } },
  };
  for (const layer of layers) {
    for (const [key, v] of Object.entries(layer)) {
      const bad = typeof v === 'number' ? !Number.isFinite(v) : v && typeof v === 'object' && 'data' in v && (v.data as Float32Array).some((x) => !Number.isFinite(x));
      if (bad) throw badInput(`${file}: node "${layer.name}": the ${key} of the imported layer is not finite (parameters overflow float32 after discretisation at dt = ${dt})`);
    }
  }
  verifyModel(model);
  return { model, diagnostics, version };
}

/** Channels (first axis) of an IR value, from the layers built so far. */
function channelsOf(layers: readonly L.Layer[], name: string, inputShape: readonly number[]): number {
  return inputShapeOf(layers, name, inputShape)[0];
}

/**
 * Multiplies a neuron's input by `gain`: folded into the producing dense/conv layer (weights and bias)
 * when it has no other reader, else through a batchnorm scale. Returns the value the neuron reads.
 */
function applyGain(layers: L.Layer[], input: string, gain: number, fresh: (hint: string) => string, channels: number): string {
  if (gain === 1) return input;
  const k = layers.findIndex((l) => l.name === input);
  const producer = layers[k];
  const readers = layers.filter((l) => l.inputs.includes(input)).length;
  if (producer && (producer.op === 'dense' || producer.op === 'conv2d') && readers === 0) {
    const fields = { weight: tensor(producer.weight.shape, producer.weight.data.map((w) => w * gain)), bias: producer.bias ? tensor(producer.bias.shape, producer.bias.data.map((b) => b * gain)) : undefined };
    layers[k] = producer.op === 'dense' ? L.dense({ ...producer, ...fields }) : L.conv2d({ ...producer, ...fields });
    return input;
  }
  const name = fresh(`${input}.gain`);
  layers.push(L.batchNorm({ name, inputs: [input], scale: tensor([channels], new Float32Array(channels).fill(gain)), shift: tensor([channels], new Float32Array(channels)) }));
  return name;
}


/** The per-sample shape of an IR value, from the layers built so far (shape inference only: the verifier would reject an unfinished graph). */
function inputShapeOf(layers: readonly L.Layer[], name: string, inputShape: readonly number[]): readonly number[] {
  if (name === INPUT) return inputShape;
  const probe: SnnModel = { name: 'probe', input: { shape: inputShape, encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS }, layers, output: { layer: name, decoding: 'accumulate' }, timesteps: 1, dt: 1, metadata: {} };
  return inferShapes(probe).get(name)!;
}

/** Adds a recurrent path's constant bias to the dense layer that feeds the neuron (before the gain is applied). */
function addBias(layers: L.Layer[], input: string, bias: number[], where: string): void {
  const k = layers.findIndex((l) => l.name === input);
  const producer = layers[k];
  if (!producer || producer.op !== 'dense' || bias.length !== producer.weight.shape[0]) throw badInput(`${where}: a recurrent bias needs a dense layer of matching size feeding the neuron`);
  const b = Float32Array.from({ length: bias.length }, (_, o) => (producer.bias ? producer.bias.data[o] : 0) + bias[o]);
  layers[k] = L.dense({ ...producer, bias: tensor([bias.length], b) });
}

/**
 * The nodes and edges of a graph group, with nested NIRGraph nodes inlined: inner nodes are named
 * "<graph>.<inner>", an edge into the graph goes to its Input, an edge out of it leaves its Output.
 * Inner edges naming a missing node are repaired when exactly one inner node's name starts with it
 * (a quirk of the NIR paper's subgraph files), with a diagnostic.
 */
function flattenGraph(t: Hdf5Tree, g: Hdf5Group, prefix: string, file: string, warn: (node: string, message: string) => void): { nodes: Map<string, NirNode>; edges: [string, string][] } {
  const nodesGroup = t.group(g, 'nodes');
  if (!nodesGroup) throw badInput(`${file}: graph "${prefix || '/node'}" has no nodes group`);
  const nodes = new Map<string, NirNode>();
  const inner = new Map<string, { input: string; output: string }>(); // nested graph → its entry and exit
  const edges: [string, string][] = [];
  const nodeNames = t.keys(nodesGroup);
  for (const name of nodeNames) {
    if (!name || name.includes('/')) throw badInput(`${file}: invalid node name "${name}"`);
    const member = t.group(nodesGroup, name);
    if (!member) throw badInput(`${file}: node "${prefix}${name}" is not a group`);
    const typeDs = t.dataset(member, 'type');
    if (!typeDs) throw badInput(`${file}: node "${prefix}${name}" has no type`);
    const type = String(typeDs.value);
    if (type === 'NIRGraph') {
      const sub = flattenGraph(t, member, `${prefix}${name}.`, file, warn);
      for (const [k, v] of sub.nodes) nodes.set(k, v);
      edges.push(...sub.edges);
      const ins = [...sub.nodes.values()].filter((n) => n.type === 'Input' && n.name.startsWith(`${prefix}${name}.`) && !n.name.slice(prefix.length + name.length + 1).includes('.'));
      const outs = [...sub.nodes.values()].filter((n) => n.type === 'Output' && n.name.startsWith(`${prefix}${name}.`) && !n.name.slice(prefix.length + name.length + 1).includes('.'));
      if (ins.length !== 1 || outs.length !== 1) throw badInput(`${file}: nested graph "${prefix}${name}" needs one Input and one Output`);
      // The nested Input/Output become pass-through nodes.
      nodes.set(ins[0].name, { ...ins[0], type: 'Output' });
      inner.set(`${prefix}${name}`, { input: ins[0].name, output: outs[0].name });
      continue;
    }
    const params = new Map<string, { shape: number[]; value: Value }>();
    for (const key of t.keys(member)) {
      if (key === 'type' || key === 'metadata') continue;
      const d = t.dataset(member, key);
      if (!d) continue;
      const value = d.value ?? undefined;
      if (typeof value === 'number' ? !Number.isFinite(value) : value && typeof value === 'object' && Array.from(value as ArrayLike<unknown>).some((x) => typeof x === 'number' && !Number.isFinite(x))) {
        throw badInput(`${file}: node "${prefix}${name}" (${type}): parameter "${key}" contains NaN or an infinity`);
      }
      params.set(key, { shape: d.shape ?? [], value });
    }
    const meta = t.group(member, 'metadata');
    const metadata = new Map<string, string>();
    if (meta) {
      for (const key of t.keys(meta)) {
        const d = t.dataset(meta, key);
        if (d && typeof d.value === 'string') metadata.set(key, d.value);
      }
    }
    nodes.set(`${prefix}${name}`, { name: `${prefix}${name}`, type, params, metadata });
  }
  const edgeDs = t.dataset(g, 'edges');
  const edgeValue = edgeDs?.value ?? [];
  const flat = typeof edgeValue === 'object' ? Array.from(edgeValue as ArrayLike<string | number>) : [edgeValue];
  if (!edgeDs) warn(prefix || '(graph)', 'the graph has no edges dataset');
  const local = new Set(nodeNames);
  const repaired = new Set<string>();
  const resolve = (n: string): string => {
    if (local.has(n)) return n;
    const candidates = [...local].filter((k) => k.startsWith(n));
    if (candidates.length === 1) {
      if (!repaired.has(n)) warn(`${prefix}${n}`, `edges name a missing node "${n}"; repaired to "${candidates[0]}"`);
      repaired.add(n);
      return candidates[0];
    }
    throw badInput(`${file}: an edge refers to node "${prefix}${n}", which the graph does not have`);
  };
  if (flat.length > 0 && typeof flat[0] === 'string') {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const src = `${prefix}${resolve(String(flat[i]))}`;
      const dst = `${prefix}${resolve(String(flat[i + 1]))}`;
      edges.push([inner.get(src)?.output ?? src, inner.get(dst)?.input ?? dst]);
    }
  }
  // A nested graph's Input (now a pass-through) was marked Output above; make it a plain identity.
  for (const { input } of inner.values()) nodes.set(input, { ...nodes.get(input)!, type: 'Identity' });
  for (const { output } of inner.values()) nodes.set(output, { ...nodes.get(output)!, type: 'Identity' });
  return { nodes, edges };
}
