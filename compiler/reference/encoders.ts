/**
 * Input encoding shared by the reference simulator and the onnxruntime runner, so both see the same
 * per-step inputs: preprocessing (x·scale − mean) / std in float32 (one rounding per operation, in the
 * order the ONNX graph applies them), seeded Bernoulli rate coding, and event tensors made time-major.
 */
import { uniformFloat32 } from 'pure-rand/distribution/uniformFloat32';
import { streamGenerator } from './seeded-rng.js';
import type { Preprocess } from '../ir/model.js';

const f = Math.fround;

/**
 * Applies preprocessing to `raw`, laid out as [..., C, rest] blocks of `perSample` elements whose first
 * axis has `channels` channels. Steps that are the identity are skipped, exactly as the ONNX lowering does.
 */
export function preprocess(p: Preprocess, raw: Float32Array, perSample: number, channels: number): Float32Array {
  const out = new Float32Array(raw.length);
  const perChannel = perSample / channels;
  const hasMean = p.mean.some((m) => m !== 0);
  const hasStd = p.std.some((s) => s !== 1);
  const mean = p.mean.map(f);
  const std = p.std.map(f);
  const scale = f(p.scale);
  for (let i = 0; i < raw.length; i++) {
    let v = raw[i];
    if (scale !== 1) v = f(v * scale);
    const c = mean.length > 1 || std.length > 1 ? Math.floor((i % perSample) / perChannel) : 0;
    if (hasMean) v = f(v - mean[mean.length > 1 ? c : 0]);
    if (hasStd) v = f(v / std[std.length > 1 ? c : 0]);
    out[i] = v;
  }
  return out;
}

/**
 * Bernoulli rate coding: at step t, element i of sample b spikes when u < clip(x, 0, 1), u ~ U[0, 1)
 * in float32. Sample b draws from its own generator seeded by (seed, sampleOffset + b), so a sample's
 * spikes do not depend on the batch it is in. Returns [T, B, perSample].
 */
export function rateEncode(x: Float32Array, batch: number, perSample: number, timesteps: number, seed: number, sampleOffset: number): Float32Array {
  const out = new Float32Array(timesteps * batch * perSample);
  for (let b = 0; b < batch; b++) {
    const rng = streamGenerator(seed, sampleOffset + b);
    for (let t = 0; t < timesteps; t++) {
      const base = (t * batch + b) * perSample;
      for (let i = 0; i < perSample; i++) {
        const p = x[b * perSample + i];
        out[base + i] = uniformFloat32(rng) < p ? 1 : 0;
      }
    }
  }
  return out;
}

/** [B, T, n] → [T, B, n]. */
export function timeMajor(x: Float32Array, batch: number, timesteps: number, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) for (let t = 0; t < timesteps; t++) out.set(x.subarray((b * timesteps + t) * n, (b * timesteps + t + 1) * n), (t * batch + b) * n);
  return out;
}
