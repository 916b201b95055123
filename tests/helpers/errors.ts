/** Asserts that `fn` throws snnc's own error, and returns it. */
import { expect } from 'vitest';
import { SnncError } from '../../compiler/errors.js';

export function snncError(fn: () => unknown): SnncError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SnncError);
    return e as SnncError;
  }
  throw new Error('expected an SnncError, but nothing was thrown');
}

export const snncErrorMessage = (fn: () => unknown): string => snncError(fn).message;
