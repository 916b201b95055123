/**
 * The NIR frontend (nir.md): a `.nir` HDF5 graph (read by io/hdf5.ts, in a worker with a time limit) → IR,
 * discretised with forward Euler at a chosen dt (nir.md §5). Lenient: quirks it can repair (missing
 * v_reset or w_in, dtype mixes, 0-d parameters, unordered edges, a leading batch axis of 1 on the Input,
 * a delay that is not a whole number of steps) become one diagnostic each naming the node; what it cannot
 * represent is a one-line error naming the file and node. This module owns the walk over the graph;
 * graph.ts reads the file layout, topology.ts orders the nodes, synapses.ts, neurons.ts and delays.ts
 * map the primitives.
 *
 * Supported: every primitive of NIR 1.0.x — Input, Output, Affine, Linear, Scale, Conv1d, Conv2d,
 * SumPool2d, AvgPool2d, Flatten, Delay, Threshold, IF, LIF, LI, I, CubaLIF, CubaLI — nested graphs, and
 * cycles. A spiking neuron ⇄ Affine/Linear self-loop is the neuron's recurrent weight (one step of delay,
 * as snnTorch and NIRTorch read such cycles); any other cycle must pass through a neuron (read one step
 * late, see topology.ts) or a Delay, and a node read before it is built gets its IR name reserved.
 * Parameters are per neuron. A neuron's input gain (neurons.ts) that is the same for every neuron is
 * folded into the weights of the Affine/Linear/Conv1d/Conv2d that feeds only it (so snnTorch-convention
 * files keep their weights bit for bit); otherwise it is the neuron's `r`. Several edges into a node are
 * summed (NIRTorch's rule).
 */
import { type Hdf5Tree, readHdf5 } from '../../io/hdf5.js';
import { ExitCode, SnncError, badInput } from '../../errors.js';
import * as L from '../../ir/layers.js';
import { INPUT, IDENTITY_PREPROCESS, type SnnModel } from '../../ir/model.js';
import { neuronModel } from '../../ir/neurons.js';
import type { Param } from '../../ir/params.js';
import { layerOutputShape } from '../../ir/shapes.js';
import { type Tensor, sameShape, shapeToString, sizeOf } from '../../ir/tensor.js';
import { verifyModel } from '../../ir/verify.js';
import { delaySteps, expectedShape } from './delays.js';
import { type NirGraph, type NirNode, type Warn, flattenGraph, toNumbers } from './graph.js';
import { NEURON_MODEL, NeuronParams, compact, defaultDt, discretise, resetOf } from './neurons.js';
import { type BuildContext, SYNAPSE_TYPES, channelScale, synapse } from './synapses.js';
import { type Topology, isNeuronType, topology, wiring } from '../../nir/topology.js';
import { recurrentBias, recurrentWeight } from './recurrence.js';
import { modelInputShape } from './input.js';

export interface NirImportOptions {
  /** Seconds per step (default: 1e-4, the NIR paper's convention, or 1/R for graphs of IF/I neurons only; see neurons.ts). */
  readonly dt?: number;
  /** Reset of every spiking neuron, overriding the file (v_reset, snnc's metadata); default: what the file says, else 'zero'. */
  readonly reset?: L.ResetMode;
  readonly timesteps?: number;
  /**
   * Whose step the LIF and CubaLIF nodes follow: 'nir' (default), NIR's equations with a same-step reset;
   * 'snntorch', snnTorch's Leaky/Synaptic default, which subtracts θ one step late (lif_delayed_reset,
   * cuba_lif_delayed_reset), unless --reset zero (snnTorch's reset "zero" is NIR's).
   */
  readonly semantics?: 'nir' | 'snntorch';
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
  const warn: Warn = (node, message) => diagnostics.push({ node, message });
  const versionValue = t.value(t.root, 'version');
  const version = versionValue !== undefined ? String(versionValue) : 'unknown';
  const root = t.group(t.root, 'node');
  if (!root) throw badInput(`${file}: not a NIR file (no /node group)`);
  const rootType = t.value(root, 'type');
  if (rootType !== undefined && String(rootType) !== 'NIRGraph') throw badInput(`${file}: /node is a ${String(rootType)}, expected a NIRGraph`);

