/**
 * Bit-exact SpiNNaker-1 emulator driven only by a compiled descriptor (spinnaker.json +
 * spinnaker.bin): IF_curr_exp cores with s16.15 arithmetic and 16-bit ring buffers (spinnaker.md §8).
 * Per step t: every core moves its ring-buffer slot t into the synaptic currents and updates its
 * neurons (targets/spinnaker/fixed-point.ts); each spike leaves as a multicast packet with key
 * core key + (neuron << colour bits | t mod 2^colour bits), is routed chip by chip through the emitted
 * tables, looked up in each receiving core's master population table, and its synaptic row is added
 * into slot t + delay (saturating at 0xFFFF). What was emitted is what runs: keys, tables, rows.
 */
import { join } from 'node:path';
import { readArtifactFolder } from '../common/artifact-folder.js';
import { encoderOutputSize, hostEncoder } from '../common/descriptor-checks.js';
import { SnncError, badInput } from '../../compiler/errors.js';
import { type SnnModel, averagesOverTime } from '../../compiler/ir/model.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { type CoreDescriptor, type PopulationDescriptor, type SpinnakerDescriptor, checkSpinnakerWords, parseSpinnakerDescriptor } from './descriptor.js';
import { ACCUM_ONE, decayS1615, mulAccum, toS1615 } from './fixed-point.js';
import { Router, machineByName } from './machine.js';
import { type RoutingEntry, followKey } from './routing.js';
import { entryRows } from './synaptic-matrix.js';
import { preprocess, rateEncode, timeMajor } from '../../compiler/reference/encoders.js';
import { simulate } from '../../compiler/reference/simulator.js';

export interface SpinnakerProgram {
  readonly descriptor: SpinnakerDescriptor;
  readonly words: Uint32Array;
}

export function readSpinnakerFolder(dir: string): SpinnakerProgram {
  const { descriptor, bytes } = readArtifactFolder(dir, 'spinnaker', parseSpinnakerDescriptor, (d) => d.blob);
  const words = new Uint32Array(descriptor.blob.words);
  new Uint8Array(words.buffer).set(bytes);
  const file = join(dir, 'spinnaker.json');
  checkSpinnakerWords(descriptor, words, file);
  const host = descriptor.host;
  if (host) {
    const size = host.encoder ? encoderOutputSize(hostEncoder(host.encoder, file, descriptor.input.shape)) : sizeOf(descriptor.input.shape);
    for (const p of descriptor.populations) {
      if (p.hostCurrent && p.neurons !== size) throw badInput(`${file}: /host: the host ${host.encoder ? 'encoder outputs' : 'input has'} ${size} values per sample, but population "${p.name}", fed by the host, has ${p.neurons} neurons`);
    }
  }
  return { descriptor, words };
}

export interface SpinnakerRunOptions {
  /** Machine steps (default: the descriptor's T + output depth). */
  readonly steps?: number;
  /** Populations whose spikes to record per step, or 'all'. */
  readonly probes?: readonly string[] | 'all';
  /** Also record V (raw s16.15, before each step's update) and I_exc (after the ring-buffer transfer) of these populations. */
  readonly voltages?: readonly string[];
  readonly sampleOffset?: number;
}

export interface SpinnakerRunResult {
  readonly output: Float32Array;
  readonly classes: number;
  /** Per probed population: [steps, batch, neurons] spikes. */
  readonly spikes: Map<string, Uint8Array>;
  readonly voltages: Map<string, Int32Array>;
  readonly excCurrents: Map<string, Int32Array>;
  readonly steps: number;
  readonly packets: number;
  readonly synapticEvents: number;
  /** Ring-buffer additions that saturated at 0xFFFF. */
  readonly saturations: number;
}

/** One core's state (neurons [lo, hi) of a population). */
interface Core {
  readonly d: CoreDescriptor;
  readonly pop: PopulationDescriptor;
  readonly n: number;
  readonly v: Int32Array;
  readonly rt: Int32Array;
  readonly iExc: Int32Array;
  readonly iInh: Int32Array;
  readonly iOffset: Int32Array;
  readonly rb: Uint16Array;
  readonly spiked: Uint8Array;
}

