/**
 * Loihi's fixed-point arithmetic, bit-accurate to Lava's `PyLifModelBitAcc` and `PyDenseModelBitAcc`
 * (loihi.md §1.3–§1.4, §2.2) and to its fixed-point sigma-delta neurons (§2.6). Integers are held in JS
 * numbers (exact below 2^53; every CUBA product here is below 2^37). This is the ground layer of the
 * Loihi emulator; the descriptor, partitioner and quantiser of the Loihi target build on it.
 */

export const DECAY_UNITY = 4096;
/** Loihi currents and voltages are 24-bit signed: |u|, |v| < UV_MAX. */
export const UV_MAX = 2 ** 23;

/** Per-population CUBA-LIF parameters in Loihi units. */
export interface CubaParams {
  /** Current decay du ∈ [0, 4095] (effective factor (4096 − (du + 1))/4096; du = −1 means none). */
  readonly du: number;
  /** Voltage decay dv ∈ [0, 4095] (factor (4096 − dv)/4096). */
  readonly dv: number;
  /** Threshold mantissa: θ = vth · 2^6; a neuron spikes when v > θ. */
  readonly vth: number;
  /** Per-neuron bias mantissa (13-bit signed) and the shared exponent (0…7). */
  readonly biasMant?: ArrayLike<number>;
  readonly biasExp?: number;
  /**
   * Soft reset: on a spike v ← v − resetSubtract instead of v ← 0. Not Lava's stock LIF: a Loihi 2
   * microcode neuron (Loihi 1 can only reset to 0). Used for converted networks, whose IF neurons
   * subtract θ.
   */
  readonly resetSubtract?: number;
}

/** Decay by D/4096, truncating toward zero (sign-magnitude >> 12). */
function decay(x: number, d: number): number {
  return Math.trunc((x * d) / DECAY_UNITY);
}

/** Lava's 24-bit wrap of u, exactly as coded (one wrap; x = 2^23 is left unchanged). */
function wrapU(x: number): number {
  if (x > UV_MAX) return x - 2 * UV_MAX;
  if (x <= -UV_MAX) return x + 2 * UV_MAX;
  return x;
}

/**
 * One time step for a population: a = summed synaptic input (already in weight units; shifted by 6 here),
 * u, v updated in place; returns the spikes. Order: decay u, add input, wrap u; decay v, add u and bias,
 * saturate v; threshold (strict); reset v to 0, or subtract (u is not reset).
 */
export function cubaLifStep(p: CubaParams, a: ArrayLike<number>, u: Float64Array, v: Float64Array, spikes: Uint8Array): void {
  const du = DECAY_UNITY - (p.du + 1);
  const dv = DECAY_UNITY - p.dv;
  const theta = p.vth * 64;
  const exp = p.biasExp ?? 0;
  for (let k = 0; k < u.length; k++) {
    const mant = p.biasMant?.[k] ?? 0;
    const bias = exp >= 0 ? mant * 2 ** exp : Math.floor(mant / 2 ** -exp);
    u[k] = wrapU(decay(u[k], du) + a[k] * 64);
    v[k] = Math.max(-(UV_MAX - 1), Math.min(UV_MAX - 1, decay(v[k], dv) + u[k] + bias));
    spikes[k] = v[k] > theta ? 1 : 0;
    if (spikes[k]) v[k] = p.resetSubtract === undefined ? 0 : v[k] - p.resetSubtract;
  }
}

export type SignMode = 'mixed' | 'excitatory' | 'inhibitory';

