/**
 * Mapping at machine scale (issue 22): the synthetic networks of synthetic-networks.ts onto both chip
 * targets, the size S chosen for about 10⁶ … 10⁹ synapses: `--network deep-conv` (4 · 32² · (3S − 2)²
 * synapses from 4 kernels), `sparse-recurrent` (about 10⁷·S synapses by rule) or `columns` (S cortical
 * columns, about 8.5·10⁵·S synapses by rule). Each measurement runs in its own process, for its peak RSS:
 *   spinnaker   `snnc check --target spinnaker --machine M` (partition, keys, synaptic-row layout,
 *               placement, routing trees, table compression), with its per-stage times, the largest
 *               table, and the sampled proof by following keys (--follow keys through the compressed
 *               tables, each reaching exactly its core's targets; not timed);
 *   words       the same plus the words of spinnaker.bin in memory (what the emulator needs);
 *   emit        `snnc compile --target spinnaker`: compile and write the folder (one run);
 *   loihi       `snnc check --target loihi --chips N` (quantise, partition, descriptor).
 * Words and emit stop at --words-max-side (spinnaker.bin past 2 GiB is refused by name). Median (min–max)
 * of --runs runs after a warm-up. Prints a table and the fitted exponents of time and peak RSS against
 * synapses (least squares on logs).
 *
 *   node dist/bench/machine-scale.js [--network deep-conv --runs 3 --sides 6,10,17,30,53,100,170 --machine 1M --chips 1152]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SnnModel } from '../compiler/ir/model.js';
import { loihiTarget } from '../targets/loihi/index.js';
import { compileSpinnaker, spinnakerTarget } from '../targets/spinnaker/index.js';
import { Router, machineByName } from '../targets/spinnaker/machine.js';
import { followSampledKeys } from '../targets/spinnaker/routing.js';
import { stageLine } from '../targets/spinnaker/stages.js';
import { corticalColumns, deepConv, sparseRecurrent } from './synthetic-networks.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    sides: { type: 'string', default: '6,10,17,30,53,100,170' },
    machine: { type: 'string', default: '1M' },
    chips: { type: 'string', default: '1152' },
    'words-max-side': { type: 'string', default: '53' },
    follow: { type: 'string', default: '1000' },
    network: { type: 'string', default: 'deep-conv' },
    /** Internal: one measurement of one size in this process, printed as JSON. */
    side: { type: 'string' },
    mode: { type: 'string' },
  },
});

const NETWORKS: Record<string, (size: number) => SnnModel> = { 'deep-conv': deepConv, 'sparse-recurrent': sparseRecurrent, columns: corticalColumns };
const network = NETWORKS[values.network!];
if (!network) throw new Error(`--network must be one of ${Object.keys(NETWORKS).join(', ')}, got "${values.network}"`);

const MODES = ['spinnaker', 'words', 'emit', 'loihi'] as const;
type Mode = (typeof MODES)[number];

interface Measured {
  readonly synapses: number;
  readonly cores: number;
  readonly chips: number;
  readonly words: number;
  /** Loihi: the partitioner's lower bound on cores. */
  readonly lowerBound?: number;
  readonly ms: number[];
  readonly rssMiB: number;
  readonly stages?: string;
  /** Spinnaker: the largest routing table after compression, and keys followed / keys that went wrong. */
  readonly maxEntries?: number;
  readonly followed?: readonly [number, number];
}

const rssMiB = () => process.resourceUsage().maxRSS / 1024;

