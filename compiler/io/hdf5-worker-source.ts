/**
 * The source of the HDF5 reading worker (see hdf5.ts), kept as a string so that the same code runs from
 * the compiled dist/ and under vitest (which runs the .ts sources; a Worker cannot load a .ts file): the
 * parent starts it with `new Worker(HDF5_WORKER_SOURCE, { eval: true })`. It is plain CommonJS-style
 * JavaScript: eval workers have `require`, and h5wasm (an ES module) comes in by dynamic import from the
 * absolute URL the parent resolved.
 *
 * Protocol: the worker starts loading h5wasm from `workerData.h5wasmUrl` at once (so a replacement worker
 * is warm by the time it is needed); the parent posts `{ id, file }`; the worker answers `{ id, ok: true, root }` with
 * the whole file as a plain tree (groups → members, datasets → shape, dtype and value; attributes are not
 * read), or `{ id, ok: false, error }` when the file cannot be opened. A member or value that cannot be read
 * becomes `{ kind: 'error', error }` (or a dataset with `error`), so the reader decides whether it matters.
 * `tainted` reports a state the next file must not inherit: the file still open after close() (HDF5 keeps
 * a corrupt file open when some of its objects failed, and would serve that stale state to the next open of
 * the same file, as it shares open files by device and inode), or a failure that was not an HDF5 error (a
 * wasm trap or abort leaves the module unusable). The parent then replaces the worker. HDF5's own error printing is replaced by h5wasm's throwing
 * error handler, so no "HDF5-DIAG" stack reaches stderr; the errors' innermost line becomes the reason.
 * Anything else the library might print is dropped: the worker's console is silenced, and so are its
 * direct writes to fds 1 and 2 (Emscripten's NODERAWFS writes stdio with fs.writeSync; the worker has its
 * own fs module, so this does not touch the parent's).
 */
export const HDF5_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const writeSync = fs.writeSync;
fs.writeSync = function (fd, data, ...rest) {
  if (fd !== 1 && fd !== 2) return writeSync.call(this, fd, data, ...rest);
  if (typeof data === 'string') return Buffer.byteLength(data);
  return typeof rest[1] === 'number' ? rest[1] : data.byteLength - (rest[0] || 0);
};
for (const k of ['log', 'info', 'warn', 'error', 'debug', 'trace']) console[k] = () => undefined;
const MAX_DEPTH = 64;
const MAX_OBJECTS = 200000;
let h5 = null;
let Module = null;
const loading = import(workerData.h5wasmUrl).then(async (mod) => {
  const lib = mod.default || mod;
  Module = await lib.ready;
  Module.activate_throwing_error_handler();
  h5 = lib;
});
loading.catch(() => undefined); // reported with the first request

/** The innermost message of an HDF5 error stack ("#006: ... in H5F__super_read(): truncated file: ..."), else the error's message. */
function reason(e) {
  const text = e && typeof e.message === 'string' ? e.message : String(e);
  const lines = [...text.matchAll(/#\d+: .*? in [^\s(]+\(\): (.*)/g)];
  if (lines.length) return lines[lines.length - 1][1].trim();
  return text.split('\n')[0].slice(0, 300);
}

const isHdf5Error = (e) => e && typeof e.message === 'string' && e.message.startsWith('HDF5-DIAG');
/** Whether the library still holds a file open (Emscripten streams beyond stdin, stdout and stderr). */
const filesOpen = () => Module.FS.streams.some((s, fd) => s && fd > 2);

function readFile(file) {
  const state = { objects: 0, tainted: false };
  const fail = (e) => {
    if (!isHdf5Error(e)) state.tainted = true;
    return reason(e);
  };
  const dataset = (d, path) => {
    const out = { kind: 'dataset', path, shape: null, dtype: '', value: null };
    try {
      out.shape = d.shape ? Array.from(d.shape, Number) : null;
      out.dtype = String(d.dtype);
      const v = d.value;
      out.value = v === undefined ? null : v;
    } catch (e) {
      out.error = fail(e);
    }
    return out;
  };
  const group = (g, path, depth) => {
    const out = { kind: 'group', path, members: new Map() };
    let keys;
    try {
      keys = g.keys();
    } catch (e) {
      out.error = fail(e);
      return out;
    }
    for (const k of keys) {
      const p = path === '/' ? '/' + k : path + '/' + k;
      if (++state.objects > MAX_OBJECTS || depth >= MAX_DEPTH) {
        state.tainted = true;
        const err = new Error('more than ' + MAX_OBJECTS + ' objects, or groups nested deeper than ' + MAX_DEPTH + ' (a link cycle?)');
        err.budget = true;
        throw err;
      }
      try {
        const x = g.get(k);
        if (x instanceof h5.Group) out.members.set(k, group(x, p, depth + 1));
        else if (x instanceof h5.Dataset) out.members.set(k, dataset(x, p));
        // Named datatypes, broken and external links are not data: left out.
      } catch (e) {
        if (e && e.budget) throw e;
        out.members.set(k, { kind: 'error', path: p, error: fail(e) });
      }
    }
    return out;
  };
  let f;
  try {
    f = new h5.File(file, 'r');
  } catch (e) {
    return { ok: false, error: fail(e), tainted: state.tainted || filesOpen() };
  }
  let reply;
  try {
    reply = { ok: true, root: group(f, '/', 0) };
  } catch (e) {
    reply = { ok: false, error: reason(e) };
    state.tainted = true;
  }
  try {
    f.close();
  } catch {
    state.tainted = true;
  }
  return { ...reply, tainted: state.tainted || filesOpen() };
}

parentPort.on('message', async (req) => {
  let reply;
  try {
    await loading;
    reply = { id: req.id, ...readFile(req.file) };
  } catch (e) {
    reply = { id: req.id, ok: false, error: reason(e), tainted: true };
  }
  try {
    parentPort.postMessage(reply);
  } catch (e) {
    parentPort.postMessage({ id: req.id, ok: false, error: 'cannot pass the file content back (' + reason(e) + ')', tainted: true });
  }
});
`;
