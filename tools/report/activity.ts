/**
 * Activity and operation counts of a model on data, following NeuroBench's algorithm-track definitions
 * (peers.md §4), all per sample:
 * - spikes and firing rate of each neuron layer (graded layers: non-zero messages); activation sparsity (zero fraction of every activation
 *   output: spikes, ReLUs) over all steps;
 * - synaptic operations of each connection layer (dense, conv2d, a neuron's recurrent weights) at every
 *   step: Dense = all (weight, input) pairs, Effective = pairs with a non-zero weight and a non-zero
 *   input; bias excluded; counted as ACs when every input value is in {−1, 0, 1}, else MACs. Connection
 *   layers fed by the analog input are the encoding layer, reported separately; connection layers that
 *   read graded spikes (sigma-delta layers) count graded SynOps (payload × weight), also separately;
 *   a burst of n spikes (burst_if layers) counts n ACs per synapse, and n spikes;
 * - membrane updates of neuron layers whose model has a membrane: dense = neurons × T; effective =
 *   neuron-steps whose membrane changed;
 * - connection sparsity (zero weights / weights), parameters and footprint (float32 bytes). A neuron
 *   parameter counts its values (1 for one value per layer) unless it leaves the equations unchanged:
 *   r = 1, v_leak = 0, bias = 0, and v_reset unless the layer resets to it.
 * Pooling, batchnorm, add and concat are not counted (as in NeuroBench).
 */
import type * as L from '../../compiler/ir/layers.js';
import { isNeuron } from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { modelOf } from '../../compiler/ir/neuron-program.js';
import { isBurst, isGraded } from '../../compiler/ir/neurons.js';
import { type Param, paramData, paramLanes, uniformValue } from '../../compiler/ir/params.js';
import { convGeometry } from '../../compiler/ir/shapes.js';
import { drawSynapses, sparseRule } from '../../compiler/ir/connectivity.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { simulate } from '../../compiler/reference/simulator.js';

export interface SynOps {
  /** All (weight, input) pairs per sample. */
  dense: number;
  /** Pairs with a non-zero weight and a non-zero input, per sample. */
  effective: number;
  /** 'graded' if the input is a sigma-delta layer's graded spikes; else 'AC' if every input value was in {−1, 0, 1}, else 'MAC'. */
  kind: 'AC' | 'MAC' | 'graded';
}

/** How a count of SynOps reads: "12 ACs", "12 MACs", "12 graded SynOps". */
export function synopsLabel(s: SynOps, count: string): string {
  return `${count} ${s.kind === 'graded' ? 'graded SynOps' : `${s.kind}s`}`;
}

export interface LayerActivity {
  readonly layer: string;
  readonly op: string;
  readonly neurons: number;
  /** Neuron layers: spikes per sample, and spikes / (neurons · T). */
  spikes?: number;
  firingRate?: number;
  /** Activation layers: fraction of zero outputs over all steps and samples. */
  activationSparsity?: number;
  /** Connection layers (and recurrent weights). */
  synops?: SynOps;
  /** Fed by the analog model input: the encoding layer. */
  encoding?: boolean;
  /** Neuron layers, per sample. */
  membraneUpdates?: { dense: number; effective: number };
  parameters: number;
  zeroWeights: number;
  weights: number;
}

export interface ActivityReport {
  readonly model: string;
  readonly samples: number;
  readonly timesteps: number;
  readonly layers: LayerActivity[];
  readonly totals: {
    spikes: number;
    activationSparsity: number;
    connectionSparsity: number;
    parameters: number;
    footprintBytes: number;
    dense: number;
    effectiveMACs: number;
    effectiveACs: number;
    /** Effective MACs of the encoding layer(s), included in effectiveMACs. */
    encodingMACs: number;
    /** Effective SynOps on graded spikes (sigma-delta layers), not in effectiveMACs. */
    effectiveGradedSynOps: number;
    membraneUpdates: { dense: number; effective: number };
  };
  /** Spike raster of the first sample: per neuron layer, [T, N] bits. */
  readonly raster: Map<string, Uint8Array>;
}

/** A sparse projection's fan-out per source from its drawn synapses: its pairs are its synapses. */
function sparseFanout(nIn: number, drawn: ReturnType<typeof drawSynapses>): { all: Float64Array; nonzero: Float64Array } {
  const all = new Float64Array(nIn);
  const nonzero = new Float64Array(nIn);
  drawn.sources.forEach((s, i) => {
    all[s]++;
    if (drawn.weights[i] !== 0) nonzero[s]++;
  });
  return { all, nonzero };
}

