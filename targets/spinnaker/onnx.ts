/**
 * The quantised SpiNNaker network (quantise.ts) as integer ONNX that onnxruntime runs bit-exactly like the
 * emulator (emulator.ts): sPyNNaker's IF_curr_exp in s16.15, layerwise. Each population's ring-buffer
 * slot sums for all S steps and B samples at once, then one Scan over the steps does the core's update
 * (a population that is not probed: only its first steps that reach the output, observedSteps). It owns
 * only the arithmetic; the gpu target packages the graph and the runner feeds and decodes it.
 *
 * Exactness, op by op (the emulator's `step`: transfer, update, threshold, decay):
 * - Ring buffers: a spike of step t lands in slot t + delay. Per synapse type (excitatory: w > 0,
 *   inhibitory: −w), the slot's sum of 16-bit weights saturates at 0xFFFF; every addition is ≥ 0, so the
 *   saturated running sum is min(Σ, 0xFFFF), in any order (no Min where the weights keep Σ below it:
 *   slotSumBounds). The sums are float32 MatMul/Conv where every
 *   partial sum is an integer below 2²⁴ (exact in any order), else MatMulInteger/ConvInteger of the
 *   weights' low and high bytes; both synapse types of a projection in one MatMul/Conv where they can;
 *   a uniform depthwise conv (an OR population's input) as a rounded AveragePool. A recurrent
 *   projection (delay 1) is summed inside the loop.
 * - Fixed point in int64: mulAccum(a, b) = ⌊a·b / 2¹⁵⌋ and decay(x, d) = ⌊x·d / 2³²⌋ (|a·b| < 2⁶², |x·d| < 2⁶³),
 *   the floor as (p − (p mod 2ⁿ)) / 2ⁿ with a non-negative mod; wrapped to 32 bits by Cast, as the ARM
 *   core's 32-bit registers wrap; int32 adds and subtracts wrap the same way. Where the operands'
 *   bounds keep the product below 2⁵³ and the result inside int32, the same in float64 (exact); where
 *   b / 2ⁿ is an integer, a wrapping multiply (int32 where the bound keeps it inside int32).
 * - Update: I_exc += decay(e·2^shift, init_E) (likewise I_inh); input = I_exc − I_inh + i_offset; if not
 *   refractory, a = mulAccum(input, R) + v_rest and V ← a − mulAccum(exp_TC, a − V), else the timer counts
 *   down; V ≥ v_thresh spikes, V ← v_reset, timer ← t_refract; then both currents decay.
 */
import { type ChipOnnxIO, type SpikeSequences, chipGraphInput, delivered, observedSteps } from '../common/chip-onnx.js';
import { type Attr, GraphBuilder, GraphConstants, graphAttr, int, ints } from '../common/onnx-builder.js';
import type { SpinnakerNetwork, SpinnakerPopulation, SpinnakerProjection } from './quantise.js';
import { type StoredGeometry, addRowSums, isStored, neuronFanIn, notSupported } from '../common/synaptic-terms.js';
import { transposeMatrix } from '../../compiler/ir/tensor.js';

const SATURATE = 0xffff;

export interface SpinnakerOnnxOptions {
  readonly batch: number;
  /** Populations whose spikes, V (before each step's update) and I_exc (after the ring-buffer transfer) become outputs [S, B, N]. */
  readonly probes: readonly string[];
}

function spinnakerSteps(net: SpinnakerNetwork): number {
  return net.timesteps + net.populations.find((p) => p.name === net.output.population)!.depth;
}

