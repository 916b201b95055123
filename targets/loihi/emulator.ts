/**
 * Bit-accurate Loihi emulator driven only by a compiled descriptor (loihi.json + loihi.bin): what was
 * emitted is what runs. Per step t = 1, 2, …: scheduled resets; each core sums its synapse formats'
 * buffers for this step (Dense: sum shifted by the weight exponent; Conv: wrapped to 24 bits), joins
 * dendrites by MAX, adds the host current, and updates its somas with Lava's CUBA-LIF arithmetic
 * (targets/loihi/arithmetic.ts); then every spike walks its output axons to the destination cores'
 * synapse maps and is added into the buffer slot of step t + 1 + delay (loihi.md §1.11, §2). A shared
 * convolution's axons (shared-conv.ts) are expanded into the synapses their kernel walk reaches once,
 * when the descriptor is loaded: the same sums as walking the kernel per spike. Sigma-delta populations
 * run Lava's fixed-point Delta/SigmaDelta/Sigma instead (arithmetic.ts sigmaDeltaStep) and fan-in relays
 * forward their summed input; both send graded spikes, whose payload multiplies the synapse weights.
 *
 * Alignment with the float model: a population at depth d (d synapses from the input) sees the input of
 * float step t at step t + d. Before that it only integrates its bias, so it resets (u = 0, v = v(0)) at
 * the start of step d + 1, as netx staggers its layer resets (loihi.md §3.3); the output is read over
 * steps d + 1 … d + T.
 */
import { join } from 'node:path';
import { readArtifactFolder } from '../common/artifact-folder.js';
import { encoderOutputSize, hostEncoder } from '../common/descriptor-checks.js';
import { badInput } from '../../compiler/errors.js';
import { type SnnModel, averagesOverTime } from '../../compiler/ir/model.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { type CubaParams, type SigmaDeltaParams, cubaLifStep, prepareDenseWeights, sigmaDeltaStep } from './arithmetic.js';
import { type LoihiDescriptor, type Range, type SynapseFormat, checkDescriptorWords, parseDescriptor } from './descriptor.js';
import { expandSynapses } from './shared-conv.js';
import { preprocess, rateEncode, timeMajor } from '../../compiler/reference/encoders.js';
import { simulate } from '../../compiler/reference/simulator.js';

const WRAP = 2 ** 24;
const HALF = 2 ** 23;

/** A descriptor and its loihi.bin, from a folder (readLoihiFolder) or straight from compileLoihi. */
export interface LoihiProgram {
  readonly descriptor: LoihiDescriptor;
  readonly ints: Int32Array;
}

export function readLoihiFolder(dir: string): LoihiProgram {
  const { descriptor, bytes } = readArtifactFolder(dir, 'loihi', parseDescriptor, (d) => ({ file: d.blob.file, words: d.blob.int32s }));
  const ints = new Int32Array(descriptor.blob.int32s);
  new Uint8Array(ints.buffer).set(bytes);
  const file = join(dir, 'loihi.json');
  checkDescriptorWords(descriptor, ints, file);
  const host = descriptor.host;
  if (host) {
    const size = host.encoder ? encoderOutputSize(hostEncoder(host.encoder, file, descriptor.input.shape)) : sizeOf(descriptor.input.shape);
    const neurons = descriptor.populations.find((p) => p.name === host.population)!.neurons;
    if (size !== neurons) throw badInput(`${file}: /host: the host ${host.encoder ? 'encoder outputs' : 'input has'} ${size} values per sample, but population "${host.population}" has ${neurons} neurons`);
  }
  return { descriptor, ints };
}

export interface EmulateOptions {
  /** Steps to run (default: the output window's end, T + the output's depth). */
  readonly steps?: number;
  /** Populations whose spikes to record per step, or 'all'. */
  readonly probes?: readonly string[] | 'all';
  /** Also record u and v (Lava units) of these populations per step. */
  readonly states?: readonly string[];
  /** Global index of the first sample (seeds rate coding). */
  readonly sampleOffset?: number;
}

export interface EmulateResult {
  /** Decoded output [B, classes]. */
  readonly output: Float32Array;
  readonly classes: number;
  /** Recorded spikes per population, [steps, B, N] in population order. */
  readonly spikes: Map<string, Uint8Array>;
  /** Recorded u and v per population, [steps, B, N]. */
  readonly states: Map<string, { u: Float64Array; v: Float64Array }>;
  readonly steps: number;
  /** Synaptic events processed (synapses walked by spikes). */
  readonly synapticEvents: number;
}

interface FormatState {
  readonly kind: SynapseFormat['kind'];
  readonly weightExp: number;
  readonly slots: number;
  readonly delay: number;
  readonly buffer: Float64Array;
}

