/**
 * How each neuron layer's input decomposes into synapses, for targets whose synapses carry spikes
 * (loihi, spinnaker). A "root" is a neuron layer, the non-spiking readout, or a max-pool of spikes;
 * its input expression is Σ coef·op(source spikes) + a constant per neuron, where op is a dense, conv
 * or avg-pool layer, or the identity (spikes read one to one: a spike input, or a residual block's
 * identity shortcut), and the source is the input (when spike-encoded), a neuron layer or a max-pool of
 * spikes; each target lines paths of different depth up with synaptic delays. A direct-encoded input
 * enters as the static prefix computed on the host (`hostNode`). A max-pool of currents right before
 * a neuron layer is kept as `pool` (Loihi joins dendrites by MAX). A neuron's input gain r (its
 * current adds r·I) is folded into its synapses here: weights, synaptic biases and recurrent weights
 * are scaled by r, per neuron for dense synapses and per channel for convolutions (whose kernels a
 * channel shares); a gain these cannot carry is refused by name.
 * This module chooses no scales and no hardware formats and knows no neuron model's dynamics: each
 * target's quantiser does.
 */
import { unfoldedLinearChains } from '../../compiler/passes/fold-linear.js';
import { unfoldedPool } from '../../compiler/passes/fold-pool.js';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { ancestors, staticValues } from '../../compiler/ir/graph.js';
import type * as L from '../../compiler/ir/layers.js';
import { isNeuron } from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { neuronModel } from '../../compiler/ir/neurons.js';
import { distinctValues, paramValues, uniformValue } from '../../compiler/ir/params.js';
import { convGeometry } from '../../compiler/ir/shapes.js';
import { type SparseRule, sparseRule } from '../../compiler/ir/connectivity.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { allZero } from './cuba-neurons.js';

export type ProjectionGeometry =
  | { readonly kind: 'dense'; readonly nIn: number; readonly nOut: number }
  /** A sparse projection by rule (compiler/ir/connectivity.ts): synapses generated per target, never stored. */
  | { readonly kind: 'sparse'; readonly nIn: number; readonly nOut: number; readonly rule: SparseRule }
  | {
      readonly kind: 'conv';
      readonly inShape: readonly [number, number, number];
      readonly outShape: readonly [number, number, number];
      readonly kernel: L.Pair;
      readonly stride: L.Pair;
      readonly padding: L.Padding4;
      readonly groups: number;
    };

/** The geometries whose weights are stored, one per synapse of a kernel or matrix (every kind but sparse). */
export type StoredGeometry = Exclude<ProjectionGeometry, { readonly kind: 'sparse' }>;

export function isStored(g: ProjectionGeometry): g is StoredGeometry {
  return g.kind !== 'sparse';
}

export interface MaxPoolJoin {
  readonly kernel: L.Pair;
  readonly stride: L.Pair;
  readonly padding: L.Padding4;
  /** Shape [C, H, W] of the current grid being pooled (the synapses' target grid). */
  readonly inShape: readonly number[];
}

/** One synaptic term of a root's input: coef · op(source spikes), with its float weights (coef applied). */
export interface Term {
  /** The IR layer (dense, conv2d, avgpool2d; for a spike max-pool root, the max-pool itself). */
  readonly name: string;
  readonly source: string;
  readonly geometry: ProjectionGeometry;
  /** Dense [nOut, nIn]; conv [Cout, Cin/groups, kh, kw] (cross-correlation, as the IR); sparse: [factor], the rule's weights times it. */
  readonly weights: Float64Array;
}

export interface Root {
  readonly layer: L.Layer;
  /** 'neuron': a spiking neuron layer; 'readout': the synaptic output layer; 'spike-max': a max-pool of spikes (an OR). */
  readonly kind: 'neuron' | 'readout' | 'spike-max';
  readonly shape: readonly number[];
  /** Synapses with the neuron's gain r folded in. */
  readonly terms: readonly Term[];
  /** Constant input per neuron (float): synaptic biases (times r), plus the neuron's own `bias` parameter (CUBA-LIF). */
  readonly bias: Float64Array;
  /** The neuron layer's recurrent weights [N, N] (row = target neuron), times r. */
  readonly recurrent?: Float64Array;
  readonly pool?: MaxPoolJoin;
  /** The static node whose value the host feeds this root every step (direct encoding). */
  readonly hostNode?: string;
}

