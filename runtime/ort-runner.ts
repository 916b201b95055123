/**
 * Runs a compiled gpu folder (model.onnx + manifest.json) with onnxruntime: onnxruntime-node (CPU,
 * WebGPU, CUDA execution providers) or onnxruntime-web (wasm; the same API in the browser). It pads the
 * last batch, encodes inputs exactly as the reference simulator does (encoders.ts), drives the `step`
 * schedule over time (step-session.ts), and returns decoded outputs and any spike probes.
 */
import type * as OrtTypes from 'onnxruntime-node';
import { ExitCode, SnncError, badInput } from '../compiler/errors.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { type GpuManifest, readGpuFolder } from '../targets/gpu/manifest.js';
import { firstLine, runChecked } from './graph-outputs.js';
import type { RunOptions } from '../targets/target.js';
import { type OrtSessionLike, StepSession, encodeSteps } from './step-session.js';
import { chipInput, decodeChip } from './chip-numerics.js';
import { CertifiedEncoder } from './host-encoder.js';
import { hostEncoder } from '../targets/common/descriptor-checks.js';

type Ort = typeof OrtTypes;

export type OrtBackend = 'node' | 'web';

/** onnxruntime's package, providers ('cpu', 'webgpu', 'cuda'; web: 'wasm'; default ['cpu']) and threads: `snnc run`'s options. */
export type RunnerOptions = RunOptions;

export interface RunResult {
  /** Decoded outputs [n, classes]. */
  readonly output: Float32Array;
  readonly classes: number;
  /** Probed spikes [T, n, N] per layer. */
  readonly spikes: Map<string, Uint8Array>;
  /** Per-step output values [T, n, classes], when compiled with outputSteps. */
  readonly outputSteps?: Float32Array;
  /** `--numerics loihi|spinnaker`: the states [S, n, N] the chip's emulator records (ChipNumerics.states) of each probed population; spikes are then [S, n, N] too. */
  readonly states?: Map<string, { u: Int32Array; v: Int32Array }>;
}

/** A padded batch ready to run: its graph input (absent for the step schedule, which feeds each step itself). */
interface Prepared {
  readonly raw: Float32Array;
  readonly sampleOffset: number;
  readonly feed?: OrtTypes.Tensor;
}

async function loadOrt(backend: OrtBackend): Promise<Ort> {
  return (backend === 'web' ? await import('onnxruntime-web') : await import('onnxruntime-node')) as unknown as Ort;
}

export class OrtRunner {
  private constructor(
    readonly manifest: GpuManifest,
    private readonly ort: Ort,
    private readonly session: OrtTypes.InferenceSession,
    private readonly source: string,
    /** A chip-numerics folder's host encoder on onnxruntime (runtime/host-encoder.ts), where it has the form certified there. */
    private readonly encoder?: CertifiedEncoder,
  ) {}

  static async open(dir: string, options: RunnerOptions = {}): Promise<OrtRunner> {
    const { manifest, onnx, onnxPath } = readGpuFolder(dir);
    return OrtRunner.fromBytes(manifest, onnx, options, onnxPath);
  }


  /** `source` names the model in errors (a folder's model.onnx, or the in-memory compile). */
  static async fromBytes(manifest: GpuManifest, bytes: Uint8Array, options: RunnerOptions = {}, source = 'model.onnx'): Promise<OrtRunner> {
    const backend = options.backend ?? 'node';
    const ort = await loadOrt(backend);
    const sessionOptions: OrtTypes.InferenceSession.SessionOptions = { executionProviders: [...(options.providers ?? (backend === 'web' ? ['wasm'] : ['cpu']))] };
    if (options.threads !== undefined) {
      if (backend === 'web') ort.env.wasm.numThreads = options.threads;
      else Object.assign(sessionOptions, { intraOpNumThreads: options.threads, interOpNumThreads: 1 });
    }
    let session: OrtTypes.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (e) {
      // With the always-available CPU (wasm) provider alone, a model that does not load is a bad model;
      // with others, the provider itself (drivers, libraries) may be what failed.
      const plain = sessionOptions.executionProviders!.every((p) => p === 'cpu' || p === 'wasm');
      throw new SnncError(`${source}: onnxruntime could not load the model with providers [${sessionOptions.executionProviders}]: ${firstLine(e)}`, plain ? ExitCode.badInput : ExitCode.runtime);
    }
    const host = manifest.numerics?.host?.encoder;
    const encoder = host && (await CertifiedEncoder.open(ort, hostEncoder(host, 'manifest.json', manifest.inputShape), manifest.batch, backend));
    return new OrtRunner(manifest, ort, session, source, encoder);
  }

  /** One onnxruntime call, its errors named; every output the runner reads present with its element type and size. */
  private call(feeds: Record<string, OrtTypes.Tensor>): Promise<OrtTypes.InferenceSession.OnnxValueMapType> {
    return runChecked(this.session, feeds, this.manifest, this.source);
  }


  /** Samples per call and values per sample the input data must have. */
  get sampleSize(): number {
    const m = this.manifest;
    return sizeOf(m.inputShape) * (m.encoding.type === 'events' ? m.timesteps : 1);
  }

