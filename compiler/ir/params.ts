/**
 * Neuron parameters: a number (one value for every neuron, kept exactly as given, rounded to float32
 * where it is used, as weights are), or a float32 tensor that broadcasts to the layer (numpy rules,
 * trailing axes aligned): one value per channel ([C, 1, 1] for a [C, H, W] layer) or one per neuron.
 * This module owns broadcasting and the questions targets ask of a parameter (one value? how many?);
 * it must not know about neuron models.
 */
import { ExitCode, SnncError } from '../errors.js';
import type { NeuronLayer } from './layers.js';
import { type Tensor, shapeToString, sizeOf } from './tensor.js';

/** Whether `from` broadcasts to `to` (numpy rules). */
export function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return sizeOf(from) === 1;
  for (let k = 1; k <= from.length; k++) {
    const a = from[from.length - k];
    if (a !== 1 && a !== to[to.length - k]) return false;
  }
  return true;
}

/** The tensor's values for every element of `shape` (row-major), broadcasting per numpy. */
export function broadcastTo(t: Tensor, shape: readonly number[]): Float32Array {
  const n = sizeOf(shape);
  if (t.data.length === n && (t.shape.length === shape.length || sizeOf(t.shape) === n)) return t.data;
  if (!broadcastsTo(t.shape, shape)) throw new Error(`tensor ${shapeToString(t.shape)} does not broadcast to ${shapeToString(shape)}`);
  if (sizeOf(t.shape) === 1) return new Float32Array(n).fill(t.data[0]);
  const from = [...Array(shape.length - t.shape.length).fill(1), ...t.shape];
  const out = new Float32Array(n);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < shape.length; d++) src = src * from[d] + (from[d] === 1 ? 0 : index[d]);
    out[i] = t.data[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** A neuron parameter: one number for every neuron, or a tensor broadcasting to the layer. */
export type Param = number | Tensor;

/** The parameter's one value if every neuron has the same, else undefined. */
export function uniformValue(p: Param): number | undefined {
  if (typeof p === 'number') return p;
  const v = p.data[0];
  for (let i = 1; i < p.data.length; i++) if (p.data[i] !== v) return undefined;
  return v;
}

/** Number of distinct values of a parameter. */
export function distinctValues(p: Param): number {
  return typeof p === 'number' ? 1 : new Set(p.data).size;
}

/** The parameter's values, one per element of the layer shape (float32). */
export function paramValues(p: Param, shape: readonly number[]): Float32Array {
  return typeof p === 'number' ? new Float32Array(sizeOf(shape)).fill(p) : broadcastTo(p, shape);
}

/** The parameter's values: one (float32) value, or one per element of the layer shape. */
export function paramLanes(p: Param, shape: readonly number[]): Float32Array {
  return typeof p === 'number' ? Float32Array.of(p) : sizeOf(p.shape) === 1 ? Float32Array.of(p.data[0]) : broadcastTo(p, shape);
}

/** Every value of the parameter (one for a number). */
export function paramData(p: Param): ArrayLike<number> {
  return typeof p === 'number' ? [p] : p.data;
}

/**
 * The one value of `layer`'s parameter `name`, for targets that take one value per layer; a parameter
 * that differs between neurons is refused by name, with the number of distinct values.
 */
export function layerValue(layer: NeuronLayer, name: string, who: string): number {
  const t = layer.params[name];
  if (t === undefined) throw new Error(`layer "${layer.name}" has no parameter "${name}"`);
  const v = uniformValue(t);
  if (v === undefined) throw new SnncError(`layer "${layer.name}": ${name} has ${distinctValues(t)} distinct values across neurons; ${who} takes one value per layer`, ExitCode.doesNotFit);
  return v;
}