/** What to do about a layer of this op where spikes are needed. */
const HINTS: Partial<Record<L.LayerOp, string>> = {
  maxpool2d: ' (a max-pool is supported only on spikes, or directly before a neuron layer)',
  gated_maxpool2d: " (a gated max-pool counts each input's spikes, which synapses cannot: convert with --maxpool avg)",
  batchnorm: ' (fold it into the preceding layer: snnc convert does)',
  relu: ' (an ANN activation: convert the network to spiking neurons first, snnc convert)',
};

/**
 * Spikes wired neuron to neuron with weight `coef` (a spike input, or an identity shortcut of a residual
 * block): a 1×1 convolution with one group per channel, named `name`.
 */
function oneToOne(name: string, source: string, shape: readonly number[], coef: number): Term {
  const grid = (shape.length === 3 ? [...shape] : [sizeOf(shape), 1, 1]) as [number, number, number];
  const geometry: ProjectionGeometry = { kind: 'conv', inShape: grid, outShape: grid, kernel: [1, 1], stride: [1, 1], padding: [0, 0, 0, 0], groups: grid[0] };
  return { name, source, geometry, weights: new Float64Array(grid[0]).fill(coef) };
}

export function notSupported(layer: string, what: string, target: string): never {
  throw new SnncError(`layer "${layer}": ${what}`.replace('{target}', target), ExitCode.doesNotFit);
}

