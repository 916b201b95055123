/** Graph queries over a model's layers: who reads a value, what a value depends on, what never changes. */
import { type Layer, isStateful } from './layers.js';
import { INPUT, type SnnModel } from './model.js';

/** For each value (layer name or "input"), the layers that read it, in model order. */
export function consumers(model: SnnModel): Map<string, Layer[]> {
  const map = new Map<string, Layer[]>([[INPUT, []], ...model.layers.map((l) => [l.name, []] as [string, Layer[]])]);
  for (const layer of model.layers) for (const src of layer.inputs) map.get(src)!.push(layer);
  return map;
}

/** `name` and every value it reads, directly or through other layers. */
export function ancestors(model: SnnModel, name: string): Set<string> {
  const found = new Set<string>([name]);
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    if (found.has(layer.name)) for (const src of layer.inputs) found.add(src);
  }
  return found;
}

/**
 * Values that are the same at every step: the input under direct encoding, and every stateless layer
 * that reads only such values (the static prefix, computed once per sample).
 */
export function staticValues(model: SnnModel): Set<string> {
  const statics = new Set<string>(model.input.encoding.type === 'direct' ? [INPUT] : []);
  for (const l of model.layers) if (!isStateful(l) && l.inputs.every((n) => statics.has(n))) statics.add(l.name);
  return statics;
}
