/**
 * Layer-wise calibration of a converted SNN for a short run of T steps (after Li et al. 2021, "A free
 * lunch from ANN: towards efficient, accurate spiking neural networks calibration", bias/"light"
 * calibration): a pure pass from the converted SNN, the prepared ANN it came from (Calibrated.ann, whose
 * layer names the conversion keeps) and calibration data to a new SNN.
 *
 * Layer by layer, in network order, the SNN (earlier layers already corrected) runs for T steps on the
 * calibration samples and each channel's mean decoded output is compared with the ANN's mean activation
 * there:
 *   - a neuron layer (a converted ReLU, spikes worth λ):  e[c] = mean(a_ANN) − λ[c]·mean(N/T),
 *   - the readout (a weighted layer, ANN units):           e[c] = mean(y_ANN) − mean(SNN output per step).
 * The error is added to the input current of that channel: per step in the bias of the weighted layer
 * that feeds it (through max/avg pools and per-channel rescales), in the SNN's θ-normalised units
 * (one unit of current is worth λ/θ of the ANN value):  b[c] += e[c]·θ[c]/λ[c]  (`where: 'bias'`),
 * or once, as T times that, in the neuron's initial membrane v(0)[c] (`where: 'v0'`, neuron layers only;
 * the readout always takes it in its bias). A layer is measured and corrected `iterations` times
 * (clipping makes the response to a shift non-linear). The readout correction is optional.
 *
 * Optionally (`hidden: 'weights'`), before its mean correction, the conv2d/dense layer that feeds a neuron
 * layer and reads spikes is refitted by ridge regression (pulled towards the converted weights) of the
 * ANN's pre-activations there, in the SNN's current units (value·θ/λ), on the SNN's mean input rates over
 * the T steps (im2col patches for a conv): the readout refit, generalised to hidden layers. A layer fed by
 * the network's input is left alone (its input current is already exact).
 *
 * Everything runs in the reference simulator (float32, deterministic); the result depends only on its
 * inputs. The per-layer mean errors before and after are returned, and recorded in the model's metadata.
 */
import { badInput } from '../errors.js';
import * as L from '../ir/layers.js';
import { consumers } from '../ir/graph.js';
import { type SnnModel, averagesOverTime } from '../ir/model.js';
import { paramValues } from '../ir/params.js';
import { sizeOf, tensor } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import { simulate } from '../reference/simulator.js';

export interface LayerCalibrationOptions {
  /** The T the network will run for (the calibration runs it for exactly these steps). */
  readonly timesteps: number;
  /** Where a neuron layer's correction goes: the feeding layer's bias (per step), or v(0) (once). Default 'bias'. */
  readonly where?: 'bias' | 'v0';
  /** Measure-and-correct rounds per layer (default 2). */
  readonly iterations?: number;
  /**
   * The readout layer (a dense layer in ANN units): 'bias' adds the mean error per class to its bias;
   * 'weights' refits weights and bias by ridge regression of the ANN's outputs on the SNN's mean input
   * rates over the T steps, pulled towards the converted weights (strength `ridge`); 'none' leaves it.
   * Default 'bias'.
   */
  readonly readout?: 'bias' | 'weights' | 'none';
  /** Ridge strength for readout 'weights', relative to the mean diagonal of the feature Gram matrix (default 0.01). */
  readonly ridge?: number;
  /**
   * Hidden layers: 'weights' first refits the weights and bias of each conv2d/dense layer that feeds a neuron
   * layer directly and reads spikes (not the network input) by ridge regression of the ANN's pre-activations
   * (in the SNN's θ-normalised current units) on the SNN's mean input rates over the T steps, pulled towards
   * the converted weights (strength `hiddenRidge`), then applies the `iterations` mean-error corrections;
   * 'none' (default) only corrects the mean.
   */
  readonly hidden?: 'weights' | 'none';
  /** Ridge strength for hidden 'weights' (relative as for `ridge`; default `ridge`). */
  readonly hiddenRidge?: number;
  /** Simulator batch (default 100). */
  readonly batch?: number;
  /** Global index of the first calibration sample (seeds a rate encoder; default 0). */
  readonly sampleOffset?: number;
  readonly onProgress?: (layer: string, round: number) => void;
}

