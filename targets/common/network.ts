/**
 * The shape of a quantised network as the neuromorphic targets' quantisers return it: populations and
 * projections in the target's own number formats, the host side of a direct-encoded input, the output
 * population and a per-layer quantisation report. Each target defines its population and projection types.
 */
import type { Decoding, SnnModel } from '../../compiler/ir/model.js';

export interface QuantisationRow {
  readonly layer: string;
  readonly [field: string]: string | number;
}

export interface QuantisedNetwork<Population, Projection> {
  readonly name: string;
  readonly timesteps: number;
  readonly input: SnnModel['input'];
  /**
   * Direct encoding: the static prefix as a model (absent: the preprocessed input itself) whose output
   * the host feeds `population` every step, in the target's units.
   */
  readonly host?: { readonly encoder?: SnnModel; readonly population: string };
  readonly populations: readonly Population[];
  readonly projections: readonly Projection[];
  readonly output: { readonly population: string; readonly decoding: Decoding };
  readonly quantisation: readonly QuantisationRow[];
}
