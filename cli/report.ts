/**
 * `snnc report`: activity, SynOps and energy of a model on data, or the core map of a compiled Loihi
 * folder, as text, JSON or a self-contained HTML page.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { type Command, Option } from 'commander';
import { badInput } from '../compiler/errors.js';
import { loadModel } from '../compiler/frontends/index.js';
import { checkOutputFile, writeFileAtomic } from '../compiler/io/atomic-write.js';
import { SNNC_VERSION } from '../compiler/version.js';
import { fitToModel, loadDataset, parseRange } from '../compiler/io/datasets.js';
import { accuracyVsT } from '../tools/evaluate.js';
import { measureActivity, synopsLabel } from '../tools/report/activity.js';
import { ENERGY_MODELS, estimateEnergy, readEnergyModels } from '../tools/report/energy.js';
import { renderReportHtml } from '../tools/report/html.js';
import { coreMap, coreMapText, renderCoreMapHtml } from '../tools/report/core-map.js';
import { CHIPS } from '../targets/loihi/chip.js';
import { readLoihiFolder } from '../targets/loihi/emulator.js';
import { isDemoSite } from '../tools/demo/site.js';
import { positiveInt, timestepsArg, timestepsList } from './options.js';
import { printable } from './terminal.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('per-layer spikes, firing rates, sparsity, SynOps (NeuroBench), membrane updates, footprint and energy estimates; optionally an HTML report with plots')
    .argument('<model>', 'model.json, or a folder compiled with --target loihi (its core map: cores per layer and budget use per core)')
    .option('--data <file>', 'input data (MNIST idx or .npy); required for a model.json')
    .option('--labels <file>', 'labels: adds accuracy vs T')
    .option('--range <start:end>', 'samples of --data to use')
    .option('--limit <N>', 'at most N samples for the activity measurement', positiveInt, 100)
    .option('-T, --timesteps <T>', "time steps (default: the model's)", timestepsArg)
    .option('--accuracy-timesteps <list>', 'T values for accuracy vs T (with --labels)', timestepsList, [1, 2, 4, 8, 16, 32])
    .addOption(new Option('--engine <name>', 'engine for accuracy vs T').choices(['ort', 'simulator']).default('ort'))
    .option('--energy <table.json>', 'extra energy table(s): {name, ac, neuron, mac?} in joules per operation, or a list')
    .option('-o, --out <report.html>', 'write a self-contained HTML report')
    .option('--demo <site>', 'link the HTML report to this model\'s live demo (a folder written by snnc demo)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (modelPath: string, o) => {
      if (o.out) checkOutputFile(o.out);
      if (o.demo && !(o.out && isDemoSite(o.demo))) throw badInput(o.out ? `--demo ${o.demo}: not a site written by snnc demo` : '--demo links the HTML report: give -o report.html');
      if (isDirectory(modelPath)) return reportCoreMap(modelPath, o);
      if (extname(modelPath).toLowerCase() !== '.json') throw badInput(`${modelPath}: report takes a model.json, or a folder compiled with --target loihi`);
      if (!o.data) throw badInput(`${modelPath}: --data is required to measure a model's activity`);
      const model = await loadModel(modelPath);
      const T = o.timesteps ?? model.timesteps;
      const range = o.range ? parseRange(o.range) : undefined;
      const all = loadDataset(o.data, o.labels, range);
      const events = model.input.encoding.type === 'events';
      fitToModel(all, model.input.shape, events ? T : undefined, o.data);
      const n = Math.min(o.limit, all.n);
      const activity = measureActivity(model, all.x.subarray(0, n * (all.x.length / all.n)), n, { timesteps: T });
      const energy = estimateEnergy(activity, [...ENERGY_MODELS, ...(o.energy ? readEnergyModels(o.energy) : [])]);
      const accuracy = all.labels && !events ? await accuracyVsT(model, all, [...new Set([...o.accuracyTimesteps, T])].sort((a, b) => a - b), { engine: o.engine }) : undefined;
      if (o.out) {
        const source = `${modelPath} on ${o.data}${range ? ` [${o.range}]` : ''}`;
        const demo = o.demo ? { href: relative(dirname(resolve(o.out)), join(resolve(o.demo), 'index.html')).split(sep).join('/'), folder: o.demo } : undefined;
        writeFileAtomic(o.out, renderReportHtml({ activity, energy, accuracy, source, generatedBy: `snnc ${SNNC_VERSION}`, demo }));
      }
      if (o.json) {
        const { raster: _raster, ...rest } = activity;
        process.stdout.write(`${JSON.stringify({ ...rest, energy, accuracy: accuracy ? Object.fromEntries(accuracy) : null })}\n`);
        return;
      }
      const t = activity.totals;
      const fmt = (v: number) => (v >= 1e4 ? v.toExponential(3) : Number(v.toFixed(3)).toString());
      const lines = activity.layers.map((l) =>
        [l.layer.padEnd(18), l.op.padEnd(16), l.firingRate === undefined ? ''.padEnd(10) : l.firingRate.toFixed(4).padEnd(10), l.synops ? `${synopsLabel(l.synops, fmt(l.synops.effective))}${l.encoding ? ' (encoding)' : ''}` : ''].join(' ').trimEnd(),
      );
      process.stdout.write(`${printable(activity.model)}: ${n} samples, T=${T}\n${'layer'.padEnd(18)} ${'op'.padEnd(16)} ${'rate'.padEnd(10)} effective SynOps/sample\n${lines.join('\n')}\n`);
      process.stdout.write(`totals per sample: ${fmt(t.spikes)} spikes, activation sparsity ${t.activationSparsity.toFixed(4)}, dense ${fmt(t.dense)}, effective MACs ${fmt(t.effectiveMACs)} (encoding ${fmt(t.encodingMACs)}), ACs ${fmt(t.effectiveACs)}${t.effectiveGradedSynOps ? `, graded SynOps ${fmt(t.effectiveGradedSynOps)}` : ''}, membrane updates ${fmt(t.membraneUpdates.effective)}/${fmt(t.membraneUpdates.dense)}, footprint ${t.footprintBytes} B\n`);
      for (const e of energy) process.stdout.write(`energy ${e.device.padEnd(14)} ${(e.total * 1e6).toPrecision(4)} µJ/sample${e.macsOffChip && t.effectiveMACs > 0 ? ' (encoding MACs priced off-chip)' : ''}\n`);
      if (accuracy) process.stdout.write(`accuracy: ${[...accuracy].map(([k, v]) => `T=${k} ${v.toFixed(2)} %`).join(', ')}\n`);
      if (o.out) process.stdout.write(`wrote ${o.out}\n`);
    });
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** The core map of a compiled Loihi folder: text, --json, or -o core-map.html. */
function reportCoreMap(dir: string, o: { out?: string; json?: boolean; data?: string }): void {
  if (!existsSync(join(dir, 'loihi.json'))) throw badInput(`${dir}: not a folder compiled with --target loihi (no loihi.json); core maps are drawn for Loihi folders`);
  if (o.data) throw badInput(`${dir}: --data measures a model.json; a compiled folder's report is its core map`);
  const { descriptor } = readLoihiFolder(dir);
  const map = coreMap(descriptor);
  if (o.out) writeFileAtomic(o.out, renderCoreMapHtml(map, CHIPS[descriptor.chip].coresPerChip, `snnc ${SNNC_VERSION}`));
  if (o.json) process.stdout.write(`${JSON.stringify(map)}\n`);
  else process.stdout.write(coreMapText(map));
  if (o.out && !o.json) process.stdout.write(`wrote ${o.out}\n`);
}
