/**
 * The fuzz worker: a worker thread (or, for frontends with native code, a forked child process) that
 * loads one frontend's seeds once and then runs the cases the parent sends, one at a time. Before each
 * run it reports the case's description, so the parent can name a case it has to kill.
 */
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { runCase } from './case.js';
import { frontendByName, type LoadedFrontend } from './frontends.js';

process.setSourceMapsEnabled(true);

export type ToWorker = { type: 'init'; frontend: string; seedDir: string; scratch: string } | { type: 'case'; seed: number; index: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; message: string }
  | { type: 'start'; index: number; desc: string }
  | { type: 'done'; result: import('./case.js').CaseResult; maxRssKb: number }
  | { type: 'stray'; message: string };

const send = (m: FromWorker) => (parentPort ? parentPort.postMessage(m) : process.send!(m));

let loaded: LoadedFrontend | undefined;
let name = '';
let scratch = '';

// An error that escapes the awaited case (a floating promise, an emitter) is reported against the running case.
process.on('unhandledRejection', (e) => send({ type: 'stray', message: `unhandled rejection: ${(e as Error)?.stack ?? e}`.slice(0, 800) }));
process.on('uncaughtException', (e) => send({ type: 'stray', message: `uncaught exception: ${(e as Error)?.stack ?? e}`.slice(0, 800) }));

async function onMessage(m: ToWorker): Promise<void> {
  if (m.type === 'init') {
    try {
      const f = frontendByName(m.frontend);
      if (!f) throw new Error(`unknown frontend ${m.frontend}`);
      loaded = await f.load(m.seedDir);
      name = m.frontend;
      scratch = m.scratch;
      send({ type: 'ready' });
    } catch (e) {
      send({ type: 'init-failed', message: (e as Error)?.stack ?? String(e) });
    }
    return;
  }
  const result = await runCase(loaded!, name, m.seed, m.index, join(scratch, 'case'), (desc) => send({ type: 'start', index: m.index, desc }));
  send({ type: 'done', result, maxRssKb: process.resourceUsage().maxRSS });
}

if (parentPort) parentPort.on('message', (m: ToWorker) => void onMessage(m));
else process.on('message', (m: ToWorker) => void onMessage(m));
