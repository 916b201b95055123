/**
 * The nir target: IR → `DIR/model.nir`, a strict NIR graph file in the layout of nir.md §4 (root
 * `version`, group `node` = NIRGraph with `type`, `edges` (E×2 vlen UTF-8), `nodes/<name>/{type, params}`;
 * no attributes; float32 parameters, int64 shapes), written with h5wasm. The continuous-time parameters
 * come from the model's dt with the snnTorch convention, which makes every input gain exactly 1
 * (the inverse of the NIR frontend's forward-Euler mapping):
 *   LIF: τ = dt/(1 − β), R = τ/dt;  CubaLIF: τ_syn = dt/(1 − α), w_in = τ_syn/dt, τ_mem = dt/(1 − β), R = τ_mem/dt;
 *   IF: R = 1;  v_threshold = the float32 below θ (NIR spikes on v > θ, the IR on v ≥ θ).
 * A neuron's recurrent weight becomes an Affine "<name>.w_rec" in a cycle with it; an add becomes edges
 * summed into a unit Scale. Reset to zero is `v_reset` = 0; reset by subtraction cannot be expressed in
 * NIR ≥ 1.0.6 and is written as `v_reset` = 0 with node metadata reset = "subtract" (a warning).
 * Every float parameter must be finite in float32 (the NIR reader refuses NaN and infinities): a value
 * that overflows (a threshold of 1e39, τ = dt/(1 − β) at an enormous dt) is refused by layer and field.
 * The file is byte-for-byte deterministic (io/hdf5-write.ts).
 */
import { join } from 'node:path';
import type { Group } from 'h5wasm/node';
import { writeHdf5File } from '../../compiler/io/hdf5-write.js';
import { ExitCode, SnncError, badInput } from '../../compiler/errors.js';
import type * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { prevFloat32 } from '../../compiler/ir/float32.js';
import { modelHash } from '../../compiler/ir/hash.js';
import { writeTargetFolder } from '../common/artifact-folder.js';
import type { CheckReport, CompileOptions, EmitResult, Target } from '../target.js';

export const NIR_VERSION = '1.0.7';

type Param = { kind: 'float'; data: Float32Array; shape: number[] } | { kind: 'int'; data: number[]; shape: number[] } | { kind: 'string'; value: string };
interface NirNodeOut {
  readonly name: string;
  readonly type: string;
  readonly params: Record<string, Param>;
  readonly metadata?: Record<string, string>;
}

const floats = (data: ArrayLike<number>, shape: readonly number[]): Param => ({ kind: 'float', data: Float32Array.from(data), shape: [...shape] });
const ints = (data: number[], shape: number[] = [data.length]): Param => ({ kind: 'int', data, shape });
const filled = (value: number, shape: readonly number[]) => floats(new Float32Array(sizeOf(shape)).fill(value), shape);

export interface NirGraphOut {
  readonly nodes: NirNodeOut[];
  readonly edges: [string, string][];
  readonly warnings: string[];
}

