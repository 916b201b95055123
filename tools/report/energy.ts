/**
 * Energy estimates from operation counts (peers.md §5): E = E_MAC·MACs + E_AC·ACs + E_neuron·membrane
 * updates, per sample, for a table of devices. The encoding layer (analog input, counted as MACs) is
 * priced separately: neuromorphic chips quote no MAC energy, so their encoding MACs are priced at
 * Horowitz's 45 nm fp32 MAC and flagged as computed off-chip. Graded SynOps (a sigma-delta layer's
 * payload × weight) run on the chip's synapses: priced at the device's MAC figure, or, for a chip
 * without one, at its SynOp (AC) figure — an assumption, as no chip publishes a per-payload energy.
 * Memory traffic and static power are not modelled (they often dominate; the report says so).
 */
import { readInputText } from '../../compiler/io/read-file.js';
import { badInput } from '../../compiler/errors.js';
import type { ActivityReport } from './activity.js';

export interface EnergyModel {
  readonly name: string;
  readonly source: string;
  /** Joules per multiply-accumulate; absent for chips that only do synaptic accumulates. */
  readonly mac?: number;
  /** Joules per accumulate (synaptic operation on a spike). */
  readonly ac: number;
  /** Joules per membrane update. */
  readonly neuron: number;
}

export const HOROWITZ_MAC = 4.6e-12;

export const ENERGY_MODELS: readonly EnergyModel[] = [
  { name: 'horowitz-45nm', source: 'Horowitz, ISSCC 2014: fp32 MAC 4.6 pJ, add 0.9 pJ; neuron updates not modelled', mac: HOROWITZ_MAC, ac: 0.9e-12, neuron: 0 },
  { name: 'loihi', source: 'KerasSpiking table (Davies et al. 2018): 27.1 pJ per synop (23.6 + 3.5), 81 pJ per neuron update', ac: 27.1e-12, neuron: 81e-12 },
  { name: 'spinnaker1', source: 'KerasSpiking table (Höppner et al. 2019): 13.3 nJ per synop, 26 nJ per neuron update', ac: 13.3e-9, neuron: 26e-9 },
  { name: 'spinnaker2', source: 'KerasSpiking table: 450 pJ per synop, 2.19 nJ per neuron update', ac: 450e-12, neuron: 2.19e-9 },
];

export interface EnergyEstimate {
  readonly device: string;
  readonly source: string;
  /** Joules per sample. */
  readonly synaptic: number;
  readonly neuron: number;
  /** The encoding layer's MACs (and any other MACs). */
  readonly macs: number;
  readonly total: number;
  /** True when the device has no MAC figure and the MACs were priced at Horowitz's. */
  readonly macsOffChip: boolean;
  /** Graded SynOps (sigma-delta): at the device's MAC figure, or, for a chip with none, at its SynOp (AC) figure. */
  readonly graded: number;
}

export function estimateEnergy(activity: ActivityReport, models: readonly EnergyModel[] = ENERGY_MODELS): EnergyEstimate[] {
  const t = activity.totals;
  return models.map((m) => {
    const synaptic = t.effectiveACs * m.ac;
    const neuron = t.membraneUpdates.effective * m.neuron;
    const macs = t.effectiveMACs * (m.mac ?? HOROWITZ_MAC);
    const graded = t.effectiveGradedSynOps * (m.mac ?? m.ac);
    return { device: m.name, source: m.source, synaptic, neuron, macs, graded, total: synaptic + neuron + macs + graded, macsOffChip: m.mac === undefined };
  });
}

/** A user energy table: a JSON object {name, mac?, ac, neuron, source?} or a list of them (joules per op). */
export function readEnergyModels(path: string): EnergyModel[] {
  const text = readInputText(path, 'an energy table');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw badInput(`${path}: cannot read an energy table (${(e as Error).message})`);
  }
  const list = Array.isArray(doc) ? doc : [doc];
  return list.map((m, i) => {
    const where = `${path}: entry ${i}`;
    if (!m || typeof m !== 'object') throw badInput(`${where}: expected an object {name, ac, neuron, mac?}`);
    const { name, mac, ac, neuron, source } = m as Record<string, unknown>;
    if (typeof name !== 'string' || !name) throw badInput(`${where}: "name" must be a non-empty string`);
    for (const [k, v] of [['ac', ac], ['neuron', neuron], ['mac', mac]] as const) {
      if ((k !== 'mac' || v !== undefined) && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw badInput(`${where} ("${name}"): "${k}" must be a non-negative number of joules per operation`);
    }
    return { name, mac: mac as number | undefined, ac: ac as number, neuron: neuron as number, source: typeof source === 'string' ? source : 'user table' };
  });
}
