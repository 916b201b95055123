/** What the spinnaker (and pynn) targets accept beyond the common compile options: the typed record and its command-line flags. */
import { positiveInt, positiveNumber } from '../../compiler/io/option-values.js';
import type { CompileOptions, TargetOption } from '../target.js';
import { type DeadChip, type DeadLink, MACHINE_HELP, parseDeadChips, parseDeadLinks } from './machine.js';

export interface SpinnakerOptions extends CompileOptions {
  /** Machine: spinn3 | spinn5 | NxM-boards | 1M (default spinn5). */
  readonly machine?: string;
  /** Most neurons per core (≤ 256). */
  readonly atomsPerCore?: number;
  /** Ring-buffer sizing: expected summed weight per step (nA) instead of the all-inputs bound. */
  readonly maxSummedWeight?: number;
  /** Router entries available per chip (default: the machine's, 1023 on SpiNNaker-1). */
  readonly routerEntries?: number;
  /** Chips to leave out: "x,y;x,y" (as --dead-chips) or [[x, y], …]. */
  readonly deadChips?: string | readonly DeadChip[];
  /** Links to leave out, both directions: "x,y,link;…" (as --dead-links; link 0 E, 1 NE, 2 N, 3 W, 4 SW, 5 S) or [[x, y, link], …]. */
  readonly deadLinks?: string | readonly DeadLink[];
}

/** The dead chips and links of `options` as machineByName's overrides (text parsed; a bad item is a one-line error naming the option). */
export function deadOverrides(options: Pick<SpinnakerOptions, 'deadChips' | 'deadLinks'>): { deadChips?: readonly DeadChip[]; deadLinks?: readonly DeadLink[] } {
  const chips = typeof options.deadChips === 'string' ? parseDeadChips(options.deadChips) : options.deadChips;
  const links = typeof options.deadLinks === 'string' ? parseDeadLinks(options.deadLinks) : options.deadLinks;
  return { ...(chips?.length ? { deadChips: chips } : {}), ...(links?.length ? { deadLinks: links } : {}) };
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
  {
    flags: '--dead-chips <list>',
    description: 'spinnaker: chips of the machine to leave out, as "x,y;x,y" (nothing is placed on them, routes go around them; recorded in spinnaker.json)',
  },
  {
    flags: '--dead-links <list>',
    description: 'spinnaker: links to leave out, as "x,y,link;…" with link 0 E, 1 NE, 2 N, 3 W, 4 SW, 5 S from chip (x, y); dead in both directions, routes go around them (recorded in spinnaker.json)',
  },
];
