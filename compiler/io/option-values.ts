/**
 * Option values from text, strictly: decimal only ("1e9" and "0x10" are refused), finite, in range. The
 * CLI and the options targets declare (targets/target.ts TargetOption) both parse with these; a bad
 * value throws commander's InvalidArgumentError, which the CLI reports with the option's name.
 */
import { InvalidArgumentError } from 'commander';

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
