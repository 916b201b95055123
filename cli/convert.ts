/**
 * `snnc convert` (an ANN → SNN model.json by calibration, or a T=1 noise-trained model → T=N) and
 * `snnc eval` (accuracy vs T; for a T=1 noise-trained model also its noisy and mean-field accuracy).
 */
import { extname } from 'node:path';
import { type Command, Option } from 'commander';
import { badInput } from '../compiler/errors.js';
import { loadModel } from '../compiler/frontends/index.js';
import { writeModelJson } from '../compiler/ir/serialize/write.js';
import { checkOutputFile } from '../compiler/io/atomic-write.js';
import { parseNoiseSpec } from '../compiler/ir/noise.js';
import { NORMALISATIONS } from '../compiler/passes/convert-ann.js';
import { convertT1Noise } from '../compiler/passes/convert-t1-noise.js';
import { MAXPOOL_POLICIES } from '../compiler/passes/maxpool-policy.js';
import { CONVERSION_SOURCES, LAYER_CALIBRATION_PRESET, calibrateAnn, calibrateAnnWith, conversionSource, convertCalibrated } from '../compiler/passes/conversion.js';
import { type CalibrationRow, calibrationTable } from '../compiler/passes/calibrate.js';
import { ortAnnSession } from '../runtime/ann-session.js';
import { loadDataset, parseRange } from '../compiler/io/datasets.js';
import { evaluateModel } from '../tools/evaluate-model.js';
import { batchArg, finiteNumber, inputPreprocess, numberList, percentArg, positiveInt, timestepsArg, timestepsList } from './options.js';
import { progress } from './predict.js';

export const DEFAULTS = { norm: 'mse', v0: 'half', maxpool: 'auto', percentile: 99.9, timesteps: 16 } as const;

function addConversionOptions(cmd: Command): Command {
  return cmd
    .option('--calib <file>', 'calibration data (MNIST idx or .npy, raw values as for --data)')
    .option('--calib-range <start:end>', 'samples of --calib to use (e.g. 5000:10000)')
    .addOption(new Option('--calib-engine <name>', 'runs the ANN for calibration: ort (onnxruntime, fast) or simulator (the reference simulator: the same λ on every machine, slow)').choices(['ort', 'simulator']).default('ort'))
    .addOption(new Option('--norm <preset>', 'activation scale λ per layer: mse (the λ whose T-step IF code has the least error on the calibration activations; depends on T), max (Diehl), p99.9 (Rueckauer: a percentile of non-zero activations), channel (that percentile per output channel), qcfs (the trained clip ceiling, no data)').choices([...NORMALISATIONS]).default(DEFAULTS.norm))
    .option('--percentile <p>', 'percentile for p99.9 and channel (0–100]', percentArg, DEFAULTS.percentile)
    .addOption(new Option('--v0 <init>', 'initial membrane: half (θ/2, rounds instead of flooring) or zero').choices(['half', 'zero']).default(DEFAULTS.v0))
    .addOption(new Option('--reset <mode>', 'IF reset after a spike: subtract (θ, soft; accurate at low T) or zero (hard; the only one SpiNNaker\'s IF_curr_exp has)').choices(['subtract', 'zero']).default('subtract'))
    .addOption(new Option('--maxpool <policy>', 'max-pooling: auto (pre where the current is constant over time, else gate), gate (Rueckauer: pass the input with the largest spike count), avg (replace by average pooling), spike-or (max of spikes), pre (pool the currents before the IF neuron)').choices([...MAXPOOL_POLICIES]).default(DEFAULTS.maxpool))
    .option('--burst <Γ>', 'burst spikes: up to Γ spikes per neuron and step, each worth λ/Γ (burst_if neurons; Li & Zeng 2022), so T steps resolve Γ·T levels: more accuracy at low T for more spikes; runs on the gpu target only', positiveInt)
    .option('--layer-calib <N>', 'after conversion, calibrate layer by layer for the T converted for, on the first N calibration samples: each channel\'s bias corrected by the mean error of its rate vs the ANN, the readout refitted (Li et al. 2021; runs the reference simulator, so slow on large models); best at low T with --norm channel, e.g. --layer-calib 1000', positiveInt)
    .option('--input-scale <s>', 'preprocessing the ANN expects: x·s (recorded in the model)', finiteNumber)
    .option('--input-mean <m>', 'then − m (one value, or one per channel: 0.5,0.5,0.5)', numberList)
    .option('--input-std <d>', 'then ÷ d (one value, or one per channel)', numberList);
}

