/**
 * Writing HDF5 files (the nir and netx targets) with h5wasm, deterministically: HDF5 stamps object
 * headers with the current time (h5wasm 0.10.3 cannot turn track_times off), so the clock the wasm
 * library reads (Date.now, through Emscripten's clock_gettime) is held at 0 while the file is written,
 * and the same model always gives the same bytes. The writing is synchronous, so nothing else runs in
 * that window.
 */
import h5wasm from 'h5wasm/node';

export type Hdf5WriteFile = InstanceType<typeof h5wasm.File>;

let ready: Promise<unknown> | undefined;

/** Creates (or replaces) `path` and lets `fill` write into it; the file is closed afterwards, also on error. */
export async function writeHdf5File(path: string, fill: (f: Hdf5WriteFile) => void): Promise<void> {
  ready ??= h5wasm.ready;
  await ready;
  const now = Date.now;
  Date.now = () => 0;
  try {
    const f = new h5wasm.File(path, 'w');
    try {
      fill(f);
    } finally {
      f.close();
    }
  } finally {
    Date.now = now;
  }
}
