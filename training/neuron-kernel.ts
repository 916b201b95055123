/**
 * A neuron layer's T steps and their backpropagation through time as two fused JavaScript loops,
 * generated from the layer's bound program (compiler/ir/neuron-program.ts): the forward step computes
 * every instruction as one float32-rounded expression in program order, as the simulator's kernel does
 * (compiler/reference/neuron-step.ts), so the spikes are the simulator's for the same input currents;
 * the backward step recomputes the step from its saved start state and runs the instructions in
 * reverse (reverse-mode differentiation of straight-line code, each state assignment a new version),
 * with the spike's derivative replaced by the surrogate's g(value − θ) and the reset detached: after a
 * spike the reset state's gradient passes to the value it was reset from (subtract) or stops (zero,
 * to_v_reset), never through s.
 *
 * One fused loop per step replaces a dozen tensor operations, each a pass over memory (the wasm
 * backend's elementwise kernels run at a few hundred million values per second). LocalZO's estimate is
 * drawn in the backward step (it changes no forward value), or in the forward step for the sparse backward:
 * per neuron and step, m draws of |z| from a 4 096-level table of the half-normal quantile,
 * ĝ = (1/m) Σ |z|/(2δ)·[|u| < δ|z|], hashed from the seed and the neuron-step's index; the kernel counts
 * the neurons whose ĝ is non-zero.
 *
 * Layout: per-neuron constants are given in the order of the tensors the kernel runs on (channel-last
 * for images); arrays are time-major [T, B, N]. Owns code generation; the caller owns the tensors.
 */
import type { ResetMode } from '../compiler/ir/layers.js';
import type { Const, NeuronProgram, Operand } from '../compiler/ir/neuron-program.js';
import type { Surrogate } from './surrogates.js';
import { fmix32 } from '../compiler/ir/fmix32.js';

export interface KernelForward {
  /** Outputs [T·B·N]: spikes, or the membrane of a non-spiking model. */
  readonly out: Float32Array;
  /** Each state at the start of each step and after the last, [S][(T+1)·B·N]. */
  readonly starts: readonly Float32Array[];
  /**
   * LocalZO on a spiking model, when `forward` was given a seed: the neuron-steps whose estimate ĝ is
   * non-zero (drawn as the backward step would, from value − θ rounded to float32), by flat index
   * t·B·N + b·N + n in increasing order, with ĝ; it is zero everywhere else.
   */
  readonly estimates?: LocalZoEstimates;
}

/** LocalZO's non-zero estimates of a forward pass: flat indices and ĝ. */
export interface LocalZoEstimates {
  readonly index: Int32Array;
  readonly g: Float64Array;
}

export interface KernelBackward {
  /** dL/dI per step [T·B·N], or summed over the steps [B·N] for a static input. */
  readonly dx: Float32Array;
  /** LocalZO: how many (step, sample, neuron) had a non-zero estimate (other surrogates: undefined). */
  readonly active?: number;
  /** Gradients of the learned constants, by name, in the program's (IR) neuron order. */
  readonly params?: ReadonlyMap<string, Float32Array>;
}

/**
 * The kernel reuses its buffers from call to call (fresh memory costs more than the loops: the first
 * touch of each page): what `forward` and `backward` return is valid until the next call of the same kind.
 */
export interface NeuronKernel {
  /**
   * x: [T·B·N] currents, or [B·N] given once for every step (`static`); `into`: where to write the
   * outputs. LocalZO: `zoSeed` draws the estimates (as `backward` with that seed would) into `estimates`.
   */
  forward(x: Float32Array, isStatic: boolean, T: number, B: number, into?: Float32Array, zoSeed?: number): KernelForward;
  /** dy: dL/d(output) [T·B·N]. `seed` seeds LocalZO's draws; `into`: where to write dx. */
  backward(x: Float32Array, isStatic: boolean, T: number, B: number, saved: KernelForward, dy: Float32Array, seed: number, into?: Float32Array): KernelBackward;
  /** Sets a learned constant's values (IR neuron order) for the next calls. */
  setConst(name: string, values: Float32Array): void;
}