/** The roots in graph order; throws a does-not-fit error naming the layer for what synapses cannot express. */
export function synapticRoots(model: SnnModel, target: string): Root[] {
  const shapes = verifyModel(model);
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const spikeInput = model.input.encoding.type !== 'direct';
  const staticNames = staticValues(model);
  const fail = (layer: string, what: string): never => notSupported(layer, what, target);

  const isSpikeMax = (l: L.Layer) => l.op === 'maxpool2d' && !staticNames.has(l.name) && carriesSpikes(l.inputs[0]);
  function carriesSpikes(name: string): boolean {
    let n = name;
    while (n !== INPUT && byName.get(n)!.op === 'flatten') n = byName.get(n)!.inputs[0];
    if (n === INPUT) return spikeInput;
    const l = byName.get(n)!;
    return (isNeuron(l) && neuronModel(l.model)?.fire !== undefined) || isSpikeMax(l);
  }
  /** Skips flatten layers; the result must carry spikes. */
  function spikeSource(name: string, user: string): string {
    let n = name;
    while (n !== INPUT && byName.get(n)!.op === 'flatten') n = byName.get(n)!.inputs[0];
    if (carriesSpikes(n)) return n;
    const why = unfoldedPool(model, user) ?? unfoldedLinearChains(model).find((c) => c.layer === user)?.reason;
    const hint = n === INPUT ? '' : (HINTS[byName.get(n)!.op] ?? '');
    return fail(user, `its input "${name}" is not spikes (a neuron layer, a max-pool of spikes or a rate/event-encoded input); {target} synapses carry spikes only${why ? `, and ${why}` : hint}`);
  }

  interface Expr {
    terms: Term[];
    bias: Float64Array;
    pool?: MaxPoolJoin;
    hostNode?: string;
  }

  function collect(name: string, coef: number, size: number, expr: Expr, root: string): void {
    if (staticNames.has(name)) {
      if (expr.terms.length || expr.hostNode || coef !== 1) fail(root, 'mixes host-computed (direct-input) values with spikes; only a whole input can come from the host');
      expr.hostNode = name;
      return;
    }
    if (name === INPUT || carriesSpikes(name)) {
      // Spikes read as they are: the spike input, or a neuron's spikes (a residual block's identity shortcut).
      const source = spikeSource(name, root);
      expr.terms.push(oneToOne(source === INPUT ? `${INPUT}.identity` : `${root}.${source}`, source, shapes.get(source)!, coef));
      return;
    }
    const layer = byName.get(name)!;
    const outShape = shapes.get(name)!;
    switch (layer.op) {
      case 'dense': {
        const source = spikeSource(layer.inputs[0], name);
        const [nOut, nIn] = layer.weight.shape;
        expr.terms.push({ name, source, geometry: { kind: 'dense', nIn, nOut }, weights: scaledCopy(layer.weight.data, coef) });
        if (layer.bias) for (let i = 0; i < nOut; i++) expr.bias[i] += coef * layer.bias.data[i];
        return;
      }
      case 'sparse': {
        const source = spikeSource(layer.inputs[0], name);
        const rule = sparseRule(layer, sizeOf(shapes.get(layer.inputs[0])!));
        expr.terms.push({ name, source, geometry: { kind: 'sparse', nIn: rule.nIn, nOut: rule.nOut, rule }, weights: Float64Array.of(coef) });
        return;
      }
      case 'conv2d':
      case 'avgpool2d': {
        if (layer.op === 'conv2d' && layer.dilation?.some((d) => d !== 1)) fail(name, `a dilated convolution (dilation [${layer.dilation.join(', ')}]) has no {target} equivalent here`);
        const source = spikeSource(layer.inputs[0], name);
        const inShape = shapes.get(layer.inputs[0])! as [number, number, number];
        const g = layer.op === 'conv2d' ? convGeometry(layer, inShape, outShape) : undefined;
        const [kh, kw] = layer.op === 'conv2d' ? [g!.KH, g!.KW] : layer.kernel;
        expr.terms.push({
          name,
          source,
          geometry: {
            kind: 'conv',
            inShape: [...inShape] as [number, number, number],
            outShape: [...outShape] as [number, number, number],
            kernel: [kh, kw],
            stride: layer.stride,
            padding: layer.padding,
            groups: layer.op === 'conv2d' ? layer.groups : inShape[0],
          },
          weights: layer.op === 'conv2d' ? scaledCopy(layer.weight.data, coef) : new Float64Array(inShape[0] * kh * kw).fill(coef / (kh * kw)),
        });
        if (layer.op === 'conv2d' && layer.bias) {
          const hw = outShape[1] * outShape[2];
          for (let i = 0; i < size; i++) expr.bias[i] += coef * layer.bias.data[Math.floor(i / hw)];
        }
        return;
      }
      case 'add':
        layer.inputs.forEach((n, k) => collect(n, coef * (layer.coefficients?.[k] ?? 1), size, expr, root));
        return;
      case 'flatten':
      case 'reshape':
        collect(layer.inputs[0], coef, size, expr, root);
        return;
      default:
        fail(name, `${layer.op} between spiking layers has no {target} equivalent here${HINTS[layer.op] ?? ''}`);
    }
  }

  function expression(rootName: string, exprName: string, size: number): Expr {
    const top = exprName === INPUT ? undefined : byName.get(exprName);
    if (top?.op === 'maxpool2d' && !staticNames.has(exprName) && !isSpikeMax(top)) {
      const inShape = shapes.get(top.inputs[0])!;
      const expr: Expr = { terms: [], bias: new Float64Array(sizeOf(inShape)) };
      collect(top.inputs[0], 1, sizeOf(inShape), expr, rootName);
      if (expr.hostNode) fail(rootName, 'a max-pool of host values must be part of the host prefix');
      if (expr.terms.some((t) => t.geometry.kind !== 'conv')) fail(top.name, 'max-pool over a dense output');
      expr.pool = { kernel: top.kernel, stride: top.stride, padding: top.padding, inShape };
      expr.bias = pooledBias(expr.bias, expr.pool, shapes.get(exprName)!, top.name, target);
      return expr;
    }
    const expr: Expr = { terms: [], bias: new Float64Array(size) };
    collect(exprName, 1, size, expr, rootName);
    return expr;
  }

  const outputLayer = byName.get(model.output.layer)!;
  const roots: Root[] = [];
  let hostRoot: string | undefined;
  for (const layer of model.layers) {
    const shape = shapes.get(layer.name)!;
    const n = sizeOf(shape);
    if (isSpikeMax(layer)) {
      // An OR of the window's spikes: a unit-weight "pool" projection from the spiking source.
      const l = layer as L.MaxPool2d;
      const inShape = shapes.get(l.inputs[0])! as [number, number, number];
      const source = spikeSource(l.inputs[0], l.name);
      const [kh, kw] = l.kernel;
      const geometry: ProjectionGeometry = { kind: 'conv', inShape, outShape: [...shape] as [number, number, number], kernel: l.kernel, stride: l.stride, padding: l.padding, groups: inShape[0] };
      roots.push({ layer, kind: 'spike-max', shape, terms: [{ name: l.name, source, geometry, weights: new Float64Array(inShape[0] * kh * kw).fill(1) }], bias: new Float64Array(n) });
      continue;
    }
    const neuron = isNeuron(layer) ? layer : undefined;
    if (!neuron && layer !== outputLayer) continue;
    const expr = expression(layer.name, neuron ? neuron.inputs[0] : layer.name, n);
    if (!neuron && expr.pool) fail(layer.name, 'a max-pooled readout');
    if (expr.hostNode) {
      if (hostRoot) fail(layer.name, `only one layer can take the host-computed input (already "${hostRoot}")`);
      hostRoot = layer.name;
    }
    const recurrent = neuron?.recurrent ? Float64Array.from(neuron.recurrent.data) : undefined;
    if (neuron) foldGain(neuron, shape, expr, recurrent, target);
    if (neuron) addOwnBias(neuron, shape, expr.bias, target);
    roots.push({
      layer,
      kind: neuron ? 'neuron' : 'readout',
      shape,
      terms: expr.terms,
      bias: expr.bias,
      ...(recurrent ? { recurrent } : {}),
      ...(expr.pool ? { pool: expr.pool } : {}),
      ...(expr.hostNode ? { hostNode: expr.hostNode } : {}),
    });
  }
  return roots;
}