async function measureEmit(model: SnnModel, machine: string): Promise<Measured> {
  const dir = mkdtempSync(join(os.tmpdir(), 'snnc-machine-scale-'));
  try {
    const ms = await time(() => spinnakerTarget.emit(model, join(dir, 'out'), { machine, force: true }), 1, 0);
    return { synapses: 0, cores: 0, chips: 0, words: 0, ms, rssMiB: rssMiB() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureLoihi(model: SnnModel, runs: number, chips: number): Promise<Measured> {
  let report = loihiTarget.check(model, { chips });
  const ms = await time(() => (report = loihiTarget.check(model, { chips })), runs, 0);
  if (!report.fits) throw new Error(report.messages.join('; '));
  const [cores, used, bound] = /(\d+) cores on (\d+) \S+ chip\(s\); lower bound (\d+)/.exec(report.messages[0])!.slice(1).map(Number);
  return { synapses: 0, cores, chips: used, words: 0, lowerBound: bound, ms, rssMiB: rssMiB() };
}

/** One measurement in this process (all but emit: `runs` runs after a warm-up). */
async function measureHere(side: number, runs: number, mode: Mode): Promise<Measured> {
  const model = network(side);
  if (mode === 'emit') return measureEmit(model, values.machine!);
  if (mode === 'loihi') return measureLoihi(model, runs, Number(values.chips));
  const run = () => {
    const c = compileSpinnaker(model, { machine: values.machine }, mode === 'spinnaker');
    if (mode === 'words') void c.words;
    return c;
  };
  let last: ReturnType<typeof run> | undefined = run();
  const ms = await time(() => {
    last = undefined; // one compile in memory at a time
    last = run();
  }, runs, 0);
  const c = last!;
  const d = c.descriptor;
  const rss = rssMiB();
  const samples = Number(values.follow);
  const wrong = followSampledKeys(new Router(machineByName(values.machine!)), c.tables, c.senders, d.keySpace.colourBits, samples, side);
  return { synapses: d.totals.synapses, cores: d.totals.cores, chips: d.totals.chips, words: d.blob.words, ms, rssMiB: rss, stages: stageLine(c.clock.stages), maxEntries: d.totals.maxEntriesAfter, followed: [samples, wrong.length] };
}

function measureInChild(side: number, mode: Mode): Measured | string {
  const args = [fileURLToPath(import.meta.url), '--network', values.network!, '--side', String(side), '--runs', values.runs!, '--machine', values.machine!, '--chips', values.chips!, '--mode', mode];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `failed (${r.signal ?? `exit ${r.status}`}): ${r.stderr.trim().split('\n').find((l) => /Error|heap/.test(l)) ?? ''}`;
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as Measured;
}

/** Least-squares slope of log y against log x. */
function exponent(points: readonly (readonly [number, number])[]): number {
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

const cell = (m: Measured | string | undefined, once = false) => (m === undefined ? '— | —' : typeof m === 'string' ? `${m} | ` : `${once ? median(m.ms).toFixed(0) : fmt(m.ms, 0)} | ${m.rssMiB.toFixed(0)}`);

async function main(): Promise<void> {
  console.log(`# mapping ${values.network} at machine scale — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; spinnaker --machine ${values.machine}, loihi --chips ${values.chips}; median of ${values.runs} runs after a warm-up`);
  console.log('\n| S | synapses | spinnaker cores / chips | spinnaker.bin MiB | spinnaker check ms | peak RSS MiB | check + words ms | peak RSS MiB | compile (write) ms | peak RSS MiB | loihi cores / bound / chips | loihi check ms | peak RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const fits = new Map<string, [number, number][]>();
  const stages: string[] = [];
  for (const side of values.sides!.split(',').map(Number)) {
    const small = side <= Number(values['words-max-side']);
    const runs = (mode: Mode) => mode === 'spinnaker' || mode === 'loihi' || small;
    const m = Object.fromEntries(MODES.map((mode) => [mode, runs(mode) ? measureInChild(side, mode) : undefined])) as Record<Mode, Measured | string | undefined>;
    const s = m.spinnaker;
    if (typeof s === 'string' || s === undefined) {
      console.log(`| ${side} | | | | ${cell(s)} | | | | | | | |`);
      continue;
    }
    const l = m.loihi;
    const loihi = typeof l === 'object' ? `${l.cores} / ${l.lowerBound} / ${l.chips}` : '';
    console.log(`| ${side} | ${s.synapses} | ${s.cores} / ${s.chips} | ${((s.words * 4) / 2 ** 20).toFixed(1)} | ${cell(s)} | ${cell(m.words)} | ${cell(m.emit, true)} | ${loihi} | ${cell(l)} |`);
    stages.push(`S = ${side}: ${s.stages}; largest table ${s.maxEntries} entries; ${s.followed![0]} sampled keys followed, ${s.followed![1]} wrong`);
    for (const mode of MODES) {
      const r = m[mode];
      if (typeof r !== 'object') continue;
      for (const [what, y] of [['time', median(r.ms)], ['peak RSS', r.rssMiB]] as const) fits.set(`${what} of ${mode}`, [...(fits.get(`${what} of ${mode}`) ?? []), [s.synapses, y]]);
    }
  }
  console.log(`\nspinnaker check per stage (last run):\n${stages.map((l) => `- ${l}`).join('\n')}`);
  console.log(`\nfitted exponents (∝ synapses^b): ${[...fits].filter(([, p]) => p.length >= 2).map(([k, p]) => `${k} ${exponent(p).toFixed(2)}`).join(', ')}`);
}

if (values.side) console.log(JSON.stringify(await measureHere(Number(values.side), Number(values.runs), values.mode as Mode)));
else await main();
