/**
 * Fuzz harness over every snnc frontend (issue "Reliability"): model.json, .safetensors, .npy, idx/.gz,
 * ONNX, NIR, NetX, compiled loihi/spinnaker/gpu folders, and the CLI's arguments. Each case is a
 * fast-check-generated mutation of a valid seed input, run in a worker with a time limit; a case passes
 * when it loads (and runs) or fails with snnc's own named error (SnncError; for the CLI: one error line,
 * exit 2/3, or 1 without "internal error"). Anything else — another exception, a hang, a crash, a stack
 * trace, a destroyed user file — is a failure, printed with its seed and case number.
 *
 *   npm run bench:fuzz -- [--frontend NAME[,NAME…]|all] [--cases N] [--cli-cases N] [--seed S]
 *                         [--timeout-ms MS] [--workers W] [--json FILE]
 *   npm run bench:fuzz -- --frontend NAME --seed S --case I [--out DIR]   # replay one case, full stack
 *
 * Exit 1 if any case failed. The default seed is random and printed first.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SnncError } from '../../compiler/errors.js';
import { generate } from './case.js';
import { cliArgs, runCli, runCliCase } from './cli-fuzz.js';
import { FRONTENDS, frontendByName, prepareSeeds } from './frontends.js';
import { type FrontendResult, distinct, runFrontend } from './harness.js';

process.setSourceMapsEnabled(true);

const ALL = [...FRONTENDS.map((f) => f.name), 'cli'];

const { values } = parseArgs({
  options: {
    frontend: { type: 'string', default: 'all' },
    cases: { type: 'string', default: '1000' },
    'cli-cases': { type: 'string' },
    seed: { type: 'string' },
    'timeout-ms': { type: 'string', default: '10000' },
    'cli-timeout-ms': { type: 'string', default: '60000' },
    workers: { type: 'string', default: '2' },
    'rss-limit-mb': { type: 'string', default: '3072' },
    first: { type: 'string', default: '0' },
    case: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`usage: node dist/bench/fuzz/main.js [--frontend NAME[,NAME...]|all] [--cases N] [--cli-cases N] [--seed S] [--timeout-ms MS] [--cli-timeout-ms MS] [--workers W] [--rss-limit-mb MB] [--first I] [--json FILE]
       node dist/bench/fuzz/main.js --frontend NAME --seed S --case I [--out DIR]   (replay one case)
frontends: ${ALL.join(', ')}
`);
  process.exit(0);
}

const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) {
    process.stderr.write(`--${name} must be an integer, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};

const seed = values.seed !== undefined ? int('seed', values.seed) : (Math.random() * 2 ** 31) | 0;
const names = values.frontend === 'all' ? ALL : values.frontend!.split(',').map((s) => s.trim());
for (const n of names) {
  if (!ALL.includes(n)) {
    process.stderr.write(`unknown frontend "${n}" (frontends: ${ALL.join(', ')})\n`);
    process.exit(2);
  }
}
const cases = int('cases', values.cases);
const cliCases = values['cli-cases'] !== undefined ? int('cli-cases', values['cli-cases']) : cases;
const timeoutMs = int('timeout-ms', values['timeout-ms']);
const cliTimeoutMs = int('cli-timeout-ms', values['cli-timeout-ms']);
const workers = int('workers', values.workers);
const first = int('first', values.first);
const rssLimitMb = int('rss-limit-mb', values['rss-limit-mb']);

const root = mkdtempSync(join(tmpdir(), 'snnc-fuzz-'));
const seedDir = join(root, 'seeds');
const scratch = join(root, 'scratch');
mkdirSync(scratch, { recursive: true });
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

await prepareSeeds(seedDir);

if (values.case !== undefined) {
  // Replay one case in this process and show everything about it.
  const index = int('case', values.case);
  const name = names[0];
  if (name === 'cli') {
    console.log(`seed ${seed} case ${index}: ${cliArgs(seedDir, seed, index).join(' ')}`);
    const { result, maxRssKb } = await runCliCase({ seed, cases: 1, timeoutMs: cliTimeoutMs, workers: 1, seedDir, scratch }, index);
    console.log(JSON.stringify({ ...result, maxRssMb: maxRssKb / 1024 }, null, 1));
    process.exit(result.outcome === 'ok' || result.outcome === 'named' ? 0 : 1);
  }
  const fe = await frontendByName(name)!.load(seedDir);
  const c = generate(fe.arb, seed, name, index);
  const dir = values.out ?? join(root, 'case');
  mkdirSync(dir, { recursive: true });
  await c.write(dir);
  console.log(`frontend ${name}, seed ${seed}, case ${index}\n  mutation: ${c.desc}\n  files: ${dir}${values.out ? '' : ' (removed at exit; pass --out DIR to keep them)'}`);
  const t0 = performance.now();
  try {
    await fe.run(dir);
    console.log(`  ok (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (e) {
    if (e instanceof SnncError) console.log(`  named error (${(performance.now() - t0).toFixed(0)} ms): ${e.message}`);
    else {
      console.log(`  INTERNAL ERROR (${(performance.now() - t0).toFixed(0)} ms):\n${(e as Error)?.stack ?? e}`);
      process.exit(1);
    }
  }
  process.exit(0);
}

console.log(`snnc fuzz: seed ${seed}, ${cases} cases per frontend (cli: ${cliCases}), cases ${first}…, time limit ${timeoutMs} ms per case (cli ${cliTimeoutMs} ms), ${workers} workers, heap limit 1024 MiB per worker, RSS limit ${rssLimitMb} MiB per child process (and for the harness process with its worker threads)`);
const results: FrontendResult[] = [];
for (const name of names) {
  const progress = values.quiet || !process.stderr.isTTY ? undefined : (d: number, t: number) => process.stderr.write(`\r  ${name}: ${d}/${t}`);
  const r =
    name === 'cli'
      ? await runCli({ seed, cases: cliCases, first, timeoutMs: cliTimeoutMs, workers, seedDir, scratch, onProgress: progress })
      : await runFrontend(frontendByName(name)!, { seed, cases, first, timeoutMs, workers, seedDir, scratch, rssLimitMb, onProgress: progress });
  if (progress) process.stderr.write('\r\x1b[K');
  results.push(r);
  const internal = r.failures.filter((f) => f.outcome !== 'hang').length;
  console.log(
    `${name.padEnd(17)} ${String(r.cases).padStart(6)} cases  ok ${String(r.ok).padStart(6)}  named ${String(r.named).padStart(6)}${r.skipped ? `  skipped ${r.skipped}` : ''}  failures ${String(internal).padStart(4)}  hangs ${String(r.hangs).padStart(3)}  ` +
      `${(r.ms / 1000).toFixed(1).padStart(6)} s  ${(r.cases / (r.ms / 1000)).toFixed(1).padStart(6)} cases/s  slowest ${r.slowestMs.toFixed(0)} ms  peak RSS ${r.peakRssMb.toFixed(0)} MiB`,
  );
  if (r.skipped) console.log(`  (${r.skipped} case(s) the harness could not write, e.g. case ${r.skippedExamples[0].index}: ${r.skippedExamples[0].message})`);
  for (const g of distinct(r.failures)) {
    const e = g.example;
    console.log(`  FAIL ×${g.count} [${e.outcome}] seed ${seed} case ${e.index}: ${e.message}${e.where ? `\n      at ${e.where}` : ''}\n      mutation: ${e.desc.slice(0, 400)}\n      replay: node dist/bench/fuzz/main.js --frontend ${name} --seed ${seed} --case ${e.index}`);
  }
}
const total = results.reduce((n, r) => n + r.failures.length, 0);
const rss = process.resourceUsage().maxRSS / 1024;
console.log(`${total === 0 ? 'PASS' : 'FAIL'}: ${total} failing case(s) over ${results.reduce((n, r) => n + r.cases, 0)} cases; seed ${seed}; harness peak RSS ${rss.toFixed(0)} MiB (threads included), largest child ${Math.max(0, ...results.filter((r) => r.frontend === 'cli' || r.frontend === 'gpu-folder').map((r) => r.peakRssMb)).toFixed(0)} MiB`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ seed, cases, timeoutMs, harnessPeakRssMb: rss, results: results.map((r) => ({ ...r, distinct: distinct(r.failures).map((g) => ({ count: g.count, key: g.key, example: g.example })) })) }, null, 1)}\n`);
process.exit(total === 0 ? 0 : 1);
