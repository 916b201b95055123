/**
 * Property test: mutated model.json files (structural edits and raw byte edits) either load into a
 * verified model or fail with snnc's own error, never with any other exception.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import { parseModelJson } from '../../compiler/ir/serialize/read.js';
import { modelToJson } from '../../compiler/ir/serialize/write.js';
import { residual } from '../helpers/models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const file = join(dir, 'fuzz.json');
const { doc } = modelToJson(residual());
// Nested-array weights too, so mutations reach the tensor parser.
const base = JSON.parse(JSON.stringify(doc)) as Record<string, any>;
base.layers[0].weight = Array.from({ length: 16 }, (_, i) => Array.from({ length: 16 }, (_, j) => ((i * 7 + j) % 5) / 10 - 0.2));

function loadsOrSnncError(text: string): boolean {
  try {
    parseModelJson(text, file);
    return true;
  } catch (e) {
    if (e instanceof SnncError) return true;
    throw e;
  }
}

/** Every path (list of keys) into a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.slice(0, 4).forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}
const allPaths = paths(base).filter((p) => p.length > 0);

function mutate(path: (string | number)[], op: 'set' | 'delete', value: unknown): string {
  const copy = JSON.parse(JSON.stringify(base));
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1];
  if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return JSON.stringify(copy);
}

describe('model.json fuzzing', () => {
  it('the unmutated document loads', () => {
    expect(loadsOrSnncError(JSON.stringify(base))).toBe(true);
    expect(() => parseModelJson(JSON.stringify(base), file)).not.toThrow();
  });

  it('structural mutations: set any field to any JSON value, or delete it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allPaths), fc.constantFrom('set' as const, 'delete' as const), fc.jsonValue({ maxDepth: 3 }), (path, op, value) => loadsOrSnncError(mutate(path, op, value))),
      { numRuns: 1500 },
    );
  });

  it('numeric edge values in every numeric field', () => {
    const numeric = allPaths.filter((p) => typeof p.reduce<any>((v, k) => v[k], base) === 'number');
    fc.assert(
      fc.property(fc.constantFrom(...numeric), fc.constantFrom(0, -1, 1e-45, 1e39, -1e39, 0.5, 2 ** 31, 1e308, -0), (path, value) => loadsOrSnncError(mutate(path, 'set', value))),
      { numRuns: 500 },
    );
  });

  it('byte-level mutations of the text', () => {
    const text = JSON.stringify(base, null, 1);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(text.length - 1), fc.integer({ min: 0, max: 127 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const chars = text.split('');
        for (const [pos, code] of edits) chars[pos] = String.fromCharCode(code);
        return loadsOrSnncError(chars.join(''));
      }),
      { numRuns: 1000 },
    );
  });
});
