/** `snnc convert` (ANN → SNN model.json) and `snnc eval` (accuracy vs T). */
import { extname } from 'node:path';
import { type Command, Option } from 'commander';
import { badInput } from '../compiler/errors.js';
import { loadModel } from '../compiler/frontends/index.js';
import { writeModelJson } from '../compiler/frontends/modeljson/write.js';
import { NORMALISATIONS } from '../compiler/passes/convert-ann.js';
import { MAXPOOL_POLICIES } from '../compiler/passes/maxpool-policy.js';
import { calibrateAnn, convertAnn } from '../runtime/conversion.js';
import { fitToModel, loadDataset, parseRange } from '../runtime/datasets.js';
import { accuracyVsT, annAccuracyOrt, convertedAccuracyVsT } from '../runtime/evaluate.js';
import { inputPreprocess, numberList, positiveInt, positiveIntList } from './options.js';
import { progress } from './predict.js';

export const DEFAULTS = { norm: 'mse', v0: 'half', maxpool: 'auto', percentile: 99.9, timesteps: 16 } as const;

function addConversionOptions(cmd: Command): Command {
  return cmd
    .option('--calib <file>', 'calibration data (MNIST idx or .npy, raw values as for --data)')
    .option('--calib-range <start:end>', 'samples of --calib to use (e.g. 5000:10000)')
    .addOption(new Option('--norm <preset>', 'activation scale λ per layer: mse (the λ whose T-step IF code has the least error on the calibration activations; depends on T), max (Diehl), p99.9 (Rueckauer: a percentile of non-zero activations), channel (that percentile per output channel), qcfs (the trained clip ceiling, no data)').choices([...NORMALISATIONS]).default(DEFAULTS.norm))
    .option('--percentile <p>', 'percentile for p99.9 and channel', Number, DEFAULTS.percentile)
    .addOption(new Option('--v0 <init>', 'initial membrane: half (θ/2, rounds instead of flooring) or zero').choices(['half', 'zero']).default(DEFAULTS.v0))
    .addOption(new Option('--reset <mode>', 'IF reset after a spike: subtract (θ, soft; accurate at low T) or zero (hard; the only one SpiNNaker\'s IF_curr_exp has)').choices(['subtract', 'zero']).default('subtract'))
    .addOption(new Option('--maxpool <policy>', 'max-pooling: auto (pre where the current is constant over time, else gate), gate (Rueckauer: pass the input with the largest spike count), avg (replace by average pooling), spike-or (max of spikes), pre (pool the currents before the IF neuron)').choices([...MAXPOOL_POLICIES]).default(DEFAULTS.maxpool))
    .option('--input-scale <s>', 'preprocessing the ANN expects: x·s (recorded in the model)', Number)
    .option('--input-mean <m>', 'then − m (one value, or one per channel: 0.5,0.5,0.5)', numberList)
    .option('--input-std <d>', 'then ÷ d (one value, or one per channel)', numberList);
}

function conversionOptions(o: Record<string, any>, timesteps: number) {
  return { norm: o.norm, percentile: o.percentile, v0: o.v0, reset: o.reset, maxpool: o.maxpool, timesteps, inputPreprocess: inputPreprocess(o) };
}

function calibrationData(o: { calib?: string; calibRange?: string }) {
  return o.calib ? loadDataset(o.calib, undefined, o.calibRange ? parseRange(o.calibRange) : undefined) : undefined;
}