/** Per input element: how many (output, weight) pairs it takes part in, all and with non-zero weight. */
export function fanout(layer: L.Dense | L.Conv2d, inShape: readonly number[], outShape: readonly number[]): { all: Float64Array; nonzero: Float64Array } {
  if (layer.op === 'dense') {
    const [nOut, nIn] = layer.weight.shape;
    const all = new Float64Array(nIn).fill(nOut);
    const nonzero = new Float64Array(nIn);
    for (let o = 0; o < nOut; o++) for (let j = 0; j < nIn; j++) if (layer.weight.data[o * nIn + j] !== 0) nonzero[j]++;
    return { all, nonzero };
  }
  const { C, H, W, OH, OW, KH, KW, cinPG, coutPG, sh, sw, pt, pl } = convGeometry(layer, inShape, outShape);
  const all = new Float64Array(C * H * W);
  const nonzero = new Float64Array(C * H * W);
  // Non-zero output channels per (input channel, ky, kx).
  const nz = new Float64Array(C * KH * KW);
  for (let c = 0; c < C; c++) {
    const g = Math.floor(c / cinPG);
    for (let o = g * coutPG; o < (g + 1) * coutPG; o++) {
      for (let k = 0; k < KH * KW; k++) if (layer.weight.data[(o * cinPG + (c - g * cinPG)) * KH * KW + k] !== 0) nz[c * KH * KW + k]++;
    }
  }
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let ky = 0; ky < KH; ky++) {
          const ty = y + pt - ky;
          if (ty < 0 || ty % sh !== 0 || ty / sh >= OH) continue;
          for (let kx = 0; kx < KW; kx++) {
            const tx = x + pl - kx;
            if (tx < 0 || tx % sw !== 0 || tx / sw >= OW) continue;
            const i = (c * H + y) * W + x;
            all[i] += coutPG;
            nonzero[i] += nz[(c * KH + ky) * KW + kx];
          }
        }
      }
    }
  }
  return { all, nonzero };
}

function recurrentFanout(w: Float32Array, n: number): { all: Float64Array; nonzero: Float64Array } {
  const nonzero = new Float64Array(n);
  for (let o = 0; o < n; o++) for (let j = 0; j < n; j++) if (w[o * n + j] !== 0) nonzero[j]++;
  return { all: new Float64Array(n).fill(n), nonzero };
}

/** Values that leave a neuron's equations as if the parameter were absent. */
const NEUTRAL: Readonly<Record<string, number>> = { r: 1, v_leak: 0, bias: 0 };

/** A neuron layer's parameter values (see the top of the file for what counts). */
function neuronParameters(layer: L.NeuronLayer): number {
  let k = 0;
  for (const [name, p] of Object.entries(layer.params)) {
    if (name === 'v_reset' && layer.reset !== 'to_v_reset') continue;
    if (name in NEUTRAL && uniformValue(p) === NEUTRAL[name]) continue;
    k += paramData(p).length;
  }
  return k;
}

/** The initial value of a neuron layer's membrane (one value, or one per neuron); undefined if its model has none. */
function membraneInit(layer: L.NeuronLayer, shape: readonly number[]): Float32Array | undefined {
  const model = modelOf(layer);
  const init = model.state.find((s) => s.name === model.membrane)?.init;
  if (init === undefined) return undefined;
  return typeof init === 'number' ? Float32Array.of(init) : paramLanes(layer.params[init] as Param, shape);
}

const tensorsOf = (layer: L.Layer) => Object.values(layer).filter((v): v is { data: Float32Array } => !!v && typeof v === 'object' && 'data' in v && (v as { data: unknown }).data instanceof Float32Array);

/** Neuron-steps whose membrane differs from the step before (the first step: from its initial value); v is [T, count, N]. */
function membraneChanges(v: Float32Array, init: Float32Array, count: number, N: number): number {
  const stride = count * N;
  let changed = 0;
  for (let i = 0; i < v.length; i++) if (i < stride ? v[i] !== init[init.length === 1 ? 0 : i % N] : v[i] !== v[i - stride]) changed++;
  return changed;
}

