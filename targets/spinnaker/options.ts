/** What the spinnaker (and pynn) targets accept beyond the common compile options: the typed record and its command-line flags. */
import { positiveInt, positiveNumber } from '../../compiler/io/option-values.js';
import type { CompileOptions, TargetOption } from '../target.js';
import { MACHINE_HELP } from './machine.js';

export interface SpinnakerOptions extends CompileOptions {
  /** Machine: spinn3 | spinn5 | NxM-boards (default spinn5). */
  readonly machine?: string;
  /** Most neurons per core (≤ 256). */
  readonly atomsPerCore?: number;
  /** Ring-buffer sizing: expected summed weight per step (nA) instead of the all-inputs bound. */
  readonly maxSummedWeight?: number;
  /** Router entries available per chip (default: the machine's, 1023 on SpiNNaker-1). */
  readonly routerEntries?: number;
}

export const DEFAULT_MACHINE = 'spinn5';

export const SPINNAKER_OPTIONS: readonly TargetOption<SpinnakerOptions>[] = [
  { flags: '--machine <name>', description: `spinnaker: ${MACHINE_HELP}`, default: DEFAULT_MACHINE },
  { flags: '--atoms-per-core <n>', description: 'spinnaker: most neurons per core (≤ 256, the default)', parse: positiveInt },
  {
    flags: '--max-summed-weight <nA>',
    description: 'spinnaker: expected summed weight per step and synapse type, which sets the ring-buffer shift (default: every input spiking at once; smaller gives finer weights but can saturate or overflow)',
    parse: positiveNumber,
  },
];
