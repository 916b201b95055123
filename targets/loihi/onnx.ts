/**
 * The quantised Loihi network (quantise.ts) as integer ONNX that onnxruntime runs bit-exactly like the
 * emulator (emulator.ts), in the layerwise schedule: each population's synaptic input for all S steps and
 * B samples at once (MatMulInteger of uint8 spikes and 8-bit weights; convolutions as below; int32
 * sums), then one Scan over the S steps with Lava's CUBA-LIF integer update; a population that is not
 * probed computes only its first steps that reach the output (observedSteps). It owns only the
 * arithmetic; the gpu target packages the graph (manifest, folder) and the runner feeds and decodes it.
 *
 * Exactness, op by op (the emulator's order: a → u → v → spike → reset):
 * - Dense: Lava's prepared weights (prepareDenseWeights) in MatMulInteger: mixed-sign weights are even
 *   (LSB truncated), so w/2 is int8 and the int32 sum is doubled; one-signed weights are uint8 (inhibitory
 *   negated, and the sum negated back). weightExp is 0 here (the descriptor's), so there is no shift.
 * - Conv: raw integer weights; float32 Conv where every partial sum is an integer below 2²⁴ (then exact
 *   in any order), else ConvInteger of w⁺ and w⁻ (uint8); the sum wrapped to 24 bits as Lava's Conv does,
 *   ((s + 2²³) mod 2²⁴) − 2²³, unless the bound shows it cannot wrap.
 * - A synapse delivers a spike of step t at step t + 1 + delay: the source sequence shifted in time.
 * - Max-pool joins (dendrites): MaxPool over the summed dendrite grid, in float32, exact because every
 *   current is an integer below 2²⁴ in magnitude (checked from the weights; a layer beyond is refused).
 * - decay(x, D) = trunc(x·D/4096): x·D/4096 in float64 is exact (|x·D| < 2³⁵ < 2⁵³, and /4096 is a
 *   power of two), and Cast to int32 truncates toward zero.
 * - u wraps once to 24 bits, v saturates to ±(2²³ − 1), a spike is v > vth·2⁶ (strict), then v ← 0 or
 *   v − θ; a population at depth d resets (u = 0, v = v(0)) at the start of step d + 1 (and every reset
 *   interval), as a per-step flag.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { type ChipOnnxIO, type SpikeSequences, chipGraphInput, delivered, observedSteps } from '../common/chip-onnx.js';
import { GraphBuilder, GraphConstants, graphAttr, int, ints } from '../common/onnx-builder.js';
import { prepareDenseWeights } from './arithmetic.js';
import type { LoihiNetwork, LoihiPopulation, LoihiProjection } from './quantise.js';
import { type MaxPoolJoin, addRowSums, neuronFanIn, notSupported } from '../common/synaptic-terms.js';

const WRAP = 2 ** 24;
const HALF = 2 ** 23;

export interface LoihiOnnxOptions {
  readonly batch: number;
  /** Populations whose spikes, u and v become outputs [S, B, N]. */
  readonly probes: readonly string[];
  /** Periodic reset of every population (netx's reset_interval), staggered by depth. */
  readonly resetInterval?: number;
}

/** Steps the emulator runs by default: the output window [depth + 1, depth + T]. */
function loihiSteps(net: LoihiNetwork): number {
  return net.populations.find((p) => p.name === net.output.population)!.depth + net.timesteps;
}

/** Whether a population at `depth` resets at step t (1-based), as the emulator's updateCore decides. */
function resetsAt(t: number, depth: number, interval?: number): boolean {
  const k = t - (depth + 1);
  return interval ? ((k % interval) + interval) % interval === 0 : k === 0;
}