export function registerConversionCommands(program: Command): void {
  addConversionOptions(
    program
      .command('convert')
      .description('convert a trained ANN (ONNX) into a spiking network (model.json) of IF neurons, calibrated on data')
      .argument('<ann>', 'the ANN (.onnx)')
      .requiredOption('-o, --out <model.json>', 'output model file')
      .option('-T, --timesteps <T>', `time steps recorded in the model (default ${DEFAULTS.timesteps})`, positiveInt, DEFAULTS.timesteps)
      .option('--sidecar', 'store the weights in <name>.safetensors beside the model instead of inline')
      .option('--json', 'print the per-layer scales as JSON on stdout'),
  ).action(async (annPath: string, o) => {
    if (extname(annPath).toLowerCase() !== '.onnx') throw badInput(`${annPath}: convert takes an ANN in ONNX format (.onnx)`);
    const ann = await loadModel(annPath);
    const calib = calibrationData(o);
    const bar = progress(calib?.n ?? 0, 100);
    const { snn, scales } = convertAnn(ann, calib, { ...conversionOptions(o, o.timesteps), onProgress: (d) => bar.update(d) });
    bar.stop();
    writeModelJson(snn, o.out, { sidecar: o.sidecar });
    const rows = [...scales].map(([layer, s]) => ({ layer, lambda: s.lambda.length === 1 ? s.lambda[0] : s.lambda, method: s.method }));
    if (o.json) process.stdout.write(`${JSON.stringify({ out: o.out, layers: rows })}\n`);
    else {
      for (const r of rows) process.stdout.write(`${r.layer}\tλ = ${Array.isArray(r.lambda) ? `[${r.lambda.map((v) => v.toPrecision(4)).join(', ')}]` : (r.lambda as number).toPrecision(6)}\t(${r.method})\n`);
      process.stdout.write(`wrote ${o.out}: ${snn.layers.length} layers, T=${snn.timesteps}, calibrated on ${calib?.n ?? 0} samples\n`);
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
      .option('-T, --timesteps <list>', 'time steps to evaluate', positiveIntList, [1, 2, 4, 8, 16, 32])
      .addOption(new Option('--engine <name>', 'ort: compiled gpu model on onnxruntime (fast); simulator: the reference simulator').choices(['ort', 'simulator']).default('ort'))
      .option('-b, --batch <B>', 'samples per batch', positiveInt, 100)
      .option('--json', 'print {"ann": percent|null, "accuracy": {"T": percent}} on stdout'),
  ).action(async (modelPath: string, o) => {
    const data = loadDataset(o.data, o.labels, o.range ? parseRange(o.range) : undefined);
    const isAnn = extname(modelPath).toLowerCase() === '.onnx';
    const model = await loadModel(modelPath);
    let ann: number | null = null;
    const convert = isAnn && (o.calib || o.norm === 'qcfs');
    const Ts: number[] = !isAnn || convert ? o.timesteps : [];
    fitToModel(data, model.input.shape, model.input.encoding.type === 'events' ? Math.max(...o.timesteps) : undefined, o.data);
    if (isAnn) ann = await annAccuracyOrt(modelPath, data, inputPreprocess(o));
    const bar = progress(Ts.length ? data.n : 0, o.batch);
    const evalOptions = { engine: o.engine, batch: o.batch, onProgress: (_: number, d: number) => bar.update(d) };
    const acc = convert
      ? await convertedAccuracyVsT(calibrateAnn(model, calibrationData(o), conversionOptions(o, 1)), data, Ts, conversionOptions(o, 1), evalOptions)
      : await accuracyVsT(model, data, Ts, evalOptions);
    bar.stop();
    const accuracy = Object.fromEntries([...acc].map(([T, a]) => [String(T), Number(a.toFixed(2))]));
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ann: ann === null ? null : Number(ann.toFixed(2)), accuracy })}\n`);
      return;
    }
    process.stdout.write(`${data.n} samples from ${o.data}${data.offset ? ` (from #${data.offset})` : ''}\n`);
    if (ann !== null) process.stdout.write(`ANN (onnxruntime)\t${ann.toFixed(2)} %\n`);
    if (Ts.length) process.stdout.write(`T\taccuracy (${o.engine === 'ort' ? 'onnxruntime' : 'reference simulator'})\n${[...acc].map(([T, a]) => `${T}\t${a.toFixed(2)} %`).join('\n')}\n`);
    else process.stdout.write('(give --calib to also evaluate the converted SNN)\n');
  });
}
