/** Option parsers shared by several commands. */
import { InvalidArgumentError } from 'commander';
import { IDENTITY_PREPROCESS, type Preprocess } from '../compiler/ir/model.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x)) throw new InvalidArgumentError('expected a positive number.');
  return x;
}

export function numberList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((v) => !Number.isFinite(v))) throw new InvalidArgumentError('expected comma-separated numbers, e.g. 0.5,0.5,0.5.');
  return list;
}

export function positiveIntList(value: string): number[] {
  const list = numberList(value);
  if (list.some((v) => !Number.isInteger(v) || v < 1)) throw new InvalidArgumentError('expected comma-separated positive integers, e.g. 1,2,4,8.');
  return list;
}

/** --input-scale / --input-mean / --input-std as a Preprocess, or undefined when none was given. */
export function inputPreprocess(o: { inputScale?: number; inputMean?: number[]; inputStd?: number[] }): Preprocess | undefined {
  if (o.inputScale === undefined && !o.inputMean && !o.inputStd) return undefined;
  if (o.inputStd?.some((s) => s === 0)) throw new InvalidArgumentError('--input-std must not contain 0.');
  return { scale: o.inputScale ?? IDENTITY_PREPROCESS.scale, mean: o.inputMean ?? IDENTITY_PREPROCESS.mean, std: o.inputStd ?? IDENTITY_PREPROCESS.std };
}
