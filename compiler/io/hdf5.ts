/**
 * Reading HDF5 files (NIR and NetX are HDF5) without trusting the HDF5 library: h5wasm runs in a
 * worker thread (hdf5-worker-source.ts) that returns the whole file as a plain tree of groups and
 * datasets, under a time limit. Some corrupt files send HDF5 into an endless loop; on the time limit the
 * worker is terminated (which stops a running wasm loop) and the read fails with an error naming the
 * file. HDF5's error stacks never reach stderr: the worker turns them into the reason of the error.
 *
 * The limit is 60 s by default (real files take well under a second), or `SNNC_HDF5_TIMEOUT` seconds, or
 * the readers' `hdf5TimeoutS` option. One worker is kept for the process (unref'd while idle, so it never
 * holds the process open) and replaced after a timeout or a failure that may have left it in a bad state.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { badInput } from '../errors.js';
import { HDF5_WORKER_SOURCE } from './hdf5-worker-source.js';
import { readInputFile } from './read-file.js';

/** The default time limit of one HDF5 file read, in seconds. */
export const HDF5_DEFAULT_TIMEOUT_S = 60;
/** The environment variable that overrides it (seconds). */
export const HDF5_TIMEOUT_ENV = 'SNNC_HDF5_TIMEOUT';

/** A dataset's value as h5wasm returns it. */
export type Hdf5Value = number | bigint | string | boolean | ArrayLike<number | bigint | string | boolean>;

export interface Hdf5Dataset {
  readonly kind: 'dataset';
  /** Absolute path in the file, e.g. "/node/nodes/lif1/tau". */
  readonly path: string;
  readonly shape: number[] | null;
  readonly dtype: string;
  readonly value: Hdf5Value | null;
  /** Why the shape or value could not be read (corrupt data). */
  readonly error?: string;
}
export interface Hdf5Group {
  readonly kind: 'group';
  readonly path: string;
  /** Members in the order HDF5 lists them (by name). */
  readonly members: ReadonlyMap<string, Hdf5Object>;
  /** Why the member list could not be read (corrupt data). */
  readonly error?: string;
}
/** A member HDF5 lists but cannot open. */
export interface Hdf5Unreadable {
  readonly kind: 'error';
  readonly path: string;
  readonly error: string;
}
export type Hdf5Object = Hdf5Group | Hdf5Dataset | Hdf5Unreadable;

export interface Hdf5ReadOptions {
  /** Time limit in seconds (default: $SNNC_HDF5_TIMEOUT, else 60). */
  readonly timeoutS?: number;
}

/**
 * An HDF5 file read into memory, with accessors that fail with an error naming the file and the HDF5
 * path when the part a reader needs is corrupt (absent members are null, as a reader may tolerate them).
 */
export class Hdf5Tree {
  constructor(
    readonly file: string,
    /** The format, for messages ("NIR", "NetX"). */
    readonly what: string,
    readonly root: Hdf5Group,
  ) {}

  corrupt(path: string, why: string): Error {
    return badInput(`${this.file}: corrupt HDF5 (${this.what}) file: cannot read "${path}" (${why})`);
  }

  /** The member at a relative path ("a/b"), or null when absent. */
  get(g: Hdf5Group, path: string): Hdf5Object | null {
    let cur: Hdf5Object = g;
    for (const part of path.split('/').filter((p) => p !== '')) {
      if (cur.kind !== 'group') return null;
      if (cur.error) throw this.corrupt(cur.path, cur.error);
      const next: Hdf5Object | undefined = cur.members.get(part);
      if (!next) return null;
      if (next.kind === 'error') throw this.corrupt(next.path, next.error);
      cur = next;
    }
    return cur;
  }

  group(g: Hdf5Group, path: string): Hdf5Group | null {
    const m = this.get(g, path);
    return m?.kind === 'group' ? m : null;
  }

  dataset(g: Hdf5Group, path: string): Hdf5Dataset | null {
    const m = this.get(g, path);
    if (m?.kind !== 'dataset') return null;
    if (m.error) throw this.corrupt(m.path, m.error);
    return m;
  }

  /** A dataset's value, or undefined when the dataset is absent. */
  value(g: Hdf5Group, path: string): Hdf5Value | undefined {
    return this.dataset(g, path)?.value ?? undefined;
  }

  /** Member names of a group. */
  keys(g: Hdf5Group): string[] {
    if (g.error) throw this.corrupt(g.path, g.error);
    return [...g.members.keys()];
  }

  /** The first unreadable part of the file, if any (for readers that need all of it). */
  firstError(g: Hdf5Group = this.root): { path: string; error: string } | undefined {
    if (g.error) return { path: g.path, error: g.error };
    for (const m of g.members.values()) {
      if (m.kind === 'error' || (m.kind === 'dataset' && m.error)) return { path: m.path, error: m.error! };
      if (m.kind === 'group') {
        const e = this.firstError(m);
        if (e) return e;
      }
    }
    return undefined;
  }
}

/** A scalar or array value as numbers (int64 values arrive as bigint). */
export function hdf5Numbers(v: Hdf5Value): number[] {
  return typeof v === 'object' ? Array.from(v as ArrayLike<number | bigint>, Number) : [Number(v)];
}

