/** What the gpu target accepts beyond the common compile options: the typed record and its command-line flags. */
import type { LoihiOptions } from '../loihi/options.js';
import type { SpinnakerOptions } from '../spinnaker/options.js';
import type { CompileOptions, TargetOption } from '../target.js';
import { SCHEDULES } from './schedules.js';

export const NUMERICS = ['float', 'loihi', 'spinnaker'] as const;

/** The chip targets' quantisation options apply to `--numerics loihi|spinnaker`. */
export interface GpuOptions extends CompileOptions, Pick<LoihiOptions, 'chip' | 'resetInterval'>, Pick<SpinnakerOptions, 'maxSummedWeight' | 'machine'> {
  /** float (the IR's float32 arithmetic, the default), loihi or spinnaker (that target's integer arithmetic, bit-exact to its emulator). */
  readonly numerics?: string;
  /** Time layout: layerwise | scan | step (default layerwise, scan for a model that reads earlier steps). */
  readonly schedule?: string;
  /** Neuron layers whose spikes are exported as extra outputs; 'all' (or a list holding it) for every one. */
  readonly probes?: readonly string[] | 'all';
  /** Also export the per-step output values [T, B, classes], so one run gives the decoded output at every T' ≤ T. */
  readonly outputSteps?: boolean;
}

export const GPU_OPTIONS: readonly TargetOption<GpuOptions>[] = [
  {
    flags: '--schedule <kind>',
    description: 'gpu: layerwise = each layer over all T·B at once (fastest; the default); scan = one ONNX Scan over time (the default for a model with cycles or delays read earlier); step = one step per call, with state in/out (streaming)',
    choices: SCHEDULES,
  },
  {
    flags: '--numerics <kind>',
    description: 'gpu: float (default), or loihi / spinnaker: the network as that target quantises it (--chip, --reset-interval; --max-summed-weight), in integer ONNX that runs bit-exactly like its emulator (layerwise)',
    choices: NUMERICS,
  },
  {
    flags: '--probe <layers...>',
    description: 'gpu: also output the spikes of these neuron layers ("all" for every one)',
    field: 'probes',
    parse: (value, previous) => [...((previous as string[] | undefined) ?? []), value],
  },
];
