/**
 * A neuron layer's step as a straight-line program of elementwise float32 operations, ready to be
 * interpreted: the layer's model declaration (neurons.ts) with its parameters bound. Operations on
 * parameters alone are folded into constants (in float32, as a float32 kernel would compute them);
 * multiplying by a constant 1 and adding or subtracting a constant 0 are dropped, which changes no value
 * and keeps graphs as small as a hand-written step. The simulator, the ONNX lowering and training
 * execute these programs one instruction after another, so they round identically.
 *
 * This module owns binding and folding; executing a program is each interpreter's business.
 */
import type { NeuronLayer } from './layers.js';
import { type BinaryOp, type Expr, type NeuronModel, neuronModel } from './neurons.js';
import { sizeOf } from './tensor.js';
import { paramLanes } from './params.js';

/** A constant: one value for every neuron (length 1) or one per neuron (length N). */
export interface Const {
  readonly kind: 'const';
  /** `<layer>.<param or value name>`: ONNX initialiser names follow it. */
  readonly name: string;
  readonly values: Float32Array;
}

/** A value a program instruction reads. */
export type Operand = Const | { readonly kind: 'input' } | { readonly kind: 'spikes' } | { readonly kind: 'state'; readonly name: string } | { readonly kind: 'temp'; readonly id: number };

export type Instruction =
  /** temp[id] = a ∘ b (elementwise, one float32 rounding). */
  | { readonly do: 'op'; readonly id: number; readonly op: BinaryOp; readonly a: Operand; readonly b: Operand; readonly name: string }
  /** state ← value (later instructions see the new value). */
  | { readonly do: 'set'; readonly state: string; readonly value: Operand; readonly name: string }
  /**
   * s = [value ≥ threshold] (graded: s = value where |value| ≥ threshold, else 0; burst: s = min(⌊value/threshold⌋,
   * burst) where value ≥ threshold, else 0, with the quotient rounded to float32 before the floor); then, when
   * `resets`, the reset of that state by the layer's mode (subtract: value − s·threshold).
   */
  | { readonly do: 'fire'; readonly value: Operand; readonly threshold: Operand; readonly resets?: string; readonly graded?: boolean; readonly burst?: Operand };

export interface NeuronProgram {
  readonly layer: NeuronLayer;
  readonly model: NeuronModel;
  /** Neurons in the layer (per sample). */
  readonly size: number;
  /** State variables and their initial values (length 1 or N). */
  readonly state: readonly { readonly name: string; readonly init: Float32Array }[];
  readonly instructions: readonly Instruction[];
  /** For the `to_v_reset` mode: the value after a spike. */
  readonly vReset: Const;
  /** The reported membrane state, if any; the output of non-spiking models. */
  readonly membrane?: string;
  readonly spiking: boolean;
}

const f = Math.fround;

/** The model declaration of a neuron layer (the verifier guarantees it exists). */
export function modelOf(layer: NeuronLayer): NeuronModel {
  const m = neuronModel(layer.model);
  if (!m) throw new Error(`layer "${layer.name}": unknown neuron model "${layer.model}"`);
  return m;
}

/** Binds `layer`'s parameters (broadcast to `shape`, its per-sample shape) into its model's program. */
export function neuronProgram(layer: NeuronLayer, shape: readonly number[]): NeuronProgram {
  const model = modelOf(layer);
  const size = sizeOf(shape);
  const params = new Map<string, Const>();
  const paramConst = (name: string): Const => {
    let c = params.get(name);
    if (!c) {
      const p = layer.params[name];
      if (p === undefined) throw new Error(`layer "${layer.name}": ${model.name} parameter "${name}" is missing`);
      c = { kind: 'const', name: `${layer.name}.${name}`, values: paramLanes(p, shape) };
      params.set(name, c);
    }
    return c;
  };
  const instructions: Instruction[] = [];
  let nextId = 0;
  const lower = (e: Expr): Operand => {
    switch (e.kind) {
      case 'param':
        return paramConst(e.name);
      case 'const':
        return { kind: 'const', name: `${layer.name}.const_${e.value}`, values: Float32Array.of(e.value) };
      case 'input':
      case 'spikes':
        return { kind: e.kind };
      case 'state':
        return { kind: 'state', name: e.name };
      default: {
        const a = lower(e.a);
        const b = lower(e.b);
        const simple = simplify(e.kind, a, b, `${layer.name}.${e.as}`);
        if (simple) return simple;
        const id = nextId++;
        instructions.push({ do: 'op', id, op: e.kind, a, b, name: `${layer.name}.${e.as}` });
        return { kind: 'temp', id };
      }
    }
  };
  const assign = (s: { state: string; expr: Expr }) => instructions.push({ do: 'set', state: s.state, value: lower(s.expr), name: `${layer.name}.${s.state}` });
  model.update.forEach(assign);
  const fire = model.fire;
  if (fire) instructions.push({ do: 'fire', value: lower(fire.value), threshold: lower(fire.threshold), resets: fire.resets, ...(fire.graded ? { graded: true } : {}), ...(fire.burst ? { burst: lower(fire.burst) } : {}) });
  model.after?.forEach(assign);
  const state = model.state.map((s) => ({ name: s.name, init: typeof s.init === 'number' ? Float32Array.of(s.init) : paramConst(s.init).values }));
  const vReset: Const = layer.params.v_reset !== undefined ? paramConst('v_reset') : { kind: 'const', name: `${layer.name}.v_reset`, values: Float32Array.of(0) };
  return { layer, model, size, state, instructions, vReset, membrane: model.membrane, spiking: model.fire !== undefined };
}

const isConst = (o: Operand): o is Const => o.kind === 'const';
const all = (c: Const, v: number) => c.values.every((x) => x === v);

/** Folds constant operations and drops identities; undefined when the operation must run. */
function simplify(op: BinaryOp, a: Operand, b: Operand, name: string): Operand | undefined {
  if (isConst(a) && isConst(b)) {
    const n = Math.max(a.values.length, b.values.length);
    const at = (c: Const, i: number) => c.values[c.values.length === 1 ? 0 : i];
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = apply(op, at(a, i), at(b, i));
    return { kind: 'const', name, values };
  }
  if (op === 'mul' && isConst(b) && all(b, 1)) return a;
  if (op === 'mul' && isConst(a) && all(a, 1)) return b;
  if ((op === 'add' || op === 'sub') && isConst(b) && all(b, 0)) return a;
  if (op === 'add' && isConst(a) && all(a, 0)) return b;
  return undefined;
}

/** One elementwise operation rounded to float32. */
function apply(op: BinaryOp, a: number, b: number): number {
  return op === 'add' ? f(a + b) : op === 'sub' ? f(a - b) : op === 'mul' ? f(a * b) : Math.max(a, b);
}