export function lowerLoihiToOnnx(net: LoihiNetwork, options: LoihiOnnxOptions): { builder: GraphBuilder; io: ChipOnnxIO } {
  const g = new GraphBuilder();
  const B = options.batch;
  const S = loihiSteps(net);
  const c = new GraphConstants(g);
  const spikes: SpikeSequences = new Map();
  const hostPop = net.host && net.populations.find((p) => p.name === net.host!.population);
  const { io: input, host } = chipGraphInput(g, c, net.input, S, B, hostPop?.neurons, spikes);
  const probes: ChipOnnxIO['probes'][number][] = [];
  let output: ChipOnnxIO['output'] | undefined;
  const observed = observedSteps(net.populations, net.projections, S, [...options.probes, net.output.population], (p) => 1 + p.delay);
  for (const pop of net.populations) {
    const steps = observed.get(pop.name)!; // this population's sequences are [steps, B, N]
    if (pop.profile.sigmaDelta) notSupported(pop.name, `${pop.profile.sigmaDelta.kind} neurons (graded spikes) have no integer ONNX lowering yet; run them with --target loihi or the float gpu target`, 'Loihi');
    const incoming = net.projections.filter((p) => p.target === pop.name && p.source !== pop.name);
    const rule = net.projections.find((p) => p.target === pop.name && p.geometry.kind === 'sparse');
    if (rule) notSupported(rule.name, 'a sparse projection by rule has no integer ONNX lowering yet (compile it with --target loihi, or run the float gpu target)', 'Loihi');
    const recurrent = net.projections.find((p) => p.target === pop.name && p.source === pop.name);
    const synaptic = synapticInput(g, c, pop, incoming, spikes, steps, B);
    const fed = pop.hostCurrent ? host : undefined;
    const drive: Drive = synaptic && fed ? { kind: 'sequence', value: g.node('Add', [synaptic, g.node('Unsqueeze', [fed, c.axes([0])], 'host_t')], `${pop.name}_a`) } : synaptic ? { kind: 'sequence', value: synaptic } : fed ? { kind: 'constant', value: fed } : { kind: 'none' };
    const bound = fed ? Infinity : inputBound(pop, [...incoming, ...(recurrent ? [recurrent] : [])]);
    const resets = Array.from({ length: steps }, (_, t) => (resetsAt(t + 1, pop.depth, options.resetInterval) ? 1 : 0));
    const probed = options.probes.includes(pop.name);
    const isOutput = pop.name === net.output.population;
    const values = pop.profile.spiking && net.output.decoding !== 'mean_membrane' ? 'spikes' : 'v';
    const seq = neuronScan(g, c, pop, drive, bound, resets, recurrent, { S: steps, B, u: probed, v: probed || (isOutput && values === 'v') });
    spikes.set(pop.name, { value: seq.spikes, n: pop.neurons });
    if (probed) {
      const dims = [S, B, pop.neurons];
      probes.push({ layer: pop.name, dims, spikes: g.output(seq.spikes, dims, `${pop.name}.spikes`, 'uint8'), u: g.output(seq.u!, dims, `${pop.name}.u`, 'int32'), v: g.output(seq.v!, dims, `${pop.name}.v`, 'int32') });
    }
    if (isOutput) {
      const y = values === 'spikes' ? g.node('Cast', [seq.spikes], 'y_spikes', { to: int(6) }) : seq.v!;
      output = { name: g.output(y, [S, B, pop.neurons], 'y', 'int32'), dims: [S, B, pop.neurons], values };
    }
  }
  return { builder: g, io: { steps: S, input, output: output!, probes } };
}

