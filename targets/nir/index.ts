/**
 * The nir target: IR → `DIR/model.nir`, a strict NIR graph file in the layout of nir.md §4 (root
 * `version`, group `node` = NIRGraph with `type`, `edges` (E×2 vlen UTF-8), `nodes/<name>/{type, params}`;
 * no attributes; float32 weights, float64 neuron parameters and delays, int64 shapes), written with h5wasm.
 * This module owns the graph walk, the stateless layers and the file; neurons.ts maps neuron layers (every
 * model with a NIR primitive: IF, LIF, CubaLIF, LI, CubaLI, I, Threshold; per-neuron parameters, v_leak,
 * v_reset, recurrent weights as an Affine "<name>.w_rec" in a cycle with the neuron), reshape.ts the
 * reshapes (Conv1d, Flatten). An add becomes edges summed into a unit Scale; a delay of d steps a Delay of
 * d·dt seconds per neuron; conv2d keeps its dilation, and asymmetric padding that is PyTorch's "same" is
 * written as "same". A cycle is written as its edges: NIR has no steps, so which edge of a cycle reads a
 * neuron's previous step is the reader's choice; where snnc's reader (compiler/nir/topology.ts)
 * would choose differently from the model's listing, a warning names the edge. Every float parameter must
 * be finite in float32 (the NIR reader refuses NaN and infinities): a value that overflows is refused by
 * layer and field. What NIR cannot express (max-pooling, concatenation, a reshape that is not a Flatten or
 * part of a Conv1d, the alif model, …) is refused by name with exit code 3.
 * The file is byte-for-byte deterministic (io/hdf5-write.ts).
 */
import { join } from 'node:path';
import type { Group } from 'h5wasm/node';
import { writeHdf5File } from '../../compiler/io/hdf5-write.js';
import type { NirGraph } from '../../compiler/nir/graph.js';
import { topology, wiring } from '../../compiler/nir/topology.js';
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel, isIdentityPreprocess } from '../../compiler/ir/model.js';
import type { ShapeMap } from '../../compiler/ir/shapes.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { modelHash } from '../../compiler/ir/hash.js';
import { writeTargetFolder } from '../common/artifact-folder.js';
import { type CheckReport, type CompileOptions, type EmitResult, type Target, checkNeuronModels, doesNotFitReport } from '../target.js';
import { NIR_NEURON_MODELS, type NirNodeOut, type NirParamOut, neuronNodes } from './neurons.js';
import { type Conv1dPattern, conv1dParams, conv1dPatterns, isSamePadding, mergedDims } from './reshape.js';

export { NIR_NEURON_MODELS } from './neurons.js';

export const NIR_VERSION = '1.0.7';

type Param = NirParamOut;

const floats = (data: ArrayLike<number>, shape: readonly number[]): Param => ({ kind: 'float', data: Float32Array.from(data), shape: [...shape] });
const ints = (data: number[], shape: number[] = [data.length]): Param => ({ kind: 'int', data, shape });
const filled = (value: number, shape: readonly number[]) => floats(new Float32Array(sizeOf(shape)).fill(value), shape);

export interface NirGraphOut {
  readonly nodes: NirNodeOut[];
  readonly edges: [string, string][];
  readonly warnings: string[];
}

const fail = (layer: L.Layer, why: string): never => {
  throw new SnncError(`layer "${layer.name}" (${L.isNeuron(layer) ? layer.model : layer.op}): ${why}; NIR cannot express it`, ExitCode.doesNotFit);
};

const symmetric = (layer: L.Layer, p: L.Padding4): number[] => {
  if (p[0] !== p[2] || p[1] !== p[3]) fail(layer, `asymmetric padding [${p.join(', ')}]`);
  return [p[0], p[1]];
};

