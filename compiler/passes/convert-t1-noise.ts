/**
 * Pass B, T=1 → T=N (conversion.md §6.2, after Jiang & Zhang): a single-step network trained with noise ε
 * on the membrane before the threshold becomes a multi-step IF network that computes, deterministically,
 * the rate the noisy neuron fires with on average:
 *   weights, biases and θ unchanged;  IF (β = 1), reset by subtraction;  v(0) = v0 + E[ε];
 *   the static input repeated each step as a constant current (direct encoding);
 *   output decoded as the mean over the N steps (so logits keep the T=1 scale).
 * With constant input z a layer then emits N(T) = clip(floor((T·z + v(0))/θ), 0, T) spikes (§1.2), i.e.
 * round(T·z/θ)/T for centred noise, within 1/(2T) of the mean-field rate. A leak has no effect at T=1, so a
 * LIF layer becomes IF. The noise record moves from `metadata.noise` to `metadata.conversion.noise`, so a
 * converted model is not converted twice. Pure: returns a new, verified model.
 */
import { badInput } from '../errors.js';
import * as L from '../ir/layers.js';
import { staticValues } from '../ir/graph.js';
import type { SnnModel } from '../ir/model.js';
import type { MembraneNoise } from '../ir/noise.js';
import { verifyModel } from '../ir/verify.js';
import { uniformValue } from '../ir/params.js';
import { tensor } from '../ir/tensor.js';

export interface T1NoiseConversionOptions {
  readonly timesteps: number;
  /** The noise the T=1 model was trained with (its `metadata.noise`, or what the user assumes). */
  readonly noise: MembraneNoise;
}

export function convertT1Noise(model: SnnModel, options: T1NoiseConversionOptions): SnnModel {
  verifyModel(model);
  const where = `model "${model.name}"`;
  if (model.timesteps !== 1) throw badInput(`${where} runs for T=${model.timesteps}; T=1→T=N conversion takes a single-step (T=1) model`);
  if (model.input.encoding.type !== 'direct') throw badInput(`${where} has ${model.input.encoding.type} input encoding; T=1→T=N conversion needs direct (constant-current) input`);
  const noisy = new Set(options.noise.layers ?? model.layers.filter(L.isNeuron).map((l) => l.name));
  for (const name of noisy) {
    const layer = model.layers.find((l) => l.name === name);
    if (!layer || !L.isNeuron(layer)) throw badInput(`${where}: the noise record names layer "${name}", which is not a neuron layer of this model`);
  }
  const statics = staticValues(model);
  const layers = model.layers.map((layer): L.Layer => {
    if ((layer.op === 'maxpool2d' || layer.op === 'gated_maxpool2d') && !statics.has(layer.inputs[0])) {
      throw badInput(`layer "${layer.name}": a max-pool over spikes has no rate-preserving T=N form (the per-step OR over-counts); train with avgpool2d instead`);
    }
    if (!L.isNeuron(layer)) return layer;
    if (layer.recurrent) throw badInput(`layer "${layer.name}": recurrent weights never act at T=1 (s(0) = 0), so a T=N network would run untrained recurrence; remove them`);
    if (layer.model !== 'if' && layer.model !== 'lif') throw badInput(`layer "${layer.name}": ${layer.model} neurons cannot be converted T=1→T=N (the rate argument holds for IF); train with "if" neurons`);
    if (uniformValue(layer.params.r) !== 1 || (layer.model === 'lif' && uniformValue(layer.params.v_leak) !== 0)) throw badInput(`layer "${layer.name}": T=1→T=N conversion takes neurons with input gain r = 1 and no v_leak`);
    const shift = noisy.has(layer.name) ? options.noise.mean : 0;
    const v0 = typeof layer.params.v0 === 'number' ? layer.params.v0 + shift : tensor(layer.params.v0.shape, layer.params.v0.data.map((v) => v + shift));
    return L.neuron('if', { name: layer.name, inputs: layer.inputs, reset: 'subtract', params: { threshold: layer.params.threshold, v0 } });
  });
  const { noise: _moved, ...metadata } = model.metadata;
  const converted: SnnModel = {
    ...model,
    layers,
    timesteps: options.timesteps,
    output: { layer: model.output.layer, decoding: 'mean' },
    metadata: { ...metadata, conversion: { from: 't1-noise', noise: { ...options.noise, layers: [...noisy] }, v0: 'v0 + noise mean', reset: 'subtract', decoding: 'mean' } },
  };
  verifyModel(converted);
  return converted;
}