  /**
   * Runs `n` samples of raw input (`n · sampleSize` values, as for the simulator: [n, ...shape], or
   * [n, T, ...shape] for event input). `sampleOffset` is the global index of the first sample (rate seed).
   */
  async run(raw: Float32Array, n: number, sampleOffset = 0, onBatch?: (done: number) => void): Promise<RunResult> {
    const m = this.manifest;
    const B = m.batch;
    const per = this.sampleSize;
    if (raw.length !== n * per) throw badInput(`input has ${raw.length} values, expected ${n} samples × ${per}`);
    const output = new Float32Array(n * m.classes);
    const steps = m.numerics?.steps ?? m.timesteps;
    const width = (layer: string) => m.io.probes.find((p) => p.layer === layer)!.dims.at(-1)!;
    const spikes = new Map<string, Uint8Array>(m.io.probes.map((p) => [p.layer, new Uint8Array(steps * n * width(p.layer))]));
    const states = m.numerics && new Map(m.numerics.states.map((s) => [s.layer, { u: new Int32Array(steps * n * width(s.layer)), v: new Int32Array(steps * n * width(s.layer)) }]));
    const outputSteps = m.io.outputSteps ? new Float32Array(m.timesteps * n * m.classes) : undefined;
    /** One padded batch of raw input, encoded for the graph. */
    const prepare = async (start: number) => {
      const batch = new Float32Array(B * per);
      batch.set(raw.subarray(start * per, Math.min(n, start + B) * per));
      return this.prepare(batch, sampleOffset + start);
    };
    let next = await prepare(0);
    for (let start = 0; start < n; start += B) {
      const count = Math.min(B, n - start);
      const pending = this.execute(next);
      try {
        // The next batch is encoded before this one is awaited (onnxruntime-node runs the graph on this
        // thread once it yields, so there the two take turns rather than overlap).
        if (start + B < n) next = await prepare(start + B);
      } catch (e) {
        await pending.catch(() => undefined); // the bad input is the error to report, after this batch settles
        throw e;
      }
      const { y, probes, ySteps, uv } = await pending;
      output.set(y.subarray(0, count * m.classes), start * m.classes);
      /** Copies the valid rows of a [T, B, N] batch result into [T, n, N]. */
      const gather = (seq: ArrayLike<number>, dst: Float32Array | Uint8Array | Int32Array, T: number) => {
        const N = seq.length / (T * B);
        for (let t = 0; t < T; t++) {
          for (let b = 0; b < count; b++) for (let k = 0; k < N; k++) dst[(t * n + start + b) * N + k] = seq[(t * B + b) * N + k];
        }
      };
      // A probe records whether a neuron sent a spike: 1, or for graded spikes a non-zero payload.
      for (const [layer, seq] of probes) gather(Uint8Array.from(seq, (x) => (x !== 0 ? 1 : 0)), spikes.get(layer)!, steps);
      for (const [layer, { u, v }] of uv ?? []) {
        gather(u, states!.get(layer)!.u, steps);
        gather(v, states!.get(layer)!.v, steps);
      }
      if (outputSteps && ySteps) gather(ySteps, outputSteps, m.timesteps);
      onBatch?.(start + count);
    }
    return { output, classes: m.classes, spikes, outputSteps, ...(states ? { states } : {}) };
  }

  /** A padded batch's graph input: encoded steps (rate, events), host currents (chip numerics), or the raw direct input. */
  private async prepare(raw: Float32Array, sampleOffset: number): Promise<Prepared> {
    const m = this.manifest;
    if (m.numerics) {
      const input = await chipInput(m, m.numerics, raw, sampleOffset, this.encoder);
      return { raw, sampleOffset, feed: new this.ort.Tensor(input.type, input.data, m.io.input.dims) };
    }
    if (m.schedule === 'step') return { raw, sampleOffset };
    return { raw, sampleOffset, feed: new this.ort.Tensor('float32', encodeSteps(m, raw, sampleOffset) ?? raw, m.io.input.dims) };
  }

  /** Runs a prepared batch: decoded y [B, C] and probes [T, B, N] (chip numerics: [S, B, N], with u and v). */
  private async execute(batch: Prepared): Promise<{ y: Float32Array; probes: Map<string, ArrayLike<number>>; ySteps?: Float32Array; uv?: Map<string, { u: Int32Array; v: Int32Array }> }> {
    const m = this.manifest;
    if (batch.feed) {
      const r = await this.call({ [m.io.input.name]: batch.feed });
      const n = m.numerics;
      return {
        y: n ? decodeChip(m, n, r[m.io.output.name].data as Int32Array) : (r[m.io.output.name].data as Float32Array),
        probes: new Map(m.io.probes.map((p) => [p.layer, r[p.name].data as Float32Array | Uint8Array])),
        ...(m.io.outputSteps ? { ySteps: r[m.io.outputSteps.name].data as Float32Array } : {}),
        ...(n ? { uv: new Map(n.states.map((s) => [s.layer, { u: r[s.u].data as Int32Array, v: r[s.v].data as Int32Array }])) } : {}),
      };
    }
    const session = new StepSession(m, this.ort, this.session as unknown as OrtSessionLike, this.source);
    session.start(batch.raw, batch.sampleOffset);
    const ySteps = m.io.outputSteps ? new Float32Array(m.timesteps * m.batch * m.classes) : undefined;
    const probes = new Map(m.io.probes.map((p) => [p.layer, new Float32Array(m.timesteps * sizeOf(p.dims))]));
    while (!session.done) {
      const r = await session.step();
      ySteps?.set(r.y, (r.t - 1) * r.y.length);
      for (const [layer, spikes] of r.probes) probes.get(layer)!.set(spikes, (r.t - 1) * spikes.length);
    }
    return { y: session.decoded(), probes, ySteps };
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.encoder?.close();
  }
}