/**
 * Folds the input gain r into the synapses (r·(Σ w·s + b) = Σ (r·w)·s + r·b): per neuron for dense
 * synapses, per channel for convolutions and pools. r = 1 (the default) changes nothing.
 */
function foldGain(layer: L.NeuronLayer, shape: readonly number[], expr: { terms: Term[]; bias: Float64Array; pool?: MaxPoolJoin; hostNode?: string }, recurrent: Float64Array | undefined, target: string): void {
  if (layer.params.r === undefined || uniformValue(layer.params.r) === 1) return;
  const r = paramValues(layer.params.r, shape);
  const refuse = (why: string): never => notSupported(layer.name, `an input gain r ≠ 1 ${why}`, target);
  if (expr.hostNode) return refuse('on the layer fed by the host (the host feeds the input current unscaled)');
  if (expr.pool) {
    // max(g·x) = g·max(x) for one g ≥ 0 only.
    const g = uniformValue(layer.params.r);
    if (g === undefined || g < 0) return refuse('that differs between neurons or is negative, behind a max-pool of currents');
    for (const t of expr.terms) t.weights.forEach((w, i) => (t.weights[i] = w * g));
    expr.bias.forEach((b, i) => (expr.bias[i] = b * g));
    return;
  }
  for (const t of expr.terms) scaleRows(t, r, () => refuse(`that differs within a channel (${distinctValues(layer.params.r)} distinct values): {target} folds r into the weights, and a convolution's kernel is shared by its channel`));
  for (let i = 0; i < expr.bias.length; i++) expr.bias[i] *= r[i];
  if (recurrent) for (let o = 0; o < r.length; o++) for (let j = 0; j < r.length; j++) recurrent[o * r.length + j] *= r[o];
}

