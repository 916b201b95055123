/**
 * Reading HDF5 files with h5wasm (NIR and NetX are HDF5): waits for the wasm module once, turns a
 * missing or unreadable file into an error that names it, and reads members and numbers leniently.
 */
import h5wasm, { type Group } from 'h5wasm/node';
import { badInput } from '../errors.js';
import { readInputFile } from './read-file.js';

export type Hdf5File = InstanceType<typeof h5wasm.File>;

let ready: Promise<unknown> | undefined;

/** Resolves once h5wasm can be used (before creating files too). */
export async function hdf5Ready(): Promise<void> {
  ready ??= h5wasm.ready;
  await ready;
}

/** Opens `file` for reading; `what` names the format in errors (e.g. "NIR"). */
export async function openHdf5(file: string, what: string): Promise<Hdf5File> {
  readInputFile(file, `${what} file`); // h5wasm gives no reason for a missing or unreadable file
  await hdf5Ready();
  try {
    return new h5wasm.File(file, 'r');
  } catch (e) {
    throw badInput(`${file}: cannot open as an HDF5 (${what}) file (${(e as Error).message})`);
  }
}

/** A dataset's value as h5wasm returns it. */
export type Hdf5Value = number | bigint | string | ArrayLike<number | bigint | string>;

/** A group member, or null when absent (h5wasm throws on some malformed paths). */
export function hdf5Member(g: Group, path: string): ReturnType<Group['get']> | null {
  try {
    return g.get(path) ?? null;
  } catch {
    return null;
  }
}

/** A scalar or array value as numbers (int64 values arrive as bigint). */
export function hdf5Numbers(v: Hdf5Value): number[] {
  return typeof v === 'object' ? Array.from(v as ArrayLike<number | bigint>, Number) : [Number(v)];
}
