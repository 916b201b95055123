/**
 * ANN rewrites for max-pooling that must happen before calibration (conversion.md §2.5):
 * - `avg`: every maxpool2d becomes an avgpool2d with the same window (changes the ANN: re-evaluate it);
 * - `pre`: relu → maxpool2d becomes maxpool2d → relu (exact for the ANN, since max∘ReLU = ReLU∘max), so
 *   after conversion the pool acts on input currents and the IF neuron fires on the pooled current;
 * - `auto`: `pre` where the ReLU's input current is constant over time (it depends on a direct-encoded
 *   input through no other ReLU): there the IF neuron with the largest current is exactly the one that
 *   fires most, so pooling currents is exact at every T; `gate` elsewhere.
 * `gate` and `spike-or` act on spikes and are applied by the conversion pass itself.
 */
import * as L from '../ir/layers.js';
import { consumers } from '../ir/graph.js';
import { INPUT, type SnnModel } from '../ir/model.js';
import type { Pass } from './pipeline.js';

export type MaxPoolPolicy = 'auto' | 'gate' | 'avg' | 'spike-or' | 'pre';
export const MAXPOOL_POLICIES: readonly MaxPoolPolicy[] = ['auto', 'gate', 'avg', 'spike-or', 'pre'];

export const maxPoolToAvgPool: Pass = {
  name: 'maxpool-to-avgpool',
  run: (model) => ({ ...model, layers: model.layers.map((l) => (l.op === 'maxpool2d' ? L.avgpool2d({ name: l.name, inputs: l.inputs, kernel: l.kernel, stride: l.stride, padding: l.padding }) : l)) }),
};

export const hoistMaxPoolBeforeRelu: Pass = { name: 'hoist-maxpool-before-relu', run: (model) => hoistMaxPools(model, () => true) };

/** Hoists only the pools whose ReLU input is constant over time (see `auto`). */
export const hoistStaticMaxPools: Pass = {
  name: 'hoist-static-maxpools',
  run(model: SnnModel): SnnModel {
    if (model.input.encoding.type !== 'direct') return model;
    // Values computed without any ReLU upstream: constant currents once the ReLUs become IF neurons.
    const staticValues = new Set<string>([INPUT]);
    for (const l of model.layers) if (l.op !== 'relu' && l.inputs.every((n) => staticValues.has(n))) staticValues.add(l.name);
    return hoistMaxPools(model, (relu) => staticValues.has(relu.inputs[0]));
  },
};

function hoistMaxPools(model: SnnModel, eligible: (relu: L.Relu) => boolean): SnnModel {
  const readers = consumers(model);
  const hoisted = new Map<string, L.Relu>(); // pool name → the relu that now follows it
  const layers: L.Layer[] = [];
  for (const layer of model.layers) {
    const pool = layer.op === 'relu' && readers.get(layer.name)!.length === 1 ? readers.get(layer.name)![0] : undefined;
    if (layer.op === 'relu' && pool?.op === 'maxpool2d' && eligible(layer)) {
      // Both keep their names: the pool reads what the relu read, the relu reads the pool, and the
      // pool's former readers read the relu.
      layers.push({ ...pool, inputs: layer.inputs }, { ...layer, inputs: [pool.name] });
      hoisted.set(pool.name, layer);
    } else if (!(layer.op === 'maxpool2d' && hoisted.has(layer.name))) {
      layers.push(layer);
    }
  }
  const redirect = (n: string) => hoisted.get(n)?.name ?? n;
  return {
    ...model,
    layers: layers.map((l) => (l.op === 'relu' && hoisted.get(l.inputs[0])?.name === l.name ? l : ({ ...l, inputs: l.inputs.map(redirect) } as L.Layer))),
    output: { ...model.output, layer: redirect(model.output.layer) },
  };
}