interface CoreState {
  readonly population: string;
  readonly neurons: Int32Array;
  readonly nCx: number;
  readonly params: CubaParams;
  /** Sigma-delta populations: their arithmetic instead of CUBA's (u holds σ, v the activation). */
  readonly sigmaDelta?: SigmaDeltaParams;
  /** A fan-in relay: sends its summed input each step as a graded spike (fan-in.ts). */
  readonly relay: boolean;
  readonly v0: number;
  readonly dendrites: Int32Array | null;
  readonly formats: FormatState[];
  /** (ptr, len, fmt) per input axon. */
  readonly axonMap: Int32Array;
  readonly synCx: Int32Array;
  readonly synW: Float64Array;
  /** Per soma: start offset into outDst (n + 1 entries). */
  readonly outStart: Int32Array;
  /** (core, axon) pairs. */
  readonly outDst: Int32Array;
  readonly depth: number;
  readonly u: Float64Array;
  readonly v: Float64Array;
  readonly a: Float64Array;
  readonly acc: Float64Array;
  readonly spikes: Uint8Array;
  /** What each soma sends this step: 1 per spike, or the graded payload (sigma-delta). */
  readonly payload: Float64Array;
  /** Sigma-delta: the residue not sent yet. */
  readonly residue: Float64Array;
  readonly host: Float64Array | null;
}

function slice(ints: Int32Array, r: Range): Int32Array {
  return ints.subarray(r[0], r[0] + r[1]);
}

export class LoihiEmulator {
  readonly descriptor: LoihiDescriptor;
  private readonly cores: CoreState[];
  private readonly encoder?: SnnModel;
  private readonly ints: Int32Array;

  constructor(program: LoihiProgram) {
    const d = (this.descriptor = program.descriptor);
    this.ints = program.ints;
    const pops = new Map(d.populations.map((p) => [p.name, p]));
    if (d.host?.encoder) this.encoder = hostEncoder(d.host.encoder, 'loihi.json', d.input.shape); // validated as a model.json; tensors inline
    this.cores = d.cores.map((c) => {
      const pop = pops.get(c.population)!;
      const neurons = slice(this.ints, c.neurons);
      const n = neurons.length;
      // Shared convolution weights: each axon expanded once into the synapses its kernel walk reaches.
      const { axonMap, synCx, synW } = expandSynapses(c, this.ints);
      // Lava's Dense and Sparse prepare (clip, truncate) their weights once, per synapse format.
      c.formats.forEach((f, fi) => {
        if (f.kind === 'conv') return;
        for (let a = 0; a < axonMap.length; a += 3) {
          if (axonMap[a + 2] !== fi) continue;
          const [ptr, len] = [axonMap[a], axonMap[a + 1]];
          synW.set(prepareDenseWeights(synW.subarray(ptr, ptr + len), f.weightBits, f.signMode).weights, ptr);
        }
      });
      const out = slice(this.ints, c.outAxons);
      const outStart = new Int32Array(n + 1);
      for (let k = 0; k < out.length; k += 3) outStart[out[k] + 1]++;
      for (let i = 0; i < n; i++) outStart[i + 1] += outStart[i];
      const outDst = new Int32Array((out.length / 3) * 2);
      const fill = outStart.slice(0, n);
      for (let k = 0; k < out.length; k += 3) {
        const at = fill[out[k]]++;
        outDst[2 * at] = out[k + 1];
        outDst[2 * at + 1] = out[k + 2];
      }
      const p = pop.profile;
      return {
        population: c.population,
        neurons,
        nCx: c.compartments,
        params: { du: p.du, dv: p.dv, vth: p.vth, biasExp: p.biasExp, ...(c.bias ? { biasMant: slice(this.ints, c.bias) } : {}), ...(p.resetSubtract !== undefined ? { resetSubtract: p.resetSubtract } : {}) },
        ...(p.sigmaDelta ? { sigmaDelta: { kind: p.sigmaDelta.kind, vth: p.vth, spikeExp: p.sigmaDelta.spikeExp, stateExp: p.sigmaDelta.stateExp, ...(c.bias ? { biasMant: slice(this.ints, c.bias) } : {}) } } : {}),
        relay: !!p.relay,
        v0: p.v0,
        dendrites: c.dendrites ? slice(this.ints, c.dendrites) : null,
        formats: c.formats.map((f) => ({ kind: f.kind, weightExp: f.weightExp, delay: f.delay, slots: f.delay + 2, buffer: new Float64Array((f.delay + 2) * c.compartments) })),
        axonMap,
        synCx,
        synW,
        outStart,
        outDst,
        depth: pop.depth,
        u: new Float64Array(n),
        v: new Float64Array(n),
        a: new Float64Array(n),
        acc: new Float64Array(c.compartments),
        spikes: new Uint8Array(n),
        payload: new Float64Array(n),
        residue: new Float64Array(n),
        host: d.host?.population === c.population ? new Float64Array(n) : null,
      };
    });
  }

