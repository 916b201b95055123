/**
 * The IR verifier: checks every invariant a pass or target may rely on, and returns the inferred
 * shapes. Frontends call it on what they build and `runPasses` calls it after every pass, so a
 * broken model is reported where it was made. It never changes the model.
 */
import { badInput } from '../errors.js';
import { ancestors } from './graph.js';
import { isNeuron } from './layers.js';
import { INPUT, type SnnModel } from './model.js';
import { type ShapeMap, inferShapes } from './shapes.js';
import { shapeToString } from './tensor.js';

export function verifyModel(model: SnnModel): ShapeMap {
  const where = `model "${model.name}"`;
  if (!Number.isInteger(model.timesteps) || model.timesteps < 1) throw badInput(`${where}: timesteps must be a positive integer, got ${model.timesteps}`);
  if (!(Number.isFinite(model.dt) && model.dt > 0)) throw badInput(`${where}: dt must be a positive number of seconds, got ${model.dt}`);
  if (model.input.shape.length === 0 || !model.input.shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw badInput(`${where}: input shape must be a non-empty list of positive integers, got ${shapeToString(model.input.shape)}`);
  }
  const p = model.input.preprocess;
  const channels = model.input.shape[0];
  for (const [field, values] of [['mean', p.mean], ['std', p.std]] as const) {
    if (values.length !== 1 && values.length !== channels) {
      throw badInput(`${where}: input preprocess ${field} must have 1 value or one per channel (${channels}), got ${values.length}`);
    }
  }
  if (!Number.isFinite(p.scale) || ![...p.mean, ...p.std].every(Number.isFinite) || p.std.some((s) => s === 0)) {
    throw badInput(`${where}: input preprocess scale, mean and std must be finite, and std non-zero`);
  }

  const seen = new Set<string>([INPUT]);
  for (const layer of model.layers) {
    if (seen.has(layer.name)) {
      throw badInput(layer.name === INPUT ? `${where}: "${INPUT}" is reserved for the model input and cannot name a layer` : `${where}: two layers are named "${layer.name}"`);
    }
    for (const src of layer.inputs) {
      if (!seen.has(src)) {
        const later = model.layers.some((l) => l.name === src);
        throw badInput(
          later
            ? `layer "${layer.name}": input "${src}" is defined later; layers must be listed so that each reads only earlier ones (cycles are not supported: use a neuron's "recurrent" weight)`
            : `layer "${layer.name}": input "${src}" is not a layer of the model`,
        );
      }
    }
    seen.add(layer.name);
  }
  const shapes = inferShapes(model);

  const out = model.layers.find((l) => l.name === model.output.layer);
  if (!out) throw badInput(`${where}: output layer "${model.output.layer}" is not a layer of the model`);
  if ((model.output.decoding === 'spike_count' || model.output.decoding === 'mean_membrane') && !isNeuron(out)) {
    throw badInput(`${where}: decoding "${model.output.decoding}" needs a neuron output layer, but "${out.name}" is ${out.op}`);
  }
  if (model.input.encoding.type === 'rate' && !Number.isInteger(model.input.encoding.seed)) {
    throw badInput(`${where}: rate encoding needs an integer seed`);
  }

  // Every layer must contribute to the output: nothing implicit, nothing computed for nothing.
  const live = ancestors(model, out.name);
  const dead = model.layers.filter((l) => !live.has(l.name)).map((l) => l.name);
  if (dead.length > 0) throw badInput(`${where}: layer(s) ${dead.map((n) => `"${n}"`).join(', ')} do not contribute to the output "${out.name}"`);
  return shapes;
}
