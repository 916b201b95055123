/**
 * recurrenceAsWeights: the edge form of recurrence back into the short form. A dense layer D without
 * bias that reads a spiking neuron layer N at the previous step (N listed at or after D), whose only
 * reader is an add A that is N's input, becomes part of N's recurrent weight:
 *   W_rec(N) ← W_rec(N) + c·W(D)     (c: A's coefficient for D),
 * D is removed, and A loses that input (A itself goes when one input of coefficient 1 is left). Both
 * forms compute I(t) = Σ others + c·W·s(t − 1), so spikes are unchanged (up to the float32 rounding
 * order of the sum). Targets that map recurrence as a neuron's recurrent projection run this first.
 */
import * as L from '../ir/layers.js';
import { consumers, previousStepReads } from '../ir/graph.js';
import type { SnnModel } from '../ir/model.js';
import { tensor } from '../ir/tensor.js';
import type { Pass } from './pipeline.js';

interface Match {
  readonly dense: L.Dense;
  readonly add: L.Add;
  readonly neuron: L.NeuronLayer;
}

function findMatch(model: SnnModel): Match | undefined {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const readers = consumers(model);
  const previous = previousStepReads(model);
  for (const d of model.layers) {
    if (d.op !== 'dense' || d.bias || !previous.has(`${d.inputs[0]}→${d.name}`)) continue;
    const n = byName.get(d.inputs[0]);
    const a = readers.get(d.name)!;
    if (!n || !L.isSpikingLayer(n) || a.length !== 1 || a[0].op !== 'add' || n.inputs[0] !== a[0].name || d.name === model.output.layer) continue;
    if (readers.get(a[0].name)!.length !== 1 || a[0].inputs.filter((i) => i === d.name).length !== 1) continue;
    return { dense: d, add: a[0], neuron: n };
  }
  return undefined;
}

function fold(model: SnnModel, { dense, add, neuron }: Match): SnnModel {
  const k = add.inputs.indexOf(dense.name);
  const c = add.coefficients?.[k] ?? 1;
  const n = dense.weight.shape[0];
  const w = Float32Array.from(dense.weight.data, (v, i) => (neuron.recurrent ? neuron.recurrent.data[i] : 0) + c * v);
  const rest = add.inputs.filter((_, i) => i !== k);
  const coefficients = add.coefficients?.filter((_, i) => i !== k);
  const dropAdd = rest.length === 1 && (coefficients?.[0] ?? 1) === 1;
  const newAdd = dropAdd ? undefined : L.add({ name: add.name, inputs: rest, ...(coefficients ? { coefficients } : {}) });
  if (!dropAdd && rest.length < 2) return model; // one scaled input left: an add cannot hold it
  const merged = L.neuron(neuron.model, { name: neuron.name, inputs: [dropAdd ? rest[0] : add.name], params: neuron.params, reset: neuron.reset, recurrent: tensor([n, n], w) });
  const layers = model.layers.filter((l) => l !== dense && !(dropAdd && l === add)).map((l) => (l === neuron ? merged : l === add ? newAdd! : l));
  return { ...model, layers };
}

export const recurrenceAsWeights: Pass = {
  name: 'recurrence-as-weights',
  run(model: SnnModel): SnnModel {
    let current = model;
    for (let m = findMatch(current); m; m = findMatch(current)) {
      const next = fold(current, m);
      if (next === current) return current;
      current = next;
    }
    return current;
  },
};
