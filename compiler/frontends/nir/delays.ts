/**
 * NIR Delay (y(t) = x(t − τ), τ in seconds per neuron) → an IR delay of whole steps at step dt: steps =
 * round(τ/dt), one diagnostic when τ is not a whole number of steps; every neuron must get the same number
 * of steps (the IR has one delay per layer); 0 steps is a pass-through, with a diagnostic. Also what the
 * reader needs to read a neuron or delay before building it (a cycle): the shape it will have.
 */
import { badInput } from '../../errors.js';
import { sizeOf } from '../../ir/tensor.js';
import { type NirGraph, type NirNode, type Warn, toNumbers } from './graph.js';
import { isNeuronType } from '../../nir/topology.js';

/** τ/dt within this relative distance of a whole number is that number (float32 files, float64 dt). */
const WHOLE = 1e-5;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The delay in whole steps of a Delay node at `dt`; refuses negative delays and delays that differ between neurons. */
export function delaySteps(node: NirNode, dt: number, file: string, warn: Warn): number {
  const where = `${file}: node "${node.name}" (Delay)`;
  const tau = toNumbers(node.params.get('delay')?.value);
  if (tau.length === 0) throw badInput(`${where}: missing parameter "delay"`);
  const negative = tau.find((t) => !(t >= 0));
  if (negative !== undefined) throw badInput(`${where}: delay ${negative} s is negative`);
  const steps = [...new Set(tau.map((t) => Math.round(t / dt)))].sort((a, b) => a - b);
  if (steps.length > 1) {
    const list = steps.length > 4 ? `${steps.slice(0, 3).join(', ')}, …, ${steps.at(-1)}` : steps.join(', ');
    throw badInput(`${where}: its neurons have ${steps.length} different delays (${list} steps at dt = ${dt} s); snnc's IR has one delay per layer (split the population by delay)`);
  }
  const [d] = steps;
  const off = tau.find((t) => Math.abs(t / dt - d) > WHOLE * Math.max(1, d));
  const pass = d === 0 ? ', so the node is a pass-through' : '';
  if (off !== undefined) warn(node.name, `delay ${off} s is ${+(off / dt).toPrecision(6)} steps at dt = ${dt} s, not a whole number: rounded to ${plural(d, 'step')}${pass}`);
  else if (d === 0) warn(node.name, 'delay 0 s: the node is a pass-through');
  return d;
}

/** Types whose output has the shape of their input. */
const SHAPE_KEEPING = new Set(['Identity', 'Output', 'Scale', 'Delay']);

/**
 * The per-sample shape a not-yet-built neuron or Delay will have (another node of its cycle reads it
 * first): that of a predecessor already built, looking back through shape-keeping nodes; else the row
 * count of an Affine/Linear in front; else the shape of its own per-neuron parameters.
 */
export function expectedShape(g: NirGraph, preds: ReadonlyMap<string, string[]>, known: (node: string) => readonly number[] | undefined, name: string, seen = new Set<string>()): readonly number[] | undefined {
  if (seen.has(name)) return undefined;
  seen.add(name);
  const node = g.nodes.get(name)!;
  const shape = known(name);
  if (shape) return shape;
  const weight = node.params.get('weight')?.shape;
  if ((node.type === 'Affine' || node.type === 'Linear') && weight?.length === 2) return [weight[0]];
  if (!isNeuronType(node.type) && !SHAPE_KEEPING.has(node.type)) return undefined;
  for (const p of preds.get(name)!) {
    const s = expectedShape(g, preds, known, p, seen);
    if (s) return s;
  }
  return [...node.params.values()].find((p) => p.shape.length > 0 && sizeOf(p.shape) > 1)?.shape;
}