  /** Runs `batch` samples of raw input (as the model's frontend expects it), one after another. */
  run(raw: Float32Array, batch: number, options: EmulateOptions = {}): EmulateResult {
    const d = this.descriptor;
    const T = d.timesteps;
    const per = sizeOf(d.input.shape);
    const enc = d.input.encoding;
    const expected = batch * per * (enc.type === 'events' ? T : 1);
    if (raw.length !== expected) throw badInput(`loihi emulator: input has ${raw.length} values, expected ${expected} (${batch} samples of [${enc.type === 'events' ? `${T}, ` : ''}${d.input.shape.join(', ')}])`);
    const steps = options.steps ?? d.output.start + d.output.length;
    const pops = new Map(d.populations.map((p) => [p.name, p]));
    const outPop = pops.get(d.output.population)!;
    const classes = outPop.neurons;
    const output = new Float32Array(batch * classes);

    const probeNames = options.probes === 'all' ? d.populations.map((p) => p.name) : (options.probes ?? []);
    for (const n of [...probeNames, ...(options.states ?? [])]) if (!pops.has(n)) throw badInput(`loihi emulator: no population "${n}" (populations: ${[...pops.keys()].join(', ')})`);
    const spikes = new Map<string, Uint8Array>(probeNames.map((n) => [n, new Uint8Array(steps * batch * pops.get(n)!.neurons)]));
    const states = new Map((options.states ?? []).map((n) => [n, { u: new Float64Array(steps * batch * pops.get(n)!.neurons), v: new Float64Array(steps * batch * pops.get(n)!.neurons) }]));

    // Host side: the encoder's values (direct encoding) or the per-step input spikes.
    const x = preprocess(d.input.preprocess, raw, per, d.input.shape[0]);
    let hostValues: Float32Array | undefined;
    let stepInput: Float32Array | undefined;
    if (d.host) hostValues = this.encoder ? simulate(this.encoder, raw, batch, { timesteps: 1 }).output : x;
    else stepInput = enc.type === 'rate' ? rateEncode(x, batch, per, T, enc.seed, options.sampleOffset ?? 0) : timeMajor(x, batch, T, per);
    const hostPort = d.host ? slice(this.ints, d.host.port) : undefined;
    const hostScale = d.host ? pops.get(d.host.population)!.scale : 0;
    const inputAxons = d.spikeInput ? slice(this.ints, d.spikeInput.axons) : new Int32Array(0);
    const inputStart = new Int32Array(per + 1);
    for (let k = 0; k < inputAxons.length; k += 3) inputStart[inputAxons[k] + 1]++;
    for (let i = 0; i < per; i++) inputStart[i + 1] += inputStart[i];

    let events = 0;
    for (let b = 0; b < batch; b++) {
      for (const c of this.cores) {
        c.u.fill(0);
        c.v.fill(c.v0);
        c.residue.fill(0);
        for (const f of c.formats) f.buffer.fill(0);
      }
      if (hostPort && hostValues) {
        const size = hostValues.length / batch;
        for (let k = 0; k < hostPort.length; k += 3) if (hostPort[k] >= size) throw badInput(`loihi emulator: host port entry ${k / 3} reads host value ${hostPort[k]}, but the host ${this.encoder ? 'encoder' : 'input'} gives ${size} per sample`);
        for (let k = 0; k < hostPort.length; k += 3) this.cores[hostPort[k + 1]].host![hostPort[k + 2]] = Math.round(hostValues[b * size + hostPort[k]] * hostScale);
      }
      const outAcc = new Float64Array(classes);
      const outV = new Float64Array(classes);
      for (let t = 1; t <= steps; t++) {
        for (const c of this.cores) this.updateCore(c, t);
        // Record.
        for (const c of this.cores) {
          const rec = spikes.get(c.population);
          const st = states.get(c.population);
          const N = pops.get(c.population)!.neurons;
          const base = ((t - 1) * batch + b) * N;
          for (let i = 0; i < c.neurons.length; i++) {
            if (rec) rec[base + c.neurons[i]] = c.spikes[i];
            if (st) {
              st.u[base + c.neurons[i]] = c.u[i];
              st.v[base + c.neurons[i]] = c.v[i];
            }
            if (c.population === outPop.name && t > d.output.start && t <= d.output.start + d.output.length) {
              outAcc[c.neurons[i]] += c.spikes[i];
              outV[c.neurons[i]] += c.v[i];
            }
          }
        }
        // Route this step's spikes: from the host's input axons, then from every core.
        if (stepInput && t <= T) {
          const s = stepInput.subarray((t - 1) * batch * per + b * per, (t - 1) * batch * per + (b + 1) * per);
          for (let i = 0; i < per; i++) {
            if (s[i] === 0) continue;
            if (s[i] !== 1) throw badInput(`loihi emulator: input ${i} of sample ${b} at step ${t} is ${s[i]}; Loihi inputs are binary spikes`);
            for (let k = inputStart[i]; k < inputStart[i + 1]; k++) events += this.deliver(inputAxons[3 * k + 1], inputAxons[3 * k + 2], t, 1);
          }
        }
        for (const c of this.cores) {
          for (let i = 0; i < c.neurons.length; i++) {
            if (!c.spikes[i]) continue;
            for (let k = c.outStart[i]; k < c.outStart[i + 1]; k++) events += this.deliver(c.outDst[2 * k], c.outDst[2 * k + 1], t, c.payload[i]);
          }
        }
      }
      // Decode.
      const sd = outPop.profile.sigmaDelta;
      const scale = (sd ? 2 ** (sd.spikeExp + sd.stateExp) : 64) * outPop.scale;
      for (const c of this.cores) {
        if (c.population !== outPop.name) continue;
        for (let i = 0; i < c.neurons.length; i++) {
          const o = c.neurons[i];
          let value: number;
          if (d.output.decoding === 'mean_membrane') value = outV[o] / scale;
          else if (outPop.profile.spiking) value = outAcc[o];
          else value = outV[o] / scale; // a readout's v is this step's input: sum it over the window
          output[b * classes + o] = averagesOverTime(d.output.decoding) ? value / d.output.length : value;
        }
      }
    }
    return { output, classes, spikes, states, steps, synapticEvents: events };
  }