const OPS = { add: '+', sub: '-', mul: '*' } as const;

/** Straight-line code for one step in SSA form, shared by the forward and backward generators. */
interface StepCode {
  /** Lines computing the step from `x` and the start states `v<j>_0`. */
  readonly lines: string[];
  /** Per instruction, what the reverse pass adds to the adjoints (in forward order; run reversed). */
  readonly reverse: string[][];
  /** Every SSA name that gets an adjoint. */
  readonly names: Set<string>;
  /** Final version of each state. */
  readonly finals: string[];
  readonly consts: Const[];
  /** Slots (in `consts`) of the learned parameters, whose adjoints `a_p<slot>` are summed per neuron. */
  readonly learned: number[];
}

function stepCode(program: NeuronProgram, reset: ResetMode, learn: ReadonlySet<string>): StepCode {
  const consts: Const[] = [];
  const learned: number[] = [];
  const constExpr = (c: Const) => {
    let j = consts.indexOf(c);
    if (j < 0) j = consts.push(c) - 1;
    return c.values.length === 1 ? `c${j}` : `C${j}[k]`;
  };
  const slot = new Map(program.state.map((s, j) => [s.name, j]));
  const version = program.state.map(() => 0);
  const current = (name: string) => `v${slot.get(name)}_${version[slot.get(name)!]}`;
  const names = new Set<string>(['x', ...program.state.map((_, j) => `v${j}_0`)]);
  const expr = (o: Operand): { code: string; adj?: string } => {
    switch (o.kind) {
      case 'const': {
        const code = constExpr(o);
        if (!learn.has(o.name)) return { code };
        const j = consts.indexOf(o);
        if (!learned.includes(j)) learned.push(j);
        names.add(`p${j}`);
        return { code, adj: `p${j}` };
      }
      case 'input':
        return { code: 'x', adj: 'x' };
      case 'spikes':
        return { code: 's', adj: 's' };
      case 'state': {
        const n = current(o.name);
        return { code: n, adj: n };
      }
      case 'temp':
        return { code: `t${o.id}`, adj: `t${o.id}` };
    }
  };
  const lines: string[] = [];
  const reverse: string[][] = [];
  const bump = (state: string) => {
    const j = slot.get(state)!;
    version[j]++;
    const n = current(state);
    names.add(n);
    return n;
  };
  const acc = (target: { adj?: string }, amount: string) => (target.adj ? [`a_${target.adj} += ${amount};`] : []);
  for (const ins of program.instructions) {
    if (ins.do === 'op') {
      if (ins.op === 'max') throw new Error(`${program.layer.name}: max has no surrogate here (graded models are refused by checkTrainable)`);
      const a = expr(ins.a);
      const b = expr(ins.b);
      const t = `t${ins.id}`;
      names.add(t);
      lines.push(`const ${t} = f(${a.code} ${OPS[ins.op]} ${b.code});`);
      const da = ins.op === 'mul' ? `a_${t} * ${b.code}` : `a_${t}`;
      const db = ins.op === 'mul' ? `a_${t} * ${a.code}` : ins.op === 'sub' ? `-a_${t}` : `a_${t}`;
      reverse.push([...acc(a, da), ...acc(b, db)]);
    } else if (ins.do === 'set') {
      const value = expr(ins.value);
      const n = bump(ins.state);
      lines.push(`const ${n} = ${value.code};`);
      reverse.push(acc(value, `a_${n}`));
    } else {
      const value = expr(ins.value);
      const theta = expr(ins.threshold);
      names.add('s');
      lines.push(`const u = ${value.code}, th = ${theta.code};`, 's = u >= th ? 1 : 0;');
      // The spike's gradient reaches the value and, negated, the threshold (a state for adaptive models).
      const rev = [`const gz = ${'SURROGATE'};`, ...acc(value, 'a_s * gz'), ...acc(theta, '-a_s * gz')];
      if (ins.resets !== undefined) {
        const before = expr({ kind: 'state', name: ins.resets });
        const n = bump(ins.resets);
        const after = reset === 'subtract' ? 'f(u - th)' : reset === 'zero' ? '0' : expr(program.vReset).code;
        lines.push(`const ${n} = s ? ${after} : ${before.code};`);
        // Detached reset: after a spike the new state is (value − θ) for subtract, a constant otherwise.
        const onSpike = reset === 'subtract' ? [...acc(value, `a_${n}`), ...acc(theta, `-a_${n}`)] : [];
        rev.unshift(`if (s) { ${onSpike.join(' ')} } else { ${acc(before, `a_${n}`).join(' ')} }`);
      }
      reverse.push(rev);
    }
  }
  return { lines, reverse, names, finals: program.state.map((s) => current(s.name)), consts, learned };
}