  const graph = flattenGraph(t, root, '', file, warn);
  const inputs = [...graph.nodes.values()].filter((n) => n.type === 'Input');
  const outputs = [...graph.nodes.values()].filter((n) => n.type === 'Output');
  if (inputs.length !== 1 || outputs.length !== 1) throw badInput(`${file}: expected one Input and one Output node, found ${inputs.length} and ${outputs.length}`);
  const wired = wiring(graph, outputs[0].name, file, warn);
  const dt = options.dt ?? defaultDt([...wired.needed].map((n) => graph.nodes.get(n)!), warn);
  const delays = new Map([...wired.needed].filter((n) => graph.nodes.get(n)!.type === 'Delay').map((n) => [n, delaySteps(graph.nodes.get(n)!, dt, file, warn)]));
  const topo = topology(graph, wired, inputs[0].name, outputs[0].name, delays, file);
  const inputShape = modelInputShape(inputs[0], graph, topo, file, warn);
  const b = new Builder(file, graph, topo, inputShape, { ...options, dt }, version, warn);
  for (const name of topo.order) b.node(graph.nodes.get(name)!);

  const outName = b.valueOf.get(outputs[0].name)!;
  const outLayer = b.layers.find((l) => l.name === outName);
  if (!outLayer) throw badInput(`${file}: the Output is not computed from the Input`);
  const spiking = L.isNeuron(outLayer) && neuronModel(outLayer.model)?.fire !== undefined;
  const model: SnnModel = {
    name: file.replace(/^.*[\\/]/, '').replace(/\.nir$/i, ''),
    input: { shape: inputShape, encoding: { type: 'events' }, preprocess: IDENTITY_PREPROCESS },
    layers: b.layers,
    output: { layer: outName, decoding: spiking ? 'spike_count' : L.isNeuron(outLayer) ? 'mean_membrane' : 'accumulate' },
    timesteps: options.timesteps ?? 100,
    dt,
    metadata: { source: { format: 'nir', version, dt, discretisation: 'forward Euler' } },
  };
  checkFinite(model, file);
  verifyModel(model);
  return { model, diagnostics, version };
}

/** Whether a LIF/CubaLIF node runs snnTorch's late reset (--semantics snntorch), with one diagnostic per node. */
function lateReset(node: NirNode, options: NirImportOptions, warn: Warn): boolean {
  if (options.semantics !== 'snntorch' || (node.type !== 'LIF' && node.type !== 'CubaLIF') || options.reset === 'zero') return false;
  warn(node.name, 'snnTorch semantics: reset by subtraction one step late and undecayed (v ← β·v + … − θ·s(t − 1)), the file\'s v_reset ignored');
  return true;
}

/** Every tensor of every layer is finite (a discretised parameter may overflow float32). */
function checkFinite(model: SnnModel, file: string): void {
  for (const layer of model.layers) {
    const fields: [string, unknown][] = [...Object.entries(layer), ...(L.isNeuron(layer) ? Object.entries(layer.params) : [])];
    for (const [key, v] of fields) {
      const bad = typeof v === 'number' ? !Number.isFinite(v) : !!v && typeof v === 'object' && 'data' in v && (v.data as Float32Array).some((x) => !Number.isFinite(x));
      if (bad) throw badInput(`${file}: node "${layer.name}": the ${key} of the imported layer is not finite (parameters overflow float32 after discretisation at dt = ${model.dt})`);
    }
  }
}

/** Builds the IR layers node by node, in the build order of topology.ts (a node read before it is built gets a reserved name). */
class Builder implements BuildContext {
  readonly layers: L.Layer[] = [];
  /** NIR node → the IR value it computes. */
  readonly valueOf = new Map<string, string>();
  private readonly used = new Set([INPUT]);
  /** Neuron node → an elementwise Scale folded into its input gain. */
  private readonly pendingGain = new Map<string, Float64Array>();
  /** Neuron or Delay node read before it is built (a cycle) → its reserved IR name and the shape it was read with. */
  private readonly reserved = new Map<string, { name: string; shape: readonly number[] }>();

