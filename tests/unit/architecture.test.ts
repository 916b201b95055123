/**
 * Data flows one way: frontends → IR (and its reference semantics) → passes → targets → runtime
 * (execution engines) → tools (evaluation, diff, reports) → CLI; training produces models from below. This test reads every
 * TypeScript import (static and dynamic) of the library and fails, naming the file and the import, on a
 * back edge: a folder importing one that sits above it. Lower folders never know the higher ones.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Each top-level folder, and the folders above it that it must not import. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  compiler: ['targets', 'runtime', 'training', 'cli', 'tools', 'bench', 'tests', 'examples'],
  targets: ['runtime', 'training', 'cli', 'tools', 'bench', 'tests', 'examples'],
  runtime: ['training', 'cli', 'tools', 'bench', 'tests', 'examples'],
  training: ['runtime', 'cli', 'tools', 'bench', 'tests', 'examples'],
  tools: ['cli', 'bench', 'tests', 'examples'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The repository folder an import of `file` lands in ('' for a package). */
function importedFolders(file: string): { spec: string; folder: string }[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)].map((m) => m[1]);
  return specs.map((spec) => ({ spec, folder: relative(resolve('.'), resolve(dirname(file), spec)).split(/[\\/]/)[0] }));
}

describe('architecture: imports follow the direction of data', () => {
  for (const [folder, forbidden] of Object.entries(FORBIDDEN)) {
    it(`${folder}/ imports nothing from ${forbidden.join(', ')}`, () => {
      const backEdges = sources(folder).flatMap((file) => importedFolders(file).filter((i) => forbidden.includes(i.folder)).map((i) => `${file} → ${i.spec}`));
      expect(backEdges).toEqual([]);
    });
  }

  it('the check sees imports (it is not vacuous)', () => {
    const seen = sources('targets').flatMap(importedFolders).map((i) => i.folder);
    expect(seen).toContain('compiler');
    expect(importedFolders('runtime/ort-runner.ts').map((i) => i.folder)).toEqual(expect.arrayContaining(['compiler', 'targets']));
  });
});
