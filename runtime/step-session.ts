/**
 * Drives a gpu model compiled with the `step` schedule one time step per onnxruntime call: encodes the
 * raw input exactly as the reference simulator does (encoders.ts), feeds each step's input and the state
 * tensors back, and sums (or averages) the per-step outputs. It knows onnxruntime only through the small
 * interface below, so the same code runs with onnxruntime-node, onnxruntime-web in Node, and in the
 * browser demo (tools/demo/app/); it imports nothing from Node.
 */
import { badInput } from '../compiler/errors.js';
import { averagesOverTime } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { preprocess, rateEncode, timeMajor } from '../compiler/reference/encoders.js';
import type { GpuManifest } from '../targets/gpu/manifest.js';
import { runChecked } from './graph-outputs.js';

/** What StepSession needs of an onnxruntime package (node or web): its Tensor and a session's run. */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly type: string;
}
export interface OrtLike {
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensorLike;
}
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
}

/** One step's results for the whole (padded) batch. */
export interface StepResult {
  /** 1-based step just computed. */
  readonly t: number;
  /** This step's output values [B, classes] (before decoding over time). */
  readonly y: Float32Array;
  /** Spikes [B, N] of each probed layer at this step. */
  readonly probes: ReadonlyMap<string, Float32Array>;
  /** Each state tensor after this step, by its manifest input name ([B, ...]). */
  readonly states: ReadonlyMap<string, Float32Array>;
}

const f = Math.fround;

/** A state tensor of `size` values: one initial value everywhere, or one per neuron repeated over the batch. */
function initialState(init: number | readonly number[], size: number): Float32Array {
  if (typeof init === 'number') return new Float32Array(size).fill(init);
  return Float32Array.from({ length: size }, (_, i) => init[i % init.length]);
}

/**
 * The per-step inputs of one padded batch of raw input, time-major [T, B, ...shape], exactly as the
 * reference simulator encodes them; undefined for direct input, which the graph takes raw.
 */
export function encodeSteps(m: GpuManifest, raw: Float32Array, sampleOffset: number): Float32Array | undefined {
  const perStep = sizeOf(m.inputShape);
  if (m.encoding.type === 'rate') return rateEncode(preprocess(m.preprocess, raw, perStep, m.inputShape[0]), m.batch, perStep, m.timesteps, m.encoding.seed, sampleOffset);
  if (m.encoding.type === 'events') return timeMajor(raw, m.batch, m.timesteps, perStep);
  return undefined;
}

export class StepSession {
  private steps: Float32Array | undefined;
  private raw: Float32Array = new Float32Array(0);
  private state = new Map<string, Float32Array>();
  private sum: Float32Array = new Float32Array(0);
  private t = 0;

  constructor(
    readonly manifest: GpuManifest,
    private readonly ort: OrtLike,
    private readonly session: OrtSessionLike,
    /** Names the model in errors. */
    private readonly source = 'model.onnx',
  ) {
    if (manifest.schedule !== 'step') throw badInput(`${source}: compiled with the ${manifest.schedule} schedule; stepping needs --schedule step`);
  }

  /** Values per sample of raw input ([...shape], or [T, ...shape] for event input). */
  get sampleSize(): number {
    const m = this.manifest;
    return sizeOf(m.inputShape) * (m.encoding.type === 'events' ? m.timesteps : 1);
  }

  /** Starts a run on one padded batch of raw input (B · sampleSize values); `sampleOffset` seeds rate coding. */
  start(raw: Float32Array, sampleOffset = 0): void {
    const m = this.manifest;
    const B = m.batch;
    if (raw.length !== B * this.sampleSize) throw badInput(`input has ${raw.length} values, expected a batch of ${B} samples × ${this.sampleSize}`);
    this.raw = raw;
    this.steps = encodeSteps(m, raw, sampleOffset);
    this.state = new Map(m.io.states.map((s) => [s.input, initialState(s.init, sizeOf(s.dims))]));
    this.sum = new Float32Array(B * m.classes);
    this.t = 0;
  }

  /** Whether all T steps have run. */
  get done(): boolean {
    return this.t >= this.manifest.timesteps;
  }

  /** Runs the next step. */
  async step(): Promise<StepResult> {
    const m = this.manifest;
    if (this.done) throw new Error('StepSession.step: all steps have run; call start() again');
    const perStep = sizeOf(m.inputShape) * m.batch;
    const x = this.steps ? this.steps.subarray(this.t * perStep, (this.t + 1) * perStep) : this.raw;
    const feeds: Record<string, OrtTensorLike> = { [m.io.input.name]: new this.ort.Tensor('float32', x, m.io.input.dims) };
    for (const s of m.io.states) feeds[s.input] = new this.ort.Tensor('float32', this.state.get(s.input)!, s.dims);
    const r = await this.call(feeds);
    const y = r.get(m.io.output.name)!;
    for (let i = 0; i < y.length; i++) this.sum[i] = f(this.sum[i] + y[i]);
    for (const s of m.io.states) this.state.set(s.input, r.get(s.output)!);
    this.t++;
    return { t: this.t, y, probes: new Map(m.io.probes.map((p) => [p.layer, r.get(p.name)!])), states: this.state };
  }

  /** The decoded output [B, classes] after the steps run so far (the mean for averaging decodings). */
  decoded(): Float32Array {
    const t = this.t;
    return averagesOverTime(this.manifest.decoding) && t > 0 ? this.sum.map((v) => f(v / t)) : this.sum.slice();
  }

  /** One onnxruntime call; every output read present with the size the manifest gives. */
  private async call(feeds: Record<string, OrtTensorLike>): Promise<Map<string, Float32Array>> {
    const r = await runChecked(this.session, feeds, this.manifest, this.source);
    return new Map(Object.entries(r).map(([name, v]) => [name, v.data as Float32Array]));
  }
}
