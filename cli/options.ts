/** Option parsers shared by several commands. */
import { InvalidArgumentError } from 'commander';
import { badInput } from '../compiler/errors.js';
import { IDENTITY_PREPROCESS, type Preprocess } from '../compiler/ir/model.js';

/** Most time steps a command takes: beyond this, state and spike buffers outgrow memory on any model. */
export const MAX_TIMESTEPS = 100_000;
/** Largest batch a command takes. */
export const MAX_BATCH = 65_536;

const DECIMAL_INT = /^\+?\d+$/;
const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A parser for a decimal integer in [min, max] (no hex, exponents or fractions: "1e9" and "0x10" are refused). */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = DECIMAL_INT.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

export const positiveInt = intInRange(1, 2 ** 31 - 1);

/** A percentage in (0, 100]. */
export function percentArg(value: string): number {
  const x = finiteNumber(value);
  if (!(x > 0 && x <= 100)) throw new InvalidArgumentError('expected a percentage in (0, 100].');
  return x;
}
export const timestepsArg = intInRange(1, MAX_TIMESTEPS);
export const batchArg = intInRange(1, MAX_BATCH);

/** A finite decimal number (no hex, no "Infinity", no empty string). */
export function finiteNumber(value: string): number {
  const x = DECIMAL_NUMBER.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(x)) throw new InvalidArgumentError('expected a finite decimal number.');
  return x;
}

export function positiveNumber(value: string): number {
  const x = finiteNumber(value);
  if (!(x > 0)) throw new InvalidArgumentError('expected a positive number.');
  return x;
}

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
