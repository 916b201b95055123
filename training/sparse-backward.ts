/**
 * LocalZO's sparse backward for a synaptic layer (dense or conv2d) feeding IF or LIF neurons with the
 * subtract reset: the weight and input gradients computed from the neurons whose local estimate is
 * non-zero only, exactly (not an approximation of the dense backward).
 *
 * With the reset detached, the membrane is linear in the currents: v_t = β·v_{t−1} + r·I_t + const, so
 * the current's gradient is dL/dI_t = r·Σ_{t'≥t} β^{t'−t}·e_{t'} with e_t = ĝ_t·dL/ds_t local to each
 * neuron and step — zero wherever LocalZO's estimate ĝ is. Exchanging the sums:
 *   dW = r·Σ_{t'} x̄_{t'}ᵀ·e_{t'},   x̄_t = β·x̄_{t−1} + x_t  (the input's leaky trace),
 *   db = r·Σ_{t'} c_{t'}·e_{t'},    c_t = Σ_{τ≤t} β^τ,
 *   dx_t = Σ_{t'≥t} β^{t'−t}·ρ_{t'},  ρ_t = r·e_t·Wᵀ  (scattered from the non-zero e only),
 * so the work that scales with the layer's size (products with W and x̄) runs over non-zero e only;
 * it runs in training/sparse-wasm.ts's kernel.
 *
 * Owns the sparse products; training/tf-network.ts decides where they apply and wires the tensors.
 */
import { transposeMatrix } from '../compiler/ir/tensor.js';
import type { LocalZoEstimates } from './neuron-kernel.js';
import { arena } from './sparse-wasm.js';

/** The non-zero local terms e = ĝ·dL/ds, by flat index t·B·N + b·N + n. */
export interface LocalTerms {
  readonly index: Int32Array;
  readonly value: Float32Array;
  /** Neurons (× steps × samples) whose estimate ĝ is non-zero. */
  readonly active: number;
}

/** e = ĝ·dy at the neuron-steps whose LocalZO estimate ĝ is non-zero (drawn by the kernel's forward pass). */
export function localTerms(estimates: LocalZoEstimates, dy: Float32Array): LocalTerms {
  const { index: at, g } = estimates;
  const index = new Int32Array(at.length);
  const value = new Float32Array(at.length);
  let n = 0;
  for (let k = 0; k < at.length; k++) {
    const i = at[k];
    if (dy[i] === 0) continue;
    index[n] = i;
    value[n++] = g[k] * dy[i];
  }
  return { index: index.subarray(0, n), value: value.subarray(0, n), active: at.length };
}

/** The membrane's linear response: v_t = β·v_{t−1} + r·I_t. */
export interface Membrane {
  readonly beta: number;
  readonly r: number;
}

/** Σ_{τ≤t} β^τ for t < T. */
function biasTrace(T: number, beta: number): Float64Array {
  const c = new Float64Array(T);
  for (let t = 0; t < T; t++) c[t] = (t ? beta * c[t - 1] : 0) + 1;
  return c;
}

export interface SparseGradients {
  readonly dW: Float32Array;
  readonly db: Float32Array;
  /**
   * Per step [T·B·…input] (a static input: summed, [B·…input]), or undefined when the input needs no
   * gradient. In the kernel's memory: valid until the next call.
   */
  readonly dx?: Float32Array;
}

/** A layer's products as the wasm kernel runs them: per term, where it reads the input and the weights. */
interface Products {
  /** Values per sample of the input. */
  readonly inPer: number;
  /** Weights per output (the kernel reads them transposed, [outputs, taps]), and outputs. */
  readonly taps: number;
  readonly outputs: number;
  /** The weights in the layer's (tf) layout [taps, outputs]. */
  readonly weights: Float32Array;
  /** The kernel's rows per term: count, length, and stride in the input. */
  readonly rows: number;
  readonly len: number;
  readonly stride: number;
  /** Of the term at flat output index `flat` (t·B + b)·outPer + …: its sample row t·B + b, output o, and input offset within the sample. */
  locate(flat: number): { sample: number; o: number; at: number };
}

