/**
 * The folder a target writes: its files plus `manifest.json` (who wrote it, from what model, which
 * files, and each file's sha256), written atomically. For neuromorphic targets the files are
 * `<target>.json` (the descriptor) and `<target>.bin` (little-endian 32-bit words the descriptor
 * indexes, given as one array or written chunk by chunk, of any size; the descriptor is streamed and
 * checksums are computed reading files in pieces, so writing never holds a second copy). Reading (into
 * memory, so at most 2 GiB) verifies the manifest's checksums when it has them (a folder edited by hand
 * or corrupted is refused) and that the words file has the length the descriptor states. It knows
 * nothing of what the descriptor holds: each target parses and validates its own.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SnncError, badInput } from '../../compiler/errors.js';
import { type OutputOptions, writeDirAtomic } from '../../compiler/io/atomic-write.js';
import { writeJsonFile } from '../../compiler/io/json-stream.js';
import { readInputFile, readInputText } from '../../compiler/io/read-file.js';
import { SNNC_VERSION } from '../../compiler/version.js';

/** A words file's content: one array, or its chunks in order (written one at a time, never joined). */
export type Words = Int32Array | Uint32Array | { readonly byteLength: number; readonly chunks: () => Iterable<Int32Array | Uint32Array> };

export interface ArtifactFolder {
  readonly target: string;
  readonly descriptor: { readonly sourceHash: string; readonly model: string };
  readonly words: Words;
  readonly summary: Readonly<Record<string, unknown>>;
  readonly quantisation: readonly unknown[];
}

/** Who wrote a folder and what it holds: `manifest.json`, which also lets a later compile replace it. */
export interface FolderManifest {
  readonly target: string;
  readonly sourceHash: string;
  readonly model: string;
  /** Files the folder holds besides manifest.json. */
  readonly files: readonly string[];
  readonly [extra: string]: unknown;
}

/**
 * Writes a target's folder atomically: `fill` writes the files `m.files` names into a temporary folder,
 * then manifest.json is added. Returns the names of all files written.
 */
export async function writeTargetFolder(outDir: string, m: FolderManifest, fill: (tmp: string) => Promise<void> | void, options: OutputOptions = {}): Promise<string[]> {
  const files = [...m.files, 'manifest.json'];
  const { target, sourceHash, model, files: _listed, ...extra } = m;
  await writeDirAtomic(outDir, async (tmp) => {
    await fill(tmp);
    const sha256 = Object.fromEntries(m.files.map((f) => [f, sha256OfFile(join(tmp, f))]));
    const manifest = { format: 'snnc-artifacts', target, snncVersion: SNNC_VERSION, sourceHash, model, files, sha256, ...extra };
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  }, options);
  return files;
}

/** Writes the three files; returns their names. */
export async function writeArtifactFolder(outDir: string, a: ArtifactFolder, options: OutputOptions = {}): Promise<string[]> {
  const [json, bin] = [`${a.target}.json`, `${a.target}.bin`];
  assertFiniteJson(a.descriptor, json);
  const m = { target: a.target, sourceHash: a.descriptor.sourceHash, model: a.descriptor.model, files: [json, bin], summary: a.summary, quantisation: a.quantisation };
  return writeTargetFolder(outDir, m, (tmp) => {
    writeJsonFile(join(tmp, json), a.descriptor); // streamed: a machine-scale descriptor is near V8's longest string
    writeWords(join(tmp, bin), a.words);
  }, options);
}

const bytesOf = (w: Int32Array | Uint32Array) => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);

function writeWords(file: string, words: Words): void {
  if (ArrayBuffer.isView(words)) {
    writeFileSync(file, bytesOf(words));
    return;
  }
  const fd = openSync(file, 'w');
  try {
    for (const chunk of words.chunks()) {
      const bytes = bytesOf(chunk);
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    }
  } finally {
    closeSync(fd);
  }
}

/** Refuses a descriptor holding NaN or ±Infinity (JSON would write null, which no reader takes back). */
function assertFiniteJson(v: unknown, file: string, path = ''): void {
  if (typeof v === 'number' && !Number.isFinite(v)) throw badInput(`${file}: field "${path}" would be ${v}: a model value is out of range for the target`);
  if (Array.isArray(v)) v.forEach((x, i) => assertFiniteJson(x, file, `${path}[${i}]`));
  else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) for (const [k, x] of Object.entries(v)) assertFiniteJson(x, file, path ? `${path}.${k}` : k);
}

/** Reads `<target>.json` with `parse`, then the words file it names, of the length it states. */
export function readArtifactFolder<D>(dir: string, target: string, parse: (text: string, file: string) => D, blob: (d: D) => { file: string; words: number }): { descriptor: D; bytes: Uint8Array } {
  const file = join(dir, `${target}.json`);
  if (!existsSync(file)) throw badInput(`${dir}: no ${target}.json (is it a folder written by \`snnc compile --target ${target}\`?)`);
  const text = readInputText(file, `${target} descriptor`);
  verifyChecksum(dir, `${target}.json`, Buffer.from(text, 'utf8'));
  const descriptor = parse(text, file);
  const b = blob(descriptor);
  if (typeof b.file !== 'string' || b.file !== basename(b.file) || b.file === '..' || b.file === '.') throw badInput(`${file}: blob.file must name a file in the folder itself; got ${JSON.stringify(b.file)}`);
  const bin = join(dir, b.file);
  const bytes = readInputFile(bin, `${target} words`, { capReason: `the ${target} emulator holds the words file in memory; the folder is complete for a loader that streams it` });
  verifyChecksum(dir, b.file, bytes);
  if (bytes.byteLength !== b.words * 4) throw badInput(`${bin}: ${bytes.byteLength} bytes, expected ${b.words * 4}`);
  return { descriptor, bytes };
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The sha256 of a file, read in pieces (a words file may be near 2 GiB). */
function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const piece = Buffer.allocUnsafe(16 * 2 ** 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, piece, 0, piece.length, null)) > 0; ) hash.update(piece.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Compares `bytes` of `dir/file` with the sha256 manifest.json records for it (folders written before checksums were recorded have none). */
function verifyChecksum(dir: string, file: string, bytes: Uint8Array): void {
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) return;
  let expected: unknown;
  try {
    expected = JSON.parse(readInputText(manifestFile, 'manifest'))?.sha256?.[file];
  } catch (e) {
    if (e instanceof SnncError) throw e;
    throw badInput(`${manifestFile}: not valid JSON`);
  }
  if (expected === undefined) return;
  if (expected !== sha256Of(bytes)) throw badInput(`${join(dir, file)}: its content does not match the sha256 in manifest.json (edited or corrupted; compile again, or remove "sha256" from manifest.json to run an edited folder)`);
}
