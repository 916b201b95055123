/**
 * SpiNNaker compile at machine scale (issue 22): a synthetic deep conv IF network (events [32, S, S] →
 * 4 × (conv 3×3, 32 → 32 channels, same padding → IF)) on grids sized for about 10⁶ … 10⁸ synapses.
 * Each measurement runs in its own process, for its peak RSS: `check` (compile to the descriptor, as
 * `snnc check` does; median (min–max) of several runs after a warm-up), `words` (the same plus the
 * words of spinnaker.bin in memory, as the emulator needs them) and `emit` (one `snnc compile`: compile
 * and write the folder). Prints a table and the fitted exponents of time and peak RSS against
 * synapses (least squares on logs).
 *
 *   node dist/bench/spinnaker-scale.js [--runs 3 --sides 6,10,17,30,53 --machine 2x2-boards]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as L from '../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../compiler/ir/model.js';
import { tensor } from '../compiler/ir/tensor.js';
import { compileSpinnaker, spinnakerTarget } from '../targets/spinnaker/index.js';
import { fmt, median, time } from './timing.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    sides: { type: 'string', default: '6,10,17,30,53' },
    machine: { type: 'string', default: '2x2-boards' },
    /** Internal: one measurement of one size in this process, printed as JSON. */
    side: { type: 'string' },
    mode: { type: 'string' },
  },
});

const MODES = ['check', 'words', 'emit'] as const;
type Mode = (typeof MODES)[number];

/** 4 conv 3×3 layers of 32 channels on an S × S grid: 4 · 32² · (3S − 2)² synapses. */
function deepConv(side: number): SnnModel {
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const w = (shape: number[]) => tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() >= 0 ? 0.02 : -0.02) + rand() * 0.2));
  const same = { stride: [1, 1] as const, padding: [1, 1, 1, 1] as const, groups: 1 };
  const layers: L.Layer[] = [];
  let from = INPUT;
  for (let i = 1; i <= 4; i++) {
    layers.push(L.conv2d({ name: `c${i}`, inputs: [from], weight: w([32, 32, 3, 3]), ...same }));
    layers.push(L.ifNeuron({ name: `n${i}`, inputs: [`c${i}`], threshold: 1, reset: 'zero', v0: 0 }));
    from = `n${i}`;
  }
  return {
    name: `deep-conv-${side}`,
    input: { shape: [32, side, side], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } },
    layers,
    output: { layer: from, decoding: 'spike_count' },
    timesteps: 8,
    dt: 0.001,
    metadata: {},
  };
}

interface Measured {
  readonly synapses: number;
  readonly cores: number;
  readonly words: number;
  readonly ms: number[];
  readonly rssMiB: number;
}

/** One measurement in this process (check and words: `runs` runs after a warm-up; emit: one run). */
async function measureHere(side: number, runs: number, machine: string, mode: Mode): Promise<Measured> {
  const model = deepConv(side);
  if (mode === 'emit') {
    const dir = mkdtempSync(join(os.tmpdir(), 'snnc-spinnaker-scale-'));
    try {
      const ms = await time(() => spinnakerTarget.emit(model, join(dir, 'out'), { machine, force: true }), 1, 0);
      return { synapses: 0, cores: 0, words: 0, ms, rssMiB: process.resourceUsage().maxRSS / 1024 };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const run = () => {
    const c = compileSpinnaker(model, { machine });
    if (mode === 'words') void c.words;
    return c;
  };
  let last: ReturnType<typeof run> | undefined = run();
  const ms = await time(() => {
    last = undefined; // one compile in memory at a time
    last = run();
  }, runs, 0);
  const d = last!.descriptor;
  return { synapses: d.totals.synapses, cores: d.totals.cores, words: d.blob.words, ms, rssMiB: process.resourceUsage().maxRSS / 1024 };
}

function measureInChild(side: number, mode: Mode): Measured | string {
  const args = [fileURLToPath(import.meta.url), '--side', String(side), '--runs', values.runs!, '--machine', values.machine!, '--mode', mode];
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

if (values.side) {
  console.log(JSON.stringify(await measureHere(Number(values.side), Number(values.runs), values.machine!, values.mode as Mode)));
} else {
  console.log(`# spinnaker compile at scale — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, machine ${values.machine}, median of ${values.runs} runs after a warm-up`);
  console.log('\n| S | synapses | cores | spinnaker.bin MiB | check ms | check peak RSS MiB | check + words ms | peak RSS MiB | emit ms | emit peak RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const fits = new Map<string, [number, number][]>();
  for (const side of values.sides!.split(',').map(Number)) {
    const [check, words, emit] = MODES.map((mode) => measureInChild(side, mode));
    const cells = [check, words, emit].map((m, i) => (typeof m === 'string' ? `${m} | ` : `${i === 2 ? median(m.ms).toFixed(0) : fmt(m.ms, 0)} | ${m.rssMiB.toFixed(0)}`));
    const about = typeof check === 'string' ? ' | | ' : `${check.synapses} | ${check.cores} | ${((check.words * 4) / 2 ** 20).toFixed(1)}`;
    console.log(`| ${side} | ${about} | ${cells.join(' | ')} |`);
    if (typeof check === 'string') continue;
    [check, words, emit].forEach((m, i) => {
      if (typeof m === 'string') return;
      for (const [what, y] of [['time', median(m.ms)], ['peak RSS', m.rssMiB]] as const) {
        const k = `${what} of ${MODES[i]}`;
        fits.set(k, [...(fits.get(k) ?? []), [check.synapses, y]]);
      }
    });
  }
  console.log(`\nfitted exponents (∝ synapses^b): ${[...fits].filter(([, p]) => p.length >= 2).map(([k, p]) => `${k} ${exponent(p).toFixed(2)}`).join(', ')}`);
}