/** The surrogate's g(z) at z = u − th as a JS expression (LocalZO: the estimate, drawn per neuron). */
function surrogateCode(s: Surrogate): string {
  switch (s.name) {
    case 'fast-sigmoid':
      return `1 / ((1 + ${s.slope} * Math.abs(u - th)) ** 2)`;
    case 'arctan':
      return `${s.alpha / 2} / (1 + (${(Math.PI * s.alpha) / 2} * (u - th)) ** 2)`;
    case 'triangle':
      return `Math.max(0, 1 - Math.abs(u - th) / ${s.width})`;
    case 'localzo':
      return `localZo(off + i, Math.abs(f(u - th)))`;
  }
}

/** The generated bodies of one forward step and one backward step over a batch (see compileNeuronKernel). */
function kernelSources(code: StepCode, S: number, N: number, output: string, reach: number | undefined, surrogate: Surrogate): { forwardSource: string; backwardSource: string } {
  const prologue = [...code.consts.map((c, j) => (c.values.length === 1 ? `const c${j} = consts[${j}][0];` : `const C${j} = consts[${j}];`)), 'const f = Math.fround;'];
  const loop = `for (let b = 0, i = 0; b < B; b++) for (let k = 0; k < ${N}; k++, i++) {`;
  const step = ['  const x = input[xOff + i];', '  let s = 0;', ...Array.from({ length: S }, (_, j) => `  const v${j}_0 = S${j}[off + i];`), ...code.lines.map((l) => `  ${l}`)];
  const forwardSource = [
    ...prologue,
    ...Array.from({ length: S }, (_, j) => `const S${j} = starts[${j}];`),
    `const next = off + B * ${N};`,
    loop,
    ...step,
    ...code.finals.map((v, j) => `  S${j}[next + i] = ${v};`),
    `  out[off + i] = ${output};`,
    // The margins within LocalZO's reach (its estimate is zero elsewhere), in float32 as the estimate reads them; near.n counts them.
    ...(reach !== undefined ? [`  if (near !== undefined) { const m = f(u - th); if (Math.abs(m) < ${reach}) { near.index[near.n] = off + i; near.margin[near.n++] = m; } }`] : []),
    '}',
  ].join('\n');
  const backwardSource = [
    ...prologue,
    ...Array.from({ length: S }, (_, j) => `const S${j} = starts[${j}], A${j} = adj[${j}];`),
    ...code.learned.map((j, g) => `const PG${j} = paramGrads[${g}];`),
    loop,
    ...step,
    `  let ${[...code.names].map((n) => `a_${n} = 0`).join(', ')};`,
    ...code.finals.map((v, j) => `  a_${v} += A${j}[i];`),
    `  a_${output} += dy[off + i];`,
    ...code.reverse
      .slice()
      .reverse()
      .flat()
      .map((l) => `  ${l.replace('SURROGATE', surrogateCode(surrogate))}`),
    ...Array.from({ length: S }, (_, j) => `  A${j}[i] = a_v${j}_0;`),
    ...code.learned.map((j) => `  PG${j}[${code.consts[j].values.length === 1 ? 0 : 'k'}] += a_p${j};`),
    '  if (xStatic) dx[i] += a_x; else dx[off + i] = a_x;',
    '}',
  ].join('\n');
  return { forwardSource, backwardSource };
}

