/**
 * The `snnc` command line (commander). Each command parses options, calls the library, and prints; the
 * work itself lives in compiler/, targets/, runtime/ and tools/. Exit codes: 0 success, 1 runtime failure,
 * 2 bad input or usage, 3 does not fit the target. Errors are one clear line, never a stack trace
 * (set SNNC_DEBUG=1 to see one).
 */
import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { type LoadOptions, MODEL_FORMATS, loadModel } from '../compiler/frontends/index.js';
import { writeModelJson } from '../compiler/ir/serialize/write.js';
import { modelSchema } from '../compiler/ir/serialize/schema.js';
import { layerKind } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { ExitCode, SnncError, badInput } from '../compiler/errors.js';
import { checkOutputDir, checkOutputFile, safeFileName } from '../compiler/io/atomic-write.js';
import { SNNC_VERSION } from '../compiler/version.js';
import { fitToModel } from '../compiler/io/datasets.js';
import { diffLoihi, diffSpinnaker } from '../tools/emulator-diff.js';
import { LoihiEmulator, readLoihiFolder } from '../targets/loihi/emulator.js';
import { SpinnakerEmulator, readSpinnakerFolder } from '../targets/spinnaker/emulator.js';
import { OrtRunner } from '../runtime/ort-runner.js';
import { simulate } from '../compiler/reference/simulator.js';
import { DEFAULT_BATCH } from '../targets/gpu/index.js';
import { SCHEDULES } from '../targets/gpu/schedules.js';
import { TARGETS, targetByName } from '../targets/index.js';
import { CHIP_KINDS } from '../targets/loihi/chip.js';
import { DEFAULT_CHIP } from '../targets/loihi/index.js';
import { DEFAULT_MACHINE } from '../targets/spinnaker/index.js';
import { MACHINE_HELP } from '../targets/spinnaker/machine.js';
import { registerConversionCommands } from './convert.js';
import { registerTrainCommand } from './train.js';
import { MAX_TIMESTEPS, batchArg, intInRange, positiveInt, positiveNumber, timestepsArg } from './options.js';
import { registerNeuronsCommand } from './neurons.js';
import { registerReportCommand } from './report.js';
import { printable, warn } from './terminal.js';
import { type InputOptions, addInputOptions, loadInput, progress, report, runInBatches } from './predict.js';


/** NIR and NetX import options from --dt/--reset/--timesteps (where a command has them); diagnostics go to stderr. */
function nirLoadOptions(o: { dt?: number; reset?: 'zero' | 'subtract'; semantics?: 'nir' | 'snntorch'; timesteps?: number }): LoadOptions {
  return {
    nir: { dt: o.dt, reset: o.reset, semantics: o.semantics, timesteps: o.timesteps },
    netx: { timesteps: o.timesteps },
    onDiagnostic: (d) => warn(`node "${d.node}": ${d.message}`),
  };
}

/** --dt and --reset for commands that also read a .nir model directly, as `snnc import` has them. */
const addNirOptions = (c: Command) =>
  c
    .option('--dt <seconds>', '.nir model: time step for discretising the continuous-time graph (default 1e-4, the NIR paper\'s; 1/R for graphs of IF neurons only)', positiveNumber)
    .addOption(new Option('--reset <mode>', '.nir model: reset of every spiking neuron, overriding the file (default: its v_reset, else zero)').choices(['zero', 'subtract']))
    .addOption(new Option('--semantics <whose>', '.nir model: nir = NIR\'s equations (default); snntorch = LIF/CubaLIF subtract θ one step late, as snnTorch\'s Leaky/Synaptic do by default').choices(['nir', 'snntorch']));

/** T for a .nir model run without -T on a time series [N, T, ...input shape]: the data's time axis (NIR files carry no T). */
function nirTimesteps(modelPath: string, model: SnnModel, sampleShape: readonly number[], given: number | undefined): number {
  if (given !== undefined || extname(modelPath).toLowerCase() !== '.nir' || model.input.encoding.type !== 'events' || sampleShape.length < 2) return given ?? model.timesteps;
  const T = sampleShape[0];
  return Number.isInteger(T) && T >= 1 && T <= MAX_TIMESTEPS && sizeOf(sampleShape) === T * sizeOf(model.input.shape) ? T : model.timesteps;
}

const targetOption = () =>
  new Option('--target <name>', `compilation target: ${TARGETS.map((t) => `${t.name} (${t.description})`).join('; ')}`).choices(TARGETS.map((t) => t.name)).makeOptionMandatory();

