/**
 * currentBiasAsSpikes: a synaptic bias into a neuron with a decaying current (CUBA-LIF, α ≠ 0:
 * i ← α·i + W·x + b) becomes synapses from a neuron that spikes every step. The chips add a
 * constant to the membrane only, and a constant b into the current reaches the membrane as
 * b·(1 − α^t)/(1 − α), which no membrane constant equals; a synapse of weight b from an always-on
 * neuron adds b to the current every step, as the bias does, so this is exact.
 *
 * The always-on neuron ("always_on") is one IF neuron (θ = 1, reset to zero) whose input layer has zero
 * weights and bias 2: it spikes at every step from t = 1. It reads the earliest spikes (the input when
 * spike-encoded, else the first spiking layer; one pixel per channel of an image), so it runs one
 * synapse behind them. Each such neuron layer N gets a dense "N.bias" from it (weight [n, 1]: N's summed
 * synaptic bias, coefficients of adds included), added into N's input, and the biases leave the dense
 * and conv layers that fed them. A layer is left as it is (and the chip target refuses it by name) when
 * a biased layer or an add on the way has another reader, or when N is listed before those spikes.
 * Host-computed (static) layers keep their bias: the host feeds it into the current. Targets whose
 * synapses carry spikes run this (targets/common/chip-graph.ts); it costs the layer one step of latency
 * when it read the earliest spikes directly.
 */
import * as L from '../ir/layers.js';
import { consumers, staticValues } from '../ir/graph.js';
import { INPUT, type SnnModel } from '../ir/model.js';
import { uniformValue } from '../ir/params.js';
import { type ShapeMap, inferShapes } from '../ir/shapes.js';
import { sizeOf, tensor } from '../ir/tensor.js';
import type { Pass } from './pipeline.js';

type Biased = L.Dense | L.Conv2d;

/** What feeds N's current: the biased layers and the adds/flattens/reshapes passed on the way. */
interface Feed {
  readonly biased: Biased[];
  readonly through: L.Layer[];
  /** N's summed synaptic bias, per neuron. */
  readonly bias: Float64Array;
}

function feedOf(model: SnnModel, n: L.NeuronLayer, shapes: ShapeMap): Feed {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const statics = staticValues(model);
  const feed: Feed = { biased: [], through: [], bias: new Float64Array(sizeOf(shapes.get(n.name)!)) };
  const walk = (name: string, coef: number): void => {
    const l = byName.get(name);
    if (!l || statics.has(name)) return;
    if (l.op === 'add' || l.op === 'flatten' || l.op === 'reshape') {
      feed.through.push(l);
      l.inputs.forEach((x, k) => walk(x, coef * (l.op === 'add' ? (l.coefficients?.[k] ?? 1) : 1)));
    } else if ((l.op === 'dense' || l.op === 'conv2d') && l.bias?.data.some((b) => b !== 0)) {
      feed.biased.push(l);
      const per = feed.bias.length / l.bias.data.length;
      for (let i = 0; i < feed.bias.length; i++) feed.bias[i] += coef * l.bias.data[Math.floor(i / per)];
    }
  };
  walk(n.inputs[0], 1);
  return feed;
}

const decays = (n: L.NeuronLayer) => n.params.alpha !== undefined && uniformValue(n.params.alpha) !== 0;

/** Whether every biased layer and every layer on the way is read by the way alone (so its bias can go). */
function ownsFeed(model: SnnModel, n: L.NeuronLayer, feed: Feed, readers: ReadonlyMap<string, readonly L.Layer[]>): boolean {
  const inside = new Set<L.Layer>([n, ...feed.through]);
  return [...feed.biased, ...feed.through].every((l) => l.name !== model.output.layer && readers.get(l.name)!.every((r) => inside.has(r)));
}

/**
 * The always-on neuron's layers, reading `source` with zero weights: a conv reading one pixel per
 * channel of an image, else a dense over its values (flattened). `out` is its spikes as a vector.
 */
