/** Reads an input file, or fails with an error naming the file and the system's reason (e.g. ENOENT). */
import { readFileSync } from 'node:fs';
import { badInput } from '../errors.js';

export function readInputFile(path: string, what?: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw badInput(`${path}: cannot read${what ? ` ${what}` : ''} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
