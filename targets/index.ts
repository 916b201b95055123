/** The registry of compilation targets, by the name used with `--target`: the CLI and the library loop over it. */
import { badInput } from '../compiler/errors.js';
import { gpuTarget } from './gpu/index.js';
import { loihiTarget } from './loihi/index.js';
import { netxTarget } from './netx/index.js';
import { nirTarget } from './nir/index.js';
import { spinnakerTarget } from './spinnaker/index.js';
import { pynnTarget } from './spinnaker/pynn.js';
import type { Target } from './target.js';

const registry: Target[] = [gpuTarget, loihiTarget, netxTarget, nirTarget, spinnakerTarget, pynnTarget];

/** Every target, in the order the CLI lists them. Adding a target is one folder and one line above. */
export const TARGETS: readonly Target[] = registry;

/** Adds a target (a plugin, or a test's fake); its name must be new. The CLI offers it from then on. */
export function registerTarget(target: Target): void {
  if (registry.some((t) => t.name === target.name)) throw new Error(`target "${target.name}" is already registered`);
  registry.push(target);
}

/** Removes a target added by registerTarget (tests). */
export function unregisterTarget(name: string): void {
  const i = registry.findIndex((t) => t.name === name);
  if (i >= 0) registry.splice(i, 1);
}

export function targetByName(name: string): Target {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw badInput(`unknown target "${name}" (available: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