/**
 * Compiles the forward and backward step loops of `program` for the surrogate `surrogate`. `lanes[k]`:
 * the IR neuron index (the program's per-neuron constants) of the kernel's lane k (absent: the same).
 * `learn`: names of the program's constants (`<layer>.<param>`) that are trained: the backward pass
 * also returns their gradients, and `setConst` changes their values between calls.
 */
export function compileNeuronKernel(program: NeuronProgram, reset: ResetMode, surrogate: Surrogate, lanes?: Int32Array, learn: readonly string[] = []): NeuronKernel {
  const code = stepCode(program, reset, new Set(learn));
  const S = program.state.length;
  const N = program.size;
  const output = program.spiking ? 's' : code.finals[program.state.findIndex((s) => s.name === program.membrane)];
  // Estimates drawn in the forward pass feed LocalZO's sparse backward only: other surrogates skip the test.
  const reach = program.spiking && surrogate.name === 'localzo' ? localZoReach(surrogate.delta) : undefined;
  const { forwardSource, backwardSource } = kernelSources(code, S, N, output, reach, surrogate);
  const forwardStep = new Function('consts', 'B', 'input', 'xOff', 'starts', 'off', 'out', 'near', forwardSource) as (...a: unknown[]) => void;
  const backwardStep = new Function('consts', 'B', 'input', 'xOff', 'xStatic', 'starts', 'off', 'adj', 'dy', 'dx', 'localZo', 'paramGrads', backwardSource) as (...a: unknown[]) => void;
  const inLanes = (v: Float32Array) => (v.length === 1 || !lanes ? v : Float32Array.from(lanes, (j) => v[j]));
  const outOfLanes = (g: Float64Array) => {
    if (g.length === 1 || !lanes) return Float32Array.from(g);
    const out = new Float32Array(g.length);
    lanes.forEach((j, k) => (out[j] = g[k]));
    return out;
  };
  const constValues = code.consts.map((c) => inLanes(c.values));
  const init = program.state.map((s) => inLanes(s.init));
  const scratch = new Scratch();

  return {
    forward(x, isStatic, T, B, into, zoSeed) {
      const n = B * N;
      const starts = init.map((v, j) => {
        const all = scratch.f32(`start${j}`, (T + 1) * n);
        if (v.length === 1) all.fill(v[0], 0, n);
        else for (let b = 0; b < B; b++) all.set(v, b * N);
        return all;
      });
      const out = into ?? scratch.f32('out', T * n);
      // Room for every neuron-step: the pages past the ones written are never touched.
      const near = reach !== undefined && zoSeed !== undefined ? { index: scratch.i32('nearIndex', T * n), margin: scratch.f32('nearMargin', T * n), n: 0 } : undefined;
      for (let t = 0; t < T; t++) forwardStep(constValues, B, x, isStatic ? 0 : t * n, starts, t * n, out, near);
      return { out, starts, ...(near && surrogate.name === 'localzo' ? { estimates: drawEstimates(near, localZoSampler(surrogate.samples, surrogate.delta, zoSeed!), scratch) } : {}) };
    },
    setConst(name, values) {
      const j = code.consts.findIndex((c) => c.name === name);
      if (j < 0) throw new Error(`kernel: no constant "${name}"`);
      constValues[j] = inLanes(values);
    },
    backward(x, isStatic, T, B, saved, dy, seed, into) {
      const n = B * N;
      const adj = init.map((_, j) => scratch.f64(`adj${j}`, n).fill(0));
      const dx = into ?? scratch.f32('dx', isStatic ? n : T * n);
      if (isStatic) dx.fill(0);
      const zo = surrogate.name === 'localzo' ? localZoSampler(surrogate.samples, surrogate.delta, seed) : undefined;
      const paramGrads = code.learned.map((j) => new Float64Array(constValues[j].length));
      for (let t = T - 1; t >= 0; t--) backwardStep(constValues, B, x, isStatic ? 0 : t * n, isStatic, saved.starts, t * n, adj, dy, dx, zo?.estimate, paramGrads);
      const params = new Map(code.learned.map((j, g) => [code.consts[j].name, outOfLanes(paramGrads[g])]));
      return { dx, ...(zo ? { active: zo.active() } : {}), ...(params.size ? { params } : {}) };
    },
  };
}

