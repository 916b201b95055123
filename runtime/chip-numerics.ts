/**
 * The host side of a gpu folder compiled with `--numerics loihi|spinnaker` (targets/gpu/manifest.ts
 * ChipNumerics): what the chip's emulator does around its cores, done identically here so that
 * onnxruntime's integer graph gives the emulator's outputs bit for bit. In: rate- or event-coded input
 * spikes (uint8 [S, B, ...], zero after step T), or the host encoder's currents (int32 [B, N]: Loihi
 * round(value·λ); SpiNNaker the s16.15 of value·λ/gain). Out: the decoded output, in float64 as the
 * emulator computes it, then float32.
 */
import { badInput } from '../compiler/errors.js';
import { averagesOverTime } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { preprocess, rateEncode, timeMajor } from '../compiler/reference/encoders.js';
import { simulate } from '../compiler/reference/simulator.js';
import { encoderOutputSize, hostEncoder } from '../targets/common/descriptor-checks.js';
import type { ChipNumerics, GpuManifest } from '../targets/gpu/manifest.js';
import { ACCUM_ONE, roundHalfEven, toS1615 } from '../targets/spinnaker/fixed-point.js';
import type { CertifiedEncoder, HostRounding } from './host-encoder.js';

/** How the chip's emulator turns a host encoder value into a current: Loihi round(v·λ), SpiNNaker the s16.15 of v·λ/gain. */
function hostRounding(m: GpuManifest, n: ChipNumerics): HostRounding {
  const host = n.host!;
  if (n.kind === 'loihi') return { multiplier: host.scale, divisor: 1, unit: 1, exact: (v) => Math.round(v * host.scale) };
  const N = sizeOf(m.io.input.dims) / m.batch;
  // toS1615 as the emulator does, with its message built only for a value out of range.
  const exact = (v: number, i: number) => {
    const value = (v * host.scale) / host.gain!;
    const raw = roundHalfEven(value * ACCUM_ONE);
    return raw >= -(2 ** 31) && raw < 2 ** 31 ? raw : toS1615(value, `sample ${Math.floor(i / N)}: direct input current of neuron ${i % N}`);
  };
  return { multiplier: host.scale, divisor: host.gain!, unit: ACCUM_ONE, exact };
}

/** The host currents of one padded batch, as the chip's emulator computes them (by `encoder` where it certifies them). */
async function hostCurrents(m: GpuManifest, n: ChipNumerics, raw: Float32Array, x: () => Float32Array, encoder?: CertifiedEncoder): Promise<Int32Array> {
  const host = n.host!;
  const expected = sizeOf(m.io.input.dims);
  const rounding = hostRounding(m, n);
  const mismatch = (what: string, values: number) => badInput(`manifest.json: the host ${what} ${values / m.batch} values per sample, but the graph takes ${expected / m.batch} host currents`);
  let values: Float32Array;
  if (host.encoder) {
    const model = hostEncoder(host.encoder, 'manifest.json', m.inputShape);
    const given = encoderOutputSize(model) * m.batch;
    if (given !== expected) throw mismatch('encoder gives', given);
    const certified = await encoder?.currents(raw, rounding);
    if (certified) return certified.currents;
    values = simulate(model, raw, m.batch, { timesteps: 1 }).output;
  } else {
    values = x();
    if (values.length !== expected) throw mismatch('input has', values.length);
  }
  // A plain loop: Int32Array.from with a mapping function walks an iterator, 5–10× slower here.
  const out = new Int32Array(expected);
  for (let i = 0; i < expected; i++) out[i] = rounding.exact(values[i], i);
  return out;
}

/** The graph input for one padded batch of raw samples (the host encoder's currents by `encoder` where given). */
export async function chipInput(m: GpuManifest, n: ChipNumerics, raw: Float32Array, sampleOffset: number, encoder?: CertifiedEncoder): Promise<{ type: 'int32'; data: Int32Array } | { type: 'uint8'; data: Uint8Array }> {
  const B = m.batch;
  const per = sizeOf(m.inputShape);
  const x = () => preprocess(m.preprocess, raw, per, m.inputShape[0]);
  if (n.host) return { type: 'int32', data: await hostCurrents(m, n, raw, x, encoder) };
  const T = m.timesteps;
  const steps = m.encoding.type === 'rate' ? rateEncode(x(), B, per, T, m.encoding.seed, sampleOffset) : timeMajor(x(), B, T, per);
  const data = new Uint8Array(n.steps * B * per);
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    // Loihi's input axons take binary spikes only; a SpiNNaker spike source fires for any value > 0.
    if (n.kind === 'loihi' && s !== 0 && s !== 1) throw badInput(`loihi numerics: input ${i % per} of sample ${sampleOffset + (Math.floor(i / per) % B)} at step ${Math.floor(i / (per * B)) + 1} is ${s}; Loihi inputs are binary spikes`);
    data[i] = s > 0 ? 1 : 0;
  }
  return { type: 'uint8', data };
}

/** Decodes y (int32 [S, B, classes]) as the chip's emulator does. */
export function decodeChip(m: GpuManifest, n: ChipNumerics, y: Int32Array): Float32Array {
  const B = m.batch;
  const C = m.classes;
  const out = new Float32Array(B * C);
  const { start, length } = n.window;
  const average = averagesOverTime(m.decoding);
  /** Σ of y over the window steps for output element i. */
  const windowSum = (i: number) => {
    let acc = 0;
    for (let t = start; t < start + length; t++) acc += y[t * B * C + i];
    return acc;
  };
  for (let i = 0; i < B * C; i++) {
    if (n.kind === 'spinnaker') {
      // Spikes counted over the window; a readout's V after the last step, over λ·2¹⁵ (and T for averaging decodings).
      out[i] = n.outputValues === 'spikes' ? windowSum(i) : y[(n.steps - 1) * B * C + i] / (n.outputScale * (average ? length : 1));
      continue;
    }
    const value = n.outputValues === 'spikes' ? windowSum(i) : windowSum(i) / n.outputScale;
    out[i] = average ? value / length : value;
  }
  return out;
}
