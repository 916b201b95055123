/**
 * What `snnc simulate` and `snnc run` share: the input options (--input | --data/--labels/--range), the
 * per-sample prediction listing, accuracy, --output y.npy and --json.
 */
import type { Command } from 'commander';
import { stderrBar } from './terminal.js';
import { badInput } from '../compiler/errors.js';
import { checkOutputFile } from '../compiler/io/atomic-write.js';
import { writeNpyFloat32 } from '../compiler/io/npy.js';
import { type Dataset, loadDataset, parseRange } from '../compiler/io/datasets.js';
import { accuracy, predictions } from '../compiler/reference/predictions.js';

export interface InputOptions {
  input?: string;
  data?: string;
  labels?: string;
  range?: string;
  output?: string;
  json?: boolean;
  summary?: boolean;
}

export function addInputOptions(cmd: Command): Command {
  return cmd
    .option('--input <x.npy>', 'input samples: float32 .npy [N, ...input shape] (raw values, e.g. pixels 0–255); [N, T, ...] for event input')
    .option('--data <file>', 'dataset file: MNIST idx (.gz too) or .npy, samples on the first axis')
    .option('--labels <file>', 'labels for --data (idx or .npy); prints accuracy')
    .option('--range <start:end>', 'use samples START to END-1 of --data')
    .option('--output <y.npy>', 'write the decoded outputs as float32 [N, classes]')
    .option('--summary', 'print only the summary, not one line per sample')
    .option('--json', 'print machine-readable results on stdout');
}

export function loadInput(o: InputOptions): Dataset {
  if (o.input && o.data) throw badInput('give either --input or --data, not both');
  const path = o.input ?? o.data;
  if (!path) throw badInput('no input: give --input x.npy or --data FILE [--labels FILE]');
  if (o.input && (o.labels || o.range)) throw badInput('--labels and --range go with --data');
  if (o.output) checkOutputFile(o.output); // before the run, not after
  return loadDataset(path, o.labels, o.range ? parseRange(o.range) : undefined);
}

/** A progress bar on stderr for runs of several batches, when stderr is a terminal. */
export function progress(total: number, batch: number): { update(done: number): void; stop(): void } {
  if (!process.stderr.isTTY || total <= batch) return { update() {}, stop() {} };
  const bar = stderrBar('{bar} {value}/{total} samples | {eta_formatted} left');
  bar.start(total, 0);
  return { update: (d) => bar.update(d), stop: () => bar.stop() };
}

export function report(o: InputOptions, data: Dataset, output: Float32Array, classes: number, extra: Record<string, unknown>, seconds: number): void {
  if (classes === 1) return reportValues(o, data, output, extra, seconds);
  const predicted = predictions(output, data.n, classes);
  const acc = data.labels ? accuracy(predicted, data.labels) : null;
  const correct = acc === null ? 0 : Math.round((acc * data.n) / 100);
  if (o.output) writeNpyFloat32(o.output, output, [data.n, classes]);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...extra, samples: data.n, first: data.offset, accuracy: acc, predictions: predicted, seconds: Number(seconds.toFixed(3)) })}\n`);
    return;
  }
  if (!o.summary) {
    const lines = predicted.map((p, i) => `${data.offset + i}\t${p}${data.labels ? `\t${data.labels[i]}` : ''}`);
    process.stdout.write(`sample\tpredicted${data.labels ? '\tlabel' : ''}\n${lines.join('\n')}\n`);
  }
  const { rate, what } = summaryParts(data, extra, seconds);
  if (acc !== null) process.stdout.write(`accuracy ${acc.toFixed(2)} % (${correct}/${data.n}) — ${what}, ${rate}\n`);
  else process.stdout.write(`${data.n} samples — ${what}, ${rate}\n`);
  if (o.output) process.stdout.write(`wrote ${o.output} [${data.n}, ${classes}]\n`);
}

function summaryParts(data: Dataset, extra: Record<string, unknown>, seconds: number): { rate: string; what: string } {
  return { rate: `${seconds.toFixed(2)} s, ${(data.n / seconds).toFixed(0)} samples/s`, what: Object.entries(extra).map(([k, v]) => `${k} ${v}`).join(', ') };
}

/** A model with one output (a regression, e.g. PilotNet's steering angle): its decoded value per sample, not a class. */
function reportValues(o: InputOptions, data: Dataset, output: Float32Array, extra: Record<string, unknown>, seconds: number): void {
  if (data.labels) throw badInput('--labels: the model has a single output (a value, not classes), so there is no accuracy to compute');
  if (o.output) writeNpyFloat32(o.output, output, [data.n, 1]);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...extra, samples: data.n, first: data.offset, outputs: Array.from(output), seconds: Number(seconds.toFixed(3)) })}\n`);
    return;
  }
  if (!o.summary) process.stdout.write(`sample\toutput\n${Array.from(output, (v, i) => `${data.offset + i}\t${v}`).join('\n')}\n`);
  const { rate, what } = summaryParts(data, extra, seconds);
  process.stdout.write(`${data.n} samples — ${what}, ${rate}\n`);
  if (o.output) process.stdout.write(`wrote ${o.output} [${data.n}, 1]\n`);
}
