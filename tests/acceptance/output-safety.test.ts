/**
 * Output safety: `-o` and `--output` never destroy what a user has (the current folder, its parent, a
 * folder of theirs, a file, a device), a model's name never chooses where output goes, replacement is
 * atomic, temporaries of killed runs are cleaned, and I/O failures name the user's path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import { checkOutputDir, cleanStaleTemporaries, safeFileName, writeDirAtomic, writeFileAtomic } from '../../compiler/io/atomic-write.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const NIR = '../shared/fixtures/nir/paper/03_rnn/braille_noDelay_bias_zero.nir';
const TINY = {
  format: 'snnc-model',
  version: 1,
  name: 'tiny',
  timesteps: 4,
  dt: 0.001,
  input: { shape: [3], encoding: { type: 'rate', seed: 1 }, preprocess: { scale: 1, mean: [0], std: [1] } },
  layers: [
    { name: 'fc', type: 'dense', inputs: ['input'], weight: [[1, 0, 0], [0, 1, 0]] },
    { name: 'n1', type: 'if', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0 },
  ],
  output: { layer: 'n1', decoding: 'spike_count' },
  metadata: {},
};

/** A scratch folder holding the tiny model and a file of the user's. */
function workspace(name: string, modelName = 'tiny'): { cwd: string; model: string; userFile: string } {
  const cwd = join(dir, name);
  mkdirSync(cwd, { recursive: true });
  const model = join(cwd, 'model.json');
  writeFileSync(model, JSON.stringify({ ...TINY, name: modelName }));
  const userFile = join(cwd, 'thesis.tex');
  writeFileSync(userFile, 'three years of work');
  return { cwd, model, userFile };
}

/** A process id that is not running (for temporaries "left by a killed run"). */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