/** Σ over projections of this step's delivered synaptic sums, int32 [S, B, N] (or undefined: no synapses). */
function synapticInput(g: GraphBuilder, c: GraphConstants, pop: LoihiPopulation, incoming: readonly LoihiProjection[], spikes: SpikeSequences, S: number, B: number): string | undefined {
  const read = pop.pool ? readGrid(pop.pool, incoming) : undefined;
  // One float-exact convolution into the join (no 24-bit wrap between): pooled right after the Conv, in
  // float32, so onnxruntime keeps its blocked layout from one to the other, and only the pooled sums move in time.
  const join = pop.pool && incoming.length === 1 && incoming[0].geometry.kind === 'conv' && convBound(incoming[0]) < HALF ? pop.pool : undefined;
  const grid = read && !join ? read.grid : [pop.neurons];
  const gridSize = grid.reduce((x, y) => x * y, 1);
  let sum: string | undefined;
  for (const p of incoming) {
    // A spike of step t arrives at step t + 1 + delay.
    const late = delivered(g, c, spikes.get(p.source)!.value, 1 + p.delay, S, B, join ? pop.neurons : gridSize, p.name, (early, rows) => (p.geometry.kind === 'dense' ? denseTerm(g, c, p, early, rows) : convTerm(g, c, p, early, rows, { unread: read?.unread, join })));
    if (late) sum = sum ? g.node('Add', [sum, late], `${pop.name}_acc`) : late;
  }
  if (!sum || !pop.pool || join) return sum;
  // Dendrites joined by MAX: float32 is exact for these integers (|x| < 2^24).
  const pool = pop.pool;
  const bound = inputBound(pop, incoming);
  if (bound >= 2 ** 24) throw new SnncError(`layer "${pop.name}": its max-pool join sums up to ${bound} per step; --numerics loihi joins in float32, exact only below 2^24`, ExitCode.doesNotFit);
  const asFloat = g.node('Cast', [g.node('Reshape', [sum, c.shape([S * B, ...grid])], `${pop.name}_grid`)], `${pop.name}_gridf`, { to: int(1) });
  return g.node('Reshape', [g.node('Cast', [maxPoolJoin(g, pool, asFloat, pop.name)], `${pop.name}_joini`, { to: int(6) }), c.shape([S, B, pop.neurons])], `${pop.name}_a`);
}

/** Dendrites joined by MAX over float32 [rows, C, H, W] of integers (exact below 2^24). */
const maxPoolJoin = (g: GraphBuilder, pool: MaxPoolJoin, x: string, hint: string) => g.node('MaxPool', [x], `${hint}_join`, { kernel_shape: ints(pool.kernel), strides: ints(pool.stride), pads: ints(pool.padding) });

/**
 * The part of a max-pool join's dendrite grid [C, H, W] its windows read. Unpadded windows whose last
 * one ends before the grid does (the MNIST CNN's 3×3 pool of a 14×14 grid reads 12×12) leave rows and
 * columns that no neuron sees; when every incoming projection is a convolution with that much end
 * padding (scaled by its stride), it is computed with less: `unread` ([bottom, right]), giving exactly the
 * read part of the same sums. Undefined where nothing is left unread or it cannot be dropped so.
 */
function readGrid(pool: MaxPoolJoin, incoming: readonly LoihiProjection[]): { grid: number[]; unread: [number, number] } | undefined {
  if (pool.padding.some((v) => v !== 0)) return undefined;
  const [C, H, W] = pool.inShape;
  const read = (size: number, k: number, s: number) => Math.floor((size - k) / s) * s + k; // rows the windows span
  const unread = [H - read(H, pool.kernel[0], pool.stride[0]), W - read(W, pool.kernel[1], pool.stride[1])];
  if (unread[0] === 0 && unread[1] === 0) return undefined;
  const drops = (p: LoihiProjection) => p.geometry.kind === 'conv' && p.geometry.padding[2] >= unread[0] * p.geometry.stride[0] && p.geometry.padding[3] >= unread[1] * p.geometry.stride[1];
  if (!incoming.every(drops)) return undefined;
  return { grid: [C, H - unread[0], W - unread[1]], unread: [unread[0], unread[1]] };
}

/** Dense synapses: [S·B, nIn] uint8 spikes × Lava's prepared weights → int32 [S·B, nOut]. */
function denseTerm(g: GraphBuilder, c: GraphConstants, p: LoihiProjection, shifted: string, rows: number): string {
  if (p.geometry.kind !== 'dense') throw new Error('internal error: denseTerm of a conv projection');
  const { nIn, nOut } = p.geometry;
  const w = prepareDenseWeights(p.weights, 8, p.signMode).weights;
  const scale = p.signMode === 'mixed' ? 2 : p.signMode === 'inhibitory' ? -1 : 1;
  const wt = new Array<number>(nIn * nOut);
  for (let o = 0; o < nOut; o++) for (let j = 0; j < nIn; j++) wt[j * nOut + o] = w[o * nIn + j] / scale;
  const weights = g.constInt(`${p.name}_w`, p.signMode === 'mixed' ? 'int8' : 'uint8', wt, [nIn, nOut]);
  const x = g.node('Reshape', [shifted, c.shape([rows, nIn])], `${p.name}_x`);
  const sum = g.node('MatMulInteger', [x, weights], `${p.name}_mm`);
  return scale === 1 ? sum : g.node('Mul', [sum, c.int(scale)], `${p.name}_mms`);
}

