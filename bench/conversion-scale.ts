/**
 * ANN→SNN conversion at ImageNet scale (issue 21): torchvision ResNet-18, MobileNetV2 and VGG-11 as
 * `torch.onnx.export` writes them (bench/torchvision/export.py on Debian's python3-torch/torchvision,
 * seeded random weights), 224×224 inputs, seeded random calibration images. Each step runs as its own
 * process under GNU time (wall seconds, peak RSS): `snnc convert` (import, fold, calibrate on
 * onnxruntime, convert, write with a sidecar) and `snnc compile --target gpu`; ResNet-18's calibration
 * on 1 000 images; and, side by side, the same calibration on the reference simulator (the engine
 * before issue 21) on 16 images.
 *
 *   npm run bench:conversion-scale [-- --work DIR (default: snnc-scale in the OS temp folder) --skip-simulator]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeNpyFloat32 } from '../compiler/io/npy.js';

const { values } = parseArgs({ options: { work: { type: 'string', default: join(os.tmpdir(), 'snnc-scale') }, 'skip-simulator': { type: 'boolean', default: false } } });
const WORK = values.work!;
const MODELS = ['resnet18', 'mobilenet_v2', 'vgg11'] as const;

/** Seeded standard-normal images [n, 3, 224, 224], written once. */
function calibration(n: number): string {
  const file = join(WORK, `calib${n}.npy`);
  if (existsSync(file)) return file;
  let s = 12345 + n;
  const u = () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
  const x = new Float32Array(n * 3 * 224 * 224);
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u() + 1e-12));
    const t = 2 * Math.PI * u();
    x[i] = r * Math.cos(t);
    if (i + 1 < x.length) x[i + 1] = r * Math.sin(t);
  }
  writeFileSync(file, encodeNpyFloat32(x, [n, 3, 224, 224]));
  return file;
}

/** Runs a command under GNU time: wall seconds and peak RSS (GB); throws with its stderr on failure. */
function timed(cmd: string, args: string[]): { seconds: number; rssGb: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), rssGb: Number(m[2]) / 2 ** 20, stdout: r.stdout };
}

const snnc = (...args: string[]) => timed(process.execPath, ['bin/snnc.js', ...args]);

mkdirSync(WORK, { recursive: true });
if (!MODELS.every((m) => existsSync(join(WORK, `${m}_224.onnx`)))) timed('/usr/bin/python3', ['bench/torchvision/export.py', WORK, '--size', '224', '--opset', '17']);
const calib16 = calibration(16);
console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; onnxruntime-node CPU (all cores)\n`);
console.log('| model | ONNX MB | convert, 16 images (s) | peak RSS (GB) | compile gpu (s) | peak RSS (GB) | layers |');
console.log('|---|---|---|---|---|---|---|');
for (const m of MODELS) {
  const onnx = join(WORK, `${m}_224.onnx`);
  const out = join(WORK, `${m}.json`);
  const c = snnc('convert', onnx, '--calib', calib16, '-o', out, '--sidecar', '--json');
  const g = snnc('compile', out, '--target', 'gpu', '-o', join(WORK, `${m}.gpu`), '--force');
  const layers = JSON.parse(c.stdout).layers.length;
  const mb = statSync(onnx).size / 2 ** 20;
  console.log(`| ${m} | ${mb.toFixed(0)} | ${c.seconds.toFixed(1)} | ${c.rssGb.toFixed(2)} | ${g.seconds.toFixed(1)} | ${g.rssGb.toFixed(2)} | ${layers} ReLUs |`);
}

const calib1000 = calibration(1000);
const r18 = join(WORK, 'resnet18_224.onnx');
const big = snnc('convert', r18, '--calib', calib1000, '-o', join(WORK, 'resnet18-1000.json'), '--sidecar', '--json');
console.log(`\nResNet-18 on 1 000 images (onnxruntime; histograms past the exact budget): calibration ${JSON.parse(big.stdout).calibrationSeconds.toFixed(1)} s; the whole convert ${big.seconds.toFixed(1)} s, peak RSS ${big.rssGb.toFixed(2)} GB`);
if (!values['skip-simulator']) {
  const sim = snnc('convert', r18, '--calib', calib16, '--calib-engine', 'simulator', '-o', join(WORK, 'resnet18-sim.json'), '--sidecar', '--json');
  const ort = snnc('convert', r18, '--calib', calib16, '-o', join(WORK, 'resnet18-ort.json'), '--sidecar', '--json');
  const cal = (r: { stdout: string }) => JSON.parse(r.stdout).calibrationSeconds as number;
  console.log(`ResNet-18 on 16 images, calibration: reference simulator ${cal(sim).toFixed(1)} s, onnxruntime ${cal(ort).toFixed(1)} s (${(cal(sim) / cal(ort)).toFixed(1)}×); the whole convert ${sim.seconds.toFixed(1)} s vs ${ort.seconds.toFixed(1)} s`);
}
