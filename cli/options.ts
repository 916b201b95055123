/** Option parsers shared by several commands. */
import { InvalidArgumentError } from 'commander';
import { badInput } from '../compiler/errors.js';
import { IDENTITY_PREPROCESS, type Preprocess } from '../compiler/ir/model.js';
import { finiteNumber, intInRange } from '../compiler/io/option-values.js';

export { finiteNumber, intInRange, positiveInt, positiveNumber } from '../compiler/io/option-values.js';

/** Most time steps a command takes: beyond this, state and spike buffers outgrow memory on any model. */
export const MAX_TIMESTEPS = 100_000;
/** Largest batch a command takes. */
export const MAX_BATCH = 65_536;

/** A percentage in (0, 100]. */
export function percentArg(value: string): number {
  const x = finiteNumber(value);
  if (!(x > 0 && x <= 100)) throw new InvalidArgumentError('expected a percentage in (0, 100].');
  return x;
}
export const timestepsArg = intInRange(1, MAX_TIMESTEPS);
export const batchArg = intInRange(1, MAX_BATCH);

export function numberList(value: string): number[] {
  try {
    return value.split(',').map((v) => finiteNumber(v));
  } catch {
    throw new InvalidArgumentError('expected comma-separated numbers, e.g. 0.5,0.5,0.5.');
  }
}

export function timestepsList(value: string): number[] {
  try {
    return value.split(',').map((v) => timestepsArg(v));
  } catch {
    throw new InvalidArgumentError(`expected comma-separated whole numbers from 1 to ${MAX_TIMESTEPS}, e.g. 1,2,4,8.`);
  }
}

/** --input-scale / --input-mean / --input-std as a Preprocess, or undefined when none was given. */
export function inputPreprocess(o: { inputScale?: number; inputMean?: number[]; inputStd?: number[] }): Preprocess | undefined {
  if (o.inputScale === undefined && !o.inputMean && !o.inputStd) return undefined;
  if (o.inputStd?.some((s) => s === 0)) throw badInput('--input-std must not contain 0 (inputs are divided by it)');
  return { scale: o.inputScale ?? IDENTITY_PREPROCESS.scale, mean: o.inputMean ?? IDENTITY_PREPROCESS.mean, std: o.inputStd ?? IDENTITY_PREPROCESS.std };
}