/** A conv2d's padding: a symmetric pair, or "same" when the asymmetric padding is PyTorch's "same". */
function convPadding(layer: L.Conv2d): Param {
  const [[t, l, b, r], [, , kh, kw], [dh, dw]] = [layer.padding, layer.weight.shape, layer.dilation ?? [1, 1]];
  if (t === b && l === r) return ints([t, l]);
  if (isSamePadding(kh, dh, layer.stride[0], t, b) && isSamePadding(kw, dw, layer.stride[1], l, r)) return { kind: 'string', value: 'same' };
  return fail(layer, `asymmetric padding [${layer.padding.join(', ')}] that is not "same"`);
}

/** The Conv1d node of a reshape → conv2d → reshape pattern. */
function conv1dNode(p: Conv1dPattern, shapes: ShapeMap): NirNodeOut {
  const params = conv1dParams(p, shapes) ?? fail(p.conv, `asymmetric padding [${p.conv.padding.join(', ')}] that is not "same"`);
  return { name: p.back.name, type: 'Conv1d', params };
}

/** The NIR node of a stateless layer (an add's input Scales go to `extra`, with their edges). */
function synapseNode(layer: L.Layer, shapes: ShapeMap, dt: number, extra: { nodes: NirNodeOut[]; edges: [string, string][] }): NirNodeOut {
  const shape = shapes.get(layer.name)!;
  switch (layer.op) {
    case 'dense':
      return { name: layer.name, type: layer.bias ? 'Affine' : 'Linear', params: { weight: floats(layer.weight.data, layer.weight.shape), ...(layer.bias ? { bias: floats(layer.bias.data, layer.bias.shape) } : {}) } };
    case 'conv2d': {
      const inShape = shapes.get(layer.inputs[0])!;
      const params: Record<string, Param> = {
        weight: floats(layer.weight.data, layer.weight.shape),
        bias: layer.bias ? floats(layer.bias.data, layer.bias.shape) : filled(0, [layer.weight.shape[0]]),
        stride: ints([...layer.stride]),
        padding: convPadding(layer),
        dilation: ints([...(layer.dilation ?? [1, 1])]),
        groups: ints([layer.groups], []),
        input_shape: ints([inShape[1], inShape[2]]),
      };
      return { name: layer.name, type: 'Conv2d', params };
    }
    case 'avgpool2d':
      return { name: layer.name, type: 'AvgPool2d', params: { kernel_size: ints([...layer.kernel]), stride: ints([...layer.stride]), padding: ints(symmetric(layer, layer.padding)) } };
    case 'flatten':
      return { name: layer.name, type: 'Flatten', params: { start_dim: ints([0], []), end_dim: ints([-1], []), input_type: ints([...shapes.get(layer.inputs[0])!]) } };
    case 'reshape': {
      const from = shapes.get(layer.inputs[0])!;
      const [s, e] = mergedDims(from, layer.shape) ?? fail(layer, `a reshape [${from.join(', ')}] → [${layer.shape.join(', ')}] that does not merge consecutive dimensions (NIR has Flatten) and is not part of a Conv1d`);
      return { name: layer.name, type: 'Flatten', params: { start_dim: ints([s], []), end_dim: ints([e], []), input_type: ints([...from]) } };
    }
    case 'delay':
      return { name: layer.name, type: 'Delay', params: { delay: { kind: 'float', data: new Float64Array(sizeOf(shape)).fill(layer.steps * dt), shape: [...shape] } } };
    case 'add':
      // NIR sums the edges into a node; coefficients become Scale nodes on the way in.
      layer.inputs.forEach((src, k) => {
        const c = layer.coefficients?.[k] ?? 1;
        if (c === 1) return extra.edges.push([nirName(src), layer.name]);
        const scaled = `${layer.name}.in${k}`;
        extra.nodes.push({ name: scaled, type: 'Scale', params: { scale: filled(c, shape) } });
        extra.edges.push([nirName(src), scaled], [scaled, layer.name]);
      });
      return { name: layer.name, type: 'Scale', params: { scale: filled(1, shape) } };
    case 'batchnorm': {
      if (layer.shift.data.some((t) => t !== 0)) fail(layer, 'a shift (run foldBatchNorm into the preceding layer first)');
      const per = sizeOf(shape) / shape[0];
      return { name: layer.name, type: 'Scale', params: { scale: floats(Float32Array.from({ length: sizeOf(shape) }, (_, i) => layer.scale.data[Math.floor(i / per)]), shape) } };
    }
    default:
      return fail(layer, layer.op === 'relu' ? 'an ANN activation (convert the model first)' : `the ${layer.op} operation`);
  }
}

