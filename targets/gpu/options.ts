/** What the gpu target accepts beyond the common compile options: the typed record and its command-line flags. */
import type { CompileOptions, TargetOption } from '../target.js';
import { SCHEDULES } from './schedules.js';

export interface GpuOptions extends CompileOptions {
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
    flags: '--probe <layers...>',
    description: 'gpu: also output the spikes of these neuron layers ("all" for every one)',
    field: 'probes',
    parse: (value, previous) => [...((previous as string[] | undefined) ?? []), value],
  },
];
