/**
 * Writes `JSON.stringify(value, null, 1)` + "\n" to a file, byte for byte, without ever holding it as
 * one string: the elements of the top-level object's arrays are written one at a time. Descriptors of
 * networks at machine scale (10⁹ synapses) approach V8's longest string (2²⁹ − 24 characters) whole,
 * while each of their cores or chips is small. Values are plain JSON data (no toJSON, no undefined in
 * arrays), as descriptors are.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** `text` indented as a value nested `depth` levels deep in a 1-space-indented document. */
const nested = (text: string, depth: number): string => text.replace(/\n/g, `\n${' '.repeat(depth)}`);

export function writeJsonFile(file: string, value: unknown): void {
  const fd = openSync(file, 'w');
  try {
    const put = (s: string) => {
      const bytes = Buffer.from(s, 'utf8');
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    };
    const entries = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function') : undefined;
    if (!entries?.length) {
      put(`${JSON.stringify(value, null, 1)}\n`);
      return;
    }
    put('{');
    entries.forEach(([key, v], i) => {
      put(`${i ? ',' : ''}\n ${JSON.stringify(key)}: `);
      if (!Array.isArray(v) || v.length === 0) {
        put(nested(JSON.stringify(v, null, 1), 1));
        return;
      }
      put('[');
      v.forEach((element, j) => put(`${j ? ',' : ''}\n  ${nested(JSON.stringify(element ?? null, null, 1), 2)}`));
      put('\n ]');
    });
    put('\n}\n');
  } finally {
    closeSync(fd);
  }
}