  constructor(
    private readonly file: string,
    private readonly graph: NirGraph,
    private readonly topo: Topology,
    private readonly inputShape: readonly number[],
    private readonly options: NirImportOptions & { dt: number },
    private readonly version: string,
    private readonly warn: Warn,
  ) {}

  fresh(hint: string): string {
    const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^([^A-Za-z_])/, 'n$1');
    let n = clean(hint);
    for (let k = 1; this.used.has(n); k++) n = clean(`${hint}_${k}`);
    this.used.add(n);
    return n;
  }

  /** The per-sample shape of an IR value, from the layers built so far and the reserved ones (the verifier would reject an unfinished graph). */
  shapeOf(value: string): readonly number[] {
    const shapes = new Map<string, readonly number[]>([[INPUT, this.inputShape], ...[...this.reserved.values()].map((r) => [r.name, r.shape] as const)]);
    for (const l of this.layers) shapes.set(l.name, layerOutputShape(l, l.inputs.map((n) => shapes.get(n)!)));
    return shapes.get(value)!;
  }

  /** The IR value of a node another reads: its own, or for a neuron or Delay not built yet (a cycle), a reserved name. */
  private valueOfPred(name: string, where: string): string {
    const v = this.valueOf.get(name);
    if (v !== undefined) return v;
    const known = (n: string) => (this.valueOf.has(n) ? this.shapeOf(this.valueOf.get(n)!) : undefined);
    const shape = expectedShape(this.graph, this.topo.preds, known, name);
    if (!shape) throw badInput(`${where}: reads "${name}" before it is built (a cycle), and its shape cannot be told from its inputs or parameters`);
    const reserved = { name: this.fresh(name), shape };
    this.reserved.set(name, reserved);
    this.valueOf.set(name, reserved.name);
    return reserved.name;
  }

  /** The IR name of a neuron or delay layer: the one reserved for it, if a node read it before (with the shape it gets now). */
  private layerName(node: NirNode, shape: readonly number[], where: string): string {
    const r = this.reserved.get(node.name);
    if (!r) return this.fresh(node.name);
    if (!sameShape(r.shape, shape)) throw badInput(`${where}: has shape ${shapeToString(shape)}, but another node of its cycle reads it as ${shapeToString(r.shape)}`);
    return r.name;
  }

  node(node: NirNode): void {
    const where = `${this.file}: node "${node.name}" (${node.type})`;
    try {
      this.build(node, where);
    } catch (e) {
      if (e instanceof SnncError && e.message.startsWith(`${this.file}: `)) throw e;
      throw new SnncError(`${where}: ${(e as Error).message}`, e instanceof SnncError ? e.exitCode : ExitCode.badInput);
    }
  }

  private build(node: NirNode, where: string): void {
    if (node.type === 'Input') {
      this.valueOf.set(node.name, INPUT);
      return;
    }
    const input = this.input(node, where);
    if (node.type === 'Output' || node.type === 'Identity') this.valueOf.set(node.name, input);
    else if (node.type === 'Scale' && this.foldScale(node, input)) this.valueOf.set(node.name, input);
    else if (SYNAPSE_TYPES.has(node.type)) this.valueOf.set(node.name, synapse(node, input, where, this));
    else if (isNeuronType(node.type)) this.valueOf.set(node.name, this.neuron(node, input, where));
    else if (node.type === 'Delay') this.valueOf.set(node.name, this.delay(node, input, where));
    else throw badInput(`${where}: NIR ${node.type} nodes are not supported (supported: Input, Output, ${[...SYNAPSE_TYPES].join(', ')}, Delay, ${Object.keys(NEURON_MODEL).join(', ')}, NIRGraph)`);
  }

  /** A Delay of d ≥ 1 steps is an IR delay layer; 0 steps is a pass-through (delays.ts computed d). */
  private delay(node: NirNode, input: string, where: string): string {
    const shape = this.shapeOf(input);
    new NeuronParams(node, shape, where, this.warn).get('delay'); // one value, or one per element of the input
    const steps = this.topo.delays.get(node.name)!;
    if (steps === 0) return input;
    const layer = L.delay({ name: this.layerName(node, shape, where), inputs: [input], steps });
    this.layers.push(layer);
    return layer.name;
  }

  /** The IR value a node reads: its one predecessor's, or their sum. */
  private input(node: NirNode, where: string): string {
    const srcs = this.topo.preds.get(node.name)!.map((s) => this.valueOfPred(s, where));
    if (srcs.length === 0) throw badInput(`${where}: has no incoming edge`);
    if (srcs.length === 1) return srcs[0];
    const unit = node.type === 'Scale' && toNumbers(node.params.get('scale')?.value).every((v) => v === 1); // snnc writes an add as a unit Scale
    const sum = L.add({ name: this.fresh(unit ? node.name : `${node.name}.sum`), inputs: srcs });
    this.layers.push(sum);
    this.warn(node.name, `${srcs.length} incoming edges are summed`);
    return sum.name;
  }

  /** The one neuron node a node feeds, if it feeds exactly one and that neuron reads nothing else and has no recurrence. */
  private soleNeuronReader(name: string): NirNode | undefined {
    const succs = this.topo.succs.get(name)!;
    const n = succs.length === 1 ? this.graph.nodes.get(succs[0])! : undefined;
    return n && isNeuronType(n.type) && this.topo.preds.get(n.name)!.length === 1 && !this.topo.recurrentOf.has(n.name) ? n : undefined;
  }

  /**
   * A Scale that feeds only a neuron becomes part of the neuron's input gain when it varies within a
   * channel (a batchnorm cannot hold it) or the neuron is a Threshold (which snnc writes that way).
   */
  private foldScale(node: NirNode, input: string): boolean {
    const reader = this.soleNeuronReader(node.name);
    const shape = this.shapeOf(input);
    if (!reader || (reader.type !== 'Threshold' && channelScale(node, shape))) return false;
    this.pendingGain.set(reader.name, new NeuronParams(node, shape, `${this.file}: node "${node.name}" (Scale)`, this.warn).get('scale'));
    return true;
  }

  /** The NIR node whose IR value `input` a neuron reads, looking through pass-through nodes, if it reads one node. */
  private producer(node: NirNode): NirNode | undefined {
    let preds = this.topo.preds.get(node.name)!;
    let p = preds.length === 1 ? this.graph.nodes.get(preds[0]) : undefined;
    while (p && (p.type === 'Identity' || p.type === 'Output') && this.topo.succs.get(p.name)!.length === 1) {
      preds = this.topo.preds.get(p.name)!;
      p = preds.length === 1 ? this.graph.nodes.get(preds[0]) : undefined;
    }
    return p;
  }

  /**
   * The dense/conv2d layer computing `input`, when it feeds only this neuron (so its weights may change):
   * a neuron reading a sum (several edges, a back edge among them) has none. A Conv1d's is the conv2d
   * under its last reshape.
   */
  private ownProducer(node: NirNode, input: string): number {
    const p = this.producer(node);
    if (!p || this.valueOf.get(p.name) !== input || this.topo.succs.get(p.name)!.length !== 1) return -1;
    let k = this.layers.findIndex((l) => l.name === input);
    const last = this.layers[k];
    if (p.type === 'Conv1d' && last?.op === 'reshape') k = this.layers.findIndex((l) => l.name === last.inputs[0]);
    return this.layers[k]?.op === 'dense' || this.layers[k]?.op === 'conv2d' ? k : -1;
  }

  private neuron(node: NirNode, input: string, where: string): string {
    const shape = this.shapeOf(input);
    const p = new NeuronParams(node, shape, where, this.warn);
    const d = discretise(node, p, this.options.dt, where, this.warn);
    const pending = this.pendingGain.get(node.name);
    const gain = pending ? d.gain.map((g, i) => g * pending[i]) : d.gain;
    if (gain.some((g) => !Number.isFinite(g))) throw badInput(`${where}: the input gain (r, tau, w_in at dt = ${this.options.dt}) is not a finite number`);
    const late = lateReset(node, this.options, this.warn);
    const { reset, vReset } = late ? { reset: 'subtract' as const, vReset: undefined } : resetOf(node, p, this.options.reset, this.version, this.warn);
    const rec = this.topo.recurrentOf.get(node.name);
    const recurrent = rec ? recurrentWeight(rec, sizeOf(shape), where) : undefined;
    const bias = rec ? recurrentBias(rec) : undefined;
    if (bias) this.addBias(node, input, bias, where);
    const { r, recScale } = this.applyGain(node, input, gain, shape);
    const params: Record<string, Param> = { r };
    for (const [key, values] of Object.entries(d.params)) params[key] = compact(values, shape);
    if (vReset) params.v_reset = compact(vReset, shape);
    const v0 = this.v0(node, p);
    if (v0) params.v0 = compact(v0, shape);
    const scaled = recurrent && recScale !== 1 ? { shape: recurrent.shape, data: recurrent.data.map((w) => w * recScale) } : recurrent;
    const layer = L.neuron(late ? `${d.model}_delayed_reset` : d.model, { name: this.layerName(node, shape, where), inputs: [input], params, reset, recurrent: scaled });
    this.layers.push(layer);
    return layer.name;
  }

  /**
   * A gain the same for every neuron is folded into the dense/conv2d layer that feeds only this neuron
   * (its weights, bias and the recurrent weight scale with it), else it is the neuron's scalar `r`; a gain
   * that differs between neurons is a per-neuron `r`. A gain within 1e-6 of 1 is 1: the snnTorch convention
   * R = τ/dt, w_in = τ_syn/dt, up to the rounding of float32 files.
   */
  private applyGain(node: NirNode, input: string, raw: Float64Array, shape: readonly number[]): { r: Param; recScale: number } {
    const gain = raw.map((g) => (Math.abs(g - 1) < 1e-6 ? 1 : g));
    if (!gain.every((g) => g === gain[0])) return { r: compact(gain, shape), recScale: 1 };
    const g = gain[0];
    const k = g === 1 ? -1 : this.ownProducer(node, input);
    if (k < 0) return { r: g, recScale: 1 };
    const producer = this.layers[k] as L.Dense | L.Conv2d;
    const scale = (t: Tensor) => ({ shape: t.shape, data: t.data.map((w) => w * g) });
    const fields = { weight: scale(producer.weight), bias: producer.bias ? scale(producer.bias) : undefined };
    this.layers[k] = producer.op === 'dense' ? L.dense({ ...producer, ...fields }) : L.conv2d({ ...producer, ...fields });
    return { r: 1, recScale: g };
  }

  /** Adds a recurrent Affine's constant bias to the dense layer that feeds the neuron (before the gain). */
  private addBias(node: NirNode, input: string, bias: Float32Array, where: string): void {
    const k = this.ownProducer(node, input);
    const producer = this.layers[k];
    if (!producer || producer.op !== 'dense' || bias.length !== producer.weight.shape[0]) throw badInput(`${where}: a recurrent bias needs a dense layer of matching size feeding only the neuron`);
    const sum = Float32Array.from(bias, (b, o) => (producer.bias ? producer.bias.data[o] : 0) + b);
    this.layers[k] = L.dense({ ...producer, bias: { shape: [bias.length], data: sum } });
  }

  /** snnc's own initial membrane (node metadata v0, which NIR cannot express), with a diagnostic. */
  private v0(node: NirNode, p: NeuronParams): Float64Array | undefined {
    const m = node.metadata.get('v0');
    if (m === undefined) return undefined;
    const values = typeof m === 'string' ? [Number(m)] : m;
    if (values.length === 0 || !values.every(Number.isFinite)) return undefined;
    if (values.length !== 1 && values.length !== p.size) throw badInput(`${this.file}: node "${node.name}" (${node.type}): metadata v0 has ${values.length} values for ${p.size} neurons`);
    this.warn(node.name, 'initial membrane v0 from the node metadata (snnc\'s; NIR has no initial state)');
    return values.length === 1 ? new Float64Array(p.size).fill(values[0]) : Float64Array.from(values);
  }
}
