/**
 * The folder a neuromorphic target writes and its emulator reads: `<target>.json` (the descriptor),
 * `<target>.bin` (little-endian 32-bit words the descriptor indexes) and `manifest.json`, written
 * atomically; reading checks that the words file has the length the descriptor states. It knows
 * nothing of what the descriptor holds: each target parses its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput } from '../../compiler/errors.js';
import { writeDirAtomic } from '../../compiler/io/atomic-write.js';
import { SNNC_VERSION } from '../../compiler/version.js';

export interface ArtifactFolder {
  readonly target: string;
  readonly descriptor: { readonly sourceHash: string; readonly model: string };
  readonly words: Int32Array | Uint32Array;
  readonly summary: Readonly<Record<string, unknown>>;
  readonly quantisation: readonly unknown[];
}

/** Writes the three files; returns their names. */
export async function writeArtifactFolder(outDir: string, a: ArtifactFolder): Promise<string[]> {
  const files = [`${a.target}.json`, `${a.target}.bin`, 'manifest.json'];
  await writeDirAtomic(outDir, (tmp) => {
    writeFileSync(join(tmp, files[0]), `${JSON.stringify(a.descriptor, null, 1)}\n`);
    writeFileSync(join(tmp, files[1]), new Uint8Array(a.words.buffer, a.words.byteOffset, a.words.byteLength));
    const manifest = { format: 'snnc-artifacts', target: a.target, snncVersion: SNNC_VERSION, sourceHash: a.descriptor.sourceHash, model: a.descriptor.model, files, summary: a.summary, quantisation: a.quantisation };
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  });
  return files;
}

/** Reads `<target>.json` with `parse`, then the words file it names, of the length it states. */
export function readArtifactFolder<D>(dir: string, target: string, parse: (text: string, file: string) => D, blob: (d: D) => { file: string; words: number }): { descriptor: D; bytes: Uint8Array } {
  const file = join(dir, `${target}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw badInput(`${dir}: no ${target}.json (is it a folder written by \`snnc compile --target ${target}\`?)`);
  }
  const descriptor = parse(text, file);
  const b = blob(descriptor);
  const bin = join(dir, b.file);
  const bytes = readFileSync(bin);
  if (bytes.byteLength !== b.words * 4) throw badInput(`${bin}: ${bytes.byteLength} bytes, expected ${b.words * 4}`);
  return { descriptor, bytes };
}
