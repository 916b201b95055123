/**
 * The interface every target implements. `check` says whether and how a model fits (without writing
 * anything); `emit` writes the compiled artifacts into a folder, atomically. Targets consume the IR only:
 * they never import a frontend.
 */
import { ExitCode, SnncError } from '../compiler/errors.js';
import { isNeuron } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';

/**
 * Options every target understands. Each target extends this with its own typed record (GpuOptions,
 * LoihiOptions, SpinnakerOptions) and declares the matching command-line flags in `Target.options`.
 */
export interface CompileOptions {
  /** Overrides the model's T. */
  readonly timesteps?: number;
  /** Static batch size of the compiled artifact. */
  readonly batch?: number;
  /** emit: replace an existing output folder that snnc did not write (see compiler/io/atomic-write.ts). */
  readonly force?: boolean;
  /** Long compiles report each stage's progress here (`done` of `total` units: cores, chips, parts). */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/** One row of a resource report: what a layer (or the whole model) needs of the target. */
export interface ResourceRow {
  readonly layer: string;
  readonly [resource: string]: string | number;
}

export interface CheckReport {
  readonly target: string;
  readonly fits: boolean;
  readonly rows: readonly ResourceRow[];
  /** Human-readable findings (why it does not fit, or notes). */
  readonly messages: readonly string[];
}

/** A check's report for a model whose compilation failed because it does not fit (exit 3); rethrows anything else. */
export function doesNotFitReport(target: string, e: unknown): CheckReport {
  if (e instanceof SnncError && e.exitCode === ExitCode.doesNotFit) return { target, fits: false, rows: [], messages: [e.message] };
  throw e;
}

export interface EmitResult {
  /** Files written, relative to the output folder. */
  readonly files: readonly string[];
  readonly summary: Readonly<Record<string, unknown>>;
  /** What the artifacts could not express exactly (the CLI prints these). */
  readonly warnings?: readonly string[];
}

/**
 * A command-line option of a target (for compile, check and diff). The CLI registers it once, whatever
 * targets declare it, and passes its value as the options field `field`, by default the option's name in
 * commander's camel case of the long flag (`--atoms-per-core` → atomsPerCore).
 */
export interface TargetOption<O extends CompileOptions = CompileOptions> {
  /** commander flags, e.g. `--chip <kind>`. */
  readonly flags: string;
  /** Help text; start it with the target's name ("loihi: …"). */
  readonly description: string;
  readonly choices?: readonly string[];
  readonly default?: string | number;
  /** Parses and validates the text (throw commander's InvalidArgumentError on a bad value); `previous` is the value so far (variadic flags). */
  readonly parse?: (value: string, previous: unknown) => unknown;
  /** The options field it sets, where it is not the flag's camel-case name. */
  readonly field?: Exclude<keyof O, keyof CompileOptions> & string;
}

/** What `snnc run` needs to run a compiled folder: its input format and a batch runner. */
export interface Engine {
  readonly input: { readonly shape: readonly number[]; readonly encoding: { readonly type: string } };
  readonly timesteps: number;
  /** For reports, e.g. "loihi emulator (loihi2, 12 cores)". */
  readonly description: string;
  /** Samples per call that keep progress reports smooth. */
  readonly batch: number;
  run(x: Float32Array, count: number, options: { readonly sampleOffset: number }): Promise<{ output: Float32Array; classes: number }> | { output: Float32Array; classes: number };
  close?(): Promise<void>;
}

/** Options of `snnc run` for an engine (onnxruntime's package, providers and threads; emulators ignore them). */
export interface RunOptions {
  readonly backend?: 'node' | 'web';
  readonly providers?: readonly string[];
  readonly threads?: number;
}

/**
 * Runs a compiled gpu model (model.onnx bytes and its manifest) with onnxruntime: what `diff` gets from
 * its caller where it needs one, since targets do not import the runtime.
 */
export type RunGpu = (compiled: { readonly onnx: Uint8Array; readonly manifest: unknown }, raw: Float32Array, n: number) => Promise<{ readonly output: Float32Array; readonly spikes: ReadonlyMap<string, Uint8Array> }>;

/** One layer of a float-simulator-vs-emulator comparison (`snnc diff`). */
export interface LayerDiff {
  readonly layer: string;
  readonly depth: number;
  readonly floatSpikes: number;
  readonly emulatorSpikes: number;
  readonly mismatches: number;
  /** First differing entry in time order: step (1-based, float time), sample, neuron. */
  readonly first?: { readonly step: number; readonly sample: number; readonly neuron: number };
}

export interface EmulatorDiff {
  readonly target: string;
  /**
   * The other side of the comparison when it is not the float simulator (e.g. "loihi emulator"); it then
   * runs on the same chip timing, so layers are compared step for step, with no delay removed.
   */
  readonly reference?: string;
  readonly layers: readonly LayerDiff[];
  readonly samples: number;
  readonly timesteps: number;
  /** Samples whose predicted class agrees. */
  readonly agreeing: number;
}

/** A compilation target; `O` is its options record (CompileOptions plus its own fields). */
export interface Target<O extends CompileOptions = CompileOptions> {
  readonly name: string;
  readonly description: string;
  /** The options it accepts beyond -T and --batch (the CLI offers them on compile, check and diff). */
  readonly options?: readonly TargetOption<O>[];
  /** Whether `dir` holds this target's artifacts (`snnc run` asks each target in turn). */
  recognises?(dir: string): boolean;
  /** Opens a folder it recognises for running. */
  open?(dir: string, options: RunOptions): Promise<Engine>;
  /** Compiles and runs `model` in the target's emulator beside the float simulator (or another reference), layer by layer. */
  diff?(model: SnnModel, raw: Float32Array, batch: number, options: O, context: { readonly runGpu: RunGpu }): EmulatorDiff | Promise<EmulatorDiff>;
  /** The neuron models (compiler/ir/neurons.ts) this target runs; it refuses any other by name. */
  readonly neuronModels: readonly string[] | 'all';
  check(model: SnnModel, options: O): CheckReport;
  emit(model: SnnModel, outDir: string, options: O): Promise<EmitResult>;
}

/**
 * Refuses (exit 3) a model with a neuron layer whose model the target does not list, naming the layer,
 * its model and what the target supports. Targets call it first in check and emit, so a model they
 * cannot run is never run as another one.
 */
export function checkNeuronModels(model: SnnModel, target: string, supported: readonly string[] | 'all'): void {
  if (supported === 'all') return;
  const layer = model.layers.find((l) => isNeuron(l) && !supported.includes(l.model));
  if (layer && isNeuron(layer)) {
    throw new SnncError(`layer "${layer.name}": the ${target} target does not support ${layer.model} neurons (it supports ${supported.join(', ')})`, ExitCode.doesNotFit);
  }
}