/** The graph; its probes' states are u = I_exc after the ring-buffer transfer and v = V before the update, as the emulator records them. */
export function lowerSpinnakerToOnnx(net: SpinnakerNetwork, options: SpinnakerOnnxOptions): { builder: GraphBuilder; io: ChipOnnxIO } {
  const g = new GraphBuilder();
  const c = new GraphConstants(g);
  const B = options.batch;
  const S = spinnakerSteps(net);
  const spikes: SpikeSequences = new Map();
  const { io: input, host } = chipGraphInput(g, c, net.input, S, B, net.populations.find((p) => p.hostCurrent)?.neurons, spikes);
  const probes: ChipOnnxIO['probes'][number][] = [];
  let output: ChipOnnxIO['output'] | undefined;
  const observed = observedSteps(net.populations, net.projections, S, [...options.probes, net.output.population], (p) => p.delay);
  for (const pop of net.populations) {
    if (pop.role === 'source') continue;
    const steps = observed.get(pop.name)!; // this population's sequences are [steps, B, N]
    const incoming = net.projections.filter((p) => p.target === pop.name && p.source !== pop.name);
    const recurrent = net.projections.find((p) => p.target === pop.name && p.source === pop.name);
    const slots = slotSums(g, c, pop, incoming, spikes, steps, B);
    const probed = options.probes.includes(pop.name);
    const isOutput = pop.name === net.output.population;
    const seq = coreScan(g, c, pop, slots, recurrent, pop.hostCurrent ? host : undefined, { S: steps, B, probed, vAfter: isOutput && pop.role === 'readout' });
    spikes.set(pop.name, { value: seq.spikes, n: pop.neurons });
    const dims = [S, B, pop.neurons];
    if (probed) probes.push({ layer: pop.name, dims, spikes: g.output(seq.spikes, dims, `${pop.name}.spikes`, 'uint8'), u: g.output(seq.iExc!, dims, `${pop.name}.i_exc`, 'int32'), v: g.output(seq.vBefore!, dims, `${pop.name}.v`, 'int32') });
    if (isOutput) {
      const values = pop.role === 'readout' ? 'v' : 'spikes';
      const y = values === 'spikes' ? g.node('Cast', [seq.spikes], 'y_spikes', { to: int(6) }) : seq.vAfter!;
      output = { name: g.output(y, dims, 'y', 'int32'), dims, values };
    }
  }
  return { builder: g, io: { steps: S, input, output: output!, probes } };
}

/** Per synapse type [excitatory, inhibitory]: the slot sums [S, B, N] (or none) and the most one neuron's can be (slotSumBounds). */
interface Slots {
  readonly sums: readonly [string | undefined, string | undefined];
  readonly eMax: readonly [number, number];
}

/**
 * Σ over the projections of each synapse type (excitatory: w > 0, inhibitory: −w) of the weights
 * delivered to each neuron's slot per step, int32 [S, B, N], before saturation (a recurrent projection is
 * added inside the loop); undefined for a type no projection has weights of. A projection with both
 * types, both float-exact and no groups, is one MatMul/Conv of the two weight sets stacked on the output
 * axis, split after: the same sums, with the input read once.
 */
function slotSums(g: GraphBuilder, c: GraphConstants, pop: SpinnakerPopulation, incoming: readonly SpinnakerProjection[], spikes: SpikeSequences, S: number, B: number): Slots {
  const N = pop.neurons;
  const sums: [string | undefined, string | undefined] = [undefined, undefined];
  const add = (k: 0 | 1, late: string | undefined) => {
    if (late) sums[k] = sums[k] ? g.node('Add', [sums[k]!, late], `${pop.name}_slots`) : late;
  };
  for (const p of incoming) {
    const q = stored(p);
    const source = spikes.get(p.source)!.value;
    const [exc, inh] = ([1, -1] as const).map((sign) => Array.from(p.weights, (v) => Math.max(0, sign * v)));
    const stackable = q.geometry.kind === 'dense' || q.geometry.groups === 1;
    if (stackable && [exc, inh].every((w) => w.some((v) => v > 0) && floatExact(q.geometry, w))) {
      const both = delivered(g, c, source, p.delay, S, B, 2 * N, p.name, (early, rows) => synapses(g, c, q, [...exc, ...inh], early, rows, 2));
      if (!both) continue;
      const [e, i] = g.nodeN('Split', [both, c.shape([N, N])], [`${p.name}_exc`, `${p.name}_inh`], { axis: int(2) });
      add(0, e);
      add(1, i);
      continue;
    }
    [exc, inh].forEach((w, k) => {
      if (w.some((v) => v > 0)) add(k as 0 | 1, delivered(g, c, source, p.delay, S, B, N, p.name, (early, rows) => synapses(g, c, q, w, early, rows)));
    });
  }
  return { sums, eMax: slotSumBounds(incoming, N) };
}

