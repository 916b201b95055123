/**
 * Independent validation of the emitted ONNX with the reference checker (Debian's python3-onnx 1.12,
 * full_check: strict shape inference through Scan bodies), for every schedule. `.ci/run` installs it;
 * where it cannot be installed the test is reported as skipped, never as passed.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGpu } from '../../targets/gpu/index.js';
import { SCHEDULES } from '../../targets/gpu/schedules.js';
import { ALL_MODELS } from '../helpers/models.js';
import { tempDir } from '../helpers/tmp.js';

const PYTHON = '/usr/bin/python3';
const hasOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
const dir = tempDir();

describe.skipIf(!hasOnnx)('onnx.checker (full_check)', () => {
  it('accepts every test model in every schedule, with probes', () => {
    const files: string[] = [];
    for (const [name, make] of Object.entries(ALL_MODELS)) {
      for (const schedule of SCHEDULES) {
        const path = join(dir, `${name}-${schedule}.onnx`);
        writeFileSync(path, compileGpu(make(), { schedule, batch: 3, probes: 'all' }).onnx);
        files.push(path);
      }
    }
    const script = 'import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok", len(sys.argv) - 1)';
    const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`ok ${files.length}`);
  });
});