/** The most |partial sum| of a conv projection: fan-in · max |w|. */
const convBound = (p: LoihiProjection): number => neuronFanIn(p.geometry) * p.weights.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Conv synapses. Where every partial sum is an integer below 2^24 in magnitude (convBound < 2^24),
 * float32 Conv is exact in any summation order and far faster than onnxruntime's ConvInteger; otherwise
 * ConvInteger of the spikes with w⁺ and w⁻ (uint8 weights, which every provider takes). The sum is then
 * wrapped to 24 bits, which is the identity (and omitted) when the bound is below 2^23. `unread`: the
 * output rows and columns at the end that are left out ([bottom, right]; readGrid); `join`: the target's
 * max-pool join, applied here to the float sums (only where there is no wrap).
 */
function convTerm(g: GraphBuilder, c: GraphConstants, p: LoihiProjection, shifted: string, rows: number, options: { unread?: readonly [number, number]; join?: MaxPoolJoin } = {}): string {
  if (p.geometry.kind !== 'conv') throw new Error('internal error: convTerm of a dense projection');
  const geo = p.geometry;
  const x = g.node('Reshape', [shifted, c.shape([rows, ...geo.inShape])], `${p.name}_x`);
  const wShape = [geo.outShape[0], geo.inShape[0] / geo.groups, geo.kernel[0], geo.kernel[1]];
  // Output rows and columns no neuron reads (readGrid) are not computed: that much less end padding.
  const [pt, pl, pb, pr] = geo.padding;
  const unread = options.unread ?? [0, 0];
  const pads = [pt, pl, pb - unread[0] * geo.stride[0], pr - unread[1] * geo.stride[1]];
  const attrs = { kernel_shape: ints(geo.kernel), strides: ints(geo.stride), pads: ints(pads), group: int(geo.groups) };
  const bound = convBound(p);
  if (options.join && bound >= HALF) throw new Error('internal error: a max-pool join after a conv that can wrap');
  let sum: string;
  if (bound < 2 ** 24) {
    const xf = g.node('Cast', [x], `${p.name}_xf`, { to: int(1) });
    const conv = g.node('Conv', [xf, g.constFloat(`${p.name}_w`, Float32Array.from(p.weights), wShape)], `${p.name}_convf`, attrs);
    sum = g.node('Cast', [options.join ? maxPoolJoin(g, options.join, conv, p.name) : conv], `${p.name}_conv`, { to: int(6) });
    if (bound < HALF) return sum;
  } else {
    const part = (sign: 1 | -1) => g.node('ConvInteger', [x, g.constInt(`${p.name}_w${sign > 0 ? 'pos' : 'neg'}`, 'uint8', Array.from(p.weights, (v) => Math.max(0, sign * v)), wShape)], `${p.name}_conv`, attrs);
    sum = g.node('Sub', [part(1), part(-1)], `${p.name}_conv`);
  }
  return g.node('Sub', [g.node('Mod', [g.node('Add', [sum, c.int(HALF)], `${p.name}_off`), c.int(WRAP)], `${p.name}_mod`, { fmod: int(0) }), c.int(HALF)], `${p.name}_wrap`);
}

/** A population's synaptic input a: a sequence [S, B, N], the same [B, N] every step (host only), or none. */
type Drive = { readonly kind: 'sequence' | 'constant'; readonly value: string } | { readonly kind: 'none' };

/** The most |a| any neuron of `pop` can receive in one step: Σ |w| over its fan-in (max-pool joins do not raise it). */
function inputBound(pop: LoihiPopulation, projections: readonly LoihiProjection[]): number {
  const rows = new Float64Array(pop.pool ? pop.pool.inShape.reduce((x, y) => x * y, 1) : pop.neurons);
  for (const p of projections) addRowSums(p.geometry, p.geometry.kind === 'dense' ? prepareDenseWeights(p.weights, 8, p.signMode).weights : Float64Array.from(p.weights), rows);
  return rows.reduce((m, v) => Math.max(m, v), 0);
}

