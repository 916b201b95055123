/**
 * A bounded random-seed slice of the frontend fuzz harness (bench/fuzz/, issue "Reliability"): a few
 * hundred mutated inputs per frontend, and a few CLI argument vectors, each in a worker with a time
 * limit. Fails listing every failing case with its seed, case number, mutation and message; replay one
 * with `node dist/bench/fuzz/main.js --frontend NAME --seed S --case I`.
 *
 * The harness runs compiled (workers cannot load .ts), so it needs `dist/` (`npm test` builds it first).
 * FUZZ_SEED fixes the seed; FUZZ_CASES and FUZZ_CLI_CASES change the slice.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'dist/bench/fuzz/main.js');

describe('frontend fuzzing (random-seed slice)', () => {
  const dir = tempDir();
  it('every frontend: mutated inputs load or fail with a named error; no hangs, crashes or stack traces', () => {
    expect(existsSync(main), 'dist/bench/fuzz/main.js is missing: run `npx tsc -p .` first').toBe(true);
    const seed = process.env.FUZZ_SEED ?? String((Math.random() * 2 ** 31) | 0);
    const cases = process.env.FUZZ_CASES ?? '150';
    const cliCases = process.env.FUZZ_CLI_CASES ?? '16';
    const json = join(dir, 'fuzz.json');
    console.log(`fuzz seed ${seed} (${cases} cases per frontend, ${cliCases} CLI cases; FUZZ_SEED=${seed} reproduces this run)`);
    const r = spawnSync(process.execPath, [main, '--seed', seed, '--cases', cases, '--cli-cases', cliCases, '--timeout-ms', '10000', '--cli-timeout-ms', '30000', '--workers', '2', '--quiet', '--json', json], { cwd: root, encoding: 'utf8', timeout: 170_000 });
    console.log(r.stdout);
    if (r.stderr) console.log(r.stderr.slice(-2000));
    expect(existsSync(json), `the harness wrote no results (exit ${r.status}, signal ${r.signal})`).toBe(true);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { results: { frontend: string; cases: number; failures: { index: number; outcome: string; desc: string; message?: string }[] }[] };
    const failing = report.results.flatMap((fr) => fr.failures.map((f) => `${fr.frontend} seed ${seed} case ${f.index} [${f.outcome}]: ${f.message}\n    mutation: ${f.desc.slice(0, 300)}`));
    for (const fr of report.results) expect(fr.cases, `${fr.frontend}: cases run`).toBeGreaterThan(0);
    expect(failing, `fuzz seed ${seed}: ${failing.length} failing case(s)`).toEqual([]);
    expect(r.status).toBe(0);
  }, 180_000);
});
