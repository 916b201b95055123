/**
 * The CLI frontend: `node bin/snnc.js` with random argument vectors drawn from the real commands and
 * options (bad numbers, bad and special paths, missing values, unknown options), each in a scratch
 * working folder that holds sentinel user files. A case fails on: exit 1 with "internal error", a stack
 * trace in the output, an exit code outside 0–3, a signal, the time limit, or a sentinel file that was
 * changed or removed without the arguments naming it as an output. Each child's peak RSS is measured
 * by a preloaded hook (rss-hook.js).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { type CaseResult, caseSeed } from './case.js';
import { FIXTURES, REPO } from './frontends.js';
import type { FrontendResult, RunOptions } from './harness.js';

const SENTINEL = 'user data, must survive\n';

/** Argument values: good ones (seed files, small numbers) and bad ones. */
function pools(seedDir: string) {
  const seed = (f: string) => join(seedDir, f);
  const badNumbers = ['0', '-1', '1e9', '0x10', 'NaN', 'Infinity', '', '1.5', ' 3', '99999999999999999999', 'abc', '2,', '-T'];
  const badPaths = ['missing.json', '/dev/null', '/dev/zero', '.', '..', 'keep.txt', 'sub', '', '/', '/proc/self/status', 'x'.repeat(300)];
  return {
    models: [seed('tiny-cnn.json'), seed('tiny-mlp.json'), join(FIXTURES, 'models/onnx_mnist_cnn_cntk/mnist.onnx'), join(FIXTURES, 'nir/paper/01_lif/lif_norse.nir'), join(FIXTURES, 'lava/tinynet/tiny.net'), join(REPO, 'examples/mnist-t1-noise/mlp-t1.json'), join(REPO, 'examples/mnist-t1-noise/mlp.arch.json'), ...badPaths],
    dirs: [seed('gpu-cnn'), seed('gpu-mlp'), seed('loihi-cnn'), seed('spinnaker-mlp'), seed('loihi-mlp'), ...badPaths],
    data: [seed('images-idx3-ubyte'), seed('x.npy'), seed('x8.npy'), ...badPaths],
    labels: [seed('labels-idx1-ubyte'), seed('labels.npy'), ...badPaths],
    numbers: ['1', '2', '4', '16', ...badNumbers],
    ranges: ['0:5', '0:20', '5:', ':3', '3:2', '0:0', '1e3:2e3', '-1:2', 'a:b', '', '0:99999999999'],
    outputs: ['out', 'out/m.json', 'y.npy', 'keep.txt', 'sub', '.', '..', '/dev/null', ''],
    choices: ['gpu', 'loihi', 'spinnaker', 'netx', 'nir', 'pynn', 'loihi1', 'loihi2', 'spinn3', 'spinn5', '2x1-boards', '0x0-boards', 'layerwise', 'scan', 'step', 'ort', 'simulator', 'mse', 'max', 'p99.9', 'qcfs', 'ann', 't1-noise', 'zero', 'subtract', 'node', 'web', 'cpu', 'cuda', 'bogus', 'all', 'if1', 'gaussian:0.5,0.29', 'uniform:0,1', 'gaussian:NaN,1', 'gaussian:0,-1'],
  };
}