/** Per calibrated layer: the per-channel mean error (ANN units) before the first and after the last correction. */
export interface LayerCalibrationReport {
  readonly layer: string;
  readonly before: number[];
  readonly after: number[];
}

export interface LayerCalibrationResult {
  readonly snn: SnnModel;
  readonly layers: LayerCalibrationReport[];
}

/** Mean per channel of a [rows, C·per] block of values (per-sample shape's first axis = channel). */
function channelMeans(values: ArrayLike<number>, size: number, channels: number): Float64Array {
  const per = size / channels;
  const sums = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) sums[Math.floor((i % size) / per)] += values[i];
  const rows = values.length / size;
  return sums.map((s) => s / (rows * per));
}

/** Where a correction of a neuron layer's input current per channel lands: a weighted layer's bias, times a gain. */
interface Feed {
  readonly layer: string;
  /** Per channel of the neuron: bias change per unit of input-current change. */
  readonly gain: Float64Array;
}

function feedOf(model: SnnModel, neuron: string, channels: number): Feed | undefined {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const readers = consumers(model);
  const gain = new Float64Array(channels).fill(1);
  let cur = byName.get(byName.get(neuron)!.inputs[0]);
  for (;;) {
    if (!cur || readers.get(cur.name)!.length !== 1) return undefined;
    switch (cur.op) {
      case 'conv2d':
      case 'dense':
        return { layer: cur.name, gain };
      case 'maxpool2d':
      case 'avgpool2d':
        break;
      case 'batchnorm':
        for (let c = 0; c < channels; c++) gain[c] /= cur.scale.data[c];
        break;
      default:
        return undefined;
    }
    cur = byName.get(cur.inputs[0]);
  }
}

function lambdaOf(snn: SnnModel, layer: string, channels: number): Float64Array {
  const conv = (snn.metadata as { conversion?: { layers?: Record<string, { lambda: number | number[] }> } } | undefined)?.conversion;
  const entry = conv?.layers?.[layer];
  if (!entry) throw badInput(`layer calibration: the SNN records no activation scale λ for "${layer}" (metadata.conversion.layers); calibrate a model made by ANN conversion`);
  const l = entry.lambda;
  return Float64Array.from({ length: channels }, (_, c) => (typeof l === 'number' ? l : l[l.length === 1 ? 0 : c]));
}

/** Adds delta[c] to the bias of a conv2d/dense layer (creating a zero bias if it has none). */
function withBias(layer: L.Conv2d | L.Dense, delta: Float64Array): L.Conv2d | L.Dense {
  const outC = layer.weight.shape[0];
  const bias = new Float32Array(outC);
  for (let o = 0; o < outC; o++) bias[o] = (layer.bias ? layer.bias.data[o] : 0) + delta[o];
  const b = tensor([outC], bias);
  return layer.op === 'dense' ? L.dense({ ...layer, bias: b }) : L.conv2d({ ...layer, bias: b });
}

/** Adds delta[c] to a neuron layer's v(0), one value per channel ([C, 1, 1] for a [C, H, W] layer). */
function withV0(layer: L.NeuronLayer, shape: readonly number[], delta: Float64Array): L.NeuronLayer {
  const C = shape[0];
  const per = sizeOf(shape) / C;
  const old = paramValues(layer.params.v0, shape);
  const v0 = new Float32Array(C);
  for (let c = 0; c < C; c++) v0[c] = old[c * per] + delta[c];
  for (let i = 0; i < old.length; i++) if (old[i] !== old[Math.floor(i / per) * per]) throw badInput(`layer calibration: "${layer.name}" has v(0) varying within a channel`);
  const t = tensor([C, ...shape.slice(1).map(() => 1)], v0);
  return L.neuron(layer.model, { name: layer.name, inputs: layer.inputs, params: { ...layer.params, v0: t }, reset: layer.reset, recurrent: layer.recurrent });
}

/**
 * Layer-wise calibration (see the file comment). `ann` is the prepared ANN the SNN was converted from
 * (same layer names); `x` holds `n` raw calibration samples.
 */
