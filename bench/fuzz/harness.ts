/**
 * The fuzz driver: runs N cases of a frontend on a pool of workers (threads with a heap limit, or child
 * processes for native code), with a watchdog per case. A case that overruns its time limit is recorded
 * as a hang and its worker is terminated and replaced; a worker that dies (out of memory, a native
 * crash) is recorded as a crash for its case and replaced. Peak RSS is sampled for the whole process
 * and reported by each child process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CaseResult } from './case.js';
import type { Frontend } from './frontends.js';
import type { FromWorker, ToWorker } from './worker.js';

export interface RunOptions {
  readonly seed: number;
  readonly cases: number;
  /** First case index (default 0): a slice [first, first + cases). */
  readonly first?: number;
  readonly timeoutMs: number;
  readonly workers: number;
  readonly seedDir: string;
  readonly scratch: string;
  /** Heap limit per worker (MiB). */
  readonly heapMb?: number;
  /**
   * Resident-memory limit (MiB): a child process above it, or the harness process (threads share it)
   * above it, has its running case(s) killed and recorded as crashes. Typed arrays live outside the V8
   * heap, so the heap limit alone does not bound them. Default 3072.
   */
  readonly rssLimitMb?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FrontendResult {
  readonly frontend: string;
  readonly seed: number;
  readonly cases: number;
  readonly ok: number;
  readonly named: number;
  /** Cases the harness could not generate or write (not counted as snnc failures); the first few. */
  readonly skipped: number;
  readonly skippedExamples: CaseResult[];
  /** Internal errors, crashes and hangs, in case order. */
  readonly failures: CaseResult[];
  readonly hangs: number;
  readonly ms: number;
  /** Peak resident set size seen (MiB): the process (threads included) or the largest child. */
  readonly peakRssMb: number;
  /** Slowest case (ms), among those that finished. */
  readonly slowestMs: number;
}

const WORKER = new URL('./worker.js', import.meta.url);

interface Channel {
  send(m: ToWorker): void;
  kill(): void;
  /** Resident bytes of a child process (undefined for a thread). */
  rss(): number | undefined;
}

function childRss(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return undefined;
  }
}