/** The time limit: the option, else $SNNC_HDF5_TIMEOUT, else 60 s; a bad value is a named error. */
export function hdf5TimeoutS(option?: number): number {
  if (option !== undefined) {
    if (!(Number.isFinite(option) && option > 0)) throw badInput(`HDF5 time limit must be a positive number of seconds, got ${option}`);
    return option;
  }
  const env = process.env[HDF5_TIMEOUT_ENV];
  if (env === undefined || env.trim() === '') return HDF5_DEFAULT_TIMEOUT_S;
  const s = Number(env);
  if (!(Number.isFinite(s) && s > 0)) throw badInput(`${HDF5_TIMEOUT_ENV} must be a positive number of seconds, got "${env}"`);
  return s;
}

/** Reads a whole HDF5 file in the worker; `what` names the format in errors (e.g. "NIR"). */
export async function readHdf5(file: string, what: string, options: Hdf5ReadOptions = {}): Promise<Hdf5Tree> {
  const timeoutS = hdf5TimeoutS(options.timeoutS);
  const bytes = readInputFile(file, `${what} file`); // h5wasm gives no reason for a missing or unreadable file
  const reply = await inWorker(file, timeoutS, what);
  if (!reply.ok) throw openError(file, what, bytes, reply.error ?? 'unknown error');
  return new Hdf5Tree(file, what, reply.root!);
}

const SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

function openError(file: string, what: string, bytes: Uint8Array, why: string): Error {
  const t = /truncated file: eof = (\d+),.*stored_eof = (\d+)/.exec(why);
  if (t) return badInput(`${file}: truncated HDF5 (${what}) file: ${t[1]} of ${t[2]} bytes`);
  if (/signature not found/.test(why)) {
    if (bytes.length < SIGNATURE.length && bytes.every((b, i) => b === SIGNATURE[i])) return badInput(`${file}: truncated HDF5 (${what}) file: ${bytes.length} bytes`);
    return badInput(`${file}: not an HDF5 file (no HDF5 signature); a ${what} file is HDF5`);
  }
  return badInput(`${file}: corrupt HDF5 (${what}) file: cannot open it (${why})`);
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly root?: Hdf5Group;
  readonly error?: string;
  readonly tainted?: boolean;
}

let worker: Worker | undefined;
let nextId = 0;
let queue: Promise<unknown> = Promise.resolve();

/** The URL of h5wasm's node build, resolved here (the eval'd worker has no module location of its own). */
function h5wasmUrl(): string {
  try {
    return import.meta.resolve('h5wasm/node');
  } catch {
    // A runtime without import.meta.resolve: look for node_modules/h5wasm above this file.
    for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
      const p = join(d, 'node_modules', 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
      if (existsSync(p)) return pathToFileURL(p).href;
      if (dirname(d) === d) throw new Error('cannot find the h5wasm package');
    }
  }
}
let url: string | undefined;

function startWorker(): Worker {
  url ??= h5wasmUrl();
  // The worker silences its own output (hdf5-worker-source.ts); piping its stdio here instead would hold the process open.
  const w = new Worker(HDF5_WORKER_SOURCE, { eval: true, workerData: { h5wasmUrl: url } });
  w.on('error', () => undefined); // a pending request reports it
  w.on('exit', () => {
    if (worker === w) worker = undefined;
  });
  w.unref();
  return w;
}

/**
 * Stops the worker (terminate() interrupts running wasm too, tests/acceptance/hdf5-robustness.test.ts) and starts its
 * replacement, which loads h5wasm while idle; gives up waiting for the stop after 5 s.
 */
async function stopWorker(w: Worker): Promise<void> {
  if (worker === w) worker = startWorker();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([w.terminate(), new Promise((r) => (timer = setTimeout(r, 5000).unref()))]);
  clearTimeout(timer);
}

/** Reads one file in the worker; requests run one at a time, each under its own time limit. */
function inWorker(file: string, timeoutS: number, what: string): Promise<Reply> {
  const run = queue.then(() => request(file, timeoutS, what));
  queue = run.catch(() => undefined);
  return run;
}

function request(file: string, timeoutS: number, what: string): Promise<Reply> {
  const w = (worker ??= startWorker());
  const id = nextId++;
  w.ref();
  return new Promise<Reply>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const fail = (message: string) => {
      done();
      stopWorker(w).then(
        () => reject(badInput(message)),
        () => reject(badInput(message)),
      );
    };
    const timer = setTimeout(() => fail(`${file}: HDF5 parsing did not finish within ${timeoutS} s (corrupt file?)`), timeoutS * 1000);
    const onMessage = (m: Reply) => {
      if (m.id !== id) return;
      done();
      if (m.tainted) void stopWorker(w);
      else w.unref();
      resolve(m);
    };
    const onError = (e: Error) => fail(`${file}: the HDF5 reader failed on this ${what} file (${e.message}; corrupt file?)`);
    const onExit = (code: number) => fail(`${file}: the HDF5 reader stopped (exit code ${code}) on this ${what} file (corrupt file?)`);
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.postMessage({ id, file });
  });
}