export function calibrateLayers(snn: SnnModel, ann: SnnModel, x: Float32Array, n: number, options: LayerCalibrationOptions): LayerCalibrationResult {
  const shapes = verifyModel(snn);
  const annShapes = verifyModel(ann);
  const T = options.timesteps;
  if (!(Number.isInteger(T) && T >= 1)) throw badInput(`layer calibration: timesteps must be a positive integer, got ${T}`);
  if (n < 1) throw badInput('layer calibration needs at least one calibration sample');
  const per = sizeOf(snn.input.shape);
  if (x.length !== n * per) throw badInput(`layer calibration: ${x.length} values for ${n} samples of ${per}`);
  const batch = options.batch ?? 100;
  const rounds = options.iterations ?? 2;
  const where = options.where ?? 'bias';

  // The targets, in network order: neuron layers that were ReLUs in the ANN, then the readout.
  interface Target {
    readonly name: string;
    readonly kind: 'neuron' | 'readout';
    readonly channels: number;
    readonly unit: Float64Array; // ANN value of one spike per step (neuron) or of one output unit (readout)
  }
  const annNames = new Set(ann.layers.map((l) => l.name));
  const targets: Target[] = [];
  for (const layer of snn.layers) {
    if (!L.isNeuron(layer) || !annNames.has(layer.name)) continue;
    const C = shapes.get(layer.name)![0];
    targets.push({ name: layer.name, kind: 'neuron', channels: C, unit: lambdaOf(snn, layer.name, C) });
  }
  const out = snn.layers.find((l) => l.name === snn.output.layer)!;
  const readout = options.readout ?? 'bias';
  if (readout === 'weights' && out.op !== 'dense') throw badInput(`layer calibration: readout 'weights' needs a dense readout layer, "${out.name}" is ${out.op}`);
  if (readout !== 'none' && (out.op === 'dense' || out.op === 'conv2d') && annNames.has(out.name)) {
    targets.push({ name: out.name, kind: 'readout', channels: shapes.get(out.name)![0], unit: new Float64Array(shapes.get(out.name)![0]).fill(1) });
  }
  for (const t of targets) {
    const s = annShapes.get(t.name);
    if (!s || sizeOf(s) !== sizeOf(shapes.get(t.name)!)) throw badInput(`layer calibration: layer "${t.name}" has different shapes in the SNN and the ANN`);
  }

  // Hidden layers to refit: a conv2d or dense layer that is a neuron target's direct input, reads
  // another layer (spikes, not the network's input) and exists with the same shape in the ANN.
  const hidden = new Map<string, string>(); // neuron target → its feeding layer
  if ((options.hidden ?? 'none') === 'weights') {
    const byName = new Map(snn.layers.map((l) => [l.name, l]));
    const readers = consumers(snn);
    for (const t of targets) {
      if (t.kind !== 'neuron') continue;
      const feed = byName.get(byName.get(t.name)!.inputs[0]);
      if (!feed || (feed.op !== 'conv2d' && feed.op !== 'dense') || readers.get(feed.name)!.length !== 1) continue;
      if (!byName.has(feed.inputs[0]) || !annNames.has(feed.name) || sizeOf(annShapes.get(feed.name)!) !== sizeOf(shapes.get(feed.name)!)) continue;
      hidden.set(t.name, feed.name);
    }
  }
  const annPre = new Map([...hidden.values()].map((f) => [f, new Float32Array(n * sizeOf(shapes.get(f)!))]));

  // The ANN's mean activation per channel at every target (one run).
  const annSum = new Map(targets.map((t) => [t.name, new Float64Array(t.channels)]));
  const outSize = sizeOf(shapes.get(out.name)!);
  const annOut = new Float32Array(readout === 'weights' ? n * outSize : 0);
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const r = simulate(ann, x.subarray(start * per, (start + count) * per), count, { timesteps: 1, record: [...targets.map((t) => t.name), ...annPre.keys()] });
    if (readout === 'weights') annOut.set(r.values.get(out.name)!, start * outSize);
    for (const [f, z] of annPre) z.set(r.values.get(f)!, start * sizeOf(shapes.get(f)!));
    for (const t of targets) {
      const m = channelMeans(r.values.get(t.name)!, sizeOf(annShapes.get(t.name)!), t.channels);
      const acc = annSum.get(t.name)!;
      for (let c = 0; c < t.channels; c++) acc[c] += m[c] * count;
    }
  }
  const annMean = new Map([...annSum].map(([k, s]) => [k, s.map((v) => v / n)]));

  /** The SNN's mean decoded value per channel (ANN units) at every target, over the calibration set (one run per model). */
  let measured: { model: SnnModel; means: Map<string, Float64Array> } | undefined;
  const measure = (model: SnnModel): Map<string, Float64Array> => {
    if (measured?.model === model) return measured.means;
    const sums = new Map(targets.map((t) => [t.name, new Float64Array(t.channels)]));
    const neuronTargets = targets.filter((t) => t.kind === 'neuron').map((t) => t.name);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const chunk = x.subarray(start * per, (start + count) * per);
      const r = simulate(model, chunk, count, { timesteps: T, sampleOffset: (options.sampleOffset ?? 0) + start, record: neuronTargets });
      for (const target of targets) {
        const size = sizeOf(shapes.get(target.name)!);
        let m: Float64Array;
        if (target.kind === 'neuron') m = channelMeans(r.values.get(target.name)!, size, target.channels); // mean spikes per step (a burst counts its spikes)
        else {
          m = channelMeans(r.output, size, target.channels);
          if (!averagesOverTime(model.output.decoding)) m = m.map((v) => v / T);
        }
        const sum = sums.get(target.name)!;
        for (let c = 0; c < target.channels; c++) sum[c] += m[c] * target.unit[c] * count;
      }
    }
    const means = new Map([...sums].map(([k, v]) => [k, v.map((s) => s / n)]));
    measured = { model, means };
    return means;
  };
  const snnMean = (model: SnnModel, target: Target): Float64Array => measure(model).get(target.name)!;

  /**
   * A conv2d/dense layer refitted by ridge regression of `z` on the SNN's mean input rates (im2col patches
   * for a conv, one regression per group), pulled towards its converted weights. For a hidden layer z is
   * the ANN's pre-activations there, already in current units (value·θ/λ per output channel); for the
   * dense readout, the ANN's outputs.
   */
  const refitByRidge = (model: SnnModel, layer: L.Conv2d | L.Dense, z: Float32Array, alphaRel: number): L.Conv2d | L.Dense => {
    const inShape = shapes.get(layer.inputs[0])!;
    const outShape = shapes.get(layer.name)!;
    const outSize = sizeOf(outShape);
    const inSize = sizeOf(inShape);
    const nOut = layer.weight.shape[0];
    const nIn = layer.weight.data.length / nOut; // per output channel: (Cin/groups)·kh·kw (conv) or inputs (dense)
    const G = layer.op === 'conv2d' ? layer.groups : 1;
    const nOutG = nOut / G;
    const d = nIn + 1;
    // One regression per group (a grouped conv's output channels read only their group's input channels).
    const grams = Array.from({ length: G }, () => new Float64Array(d * d));
    const rhss = Array.from({ length: G }, () => new Float64Array(d * nOutG));
    // Patch geometry.
    const isConv = layer.op === 'conv2d';
    const [Cin, H, W] = isConv ? inShape : [inSize, 1, 1];
    const [, Ho, Wo] = isConv ? outShape : [nOut, 1, 1];
    const Cg = Cin / G;
    const kh = isConv ? layer.weight.shape[2] : 1;
    const kw = isConv ? layer.weight.shape[3] : 1;
    const [sh, sw] = isConv ? layer.stride : [1, 1];
    const [dh, dw] = isConv ? (layer.dilation ?? [1, 1]) : [1, 1];
    const [pt, pl] = isConv ? layer.padding : [0, 0];
    const rates = new Float64Array(inSize);
    const idx = new Int32Array(d);
    const val = new Float64Array(d);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const r = simulate(model, x.subarray(start * per, (start + count) * per), count, { timesteps: T, sampleOffset: (options.sampleOffset ?? 0) + start, record: [layer.inputs[0]] });
      const v = r.values.get(layer.inputs[0])!;
      for (let b = 0; b < count; b++) {
        rates.fill(0);
        for (let t = 0; t < T; t++) for (let i = 0; i < inSize; i++) rates[i] += v[(t * count + b) * inSize + i];
        for (let i = 0; i < inSize; i++) rates[i] /= T;
        const zb = (start + b) * outSize;
        for (let g = 0; g < G; g++) {
          const gram = grams[g];
          const rhs = rhss[g];
          for (let oy = 0; oy < Ho; oy++) {
            for (let ox = 0; ox < Wo; ox++) {
              let nnz = 0;
              for (let c = 0; c < Cg; c++) {
                for (let u = 0; u < kh; u++) {
                  const iy = oy * sh - pt + u * dh;
                  if (iy < 0 || iy >= H) continue;
                  for (let w = 0; w < kw; w++) {
                    const ix = ox * sw - pl + w * dw;
                    if (ix < 0 || ix >= W) continue;
                    const f = rates[((g * Cg + c) * H + iy) * W + ix];
                    if (f !== 0) {
                      idx[nnz] = (c * kh + u) * kw + w;
                      val[nnz++] = f;
                    }
                  }
                }
              }
              idx[nnz] = nIn;
              val[nnz++] = 1;
              const pos = oy * Wo + ox;
              for (let p = 0; p < nnz; p++) {
                const row = idx[p] * d;
                const vp = val[p];
                for (let q = 0; q < nnz; q++) gram[row + idx[q]] += vp * val[q];
                const rrow = idx[p] * nOutG;
                for (let o = 0; o < nOutG; o++) rhs[rrow + o] += vp * z[zb + (g * nOutG + o) * Ho * Wo + pos];
              }
            }
          }
        }
      }
    }
    const weight = new Float32Array(nOut * nIn);
    const bias = new Float32Array(nOut);
    for (let g = 0; g < G; g++) {
      const gram = grams[g];
      const rhs = rhss[g];
      let diag = 0;
      for (let i = 0; i < nIn; i++) diag += gram[i * d + i];
      const alpha = alphaRel * (diag / nIn || 1);
      for (let i = 0; i < nIn; i++) {
        gram[i * d + i] += alpha;
        for (let o = 0; o < nOutG; o++) rhs[i * nOutG + o] += alpha * layer.weight.data[(g * nOutG + o) * nIn + i];
      }
      const theta = solveSpd(gram, rhs, d, nOutG);
      for (let o = 0; o < nOutG; o++) {
        for (let i = 0; i < nIn; i++) weight[(g * nOutG + o) * nIn + i] = theta[i * nOutG + o];
        bias[g * nOutG + o] = theta[nIn * nOutG + o];
      }
    }
    const wt = tensor(layer.weight.shape, weight);
    const bt = tensor([nOut], bias);
    return layer.op === 'dense' ? L.dense({ ...layer, weight: wt, bias: bt }) : L.conv2d({ ...layer, weight: wt, bias: bt });
  };

  let model = snn;
  const report: LayerCalibrationReport[] = [];
  for (const target of targets) {
    const want = annMean.get(target.name)!;
    let before: number[] | undefined;
    let error: Float64Array = new Float64Array(target.channels);
    const feedName = hidden.get(target.name);
    if (feedName) {
      const got = snnMean(model, target);
      before = [...want.map((a, c) => a - got[c])];
      options.onProgress?.(target.name, 0);
      // The ANN's pre-activations in the SNN's current units: value·θ[c]/λ[c].
      const shape = shapes.get(target.name)!;
      const neuron = model.layers.find((l) => l.name === target.name) as L.NeuronLayer;
      const theta = paramValues(neuron.params.threshold, shape);
      const size = sizeOf(shape);
      const perC = size / target.channels;
      const z = annPre.get(feedName)!.slice();
      for (let i = 0; i < z.length; i++) {
        const c = Math.floor((i % size) / perC);
        z[i] *= theta[i % size] / target.unit[c];
      }
      const layers = [...model.layers];
      const k = layers.findIndex((l) => l.name === feedName);
      layers[k] = refitByRidge(model, layers[k] as L.Conv2d | L.Dense, z, options.hiddenRidge ?? options.ridge ?? 0.01);
      model = { ...model, layers };
    }
    for (let round = 0; round <= rounds; round++) {
      const got = snnMean(model, target);
      error = want.map((a, c) => a - got[c]);
      before ??= [...error];
      if (round === rounds) break;
      options.onProgress?.(target.name, round + 1);
      const layers = [...model.layers];
      const index = (name: string) => layers.findIndex((l) => l.name === name);
      if (target.kind === 'readout') {
        const k = index(target.name);
        layers[k] = readout === 'weights' && round === 0 ? refitByRidge(model, layers[k] as L.Dense, annOut, options.ridge ?? 0.01) : withBias(layers[k] as L.Conv2d | L.Dense, error);
      } else {
        const neuron = layers[index(target.name)] as L.NeuronLayer;
        const theta = paramValues(neuron.params.threshold, shapes.get(target.name)!);
        const perC = theta.length / target.channels;
        // Input-current change per step (θ-normalised units) that moves the decoded mean by e[c].
        const current = error.map((e, c) => (e * theta[c * perC]) / target.unit[c]);
        const feed = where === 'bias' ? feedOf(model, target.name, target.channels) : undefined;
        if (feed) {
          const k = index(feed.layer);
          layers[k] = withBias(layers[k] as L.Conv2d | L.Dense, current.map((d, c) => d * feed.gain[c]));
        } else {
          const k = index(target.name);
          layers[k] = withV0(neuron, shapes.get(target.name)!, current.map((d) => d * T));
        }
      }
      model = { ...model, layers };
    }
    report.push({ layer: target.name, before: before!, after: [...error] });
  }
  const result: SnnModel = {
    ...model,
    metadata: {
      ...model.metadata,
      layerCalibration: {
        method: `layer-wise mean-error calibration (${hidden.size ? `ridge refit of ${[...hidden.values()].join(', ')}, ` : ''}${where === 'bias' ? 'bias' : 'v(0)'}${readout === 'none' ? '' : readout === 'bias' ? ' + readout bias' : ' + readout ridge refit'}), ${rounds} round(s) per layer`,
        timesteps: T,
        samples: n,
        first: options.sampleOffset ?? 0,
        layers: Object.fromEntries(report.map((r) => [r.layer, { before: r.before.map((v) => Math.fround(v)), after: r.after.map((v) => Math.fround(v)) }])),
      },
    },
  };
  verifyModel(result);
  return { snn: result, layers: report };
}

