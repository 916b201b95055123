/**
 * Event-camera data: the N-MNIST / N-Caltech101 "ATIS bin" format, and binning events into frames
 * (per-step event counts per polarity and pixel, as tonic's ToFrame with a time window) for models with
 * event input.
 */
import { badInput } from '../errors.js';

export interface Events {
  readonly x: Int32Array;
  readonly y: Int32Array;
  /** Timestamps in microseconds. */
  readonly t: Float64Array;
  /** Polarity: 0 (OFF) or 1 (ON). */
  readonly p: Int32Array;
}

/**
 * 5 bytes per event: x, y, then polarity (bit 7) and a 23-bit big-endian timestamp in µs. An event with
 * y = 240 marks a timestamp overflow: later timestamps gain 2^13.
 */
export function parseNmnistBin(bytes: Uint8Array, what: string): Events {
  if (bytes.length % 5 !== 0) throw badInput(`${what}: ${bytes.length} bytes is not a whole number of 5-byte N-MNIST events`);
  // Typed arrays sized from the file (at most one event per 5 bytes): memory proportional to the input.
  const cap = bytes.length / 5;
  const x = new Int32Array(cap);
  const y = new Int32Array(cap);
  const t = new Float64Array(cap);
  const p = new Int32Array(cap);
  let n = 0;
  let overflow = 0;
  for (let i = 0; i < bytes.length; i += 5) {
    if (bytes[i + 1] === 240) {
      overflow += 1 << 13;
      continue;
    }
    x[n] = bytes[i];
    y[n] = bytes[i + 1];
    p[n] = bytes[i + 2] >> 7;
    t[n] = (((bytes[i + 2] & 0x7f) << 16) | (bytes[i + 3] << 8) | bytes[i + 4]) + overflow;
    n++;
  }
  return { x: x.slice(0, n), y: y.slice(0, n), t: t.slice(0, n), p: p.slice(0, n) };
}

/**
 * Frames [T, 2, height, width] of event counts: event k goes to step floor(t_k / binUs) (events at or
 * after T·binUs are dropped), channel p_k, pixel (y_k, x_k).
 */
export function binEvents(ev: Events, width: number, height: number, binUs: number, timesteps: number): Float32Array {
  for (const [k, v] of Object.entries({ width, height, timesteps })) {
    if (!Number.isSafeInteger(v) || v < 1) throw badInput(`event frames: ${k} must be a positive integer, got ${v}`);
  }
  if (!(Number.isFinite(binUs) && binUs > 0)) throw badInput(`event frames: the time bin must be a positive number of µs, got ${binUs}`);
  if (timesteps * 2 * height * width > 2 ** 31 - 1) throw badInput(`event frames: ${timesteps} steps × 2 × ${height} × ${width} values is too many`);
  const frames = new Float32Array(timesteps * 2 * height * width);
  for (let k = 0; k < ev.x.length; k++) {
    const step = Math.floor(ev.t[k] / binUs);
    if (step >= timesteps) continue;
    if (ev.x[k] < 0 || ev.x[k] >= width || ev.y[k] < 0 || ev.y[k] >= height) throw badInput(`event ${k} at (${ev.x[k]}, ${ev.y[k]}) is outside the ${width}×${height} sensor`);
    frames[((step * 2 + ev.p[k]) * height + ev.y[k]) * width + ev.x[k]] += 1;
  }
  return frames;
}
