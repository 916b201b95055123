/**
 * foldBatchNorm: merges each batchnorm (per-channel y = x·s + t) into the dense or conv layer, or the
 * batchnorm, that feeds it when that layer has no other reader:
 *   W'[o, …] = W[o, …]·s[o],   b'[o] = b[o]·s[o] + t[o].
 * A batchnorm elsewhere (after the input, a pool or an add) stays: it is linear and both the
 * simulator and the targets run it. Exact up to float32 rounding of the products.
 */
import * as L from '../ir/layers.js';
import { consumers } from '../ir/graph.js';
import type { SnnModel } from '../ir/model.js';
import { tensor } from '../ir/tensor.js';
import type { Pass } from './pipeline.js';

function foldInto(producer: L.Dense | L.Conv2d | L.BatchNorm, bn: L.BatchNorm): L.Layer {
  const s = bn.scale.data;
  const t = bn.shift.data;
  if (producer.op === 'batchnorm') {
    const scale = producer.scale.data.map((v, c) => v * s[c]);
    const shift = producer.shift.data.map((v, c) => v * s[c] + t[c]);
    return L.batchNorm({ ...producer, scale: tensor(producer.scale.shape, scale), shift: tensor(producer.shift.shape, shift) });
  }
  const out = producer.weight.shape[0];
  const per = producer.weight.data.length / out;
  const weight = producer.weight.data.map((v, i) => v * s[Math.floor(i / per)]);
  const bias = Float32Array.from({ length: out }, (_, o) => (producer.bias ? producer.bias.data[o] : 0) * s[o] + t[o]);
  const fields = { weight: tensor(producer.weight.shape, weight), bias: tensor([out], bias) };
  return producer.op === 'dense' ? L.dense({ ...producer, ...fields }) : L.conv2d({ ...producer, ...fields });
}

export const foldBatchNorm: Pass = {
  name: 'fold-batchnorm',
  run(model: SnnModel): SnnModel {
    let current = model;
    for (;;) {
      const readers = consumers(current);
      const byName = new Map(current.layers.map((l) => [l.name, l]));
      const bn = current.layers.find((l): l is L.BatchNorm => {
        if (l.op !== 'batchnorm') return false;
        const p = byName.get(l.inputs[0]);
        return !!p && (p.op === 'dense' || p.op === 'conv2d' || p.op === 'batchnorm') && readers.get(p.name)!.length === 1;
      });
      if (!bn) return current;
      const producer = byName.get(bn.inputs[0]) as L.Dense | L.Conv2d | L.BatchNorm;
      // The folded layer keeps the producer's name and takes the batchnorm's place; readers of the
      // batchnorm (and the output) now read the producer.
      const merged = foldInto(producer, bn);
      const redirect = (n: string) => (n === bn.name ? producer.name : n);
      const layers = current.layers.filter((l) => l !== producer).map((l) => (l === bn ? merged : ({ ...l, inputs: l.inputs.map(redirect) } as L.Layer)));
      current = { ...current, layers, output: { ...current.output, layer: redirect(current.output.layer) } };
    }
  },
};
