/** Runs the built `snnc` command (dist/, built by `npm test`) as a user would. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function snnc(args: string[], cwd = process.cwd()): CliResult {
  const r = spawnSync(process.execPath, [resolve('bin/snnc.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, SNNC_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
