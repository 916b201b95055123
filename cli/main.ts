/**
 * The `snnc` command line (commander). Each command parses options, calls the library, and prints; the
 * work itself lives in compiler/, targets/, runtime/ and tools/. Exit codes: 0 success, 1 runtime failure,
 * 2 bad input or usage, 3 does not fit the target. Errors are one clear line, never a stack trace
 * (set SNNC_DEBUG=1 to see one).
 */
import { extname, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { MODEL_FORMATS, loadModel } from '../compiler/frontends/index.js';
import { writeModelJson } from '../compiler/ir/serialize/write.js';
import { modelSchema } from '../compiler/ir/serialize/schema.js';
import { layerKind } from '../compiler/ir/layers.js';
import type { SnnModel } from '../compiler/ir/model.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { ExitCode, SnncError, badInput } from '../compiler/errors.js';
import { checkOutputDir, checkOutputFile, safeFileName } from '../compiler/io/atomic-write.js';
import { SNNC_VERSION } from '../compiler/version.js';
import { fitToModel } from '../compiler/io/datasets.js';
import type { Dataset } from '../compiler/io/datasets.js';
import { openCompiled, runCompiledGpu, runEngine, simulatorEngine } from '../runtime/engines.js';
import { DEFAULT_BATCH } from '../targets/gpu/index.js';
import { TARGETS, targetByName } from '../targets/index.js';
import type { CheckReport, Engine } from '../targets/target.js';
import { registerConversionCommands } from './convert.js';
import { registerTrainCommand } from './train.js';
import { MAX_TIMESTEPS, addNirOptions, batchArg, intInRange, nirLoadOptions, timestepsArg } from './options.js';
import { registerDemoCommand } from './demo.js';
import { registerNeuronsCommand } from './neurons.js';
import { registerReportCommand } from './report.js';
import { printable, stageProgress, warn } from './terminal.js';
import { type InputOptions, addInputOptions, loadInput, progress, report } from './predict.js';


/** T for a .nir model run without -T on a time series [N, T, ...input shape]: the data's time axis (NIR files carry no T). */
function nirTimesteps(modelPath: string, model: SnnModel, sampleShape: readonly number[], given: number | undefined): number {
  if (given !== undefined || extname(modelPath).toLowerCase() !== '.nir' || model.input.encoding.type !== 'events' || sampleShape.length < 2) return given ?? model.timesteps;
  const T = sampleShape[0];
  return Number.isInteger(T) && T >= 1 && T <= MAX_TIMESTEPS && sizeOf(sampleShape) === T * sizeOf(model.input.shape) ? T : model.timesteps;
}

const targetOption = () =>
  new Option('--target <name>', `compilation target: ${TARGETS.map((t) => `${t.name} (${t.description})`).join('; ')}`).choices(TARGETS.map((t) => t.name)).makeOptionMandatory();

/** The options the targets declare (targets/target.ts TargetOption), each registered once. */
function addTargetOptions(c: Command): Command {
  const seen = new Set<string>();
  for (const option of TARGETS.flatMap((t) => t.options ?? [])) {
    if (seen.has(option.flags)) continue;
    seen.add(option.flags);
    const o = new Option(option.flags, option.description);
    if (option.choices) o.choices([...option.choices]);
    if (option.parse) o.argParser(option.parse);
    if (option.default !== undefined) o.default(option.default);
    c.addOption(o);
  }
  return c;
}

/** The values of the targets' options, as the options fields they declare (TargetOption.field, else the camel-case name). */
function targetOptions(o: object): Record<string, unknown> {
  const values = o as Record<string, unknown>;
  const fields = TARGETS.flatMap((t) => t.options ?? []).map((option) => [new Option(option.flags).attributeName(), option.field ?? new Option(option.flags).attributeName()]);
  return Object.fromEntries(fields.filter(([name]) => values[name] !== undefined).map(([name, field]) => [field, values[name]]));
}

/** runEngine with a progress bar on stderr. */
async function runWithProgress(engine: Engine, data: Dataset): Promise<{ output: Float32Array; classes: number }> {
  const bar = progress(data.n, engine.batch);
  try {
    return await runEngine(engine, data, (done) => bar.update(done));
  } finally {
    bar.stop();
  }
}

/**
 * The `snnc` command, built from the registries at call time: every registered target appears in
 * `--target`, its options in compile/check/diff, its folders in `run` (a target registered by a plugin
 * or a test is offered like a built-in one).
 */
export function buildProgram(): Command {
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
    .option('-b, --batch <B>', `static batch size of the compiled model (default ${DEFAULT_BATCH})`, batchArg);
  addTargetOptions(addNirOptions(program.commands[program.commands.length - 1]))
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (modelPath: string, o) => {
      const model = await loadModel(modelPath, nirLoadOptions(o));
      const target = targetByName(o.target);
      const outDir = resolve(o.out ?? `${safeFileName(model.name)}.${target.name}`);
      checkOutputDir(outDir, { force: o.force }); // before compiling: a refusal should not cost a compile
      const bars = stageProgress();
      const result = await target.emit(model, outDir, { ...targetOptions(o), timesteps: o.timesteps, batch: o.batch, force: o.force, onProgress: bars.onProgress }).finally(bars.stop);
      for (const w of result.warnings ?? []) warn(w);
      if (o.json) process.stdout.write(`${JSON.stringify({ target: target.name, out: outDir, files: result.files, ...result.summary })}\n`);
      else {
        const summary = Object.entries(result.summary).map(([k, v]) => `${k} ${v}`).join(', ');
        process.stdout.write(`compiled ${modelPath} for ${target.name} → ${outDir} (${result.files.join(', ')}; ${summary})\n`);
      }
    });

  /** Rows of `check`'s table printed as text; --json has them all. */
  const CHECK_TEXT_ROWS = 100;
  program
    .command('check')
    .description('report what a model needs of a target, and whether it fits (exit 3 if not)')
    .argument('<model>', 'model file (model.json, .nir or .net)')
    .addOption(targetOption())
    .option('-T, --timesteps <T>', 'time steps per sample', timestepsArg)
    .option('-b, --batch <B>', 'batch size', batchArg);
  addTargetOptions(addNirOptions(program.commands[program.commands.length - 1]))
    .option('--json', 'print the report as JSON on stdout')
    .action(async (modelPath: string, o) => {
      const model = await loadModel(modelPath, nirLoadOptions(o));
      const bars = stageProgress();
      let report: CheckReport;
      try {
        report = targetByName(o.target).check(model, { ...targetOptions(o), timesteps: o.timesteps, batch: o.batch, onProgress: bars.onProgress });
      } finally {
        bars.stop();
      }
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        // A network of thousands of cores has a row per core: the table shows the first ones (per-layer rows come first).
        const rows = report.rows.slice(0, CHECK_TEXT_ROWS);
        const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
        const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
        const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd();
        process.stdout.write(`${[line(cols), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n')}\n`);
        if (report.rows.length > rows.length) process.stdout.write(`… and ${report.rows.length - rows.length} more rows (--json lists every one)\n`);
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
    const { output, classes } = await runWithProgress(simulatorEngine(model, T, o.batch), data);
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
    const engine = await openCompiled(dir, { backend: o.backend, providers: o.provider, threads: o.threads });
    try {
      const data = loadInput(o);
      fitToModel(data, engine.input.shape, engine.input.encoding.type === 'events' ? engine.timesteps : undefined, o.input ?? o.data!);
      const t0 = performance.now();
      const { output, classes } = await runWithProgress(engine, data);
      report(o, data, output, classes, { engine: engine.description, T: engine.timesteps }, (performance.now() - t0) / 1000);
    } finally {
      await engine.close?.();
    }
  });

  addInputOptions(
    addTargetOptions(
      addNirOptions(
        program
          .command('diff')
          .description('compare the float reference simulator with a target\'s emulator layer by layer on the same input (spike counts, mismatches, first divergence); with --target gpu --numerics loihi|spinnaker, the integer ONNX with that chip\'s emulator')
          .argument('<model>', 'model file')
          .addOption(new Option('--target <name>', 'target with an emulator').choices(TARGETS.filter((t) => t.diff).map((t) => t.name)).makeOptionMandatory())
          .option('-T, --timesteps <T>', 'time steps per sample (default: the model\'s)', timestepsArg),
      ),
    ),
  ).action(async (modelPath: string, o: InputOptions & { target: string; timesteps?: number; dt?: number; reset?: 'zero' | 'subtract' }) => {
    const model = await loadModel(modelPath, nirLoadOptions(o));
    const data = loadInput(o);
    const T = o.timesteps ?? model.timesteps;
    fitToModel(data, model.input.shape, model.input.encoding.type === 'events' ? T : undefined, o.input ?? o.data!);
    const diff = await targetByName(o.target).diff!(model, data.x, data.n, { ...targetOptions(o), timesteps: T }, { runGpu: runCompiledGpu });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(diff)}\n`);
      return;
    }
    const rows = diff.layers.map((l) => [l.layer, String(l.depth), String(l.floatSpikes), String(l.emulatorSpikes), String(l.mismatches), l.first ? `step ${l.first.step}, sample ${l.first.sample}, neuron ${l.first.neuron}` : '-']);
    const head = ['layer', 'delay', `${diff.reference ?? 'float'} spikes`, `${diff.target} spikes`, 'mismatches', 'first divergence'];
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()}\n`);
    const timing = diff.reference ? 'both on the chip\'s timing, compared step for step' : `${diff.target} delays removed: a layer at depth d is compared d steps later`;
    process.stdout.write(`${diff.samples} samples, ${diff.reference ? 'steps' : 'T'}=${diff.timesteps}: predictions agree on ${diff.agreeing}/${diff.samples} (${timing})\n`);
  });

  addNirOptions(
    program
      .command('import')
      .description('import a NIR graph (.nir) or a lava-dl NetX network (.net) into model.json, printing a diagnostic for each quirk it repaired')
      .argument('<model>', 'NIR (.nir) or NetX (.net) file')
      .requiredOption('-o, --out <model.json>', 'output model file'),
  )
    .option('-T, --timesteps <T>', 'time steps recorded in the model (default: NetX simulation/tSample, else 100)', timestepsArg)
    .option('--sidecar', 'store the weights in <name>.safetensors beside the model (automatic past 64 MiB of weights)')
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
  registerDemoCommand(program);

  program
    .command('schema')
    .description('print the JSON Schema of model.json (for editors and validators)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(modelSchema(), null, 2)}\n`);
    });
  return program;
}

/** Runs the command line `argv` (as process.argv); returns the exit code. Errors are printed, never thrown. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