function conversionOptions(o: Record<string, any>) {
  const layerCalibration = o.layerCalib ? { samples: o.layerCalib as number, ...LAYER_CALIBRATION_PRESET } : undefined;
  return { norm: o.norm, percentile: o.percentile, v0: o.v0, reset: o.reset, maxpool: o.maxpool, ...(o.burst > 1 ? { burst: o.burst as number } : {}), inputPreprocess: inputPreprocess(o), ...(layerCalibration ? { layerCalibration } : {}) };
}

function calibrationData(o: { calib?: string; calibRange?: string }) {
  return o.calib ? loadDataset(o.calib, undefined, o.calibRange ? parseRange(o.calibRange) : undefined) : undefined;
}

const ANN_ONLY_OPTIONS = ['calib', 'calibRange', 'calibEngine', 'layerCalib', 'burst', 'norm', 'percentile', 'v0', 'reset', 'maxpool', 'inputScale', 'inputMean', 'inputStd'];

/** Refuses ANN conversion options given on the command line for a t1-noise conversion. */
function refuseAnnOptions(cmd: Command): void {
  const annOnly = ANN_ONLY_OPTIONS.find((k) => cmd.getOptionValueSource(k) === 'cli');
  if (annOnly) throw badInput(`--${annOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for ANN conversion; a t1-noise model needs no calibration (θ comes from training)`);
}

