/** The streamed JSON writer writes what `JSON.stringify(value, null, 1)` + "\n" would, byte for byte. */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeJsonFile } from '../../compiler/io/json-stream.js';
import { tempDir } from '../helpers/tmp.js';

describe('writeJsonFile', () => {
  const dir = tempDir('snnc-json-stream-');
  const same = (value: unknown) => {
    const file = join(dir, 'x.json');
    writeJsonFile(file, value);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(value, null, 1)}\n`);
  };

  it('equals JSON.stringify(value, null, 1) on random documents (objects of arrays of nested values, strings with newlines and non-ASCII)', () => {
    const leaf = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'grapheme' }), fc.boolean(), fc.constant(null), fc.constant('a\nb "c" ü'));
    const json = fc.letrec((tie) => ({ value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 })) })).value;
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.oneof(json, fc.array(json, { maxLength: 5 })), { maxKeys: 6 }), (doc) => same(doc)), { numRuns: 200, seed: 22 });
  });

  it('top-level values that are not objects, and empty objects', () => {
    for (const v of [[], [1, [2]], 3, 'x', null, {}, { a: [] }, { a: {} }]) same(v);
  });
});
