/**
 * Membrane noise of a T=1 noise-trained network (conversion.md §6.2): the record a model carries in
 * `metadata.noise`, its parser for the command line (`gaussian:mean,std`), and its closed forms. At
 * T=1 a neuron fires iff z + ε ≥ θ with ε drawn fresh per neuron and sample, so
 *   P(s = 1) = P(ε ≥ θ − z) = Φ((z + μ − θ)/σ)          (gaussian, ε ~ N(μ, σ²))
 *            = clip((z + μ − θ)/w + ½, 0, 1)            (uniform, ε ~ U[μ − w/2, μ + w/2], w = σ√12)
 * and dP/dz is the noise density at θ − z (the training gradient). Sampling lives in the runtime.
 */
import { badInput } from '../errors.js';
import type { SnnModel } from './model.js';

export type NoiseDistribution = 'gaussian' | 'uniform';
export const NOISE_DISTRIBUTIONS: readonly NoiseDistribution[] = ['gaussian', 'uniform'];
/** Where the noise is added: to the membrane, after integration and before the threshold test. */
export const NOISE_SITE = 'membrane-before-threshold';

export interface MembraneNoise {
  readonly dist: NoiseDistribution;
  readonly mean: number;
  /** Standard deviation σ ≥ 0 (for uniform noise the width is σ√12). */
  readonly std: number;
  readonly where: typeof NOISE_SITE;
  /** The neuron layers it was applied to (all of them when training wrote it). */
  readonly layers?: readonly string[];
}

function checked(noise: Omit<MembraneNoise, 'where'> & { where?: string }, where: string): MembraneNoise {
  if (!NOISE_DISTRIBUTIONS.includes(noise.dist)) throw badInput(`${where}: unknown noise distribution "${noise.dist}" (expected ${NOISE_DISTRIBUTIONS.join(' or ')})`);
  if (!Number.isFinite(noise.mean)) throw badInput(`${where}: noise mean must be a finite number, got ${noise.mean}`);
  if (!(Number.isFinite(noise.std) && noise.std >= 0)) throw badInput(`${where}: noise std must be a finite number ≥ 0, got ${noise.std}`);
  if ((noise.where ?? NOISE_SITE) !== NOISE_SITE) throw badInput(`${where}: noise applied at "${noise.where}"; snnc converts only noise on the ${NOISE_SITE}`);
  return { dist: noise.dist, mean: noise.mean, std: noise.std, where: NOISE_SITE, ...(noise.layers ? { layers: [...noise.layers] } : {}) };
}

/** Parses `gaussian:mean,std` (or `uniform:mean,std`), as `--noise` and `--assume-noise` take it. */
export function parseNoiseSpec(spec: string, option = '--noise'): MembraneNoise {
  const m = /^([a-z]+):([^,]+),([^,]+)$/.exec(spec.trim());
  if (!m) throw badInput(`${option} ${spec}: expected DIST:MEAN,STD, e.g. gaussian:0.5,0.3`);
  const [mean, std] = [Number(m[2]), Number(m[3])];
  if (!Number.isFinite(mean) || !Number.isFinite(std)) throw badInput(`${option} ${spec}: mean and std must be numbers`);
  return checked({ dist: m[1] as NoiseDistribution, mean, std }, `${option} ${spec}`);
}

/** The model's `metadata.noise`, validated, or undefined if it has none. `file` names the model in errors. */
export function noiseOf(model: SnnModel, file = model.name): MembraneNoise | undefined {
  const raw = model.metadata.noise as Record<string, unknown> | undefined;
  if (raw === undefined) return undefined;
  const where = `${file}: metadata.noise`;
  if (typeof raw !== 'object' || raw === null) throw badInput(`${where} must be an object {dist, mean, std, where}`);
  const layers = raw.layers;
  if (layers !== undefined && !(Array.isArray(layers) && layers.every((l) => typeof l === 'string'))) throw badInput(`${where}.layers must be a list of layer names`);
  return checked({ dist: raw.dist as NoiseDistribution, mean: raw.mean as number, std: raw.std as number, where: raw.where as string | undefined, layers: layers as string[] | undefined }, where);
}

/** Standard normal CDF Φ(x) (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** P(z + ε ≥ θ): the probability that a neuron with input z fires at T=1 under `noise`. */
export function firingProbability(z: number, threshold: number, noise: Pick<MembraneNoise, 'dist' | 'mean' | 'std'>): number {
  const d = z + noise.mean - threshold;
  if (noise.std === 0) return d >= 0 ? 1 : 0;
  if (noise.dist === 'gaussian') return normalCdf(d / noise.std);
  const w = noise.std * Math.sqrt(12);
  return Math.min(1, Math.max(0, d / w + 0.5));
}