/** Solves A·X = B for a symmetric positive (semi)definite A [d, d] and B [d, m] (Gaussian elimination with partial pivoting). */
function solveSpd(a: Float64Array, b: Float64Array, d: number, m: number): Float64Array {
  const A = a.slice();
  const X = b.slice();
  for (let k = 0; k < d; k++) {
    let p = k;
    for (let i = k + 1; i < d; i++) if (Math.abs(A[i * d + k]) > Math.abs(A[p * d + k])) p = i;
    if (p !== k) {
      for (let j = 0; j < d; j++) [A[k * d + j], A[p * d + j]] = [A[p * d + j], A[k * d + j]];
      for (let j = 0; j < m; j++) [X[k * m + j], X[p * m + j]] = [X[p * m + j], X[k * m + j]];
    }
    const pivot = A[k * d + k];
    if (Math.abs(pivot) < 1e-300) continue; // a feature that is always 0 and unregularised: leave its row
    for (let i = k + 1; i < d; i++) {
      const q = A[i * d + k] / pivot;
      if (q === 0) continue;
      for (let j = k; j < d; j++) A[i * d + j] -= q * A[k * d + j];
      for (let j = 0; j < m; j++) X[i * m + j] -= q * X[k * m + j];
    }
  }
  for (let k = d - 1; k >= 0; k--) {
    const pivot = A[k * d + k];
    for (let j = 0; j < m; j++) {
      let s = X[k * m + j];
      for (let i = k + 1; i < d; i++) s -= A[k * d + i] * X[i * m + j];
      X[k * m + j] = Math.abs(pivot) < 1e-300 ? 0 : s / pivot;
    }
  }
  return X;
}
