/**
 * Pass infrastructure: a pass is a pure function SnnModel → SnnModel. `runPasses` applies them in
 * order and runs the verifier after each, naming the pass that broke an invariant.
 */
import { SnncError } from '../errors.js';
import type { SnnModel } from '../ir/model.js';
import { verifyModel } from '../ir/verify.js';

export interface Pass {
  readonly name: string;
  run(model: SnnModel): SnnModel;
}

export function runPasses(model: SnnModel, passes: readonly Pass[]): SnnModel {
  let current = model;
  for (const pass of passes) {
    current = pass.run(current);
    try {
      verifyModel(current);
    } catch (e) {
      if (e instanceof SnncError) throw new SnncError(`after pass "${pass.name}": ${e.message}`, e.exitCode);
      throw e;
    }
  }
  return current;
}