/** Dense weights as Lava prepares them on the first step: 8-bit clip by sign mode, then LSB truncation. */
export function prepareDenseWeights(weights: ArrayLike<number>, numWeightBits = 8, mode?: SignMode): { weights: Float64Array; mode: SignMode } {
  const w = Float64Array.from(weights);
  const sign: SignMode = mode ?? (w.every((x) => x >= 0) ? 'excitatory' : w.every((x) => x <= 0) ? 'inhibitory' : 'mixed');
  const trunc = 2 ** (8 - numWeightBits + (sign === 'mixed' ? 1 : 0));
  for (let i = 0; i < w.length; i++) {
    if (sign === 'mixed') w[i] = Math.floor(Math.max(-256, Math.min(255, w[i])) / trunc) * trunc;
    else if (sign === 'excitatory') w[i] = Math.floor(Math.max(0, Math.min(255, w[i])) / trunc) * trunc;
    else w[i] = -Math.floor(Math.max(0, Math.min(255, -w[i])) / trunc) * trunc;
  }
  return { weights: w, mode: sign };
}

/** acc = W·s for binary spikes, then shifted by weightExp (floor for negative exponents). W: [nOut, nIn]. */
export function denseBitAcc(w: Float64Array, nOut: number, nIn: number, spikes: ArrayLike<number>, weightExp: number, out: Float64Array): void {
  out.fill(0);
  for (let j = 0; j < nIn; j++) {
    if (!spikes[j]) continue;
    for (let o = 0; o < nOut; o++) out[o] += w[o * nIn + j] * spikes[j];
  }
  for (let o = 0; o < nOut; o++) out[o] = weightExp >= 0 ? out[o] * 2 ** weightExp : Math.floor(out[o] / 2 ** -weightExp);
}

/** A sigma-delta population's parameters in Lava units (quantise.ts SigmaDeltaProfile; loihi.md §2.6). */
export interface SigmaDeltaParams {
  readonly kind: 'delta' | 'sigma_delta' | 'sigma';
  /** Threshold mantissa: a change is sent when |δ| ≥ vth·2^(spikeExp + stateExp). */
  readonly vth: number;
  /** Per-neuron bias mantissa, ×2^(spikeExp + stateExp) (SigmaDelta). */
  readonly biasMant?: ArrayLike<number>;
  readonly spikeExp: number;
  readonly stateExp: number;
}

/**
 * One step of Lava's fixed-point Delta, SigmaDelta (ReLU) and Sigma models (PyDeltaModelFixed,
 * PySigmaDeltaModelFixed, PySigmaModelFixed) on int32 values, wrapping as NumPy's int32 arrays do.
 * a = this step's input; sigma, act and residue are updated in place; out = the graded payload
 * s >> stateExp (floor), or σ for a Sigma.
 *   Delta:       act' = a << (spikeExp + stateExp)
 *   SigmaDelta:  σ ← σ + a;  act' = max(σ + bias·2^(spikeExp + stateExp), 0)
 *   both:        δ = act' − act + residue;  s = δ if |δ| ≥ vth·2^(spikeExp + stateExp) else 0;
 *                residue ← δ − s;  act ← act'
 *   Sigma:       σ ← σ + a;  out = σ
 */
export function sigmaDeltaStep(p: SigmaDeltaParams, a: ArrayLike<number>, sigma: Float64Array, act: Float64Array, residue: Float64Array, out: Float64Array): void {
  const scale = 2 ** (p.spikeExp + p.stateExp);
  const vth = (p.vth * scale) | 0;
  const div = 2 ** p.stateExp;
  for (let k = 0; k < out.length; k++) {
    let next: number;
    if (p.kind === 'delta') next = (a[k] * scale) | 0;
    else {
      sigma[k] = (sigma[k] + a[k]) | 0;
      if (p.kind === 'sigma') {
        out[k] = sigma[k];
        continue;
      }
      next = Math.max((sigma[k] + (((p.biasMant?.[k] ?? 0) * scale) | 0)) | 0, 0);
    }
    const delta = (next - act[k] + residue[k]) | 0;
    const s = Math.abs(delta) >= vth ? delta : 0;
    residue[k] = (delta - s) | 0;
    act[k] = next;
    out[k] = Math.floor(s / div);
  }
}
