/**
 * The one way snnc reads an input file (models, sidecars, datasets, architecture files). It checks what
 * the path is before reading: anything but a regular file (a directory, a FIFO, a socket, a device such
 * as /dev/zero) is refused with an error naming it, because reading one can block forever or never
 * end. The size is capped before a byte is read, and failures name the file and the system's reason
 * (e.g. ENOENT).
 */
import { constants as bufferConstants } from 'node:buffer';
import { type Stats, closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SnncError, badInput } from '../errors.js';

/**
 * Largest binary input file: 2 GiB − 1 byte, the most Node reads into one buffer (its I/O limit,
 * `readFileSync` refuses larger files). Models and datasets are far smaller.
 */
export const MAX_INPUT_BYTES = 2 ** 31 - 1;
/**
 * Largest JSON text file: V8's maximum string length (2^29 − 24 UTF-16 units, about 512 MiB). A text
 * with more bytes may not decode into one JavaScript string; UTF-8 never decodes to more units than bytes.
 */
export const MAX_TEXT_BYTES = bufferConstants.MAX_STRING_LENGTH;

export interface ReadOptions {
  /** Cap on the file's size in bytes (default MAX_INPUT_BYTES). */
  maxBytes?: number;
  /** Why the cap is what it is, for the error message. */
  capReason?: string;
  /** How errors name the file (default: its path). */
  name?: string;
}

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 1)} MiB`;

/** What kind of file system object `st` is, for messages ("a directory", "a named pipe (FIFO)", …). */
export function kindOf(st: Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/** A regular input file opened for reading byte ranges (streamed readers such as the safetensors sidecar's). */
export interface InputFile {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer only if the file shrank while open); errors name the file. */
  read(offset: number, length: number): Buffer;
  close(): void;
}

/** Opens a regular file for reading, refusing special files and files over the size cap (see ReadOptions). */
export function openInputFile(path: string, what?: string, options: ReadOptions = {}): InputFile {
  const name = options.name ?? path;
  const cannot = (reason: string) => badInput(`${name}: cannot read${what ? ` ${what}` : ''} (${reason})`);
  const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  const maxBytes = options.maxBytes ?? MAX_INPUT_BYTES;
  const check = (st: Stats) => {
    if (!st.isFile()) throw cannot(`it is ${kindOf(st)}; snnc reads regular files only`);
    if (st.size > maxBytes) {
      throw cannot(`it has ${st.size} bytes, more than the limit of ${maxBytes} bytes (${MiB(maxBytes)}${options.capReason ? `, ${options.capReason}` : ''})`);
    }
  };
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw cannot(String(code(e)));
  }
  check(st);
  // O_NONBLOCK: should the path have become a FIFO since the stat, opening it must not wait for a writer.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw cannot(String(code(e)));
  }
  let size: number;
  try {
    const fst = fstatSync(fd);
    check(fst);
    size = fst.size;
  } catch (e) {
    closeSync(fd);
    if (e instanceof SnncError) throw e;
    throw cannot(String(code(e)));
  }
  return {
    size,
    read(offset: number, length: number): Buffer {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      try {
        while (got < length) {
          const n = readSync(fd, buf, got, length - got, offset + got);
          if (n === 0) break; // the file shrank while being read
          got += n;
        }
      } catch (e) {
        throw cannot(String(code(e)));
      }
      return got === length ? buf : buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

/** Reads a regular file whole, refusing special files and files over the size cap (see ReadOptions). */
export function readInputFile(path: string, what?: string, options: ReadOptions = {}): Buffer {
  const file = openInputFile(path, what, options);
  try {
    return file.read(0, file.size);
  } finally {
    file.close();
  }
}

/**
 * Checks, without reading it, that `path` is a regular file within the cap (for libraries that open the
 * file themselves, e.g. h5wasm); the same errors as readInputFile.
 */
export function checkInputFile(path: string, what?: string, options: ReadOptions = {}): void {
  const name = options.name ?? path;
  const cannot = (reason: string) => badInput(`${name}: cannot read${what ? ` ${what}` : ''} (${reason})`);
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw cannot(String((e as NodeJS.ErrnoException).code ?? (e as Error).message));
  }
  if (!st.isFile()) throw cannot(`it is ${kindOf(st)}; snnc reads regular files only`);
  const maxBytes = options.maxBytes ?? MAX_INPUT_BYTES;
  if (st.size > maxBytes) throw cannot(`it has ${st.size} bytes, more than the limit of ${maxBytes} bytes (${MiB(maxBytes)})`);
}

/** Reads a UTF-8 text file (JSON documents), capped at MAX_TEXT_BYTES. */
export function readInputText(path: string, what?: string, options: Omit<ReadOptions, 'maxBytes' | 'capReason'> = {}): string {
  return readInputFile(path, what, { ...options, maxBytes: MAX_TEXT_BYTES, capReason: "V8's maximum string length: a longer text cannot be parsed" }).toString('utf8');
}