/** The NIR graph of a model (pure: no file I/O). Throws a does-not-fit error for what NIR cannot express. */
export function toNirGraph(model: SnnModel): NirGraphOut {
  const shapes = verifyModel(model);
  const dt = model.dt;
  const nodes: NirNodeOut[] = [{ name: 'input', type: 'Input', params: { shape: ints([...model.input.shape]) } }];
  const edges: [string, string][] = [];
  const warnings: string[] = [];
  const nirName = (ir: string) => (ir === INPUT ? 'input' : ir);
  const fail = (layer: L.Layer, why: string): never => {
    throw new SnncError(`layer "${layer.name}" (${layer.op}): ${why}; NIR cannot express it`, ExitCode.doesNotFit);
  };
  const symmetric = (layer: L.Layer, p: L.Padding4): number[] => {
    if (p[0] !== p[2] || p[1] !== p[3]) fail(layer, `asymmetric padding [${p.join(', ')}]`);
    return [p[0], p[1]];
  };
  if (model.input.preprocess.scale !== 1 || model.input.preprocess.mean.some((m) => m !== 0) || model.input.preprocess.std.some((s) => s !== 1)) {
    warnings.push('the model input preprocessing is not part of NIR: apply it to the data before the graph');
  }
  for (const layer of model.layers) {
    const shape = shapes.get(layer.name)!;
    const connect = () => layer.inputs.forEach((src) => edges.push([nirName(src), layer.name]));
    switch (layer.op) {
      case 'dense':
        nodes.push({ name: layer.name, type: layer.bias ? 'Affine' : 'Linear', params: { weight: floats(layer.weight.data, layer.weight.shape), ...(layer.bias ? { bias: floats(layer.bias.data, layer.bias.shape) } : {}) } });
        connect();
        break;
      case 'conv2d': {
        const inShape = shapes.get(layer.inputs[0])!;
        nodes.push({
          name: layer.name,
          type: 'Conv2d',
          params: {
            weight: floats(layer.weight.data, layer.weight.shape),
            bias: layer.bias ? floats(layer.bias.data, layer.bias.shape) : filled(0, [layer.weight.shape[0]]),
            stride: ints([...layer.stride]),
            padding: ints(symmetric(layer, layer.padding)),
            dilation: ints([1, 1]),
            groups: ints([layer.groups], []),
            input_shape: ints([inShape[1], inShape[2]]),
          },
        });
        connect();
        break;
      }
      case 'avgpool2d':
        nodes.push({ name: layer.name, type: 'AvgPool2d', params: { kernel_size: ints([...layer.kernel]), stride: ints([...layer.stride]), padding: ints(symmetric(layer, layer.padding)) } });
        connect();
        break;
      case 'flatten':
        nodes.push({ name: layer.name, type: 'Flatten', params: { start_dim: ints([0], []), end_dim: ints([-1], []), input_type: ints([...shapes.get(layer.inputs[0])!]) } });
        connect();
        break;
      case 'add': {
        // NIR sums the edges into a node; coefficients become Scale nodes on the way in.
        nodes.push({ name: layer.name, type: 'Scale', params: { scale: filled(1, shape) } });
        layer.inputs.forEach((src, k) => {
          const c = layer.coefficients?.[k] ?? 1;
          if (c === 1) return edges.push([nirName(src), layer.name]);
          const scaled = `${layer.name}.in${k}`;
          nodes.push({ name: scaled, type: 'Scale', params: { scale: filled(c, shape) } });
          edges.push([nirName(src), scaled], [scaled, layer.name]);
        });
        break;
      }
      case 'batchnorm': {
        if (layer.shift.data.some((t) => t !== 0)) fail(layer, 'a shift (run foldBatchNorm into the preceding layer first)');
        const per = sizeOf(shape) / shape[0];
        nodes.push({ name: layer.name, type: 'Scale', params: { scale: floats(Float32Array.from({ length: sizeOf(shape) }, (_, i) => layer.scale.data[Math.floor(i / per)]), shape) } });
        connect();
        break;
      }
      case 'if':
      case 'lif':
      case 'cuba_lif': {
        if (!Number.isFinite(Math.fround(layer.threshold))) fail(layer, `threshold ${layer.threshold} is beyond float32 (v_threshold would be infinite)`);
        const thr = filled(prevFloat32(Math.fround(layer.threshold)), shape);
        const metadata: Record<string, string> = {};
        if (layer.reset === 'subtract') {
          metadata.reset = 'subtract';
          warnings.push(`layer "${layer.name}": reset by subtraction is written as v_reset = 0 with metadata reset = "subtract"; most NIR readers will reset to zero`);
        }
        if (layer.v0 !== 0) {
          metadata.v0 = String(layer.v0);
          warnings.push(`layer "${layer.name}": NIR has no initial membrane; v0 = ${layer.v0} is kept in metadata only`);
        }
        let params: Record<string, Param>;
        if (layer.op === 'if') params = { r: filled(1, shape), v_threshold: thr, v_reset: filled(0, shape) };
        else {
          if (layer.beta >= 1) fail(layer, 'β = 1 (no leak) in a LIF (use an IF layer)');
          const tauMem = dt / (1 - layer.beta);
          if (layer.op === 'lif') params = { tau: filled(tauMem, shape), r: filled(tauMem / dt, shape), v_leak: filled(0, shape), v_threshold: thr, v_reset: filled(0, shape) };
          else {
            if (layer.bias) fail(layer, 'a membrane bias');
            if (layer.alpha >= 1) fail(layer, 'α = 1 (no current decay)');
            const tauSyn = dt / (1 - layer.alpha);
            params = { tau_syn: filled(tauSyn, shape), tau_mem: filled(tauMem, shape), r: filled(tauMem / dt, shape), v_leak: filled(0, shape), v_threshold: thr, v_reset: filled(0, shape), w_in: filled(tauSyn / dt, shape) };
          }
        }
        for (const [key, p] of Object.entries(params)) {
          if (p.kind !== 'float' || p.data.length === 0) continue;
          const v = p.data[0];
          if (!Number.isFinite(v)) fail(layer, `${key} = ${v} in float32 (from ${key === 'v_threshold' ? `threshold ${layer.threshold}` : `dt = ${dt}`}), not a finite number`);
          if (key.startsWith('tau') && !(v > 0)) fail(layer, `${key} = ${v} in float32 (from dt = ${dt}), not a positive time constant`);
        }
        nodes.push({ name: layer.name, type: layer.op === 'if' ? 'IF' : layer.op === 'lif' ? 'LIF' : 'CubaLIF', params, metadata: Object.keys(metadata).length ? metadata : undefined });
        connect();
        if (layer.op !== 'if' && layer.recurrent) {
          const rec = `${layer.name}.w_rec`;
          nodes.push({ name: rec, type: 'Linear', params: { weight: floats(layer.recurrent.data, layer.recurrent.shape) } });
          edges.push([layer.name, rec], [rec, layer.name]);
        }
        break;
      }
      default:
        fail(layer, layer.op === 'relu' ? 'an ANN activation (convert the model first)' : `the ${layer.op} operation`);
    }
  }
  // The reader refuses NaN and infinities: a parameter that is not finite in float32 is refused here, by layer and field.
  for (const node of nodes) {
    for (const [key, p] of Object.entries(node.params)) {
      if (p.kind !== 'float') continue;
      const k = p.data.findIndex((x) => !Number.isFinite(x));
      if (k >= 0) {
        const layer = model.layers.find((l) => l.name === node.name || node.name.startsWith(`${l.name}.`))!;
        fail(layer, `${node.name === layer.name ? '' : `node "${node.name}": `}${key}[${k}] = ${p.data[k]} in float32, not a finite number`);
      }
    }
  }
  nodes.push({ name: 'output', type: 'Output', params: { shape: ints([...shapes.get(model.output.layer)!]) } });
  edges.push([model.output.layer, 'output']);
  return { nodes, edges, warnings };
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
        for (const [k, v] of Object.entries(node.metadata)) m.create_dataset({ name: k, data: v });
      }
    }
  });
}

export const nirTarget: Target = {
  name: 'nir',
  description: `NIR graph (model.nir, HDF5, NIR ${NIR_VERSION} layout)`,
  check(model: SnnModel): CheckReport {
    try {
      const g = toNirGraph(model);
      return { target: 'nir', fits: true, rows: g.nodes.map((n) => ({ layer: n.name, nir: n.type })), messages: g.warnings };
    } catch (e) {
      if (e instanceof SnncError && e.exitCode === ExitCode.doesNotFit) return { target: 'nir', fits: false, rows: [], messages: [e.message] };
      throw e;
    }
  },
  async emit(model: SnnModel, outDir: string, options: CompileOptions): Promise<EmitResult> {
    const graph = toNirGraph(model);
    const files = await writeTargetFolder(outDir, { target: 'nir', sourceHash: modelHash(model), model: model.name, files: ['model.nir'] }, (tmp) => writeNirFile(join(tmp, 'model.nir'), graph), { force: options.force });
    return { files, summary: { nodes: graph.nodes.length, edges: graph.edges.length, version: NIR_VERSION, dt: model.dt }, warnings: graph.warnings };
  },
};