/** LocalZO's non-zero estimates among the first `near.n` neuron-steps near the threshold (in index order). */
function drawEstimates(near: { index: Int32Array; margin: Float32Array; n: number }, zo: ReturnType<typeof localZoSampler>, scratch: Scratch): LocalZoEstimates {
  const index = scratch.i32('zoIndex', near.index.length); // as large as `near`'s, to be kept from call to call
  const g = scratch.f64('zoG', near.index.length);
  let count = 0;
  for (let k = 0; k < near.n; k++) {
    const value = zo.estimate(near.index[k], Math.abs(near.margin[k]));
    if (value === 0) continue;
    index[count] = near.index[k];
    g[count++] = value;
  }
  return { index: index.subarray(0, count), g: g.subarray(0, count) };
}

/** Buffers kept for the next call, by name; a new one when the size changes. */
export class Scratch {
  private readonly buffers = new Map<string, Float32Array | Float64Array | Int32Array>();
  f32(name: string, length: number): Float32Array {
    return this.get(name, length, Float32Array);
  }
  f64(name: string, length: number): Float64Array {
    return this.get(name, length, Float64Array);
  }
  i32(name: string, length: number): Int32Array {
    return this.get(name, length, Int32Array);
  }
  private get<A extends Float32Array | Float64Array | Int32Array>(name: string, length: number, Kind: new (n: number) => A): A {
    const b = this.buffers.get(name);
    if (b instanceof Kind && b.length === length) return b;
    const fresh = new Kind(length);
    this.buffers.set(name, fresh);
    return fresh;
  }
}

const QUANTILE_LEVELS = 4096;
let halfNormalTable: Float64Array | undefined;

/** Midpoint quantiles of |z|, z ~ N(0, 1): Φ⁻¹((1 + (i + ½)/L) / 2), by bisection on erf (once). */
function halfNormal(): Float64Array {
  if (halfNormalTable) return halfNormalTable;
  const table = new Float64Array(QUANTILE_LEVELS);
  for (let i = 0; i < QUANTILE_LEVELS; i++) {
    const p = (i + 0.5) / QUANTILE_LEVELS; // P(|z| ≤ q) = erf(q/√2)
    let lo = 0;
    let hi = 10;
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      if (erf(mid / Math.SQRT2) < p) lo = mid;
      else hi = mid;
    }
    table[i] = (lo + hi) / 2;
  }
  return (halfNormalTable = table);
}

/** erf by Abramowitz–Stegun 7.1.26's refinement (|error| < 1.2e-7), enough for a quantile table. */
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}

/** The largest |u − θ| LocalZO's draws reach: δ times the table's largest |z|; the estimate is zero from there on. */
export function localZoReach(delta: number): number {
  return delta * halfNormal()[QUANTILE_LEVELS - 1];
}

/**
 * LocalZO's estimate ĝ(|u|) for the neuron-step at flat index `at`: its draws come from a hash of
 * (seed, at, sample) — counter-based, so an estimate does not depend on the order estimates are made
 * (the fused kernel goes backwards in time, the sparse backward forwards). Counts non-zero estimates.
 */
export function localZoSampler(samples: number, delta: number, seed: number): { estimate: (at: number, au: number) => number; active: () => number } {
  const table = halfNormal();
  let active = 0;
  const scale = 1 / (2 * delta * samples);
  const limit = localZoReach(delta);
  const key = Math.imul(seed | 0, 0x9e3779b1);
  return {
    estimate(at: number, au: number): number {
      if (au >= limit) return 0; // no draw reaches it
      let g = 0;
      for (let m = 0; m < samples; m++) {
        const z = table[fmix32(key ^ Math.imul(at * samples + m, 0x85ebca6b)) >>> 20];
        if (au < delta * z) g += z;
      }
      if (g !== 0) active++;
      return g * scale;
    },
    active: () => active,
  };
}