export class SpinnakerEmulator {
  readonly descriptor: SpinnakerDescriptor;
  private readonly words: Uint32Array;
  private readonly cores: Core[];
  private readonly coreAt = new Map<string, number>();
  private readonly router: Router;
  private readonly tables: Map<string, RoutingEntry[]>;
  private readonly routes = new Map<number, Int32Array>();
  private readonly encoder?: SnnModel;
  private readonly sourceNeurons: Map<string, number>;

  constructor(program: SpinnakerProgram) {
    const d = (this.descriptor = program.descriptor);
    this.words = program.words;
    const pops = new Map(d.populations.map((p) => [p.name, p]));
    this.cores = d.cores.map((c, i) => {
      const pop = pops.get(c.population);
      if (!pop) throw badInput(`spinnaker.json: core ${i} names unknown population "${c.population}"`);
      const n = c.hi - c.lo;
      const padded = c.ringBuffer ? 2 ** (c.ringBuffer.delayBits + c.ringBuffer.typeBits + c.ringBuffer.indexBits) : 0;
      this.coreAt.set(`${c.chip[0]},${c.chip[1]},${c.processor}`, i);
      return { d: c, pop, n, v: new Int32Array(n), rt: new Int32Array(n), iExc: new Int32Array(n), iInh: new Int32Array(n), iOffset: new Int32Array(n), rb: new Uint16Array(padded), spiked: new Uint8Array(n) };
    });
    const m = d.machine;
    const machine = machineByName(m.name, { routerEntries: m.routerEntries, deadChips: m.deadChips, deadLinks: m.deadLinks });
    this.router = new Router(machine);
    this.tables = new Map(d.routing.map((t) => [`${t.chip[0]},${t.chip[1]}`, t.entries.map(([key, mask, route]) => ({ key, mask, route }))]));
    if (d.host?.encoder) this.encoder = hostEncoder(d.host.encoder, 'spinnaker.json', d.input.shape); // validated as a model.json; tensors inline
    this.sourceNeurons = new Map(d.populations.map((p) => [p.name, p.neurons]));
  }

  /** Destination cores of a packet, by walking the routing tables (memoised per key). */
  private destinations(core: Core, key: number): Int32Array {
    let r = this.routes.get(key);
    if (!r) {
      let hits: [number, number, number][];
      try {
        hits = followKey(this.router, this.tables, core.d.chip[0], core.d.chip[1], key);
      } catch (e) {
        if (e instanceof SnncError) throw badInput(`spinnaker.json: /routing: ${e.message}`);
        throw e;
      }
      r = Int32Array.from(hits, ([x, y, p]) => {
        const i = this.coreAt.get(`${x},${y},${p}`);
        if (i === undefined) throw badInput(`spinnaker.json: /routing: key 0x${key.toString(16)} is routed to processor (${x}, ${y}, ${p}), which runs nothing`);
        return i;
      });
      this.routes.set(key, r);
    }
    return r;
  }

