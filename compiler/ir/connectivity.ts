/**
 * The synapses of a sparse projection (layers.ts `Sparse`), generated from its rule on demand: target
 * j's sources and weights depend only on (seed, j), so a simulator, a lowering or one chip core can
 * generate exactly the targets it holds, and no matrix is ever built. Sources are distinct and come out
 * in ascending order (or as drawn, for consumers that bucket them anyway), each with its weight uniform in
 * [low, high] from (seed, target, source) and rounded to float32.
 * This module owns the rule's meaning; it must not know about targets or hardware.
 */
import { badInput } from '../errors.js';
import type { Sparse } from './layers.js';
import { fmix32 } from './fmix32.js';

export interface SparseRule {
  readonly nIn: number;
  readonly nOut: number;
  readonly fanIn: number;
  /** Sources a target draws from: all nIn, or its window of columns. */
  readonly candidates: number;
  /** The largest |weight| the rule can draw. */
  readonly maxAbsWeight: number;
  /** [low, high]: the weights are drawn in it. */
  readonly weightRange: readonly [number, number];
  /**
   * Writes target j's fanIn sources and their weights into the arrays, from index 0: in ascending source
   * order, or with `anyOrder` in the order drawn (the same synapses, without the sort).
   */
  fill(j: number, sources: Int32Array, weights: Float32Array, anyOrder?: boolean): void;
  /** Where targets draw from: target j (in column ⌊j/blockOut⌋ = c) draws from columns c + offset − radius … c + offset + radius of the ring. */
  readonly window: ColumnWindow;
  /** Writes target j's fanIn sources in the order drawn, without their weights (what counting synapses per source needs). */
  fillSources(j: number, sources: Int32Array): void;
}

/** A rule's columns (one column of all nIn sources and nOut targets when it has none). */
export interface ColumnWindow {
  readonly count: number;
  readonly blockIn: number;
  readonly blockOut: number;
  readonly radius: number;
  readonly offset: number;
  /** Columns a target draws from: min(2·radius + 1, count). */
  readonly blocks: number;
}

/** The rule of `layer` over an input of nIn values; refuses, naming the layer, what cannot be drawn. */
export function sparseRule(layer: Sparse, nIn: number): SparseRule {
  const where = `layer "${layer.name}"`;
  const { size: nOut, fanIn, seed, columns } = layer;
  const { low, high } = layer.weight;
  if (columns && nIn % columns.count !== 0) throw badInput(`${where}: its input of ${nIn} values is not divisible into ${columns.count} columns`);
  const window: ColumnWindow = !columns
    ? { blocks: 1, blockIn: nIn, blockOut: nOut, radius: 0, count: 1, offset: 0 }
    : { blocks: Math.min(2 * columns.radius + 1, columns.count), blockIn: nIn / columns.count, blockOut: nOut / columns.count, radius: columns.radius, count: columns.count, offset: columns.offset ?? 0 };
  const candidates = window.blocks * window.blockIn;
  if (fanIn > candidates) throw badInput(`${where}: fan_in ${fanIn} is more than the ${candidates} sources a target can draw from`);
  const chosen = new ChosenSet(fanIn);
  return {
    nIn,
    nOut,
    fanIn,
    candidates,
    maxAbsWeight: Math.max(Math.abs(low), Math.abs(high)),
    weightRange: [low, high],
    window,
    fill(j, sources, weights, anyOrder = false) {
      drawSources(j, sources);
      if (!anyOrder) sources.subarray(0, fanIn).sort();
      // Each weight from (seed, j, source) alone, so that it does not depend on the order.
      const key = Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
      for (let i = 0; i < fanIn; i++) weights[i] = Math.fround(low + (high - low) * unit(key ^ Math.imul(sources[i] + 1, 0xc2b2ae35)));
    },
    fillSources: drawSources,
  };

  function drawSources(j: number, sources: Int32Array): void {
    // mulberry32 from a hash of (seed, j), written out with its state in a local: the draws' hot loop.
    let state = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(j + 1, 0xc2b2ae35);
    // The window's first source: blocks c + offset − radius … c + offset + radius on the ring (all of them when they cover it).
    const first = window.blocks === window.count ? 0 : ((((Math.floor(j / window.blockOut) + window.offset - window.radius) % window.count) + window.count) % window.count) * window.blockIn;
    // Floyd's algorithm: fanIn distinct candidates in fanIn draws.
    chosen.clear();
    for (let m = candidates - fanIn, k = 0; m < candidates; m++, k++) {
      state = (state + 0x6d2b79f5) | 0;
      let r = Math.imul(state ^ (state >>> 15), 1 | state);
      r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
      const t = Math.floor(((r ^ (r >>> 14)) >>> 0) * TWO_TO_MINUS_32 * (m + 1));
      sources[k] = (first + (chosen.add(t) ? t : (chosen.add(m), m))) % nIn;
    }
  }
}

/** 2⁻³²: a product by it equals the division by 2³² (a power of two), and costs less. */
const TWO_TO_MINUS_32 = 2 ** -32;

/** A set of at most `capacity` non-negative integers: open addressing in a typed array (the draws' hot loop). */
class ChosenSet {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 2;
    while (size < 2 * capacity) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  clear(): void {
    this.slots.fill(-1);
  }

  /** Adds v; false when it was there already. */
  add(v: number): boolean {
    for (let i = Math.imul(v, 0x9e3779b1) & this.mask; ; i = (i + 1) & this.mask) {
      if (this.slots[i] === v) return false;
      if (this.slots[i] === -1) {
        this.slots[i] = v;
        return true;
      }
    }
  }
}

/** A uniform number in [0, 1) from a 32-bit key. */
function unit(x: number): number {
  return fmix32(x) * TWO_TO_MINUS_32;
}

/** Every target's synapses, target after target, each in ascending source order: [nOut·fanIn] sources and weights. */
export function drawSynapses(rule: SparseRule): { readonly sources: Int32Array; readonly weights: Float32Array } {
  const k = rule.fanIn;
  const sources = new Int32Array(rule.nOut * k);
  const weights = new Float32Array(rule.nOut * k);
  for (let j = 0; j < rule.nOut; j++) rule.fill(j, sources.subarray(j * k, (j + 1) * k), weights.subarray(j * k, (j + 1) * k));
  return { sources, weights };
}

/** Most weights a sparse projection may be materialised into (a dense [nOut, nIn] float32 matrix: 256 MiB). */
export const MAX_MATERIALISED = 2 ** 26;

/**
 * The projection as a dense [nOut, nIn] matrix, for consumers without sparse kernels (the gpu target's
 * ONNX); refuses, naming the layer, past MAX_MATERIALISED weights.
 */
export function materialise(layer: Sparse, rule: SparseRule, what: string): Float32Array {
  if (rule.nOut * rule.nIn > MAX_MATERIALISED) {
    throw badInput(`layer "${layer.name}": ${what} holds a sparse projection as a dense ${rule.nOut}×${rule.nIn} matrix, more than ${MAX_MATERIALISED} weights (it has ${rule.nOut * rule.fanIn} synapses; the spinnaker target maps it without a matrix)`);
  }
  const w = new Float32Array(rule.nOut * rule.nIn);
  const { sources, weights } = drawSynapses(rule);
  for (let i = 0; i < sources.length; i++) w[Math.floor(i / rule.fanIn) * rule.nIn + sources[i]] = weights[i];
  return w;
}