const COMMANDS = ['compile', 'check', 'simulate', 'run', 'diff', 'import', 'convert', 'eval', 'train', 'report', 'schema', 'bogus', '', '--help', '--version', '-V'];
/** Options and the pool their values come from (undefined: a flag). */
const OPTIONS: [string, keyof ReturnType<typeof pools> | undefined][] = [
  ['--target', 'choices'], ['-o', 'outputs'], ['--out', 'outputs'], ['-T', 'numbers'], ['--timesteps', 'numbers'], ['-b', 'numbers'], ['--batch', 'numbers'],
  ['--schedule', 'choices'], ['--probe', 'choices'], ['--chip', 'choices'], ['--chips', 'numbers'], ['--reset-interval', 'numbers'], ['--machine', 'choices'],
  ['--atoms-per-core', 'numbers'], ['--max-summed-weight', 'numbers'], ['--json', undefined], ['--summary', undefined], ['--sidecar', undefined],
  ['--input', 'data'], ['--data', 'data'], ['--labels', 'labels'], ['--range', 'ranges'], ['--output', 'outputs'], ['--backend', 'choices'], ['--provider', 'choices'],
  ['--threads', 'numbers'], ['--dt', 'numbers'], ['--reset', 'choices'], ['--calib', 'data'], ['--calib-range', 'ranges'], ['--norm', 'choices'], ['--v0', 'choices'],
  ['--maxpool', 'choices'], ['--input-scale', 'numbers'], ['--input-mean', 'numbers'], ['--input-std', 'numbers'], ['--from', 'choices'], ['--assume-noise', 'choices'],
  ['--engine', 'choices'], ['--draws', 'numbers'], ['--mode', 'choices'], ['--val', 'data'], ['--val-labels', 'labels'], ['--val-range', 'ranges'], ['--noise', 'choices'],
  ['--epochs', 'numbers'], ['--lr', 'numbers'], ['--seed', 'numbers'], ['--limit', 'numbers'], ['--accuracy-timesteps', 'numbers'], ['--energy', 'data'], ['--percentile', 'numbers'],
  ['--force', undefined], ['--bogus-option', undefined], ['-Z', undefined], ['--', undefined], ['-h', undefined],
];
/** Output options: an argument vector that names a sentinel through one of these asked for it to be written. */
const OUTPUT_OPTIONS = new Set(['-o', '--out', '--output']);

export function cliArbitrary(seedDir: string): fc.Arbitrary<string[]> {
  const p = pools(seedDir);
  const value = (pool: keyof typeof p) => fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...p[pool]) }, { weight: 1, arbitrary: fc.constantFrom(...p.numbers, ...p.outputs) });
  const option = fc.constantFrom(...OPTIONS).chain(([name, pool]) =>
    pool ? fc.tuple(value(pool), fc.constantFrom('pair', 'pair', 'pair', 'missing', 'equals')).map(([v, how]): string[] => (how === 'missing' ? [name] : how === 'equals' && name.startsWith('--') ? [`${name}=${v}`] : [name, v])) : fc.constant<string[]>([name]),
  );
  return fc
    .tuple(fc.constantFrom(...COMMANDS), fc.option(fc.constantFrom(...p.models, ...p.dirs), { freq: 8 }), fc.array(option, { maxLength: 7 }), fc.boolean())
    .map(([cmd, positional, opts, positionalFirst]): string[] => {
      const args: string[] = opts.flat();
      const pos = positional === null ? [] : [positional];
      return [cmd, ...(positionalFirst ? [...pos, ...args] : [...args, ...pos])].filter((a, i) => i > 0 || a !== '');
    });
}

