/**
 * The recurrent weight and bias of a neuron ⇄ Affine/Linear self-loop (compiler/nir/topology.ts finds
 * the pairs), as IR tensors.
 */
import { badInput } from '../../errors.js';
import { type Tensor, tensor } from '../../ir/tensor.js';
import { type NirNode, toNumbers } from './graph.js';

/** The recurrent weight [n, n] of a neuron ⇄ Affine/Linear pair, for a layer of n neurons. */
export function recurrentWeight(rec: NirNode, n: number, where: string): Tensor {
  const w = toNumbers(rec.params.get('weight')?.value);
  if (w.length !== n * n) throw badInput(`${where}: recurrent weights of "${rec.name}" have ${w.length} values for ${n} neurons`);
  return tensor([n, n], Float32Array.from(w));
}

/** The recurrent Affine's bias, when it has a non-zero one. */
export function recurrentBias(rec: NirNode): Float32Array | undefined {
  const b = toNumbers(rec.params.get('bias')?.value);
  return b.some((x) => x !== 0) ? Float32Array.from(b) : undefined;
}