const nirName = (ir: string) => (ir === INPUT ? 'input' : ir);

/** The NIR graph of a model (pure: no file I/O). Throws a does-not-fit error for what NIR cannot express. */
export function toNirGraph(model: SnnModel): NirGraphOut {
  checkNeuronModels(model, 'nir', NIR_NEURON_MODELS);
  const shapes = verifyModel(model);
  const conv1d = conv1dPatterns(model, shapes);
  const inner = new Set([...conv1d.values()].flatMap((p) => [p.as2d.name, p.conv.name]));
  const nodes: NirNodeOut[] = [{ name: 'input', type: 'Input', params: { shape: ints([...model.input.shape]) } }];
  const edges: [string, string][] = [];
  const warnings: string[] = [];
  /** IR layer → the NIR node its input edges go to (a Conv1d's first reshape: the Conv1d). */
  const entries = new Map<string, string>();
  if (!isIdentityPreprocess(model.input.preprocess)) warnings.push('the model input preprocessing is not part of NIR: apply it to the data before the graph');
  for (const layer of model.layers) {
    if (inner.has(layer.name)) continue;
    const pattern = conv1d.get(layer.name);
    let entry = layer.name;
    if (L.isNeuron(layer)) {
      const g = neuronNodes(layer, shapes.get(layer.name)!, model.dt, warnings);
      nodes.push(...g.nodes);
      edges.push(...g.edges);
      entry = g.entry;
    } else nodes.push(pattern ? conv1dNode(pattern, shapes) : synapseNode(layer, shapes, model.dt, { nodes, edges }));
    entries.set(pattern?.as2d.name ?? layer.name, entry);
    if (layer.op !== 'add') (pattern?.as2d ?? layer).inputs.forEach((src) => edges.push([nirName(src), entry]));
  }
  checkFiniteParams(model, nodes);
  nodes.push({ name: 'output', type: 'Output', params: { shape: ints([...shapes.get(model.output.layer)!]) } });
  edges.push([model.output.layer, 'output']);
  checkSteps(model, { nodes, edges, warnings }, entries);
  return { nodes, edges, warnings };
}

/**
 * NIR has no steps: inside a cycle, the reader decides which edge out of a neuron reads its previous step
 * (snnc's reader: compiler/nir/topology.ts). Warns for each edge of the model from a neuron that
 * snnc's reader would read at another step than the model's listing says (a later-listed neuron is read
 * at the previous step). Layers the output does not depend on are left out, as the reader leaves them.
 */
function checkSteps(model: SnnModel, g: NirGraphOut, entries: ReadonlyMap<string, string>): void {
  const nir: NirGraph = { nodes: new Map(g.nodes.map((n) => [n.name, { name: n.name, type: n.type, params: new Map(), metadata: new Map() }])), edges: g.edges };
  const ignore = () => {};
  const delays = new Map(model.layers.flatMap((l) => (l.op === 'delay' ? [[l.name, l.steps] as const] : [])));
  const { late, needed } = topology(nir, wiring(nir, 'output', model.name, ignore), 'input', 'output', delays, model.name);
  const at = new Map(model.layers.map((l, i) => [l.name, i]));
  model.layers.forEach((layer, i) => {
    layer.inputs.forEach((src, k) => {
      const from = at.has(src) ? model.layers[at.get(src)!] : undefined;
      if (!from || !L.isNeuron(from) || !entries.has(layer.name)) return;
      const target = layer.op === 'add' && (layer.coefficients?.[k] ?? 1) !== 1 ? `${layer.name}.in${k}` : entries.get(layer.name)!;
      const [listed, read] = [at.get(src)! >= i, late.has(`${src}→${target}`)];
      if (listed !== read && needed.has(target)) g.warnings.push(`layer "${layer.name}" reads neuron "${src}" at the ${listed ? 'previous' : 'same'} step, but NIR has no steps and snnc's NIR reader will read that edge at the ${read ? 'previous' : 'same'} step`);
    });
  });
}

