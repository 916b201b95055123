/**
 * The NIR file as a flat graph: the HDF5 tree of a `.nir` file (nir.md §4) → named nodes (type, parameter
 * datasets, metadata) and directed edges, with nested NIRGraph nodes inlined. This module owns the file
 * layout and its repairs (dangling inner edge names); it knows nothing about what the nodes compute.
 */
import { type Hdf5Group, type Hdf5Tree, hdf5Numbers } from '../../io/hdf5.js';
import type { NirGraph, NirNode, NirParam, Value, Warn } from '../../nir/graph.js';

export type { NirGraph, NirNode, NirParam, Value, Warn } from '../../nir/graph.js';
export { toNumbers } from '../../nir/graph.js';
import { badInput } from '../../errors.js';

const notFinite = (value: Value): boolean =>
  typeof value === 'number' ? !Number.isFinite(value) : !!value && typeof value === 'object' && Array.from(value as ArrayLike<unknown>).some((x) => typeof x === 'number' && !Number.isFinite(x));

/** One (non-graph) node group: its parameter datasets and metadata. */
function readNode(t: Hdf5Tree, member: Hdf5Group, name: string, type: string, file: string): NirNode {
  const params = new Map<string, NirParam>();
  for (const key of t.keys(member)) {
    if (key === 'type' || key === 'metadata') continue;
    const d = t.dataset(member, key);
    if (!d) continue;
    const value = d.value ?? undefined;
    if (notFinite(value)) throw badInput(`${file}: node "${name}" (${type}): parameter "${key}" contains NaN or an infinity`);
    params.set(key, { shape: d.shape ?? [], value });
  }
  const metadata = new Map<string, string | number[]>();
  const meta = t.group(member, 'metadata');
  for (const key of meta ? t.keys(meta) : []) {
    const d = t.dataset(meta!, key);
    if (!d || d.value === null) continue;
    if (typeof d.value === 'string') metadata.set(key, d.value);
    else if (!notFinite(d.value) && typeof d.value !== 'boolean') {
      const numbers = hdf5Numbers(d.value);
      if (numbers.every((x) => typeof x === 'number' && Number.isFinite(x))) metadata.set(key, numbers);
    }
  }
  return { name, type, params, metadata };
}

/**
 * The nodes and edges of a graph group, with nested NIRGraph nodes inlined: inner nodes are named
 * "<graph>.<inner>", an edge into the graph goes to its Input, an edge out of it leaves its Output (both
 * become pass-through "Identity" nodes). Inner edges naming a missing node are repaired when exactly one
 * inner node's name starts with it (a quirk of the NIR paper's subgraph files), with a diagnostic.
 */
export function flattenGraph(t: Hdf5Tree, g: Hdf5Group, prefix: string, file: string, warn: Warn): NirGraph {
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
      inner.set(`${prefix}${name}`, subgraphPorts(sub, `${prefix}${name}`, file));
      continue;
    }
    nodes.set(`${prefix}${name}`, readNode(t, member, `${prefix}${name}`, type, file));
  }
  edges.push(...graphEdges(t, g, prefix, new Set(nodeNames), inner, file, warn));
  // A nested graph's Input and Output become pass-through nodes.
  for (const { input, output } of inner.values()) {
    nodes.set(input, { ...nodes.get(input)!, type: 'Identity' });
    nodes.set(output, { ...nodes.get(output)!, type: 'Identity' });
  }
  return { nodes, edges };
}

/** The one Input and one Output directly inside the inlined graph `graph`. */
function subgraphPorts(sub: NirGraph, graph: string, file: string): { input: string; output: string } {
  const direct = (type: string) => [...sub.nodes.values()].filter((n) => n.type === type && n.name.startsWith(`${graph}.`) && !n.name.slice(graph.length + 1).includes('.'));
  const [ins, outs] = [direct('Input'), direct('Output')];
  if (ins.length !== 1 || outs.length !== 1) throw badInput(`${file}: nested graph "${graph}" needs one Input and one Output`);
  return { input: ins[0].name, output: outs[0].name };
}

/** The edges dataset of a graph group as (source, target) pairs of flat node names. */
function graphEdges(t: Hdf5Tree, g: Hdf5Group, prefix: string, local: Set<string>, inner: Map<string, { input: string; output: string }>, file: string, warn: Warn): [string, string][] {
  const edgeDs = t.dataset(g, 'edges');
  if (!edgeDs) warn(prefix || '(graph)', 'the graph has no edges dataset');
  const edgeValue = edgeDs?.value ?? [];
  const flat = typeof edgeValue === 'object' ? Array.from(edgeValue as ArrayLike<string | number>) : [edgeValue];
  const repaired = new Set<string>();
  const resolve = (n: string): string => {
    if (local.has(n)) return n;
    const candidates = [...local].filter((k) => k.startsWith(n));
    if (candidates.length !== 1) throw badInput(`${file}: an edge refers to node "${prefix}${n}", which the graph does not have`);
    if (!repaired.has(n)) warn(`${prefix}${n}`, `edges name a missing node "${n}"; repaired to "${candidates[0]}"`);
    repaired.add(n);
    return candidates[0];
  };
  const edges: [string, string][] = [];
  if (flat.length === 0 || typeof flat[0] !== 'string') return edges; // an empty edge list is stored as float64 (0,)
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const src = `${prefix}${resolve(String(flat[i]))}`;
    const dst = `${prefix}${resolve(String(flat[i + 1]))}`;
    edges.push([inner.get(src)?.output ?? src, inner.get(dst)?.input ?? dst]);
  }
  return edges;
}
