/**
 * Runs a compiled gpu folder (model.onnx + manifest.json) with onnxruntime: onnxruntime-node (CPU,
 * WebGPU, CUDA execution providers) or onnxruntime-web (wasm; the same API in the browser). It pads the
 * last batch, encodes inputs exactly as the reference simulator does (encoders.ts), drives the `step`
 * schedule over time (step-session.ts), and returns decoded outputs and any spike probes.
 */
import { existsSync } from 'node:fs';
import { readInputFile, readInputText } from '../compiler/io/read-file.js';
import { join } from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';
import { ExitCode, SnncError, badInput } from '../compiler/errors.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { type GpuManifest, checkManifestAgainstOnnx, graphInterface, parseManifest } from '../targets/gpu/manifest.js';
import type { RunOptions } from '../targets/target.js';
import { type OrtSessionLike, StepSession, encodeSteps } from './step-session.js';

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
}

/** An error's message, first line only (onnxruntime's may carry a native stack). */
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

async function loadOrt(backend: OrtBackend): Promise<Ort> {
  return (backend === 'web' ? await import('onnxruntime-web') : await import('onnxruntime-node')) as unknown as Ort;
}

export class OrtRunner {
  private constructor(
    readonly manifest: GpuManifest,
    private readonly ort: Ort,
    private readonly session: OrtTypes.InferenceSession,
    private readonly source: string,
  ) {}

  static async open(dir: string, options: RunnerOptions = {}): Promise<OrtRunner> {
    const manifestPath = join(dir, 'manifest.json');
    if (!existsSync(manifestPath) || !existsSync(join(dir, 'model.onnx'))) throw badInput(`${dir}: not a compiled gpu folder (manifest.json or model.onnx is missing)`);
    const text = readInputText(manifestPath, 'gpu manifest');
    const bytes = readInputFile(join(dir, 'model.onnx'), 'ONNX model');
    const manifest = parseManifest(text, manifestPath);
    checkManifestAgainstOnnx(manifest, bytes, join(dir, 'model.onnx'));
    return OrtRunner.fromBytes(manifest, bytes, options, join(dir, 'model.onnx'));
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
    try {
      return new OrtRunner(manifest, ort, await ort.InferenceSession.create(bytes, sessionOptions), source);
    } catch (e) {
      // With the always-available CPU (wasm) provider alone, a model that does not load is a bad model;
      // with others, the provider itself (drivers, libraries) may be what failed.
      const plain = sessionOptions.executionProviders!.every((p) => p === 'cpu' || p === 'wasm');
      throw new SnncError(`${source}: onnxruntime could not load the model with providers [${sessionOptions.executionProviders}]: ${firstLine(e)}`, plain ? ExitCode.badInput : ExitCode.runtime);
    }
  }

  /** One onnxruntime call, its errors named; every output the runner reads present with `size` values. */
  private async call(feeds: Record<string, OrtTypes.Tensor>, sizes: ReadonlyMap<string, number>): Promise<OrtTypes.InferenceSession.OnnxValueMapType> {
    let r: OrtTypes.InferenceSession.OnnxValueMapType;
    try {
      r = await this.session.run(feeds);
    } catch (e) {
      throw badInput(`${this.source}: onnxruntime failed to run the graph: ${firstLine(e)}`);
    }
    for (const [name, size] of sizes) {
      const v = r[name];
      if (!v || !(v.data instanceof Float32Array) || v.data.length !== size) throw badInput(`${this.source}: graph output "${name}" ${v ? `has ${v.data.length} ${v.type} values` : 'is missing'}; manifest.json expects ${size} float32 values`);
    }
    return r;
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
    const spikes = new Map<string, Uint8Array>(m.io.probes.map((p) => [p.layer, new Uint8Array(m.timesteps * n * p.dims[p.dims.length - 1])]));
    const outputSteps = m.io.outputSteps ? new Float32Array(m.timesteps * n * m.classes) : undefined;
    for (let start = 0; start < n; start += B) {
      const count = Math.min(B, n - start);
      const batch = new Float32Array(B * per);
      batch.set(raw.subarray(start * per, (start + count) * per));
      const { y, probes, ySteps } = await this.runBatch(batch, sampleOffset + start);
      output.set(y.subarray(0, count * m.classes), start * m.classes);
      /** Copies the valid rows of a [T, B, N] batch result into [T, n, N]. */
      const gather = (steps: Float32Array, dst: Float32Array | Uint8Array) => {
        const N = steps.length / (m.timesteps * B);
        for (let t = 0; t < m.timesteps; t++) {
          for (let b = 0; b < count; b++) {
            const src = steps.subarray((t * B + b) * N, (t * B + b + 1) * N);
            for (let k = 0; k < N; k++) dst[(t * n + start + b) * N + k] = src[k];
          }
        }
      };
      for (const [layer, steps] of probes) gather(steps, spikes.get(layer)!);
      if (outputSteps && ySteps) gather(ySteps, outputSteps);
      onBatch?.(start + count);
    }
    return { output, classes: m.classes, spikes, outputSteps };
  }

  /** One padded batch: raw [B, ...] → decoded y [B, C] and probes [T, B, N]. */
  private async runBatch(raw: Float32Array, sampleOffset: number): Promise<{ y: Float32Array; probes: Map<string, Float32Array>; ySteps?: Float32Array }> {
    const m = this.manifest;
    if (m.schedule !== 'step') {
      const get = (r: OrtTypes.InferenceSession.OnnxValueMapType, name: string) => r[name].data as Float32Array;
      const sizes = new Map([...graphInterface(m).outputs].map(([name, dims]) => [name, sizeOf(dims)]));
      const r = await this.call({ [m.io.input.name]: new this.ort.Tensor('float32', encodeSteps(m, raw, sampleOffset) ?? raw, m.io.input.dims) }, sizes);
      return {
        y: get(r, m.io.output.name),
        probes: new Map(m.io.probes.map((p) => [p.layer, get(r, p.name)])),
        ySteps: m.io.outputSteps ? get(r, m.io.outputSteps.name) : undefined,
      };
    }

    const session = new StepSession(m, this.ort, this.session as unknown as OrtSessionLike, this.source);
    session.start(raw, sampleOffset);
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
  }
}