/** Whether float32 sums of these non-negative integer weights are exact: every partial sum below 2²⁴. */
const floatExact = (geo: StoredGeometry, w: readonly number[]): boolean => neuronFanIn(geo) * w.reduce((m, v) => Math.max(m, v), 0) < 2 ** 24;

/** The projection with its stored weights' geometry; a sparse rule is refused by name. */
function stored(p: SpinnakerProjection): { readonly name: string; readonly geometry: StoredGeometry } {
  if (!isStored(p.geometry)) return notSupported(p.name, 'a sparse projection by rule has no integer ONNX lowering yet (compile it with --target spinnaker, or run the float gpu target)', 'SpiNNaker');
  return { name: p.name, geometry: p.geometry };
}

/**
 * Non-negative integer weights (< 2¹⁶) applied to uint8 spikes [rows, …] → int32 [rows, out…]; `sets`
 * weight sets one after the other (each in PyTorch's layout, [nOut, nIn] or [O, C/g, kh, kw]) are one
 * with `sets` times the outputs.
 */
function synapses(g: GraphBuilder, c: GraphConstants, p: { readonly name: string; readonly geometry: StoredGeometry }, w: readonly number[], spikes: string, rows: number, sets = 1): string {
  const geo = p.geometry;
  const x = g.node('Reshape', [spikes, c.shape(geo.kind === 'dense' ? [rows, geo.nIn] : [rows, ...geo.inShape])], `${p.name}_x`);
  const wShape = geo.kind === 'dense' ? [geo.nIn, sets * geo.nOut] : [sets * geo.outShape[0], geo.inShape[0] / geo.groups, geo.kernel[0], geo.kernel[1]];
  // Integers below 2¹⁶, exact in float32; a dense matrix as [nIn, nOut] for MatMul.
  const layout = (values: readonly number[]) => (geo.kind === 'dense' ? transposeMatrix(Float32Array.from(values), sets * geo.nOut, geo.nIn) : Float32Array.from(values));
  const attrs: Record<string, Attr> = geo.kind === 'conv' ? { kernel_shape: ints(geo.kernel), strides: ints(geo.stride), pads: ints(geo.padding), group: int(geo.groups) } : {};
  if (floatExact(geo, w)) {
    const xf = g.node('Cast', [x], `${p.name}_xf`, { to: int(1) });
    if (geo.kind === 'conv' && sets === 1 && uniformDepthwise(geo, w)) return g.node('Cast', [sumPool(g, xf, geo, w[0], p.name)], `${p.name}_sum`, { to: int(6) });
    const wf = g.constFloat(`${p.name}_w`, layout(w), wShape);
    return g.node('Cast', [g.node(geo.kind === 'dense' ? 'MatMul' : 'Conv', [xf, wf], `${p.name}_f`, attrs)], `${p.name}_sum`, { to: int(6) });
  }
  const byte = (k: 0 | 1) => {
    const wk = g.constInt(`${p.name}_w${k}`, 'uint8', layout(w.map((v) => (v >> (8 * k)) & 0xff)), wShape);
    return g.node(geo.kind === 'dense' ? 'MatMulInteger' : 'ConvInteger', [x, wk], `${p.name}_b${k}`, attrs);
  };
  return g.node('Add', [byte(0), g.node('Mul', [byte(1), c.int(256)], `${p.name}_hi`)], `${p.name}_sum`);
}

