/**
 * Opening HDF5 files with h5wasm (NIR and NetX are HDF5): waits for the wasm module once, and turns a
 * missing or unreadable file into an error that names it.
 */
import h5wasm from 'h5wasm/node';
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
