/**
 * What the chip targets' integer-ONNX lowerings (loihi/onnx.ts, spinnaker/onnx.ts) share: the graph
 * interface they return to the gpu target's packaging, and the graph input (uint8 spikes of a rate- or
 * event-coded input for all S steps, or the host's int32 currents for direct input).
 */
import type { SnnModel } from '../../compiler/ir/model.js';
import { type GraphBuilder, type GraphConstants, int } from './onnx-builder.js';

/** A chip network's integer graph; per-step sequences are time-major [S, B, …]. */
export interface ChipOnnxIO {
  /** Machine steps S: T + the output population's pipeline depth. */
  readonly steps: number;
  /** uint8 spikes [S, B, ...input shape] (rate or event input), or int32 host currents [B, N] (direct input). */
  readonly input: { readonly name: string; readonly dims: number[]; readonly kind: 'spikes' | 'host' };
  /** int32 [S, B, classes]: the output population's spikes, or its membrane (a readout). */
  readonly output: { readonly name: string; readonly dims: number[]; readonly values: 'spikes' | 'v' };
  /** Per probed population: uint8 spikes and the two int32 states its emulator records, each [S, B, N]. */
  readonly probes: { readonly layer: string; readonly spikes: string; readonly u: string; readonly v: string; readonly dims: number[] }[];
}

/** Spike sequences [S, B, n] (uint8) by population name ("input" for the encoded input). */
export type SpikeSequences = Map<string, { readonly value: string; readonly n: number }>;

/** Declares the graph input: host currents for `hostNeurons` neurons, else the input spikes (registered as "input"). */
export function chipGraphInput(g: GraphBuilder, c: GraphConstants, input: SnnModel['input'], S: number, B: number, hostNeurons: number | undefined, spikes: SpikeSequences): { io: ChipOnnxIO['input']; host?: string } {
  if (hostNeurons !== undefined) {
    const host = g.input('host', [B, hostNeurons], 'int32');
    return { io: { name: host, dims: [B, hostNeurons], kind: 'host' }, host };
  }
  const x = g.input('x', [S, B, ...input.shape], 'uint8');
  const n = input.shape.reduce((a, b) => a * b, 1);
  spikes.set('input', { value: g.node('Reshape', [x, c.shape([S, B, n])], 'x_flat'), n });
  return { io: { name: x, dims: [S, B, ...input.shape], kind: 'spikes' } };
}

/**
 * Synapses that deliver a spike of step t at step t + lag, for all S steps at once: `synapses` runs on
 * the source's first S − lag steps (rows (S − lag)·B) and its int32 sums [.., outSize] are moved `lag`
 * steps later, zeros before; undefined when nothing arrives within S steps.
 */
export function delivered(g: GraphBuilder, c: GraphConstants, source: string, lag: number, S: number, B: number, outSize: number, hint: string, synapses: (early: string, rows: number) => string): string | undefined {
  if (lag >= S) return undefined;
  const early = g.node('Slice', [source, g.constInt64('start', [0]), g.constInt64('end', [S - lag]), c.axes([0])], `${hint}_early`);
  const sums = g.node('Reshape', [synapses(early, (S - lag) * B), c.shape([S - lag, B, outSize])], `${hint}_sum`);
  return g.node('Concat', [c.fill(`${hint}_wait`, [lag, B, outSize], 0), sums], `${hint}_arrived`, { axis: int(0) });
}

/**
 * How many leading steps of each population anything observable reads: all S for the output population
 * and the probed ones; else the most any consumer reads, `lag` steps earlier (a spike of step t reaches
 * it at step t + lag), at least 1. The lowerings compute only these steps: the later ones reach no
 * output within the S steps.
 */
export function observedSteps<P extends { readonly source: string; readonly target: string }>(
  populations: readonly { readonly name: string }[],
  projections: readonly P[],
  S: number,
  observed: readonly string[],
  lag: (p: P) => number,
): Map<string, number> {
  const steps = new Map(populations.map((p) => [p.name, observed.includes(p.name) ? S : 1]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of projections) {
      if (p.source === p.target || !steps.has(p.source)) continue;
      const reads = Math.min(S, steps.get(p.target)! - lag(p));
      if (reads > steps.get(p.source)!) {
        steps.set(p.source, reads);
        changed = true;
      }
    }
  }
  return steps;
}