interface ScanShape {
  readonly S: number;
  readonly B: number;
  /** Also return the u and v sequences. */
  readonly u: boolean;
  readonly v: boolean;
}

/**
 * The CUBA-LIF update over S steps as one Scan; returns the spike (uint8), u and v (int32) sequences
 * [S, B, N]. What does not depend on the state is computed outside the loop: with no current decay
 * (du = 4095, IF and LIF) and no recurrence, u_t = wrap(64·a_t) has no memory, so u and u + bias are
 * computed once (once per sample for a host-fed layer). The 24-bit wrap is left out where |u| provably
 * stays below 2^23 (64·max Σ|w| / (1 − decay) < 2^23), and the per-step reset where it happens only at
 * step 1, which is the initial state.
 */
function neuronScan(g: GraphBuilder, c: GraphConstants, pop: LoihiPopulation, drive: Drive, bound: number, resets: readonly number[], recurrent: LoihiProjection | undefined, shape: ScanShape): { spikes: string; u?: string; v?: string } {
  const { S, B } = shape;
  const N = pop.neurons;
  const p = pop.profile;
  const du = 4096 - (p.du + 1);
  const wraps = !(bound === 0 || (du < 4096 && (64 * bound * 4096) / (4096 - du) < HALF));
  const needsReset = resets.slice(1).some((r) => r === 1);
  const memoryless = du === 0 && !recurrent;
  const bias = pop.bias ? g.constInt(`${pop.name}_bias`, 'int32', Array.from(pop.bias, (m) => (p.biasExp >= 0 ? m * 2 ** p.biasExp : Math.floor(m / 2 ** -p.biasExp))), [N]) : undefined;

  // Outside the loop: u and u + bias of a memoryless population.
  let uOutside: string | undefined;
  let cOutside: string | undefined;
  if (memoryless && drive.kind !== 'none') {
    const u64 = g.node('Mul', [drive.value, c.int(64)], `${pop.name}_a64`);
    uOutside = wraps ? wrapU(g, c, u64) : u64;
    cOutside = bias ? g.node('Add', [uOutside, bias], `${pop.name}_c`) : uOutside;
  }

  const body = new GraphBuilder(g);
  const cb = new GraphConstants(body);
  const state = (name: string, elem: 'int32' | 'uint8') => body.input(body.fresh(`${pop.name}_${name}_in`), [B, N], elem);
  const u = memoryless ? undefined : state('u', 'int32');
  const v = state('v', 'int32');
  const sPrev = recurrent ? state('s', 'uint8') : undefined;
  const scanInputs: string[] = [];
  const scanned = (value: string, hint: string, dims: number[], elem: 'int32' | 'bool') => {
    scanInputs.push(value);
    return body.input(body.fresh(hint), dims, elem);
  };
  const perStep = (value: string) => (drive.kind === 'sequence' ? scanned(value, `${pop.name}_t`, [B, N], 'int32') : value);
  // The reset flags are always scanned: they give the loop its length when nothing else is per step.
  const flags = scanned(g.node('Cast', [g.constInt(`${pop.name}_resets`, 'uint8', resets, [S])], `${pop.name}_reset_seq`, { to: int(9) }), `${pop.name}_reset_t`, [], 'bool');
  const reset = needsReset ? flags : undefined;
  const vR = reset ? body.node('Where', [reset, cb.int(p.v0), v], 'v_r') : v;

  let u1: string | undefined;
  let input: string; // what v adds this step besides its decayed self: u + bias
  if (memoryless) input = cOutside ? perStep(cOutside) : bias ?? cb.int(0);
  else {
    const uR = reset ? body.node('Where', [reset, cb.int(0), u!], 'u_r') : u!;
    let a = drive.kind === 'none' ? cb.int(0) : perStep(drive.value);
    if (recurrent) a = body.node('Add', [a, denseTerm(body, cb, recurrent, sPrev!, B)], 'a_rec');
    const uSum = body.node('Add', [decay(body, cb, uR, du), body.node('Mul', [a, cb.int(64)], 'a64')], 'u_sum');
    u1 = wraps ? wrapU(body, cb, uSum) : uSum;
    input = bias ? body.node('Add', [u1, bias], 'u_bias') : u1;
  }
  const v1 = body.node('Clip', [body.node('Add', [decay(body, cb, vR, 4096 - p.dv), input], 'v_sum'), cb.int(-(HALF - 1)), cb.int(HALF - 1)], 'v_sat');
  const fired = body.node('Greater', [v1, cb.int(p.vth * 64)], 'fired');
  const v2 = body.node('Where', [fired, p.resetSubtract === undefined ? cb.int(0) : body.node('Sub', [v1, cb.int(p.resetSubtract)], 'v_soft'), v1], 'v_out');
  const s = body.node('Cast', [fired], 's_out', { to: int(2) });
  if (u1) body.output(u1, [B, N], undefined, 'int32');
  body.output(v2, [B, N], undefined, 'int32');
  if (recurrent) body.output(s, [B, N], undefined, 'uint8');
  body.output(recurrent ? body.node('Identity', [s], 's_seq') : s, [B, N], undefined, 'uint8');
  const wantU = shape.u && !memoryless;
  if (wantU) body.output(body.node('Identity', [u1!], 'u_seq'), [B, N], undefined, 'int32');
  if (shape.v) body.output(body.node('Identity', [v2], 'v_seq'), [B, N], undefined, 'int32');

  const init = (elem: 'int32' | 'uint8', value: number, hint: string) => c.fill(`${pop.name}_${hint}0`, [B, N], value, elem);
  const initial = [...(memoryless ? [] : [init('int32', 0, 'u')]), init('int32', p.v0, 'v'), ...(recurrent ? [init('uint8', 0, 's')] : [])];
  const names = [...initial.map((_, i) => `${pop.name}_last${i}`), `${pop.name}_spikes`, ...(wantU ? [`${pop.name}_u`] : []), ...(shape.v ? [`${pop.name}_v`] : [])];
  const outs = g.nodeN('Scan', [...initial, ...scanInputs], names, { body: graphAttr(body.graph(`${pop.name}_step`, false)), num_scan_inputs: int(scanInputs.length) });
  const k = initial.length;
  const uSeq = !shape.u ? undefined : wantU ? outs[k + 1] : uSequence(g, c, uOutside, drive, S, B, N, pop.name);
  return { spikes: outs[k], ...(uSeq ? { u: uSeq } : {}), ...(shape.v ? { v: outs[k + (wantU ? 2 : 1)] } : {}) };
}

