/**
 * A neuron layer's bound program (compiler/ir/neuron-program.ts) compiled to one JavaScript loop over
 * the batch and the neurons: every instruction becomes one float32-rounded expression on locals, in
 * program order, so the values are those of running the instructions one by one over the whole batch
 * (each is elementwise) and of the ONNX lowering, at the speed of a hand-fused loop. The generated
 * source mentions no names from the model: operands are slots in arrays passed in.
 *
 * Owns code generation for the simulator's neuron kernel; the kernel owns the buffers.
 */
import type { ResetMode } from '../ir/layers.js';
import type { Const, NeuronProgram, Operand } from '../ir/neuron-program.js';
import type { BinaryOp } from '../ir/neurons.js';

/** What one step reads and writes: [B·N] arrays except the constants (1 or N values). */
export interface StepBuffers {
  readonly input: Float32Array;
  readonly out: Float32Array;
  /** State arrays, in the program's state order. */
  readonly state: readonly Float32Array[];
  /** Per sample, the membrane noise source (absent: none). */
  readonly noise?: readonly (() => number)[];
}

export type NeuronStep = (buffers: StepBuffers) => void;

const OPS = { add: '+', sub: '-', mul: '*' } as const;
/** One instruction's expression: float32-rounded arithmetic, or max (exact). */
const opCode = (op: BinaryOp, a: string, b: string) => (op === 'max' ? `Math.max(${a}, ${b})` : `f(${a} ${OPS[op]} ${b})`);

/** Compiles `program` for a batch of `batch` samples. */
export function compileNeuronStep(program: NeuronProgram, batch: number, reset: ResetMode): NeuronStep {
  const consts: Const[] = [];
  const constSlot = (c: Const) => {
    let j = consts.indexOf(c);
    if (j < 0) j = consts.push(c) - 1;
    return j;
  };
  const stateSlot = new Map(program.state.map((s, j) => [s.name, j]));
  const expr = (o: Operand): string => {
    switch (o.kind) {
      case 'const':
        return o.values.length === 1 ? `c${constSlot(o)}` : `C${constSlot(o)}[k]`;
      case 'input':
        return 'x';
      case 'spikes':
        return 's';
      case 'state':
        return `v${stateSlot.get(o.name)}`;
      case 'temp':
        return `t${o.id}`;
    }
  };
  const body: string[] = [];
  for (const ins of program.instructions) {
    if (ins.do === 'op') body.push(`const t${ins.id} = ${opCode(ins.op, expr(ins.a), expr(ins.b))};`);
    else if (ins.do === 'set') body.push(`v${stateSlot.get(ins.state)} = ${expr(ins.value)};`);
    else if (ins.graded) body.push(`{ const u = ${expr(ins.value)}; s = Math.abs(u) >= ${expr(ins.threshold)} ? u : 0; }`);
    else body.push(...fireLines(expr(ins.value), expr(ins.threshold), ins.resets === undefined ? undefined : `v${stateSlot.get(ins.resets)}`, reset, expr(program.vReset), ins.burst && expr(ins.burst)));
  }
  const S = program.state.length;
  const source = [
    ...consts.map((c, j) => (c.values.length === 1 ? `const c${j} = consts[${j}][0];` : `const C${j} = consts[${j}];`)),
    ...Array.from({ length: S }, (_, j) => `const S${j} = buffers.state[${j}];`),
    'const input = buffers.input, out = buffers.out;',
    `for (let b = 0; b < ${batch}; b++) {`,
    '  const noise = buffers.noise ? buffers.noise[b] : undefined;',
    `  for (let k = 0; k < ${program.size}; k++) {`,
    `    const i = b * ${program.size} + k;`,
    '    const x = input[i];',
    '    let s = 0;',
    ...Array.from({ length: S }, (_, j) => `    let v${j} = S${j}[i];`),
    ...body.map((l) => `    ${l}`),
    ...Array.from({ length: S }, (_, j) => `    S${j}[i] = v${j};`),
    ...(program.spiking ? ['    out[i] = s;'] : []),
    '  }',
    '}',
  ].join('\n');
  const step = new Function('f', 'consts', 'buffers', source) as (f: typeof Math.fround, consts: Float32Array[], buffers: StepBuffers) => void;
  const constValues = consts.map((c) => c.values);
  return (buffers) => step(Math.fround, constValues, buffers);
}

/** s = [value (+ noise) ≥ θ] (a burst: min(⌊f(value/θ)⌋, Γ) where value ≥ θ); then the reset of `target` by the layer's mode. */
function fireLines(value: string, theta: string, target: string | undefined, reset: ResetMode, vReset: string, burst?: string): string[] {
  const lines = [`const u = ${value}, th = ${theta};`];
  if (burst) lines.push(`s = u >= th ? Math.min(Math.floor(f(u / th)), ${burst}) : 0;`);
  else lines.push('s = (noise ? f(u + noise()) : u) >= th ? 1 : 0;');
  const subtracted = burst ? 'f(u - f(s * th))' : 'f(u - th)';
  if (target) lines.push(`if (s) ${target} = ${reset === 'subtract' ? subtracted : reset === 'zero' ? '0' : vReset};`);
  return lines;
}