function alwaysOn(source: string, shape: readonly number[], name: (base: string) => string): { layers: L.Layer[]; out: string } {
  const spikes = name('always_on');
  const two = tensor([1], Float32Array.of(2));
  const flat = (input: string) => L.flatten({ name: name(`${input}.flat`), inputs: [input] });
  const layers: L.Layer[] = [];
  if (shape.length === 3) {
    layers.push(L.conv2d({ name: name(`${spikes}.in`), inputs: [source], weight: tensor([1, shape[0], 1, 1], new Float32Array(shape[0])), bias: two, stride: [shape[1], shape[2]], padding: [0, 0, 0, 0], groups: 1 }));
  } else {
    if (shape.length !== 1) layers.push(flat(source));
    const vector = layers.at(-1)?.name ?? source;
    layers.push(L.dense({ name: name(`${spikes}.in`), inputs: [vector], weight: tensor([1, sizeOf(shape)], new Float32Array(sizeOf(shape))), bias: two }));
  }
  layers.push(L.ifNeuron({ name: spikes, inputs: [layers.at(-1)!.name], threshold: 1, reset: 'zero', v0: 0 }));
  if (shape.length === 3) layers.push(flat(spikes));
  return { layers, out: layers.at(-1)!.name };
}

/**
 * The layers that replace N's input add (when N reads an add of its own) or N: the bias dense from
 * `source` (the always-on spikes), a reshape to N's shape when N is an image, and the add holding it.
 */
function fedByBias(n: L.NeuronLayer, feed: Feed, source: string, shape: readonly number[], name: (base: string) => string): { replaces: L.Layer; layers: L.Layer[] } {
  const dense = L.dense({ name: name(`${n.name}.bias`), inputs: [source], weight: tensor([feed.bias.length, 1], Float32Array.from(feed.bias)) });
  const grid = shape.length > 1 ? [L.reshape({ name: name(`${n.name}.bias_grid`), inputs: [dense.name], shape: [...shape] })] : [];
  const term = grid[0]?.name ?? dense.name;
  const old = feed.through.find((l) => l.name === n.inputs[0]);
  if (old?.op === 'add') {
    const add = L.add({ name: old.name, inputs: [...old.inputs, term], ...(old.coefficients ? { coefficients: [...old.coefficients, 1] } : {}) });
    return { replaces: old, layers: [dense, ...grid, add] };
  }
  const add = L.add({ name: name(`${n.name}.current`), inputs: [n.inputs[0], term] });
  return { replaces: n, layers: [dense, ...grid, add, { ...n, inputs: [add.name] }] };
}

/** Where N's bias enters: its input add when it has one of its own, else N. */
function entry(n: L.NeuronLayer, feed: Feed): L.Layer {
  const old = feed.through.find((l) => l.name === n.inputs[0]);
  return old?.op === 'add' ? old : n;
}

/** The earliest spikes: the input when spike-encoded, else the first spiking layer. */
function earliestSpikes(model: SnnModel): string | undefined {
  if (model.input.encoding.type !== 'direct') return INPUT;
  return model.layers.find((l) => L.isSpikingLayer(l))?.name;
}

export const currentBiasAsSpikes: Pass = {
  name: 'current-bias',
  run(model: SnnModel): SnnModel {
    const source = earliestSpikes(model);
    if (!source) return model;
    const shapes = inferShapes(model);
    const readers = consumers(model);
    const at = (name: string) => (name === INPUT ? -1 : model.layers.findIndex((l) => l.name === name));
    const targets = model.layers.flatMap((l) => {
      if (!L.isNeuron(l) || !decays(l)) return [];
      const feed = feedOf(model, l, shapes);
      const ok = feed.biased.length > 0 && ownsFeed(model, l, feed, readers) && at(entry(l, feed).name) > at(source);
      return ok ? [{ n: l, feed }] : [];
    });
    if (targets.length === 0) return model;
    const taken = new Set(model.layers.map((l) => l.name));
    const name = (base: string) => {
      let s = base;
      for (let k = 2; taken.has(s); k++) s = `${base}#${k}`;
      taken.add(s);
      return s;
    };
    const on = alwaysOn(source, shapes.get(source)!, name);
    const unbiased = new Set<L.Layer>(targets.flatMap((t) => t.feed.biased));
    const replaced = new Map<L.Layer, L.Layer[]>();
    for (const { n, feed } of targets) {
      const { replaces, layers } = fedByBias(n, feed, on.out, shapes.get(n.name)!, name);
      replaced.set(replaces, layers);
    }
    // The always-on neuron goes right before the first layer that reads it.
    const first = model.layers.find((l) => replaced.has(l));
    const layers = model.layers.flatMap((l): L.Layer[] => {
      const own = replaced.get(l) ?? [unbiased.has(l) ? withoutBias(l as Biased) : l];
      return l === first ? [...on.layers, ...own] : own;
    });
    return { ...model, layers };
  },
};

function withoutBias(l: Biased): Biased {
  const { bias: _, ...rest } = l;
  return rest.op === 'dense' ? L.dense(rest) : L.conv2d(rest);
}