/** A depthwise convolution (one input channel per output channel) with every weight equal: a pooling of the spikes. */
function uniformDepthwise(geo: StoredGeometry, w: readonly number[]): boolean {
  return geo.kind === 'conv' && geo.groups === geo.inShape[0] && geo.groups === geo.outShape[0] && w.every((v) => v === w[0]);
}

/**
 * A uniform depthwise convolution of float32 spikes [rows, C, H, W] (uniformDepthwise): the window's
 * spike count times the weight. AveragePool (padding counted, as the convolution's zeros are) gives
 * count / area to within a relative 2⁻²³, so Round(avg · area) is the count exactly (count ≤ area is
 * small), and count · w is an integer below 2²⁴ (floatExact). A Conv would need onnxruntime's
 * channel-blocked layout, whose reorders of this large input cost more than the pooling.
 */
function sumPool(g: GraphBuilder, x: string, geo: StoredGeometry & { kind: 'conv' }, weight: number, hint: string): string {
  const area = geo.kernel[0] * geo.kernel[1];
  const mean = g.node('AveragePool', [x], `${hint}_mean`, { kernel_shape: ints(geo.kernel), strides: ints(geo.stride), pads: ints(geo.padding), count_include_pad: int(1) });
  const count = g.node('Round', [g.node('Mul', [mean, g.constFloat(`${hint}_area`, Float32Array.of(area), [])], `${hint}_scaled`)], `${hint}_count`);
  return g.node('Mul', [count, g.constFloat(`${hint}_w`, Float32Array.of(weight), [])], `${hint}_f`);
}

/** ⌊x / 2ⁿ⌋ for int64 x, exactly: (x − (x mod 2ⁿ)) / 2ⁿ with the mod taking the divisor's sign. */
function floorShift(g: GraphBuilder, c: GraphConstants, x: string, n: number): string {
  const d = c.int64(2 ** n);
  return g.node('Div', [g.node('Sub', [x, g.node('Mod', [x, d], 'rem', { fmod: int(0) })], 'whole'), d], 'floor');
}

/**
 * ⌊x·b / 2ⁿ⌋ of int32 x and a constant 0 ≤ b < 2³², wrapped to 32 bits, as the ARM's fixed-point
 * multiplies give it. Where |x| ≤ `bound` keeps |x·b| below 2⁵³ and the result inside int32, float64
 * is exact (x·b exact, /2ⁿ a power of two) and needs no wrap: Cast, Mul, Floor, Cast. Where b/2ⁿ is an
 * integer k (R = 2²⁹ as s16.15 is 2¹⁴) there is nothing to floor: wrap32(x·k), an int32 Mul where
 * |x·k| stays below 2³¹, else the int64 product and a wrapping Cast. Otherwise int64: the product (below
 * 2⁶³), an exact floor division and a wrapping Cast.
 */
function floorProduct(g: GraphBuilder, c: GraphConstants, x: string, b: number, n: number, bound = Infinity): string {
  if (b % 2 ** n === 0) {
    const k = b / 2 ** n;
    if (bound * k < 2 ** 31) return g.node('Mul', [x, c.int(k)], 'xk');
    return g.node('Cast', [g.node('Mul', [g.node('Cast', [x], 'x64', { to: int(7) }), c.int64(k)], 'xk')], 'x32', { to: int(6) });
  }
  if (bound * b < 2 ** 53 && (bound * b) / 2 ** n < 2 ** 31) {
    return g.node('Cast', [g.node('Floor', [g.node('Mul', [g.node('Cast', [x], 'xf64', { to: int(11) }), c.double(b / 2 ** n)], 'xb')], 'floor')], 'x32', { to: int(6) });
  }
  return g.node('Cast', [floorShift(g, c, g.node('Mul', [g.node('Cast', [x], 'x64', { to: int(7) }), c.int64(b)], 'xb'), n)], 'x32', { to: int(6) });
}