  run(raw: Float32Array, batch: number, options: SpinnakerRunOptions = {}): SpinnakerRunResult {
    const d = this.descriptor;
    const T = d.timesteps;
    const steps = options.steps ?? d.steps;
    const per = sizeOf(d.input.shape);
    const enc = d.input.encoding;
    const expected = batch * per * (enc.type === 'events' ? T : 1);
    if (raw.length !== expected) throw badInput(`spinnaker emulator: input has ${raw.length} values, expected ${expected} (${batch} samples of [${enc.type === 'events' ? `${T}, ` : ''}${d.input.shape.join(', ')}])`);
    const x = preprocess(d.input.preprocess, raw, per, d.input.shape[0]);
    let hostValues: Float32Array | undefined;
    let stepInput: Float32Array | undefined;
    if (d.host) hostValues = this.encoder ? simulate(this.encoder, raw, batch, { timesteps: 1 }).output : x;
    else if (enc.type !== 'direct') stepInput = enc.type === 'rate' ? rateEncode(x, batch, per, T, enc.seed, options.sampleOffset ?? 0) : timeMajor(x, batch, T, per);

    const probeNames = options.probes === 'all' ? d.populations.map((p) => p.name) : (options.probes ?? []);
    const spikes = new Map(probeNames.map((name) => [name, new Uint8Array(steps * batch * this.pop(name).neurons)]));
    const voltages = new Map((options.voltages ?? []).map((name) => [name, new Int32Array(steps * batch * this.pop(name).neurons)]));
    const excCurrents = new Map((options.voltages ?? []).map((name) => [name, new Int32Array(steps * batch * this.pop(name).neurons)]));
    const out = this.pop(d.output.population);
    const classes = out.neurons;
    const output = new Float32Array(batch * classes);
    const colourMask = 2 ** d.keySpace.colourBits - 1;
    let packets = 0;
    let events = 0;
    let saturations = 0;

    for (let b = 0; b < batch; b++) {
      for (const c of this.cores) this.reset(c, b, hostValues);
      for (let t = 0; t < steps; t++) {
        for (const c of this.cores) {
          if (c.pop.role === 'source') {
            c.spiked.fill(0);
            if (stepInput && t < T) for (let i = 0; i < c.n; i++) c.spiked[i] = stepInput[(t * batch + b) * per + c.d.lo + i] > 0 ? 1 : 0;
          } else {
            const at = (t * batch + b) * c.pop.neurons + c.d.lo;
            voltages.get(c.pop.name)?.set(c.v, at);
            this.step(c, t, excCurrents.get(c.pop.name)?.subarray(at, at + c.n));
          }
          const rec = spikes.get(c.pop.name);
          if (rec) rec.set(c.spiked, (t * batch + b) * c.pop.neurons + c.d.lo);
          if (c.pop.name === out.name && out.role !== 'readout' && t >= out.depth && t < out.depth + T) {
            for (let i = 0; i < c.n; i++) output[b * classes + c.d.lo + i] += c.spiked[i];
          }
        }
        // Packets of this step: routed, looked up and added to the ring buffers for slot t + delay.
        for (const c of this.cores) {
          if (c.d.key === undefined) continue;
          for (let i = 0; i < c.n; i++) {
            if (!c.spiked[i]) continue;
            const key = (c.d.key + ((i << d.keySpace.colourBits) | (t & colourMask))) >>> 0;
            packets++;
            for (const dst of this.destinations(c, key)) {
              const r = this.receive(this.cores[dst], key, t);
              events += r.events;
              saturations += r.saturations;
            }
          }
        }
      }
      if (out.role === 'readout') {
        const div = out.scale * ACCUM_ONE * (averagesOverTime(d.output.decoding) ? T : 1);
        for (const c of this.cores) if (c.pop === out) for (let i = 0; i < c.n; i++) output[b * classes + c.d.lo + i] = c.v[i] / div;
      }
    }
    return { output, classes, spikes, voltages, excCurrents, steps, packets, synapticEvents: events, saturations };
  }

  private pop(name: string): PopulationDescriptor {
    const p = this.descriptor.populations.find((q) => q.name === name);
    if (!p) throw badInput(`spinnaker emulator: no population "${name}"`);
    return p;
  }

  private reset(c: Core, sample: number, host: Float32Array | undefined): void {
    const p = c.pop.params;
    c.v.fill(p.vInit);
    c.rt.fill(p.refractTimerInit);
    c.iExc.fill(0);
    c.iInh.fill(0);
    c.rb.fill(0);
    c.spiked.fill(0);
    c.iOffset.fill(0);
    if (c.pop.iOffset) for (let i = 0; i < c.n; i++) c.iOffset[i] = this.words[c.pop.iOffset.offset + c.d.lo + i] | 0;
    if (c.pop.hostCurrent && host) {
      const r = c.pop.constants.rMembrane;
      for (let i = 0; i < c.n; i++) {
        const value = (host[sample * c.pop.neurons + c.d.lo + i] * c.pop.scale) / c.pop.gain;
        const what = `sample ${sample}: direct input current of "${c.pop.name}" neuron ${c.d.lo + i}`;
        const total = c.iOffset[i] + toS1615(value, what);
        if (Math.abs((total * r) / ACCUM_ONE) + Math.abs(p.vThresh) >= 2 ** 31) throw badInput(`${what} is ${(total / ACCUM_ONE).toPrecision(4)} nA: R·I overflows the s16.15 membrane update (the compiler assumed inputs up to 4 thresholds per step)`);
        c.iOffset[i] = total;
      }
    }
  }

