/**
 * The host side of a gpu folder compiled with `--numerics loihi` (targets/gpu/manifest.ts LoihiNumerics):
 * what the Loihi emulator does around its cores, done identically here so that onnxruntime's integer
 * graph gives the emulator's outputs bit for bit. In: rate- or event-coded input spikes (uint8 [S, B, ...],
 * zero after step T), or the host encoder's currents round(value·scale) (int32 [B, N]). Out: the decoded
 * output over the window steps start + 1 … start + T, in float64 as the emulator sums it, then float32.
 */
import { badInput } from '../compiler/errors.js';
import { averagesOverTime } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { preprocess, rateEncode, timeMajor } from '../compiler/reference/encoders.js';
import { simulate } from '../compiler/reference/simulator.js';
import { hostEncoder } from '../targets/common/descriptor-checks.js';
import type { GpuManifest, LoihiNumerics } from '../targets/gpu/manifest.js';

/** The graph input for one padded batch of raw samples. */
export function loihiInput(m: GpuManifest, n: LoihiNumerics, raw: Float32Array, sampleOffset: number): { type: 'int32'; data: Int32Array } | { type: 'uint8'; data: Uint8Array } {
  const B = m.batch;
  const per = sizeOf(m.inputShape);
  const x = () => preprocess(m.preprocess, raw, per, m.inputShape[0]);
  if (n.host) {
    const values = n.host.encoder ? simulate(hostEncoder(n.host.encoder, 'manifest.json', m.inputShape), raw, B, { timesteps: 1 }).output : x();
    const expected = sizeOf(m.io.input.dims);
    if (values.length !== expected) throw badInput(`manifest.json: the host ${n.host.encoder ? 'encoder gives' : 'input has'} ${values.length / B} values per sample, but the graph takes ${expected / B} host currents`);
    return { type: 'int32', data: Int32Array.from(values, (v) => Math.round(v * n.host!.scale)) };
  }
  const T = m.timesteps;
  const steps = m.encoding.type === 'rate' ? rateEncode(x(), B, per, T, m.encoding.seed, sampleOffset) : timeMajor(x(), B, T, per);
  const data = new Uint8Array(n.steps * B * per);
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (s !== 0 && s !== 1) throw badInput(`loihi numerics: input ${i % per} of sample ${sampleOffset + (Math.floor(i / per) % B)} at step ${Math.floor(i / (per * B)) + 1} is ${s}; Loihi inputs are binary spikes`);
    data[i] = s;
  }
  return { type: 'uint8', data };
}

/** Decodes y (int32 [S, B, classes]) over the output window, as the Loihi emulator does. */
export function decodeLoihi(m: GpuManifest, n: LoihiNumerics, y: Int32Array): Float32Array {
  const B = m.batch;
  const C = m.classes;
  const out = new Float32Array(B * C);
  const { start, length } = n.window;
  for (let i = 0; i < B * C; i++) {
    let acc = 0;
    for (let t = start; t < start + length; t++) acc += y[t * B * C + i];
    const value = n.outputValues === 'spikes' ? acc : acc / (64 * n.outputScale);
    out[i] = averagesOverTime(m.decoding) ? value / length : value;
  }
  return out;
}
