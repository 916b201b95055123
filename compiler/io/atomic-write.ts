/**
 * Safe, atomic output: a file or folder appears complete or not at all, and nothing of the user's is
 * lost. It owns the rules for what an output path may be and how it is replaced; it knows nothing of
 * what is written.
 *
 * - Content is written next to the destination under a hidden temporary name (`.NAME.tmp-PID-TIME`)
 *   and renamed into place. Temporaries left by a killed run (their process is gone) are removed by the
 *   next write into the same folder; a folder that was being replaced when the run died is restored.
 * - An output folder may be new, empty, or a folder snnc wrote (a `manifest.json` naming snnc and every
 *   file there). Anything else is refused unless `force`; `.`, `..`, `/`, the current folder or one
 *   above it, a symbolic link and a file are refused always.
 * - An output file may be new or a regular file; devices, FIFOs, sockets and folders are refused.
 * - I/O failures (EACCES, ENOSPC, …) become one line naming the user's path (exit 1), never the
 *   temporary name.
 */
import { type Stats, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';
import { ExitCode, SnncError, badInput } from '../errors.js';
import { kindOf } from './read-file.js';

export interface OutputOptions {
  /** Replace an existing folder that snnc did not write (never `.`, `..`, `/`, a file or a link). */
  readonly force?: boolean;
}

/** `.NAME.tmp-PID-TIME` (`.tmp~` where NAME was shortened to keep the name short), `.old` when moved aside. */
const TEMP = /^\.(.+)\.tmp([-~])(\d+)-\d+(\.old)?$/;
const TEMP_BASE = 100;

function tempName(path: string): string {
  const base = basename(path);
  const mark = base.length > TEMP_BASE ? '~' : '-';
  return join(dirname(path), `.${base.slice(0, TEMP_BASE)}.tmp${mark}${process.pid}-${Date.now()}`);
}

function statOrNull(path: string, follow: boolean): Stats | null {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw badInput(`${path}: a folder on this path is a file`);
    throw ioError(path, e);
  }
}

/** A system error (EACCES, ENOSPC, …) on the user's `path` as one line (exit 1); anything else unchanged. */
export function ioError(path: string, e: unknown): unknown {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof SnncError || typeof err?.code !== 'string' || !/^E[A-Z]+$/.test(err.code)) return e;
  const reason = err.message.replace(/^[A-Z]+: /, '').split(',')[0];
  return new SnncError(`${path}: cannot write (${err.code}: ${reason})`, ExitCode.runtime);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries of killed runs in `folder`; a folder moved aside for replacement (`.old`)
 * whose destination is missing is moved back instead. Best effort: never fails the write.
 */
export function cleanStaleTemporaries(folder: string): void {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || isAlive(Number(m[3]))) continue;
    const path = join(folder, name);
    try {
      const dest = join(folder, m[1]);
      if (m[4] && m[2] === '-' && statOrNull(dest, false) === null) renameSync(path, dest);
      else rmSync(path, { recursive: true, force: true });
    } catch {
      // another run may be cleaning it at the same moment
    }
  }
}

/** The files `dir` holds that no snnc manifest there lists (all of them when there is no manifest). */
function foreignEntries(dir: string): string[] {
  const entries = readdirSync(dir);
  let listed = new Set<string>();
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    if (typeof m?.snncVersion === 'string' && typeof m.format === 'string' && m.format.startsWith('snnc')) {
      listed = new Set<string>(['manifest.json', ...(Array.isArray(m.files) ? m.files : []), ...(typeof m.file === 'string' ? [m.file] : [])]);
    }
  } catch {
    // no manifest, or not ours: every entry is the user's
  }
  return entries.filter((e) => !listed.has(e));
}

/** Refuses an output folder that would destroy something of the user's; a no-op for a new path. */
export function checkOutputDir(dir: string, options: OutputOptions = {}): void {
  const abs = resolve(dir);
  const cwd = process.cwd();
  if (abs === parse(abs).root || abs === cwd || cwd.startsWith(abs + sep) || abs === homedir()) {
    throw badInput(`${dir}: is ${abs === cwd ? 'the current folder' : abs === homedir() ? 'your home folder' : 'a folder above the current one'}; name a new folder for the output`);
  }
  const st = statOrNull(abs, false);
  if (st === null) return;
  if (!st.isDirectory()) throw badInput(`${dir}: exists and is ${kindOf(st)}; the output must be a new folder or one snnc wrote`);
  if (options.force) return;
  const foreign = foreignEntries(abs);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 3).map((f) => `"${f}"`).join(', ');
    throw badInput(`${dir}: exists and holds files snnc did not write (${shown}${foreign.length > 3 ? `, … ${foreign.length} in all` : ''}); name a new folder, or pass --force to replace it`);
  }
}

/** Refuses an output file path that is a folder, a device, a FIFO or a socket. */
export function checkOutputFile(path: string): void {
  const st = statOrNull(resolve(path), true);
  if (st !== null && !st.isFile()) throw badInput(`${path}: exists and is ${kindOf(st)}; the output must be a regular file or a new path`);
}

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  checkOutputFile(path);
  const tmp = tempName(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    cleanStaleTemporaries(dirname(path));
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(path, e);
  }
}

/**
 * Builds a folder atomically: `fill` writes into an empty temporary folder, which then replaces `dir`.
 * An existing `dir` (checked by `checkOutputDir`) is moved aside, the new one renamed into place, and
 * the old one removed: a reader finds the old folder or the new one, never a mix (between the two
 * renames, for microseconds, it finds none; Node has no atomic exchange of folders).
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void> | void, options: OutputOptions = {}): Promise<void> {
  checkOutputDir(dir, options);
  const tmp = tempName(dir);
  try {
    mkdirSync(dirname(dir), { recursive: true });
    cleanStaleTemporaries(dirname(dir));
    mkdirSync(tmp);
  } catch (e) {
    throw ioError(dir, e);
  }
  try {
    await fill(tmp);
    if (statOrNull(dir, false) !== null) {
      const old = `${tmp}.old`;
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw ioError(dir, e);
  }
}

/**
 * A model name as one safe file name: no path separators, no control characters, not hidden, at most
 * 100 characters ("model" when nothing is left), so a model's name never chooses where output goes.
 */
export function safeFileName(name: string): string {
  const cleaned = name
    .replace(/[\u0000-\u001f\u007f-\u009f/\\]+/g, '_')
    .replace(/^[.\s-]+/, '')
    .slice(0, 100)
    .trim();
  return cleaned || 'model';
}
