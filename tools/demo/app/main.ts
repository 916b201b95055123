/**
 * Entry point of the `snnc demo` page: loads demo.json, the manifest and the model, opens an
 * onnxruntime-web session (WebGPU or wasm), and runs the model one time step per call with the
 * project's StepSession, drawing each step. Exposes `window.snncDemo` for tests and scripts.
 *
 * onnxruntime-web starts its wasm threads as module workers of this same bundle (named "em-pthread"),
 * so nothing here may run outside a page: see the guard at the bottom.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { type OrtLike, type OrtSessionLike, StepSession } from '../../../runtime/step-session.js';
import type { GpuManifest } from '../../../targets/gpu/manifest.js';
import { type Backend, type BackendChoice, chooseBackend, describeBackend } from './backend.js';
import { type DemoConfig, type Samples, checkConfig, loadBytes, loadJson, loadSamples } from './config.js';
import { ORT_WASM } from '../demo-config.js';
import { DrawingPad } from './draw-input.js';
import { Inputs } from './inputs.js';
import { byId, fail, nextFrame, setState } from './ui.js';
import { Views, argmax, inputPreview } from './views.js';

/** What the last run fed and produced (row 0 of the batch). */
export interface LastRun {
  readonly input: number[];
  readonly output: number[];
  readonly prediction: number;
  readonly spikes: Record<string, number>;
  readonly stepMs: number[];
}

/** `window.snncDemo`. */
export interface DemoApi {
  run(): Promise<void>;
  selectSample(i: number): void;
  setInput(values: number[]): void;
  lastRun?: LastRun;
}

async function createSession(bytes: Uint8Array, backend: Backend): Promise<OrtSessionLike> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
  return session as unknown as OrtSessionLike;
}

/** A session on the chosen backend; falls back to wasm when WebGPU was only detected, not forced, and fails. */
async function openSession(bytes: Uint8Array, choice: BackendChoice): Promise<[OrtSessionLike, BackendChoice]> {
  try {
    return [await createSession(bytes, choice.backend), choice];
  } catch (e) {
    if (choice.backend !== 'webgpu' || choice.why.startsWith('forced')) throw e;
    const why = `WebGPU failed: ${String((e as Error)?.message ?? e).split('\n')[0]}`;
    return [await createSession(bytes, 'wasm'), { backend: 'wasm', why }];
  }
}

/**
 * Where the wasm binary is, as onnxruntime-web's `{ wasm: url }` form: given a prefix string it would
 * also import its .mjs loader from there, but this bundle embeds the loader and fetches only the wasm.
 */
function wasmFile(prefix: string): { wasm: string } {
  return { wasm: new URL(`${prefix}${ORT_WASM}`, location.href).href };
}

function showBackend(choice: BackendChoice): void {
  document.body.dataset.backend = choice.backend;
  byId('backend').textContent = describeBackend(choice);
}

/** Runs the model on the current input and draws it; keeps the page state. */
class Demo {
  lastRun: LastRun | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly steps: StepSession,
    private readonly inputs: Inputs,
    private readonly views: Views,
  ) {}

  /** Runs after any run in progress. */
  run(): Promise<void> {
    const next = this.queue.then(() => this.runOnce());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runOnce(): Promise<void> {
    const m = this.steps.manifest;
    const button = byId<HTMLButtonElement>('run');
    button.disabled = true;
    try {
      await this.inputs.settled();
      setState('running', 'running…');
      this.lastRun = undefined;
      const sample = this.inputs.current();
      const batch = new Float32Array(m.batch * this.steps.sampleSize);
      batch.set(sample);
      this.steps.start(batch, 0);
      this.views.reset();
      const stepMs = await this.loop();
      this.finish(sample, stepMs);
    } catch (e) {
      fail(e);
      throw e;
    } finally {
      button.disabled = false;
    }
  }

  /** All steps, drawing each and yielding a frame between them; returns each step's latency. */
  private async loop(): Promise<number[]> {
    const stepMs: number[] = [];
    while (!this.steps.done) {
      const t0 = performance.now();
      const r = await this.steps.step();
      stepMs.push(performance.now() - t0);
      this.views.step(r, this.steps.decoded(), stepMs);
      setState('running', `running: step ${r.t} of ${this.steps.manifest.timesteps}`);
      await nextFrame();
    }
    return stepMs;
  }

  private finish(sample: Float32Array, stepMs: number[]): void {
    const classes = this.steps.manifest.classes;
    const output = Array.from(this.steps.decoded().subarray(0, classes));
    const prediction = argmax(output, classes);
    const spikes = Object.fromEntries(this.views.rasters.map((r) => [r.layer, r.total]));
    this.lastRun = { input: Array.from(sample), output, prediction, spikes, stepMs };
    this.views.showPrediction(prediction);
    setState('done', `done: class ${prediction} after ${stepMs.length} steps`);
  }
}

