/** Graph queries over a model's layers: who reads a value. */
import type { Layer } from './layers.js';
import { INPUT, type SnnModel } from './model.js';

/** For each value (layer name or "input"), the layers that read it, in model order. */
export function consumers(model: SnnModel): Map<string, Layer[]> {
  const map = new Map<string, Layer[]>([[INPUT, []], ...model.layers.map((l) => [l.name, []] as [string, Layer[]])]);
  for (const layer of model.layers) for (const src of layer.inputs) map.get(src)!.push(layer);
  return map;
}
