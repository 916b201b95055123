/**
 * SpiNNaker-1 fixed-point arithmetic, bit for bit as sPyNNaker's C code compiles for the ARM968
 * (spinnaker.md §2): s16.15 `accum` values held as raw int32, u0.32 decay factors held as raw uint32,
 * the spinn_common exponential (expk / expulr, §2.3), the load-time divisions (kdivk, kdivui) and the
 * IF_curr_exp constants derived from them (§3.2). Multiplies truncate toward −∞ and wrap to 32 bits,
 * as GCC's inline `smull` sequence does. Host-side encoding rounds half to even and rejects values out
 * of range (§2.1). This module knows nothing of networks or files.
 */

import { badInput } from '../../compiler/errors.js';

export const ACCUM_ONE = 32768;
const U32 = 2 ** 32;
const ACCUM_MIN = -(2 ** 31);
const ACCUM_MAX = 2 ** 31 - 1;

/** Round half to even (numpy.rint, Python round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up; r − x is exact here, and 0.5 only at a half
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Host encoding of a float as raw s16.15; throws `what` out of range (no silent clipping). */
export function toS1615(value: number, what: string): number {
  const raw = roundHalfEven(value * ACCUM_ONE);
  if (!Number.isFinite(raw) || raw < ACCUM_MIN || raw > ACCUM_MAX) {
    throw badInput(`${what} = ${value} overflows s16.15 (range −65536 … 65535.99997)`);
  }
  return raw;
}

/** accum × accum: floor(a·b / 2¹⁵), wrapped to 32 bits. Exact in doubles (each partial product < 2⁴⁸). */
export function mulAccum(a: number, b: number): number {
  const bl = b & 0xffff;
  const bh = b >> 16;
  return (a * bh * 2 + Math.floor((a * bl) / ACCUM_ONE)) | 0;
}

/** decay_s1615: s16.15 × u0.32 → s16.15, i.e. floor(x·d / 2³²) (x signed, d unsigned). */
export function decayS1615(x: number, d: number): number {
  const dl = d & 0xffff;
  const dh = (d - dl) / 65536; // d is a uint32 held as a non-negative double
  return Math.floor((x * dh + Math.floor((x * dl) / 65536)) / 65536) | 0;
}

/** decay_s1615_to_u032: (x as uint32)·d >> 15, low 32 bits, as uint32. */
export function decayS1615ToU032(x: number, d: number): number {
  return Number(((BigInt(x >>> 0) * BigInt(d >>> 0)) >> 15n) & 0xffffffffn);
}

/** kdivk: ((a as uint32) << 15) / (b as uint32), truncated, as s16.15 raw. */
export function kdivk(a: number, b: number): number {
  return Number(((BigInt(a >>> 0) << 15n) / BigInt(b >>> 0)) & 0xffffffffn) | 0;
}

/** kdivui: (a as uint32) / n, truncated. */
export function kdivui(a: number, n: number): number {
  return Math.floor((a >>> 0) / n) | 0;
}

const EXP_HI = [
  9708n, 26389n, 71733n, 194991n, 530041n, 1440801n, 3916503n, 10646160n, 28939262n, 78665070n, 213833830n, 581260615n, 1580030169n, 4294967296n, 11674931555n, 31735754293n, 86266724208n,
  234497268814n, 637429664642n, 1732713474316n, 4710003551159n, 12803117065094n, 34802480465680n, 94602950235157n, 257157480542844n, 699026506411923n,
];
const EXPM1_MID = [
  0n, 260218914n, 504671961n, 734314346n, 950043403n, 1152702096n, 1343082321n, 1521927990n, 1689937949n, 1847768698n, 1996036966n, 2135322113n, 2266168400n, 2389087112n, 2504558555n, 2613033936n,
];
const M32 = 0xffffffffn;
const cm = (a: bigint, b: bigint) => ((a & M32) * (b & M32)) >> 32n;
const series = (y: bigint) => (cm((4293434720n - cm(2081624032n, y)) & M32, y) + 5294n) & M32;
function scale64(x: bigint, y: bigint): bigint {
  const v = (x & M32) * y;
  const round64 = (v >> 32n) + ((v & M32) >= 0x7fffffffn ? 1n : 0n);
  return round64 + (x >> 32n) * y;
}

/** e^n as u32.32 (spinn_common's table + series algorithm), or a saturation marker. */
function expU3232(n: number): bigint | 'high' | 'low' {
  if (n > 363408) return 'high';
  if (n < -340695) return 'low';
  let z = n >> 15;
  let f = n - z * 32768;
  if (f === 0) return EXP_HI[13 + z];
  z += 1;
  f = 32768 - f;
  let t = EXP_HI[13 + z];
  t -= scale64(t, EXPM1_MID[f >> 11]);
  t -= scale64(t, series(BigInt((f & 0x7ff) << 17)));
  return t;
}

/** expk: e^n for a raw s16.15 n, as raw s16.15 (truncated). */
export function expk(n: number): number {
  const t = expU3232(n);
  if (t === 'high') return ACCUM_MAX;
  if (t === 'low') return 0;
  return Number(t >> 17n) | 0;
}

/** expulr: e^n for a raw s16.15 n ≤ 0, as raw u0.32 (the low 32 bits of the u32.32 value). */
export function expulr(n: number): number {
  const t = expU3232(n);
  if (t === 'high') return 0x7fffffff;
  if (t === 'low') return 0;
  return Number(t & M32);
}

/** IF_curr_exp parameters as the host writes them (raw s16.15, refract timer in steps). */
export interface IfCurrExpParams {
  readonly vInit: number;
  readonly vRest: number;
  readonly cm: number;
  readonly tauM: number;
  readonly iOffset: number;
  readonly vReset: number;
  readonly tauRefrac: number;
  /** Steps the neuron starts refractory (frozen) for. */
  readonly refractTimerInit: number;
  readonly vThresh: number;
  readonly tauSynE: number;
  readonly tauSynI: number;
  /** Time step in ms, raw s16.15 (1.0 ms = 32768). */
  readonly timestep: number;
}

/** The per-neuron constants the core derives at load (spinnaker.md §3.2); `decay`/`init` are u0.32. */
export interface IfCurrExpConstants {
  readonly rMembrane: number;
  readonly expTc: number;
  readonly tRefract: number;
  readonly decayE: number;
  readonly initE: number;
  readonly decayI: number;
  readonly initI: number;
}

export function deriveConstants(p: IfCurrExpParams, stepsPerTimestep = 1): IfCurrExpConstants {
  const ts = kdivui(p.timestep, stepsPerTimestep);
  const refract = kdivk(p.tauRefrac, ts);
  const synapse = (tau: number) => {
    const decay = expulr(-kdivk(ts, tau));
    return { decay, init: decayS1615ToU032(kdivk(tau, ts), 0xffffffff - decay) };
  };
  const e = synapse(p.tauSynE);
  const i = synapse(p.tauSynI);
  return {
    rMembrane: kdivk(p.tauM, p.cm),
    expTc: expk(-kdivk(ts, p.tauM)),
    tRefract: (refract >> 15) + ((refract & 0x7fff) !== 0 ? 1 : 0),
    decayE: e.decay,
    initE: e.init,
    decayI: i.decay,
    initI: i.init,
  };
}

/** u0.32 raw as a real number (for reports). */
export const u032 = (raw: number) => (raw >>> 0) / U32;