/** The input panel: the drawing pad for image input, else a preview; the buttons, sample select and upload. */
function makeInputs(config: DemoConfig, manifest: GpuManifest, steps: StepSession, samples: Samples | undefined): Inputs {
  const input = config.input;
  let inputs: Inputs | undefined;
  const pad = input.kind === 'image' ? new DrawingPad(byId<HTMLCanvasElement>('draw'), input.height, input.width, input.max, () => inputs?.drawn()) : undefined;
  byId('draw-box').hidden = !pad;
  const preview = pad ? undefined : inputPreview(manifest, byId<HTMLCanvasElement>('input-preview'));
  inputs = new Inputs(steps.sampleSize, samples, { select: byId<HTMLSelectElement>('sample'), label: byId('input-source'), pad, preview });
  return inputs;
}

function wire(demo: Demo, inputs: Inputs, views: Views): void {
  byId('run').addEventListener('click', () => void demo.run().catch(() => undefined));
  byId('clear').addEventListener('click', () => inputs.clear());
  const upload = byId<HTMLInputElement>('upload');
  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    upload.value = ''; // so that choosing the same file again loads it again
    if (file) inputs.upload(file).then(() => setState('ready', `loaded ${file.name}`), fail);
  });
  window.addEventListener('resize', () => views.layout());
}

function describeModel(m: GpuManifest): string {
  return `T = ${m.timesteps} steps · input [${m.inputShape.join(', ')}], ${m.encoding.type} · ${m.classes} classes, ${m.decoding.replace('_', ' ')} · batch ${m.batch}`;
}

async function boot(): Promise<void> {
  setState('loading', 'loading the model…');
  const config = await loadJson<DemoConfig>('demo.json');
  document.title = `${config.title} · snnc demo`;
  byId('title').textContent = config.title;
  const [manifest, bytes, choice] = await Promise.all([loadJson<GpuManifest>(config.manifest), loadBytes(config.model), chooseBackend(location.search)]);
  showBackend(choice);
  ort.env.wasm.wasmPaths = wasmFile(config.wasmPaths);
  const [session, used] = await openSession(bytes, choice);
  showBackend(used);
  const steps = new StepSession(manifest, ort as unknown as OrtLike, session, config.model);
  checkConfig(config, manifest, steps.sampleSize);
  byId('model-info').textContent = describeModel(manifest);
  const views = new Views(config, manifest);
  const inputs = makeInputs(config, manifest, steps, await loadSamples(config, steps.sampleSize));
  const demo = new Demo(steps, inputs, views);
  wire(demo, inputs, views);
  expose(demo, inputs);
  byId<HTMLButtonElement>('run').disabled = false;
  setState('ready', config.input.kind === 'image' ? 'ready: draw a digit or pick a sample, then run' : 'ready: pick a sample or upload a .npy, then run');
}

function expose(demo: Demo, inputs: Inputs): void {
  const api: DemoApi = {
    run: () => demo.run(),
    selectSample: (i) => inputs.selectSample(i),
    setInput: (values) => inputs.setInput(values),
    get lastRun() {
      return demo.lastRun;
    },
  };
  (window as unknown as { snncDemo: DemoApi }).snncDemo = api;
}

// Only in a page: onnxruntime-web's thread workers load this same bundle.
if (typeof document !== 'undefined') {
  window.addEventListener('unhandledrejection', (e) => fail(e.reason));
  boot().catch(fail);
}
