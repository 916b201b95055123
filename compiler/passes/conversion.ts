/**
 * The ANN→SNN conversion pipeline, frontend-agnostic: an ANN in the IR (from the ONNX frontend) →
 * foldBatchNorm → max-pool policy → calibration on data → convertAnnToSnn. Every pass is verified.
 */
import { badInput } from '../errors.js';
import { type Preprocess, type SnnModel, composePreprocess } from '../ir/model.js';
import { type ResetMode, isNeuron } from '../ir/layers.js';
import { sizeOf } from '../ir/tensor.js';
import { type ActivationScale, type Normalisation, convertAnnToSnn } from './convert-ann.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { type MaxPoolPolicy, hoistMaxPoolBeforeRelu, hoistStaticMaxPools, maxPoolToAvgPool } from './maxpool-policy.js';
import { type Pass, runPasses } from './pipeline.js';
import { type LayerCalibrationOptions, calibrateLayers } from './layer-calibration.js';
import { type ActivationSamples, type OpenAnnSession, collectActivations, collectActivationsWith, scalesFromActivations } from './calibrate.js';
import type { Dataset } from '../io/datasets.js';
import { type MembraneNoise, noiseOf } from '../ir/noise.js';

export interface ConvertOptions {
  readonly norm: Normalisation;
  readonly percentile?: number;
  readonly v0: 'half' | 'zero';
  readonly reset?: ResetMode;
  readonly maxpool: MaxPoolPolicy;
  readonly timesteps: number;
  /** Γ ≥ 2: bursts of up to Γ spikes per step (burst_if neurons; convert-ann.ts); absent or 1: IF neurons. */
  readonly burst?: number;
  /** Preprocessing the ANN expects on raw data (applied before the ANN's own input normalisation). */
  readonly inputPreprocess?: Preprocess;
  /**
   * Layer-wise calibration for the T converted for (layer-calibration.ts) on the first `samples`
   * calibration samples; absent: none.
   */
  readonly layerCalibration?: LayerCalibrationSettings;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface LayerCalibrationSettings extends Pick<LayerCalibrationOptions, 'readout' | 'ridge' | 'iterations' | 'where'> {
  readonly samples: number;
}

/** The measured preset (bench/low-t.ts): bias calibration, one round per layer, the readout refitted. */
export const LAYER_CALIBRATION_PRESET: Omit<LayerCalibrationSettings, 'samples'> = { readout: 'weights', ridge: 0.3, iterations: 1 };

/** Whether the SNN converted for one T serves every T (else it is converted for each). */
export function convertsPerT(options: Pick<ConvertOptions, 'norm' | 'layerCalibration'>): boolean {
  return options.norm === 'mse' || options.layerCalibration !== undefined;
}

export interface ConvertResult {
  readonly snn: SnnModel;
  /** The ANN after folding and the max-pool rewrite: what was calibrated. */
  readonly ann: SnnModel;
  readonly scales: Map<string, ActivationScale>;
}

/** The ANN with user preprocessing applied, folded, and rewritten for the max-pool policy. */
export function prepareAnn(ann: SnnModel, options: Pick<ConvertOptions, 'maxpool' | 'inputPreprocess'>): SnnModel {
  const withInput: SnnModel = options.inputPreprocess ? { ...ann, input: { ...ann.input, preprocess: composePreprocess(options.inputPreprocess, ann.input.preprocess) } } : ann;
  const passes: Pass[] = [foldBatchNorm];
  if (options.maxpool === 'avg') passes.push(maxPoolToAvgPool);
  if (options.maxpool === 'pre') passes.push(hoistMaxPoolBeforeRelu);
  if (options.maxpool === 'auto') passes.push(hoistStaticMaxPools);
  return runPasses(withInput, passes);
}

/** A prepared ANN and its calibration activations: convert it for any T without re-running the ANN. */
export interface Calibrated {
  readonly ann: SnnModel;
  readonly activations: ActivationSamples;
  readonly calibration: { samples: number; first: number } | null;
  /** The calibration data, for layer-wise calibration after conversion. */
  readonly data?: Dataset;
}

type CalibrateOptions = Pick<ConvertOptions, 'maxpool' | 'inputPreprocess' | 'norm' | 'onProgress'> & {
  /** Samples per ANN run (default 100). */
  readonly batch?: number;
};

/** The prepared ANN and the calibration data it needs (null for a data-free normalisation), checked. */
function calibrationInput(ann: SnnModel, calib: Dataset | undefined, options: CalibrateOptions): { prepared: SnnModel; data: Dataset | null } {
  if (ann.layers.some(isNeuron)) throw badInput(`model "${ann.name}" is already spiking: ANN conversion takes a network with ReLU activations (a T=1 model trained with membrane noise converts with --from t1-noise)`);
  const prepared = prepareAnn(ann, options);
  if (!needsCalibration(options.norm)) return { prepared, data: null };
  if (!calib) throw badInput(`--norm ${options.norm} needs calibration data (--calib FILE)`);
  if (sizeOf(calib.sampleShape) !== sizeOf(prepared.input.shape)) {
    throw badInput(`calibration data: each sample has ${sizeOf(calib.sampleShape)} values ([${calib.sampleShape}]) but the ANN takes [${prepared.input.shape}]`);
  }
  return { prepared, data: calib };
}

const calibrationOf = (data: Dataset | null) => (data ? { samples: data.n, first: data.offset } : null);

/** Prepares and calibrates the ANN on the reference simulator. */
export function calibrateAnn(ann: SnnModel, calib: Dataset | undefined, options: CalibrateOptions): Calibrated {
  const { prepared, data } = calibrationInput(ann, calib, options);
  const progress = { batch: options.batch, perChannel: options.norm === 'channel', onProgress: (d: number) => options.onProgress?.(d, data?.n ?? 0) };
  return { ann: prepared, activations: collectActivations(prepared, data?.x ?? new Float32Array(0), data?.n ?? 0, progress), calibration: calibrationOf(data), ...(data ? { data } : {}) };
}

/** calibrateAnn with the ANN run by `open` (e.g. the runtime's onnxruntime session). */
export async function calibrateAnnWith(open: OpenAnnSession, ann: SnnModel, calib: Dataset | undefined, options: CalibrateOptions): Promise<Calibrated> {
  const { prepared, data } = calibrationInput(ann, calib, options);
  if (!data) return { ann: prepared, activations: collectActivations(prepared, new Float32Array(0), 0), calibration: null };
  const activations = await collectActivationsWith(open, prepared, data.x, data.n, { batch: options.batch, perChannel: options.norm === 'channel', onProgress: (d) => options.onProgress?.(d, data.n) });
  return { ann: prepared, activations, calibration: calibrationOf(data), data };
}

/** The SNN for T = options.timesteps from a calibrated ANN (layer-wise calibrated when asked). */
export function convertCalibrated(c: Calibrated, options: ConvertOptions): ConvertResult {
  // T steps of bursts of up to Γ resolve Γ·T levels, as T·Γ steps of IF spikes do (for --norm mse).
  const levels = options.timesteps * (options.burst ?? 1);
  const scales = scalesFromActivations(c.activations, { norm: options.norm, percentile: options.percentile, timesteps: levels, v0: options.v0 });
  const snn = convertAnnToSnn(c.ann, scales, {
    v0: options.v0,
    ...(options.reset ? { reset: options.reset } : {}),
    ...(options.burst ? { burst: options.burst } : {}),
    maxpool: options.maxpool,
    timesteps: options.timesteps,
    provenance: {
      norm: options.norm,
      percentile: options.norm === 'p99.9' || options.norm === 'channel' ? (options.percentile ?? 99.9) : undefined,
      calibration: c.calibration,
    },
  });
  const lc = options.layerCalibration;
  if (!lc) return { snn, ann: c.ann, scales };
  if (!c.data) throw badInput('layer-wise calibration needs calibration data (--calib FILE)');
  if (!(Number.isInteger(lc.samples) && lc.samples >= 1)) throw badInput(`layer-wise calibration: samples must be a positive integer, got ${lc.samples}`);
  const n = Math.min(lc.samples, c.data.n);
  const x = c.data.x.subarray(0, n * sizeOf(c.ann.input.shape));
  const { samples: _, ...settings } = lc;
  const calibrated = calibrateLayers(snn, c.ann, x, n, { ...settings, timesteps: options.timesteps, sampleOffset: c.data.offset });
  return { snn: calibrated.snn, ann: c.ann, scales };
}

export function convertAnn(ann: SnnModel, calib: Dataset | undefined, options: ConvertOptions): ConvertResult {
  return convertCalibrated(calibrateAnn(ann, calib, options), options);
}

export const CONVERSION_SOURCES = ['ann', 't1-noise'] as const;

/** What a model is converted from: an ANN (calibrated on data), or a T=1 model trained with this membrane noise. */
export type ConversionSource = { readonly from: 'ann' } | { readonly from: 't1-noise'; readonly noise: MembraneNoise };

/**
 * How `snnc convert` reads a model: `from` if given, else t1-noise when the model records its training
 * noise (metadata.noise) or one is assumed, else ann. A t1-noise conversion needs the noise (v(0) is its
 * mean): the assumed one, else the recorded one, else a bad-input error naming the file.
 */
export function conversionSource(model: SnnModel, file: string, options: { readonly from?: (typeof CONVERSION_SOURCES)[number]; readonly assumeNoise?: MembraneNoise } = {}): ConversionSource {
  const recorded = noiseOf(model, file);
  const from = options.from ?? (recorded || options.assumeNoise ? 't1-noise' : 'ann');
  if (from === 'ann') {
    if (options.assumeNoise) throw badInput('--assume-noise is for --from t1-noise');
    return { from };
  }
  const noise = options.assumeNoise ?? recorded;
  if (!noise) throw badInput(`${file}: the model records no training noise (metadata.noise), and T=1→T=N conversion sets v(0) to the noise mean; give --assume-noise gaussian:MEAN,STD if you know it`);
  return { from, noise };
}

/** Whether converting an ANN with this normalisation needs calibration data (qcfs takes the trained clip ceilings). */
export function needsCalibration(norm: Normalisation): boolean {
  return norm !== 'qcfs';
}
