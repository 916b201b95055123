/**
 * Surrogate gradients for training spiking layers by backpropagation through time: the forward pass
 * keeps the Heaviside spike s = H(u), u = value − θ, and the backward pass replaces its derivative by
 * a smooth g(u). Each surrogate is declared once with g and its antiderivative S (S′ = g), so a
 * gradient check can run the network with H replaced by S and compare finite differences with the
 * custom gradient. LocalZO (Mukhoty et al., NeurIPS 2023) estimates g per neuron and step from a random
 * perturbation of the membrane; in expectation it is the Gaussian-shaped surrogate below.
 *
 * This module owns the formulas and the `--surrogate` syntax; it must not know about layers or tfjs
 * (training/tf-network.ts evaluates them with tf ops through `SurrogateOps`).
 */
import { badInput } from '../compiler/errors.js';

export const SURROGATE_NAMES = ['fast-sigmoid', 'arctan', 'triangle', 'localzo'] as const;
export type SurrogateName = (typeof SURROGATE_NAMES)[number];

/** A surrogate as given on the command line and recorded in the model's training metadata. */
export type Surrogate =
  /** g(u) = 1 / (1 + k·|u|)²  (SuperSpike; snnTorch's fast_sigmoid with slope k); S(u) = u / (1 + k·|u|). */
  | { readonly name: 'fast-sigmoid'; readonly slope: number }
  /** g(u) = (α/2) / (1 + (π·α·u/2)²)  (snnTorch's atan); S(u) = arctan(π·α·u/2) / π. */
  | { readonly name: 'arctan'; readonly alpha: number }
  /** g(u) = max(0, 1 − |u|/w)  (a triangle of half-width w, peak 1); S(u) = c − c·|c|/(2w), c = clip(u, −w, w). */
  | { readonly name: 'triangle'; readonly width: number }
  /**
   * LocalZO: per neuron and step, m draws z ~ N(0, 1) and the two-point estimate
   * ĝ(u) = (1/m) Σ_k |z_k|/(2δ) · [|u| < δ·|z_k|]  — exactly 0 unless some |z_k| > |u|/δ, so most neurons
   * are inactive in the backward pass. E[ĝ(u)] = φ(u/δ)/δ (the N(0, δ²) density); S is its CDF − ½.
   */
  | { readonly name: 'localzo'; readonly samples: number; readonly delta: number };

export const SURROGATE_DEFAULTS = { 'fast-sigmoid': 25, arctan: 2, triangle: 1, localzo: { samples: 1, delta: 0.5 } } as const;

/** The elementwise tensor operations a surrogate is written in (tf ops, or plain numbers in tests). */
export interface SurrogateOps<T> {
  abs(x: T): T;
  mul(x: T, c: number): T;
  add(x: T, c: number): T;
  div(a: T, b: T): T;
  /** 1/x. */
  inv(x: T): T;
  square(x: T): T;
  atan(x: T): T;
  relu(x: T): T;
  clip(x: T, lo: number, hi: number): T;
  mulT(a: T, b: T): T;
  sub(a: T, b: T): T;
  /** The Gaussian CDF Φ(x). */
  normalCdf(x: T): T;
  /** exp(−x²/2) / √(2π). */
  normalPdf(x: T): T;
}

/** g(u): the surrogate derivative (LocalZO: its expectation). */
export function surrogateGradient<T>(s: Surrogate, u: T, o: SurrogateOps<T>): T {
  switch (s.name) {
    case 'fast-sigmoid': {
      return o.inv(o.square(o.add(o.mul(o.abs(u), s.slope), 1)));
    }
    case 'arctan': {
      return o.mul(o.inv(o.add(o.square(o.mul(u, (Math.PI * s.alpha) / 2)), 1)), s.alpha / 2);
    }
    case 'triangle':
      return o.relu(o.add(o.mul(o.abs(u), -1 / s.width), 1));
    case 'localzo':
      return o.mul(o.normalPdf(o.mul(u, 1 / s.delta)), 1 / s.delta);
  }
}

/** S(u): an antiderivative of g (S′ = g), the smooth stand-in for H in gradient checks. */
export function surrogateAntiderivative<T>(s: Surrogate, u: T, o: SurrogateOps<T>): T {
  switch (s.name) {
    case 'fast-sigmoid':
      return o.div(u, o.add(o.mul(o.abs(u), s.slope), 1));
    case 'arctan':
      return o.mul(o.atan(o.mul(u, (Math.PI * s.alpha) / 2)), 1 / Math.PI);
    case 'triangle': {
      const c = o.clip(u, -s.width, s.width);
      return o.sub(c, o.mul(o.mulT(c, o.abs(c)), 1 / (2 * s.width)));
    }
    case 'localzo':
      return o.add(o.normalCdf(o.mul(u, 1 / s.delta)), -0.5);
  }
}

const positive = (text: string, what: string, spec: string): number => {
  const v = Number(text);
  if (!(text.trim() !== '' && Number.isFinite(v) && v > 0)) throw badInput(`--surrogate ${spec}: ${what} must be a positive number, got "${text}"`);
  return v;
};

/** Parses `fast-sigmoid[:k]`, `arctan[:α]`, `triangle[:w]` or `localzo[:SAMPLES[,δ]]`. */
export function parseSurrogate(spec: string): Surrogate {
  const [name, args = ''] = spec.split(':', 2) as [string, string?];
  const parts = args === '' ? [] : args.split(',');
  const one = (what: string, dflt: number) => {
    if (parts.length > 1) throw badInput(`--surrogate ${spec}: ${name} takes one parameter (${what}), got ${parts.length}`);
    return parts.length ? positive(parts[0], what, spec) : dflt;
  };
  switch (name) {
    case 'fast-sigmoid':
      return { name, slope: one('the slope k', SURROGATE_DEFAULTS[name]) };
    case 'arctan':
      return { name, alpha: one('α', SURROGATE_DEFAULTS[name]) };
    case 'triangle':
      return { name, width: one('the half-width w', SURROGATE_DEFAULTS[name]) };
    case 'localzo': {
      if (parts.length > 2) throw badInput(`--surrogate ${spec}: localzo takes SAMPLES[,δ]`);
      const samples = parts.length ? positive(parts[0], 'SAMPLES', spec) : SURROGATE_DEFAULTS.localzo.samples;
      if (!Number.isInteger(samples) || samples > 64) throw badInput(`--surrogate ${spec}: SAMPLES must be an integer in 1…64, got ${parts[0]}`);
      return { name, samples, delta: parts.length > 1 ? positive(parts[1], 'δ', spec) : SURROGATE_DEFAULTS.localzo.delta };
    }
    default:
      throw badInput(`--surrogate ${spec}: unknown surrogate "${name}" (expected one of ${SURROGATE_NAMES.join(', ')}, e.g. fast-sigmoid:25 or localzo:1,0.5)`);
  }
}

/** The surrogate as one string, as parseSurrogate reads it (for metadata and logs). */
export function surrogateToString(s: Surrogate): string {
  switch (s.name) {
    case 'fast-sigmoid':
      return `${s.name}:${s.slope}`;
    case 'arctan':
      return `${s.name}:${s.alpha}`;
    case 'triangle':
      return `${s.name}:${s.width}`;
    case 'localzo':
      return `${s.name}:${s.samples},${s.delta}`;
  }
}
