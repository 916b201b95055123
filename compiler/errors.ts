/**
 * snnc's user-facing error type and its exit codes.
 *
 * Every failure a user can cause (bad file, bad option, a model that does not fit a target) is an
 * `SnncError` whose message names the file, the layer or field, and what was expected. The CLI
 * prints the message and exits with `exitCode`; anything else that escapes is an internal bug.
 */

export const ExitCode = {
  ok: 0,
  /** Something failed while running (runtime library error, I/O failure). */
  runtime: 1,
  /** Bad input or usage: malformed file, schema violation, unknown option value. */
  badInput: 2,
  /** The model is valid but does not fit the chosen target. */
  doesNotFit: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class SnncError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.badInput) {
    super(message);
    this.name = 'SnncError';
    this.exitCode = exitCode;
  }
}

/** Shorthand for the most common case: the input (file, option, model) is wrong. */
export function badInput(message: string): SnncError {
  return new SnncError(message, ExitCode.badInput);
}
