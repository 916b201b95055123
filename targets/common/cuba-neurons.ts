/**
 * The neuron models that the chips' current-based LIF neuron runs (a Loihi CUBA compartment, sPyNNaker's
 * IF_curr_exp: a synaptic current decaying by α per step feeding a membrane decaying by β), and how each
 * becomes one: IF is α = 0 (a one-step current) and β = 1 (no leak), LIF is α = 0, CUBA-LIF gives both.
 * Decays are one value per layer (a compartment profile, a population's τ); a parameter that differs
 * between neurons is refused by name with its number of distinct values. Each target lists the models
 * it supports (targets/loihi, targets/spinnaker) and says why it refuses the others; this module knows
 * nothing of any chip's number formats.
 */
import { ExitCode, SnncError } from '../../compiler/errors.js';
import type { NeuronLayer } from '../../compiler/ir/layers.js';
import type { Param } from '../../compiler/ir/params.js';
import { distinctValues, layerValue, paramData, paramValues, uniformValue } from '../../compiler/ir/params.js';

/** The declared models (compiler/ir/neurons.ts) that are current-based LIF neurons. */
export const CUBA_MODELS = ['if', 'lif', 'cuba_lif'] as const;

export interface CubaDecays {
  /** Synaptic-current decay per step (0: the current lasts one step). */
  readonly alpha: number;
  /** Membrane decay per step (1: no leak). */
  readonly beta: number;
}

/** α and β of a layer of a CUBA model; `who` ends the message for a per-neuron value ("… takes one value per layer"). */
export function cubaDecays(layer: NeuronLayer, who: string): CubaDecays {
  switch (layer.model) {
    case 'if':
      return { alpha: 0, beta: 1 };
    case 'lif':
      return { alpha: 0, beta: layerValue(layer, 'beta', who) };
    case 'cuba_lif':
      return { alpha: layerValue(layer, 'alpha', who), beta: layerValue(layer, 'beta', who) };
    default:
      throw new SnncError(`layer "${layer.name}": ${layer.model} neurons are not current-based LIF neurons (${CUBA_MODELS.join(', ')})`, ExitCode.doesNotFit);
  }
}

/** The layer's v_leak per neuron (broadcast to `shape`) if any is non-zero; undefined for 0 or a model without it. */
export function nonZeroLeak(layer: NeuronLayer, shape: readonly number[]): Float32Array | undefined {
  const p = layer.params.v_leak;
  return p !== undefined && !allZero(p) ? paramValues(p, shape) : undefined;
}

/** Whether the membrane after a spike is 0: reset "zero", or "to_v_reset" with every v_reset 0. */
export function resetsToZero(layer: NeuronLayer): boolean {
  return layer.reset === 'zero' || (layer.reset === 'to_v_reset' && allZero(layer.params.v_reset));
}

/** Whether every value of a parameter is 0 (an all-zero bias or v_leak is as good as none). */
export function allZero(p: Param): boolean {
  return Array.prototype.every.call(paramData(p), (x: number) => x === 0);
}

/** A short description of a parameter's values for messages: "0.3", or "7 distinct values". */
export function describeValues(layer: NeuronLayer, name: string): string {
  const p = layer.params[name];
  if (p === undefined) return 'absent';
  const v = uniformValue(p);
  return v === undefined ? `${distinctValues(p)} distinct values` : String(v);
}
