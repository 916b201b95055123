/**
 * The model as the chips' quantisers take it: an average pool or per-channel scale read by a dense or
 * conv folded into its weights (compiler/passes/fold-pool.ts), consecutive linear layers folded into one
 * (compiler/passes/fold-linear.ts: a chip's synapses read spikes only, and a linear layer feeding
 * another is one linear map), and recurrence as the chips map it, a neuron layer's recurrent
 * projection onto itself. A model that writes recurrence as an edge (a dense layer reading the neuron
 * at the previous step, added into its input) is rewritten into that form
 * (compiler/passes/recurrence-as-weights.ts); a sparse projection onto the neuron itself stays an edge;
 * any other read of an earlier step (a longer cycle) is refused by name, exit 3. A synaptic bias into a
 * decaying current (CUBA-LIF) becomes synapses from an always-on neuron (compiler/passes/current-bias.ts):
 * the chips add constants to the membrane only.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { consumers, laterReads } from '../../compiler/ir/graph.js';
import { type Layer, isNeuron } from '../../compiler/ir/layers.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { recurrenceAsWeights } from '../../compiler/passes/recurrence-as-weights.js';
import { runPasses } from '../../compiler/passes/pipeline.js';
import { foldLinear } from '../../compiler/passes/fold-linear.js';
import { foldPool } from '../../compiler/passes/fold-pool.js';
import { currentBiasAsSpikes } from '../../compiler/passes/current-bias.js';

export function chipGraph(model: SnnModel, target: string): SnnModel {
  const folded = runPasses(model, [foldPool, foldLinear, recurrenceAsWeights, currentBiasAsSpikes]);
  const cycle = laterReads(folded.layers).find((e) => e.src.op !== 'delay' && !isSparseSelfRecurrence(folded, e.layer, e.src));
  if (cycle) {
    throw new SnncError(`layer "${cycle.layer.name}" reads "${cycle.src.name}" at the previous step (a cycle): ${target} maps recurrence only as a neuron's recurrent weight (a dense layer without bias from the neuron into an add that feeds it)`, ExitCode.doesNotFit);
  }
  return folded;
}

/**
 * A sparse projection from a neuron layer back onto itself (read at the previous step, into the neuron's
 * input directly or through the add that is its input): kept as a projection, which a target maps with
 * a one-step delay (targets that take no sparse rule refuse it by name).
 */
function isSparseSelfRecurrence(model: SnnModel, layer: Layer, src: Layer): boolean {
  if (layer.op !== 'sparse') return false;
  const input = isNeuron(src) ? src.inputs[0] : undefined;
  if (input === layer.name) return true;
  const add = model.layers.find((l) => l.name === input);
  return add?.op === 'add' && add.inputs.includes(layer.name) && consumers(model).get(layer.name)!.length === 1;
}