/** mulAccum(a, b) = ⌊a·b / 2¹⁵⌋ for a constant s16.15 b (|a| ≤ bound where known). */
const mulAccum = (g: GraphBuilder, c: GraphConstants, a: string, b: number, bound?: number) => floorProduct(g, c, a, b, 15, bound);

/** decay_s1615(x, d) = ⌊x·d / 2³²⌋ for a u0.32 constant d (|x| ≤ bound where known). */
const decayS1615 = (g: GraphBuilder, c: GraphConstants, x: string, d: number, bound?: number) => floorProduct(g, c, x, d >>> 0, 32, bound);

interface CoreShape {
  readonly S: number;
  readonly B: number;
  readonly probed: boolean;
  /** Also return V after each step (a readout's output). */
  readonly vAfter: boolean;
}

/**
 * The synaptic current a slot's sum adds: decay(min(e, 0xFFFF)·2^shift, init) = ⌊min(e, 0xFFFF)·2^shift·init / 2³²⌋
 * (e int32, any shape, at most eMax: where that is below 0xFFFF the slot cannot saturate and there is no Min).
 * The product is below 2¹⁶·2¹⁵·2³² = 2⁶³ (shift ≤ 15).
 */
function slotCurrent(g: GraphBuilder, c: GraphConstants, e: string, shift: number, init: number, eMax = Infinity): string {
  const sat = eMax > SATURATE ? g.node('Min', [e, c.int(SATURATE)], 'sat') : e;
  return floorProduct(g, c, sat, (init >>> 0) * 2 ** shift, 32, Math.min(eMax, SATURATE));
}

/** The most |I| one slot can add, its sums being at most eMax: ⌊min(eMax, 0xFFFF)·2^shift·init / 2³²⌋. */
const slotBound = (shift: number, init: number, eMax: number) => Math.floor((Math.min(eMax, SATURATE) * 2 ** shift * (init >>> 0)) / 2 ** 32);

/**
 * The most one of `neurons` target neurons' slot of each synapse type [excitatory, inhibitory] can sum
 * in a step: the largest Σ over its synapses of that type's weights (every source spiking; each synapse
 * delivers at most once per slot; for a conv, the whole kernel at every position).
 */
export function slotSumBounds(incoming: readonly SpinnakerProjection[], neurons: number): [number, number] {
  const bound = (sign: 1 | -1) => {
    const rows = new Float64Array(neurons);
    for (const p of incoming) addRowSums(p.geometry, Float64Array.from(p.weights, (v) => Math.max(0, sign * v)), rows);
    return rows.reduce((m, v) => Math.max(m, v), 0);
  };
  return [bound(1), bound(-1)];
}

/**
 * One IF_curr_exp core over S steps (see the top of the file); returns spikes, V after each step, and
 * (probed) V before it and I_exc after the transfer. With delta synapses (both current decays exactly 0,
 * as the quantiser makes them for IF and LIF) and no recurrence the currents have no memory: each step's
 * I_exc, I_inh and a = R·I + v_rest are computed outside the loop, for all steps at once (once per
 * sample for a host-fed layer), and the loop only integrates V.
 */