/** u of a memoryless population as a sequence [S, B, N] (for probes): computed outside the loop, or 0. */
function uSequence(g: GraphBuilder, c: GraphConstants, u: string | undefined, drive: Drive, S: number, B: number, N: number, hint: string): string {
  if (!u) return c.fill(`${hint}_u`, [S, B, N], 0);
  return drive.kind === 'constant' ? g.node('Expand', [g.node('Unsqueeze', [u, c.axes([0])], `${hint}_u1`), c.shape([S, B, N])], `${hint}_u`) : u;
}

/** trunc(x·D/4096) for int32 x with |x| < 2^24 and 0 ≤ D ≤ 4096 (exact in float64; Cast truncates toward zero). */
function decay(g: GraphBuilder, c: GraphConstants, x: string, D: number): string {
  if (D === 4096) return x;
  if (D === 0) return c.int(0);
  const scaled = g.node('Mul', [g.node('Cast', [x], 'x64', { to: int(11) }), c.double(D / 4096)], 'scaled');
  return g.node('Cast', [scaled], 'decayed', { to: int(6) });
}

/** Lava's single 24-bit wrap of u: x > 2^23 → x − 2^24; x ≤ −2^23 → x + 2^24. */
function wrapU(g: GraphBuilder, c: GraphConstants, x: string): string {
  const high = g.node('Where', [g.node('Greater', [x, c.int(HALF)], 'over'), g.node('Sub', [x, c.int(WRAP)], 'down'), x], 'u_hi');
  return g.node('Where', [g.node('LessOrEqual', [x, c.int(-HALF)], 'under'), g.node('Add', [x, c.int(WRAP)], 'up'), high], 'u_wrap');
}