/** The reader refuses NaN and infinities: a float parameter that is not finite in float32 is refused here, by layer and field. */
function checkFiniteParams(model: SnnModel, nodes: readonly NirNodeOut[]): void {
  for (const node of nodes) {
    for (const [key, p] of Object.entries(node.params)) {
      if (p.kind !== 'float') continue;
      const k = p.data.findIndex((x) => !Number.isFinite(Math.fround(x)));
      if (k < 0) continue;
      const layer = model.layers.find((l) => l.name === node.name || node.name.startsWith(`${l.name}.`))!;
      fail(layer, `${node.name === layer.name ? '' : `node "${node.name}": `}${key}[${k}] = ${Math.fround(p.data[k])} in float32, not a finite number`);
    }
  }
}

/** Writes a NIR graph file (nir.md §4 layout). */
export async function writeNirFile(path: string, graph: NirGraphOut): Promise<void> {
  await writeHdf5File(path, (f) => {
    f.create_dataset({ name: 'version', data: NIR_VERSION });
    const root = f.create_group('node') as Group;
    root.create_dataset({ name: 'type', data: 'NIRGraph' });
    root.create_dataset({ name: 'edges', data: graph.edges.flat(), shape: [graph.edges.length, 2] });
    const nodes = root.create_group('nodes') as Group;
    for (const node of graph.nodes) {
      if (!node.name || node.name.includes('/')) throw badInput(`node name "${node.name}" cannot be stored in HDF5`);
      const g = nodes.create_group(node.name) as Group;
      g.create_dataset({ name: 'type', data: node.type });
      for (const [key, p] of Object.entries(node.params)) {
        if (p.kind === 'float') g.create_dataset({ name: key, data: p.data, shape: p.shape });
        else if (p.kind === 'int') g.create_dataset({ name: key, data: BigInt64Array.from(p.data.map((v) => BigInt(v))), shape: p.shape });
        else g.create_dataset({ name: key, data: p.value });
      }
      if (node.metadata) {
        const m = g.create_group('metadata') as Group;
        for (const [k, v] of Object.entries(node.metadata)) m.create_dataset(typeof v === 'string' ? { name: k, data: v } : { name: k, data: v, shape: [v.length] });
      }
    }
  });
}

export const nirTarget: Target = {
  name: 'nir',
  description: `NIR graph (model.nir, HDF5, NIR ${NIR_VERSION} layout)`,
  neuronModels: NIR_NEURON_MODELS,
  check(model: SnnModel): CheckReport {
    try {
      checkNeuronModels(model, 'nir', NIR_NEURON_MODELS);
      const g = toNirGraph(model);
      return { target: 'nir', fits: true, rows: g.nodes.map((n) => ({ layer: n.name, nir: n.type })), messages: g.warnings };
    } catch (e) {
      return doesNotFitReport('nir', e);
    }
  },
  async emit(model: SnnModel, outDir: string, options: CompileOptions): Promise<EmitResult> {
    checkNeuronModels(model, 'nir', NIR_NEURON_MODELS);
    const graph = toNirGraph(model);
    const files = await writeTargetFolder(outDir, { target: 'nir', sourceHash: modelHash(model), model: model.name, files: ['model.nir'] }, (tmp) => writeNirFile(join(tmp, 'model.nir'), graph), { force: options.force });
    return { files, summary: { nodes: graph.nodes.length, edges: graph.edges.length, version: NIR_VERSION, dt: model.dt }, warnings: graph.warnings };
  },
};