  /** Ring-buffer transfer, neuron update and synaptic decay of one step (spinnaker.md §3.3, §8). */
  private step(c: Core, t: number, excRecord?: Int32Array): void {
    const p = c.pop.params;
    const k = c.pop.constants;
    const rbf = c.d.ringBuffer!;
    const ib = rbf.indexBits;
    const base = (t & (2 ** rbf.delayBits - 1)) << (rbf.typeBits + ib);
    for (let n = 0; n < c.n; n++) {
      const e = c.rb[base + n];
      if (e) {
        c.iExc[n] = (c.iExc[n] + decayS1615(e * 2 ** c.pop.shift[0], k.initE)) | 0;
        c.rb[base + n] = 0;
      }
      const i = c.rb[base + (1 << ib) + n];
      if (i) {
        c.iInh[n] = (c.iInh[n] + decayS1615(i * 2 ** c.pop.shift[1], k.initI)) | 0;
        c.rb[base + (1 << ib) + n] = 0;
      }
    }
    excRecord?.set(c.iExc);
    for (let n = 0; n < c.n; n++) {
      const input = (c.iExc[n] - c.iInh[n] + c.iOffset[n]) | 0;
      if (c.rt[n] <= 0) {
        const a = (mulAccum(input, k.rMembrane) + p.vRest) | 0;
        c.v[n] = (a - mulAccum(k.expTc, (a - c.v[n]) | 0)) | 0;
      } else {
        c.rt[n]--;
      }
      if (c.v[n] >= p.vThresh) {
        c.v[n] = p.vReset;
        c.rt[n] = k.tRefract;
        c.spiked[n] = 1;
      } else {
        c.spiked[n] = 0;
      }
      c.iExc[n] = decayS1615(c.iExc[n], k.decayE);
      c.iInh[n] = decayS1615(c.iInh[n], k.decayI);
    }
  }

  /** A packet arriving at a core: master population table, then every synapse of its rows (§5.3, §4.2). */
  private receive(c: Core, key: number, t: number): { events: number; saturations: number } {
    const table = c.d.popTable;
    let lo = 0;
    let hi = table.length - 1;
    let entry;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = table[mid];
      if (((key & e.mask) >>> 0) === e.key) {
        entry = e;
        break;
      }
      if (e.key < key) lo = mid + 1;
      else hi = mid - 1;
    }
    if (!entry) return { events: 0, saturations: 0 }; // no synapses here (as a bit-field filter would drop it)
    const core = (key >>> entry.maskShift) & entry.coreMask;
    let local = (key & ~(entry.mask | (entry.coreMask << entry.maskShift))) >>> 0;
    local >>>= entry.colourBits;
    const neuron = local + core * entry.nNeurons;
    const rows = entryRows(entry, this.sourceNeurons.get(entry.source) ?? 0);
    if (neuron >= rows) throw badInput(`spinnaker.json: key 0x${key.toString(16)} selects row ${neuron} of the synaptic blocks from "${entry.source}" on core ${c.d.population}#${c.d.index}, which have ${rows} rows`);
    const rbf = c.d.ringBuffer!;
    const ib = rbf.indexBits;
    const indexMask = 2 ** ib - 1;
    const slotMask = 2 ** rbf.delayBits - 1;
    const delayShift = ib + rbf.typeBits;
    let events = 0;
    let saturations = 0;
    for (const a of entry.addresses) {
      const row = c.d.matrix.offset + a.offset + neuron * (a.rowLength + 3);
      const count = this.words[row + 1];
      if (count > a.rowLength) throw badInput(`spinnaker.bin: row ${neuron} of projection "${a.projection}" on core ${c.d.population}#${c.d.index} has ${count} synapses > its row length ${a.rowLength}`);
      for (let j = 0; j < count; j++) {
        const w = this.words[row + 3 + j];
        const slot = (t + (w >>> delayShift)) & slotMask;
        const idx = (slot << delayShift) | (((w >>> ib) & 1) << ib) | (w & indexMask);
        const sum = c.rb[idx] + (w >>> 16);
        if (sum > 0xffff) {
          c.rb[idx] = 0xffff;
          saturations++;
        } else {
          c.rb[idx] = sum;
        }
      }
      events += count;
    }
    return { events, saturations };
  }
}
