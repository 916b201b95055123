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
 * so the work that scales with the layer's size (products with W and x̄) runs over non-zero e only.
 * Buffers come from the caller's Scratch: what is returned is valid until the next call with it.
 *
 * Owns the sparse products; training/tf-network.ts decides where they apply and wires the tensors.
 */
import { type Scratch, localZoSampler } from './neuron-kernel.js';

/** The non-zero local terms e = ĝ·dL/ds, by flat index t·B·N + b·N + n. */
export interface LocalTerms {
  readonly index: Int32Array;
  readonly value: Float32Array;
  /** Neurons (× steps × samples) whose estimate ĝ is non-zero. */
  readonly active: number;
}

/** e = ĝ(|u − θ|)·dy where LocalZO's estimate is non-zero (`margins`: u − θ per step, from the kernel). */
export function localTerms(margins: Float32Array, dy: Float32Array, samples: number, delta: number, seed: number): LocalTerms {
  const zo = localZoSampler(samples, delta, seed);
  let index = new Int32Array(1024);
  let value = new Float32Array(1024);
  let n = 0;
  for (let i = 0; i < margins.length; i++) {
    const g = zo.estimate(i, Math.abs(margins[i]));
    if (g === 0 || dy[i] === 0) continue;
    if (n === index.length) {
      index = grow(index);
      value = grow(value);
    }
    index[n] = i;
    value[n++] = g * dy[i];
  }
  return { index: index.subarray(0, n), value: value.subarray(0, n), active: zo.active() };
}

function grow<A extends Int32Array | Float32Array>(a: A): A {
  const b = new (a.constructor as new (n: number) => A)(a.length * 2);
  b.set(a);
  return b;
}

/** The membrane's linear response: v_t = β·v_{t−1} + r·I_t. */
export interface Membrane {
  readonly beta: number;
  readonly r: number;
}

/** x̄_t = β·x̄_{t−1} + x_t over T steps of [B·size] (a static x: the same x every step). */
function trace(x: Float32Array, isStatic: boolean, T: number, per: number, beta: number, scratch: Scratch): Float32Array {
  const out = scratch.f32('trace', T * per);
  for (let t = 0; t < T; t++) {
    const off = t * per;
    const xOff = isStatic ? 0 : off;
    if (t === 0) for (let i = 0; i < per; i++) out[i] = x[xOff + i];
    else for (let i = 0; i < per; i++) out[off + i] = beta * out[off - per + i] + x[xOff + i];
  }
  return out;
}

/** dx_t = ρ_t + β·dx_{t+1}, in place (ρ given per step); for a static input, Σ_t dx_t. */
function leakBackwards(rho: Float32Array, isStatic: boolean, T: number, per: number, beta: number): Float32Array {
  for (let t = T - 2; t >= 0; t--) {
    const off = t * per;
    for (let i = 0; i < per; i++) rho[off + i] += beta * rho[off + per + i];
  }
  if (!isStatic) return rho;
  const sum = rho.slice(0, per);
  for (let t = 1; t < T; t++) for (let i = 0; i < per; i++) sum[i] += rho[t * per + i];
  return sum;
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
  /** Per step [T·B·…input] (a static input: summed, [B·…input]), or undefined when the input needs no gradient. */
  readonly dx?: Float32Array;
}

/**
 * Dense layer y = x·W + b (tf layout: W [inputs, N]); x [T·B, inputs] or static [B, inputs].
 */
export function denseSparseGradients(e: LocalTerms, x: Float32Array, isStatic: boolean, W: Float32Array, T: number, B: number, inputs: number, N: number, m: Membrane, needDx: boolean, scratch: Scratch): SparseGradients {
  const xbar = trace(x, isStatic, T, B * inputs, m.beta, scratch);
  const c = biasTrace(T, m.beta);
  const dW = new Float32Array(inputs * N);
  const db = new Float32Array(N);
  const rho = needDx ? scratch.f32('rho', T * B * inputs).fill(0) : undefined;
  for (let k = 0; k < e.index.length; k++) {
    const flat = e.index[k];
    const n = flat % N;
    const row = (flat - n) / N; // t·B + b
    const t = Math.floor(row / B);
    const g = m.r * e.value[k];
    db[n] += g * c[t];
    const xo = row * inputs;
    for (let i = 0, w = n; i < inputs; i++, w += N) dW[w] += g * xbar[xo + i];
    if (rho) for (let i = 0, w = n; i < inputs; i++, w += N) rho[xo + i] += g * W[w];
  }
  return { dW, db, ...(rho ? { dx: leakBackwards(rho, isStatic, T, B * inputs, m.beta) } : {}) };
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
 * x [T·B, H, W, C] (padded) or static [B, H, W, C].
 */
export function convSparseGradients(e: LocalTerms, x: Float32Array, isStatic: boolean, filter: Float32Array, T: number, B: number, g: ConvGeometry, m: Membrane, needDx: boolean, scratch: Scratch): SparseGradients {
  const inPer = g.H * g.W * g.C;
  const xbar = trace(x, isStatic, T, B * inPer, m.beta, scratch);
  const c = biasTrace(T, m.beta);
  const dW = new Float32Array(g.kh * g.kw * g.C * g.O);
  const db = new Float32Array(g.O);
  const rho = needDx ? scratch.f32('rho', T * B * inPer).fill(0) : undefined;
  const rowStride = g.W * g.C;
  for (let k = 0; k < e.index.length; k++) {
    const flat = e.index[k];
    const o = flat % g.O;
    const pos = (flat - o) / g.O; // (t·B + b)·Ho·Wo + i·Wo + j
    const sample = Math.floor(pos / (g.Ho * g.Wo)); // t·B + b
    const ij = pos - sample * g.Ho * g.Wo;
    const i = Math.floor(ij / g.Wo);
    const j = ij - i * g.Wo;
    const t = Math.floor(sample / B);
    const amount = m.r * e.value[k];
    db[o] += amount * c[t];
    const base = sample * inPer + i * g.sh * rowStride + j * g.sw * g.C;
    for (let u = 0; u < g.kh; u++) {
      for (let v = 0; v < g.kw; v++) {
        const xo = base + u * rowStride + v * g.C;
        const wo = (u * g.kw + v) * g.C * g.O + o;
        for (let ch = 0, w = wo; ch < g.C; ch++, w += g.O) {
          dW[w] += amount * xbar[xo + ch];
          if (rho) rho[xo + ch] += amount * filter[w];
        }
      }
    }
  }
  return { dW, db, ...(rho ? { dx: leakBackwards(rho, isStatic, T, B * inPer, m.beta) } : {}) };
}