const chipOption = () => new Option('--chip <kind>', `loihi: chip generation (${CHIP_KINDS.join(' | ')}); sets the per-core budgets`).choices([...CHIP_KINDS]).default(DEFAULT_CHIP);
const chipsOption = () => new Option('--chips <n>', 'loihi: chips on the board; the model must fit in them').argParser(positiveInt).default(1);
/** SpiNNaker options, shared by compile, check and diff. */
const addSpinnakerOptions = (c: Command) =>
  c
    .option('--machine <name>', `spinnaker: ${MACHINE_HELP}`, DEFAULT_MACHINE)
    .option('--atoms-per-core <n>', 'spinnaker: most neurons per core (≤ 256, the default)', positiveInt)
    .option('--max-summed-weight <nA>', 'spinnaker: expected summed weight per step and synapse type, which sets the ring-buffer shift (default: every input spiking at once; smaller gives finer weights but can saturate or overflow)', positiveNumber);
const spinnakerOptions = (o: { machine?: string; atomsPerCore?: number; maxSummedWeight?: number }) => ({ machine: o.machine, atomsPerCore: o.atomsPerCore, maxSummedWeight: o.maxSummedWeight });

const program = new Command()
  .name('snnc')
  .description('snnc compiles trained spiking neural networks to deployable, verified artifacts.\n' + `Model formats: ${MODEL_FORMATS.join(', ')}. Targets: ${TARGETS.map((t) => t.name).join(', ')}.`)
  .version(SNNC_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('compile')
  .description('compile a model for a target and write the artifacts to a folder')
  .argument('<model>', 'model file (model.json, .nir or .net)')
  .addOption(targetOption())
  .option('-o, --out <dir>', 'output folder (default: <model name>.<target> in the current folder): a new folder, or one snnc wrote, which is replaced atomically')
  .option('--force', 'replace an existing output folder even if it holds files snnc did not write (never ., .., / or a file)')
  .option('-T, --timesteps <T>', 'time steps per sample (default: the model\'s)', timestepsArg)
  .option('-b, --batch <B>', `static batch size of the compiled model (default ${DEFAULT_BATCH})`, batchArg)
  .addOption(new Option('--schedule <kind>', 'gpu: layerwise = each layer over all T·B at once (fastest; the default); scan = one ONNX Scan over time (the default for a model with cycles or delays read earlier); step = one step per call, with state in/out (streaming)').choices([...SCHEDULES]))
  .option('--probe <layers...>', 'also output the spikes of these neuron layers ("all" for every one)')
  .addOption(chipOption())
  .addOption(chipsOption())
  .option('--reset-interval <n>', 'loihi: also reset every population every n steps (netx\'s reset_interval), staggered by depth', positiveInt);
addSpinnakerOptions(addNirOptions(program.commands[program.commands.length - 1]))
  .option('--json', 'print a machine-readable summary on stdout')
  .action(async (modelPath: string, o) => {
    const model = await loadModel(modelPath, nirLoadOptions(o));
    const target = targetByName(o.target);
    const outDir = resolve(o.out ?? `${safeFileName(model.name)}.${target.name}`);
    checkOutputDir(outDir, { force: o.force }); // before compiling: a refusal should not cost a compile
    const probes = o.probe?.includes('all') ? 'all' : o.probe;
    const result = await target.emit(model, outDir, { timesteps: o.timesteps, batch: o.batch, schedule: o.schedule, probes, chip: o.chip, chips: o.chips, resetInterval: o.resetInterval, force: o.force, ...spinnakerOptions(o) });
    for (const w of result.warnings ?? []) warn(w);
    if (o.json) process.stdout.write(`${JSON.stringify({ target: target.name, out: outDir, files: result.files, ...result.summary })}\n`);
    else {
      const summary = Object.entries(result.summary).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(`compiled ${modelPath} for ${target.name} → ${outDir} (${result.files.join(', ')}; ${summary})\n`);
    }
  });

program
  .command('check')
  .description('report what a model needs of a target, and whether it fits (exit 3 if not)')
  .argument('<model>', 'model file (model.json, .nir or .net)')
  .addOption(targetOption())
  .option('-T, --timesteps <T>', 'time steps per sample', timestepsArg)
  .option('-b, --batch <B>', 'batch size', batchArg)
  .addOption(chipOption())
  .addOption(chipsOption());
addSpinnakerOptions(addNirOptions(program.commands[program.commands.length - 1]))
  .option('--json', 'print the report as JSON on stdout')
  .action(async (modelPath: string, o) => {
    const report = targetByName(o.target).check(await loadModel(modelPath, nirLoadOptions(o)), { timesteps: o.timesteps, batch: o.batch, chip: o.chip, chips: o.chips, ...spinnakerOptions(o) });
    if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const cols = [...new Set(report.rows.flatMap((r) => Object.keys(r)))];
      const width = cols.map((c) => Math.max(c.length, ...report.rows.map((r) => String(r[c] ?? '').length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd();
      process.stdout.write(`${[line(cols), ...report.rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n')}\n`);
      for (const m of report.messages) process.stdout.write(`${m}\n`);
      process.stdout.write(`${report.fits ? 'fits' : 'does NOT fit'} target ${report.target}\n`);
    }
    if (!report.fits) process.exitCode = ExitCode.doesNotFit;
  });

addInputOptions(
  addNirOptions(program
    .command('simulate')
    .description('run a model in the float reference simulator (the semantic oracle) and print the predicted class per sample')
    .argument('<model>', 'model file (model.json, .nir or .net)')
    .option('-T, --timesteps <T>', 'time steps per sample (default: the model\'s; for a .nir model, the time axis of the input)', timestepsArg)
    .option('-b, --batch <B>', 'samples simulated together', batchArg, 64)),
).action(async (modelPath: string, o: InputOptions & { timesteps?: number; batch: number; dt?: number; reset?: 'zero' | 'subtract' }) => {
  const model = await loadModel(modelPath, nirLoadOptions(o));
  const data = loadInput(o);
  const T = nirTimesteps(modelPath, model, data.sampleShape, o.timesteps);
  fitToModel(data, model.input.shape, model.input.encoding.type === 'events' ? T : undefined, o.input ?? o.data!);
  const t0 = performance.now();
  const { output, classes } = runInBatches(data, o.batch, (x, count, offset) => simulate(model, x, count, { timesteps: T, sampleOffset: offset }));
  report(o, data, output, classes, { engine: 'reference simulator', T }, (performance.now() - t0) / 1000);
});

addInputOptions(
  program
    .command('run')
    .description('run a compiled folder and print the predicted class per sample: a gpu folder with onnxruntime, a loihi or spinnaker folder in its bit-accurate emulator')
    .argument('<dir>', 'folder written by `snnc compile --target gpu`, `--target loihi` or `--target spinnaker`')
    .addOption(new Option('--backend <name>', 'onnxruntime package: node (native) or web (wasm, as in the browser)').choices(['node', 'web']).default('node'))
    .option('--provider <names...>', 'execution providers in order (node: cpu, webgpu, cuda; web: wasm)')
    .option('--threads <n>', 'onnxruntime threads (1–1024)', intInRange(1, 1024)),
).action(async (dir: string, o: InputOptions & { backend: 'node' | 'web'; provider?: string[]; threads?: number }) => {
  if (existsSync(join(dir, 'loihi.json'))) return runEmulator(loihiFolder(dir), o);
  if (existsSync(join(dir, 'spinnaker.json'))) return runEmulator(spinnakerFolder(dir), o);
  const runner = await OrtRunner.open(dir, { backend: o.backend, providers: o.provider, threads: o.threads });
  const m = runner.manifest;
  const data = loadInput(o);
  fitToModel(data, m.inputShape, m.encoding.type === 'events' ? m.timesteps : undefined, o.input ?? o.data!);
  const bar = progress(data.n, m.batch);
  const t0 = performance.now();
  const r = await runner.run(data.x, data.n, data.offset, (d) => bar.update(d));
  bar.stop();
  await runner.close();
  report(o, data, r.output, r.classes, { engine: `onnxruntime-${o.backend} ${m.schedule}`, T: m.timesteps }, (performance.now() - t0) / 1000);
});

/** What `snnc run` needs of an emulator: the compiled input format and a batch runner. */
interface FolderEmulator {
  readonly input: { readonly shape: readonly number[]; readonly encoding: { readonly type: string } };
  readonly timesteps: number;
  readonly engine: string;
  run(x: Float32Array, count: number, options: { sampleOffset: number }): { output: Float32Array; classes: number };
}

/** `snnc run` on a loihi or spinnaker folder: its emulator (batches only pace the progress bar). */
function runEmulator(emulator: FolderEmulator, o: InputOptions): void {
  const data = loadInput(o);
  fitToModel(data, emulator.input.shape, emulator.input.encoding.type === 'events' ? emulator.timesteps : undefined, o.input ?? o.data!);
  const t0 = performance.now();
  const { output, classes } = runInBatches(data, 16, (x, count, offset) => emulator.run(x, count, { sampleOffset: offset }));
  report(o, data, output, classes, { engine: emulator.engine, T: emulator.timesteps }, (performance.now() - t0) / 1000);
}

function loihiFolder(dir: string): FolderEmulator {
  const e = new LoihiEmulator(readLoihiFolder(dir));
  const d = e.descriptor;
  return { input: d.input, timesteps: d.timesteps, engine: `loihi emulator (${d.chip}, ${d.totals.cores} cores)`, run: (x, n, opt) => e.run(x, n, opt) };
}

function spinnakerFolder(dir: string): FolderEmulator {
  const e = new SpinnakerEmulator(readSpinnakerFolder(dir));
  const d = e.descriptor;
  return { input: d.input, timesteps: d.timesteps, engine: `spinnaker emulator (${d.machine.name}, ${d.totals.cores} cores on ${d.totals.chips} chips)`, run: (x, n, opt) => e.run(x, n, opt) };
}

addInputOptions(
  addSpinnakerOptions(addNirOptions(program
    .command('diff')
    .description('compare the float reference simulator with a target\'s emulator layer by layer on the same input (spike counts, mismatches, first divergence)')
    .argument('<model>', 'model file')
    .addOption(new Option('--target <name>', 'target with an emulator').choices(['loihi', 'spinnaker']).makeOptionMandatory())
    .option('-T, --timesteps <T>', 'time steps per sample (default: the model\'s)', timestepsArg)
    .addOption(chipOption()))),
).action(async (modelPath: string, o: InputOptions & { target: string; timesteps?: number; chip: string; machine?: string; atomsPerCore?: number; maxSummedWeight?: number; dt?: number; reset?: 'zero' | 'subtract' }) => {
  const model = await loadModel(modelPath, nirLoadOptions(o));
  const data = loadInput(o);
  const T = o.timesteps ?? model.timesteps;
  fitToModel(data, model.input.shape, model.input.encoding.type === 'events' ? T : undefined, o.input ?? o.data!);
  const diff = o.target === 'loihi' ? diffLoihi(model, data.x, data.n, { timesteps: T, chip: o.chip, chips: Number.MAX_SAFE_INTEGER }) : diffSpinnaker(model, data.x, data.n, { timesteps: T, ...spinnakerOptions(o) });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(diff)}\n`);
    return;
  }
  const rows = diff.layers.map((l) => [l.layer, String(l.depth), String(l.floatSpikes), String(l.emulatorSpikes), String(l.mismatches), l.first ? `step ${l.first.step}, sample ${l.first.sample}, neuron ${l.first.neuron}` : '-']);
  const head = ['layer', 'delay', 'float spikes', `${diff.target} spikes`, 'mismatches', 'first divergence'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()}\n`);
  process.stdout.write(`${diff.samples} samples, T=${diff.timesteps}: predictions agree on ${diff.agreeing}/${diff.samples} (${diff.target} delays removed: a layer at depth d is compared d steps later)\n`);
});

addNirOptions(
  program
    .command('import')
    .description('import a NIR graph (.nir) or a lava-dl NetX network (.net) into model.json, printing a diagnostic for each quirk it repaired')
    .argument('<model>', 'NIR (.nir) or NetX (.net) file')
    .requiredOption('-o, --out <model.json>', 'output model file'),
)
  .option('-T, --timesteps <T>', 'time steps recorded in the model (default: NetX simulation/tSample, else 100)', timestepsArg)
  .option('--sidecar', 'store the weights in <name>.safetensors beside the model')
  .action(async (nirPath: string, o) => {
    checkOutputFile(o.out);
    if (!['.nir', '.net'].includes(extname(nirPath).toLowerCase())) throw badInput(`${nirPath}: import takes a NIR (.nir) or NetX (.net) file`);
    const model = await loadModel(nirPath, nirLoadOptions(o));
    writeModelJson(model, o.out, { sidecar: o.sidecar });
    process.stdout.write(`wrote ${o.out}: ${model.layers.length} layers (${model.layers.map(layerKind).join(', ')}), dt=${model.dt}, T=${model.timesteps}\n`);
  });

registerConversionCommands(program);
registerTrainCommand(program);
registerReportCommand(program);
registerNeuronsCommand(program);

program
  .command('schema')
  .description('print the JSON Schema of model.json (for editors and validators)')
  .action(() => {
    process.stdout.write(`${JSON.stringify(modelSchema(), null, 2)}\n`);
  });

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    if (e instanceof SnncError) {
      process.stderr.write(`snnc: error: ${printable(e.message)}\n`);
      return e.exitCode;
    }
    process.stderr.write(`snnc: internal error: ${printable(String((e as Error)?.message ?? e))}\n${process.env.SNNC_DEBUG ? `${(e as Error)?.stack}\n` : '(set SNNC_DEBUG=1 for a stack trace; please report this)\n'}`);
    return ExitCode.runtime;
  }
}

// A reader that stops early (`snnc neurons | head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv);