/** The per-layer conversion table: λ, the share of non-zero activations above it (clipped), the share of zeros. */
function formatTable(rows: readonly CalibrationRow[]): string {
  const width = Math.max(5, ...rows.map((r) => r.layer.length));
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`.padStart(9);
  const head = `${'layer'.padEnd(width)}  ${'λ'.padStart(11)}  ${'clipped'.padStart(9)}  ${'zeros'.padStart(9)}  method\n`;
  return head + rows.map((r) => `${r.layer.padEnd(width)}  ${((r.perChannel ? '≤ ' : '') + r.lambda.toPrecision(6)).padStart(11)}  ${pct(r.clipped)}  ${pct(r.sparsity)}  ${r.method}\n`).join('');
}

export function registerConversionCommands(program: Command): void {
  addConversionOptions(
    program
      .command('convert')
      .description('convert a trained network into a multi-step spiking network (model.json) of IF neurons: an ANN (ONNX, or model.json with relu layers), calibrated on data; or a T=1 model trained with membrane noise (`snnc train --mode t1-noise`), which needs no data')
      .argument('<model>', 'the ANN (.onnx or model.json) or the T=1 noise-trained model.json')
      .addOption(new Option('--from <kind>', 'ann, or t1-noise: weights and θ kept, IF with soft reset, v(0) = the noise mean, constant input current, mean decoding (default: t1-noise when the model records its noise in metadata.noise, else ann)').choices([...CONVERSION_SOURCES]))
      .option('--assume-noise <dist:mean,std>', 'for --from t1-noise: the noise the model was trained with, e.g. gaussian:0.5,0.29, when it does not record it')
      .requiredOption('-o, --out <model.json>', 'output model file')
      .option('-T, --timesteps <T>', `time steps recorded in the model (default ${DEFAULTS.timesteps})`, timestepsArg, DEFAULTS.timesteps)
      .option('--sidecar', 'store the weights in <name>.safetensors beside the model instead of inline (automatic past 64 MiB of weights)')
      .option('--json', 'print the per-layer scales (ann) or the conversion (t1-noise) as JSON on stdout'),
  ).action(async (modelPath: string, o, cmd: Command) => {
    checkOutputFile(o.out);
    const model = await loadModel(modelPath);
    const source = conversionSource(model, modelPath, { from: o.from, assumeNoise: o.assumeNoise ? parseNoiseSpec(o.assumeNoise, '--assume-noise') : undefined });
    if (source.from === 't1-noise') {
      refuseAnnOptions(cmd);
      const { noise } = source;
      const tn = convertT1Noise(model, { timesteps: o.timesteps, noise });
      writeModelJson(tn, o.out, { sidecar: o.sidecar });
      if (o.json) process.stdout.write(`${JSON.stringify({ out: o.out, from: 't1-noise', timesteps: tn.timesteps, noise })}\n`);
      else process.stdout.write(`wrote ${o.out}: ${tn.layers.length} layers, T=${tn.timesteps}, IF with soft reset, v(0) = ${noise.mean} (the ${noise.dist} noise mean), weights and θ unchanged, output = mean over the steps\n`);
      return;
    }
    const options = { ...conversionOptions(o), timesteps: o.timesteps };
    const calib = calibrationData(o);
    const bar = progress(calib?.n ?? 0, 1);
    const calibrateOptions = { ...options, onProgress: (d: number) => bar.update(d) };
    const started = performance.now();
    const calibrated = o.calibEngine === 'simulator' ? calibrateAnn(model, calib, calibrateOptions) : await calibrateAnnWith(ortAnnSession(), model, calib, calibrateOptions);
    const calibrationSeconds = Number(((performance.now() - started) / 1000).toFixed(3));
    bar.stop();
    const { snn, scales } = convertCalibrated(calibrated, options);
    writeModelJson(snn, o.out, { sidecar: o.sidecar });
    const rows = calibrationTable(calibrated.activations, scales);
    if (o.json) {
      const layers = rows.map((r) => ({ layer: r.layer, lambda: r.perChannel ? scales.get(r.layer)!.lambda : r.lambda, clipped: r.clipped, sparsity: r.sparsity, method: r.method }));
      process.stdout.write(`${JSON.stringify({ out: o.out, calibrationSeconds, layers })}\n`);
    } else {
      process.stdout.write(formatTable(rows));
      process.stdout.write(`wrote ${o.out}: ${snn.layers.length} layers, T=${snn.timesteps}${o.burst > 1 ? `, bursts of up to ${o.burst} spikes per step` : ''}, calibrated on ${calib?.n ?? 0} samples in ${calibrationSeconds} s (${o.calibEngine === 'simulator' ? 'reference simulator' : 'onnxruntime'})\n`);
    }
  });

  addConversionOptions(
    program
      .command('eval')
      .description('accuracy vs T of an SNN (model.json), or of an ANN (.onnx) through onnxruntime and, with --calib, of its conversion')
      .argument('<model>', 'model.json or ann.onnx')
      .requiredOption('--data <file>', 'test data (MNIST idx or .npy)')
      .requiredOption('--labels <file>', 'test labels')
      .option('--range <start:end>', 'samples of --data to use')
      .option('-T, --timesteps <list>', 'time steps to evaluate', timestepsList, [1, 2, 4, 8, 16, 32])
      .addOption(new Option('--engine <name>', 'ort: compiled gpu model on onnxruntime (fast); simulator: the reference simulator').choices(['ort', 'simulator']).default('ort'))
      .option('-b, --batch <B>', 'samples per batch', batchArg, 100)
      .option('--draws <K>', 'for a T=1 noise-trained model: Monte-Carlo noise draws for its noisy T=1 accuracy', positiveInt, 10)
      .option('--json', 'print {"ann": percent|null, "t1": {noisy, noisy_sd, draws, mean_field}|null, "accuracy": {"T": percent}} on stdout'),
  ).action(async (modelPath: string, o) => {
    const data = loadDataset(o.data, o.labels, o.range ? parseRange(o.range) : undefined);
    const model = await loadModel(modelPath);
    let bar: ReturnType<typeof progress> | undefined;
    const { ann, t1, accuracy: acc } = await evaluateModel(modelPath, model, data, {
      timesteps: o.timesteps,
      engine: o.engine,
      batch: o.batch,
      draws: o.draws,
      conversion: { ...conversionOptions(o), calib: calibrationData(o) },
      calibEngine: o.calibEngine,
      dataName: o.data,
      onProgress: (_, d) => (bar ??= progress(data.n, o.batch)).update(d),
    });
    bar?.stop();
    const isOnnx = extname(modelPath).toLowerCase() === '.onnx';
    const Ts = [...acc.keys()];
    const accuracy = Object.fromEntries([...acc].map(([T, a]) => [String(T), Number(a.toFixed(2))]));
    const pct = (v: number) => Number(v.toFixed(2));
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ann: ann === null ? null : pct(ann), t1: t1 && { noisy: pct(t1.noisy), noisy_sd: pct(t1.noisySd), draws: t1.draws, mean_field: pct(t1.meanField) }, accuracy })}\n`);
      return;
    }
    process.stdout.write(`${data.n} samples from ${o.data}${data.offset ? ` (from #${data.offset})` : ''}\n`);
    if (ann !== null) process.stdout.write(`ANN (${isOnnx || o.engine === 'ort' ? 'onnxruntime' : 'reference simulator'})\t${ann.toFixed(2)} %\n`);
    if (t1) {
      process.stdout.write(`T=1 with noise (Monte-Carlo, ${t1.draws} draws, reference simulator)\t${t1.noisy.toFixed(2)} % ± ${t1.noisySd.toFixed(2)}\n`);
      process.stdout.write(`T=1 mean-field (expected spikes, tfjs)\t${t1.meanField.toFixed(2)} %\n`);
      process.stdout.write(`converted T=1→T=N (IF, soft reset, v(0) = ${t1.noise.mean}):\n`);
    }
    if (Ts.length) process.stdout.write(`T\taccuracy (${o.engine === 'ort' ? 'onnxruntime' : 'reference simulator'})\n${[...acc].map(([T, a]) => `${T}\t${a.toFixed(2)} %`).join('\n')}\n`);
    else process.stdout.write('(give --calib to also evaluate the converted SNN)\n');
  });
}