/**
 * The sums of the file's top comment over the non-zero terms. The input side: a time-varying x
 * [T·B·inPer] is read through its trace x̄, and ρ per step is leaked back into dx; a static x
 * [B·inPer] (the same every step) has x̄_t = c_t·x, so a term of step t reads x with its amount times
 * c_t, and ρ kept per sample with that factor is already Σ_t dx_t = Σ_t' c_t'·ρ_t'.
 */
function sparseProducts(e: LocalTerms, x: Float32Array, isStatic: boolean, T: number, B: number, p: Products, m: Membrane, needDx: boolean): SparseGradients {
  const c = biasTrace(T, m.beta);
  const inputs = B * p.inPer;
  const mem = arena({ terms: e.index.length, xbar: isStatic ? inputs : T * inputs, rho: needDx ? (isStatic ? inputs : T * inputs) : 0, w: needDx ? p.taps * p.outputs : 0, dw: p.taps * p.outputs });
  mem.xbar.set(x);
  if (!isStatic) mem.trace(T, inputs, m.beta);
  if (needDx) transposeMatrix(p.weights, p.taps, p.outputs, mem.w);
  const db = new Float32Array(p.outputs);
  for (let k = 0; k < e.index.length; k++) {
    const { sample, o, at } = p.locate(e.index[k]);
    const t = Math.floor(sample / B);
    const r = m.r * e.value[k];
    db[o] += r * c[t];
    mem.termWords[3 * k] = (isStatic ? sample - t * B : sample) * p.inPer + at;
    mem.termWords[3 * k + 1] = o * p.taps;
    mem.termAmounts[3 * k + 2] = isStatic ? r * c[t] : r;
  }
  mem.run(e.index.length, p.rows, p.len, p.stride);
  if (needDx && !isStatic) mem.leak(T, inputs, m.beta);
  return { dW: transposeMatrix(mem.dw, p.outputs, p.taps), db, ...(needDx ? { dx: mem.rho } : {}) };
}

/**
 * Dense layer y = x·W + b (tf layout: W [inputs, N]); x [T·B, inputs] or static [B, inputs].
 */
export function denseSparseGradients(e: LocalTerms, x: Float32Array, isStatic: boolean, W: Float32Array, T: number, B: number, inputs: number, N: number, m: Membrane, needDx: boolean): SparseGradients {
  const locate = (flat: number) => {
    const o = flat % N;
    return { sample: (flat - o) / N, o, at: 0 };
  };
  return sparseProducts(e, x, isStatic, T, B, { inPer: inputs, taps: inputs, outputs: N, weights: W, rows: 1, len: inputs, stride: 0, locate }, m, needDx);
}

/** Geometry of an NHWC convolution without padding (the input is padded before). */
export interface ConvGeometry {
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly kh: number;
  readonly kw: number;
  readonly O: number;
  readonly sh: number;
  readonly sw: number;
  readonly Ho: number;
  readonly Wo: number;
}

/**
 * Convolution y[b, i, j, o] = b[o] + Σ_{u,v,c} x[b, i·sh+u, j·sw+v, c]·W[u, v, c, o] (tf layout),
 * x [T·B, H, W, C] (padded) or static [B, H, W, C]: per term, kh rows of kw·C contiguous inputs.
 */
export function convSparseGradients(e: LocalTerms, x: Float32Array, isStatic: boolean, filter: Float32Array, T: number, B: number, g: ConvGeometry, m: Membrane, needDx: boolean): SparseGradients {
  const outPer = g.Ho * g.Wo;
  const locate = (flat: number) => {
    const o = flat % g.O;
    const pos = (flat - o) / g.O; // (t·B + b)·Ho·Wo + i·Wo + j
    const sample = Math.floor(pos / outPer);
    const ij = pos - sample * outPer;
    const i = Math.floor(ij / g.Wo);
    const j = ij - i * g.Wo;
    return { sample, o, at: (i * g.sh * g.W + j * g.sw) * g.C };
  };
  const products = { inPer: g.H * g.W * g.C, taps: g.kh * g.kw * g.C, outputs: g.O, weights: filter, rows: g.kh, len: g.kw * g.C, stride: g.W * g.C, locate };
  return sparseProducts(e, x, isStatic, T, B, products, m, needDx);
}
