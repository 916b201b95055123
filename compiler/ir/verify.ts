/**
 * The IR verifier: checks every invariant a pass or target may rely on, and returns the inferred
 * shapes. Frontends call it on what they build and `runPasses` calls it after every pass, so a
 * broken model is reported where it was made. It never changes the model.
 */
import { badInput } from '../errors.js';
import { ancestors, earlyRead, evaluationOrder } from './graph.js';
import { isNeuron } from './layers.js';
import { neuronModel } from './neurons.js';
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

  const names = new Map<string, number>([[INPUT, -1]]);
  model.layers.forEach((layer, i) => {
    if (names.has(layer.name)) {
      throw badInput(layer.name === INPUT ? `${where}: "${INPUT}" is reserved for the model input and cannot name a layer` : `${where}: two layers are named "${layer.name}"`);
    }
    names.set(layer.name, i);
  });
  for (const layer of model.layers) {
    const src = layer.inputs.find((n) => !names.has(n));
    if (src !== undefined) throw badInput(`layer "${layer.name}": input "${src}" is not a layer of the model`);
  }
  const early = earlyRead(model.layers);
  if (early) {
    evaluationOrder(model.layers); // names the layers of a zero-delay cycle, if that is the cause
    throw badInput(`layer "${early.layer.name}": input "${early.src.name}" is listed later and is neither a neuron nor a delay, so its value is not known yet at this step (list layers in evaluation order)`);
  }
  const shapes = inferShapes(model);

  const out = model.layers.find((l) => l.name === model.output.layer);
  if (!out) throw badInput(`${where}: output layer "${model.output.layer}" is not a layer of the model`);
  const outModel = isNeuron(out) ? neuronModel(out.model) : undefined;
  if (model.output.decoding === 'spike_count' && !outModel?.fire) {
    throw badInput(`${where}: decoding "spike_count" needs a spiking output layer, but "${out.name}" is ${outModel ? `${outModel.name} (non-spiking)` : out.op}`);
  }
  if (model.output.decoding === 'mean_membrane' && !outModel?.membrane) {
    throw badInput(`${where}: decoding "mean_membrane" needs a neuron output layer with a membrane, but "${out.name}" is ${outModel ? `${outModel.name} neurons` : out.op}`);
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