/** Scales the weights onto each target neuron o by r[o]: dense rows, or conv output channels (r must be constant per channel). */
function scaleRows(t: Term, r: Float32Array, perNeuron: () => never): void {
  const g = t.geometry;
  if (g.kind === 'sparse') {
    if (r.some((x) => x !== r[0])) perNeuron(); // one factor scales the rule's weights
    t.weights[0] *= r[0];
    return;
  }
  if (g.kind === 'dense') {
    for (let o = 0; o < g.nOut; o++) for (let j = 0; j < g.nIn; j++) t.weights[o * g.nIn + j] *= r[o];
    return;
  }
  const [co, ho, wo] = g.outShape;
  const hw = ho * wo;
  const perOut = t.weights.length / co;
  for (let c = 0; c < co; c++) {
    const rc = r[c * hw];
    for (let i = 1; i < hw; i++) if (r[c * hw + i] !== rc) perNeuron();
    for (let i = 0; i < perOut; i++) t.weights[c * perOut + i] *= rc;
  }
}

/**
 * Adds the neuron's own bias parameter (it enters the membrane, not the current). A synaptic bias left
 * in front of a decaying current (α > 0) is refused: the chips add constants to the membrane only, and
 * compiler/passes/current-bias.ts feeds such a bias from an always-on neuron only when the biased
 * layers feed this neuron alone and spikes come before it.
 */
function addOwnBias(layer: L.NeuronLayer, shape: readonly number[], bias: Float64Array, target: string): void {
  const alpha = layer.params.alpha;
  if (alpha !== undefined && !allZero(alpha) && bias.some((b) => b !== 0)) {
    const a = uniformValue(alpha);
    notSupported(layer.name, `a synaptic bias into a neuron with current decay α${a === undefined ? '' : `=${a}`} > 0: {target} adds a constant to the membrane, not to the decaying current, and no always-on neuron can feed it here (a biased layer also feeds other layers, or no spikes come before this layer)`, target);
  }
  if (layer.params.bias === undefined || allZero(layer.params.bias)) return;
  const own = paramValues(layer.params.bias, shape);
  for (let i = 0; i < bias.length; i++) bias[i] += own[i];
}

function scaledCopy(data: Float32Array, coef: number): Float64Array {
  const w = new Float64Array(data.length);
  for (let i = 0; i < w.length; i++) w[i] = coef * data[i];
  return w;
}

/** Σ_j |w_ij| per output element (the worst case of one step's input with every source spiking). */
export function addRowSums(g: ProjectionGeometry, w: Float64Array, out: Float64Array): void {
  if (g.kind === 'sparse') {
    // A bound, not the sum: every target's fan-in at the rule's largest |weight| (generating them all costs a pass over every synapse).
    const bound = g.rule.fanIn * g.rule.maxAbsWeight * Math.abs(w[0]);
    for (let o = 0; o < g.nOut; o++) out[o] += bound;
    return;
  }
  if (g.kind === 'dense') {
    for (let o = 0; o < g.nOut; o++) for (let j = 0; j < g.nIn; j++) out[o] += Math.abs(w[o * g.nIn + j]);
    return;
  }
  const [co, ho, wo] = g.outShape;
  const perOut = w.length / co;
  for (let c = 0; c < co; c++) {
    let s = 0;
    for (let i = 0; i < perOut; i++) s += Math.abs(w[c * perOut + i]);
    for (let i = 0; i < ho * wo; i++) out[c * ho * wo + i] += s;
  }
}

/** The constant input of each pooled neuron: the window's constants must agree (they do for conv biases). */
function pooledBias(bias: Float64Array, pool: MaxPoolJoin, outShape: readonly number[], layer: string, target: string): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  forEachPoolWindow(pool, outShape, (o, members) => {
    const b = bias[members[0]];
    if (members.some((m) => bias[m] !== b)) notSupported(layer, 'max-pool over inputs with different constant offsets', target);
    out[o] = b;
  });
  return out;
}

/** Calls fn(pooledIndex, flat indices into the pooled grid of the valid window members) for each output. */
export function forEachPoolWindow(pool: MaxPoolJoin, outShape: readonly number[], fn: (o: number, members: number[]) => void): void {
  const [c, ho, wo] = outShape;
  const [, hi, wi] = pool.inShape;
  const [kh, kw] = pool.kernel;
  const [sh, sw] = pool.stride;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const members: number[] = [];
        for (let u = 0; u < kh; u++) {
          const y = i * sh - pool.padding[0] + u;
          if (y < 0 || y >= hi) continue;
          for (let v = 0; v < kw; v++) {
            const x = j * sw - pool.padding[1] + v;
            if (x >= 0 && x < wi) members.push((ch * hi + y) * wi + x);
          }
        }
        fn((ch * ho + i) * wo + j, members);
      }
    }
  }
}