/** Command-specific argument vectors that reach the commands' work more often than random vectors do. */
export function cliTargetedArbitrary(seedDir: string): fc.Arbitrary<string[]> {
  const p = pools(seedDir);
  const pick = (pool: keyof typeof p, good: string[]) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...p[pool]) });
  const s = (f: string) => join(seedDir, f);
  const model = pick('models', [s('tiny-cnn.json'), s('tiny-mlp.json')]);
  const data = pick('data', [s('x.npy'), s('x8.npy')]);
  const T = pick('numbers', ['1', '2', '3']);
  return fc.oneof(
    fc.tuple(model, pick('choices', ['gpu', 'loihi', 'spinnaker', 'netx', 'nir', 'pynn']), T, pick('outputs', ['out'])).map(([m, t, n, o]) => ['compile', m, '--target', t, '-T', n, '-o', o]),
    fc.tuple(model, pick('choices', ['gpu', 'loihi', 'spinnaker']), pick('numbers', ['1', '4'])).map(([m, t, b]) => ['check', m, '--target', t, '-b', b]),
    fc.tuple(model, data, T, pick('outputs', ['y.npy'])).map(([m, d, n, o]) => ['simulate', m, '--input', d, '-T', n, '--output', o]),
    fc.tuple(pick('dirs', [s('gpu-cnn'), s('loihi-cnn'), s('spinnaker-mlp'), s('gpu-mlp')]), data, pick('ranges', ['0:2', '1:3'])).map(([d, x, r]) => ['run', d, '--data', x, '--range', r, '--summary']),
    fc.tuple(model, data, pick('choices', ['loihi', 'spinnaker'])).map(([m, d, t]) => ['diff', m, '--target', t, '--input', d]),
    fc.tuple(pick('models', [join(FIXTURES, 'nir/paper/01_lif/lif_norse.nir'), join(FIXTURES, 'lava/tinynet/tiny.net')]), pick('numbers', ['1e-4', '0.001']), pick('outputs', ['m.json'])).map(([m, dt, o]) => ['import', m, '--dt', dt, '-o', o]),
    fc.tuple(pick('models', [join(FIXTURES, 'models/onnx_mnist_cnn_cntk/mnist.onnx')]), pick('data', [s('images-idx3-ubyte')]), pick('ranges', ['0:10']), T, pick('choices', ['mse', 'max', 'qcfs'])).map(([m, c, r, n, norm]) => ['convert', m, '--calib', c, '--calib-range', r, '-T', n, '--norm', norm, '-o', 'c.json']),
    fc.tuple(pick('models', [join(REPO, 'examples/mnist-t1-noise/mlp-t1.json')]), T, pick('choices', ['gaussian:0.5,0.29', 'uniform:0,1'])).map(([m, n, noise]) => ['convert', m, '--from', 't1-noise', '--assume-noise', noise, '-T', n, '-o', 't.json']),
    fc.tuple(model, data, pick('numbers', ['1', '2'])).map(([m, d, n]) => ['report', m, '--data', d, '--limit', n, '-T', n]),
  );
}

function runChild(args: string[], cwd: string, timeoutMs: number, rssFile: string): Promise<{ code: number | null; signal: string | null; out: string; timedOut: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const hook = new URL('./rss-hook.js', import.meta.url).href;
    const child = spawn(process.execPath, ['--max-old-space-size=2048', '--import', hook, join(REPO, 'bin/snnc.js'), ...args], {
      cwd,
      env: { ...process.env, SNNC_DEBUG: '', NODE_OPTIONS: '', SNNC_FUZZ_RSS: rssFile, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(0, 100_000) + out.slice(-100_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, timedOut, ms: performance.now() - t0 });
    });
  });
}

/** The CLI fuzzer takes the harness's options; the heap limit does not apply to child processes. */
export type CliRunOptions = Omit<RunOptions, 'heapMb' | 'rssLimitMb'>;

export function cliArgs(seedDir: string, seed: number, index: number): string[] {
  const arb = fc.oneof(cliArbitrary(seedDir), cliTargetedArbitrary(seedDir));
  return fc.sample(arb, { seed: caseSeed(seed, 'cli', index), numRuns: 1 })[0];
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);