describe('-o never destroys the user\'s files', () => {
  for (const target of ['gpu', 'loihi', 'nir']) {
    it(`compile --target ${target}: -o . and -o .. are refused, the user's files survive`, () => {
      const w = workspace(`dots-${target}`);
      const sub = join(w.cwd, 'sub');
      mkdirSync(sub);
      for (const [cwd, out] of [[w.cwd, '.'], [sub, '..'], [w.cwd, w.cwd], [w.cwd, '/']]) {
        for (const force of [[], ['--force']]) {
          const r = snnc(['compile', w.model, '--target', target, '-o', out, ...force], cwd);
          expect(r.code, `${out} ${force}`).toBe(2);
          expect(r.stderr).toMatch(/current folder|above the current one|name a new folder/);
        }
      }
      expect(readFileSync(w.userFile, 'utf8')).toBe('three years of work');
      expect(readdirSync(w.cwd).sort()).toEqual(['model.json', 'sub', 'thesis.tex']);
    });
  }

  it('-o onto a folder holding a user\'s file is refused; --force replaces it', () => {
    const w = workspace('foreign');
    const out = join(w.cwd, 'results');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = snnc(['compile', w.model, '--target', 'gpu', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${out}: exists and holds files snnc did not write ("notes.txt"); name a new folder, or pass --force to replace it`);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    const f = snnc(['compile', w.model, '--target', 'gpu', '-o', out, '--force']);
    expect(f.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'model.onnx']);
  });

  it('-o onto a file is refused, even with --force; the file survives', () => {
    const w = workspace('onto-file');
    for (const force of [[], ['--force']]) {
      const r = snnc(['compile', w.model, '--target', 'loihi', '-o', w.userFile, ...force]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${w.userFile}: exists and is a file; the output must be a new folder or one snnc wrote`);
    }
    expect(readFileSync(w.userFile, 'utf8')).toBe('three years of work');
  });

  it('devices are refused as outputs: -o /dev/null, --output /dev/null, convert -o /dev/null', () => {
    const w = workspace('devices');
    const c = snnc(['compile', w.model, '--target', 'gpu', '-o', '/dev/null']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('/dev/null: exists and is a character device');
    const x = join(w.cwd, 'x.npy');
    execFileSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(x)}, Buffer.concat([Buffer.from('\\x93NUMPY\\x01\\x00v\\x00'), Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117) + '\\n'), Buffer.alloc(24)]))`]);
    const s = snnc(['simulate', w.model, '--input', x, '--output', '/dev/null']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('/dev/null: exists and is a character device; the output must be a regular file or a new path');
    const m = snnc(['import', NIR, '-o', '/dev/null']);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('/dev/null: exists and is a character device');
  });

  it('recompiling into a folder snnc wrote replaces it; a user file added there makes it foreign', () => {
    const w = workspace('recompile');
    const out = join(w.cwd, 'out');
    for (const target of ['gpu', 'loihi', 'spinnaker', 'nir', 'pynn']) {
      expect(snnc(['compile', w.model, '--target', target, '-o', out]).code, target).toBe(0);
      expect(snnc(['compile', w.model, '--target', target, '-o', out]).code, `${target} again`).toBe(0);
    }
    writeFileSync(join(out, 'plot.png'), 'user');
    expect(snnc(['compile', w.model, '--target', 'gpu', '-o', out]).code).toBe(2);
    expect(readFileSync(join(out, 'plot.png'), 'utf8')).toBe('user');
  });
});

describe('the model\'s name never chooses the output path', () => {
  it('safeFileName drops separators, dots and control characters', () => {
    expect(safeFileName('../../etc/evil')).toBe('_.._etc_evil');
    expect(safeFileName('/abs/path')).toBe('_abs_path');
    expect(safeFileName('a\nb\u001b[31mc')).toBe('a_b_[31mc');
    expect(safeFileName('...')).toBe('model');
    expect(safeFileName('x'.repeat(300))).toHaveLength(100);
  });

  it('compile without -o writes into the current folder under a safe name, and the terminal gets no escapes', () => {
    for (const name of ['../../escape', `${dir}/absolute`, 'evil\n\u001b[2J']) {
      const w = workspace(`names-${name.length}`, name);
      const r = snnc(['compile', w.model, '--target', 'gpu'], w.cwd);
      expect(r.code, name).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      const made = readdirSync(w.cwd).filter((f) => f.endsWith('.gpu'));
      expect(made).toEqual([`${safeFileName(name)}.gpu`]);
    }
    expect(existsSync(join(dir, 'escape.gpu'))).toBe(false);
    expect(existsSync(join(dir, 'absolute.gpu'))).toBe(false);
  });
});

describe('atomic replacement and temporaries of killed runs', () => {
  it('stale temporaries (their process is gone) are removed by the next write; live ones are kept', async () => {
    const w = join(dir, 'stale');
    mkdirSync(w);
    const dead = deadPid();
    mkdirSync(join(w, `.out.tmp-${dead}-1700000000000`));
    writeFileSync(join(w, `.model.json.tmp-${dead}-1700000000000`), 'half');
    mkdirSync(join(w, `.out.tmp-${process.pid}-1`)); // this process: alive
    await writeDirAtomic(join(w, 'out'), (tmp) => writeFileSync(join(tmp, 'a'), 'x'));
    expect(readdirSync(w).sort()).toEqual([`.out.tmp-${process.pid}-1`, 'out']);
  });

  it('a folder moved aside when its run was killed is restored when the new one never arrived', () => {
    const w = join(dir, 'restore');
    mkdirSync(w);
    const old = join(w, `.out.tmp-${deadPid()}-1700000000000.old`);
    mkdirSync(old);
    writeFileSync(join(old, 'manifest.json'), '{}');
    cleanStaleTemporaries(w);
    expect(readdirSync(w)).toEqual(['out']);
    expect(readFileSync(join(w, 'out', 'manifest.json'), 'utf8')).toBe('{}');
  });

  it('a failing fill leaves the old folder intact and no temporary', async () => {
    const w = join(dir, 'failing');
    await writeDirAtomic(join(w, 'out'), (tmp) => writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ format: 'snnc-x', snncVersion: '0', files: [] })));
    await expect(writeDirAtomic(join(w, 'out'), () => {
      throw new SnncError('boom');
    })).rejects.toThrow('boom');
    expect(readdirSync(w)).toEqual(['out']);
    expect(readdirSync(join(w, 'out'))).toEqual(['manifest.json']);
  });
});

describe('I/O failures name the user\'s path', () => {
  it('a path too long for the file system: exit 1 naming the path, not a temporary', () => {
    const w = workspace('long');
    const out = join(w.cwd, 'x'.repeat(300));
    const r = snnc(['compile', w.model, '--target', 'gpu', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`snnc: error: ${out}: cannot write (ENAMETOOLONG: name too long)\n`);
    expect(readdirSync(w.cwd).sort()).toEqual(['model.json', 'thesis.tex']);
  });

  it('a folder on the output path that is a file', () => {
    const w = workspace('notdir');
    expect(() => checkOutputDir(join(w.userFile, 'out'))).toThrow(`${join(w.userFile, 'out')}: a folder on this path is a file`);
    expect(() => writeFileAtomic(join(w.userFile, 'y.npy'), 'x')).toThrow(/thesis.tex\/y.npy: (a folder on this path is a file|cannot write \(ENOTDIR)/);
  });
});