  private updateCore(c: CoreState, t: number): void {
    // A population at depth d starts its window at step d + 1: reset it then (and every resetInterval).
    // Sigma-delta neurons are never reset (netx ignores resets for them): their σ sums every change sent.
    const P = this.descriptor.resetInterval;
    const k = t - (c.depth + 1);
    if (!c.sigmaDelta && (P ? ((k % P) + P) % P === 0 : k === 0)) {
      c.u.fill(0);
      c.v.fill(c.v0);
    }
    c.acc.fill(0);
    for (const f of c.formats) {
      const base = (t % f.slots) * c.nCx;
      const buf = f.buffer;
      for (let k = 0; k < c.nCx; k++) {
        let s = buf[base + k];
        if (s === 0) continue;
        buf[base + k] = 0;
        if (f.kind === 'conv') s = ((((s + HALF) % WRAP) + WRAP) % WRAP) - HALF;
        else if (f.weightExp !== 0) s = f.weightExp > 0 ? s * 2 ** f.weightExp : Math.floor(s / 2 ** -f.weightExp);
        c.acc[k] += s;
      }
    }
    const n = c.neurons.length;
    if (c.dendrites) {
      for (let i = 0; i < n; i++) {
        let m = -Infinity;
        for (let k = c.dendrites[i]; k < c.dendrites[i + 1]; k++) m = Math.max(m, c.acc[n + k]);
        c.a[i] = m === -Infinity ? 0 : m;
      }
    } else c.a.set(c.acc.subarray(0, n));
    if (c.host) for (let i = 0; i < n; i++) c.a[i] += c.host[i];
    if (c.relay) {
      c.payload.set(c.a.subarray(0, n));
      for (let i = 0; i < n; i++) c.spikes[i] = c.a[i] !== 0 ? 1 : 0;
      return;
    }
    if (c.sigmaDelta) {
      sigmaDeltaStep(c.sigmaDelta, c.a, c.u, c.v, c.residue, c.payload);
      if (c.sigmaDelta.kind === 'sigma') c.v.set(c.u); // a Sigma's value is read like a readout's v
      for (let i = 0; i < n; i++) c.spikes[i] = c.payload[i] !== 0 && c.sigmaDelta.kind !== 'sigma' ? 1 : 0;
      return;
    }
    cubaLifStep(c.params, c.a, c.u, c.v, c.spikes);
    c.payload.set(c.spikes);
  }

  /** Adds one axon's synapses (× the payload: 1, or a graded spike's value) into the destination buffer slot of step t + 1 + delay; returns the synapse count. */
  private deliver(core: number, axon: number, t: number, payload: number): number {
    const c = this.cores[core];
    const ptr = c.axonMap[3 * axon];
    const len = c.axonMap[3 * axon + 1];
    const f = c.formats[c.axonMap[3 * axon + 2]];
    const base = ((t + 1 + f.delay) % f.slots) * c.nCx;
    const buf = f.buffer;
    if (payload === 1) for (let k = ptr; k < ptr + len; k++) buf[base + c.synCx[k]] += c.synW[k];
    else for (let k = ptr; k < ptr + len; k++) buf[base + c.synCx[k]] += c.synW[k] * payload;
    return len;
  }
}