export async function runCliCase(o: CliRunOptions, index: number): Promise<{ result: CaseResult; maxRssKb: number }> {
  const args = cliArgs(o.seedDir, o.seed, index);
  const root = join(o.scratch, `cli-${index}`);
  const cwd = join(root, 'work');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(cwd, 'sub'), { recursive: true });
  writeFileSync(join(root, 'keep-parent.txt'), SENTINEL);
  writeFileSync(join(cwd, 'keep.txt'), SENTINEL);
  writeFileSync(join(cwd, 'sub', 'keep.txt'), SENTINEL);
  const rssFile = join(root, 'rss');
  const r = await runChild(args, cwd, o.timeoutMs, rssFile);
  const desc = `snnc ${args.map(quote).join(' ')}`;
  const maxRssKb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) || 0 : 0;
  const named = (name: string) => args.some((a, i) => (OUTPUT_OPTIONS.has(args[i - 1] ?? '') && a === name) || [...OUTPUT_OPTIONS].some((opt) => a === `${opt}=${name}`));
  const survived = (file: string) => existsSync(file) && readFileSync(file, 'utf8') === SENTINEL;
  const destroyed: string[] = [];
  // `.`, `..` and a folder of user files are never to be replaced (the latter only with --force).
  if (!survived(join(root, 'keep-parent.txt'))) destroyed.push('../keep-parent.txt');
  if (!survived(join(cwd, 'keep.txt')) && !named('keep.txt')) destroyed.push('keep.txt');
  if (!survived(join(cwd, 'sub', 'keep.txt')) && !(named('sub') && args.includes('--force'))) destroyed.push('sub/keep.txt');
  let result: CaseResult;
  const stack = /\n\s+at .+(:\d+:\d+\)?|\(node:)/.exec(r.out);
  const tail = r.out.trim().split('\n').slice(-2).join(' | ').slice(0, 400);
  if (r.timedOut) result = { index, outcome: 'hang', desc, message: `no exit within ${o.timeoutMs} ms (killed); output: ${tail}`, ms: r.ms };
  else if (r.signal) result = { index, outcome: 'crash', desc, message: `killed by ${r.signal}: ${tail}`, ms: r.ms };
  else if (destroyed.length) result = { index, outcome: 'internal', desc, message: `destroyed user files: ${destroyed.join(', ')} (exit ${r.code})`, ms: r.ms };
  else if (r.code === 1 && r.out.includes('internal error')) result = { index, outcome: 'internal', desc, message: r.out.split('\n').find((l) => l.includes('internal error'))!.slice(0, 400), ms: r.ms };
  else if (stack) result = { index, outcome: 'internal', desc, message: `stack trace in output (exit ${r.code}): ${r.out.slice(Math.max(0, stack.index - 200), stack.index + 200).replace(/\n/g, ' | ')}`, ms: r.ms };
  else if (r.code === null || r.code < 0 || r.code > 3) result = { index, outcome: 'crash', desc, message: `exit code ${r.code}: ${tail}`, ms: r.ms };
  else result = { index, outcome: r.code === 0 ? 'ok' : 'named', desc, message: r.code === 0 ? undefined : tail, ms: r.ms };
  rmSync(root, { recursive: true, force: true });
  return { result, maxRssKb };
}

export async function runCli(o: CliRunOptions): Promise<FrontendResult> {
  const first = o.first ?? 0;
  const end = first + o.cases;
  const results: CaseResult[] = [];
  let peakKb = 0;
  let slowest = 0;
  let next = first;
  const t0 = performance.now();
  const lane = async () => {
    while (next < end) {
      const index = next++;
      const { result, maxRssKb } = await runCliCase(o, index);
      peakKb = Math.max(peakKb, maxRssKb);
      if (result.outcome !== 'hang') slowest = Math.max(slowest, result.ms);
      results.push(result);
      o.onProgress?.(results.length, o.cases);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.workers) }, lane));
  return {
    frontend: 'cli',
    seed: o.seed,
    cases: results.length,
    ok: results.filter((r) => r.outcome === 'ok').length,
    named: results.filter((r) => r.outcome === 'named').length,
    skipped: 0,
    skippedExamples: [],
    failures: results.filter((r) => r.outcome === 'internal' || r.outcome === 'hang' || r.outcome === 'crash').sort((a, b) => a.index - b.index),
    hangs: results.filter((r) => r.outcome === 'hang').length,
    ms: performance.now() - t0,
    peakRssMb: peakKb / 1024,
    slowestMs: slowest,
  };
}