export function measureActivity(model: SnnModel, x: Float32Array, n: number, options: { timesteps?: number; batch?: number } = {}): ActivityReport {
  const shapes = verifyModel(model);
  const T = options.timesteps ?? model.timesteps;
  const batch = options.batch ?? 50;
  const perSample = sizeOf(model.input.shape) * (model.input.encoding.type === 'events' ? T : 1);
  const neurons = model.layers.filter(isNeuron);
  const connections = model.layers.filter((l): l is L.Dense | L.Conv2d | L.Sparse => l.op === 'dense' || l.op === 'conv2d' || l.op === 'sparse');
  const recurrent = neurons.filter((l) => !!l.recurrent);
  const membraneInits = new Map(neurons.map((l) => [l.name, membraneInit(l, shapes.get(l.name)!)]));
  const withMembrane = neurons.filter((l) => membraneInits.get(l.name) !== undefined);
  const activations = model.layers.filter((l) => isNeuron(l) || l.op === 'relu');
  // Layers computed from the analog input alone (before any neuron) feed the encoding layer(s).
  const analog = new Set<string>([INPUT]);
  for (const l of model.layers) if (!isNeuron(l) && l.op !== 'relu' && l.inputs.every((s) => analog.has(s))) analog.add(l.name);
  // Graded spikes of sigma-delta layers, and their flattened or reshaped views.
  const graded = new Set<string>();
  for (const l of model.layers) if ((isNeuron(l) && isGraded(modelOf(l))) || ((l.op === 'flatten' || l.op === 'reshape') && graded.has(l.inputs[0]))) graded.add(l.name);
  // Bursts (spike counts) of burst_if layers, and their pooled, flattened or reshaped views.
  const bursts = new Set<string>();
  const viewsOrPools = ['flatten', 'reshape', 'maxpool2d', 'gated_maxpool2d'];
  for (const l of model.layers) if ((isNeuron(l) && isBurst(modelOf(l))) || (viewsOrPools.includes(l.op) && bursts.has(l.inputs[0]))) bursts.add(l.name);

  // A sparse layer's synapses, drawn once for its fan-out and its weight counts.
  const drawn = new Map(connections.filter((l): l is L.Sparse => l.op === 'sparse').map((l) => [l.name, drawSynapses(sparseRule(l, sizeOf(shapes.get(l.inputs[0])!)))]));
  const fan = new Map(connections.map((l) => [l.name, l.op === 'sparse' ? sparseFanout(sizeOf(shapes.get(l.inputs[0])!), drawn.get(l.name)!) : fanout(l, shapes.get(l.inputs[0])!, shapes.get(l.name)!)]));
  const recFan = new Map(recurrent.map((l) => [l.name, recurrentFanout(l.recurrent!.data, sizeOf(shapes.get(l.name)!))]));
  const rows = new Map<string, LayerActivity>(
    model.layers.map((l) => {
      const tensors = tensorsOf(l);
      const weights = [l.op === 'dense' || l.op === 'conv2d' ? l.weight.data : l.op === 'sparse' ? drawn.get(l.name)!.weights : undefined, isNeuron(l) ? l.recurrent?.data : undefined].filter((t) => t !== undefined);
      return [
        l.name,
        {
          layer: l.name,
          op: isNeuron(l) ? l.model : l.op,
          neurons: sizeOf(shapes.get(l.name)!),
          parameters: tensors.reduce((k, t) => k + t.data.length, 0) + (isNeuron(l) ? neuronParameters(l) : 0) + (l.op === 'sparse' ? weights[0].length : 0),
          weights: weights.reduce((k, w) => k + w.length, 0),
          zeroWeights: weights.reduce((k, w) => k + w.reduce((z, v) => z + (v === 0 ? 1 : 0), 0), 0),
        },
      ];
    }),
  );
  const acc = new Map<string, { dense: number; effective: number; analogInput: boolean }>();
  const zeros = new Map<string, number>();
  const spikes = new Map<string, number>();
  const updates = new Map<string, number>();
  const raster = new Map<string, Uint8Array>();

  const record = [...new Set([...connections.map((l) => l.inputs[0]), ...activations.map((l) => l.name)])];
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const r = simulate(model, x.subarray(start * perSample, (start + count) * perSample), count, {
      timesteps: T,
      sampleOffset: start,
      record,
      membranes: withMembrane.map((l) => l.name),
    });
    for (const l of connections) {
      const values = r.values.get(l.inputs[0])!;
      const f = fan.get(l.name)!;
      const a = acc.get(l.name) ?? { dense: 0, effective: 0, analogInput: false };
      const nIn = f.all.length;
      const counts = bursts.has(l.inputs[0]); // each spike of a burst is one AC per synapse
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const j = i % nIn;
        a.dense += f.all[j];
        if (v !== 0) {
          a.effective += (counts ? v : 1) * f.nonzero[j];
          if (!counts && v !== 1 && v !== -1) a.analogInput = true;
        }
      }
      acc.set(l.name, a);
    }
    for (const l of activations) {
      const values = r.values.get(l.name)!;
      let z = 0;
      let s = 0;
      for (const v of values) {
        if (v === 0) z++;
        else s += v;
      }
      zeros.set(l.name, (zeros.get(l.name) ?? 0) + z);
      if (isNeuron(l)) spikes.set(l.name, (spikes.get(l.name) ?? 0) + (graded.has(l.name) ? values.length - z : s));
    }
    for (const l of recurrent) {
      // Recurrent synapses read the layer's own spikes of the previous step (none at the first step).
      const values = r.values.get(l.name)!;
      const f = recFan.get(l.name)!;
      const N = f.all.length;
      const a = acc.get(`${l.name}.recurrent`) ?? { dense: 0, effective: 0, analogInput: false };
      for (let i = 0; i < values.length - count * N; i++) {
        a.dense += f.all[i % N];
        if (values[i] !== 0) a.effective += f.nonzero[i % N];
      }
      a.dense += count * N * N; // the first step's all-zero input pairs
      acc.set(`${l.name}.recurrent`, a);
    }
    for (const l of withMembrane) updates.set(l.name, (updates.get(l.name) ?? 0) + membraneChanges(r.membranes.get(l.name)!, membraneInits.get(l.name)!, count, sizeOf(shapes.get(l.name)!)));
    for (const l of neurons) {
      const N = sizeOf(shapes.get(l.name)!);
      if (start === 0) {
        const s = r.values.get(l.name)!;
        const bits = new Uint8Array(T * N);
        for (let t = 0; t < T; t++) for (let k = 0; k < N; k++) bits[t * N + k] = s[(t * count + 0) * N + k] !== 0 ? 1 : 0;
        raster.set(l.name, bits);
      }
    }
  }

  const layers: LayerActivity[] = [];
  for (const l of model.layers) {
    const row = rows.get(l.name)!;
    const N = row.neurons;
    if (zeros.has(l.name)) row.activationSparsity = zeros.get(l.name)! / (N * T * n);
    if (isNeuron(l)) {
      row.spikes = spikes.get(l.name)! / n;
      row.firingRate = spikes.get(l.name)! / (N * T * n);
      if (updates.has(l.name)) row.membraneUpdates = { dense: N * T, effective: updates.get(l.name)! / n };
    }
    const a = acc.get(l.name);
    if (a) {
      row.synops = { dense: a.dense / n, effective: a.effective / n, kind: graded.has(l.inputs[0]) ? 'graded' : a.analogInput ? 'MAC' : 'AC' };
      row.encoding = a.analogInput && analog.has(l.inputs[0]);
    }
    layers.push(row);
    const rec = acc.get(`${l.name}.recurrent`);
    if (rec) layers.push({ layer: `${l.name}.recurrent`, op: 'recurrent', neurons: N, parameters: 0, weights: 0, zeroWeights: 0, synops: { dense: rec.dense / n, effective: rec.effective / n, kind: 'AC' } });
  }

  const sum = (f: (r: LayerActivity) => number) => layers.reduce((k, r) => k + f(r), 0);
  const activationTotal = activations.reduce((k, l) => k + rows.get(l.name)!.neurons * T * n, 0);
  const weights = sum((r) => r.weights);
  const parameters = sum((r) => r.parameters);
  return {
    model: model.name,
    samples: n,
    timesteps: T,
    layers,
    totals: {
      spikes: sum((r) => r.spikes ?? 0),
      activationSparsity: activationTotal ? activations.reduce((k, l) => k + zeros.get(l.name)!, 0) / activationTotal : 0,
      connectionSparsity: weights ? Number((sum((r) => r.zeroWeights) / weights).toFixed(4)) : 0,
      parameters,
      footprintBytes: parameters * 4,
      dense: sum((r) => r.synops?.dense ?? 0),
      effectiveMACs: sum((r) => (r.synops?.kind === 'MAC' ? r.synops.effective : 0)),
      effectiveACs: sum((r) => (r.synops?.kind === 'AC' ? r.synops.effective : 0)),
      encodingMACs: sum((r) => (r.encoding && r.synops?.kind === 'MAC' ? r.synops.effective : 0)),
      effectiveGradedSynOps: sum((r) => (r.synops?.kind === 'graded' ? r.synops.effective : 0)),
      membraneUpdates: { dense: sum((r) => r.membraneUpdates?.dense ?? 0), effective: sum((r) => r.membraneUpdates?.effective ?? 0) },
    },
    raster,
  };
}
