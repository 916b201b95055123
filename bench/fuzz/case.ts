/**
 * One fuzz case, in whichever thread or process runs it: derive the case seed, generate the case with
 * fast-check, write it into a fresh folder, run the frontend, and classify the outcome.
 */
import { mkdirSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { SnncError } from '../../compiler/errors.js';
import type { FuzzCase, LoadedFrontend } from './frontends.js';

/** skipped: the harness could not generate or write the case (a harness problem, not snnc's). */
export type Outcome = 'ok' | 'named' | 'internal' | 'hang' | 'crash' | 'skipped';

export interface CaseResult {
  readonly index: number;
  readonly outcome: Outcome;
  readonly desc: string;
  /** For failures: "Name: message". For named errors: the message. */
  readonly message?: string;
  /** For internal errors: the innermost frames of the stack (source-mapped where possible). */
  readonly where?: string;
  readonly ms: number;
}

/** A 32-bit seed for case `index` of `frontend` in a run seeded with `seed` (FNV-1a then a mix). */
export function caseSeed(seed: number, frontend: string, index: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const ch of `${frontend}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

export function generate(arb: fc.Arbitrary<FuzzCase>, seed: number, frontend: string, index: number): FuzzCase {
  return fc.sample(arb, { seed: caseSeed(seed, frontend, index), numRuns: 1 })[0];
}

/** The first few stack frames in snnc's own code (not node_modules, not the harness). */
export function frames(e: unknown): string | undefined {
  const stack = (e as Error)?.stack;
  if (!stack) return undefined;
  const lines = stack.split('\n').filter((l) => l.trimStart().startsWith('at '));
  const own = lines.filter((l) => !l.includes('node_modules') && !l.includes('/bench/fuzz/') && !l.includes('node:'));
  return (own.length ? own : lines).slice(0, 3).map((l) => l.trim().replace(/^at /, '').replace(/file:\/\/\S*?\/(compiler|runtime|targets|cli|dist)\//, '$1/')).join(' < ');
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 500);
  return `non-Error thrown: ${String(e)}`.slice(0, 500);
}

/** Runs one generated case in `dir` (emptied first). `onStart` is told the description before the run. */
export async function runCase(fe: LoadedFrontend, frontend: string, seed: number, index: number, dir: string, onStart?: (desc: string) => void): Promise<CaseResult> {
  let c: FuzzCase | undefined;
  try {
    c = generate(fe.arb, seed, frontend, index);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await c.write(dir);
  } catch (e) {
    return { index, outcome: 'skipped', desc: c?.desc ?? '(not generated)', message: describeError(e), where: frames(e), ms: 0 };
  }
  onStart?.(c.desc);
  const t0 = performance.now();
  try {
    await fe.run(dir);
    return { index, outcome: 'ok', desc: c.desc, ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof SnncError) return { index, outcome: 'named', desc: c.desc, message: e.message.slice(0, 300), ms };
    return { index, outcome: 'internal', desc: c.desc, message: describeError(e), where: frames(e), ms };
  }
}
