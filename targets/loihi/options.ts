/** What the loihi target accepts beyond the common compile options: the typed record and its command-line flags. */
import { badInput } from '../../compiler/errors.js';
import { positiveInt } from '../../compiler/io/option-values.js';
import type { CompileOptions, TargetOption } from '../target.js';
import { CHIPS, CHIP_KINDS, type ChipKind, type ChipSpec } from './chip.js';
import { type LoihiSystem, SYSTEM_NAMES, loihiSystem } from './system.js';

export interface LoihiOptions extends CompileOptions {
  /** Chip generation: loihi1 | loihi2 (default loihi2). */
  readonly chip?: string;
  /** Chips on the board; the model must fit in them (default 1). */
  readonly chips?: number;
  /** A named multi-chip system (system.ts), which sets the chips and their mesh instead of `chips`. */
  readonly system?: string;
  /** Periodic state reset of every population every this many steps (netx's reset_interval). */
  readonly resetInterval?: number;
}

export const DEFAULT_CHIP: ChipKind = 'loihi2';

export const LOIHI_OPTIONS: readonly TargetOption<LoihiOptions>[] = [
  { flags: '--chip <kind>', description: `loihi: chip generation (${CHIP_KINDS.join(' | ')}); sets the per-core budgets`, choices: CHIP_KINDS, default: DEFAULT_CHIP },
  { flags: '--chips <n>', description: 'loihi: chips on the board; the model must fit in them', parse: positiveInt, default: 1 },
  { flags: '--system <name>', description: `loihi: a multi-chip Loihi 2 system instead of --chips (${SYSTEM_NAMES.join(' | ')}: 8 | 1 152 chips); compile reports the spike routes between its chips`, choices: SYSTEM_NAMES },
  { flags: '--reset-interval <n>', description: "loihi: also reset every population every n steps (netx's reset_interval), staggered by depth", parse: positiveInt },
];

/** The system the options name (--system, else --chips chips), or a bad-input error. */
export function systemOf(options: LoihiOptions): LoihiSystem {
  const chips = options.chips ?? 1;
  if (!(Number.isInteger(chips) && chips >= 1)) throw badInput(`--chips must be a positive integer, got ${options.chips}`);
  return loihiSystem(options.system, chips);
}

/** The chip the options name, or a bad-input error. */
export function chipOf(options: LoihiOptions): ChipSpec {
  const kind = (options.chip ?? DEFAULT_CHIP) as ChipKind;
  if (!CHIP_KINDS.includes(kind)) throw badInput(`--chip must be one of ${CHIP_KINDS.join(', ')}, got "${options.chip}"`);
  return CHIPS[kind];
}