function open(frontend: Frontend, heapMb: number, onMessage: (m: FromWorker) => void, onExit: (why: string) => void): Channel {
  let exited = false;
  const exit = (why: string) => {
    if (!exited) {
      exited = true;
      onExit(why);
    }
  };
  if (frontend.isolation === 'thread') {
    const w = new Worker(WORKER, { resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 64, stackSizeMb: 4 }, stdout: true, stderr: true });
    w.stdout.resume();
    w.stderr.resume();
    w.on('message', onMessage);
    w.on('error', (e) => exit(`worker error: ${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim()));
    w.on('exit', (code) => exit(`worker exited with code ${code}`));
    return { send: (m) => w.postMessage(m), kill: () => { exited = true; void w.terminate(); }, rss: () => undefined };
  }
  const p: ChildProcess = fork(WORKER, [], { execArgv: [`--max-old-space-size=${heapMb}`, '--enable-source-maps'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-600)));
  p.on('message', (m) => onMessage(m as FromWorker));
  p.on('exit', (code, signal) => exit(`child exited with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
  return { send: (m) => p.send(m), kill: () => { exited = true; p.kill('SIGKILL'); }, rss: () => childRss(p.pid) };
}

export async function runFrontend(frontend: Frontend, o: RunOptions): Promise<FrontendResult> {
  const first = o.first ?? 0;
  const end = first + o.cases;
  const results: CaseResult[] = [];
  let next = first;
  let peakRss = process.memoryUsage().rss;
  let slowest = 0;
  const rssLimit = (o.rssLimitMb ?? 3072) * 2 ** 20;
  /** Running slots, for the memory watchdog: kill(reason) records the running case as a crash and replaces the worker. */
  const active = new Set<{ ch: Channel; kill: (why: string) => void }>();
  const sampler = setInterval(() => {
    const own = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, own);
    for (const a of [...active]) {
      const r = a.ch.rss();
      if (r !== undefined) {
        peakRss = Math.max(peakRss, r);
        if (r > rssLimit) a.kill(`child RSS ${(r / 2 ** 20).toFixed(0)} MiB over the ${o.rssLimitMb ?? 3072} MiB limit; killed`);
      }
    }
    if (frontend.isolation === 'thread' && own > rssLimit) {
      for (const a of [...active]) a.kill(`process RSS ${(own / 2 ** 20).toFixed(0)} MiB over the ${o.rssLimitMb ?? 3072} MiB limit while this case ran (with ${active.size} worker(s)); killed`);
    }
  }, 100);
  const t0 = performance.now();
  let slotSeq = 0;

  await new Promise<void>((resolve, reject) => {
    let live = 0;
    const finish = () => {
      if (live === 0) resolve();
    };
    const startSlot = () => {
      if (next >= end) return finish();
      live++;
      const id = slotSeq++;
      const scratch = join(o.scratch, `${frontend.name}-w${id}`);
      mkdirSync(scratch, { recursive: true });
      let current: { index: number; desc: string } | undefined;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      let initTimer: NodeJS.Timeout | undefined;
      const retire = () => {
        if (done) return;
        done = true;
        active.delete(entry);
        clearTimeout(timer);
        clearTimeout(initTimer);
        live--;
      };
      const record = (r: CaseResult) => {
        results.push(r);
        o.onProgress?.(results.length, o.cases);
      };
      const sendNext = () => {
        clearTimeout(timer);
        if (next >= end) {
          ch.kill();
          retire();
          return finish();
        }
        const index = next++;
        current = { index, desc: '(case not generated yet)' };
        ch.send({ type: 'case', seed: o.seed, index });
        timer = setTimeout(onTimeout, o.timeoutMs * 2 + 5000); // generation + writing; restarted at 'start'
      };
      const killWith = (outcome: 'hang' | 'crash', message: string) => {
        if (done) return;
        if (current) record({ index: current.index, outcome, desc: current.desc, message, ms: outcome === 'hang' ? o.timeoutMs : 0 });
        current = undefined;
        ch.kill();
        retire();
        startSlot();
      };
      const onTimeout = () => killWith('hang', `no result within ${o.timeoutMs} ms; worker terminated`);
      const ch = open(
        frontend,
        o.heapMb ?? 1024,
        (m) => {
          if (done) return;
          if (m.type === 'ready') {
            clearTimeout(initTimer);
            sendNext();
          } else if (m.type === 'init-failed') {
            retire();
            ch.kill();
            reject(new Error(`${frontend.name}: worker could not load the frontend: ${m.message}`));
          } else if (m.type === 'start') {
            current = { index: m.index, desc: m.desc };
            clearTimeout(timer);
            timer = setTimeout(onTimeout, o.timeoutMs);
          } else if (m.type === 'done') {
            if (frontend.isolation === 'process') peakRss = Math.max(peakRss, m.maxRssKb * 1024);
            slowest = Math.max(slowest, m.result.ms);
            record(m.result);
            current = undefined;
            sendNext();
          } else if (m.type === 'stray' && current) {
            record({ index: current.index, outcome: 'internal', desc: current.desc, message: m.message.split('\n')[0], where: m.message.split('\n').slice(1, 3).map((l) => l.trim()).join(' < '), ms: 0 });
          }
        },
        (why) => {
          if (done) return;
          if (current) record({ index: current.index, outcome: 'crash', desc: current.desc, message: why, ms: 0 });
          current = undefined;
          retire();
          startSlot();
        },
      );
      const entry = { ch, kill: (why: string) => killWith('crash', why) };
      active.add(entry);
      initTimer = setTimeout(() => {
        retire();
        ch.kill();
        reject(new Error(`${frontend.name}: worker did not start within 120 s`));
      }, 120_000);
      ch.send({ type: 'init', frontend: frontend.name, seedDir: o.seedDir, scratch });
    };
    for (let i = 0; i < Math.max(1, o.workers); i++) startSlot();
  }).finally(() => clearInterval(sampler));

  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const failures = results.filter((r) => r.outcome === 'internal' || r.outcome === 'hang' || r.outcome === 'crash').sort((a, b) => a.index - b.index);
  return {
    frontend: frontend.name,
    seed: o.seed,
    cases: results.length,
    ok: results.filter((r) => r.outcome === 'ok').length,
    named: results.filter((r) => r.outcome === 'named').length,
    skipped: results.filter((r) => r.outcome === 'skipped').length,
    skippedExamples: results.filter((r) => r.outcome === 'skipped').slice(0, 3),
    failures,
    hangs: results.filter((r) => r.outcome === 'hang').length,
    ms: performance.now() - t0,
    peakRssMb: peakRss / 2 ** 20,
    slowestMs: slowest,
  };
}

/** Groups failures by kind, normalised message and location: one entry per distinct bug. */
export function distinct(failures: readonly CaseResult[]): { key: string; count: number; example: CaseResult }[] {
  const groups = new Map<string, { key: string; count: number; example: CaseResult }>();
  for (const f of failures) {
    const msg = (f.message ?? '')
      .replace(/\/[^\s"'`:,)]*/g, 'PATH')
      .replace(/"[^"]*"/g, '"…"')
      .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')
      .slice(0, 120);
    const where = (f.where ?? '').split(' < ')[0].replace(/:\d+:\d+\)?$/, '');
    const key = `${f.outcome} | ${f.outcome === 'hang' ? '' : msg} | ${where}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { key, count: 1, example: f });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
