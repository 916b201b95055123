/** The registry of compilation targets, by the name used with `--target`. */
import { badInput } from '../compiler/errors.js';
import { gpuTarget } from './gpu/index.js';
import { loihiTarget } from './loihi/index.js';
import { netxTarget } from './netx/index.js';
import { nirTarget } from './nir/index.js';
import { spinnakerTarget } from './spinnaker/index.js';
import { pynnTarget } from './spinnaker/pynn.js';
import type { Target } from './target.js';

export const TARGETS: readonly Target[] = [gpuTarget, loihiTarget, netxTarget, nirTarget, spinnakerTarget, pynnTarget];

export function targetByName(name: string): Target {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw badInput(`unknown target "${name}" (available: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