/**
 * The static prefix as a model of its own (T = 1), whose output is `node`: what the host computes.
 * Undefined when the input itself (preprocessed) is the current.
 */
export function hostEncoder(model: SnnModel, node: string): SnnModel | undefined {
  if (node === INPUT) return undefined;
  const needed = ancestors(model, node);
  return { ...model, layers: model.layers.filter((l) => needed.has(l.name)), output: { layer: node, decoding: 'accumulate' }, timesteps: 1, metadata: {} };
}

/** Source neurons one target neuron reads through a projection (for a conv, the whole kernel: an upper bound at the borders). */
export function neuronFanIn(g: ProjectionGeometry): number {
  return g.kind === 'dense' ? g.nIn : g.kind === 'sparse' ? g.rule.fanIn : (g.inShape[0] / g.groups) * g.kernel[0] * g.kernel[1];
}

/**
 * The pipeline depth of a root's population (synapses from the input; 0 when the host feeds it) from its
 * terms' sources' depths. A term from the population itself is its recurrence (read one step late, as the
 * IR's previous step); one from a population without a depth yet would close a longer cycle, which one
 * depth per population cannot time: refused naming the term.
 */
export function populationDepth(root: Root, depth: ReadonlyMap<string, number>, target: string): number {
  const self = root.layer.name;
  const later = root.terms.find((t) => t.source !== self && !depth.has(t.source));
  if (later) notSupported(later.name, `it reads "${later.source}" of the previous step (a cycle through another population); {target} maps recurrence only onto the population itself`, target);
  return root.hostNode ? 0 : Math.max(0, ...root.terms.filter((t) => t.source !== self).map((t) => depth.get(t.source)! + 1));
}

/**
 * Calls fn(pre, w) for each synapse onto post neuron o: w = weights[k] of a stored geometry (forEachFanIn),
 * or `quantised(drawn)` of each weight a sparse rule draws, in ascending source order.
 */
export function forEachWeightedFanIn(g: ProjectionGeometry, weights: ArrayLike<number>, quantised: (drawn: number) => number, o: number, fn: (pre: number, w: number) => void): void {
  if (isStored(g)) return forEachFanIn(g, o, (pre, k) => fn(pre, weights[k]));
  const [sources, drawn] = [new Int32Array(g.rule.fanIn), new Float32Array(g.rule.fanIn)];
  g.rule.fill(o, sources, drawn);
  for (let i = 0; i < sources.length; i++) fn(sources[i], quantised(drawn[i]));
}

/** Calls fn(pre, weightIndex) for each synapse onto post neuron o (conv: cross-correlation with zero padding). */
export function forEachFanIn(g: StoredGeometry, o: number, fn: (pre: number, weightIndex: number) => void): void {
  if (g.kind === 'dense') {
    for (let j = 0; j < g.nIn; j++) fn(j, o * g.nIn + j);
    return;
  }
  const [C, H, W] = g.inShape;
  const [O, OH, OW] = g.outShape;
  const [kh, kw] = g.kernel;
  const co = Math.floor(o / (OH * OW));
  const r = Math.floor(o / OW) % OH;
  const q = o % OW;
  const cinPG = C / g.groups;
  const group = Math.floor(co / (O / g.groups));
  for (let ci = 0; ci < cinPG; ci++) {
    const c = group * cinPG + ci;
    for (let u = 0; u < kh; u++) {
      const y = r * g.stride[0] - g.padding[0] + u;
      if (y < 0 || y >= H) continue;
      for (let v = 0; v < kw; v++) {
        const x = q * g.stride[1] - g.padding[1] + v;
        if (x < 0 || x >= W) continue;
        fn((c * H + y) * W + x, ((co * cinPG + ci) * kh + u) * kw + v);
      }
    }
  }
}