function coreScan(g: GraphBuilder, c: GraphConstants, pop: SpinnakerPopulation, slots: Slots, recurrent: SpinnakerProjection | undefined, host: string | undefined, shape: CoreShape): { spikes: string; vAfter?: string; vBefore?: string; iExc?: string } {
  const { S, B } = shape;
  const N = pop.neurons;
  const prm = pop.params;
  const k = pop.constants;
  const memoryless = k.decayE === 0 && k.decayI === 0 && !recurrent;
  const body = new GraphBuilder(g);
  const cb = new GraphConstants(body);
  const state = (name: string, elem: 'int32' | 'uint8') => body.input(body.fresh(`${pop.name}_${name}_in`), [B, N], elem);
  const v = state('v', 'int32');
  // With no refractory period after a spike the timer only holds the first steps (the pipeline depth): a per-step flag.
  const timer = k.tRefract !== 0;
  const rt = timer ? state('rt', 'int32') : undefined;
  const [iExc, iInh] = memoryless ? [] : [state('iexc', 'int32'), state('iinh', 'int32')];
  const sPrev = recurrent ? state('s', 'uint8') : undefined;
  const scanInputs: string[] = [];
  const scanned = (value: string, hint: string, dims: number[], elem: 'int32' | 'uint8' | 'bool') => {
    scanInputs.push(value);
    return body.input(body.fresh(hint), dims, elem);
  };
  // Whether the refractory timer has run out (only without a refractory period); also gives the loop its length.
  const freeFlag = scanned(g.node('Cast', [g.constInt(`${pop.name}_free`, 'uint8', Array.from({ length: S }, (_, t) => (t >= prm.refractTimerInit ? 1 : 0)), [S])], `${pop.name}_free_seq`, { to: int(9) }), `${pop.name}_free_t`, [], 'bool');
  // i_offset: the population's, plus the host's current per sample (summed once, outside the loop).
  const ownOffset = pop.iOffset ? g.constInt(`${pop.name}_ioff`, 'int32', pop.iOffset, [N]) : undefined;
  const offset = host && ownOffset ? g.node('Add', [host, ownOffset], `${pop.name}_offset`) : host ?? ownOffset;
  /** input = I_exc − I_inh + i_offset → a = mulAccum(input, R) + v_rest, in graph `gg`; |input| ≤ bound where known. */
  const driveOf = (gg: GraphBuilder, cc: GraphConstants, iE: string | undefined, iI: string | undefined, off: string | undefined, bound?: number) => {
    let input = iE && iI ? gg.node('Sub', [iE, iI], 'i_net') : iE ?? (iI ? gg.node('Neg', [iI], 'i_net') : undefined);
    if (off) input = input ? gg.node('Add', [input, off], 'i_in') : off;
    const drive = input ? mulAccum(gg, cc, input, k.rMembrane, bound) : cc.int(0);
    return prm.vRest === 0 ? drive : gg.node('Add', [drive, cc.int(prm.vRest)], 'a');
  };

  let a: string;
  let iESeq: string | undefined; // memoryless: I_exc after the transfer, for all steps
  let iE2: string | undefined;
  let iI2: string | undefined;
  let iEBody: string | undefined;
  if (memoryless) {
    const { eMax } = slots;
    iESeq = slots.sums[0] && slotCurrent(g, c, slots.sums[0], pop.shift[0], k.initE, eMax[0]);
    const iISeq = slots.sums[1] && slotCurrent(g, c, slots.sums[1], pop.shift[1], k.initI, eMax[1]);
    // Without the host, |input| is bounded by the slots' largest currents and the population's own i_offset.
    const offsetBound = pop.iOffset ? pop.iOffset.reduce((m, v) => Math.max(m, Math.abs(v)), 0) : 0;
    const inputBound = host ? undefined : slotBound(pop.shift[0], k.initE, eMax[0]) + slotBound(pop.shift[1], k.initI, eMax[1]) + offsetBound;
    const aOutside = driveOf(g, c, iESeq, iISeq, offset, inputBound);
    a = iESeq || iISeq ? scanned(aOutside, `${pop.name}_a_t`, [B, N], 'int32') : aOutside; // else the same every step
  } else {
    const transfer = (current: string, sign: 1 | -1, slot: string | undefined, shift: number, init: number) => {
      let e = slot ? scanned(slot, `${pop.name}_slot`, [B, N], 'int32') : undefined;
      const w = recurrent ? Array.from(recurrent.weights, (x) => Math.max(0, sign * x)) : [];
      if (w.some((x) => x > 0)) {
        const rec = synapses(body, cb, { name: `${recurrent!.name}${sign > 0 ? 'e' : 'i'}`, geometry: stored(recurrent!).geometry }, w, sPrev!, B);
        e = e ? body.node('Add', [e, rec], 'rec') : rec;
      }
      return e ? body.node('Add', [current, slotCurrent(body, cb, e, shift, init)], 'transferred') : current;
    };
    iEBody = transfer(iExc!, 1, slots.sums[0], pop.shift[0], k.initE);
    const iI = transfer(iInh!, -1, slots.sums[1], pop.shift[1], k.initI);
    a = driveOf(body, cb, iEBody, iI, offset);
    iE2 = decayS1615(body, cb, iEBody, k.decayE);
    iI2 = decayS1615(body, cb, iI, k.decayI);
  }
  const integrated = body.node('Sub', [a, mulAccum(body, cb, body.node('Sub', [a, v], 'a_v'), k.expTc, 2 ** 31)], 'v_int');
  const free = rt ? body.node('LessOrEqual', [rt, cb.int(0)], 'free') : freeFlag;
  // Free at every step (no refractory period, no pipeline wait): V always integrates.
  const v1 = !rt && prm.refractTimerInit === 0 ? integrated : body.node('Where', [free, integrated, v], 'v_upd');
  const fired = body.node('GreaterOrEqual', [v1, cb.int(prm.vThresh)], 'fired');
  const v2 = body.node('Where', [fired, cb.int(prm.vReset), v1], 'v_out');
  const rt2 = rt && body.node('Where', [fired, cb.int(k.tRefract), body.node('Where', [free, rt, body.node('Sub', [rt, cb.int(1)], 'rt_dec')], 'rt_upd')], 'rt_out');
  const s = body.node('Cast', [fired], 's_out', { to: int(2) });
  for (const value of [v2, ...(rt2 ? [rt2] : []), ...(memoryless ? [] : [iE2!, iI2!])]) body.output(value, [B, N], undefined, 'int32');
  if (recurrent) body.output(s, [B, N], undefined, 'uint8');
  body.output(recurrent ? body.node('Identity', [s], 's_seq') : s, [B, N], undefined, 'uint8');
  if (shape.vAfter) body.output(body.node('Identity', [v2], 'v_seq'), [B, N], undefined, 'int32');
  if (shape.probed) {
    body.output(body.node('Identity', [v], 'v_before'), [B, N], undefined, 'int32');
    if (!memoryless) body.output(body.node('Identity', [iEBody!], 'iexc_seq'), [B, N], undefined, 'int32');
  }
  const init = (elem: 'int32' | 'uint8', value: number, hint: string) => c.fill(`${pop.name}_${hint}0`, [B, N], value, elem);
  const initial = [init('int32', prm.vInit, 'v'), ...(timer ? [init('int32', prm.refractTimerInit, 'rt')] : []), ...(memoryless ? [] : [init('int32', 0, 'iexc'), init('int32', 0, 'iinh')]), ...(recurrent ? [init('uint8', 0, 's')] : [])];
  const names = [...initial.map((_, i) => `${pop.name}_last${i}`), `${pop.name}_spikes`, ...(shape.vAfter ? [`${pop.name}_v`] : []), ...(shape.probed ? [`${pop.name}_v_before`, ...(memoryless ? [] : [`${pop.name}_i_exc`])] : [])];
  const outs = g.nodeN('Scan', [...initial, ...scanInputs], names, { body: graphAttr(body.graph(`${pop.name}_step`, false)), num_scan_inputs: int(scanInputs.length) });
  let at = initial.length;
  const spikes = outs[at++];
  const vAfter = shape.vAfter ? outs[at++] : undefined;
  if (!shape.probed) return { spikes, vAfter };
  const vBefore = outs[at++];
  return { spikes, vAfter, vBefore, iExc: memoryless ? (iESeq ?? c.fill(`${pop.name}_i_exc`, [S, B, N], 0)) : outs[at] };
}
