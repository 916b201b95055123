/**
 * `snnc demo`: writes a static, offline site that runs a compiled SNN live in the browser with
 * onnxruntime-web (WebGPU, else wasm), one time step per call: the page bundled at build time
 * (dist/demo-app/, see build-app.ts), the model compiled with the `step` schedule and every spiking layer
 * probed, onnxruntime-web's wasm, optional test samples, and demo.json, which tells the page what it has.
 * The folder is written atomically. Serving it is serve.ts's.
 */
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInput } from '../../compiler/errors.js';
import type { Dataset } from '../../compiler/io/datasets.js';
import { writeDirAtomic } from '../../compiler/io/atomic-write.js';
import type { SnnModel } from '../../compiler/ir/model.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { compileGpu } from '../../targets/gpu/index.js';
import { type DemoConfig, ORT_WASM } from './demo-config.js';
import { GPU_FILES, type GpuManifest, readGpuFolder, writeGpuFiles } from '../../targets/gpu/manifest.js';

export interface DemoOptions {
  /** Test samples offered on the page (raw values, as `snnc run --input` takes them). */
  readonly samples?: Dataset;
  readonly classNames?: readonly string[];
  /** Replace an existing output folder snnc did not write. */
  readonly force?: boolean;
}

/** A compiled gpu model as the demo takes it: the step schedule, every spiking layer probed. */
export interface DemoModel {
  readonly manifest: GpuManifest;
  readonly onnx: Uint8Array;
}

/** Compiles `model` for the demo: step schedule, all spiking layers probed, batch 1. */
export function compileForDemo(model: SnnModel, timesteps?: number): DemoModel {
  return compileGpu(model, { schedule: 'step', probes: 'all', batch: 1, timesteps });
}

/** Reads a compiled gpu folder, refusing one the page cannot step through. */
export function readDemoFolder(dir: string): DemoModel {
  const { manifest, onnx } = readGpuFolder(dir);
  const fix = `compile it with \`snnc compile MODEL --target gpu --schedule step --probe all\`, or give the model file to snnc demo`;
  if (manifest.schedule !== 'step') throw badInput(`${dir}: compiled with the ${manifest.schedule} schedule; the demo advances time one step per call: ${fix}`);
  if (manifest.io.probes.length === 0) throw badInput(`${dir}: no spiking layer is probed, so there is nothing to draw: ${fix}`);
  return { manifest, onnx };
}

/** A drawable picture: one channel of H×W (shape [1, H, W] or [H, W]) that is not event input. */
function inputKind(m: GpuManifest, samples: Dataset | undefined): DemoConfig['input'] {
  const s = m.inputShape;
  const picture = m.encoding.type !== 'events' && (s.length === 2 || (s.length === 3 && s[0] === 1));
  if (!picture) return { kind: 'other' };
  const max = samples ? samples.x.reduce((a, b) => Math.max(a, b), 0) : 255;
  return { kind: 'image', height: s[s.length - 2], width: s[s.length - 1], max: max > 0 ? max : 255 };
}

/** The folder holding the bundled page (dist/demo-app, beside this module's dist/tools/ or the repository's tools/), or a clear error when the build has not made it. */
function appFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = [join(here, '../../demo-app'), join(here, '../../dist/demo-app')].find((d) => existsSync(join(d, 'app.js')));
  if (!dir) throw badInput('the demo page is not built (dist/demo-app/app.js is missing); run `npm run build`');
  return dir;
}

function ortWasm(): string {
  return createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WASM}`);
}

/** Writes the site into `outDir` (atomically); returns the files written, relative to it. */
export async function writeDemoSite(demo: DemoModel, outDir: string, options: DemoOptions = {}): Promise<string[]> {
  const { manifest } = demo;
  const samples = options.samples;
  const sampleSize = sizeOf(manifest.inputShape) * (manifest.encoding.type === 'events' ? manifest.timesteps : 1);
  if (samples && sizeOf(samples.sampleShape) !== sampleSize) throw badInput(`demo samples: each has ${sizeOf(samples.sampleShape)} values, the model takes ${sampleSize}`);
  if (options.classNames && options.classNames.length !== manifest.classes) throw badInput(`--class-names: ${options.classNames.length} names for ${manifest.classes} classes`);
  const config: DemoConfig = {
    title: manifest.model,
    model: 'model.onnx',
    manifest: 'manifest.json',
    wasmPaths: 'ort/',
    input: inputKind(manifest, samples),
    ...(samples ? { samples: { file: 'samples.bin', sampleSize, labels: samples.labels ? [...samples.labels] : Array.from({ length: samples.n }, () => -1) } } : {}),
    ...(options.classNames ? { classNames: [...options.classNames] } : {}),
  };
  const app = appFolder();
  const files = ['index.html', 'app.js', 'style.css', ...GPU_FILES, `ort/${ORT_WASM}`, 'demo.json', ...(samples ? ['samples.bin'] : [])];
  await writeDirAtomic(outDir, (tmp) => {
    for (const f of ['index.html', 'app.js', 'style.css']) copyFileSync(join(app, f), join(tmp, f));
    writeGpuFiles(tmp, demo);
    mkdirSync(join(tmp, 'ort'));
    copyFileSync(ortWasm(), join(tmp, 'ort', ORT_WASM));
    writeFileSync(join(tmp, 'demo.json'), `${JSON.stringify(config, null, 2)}\n`);
    if (samples) writeFileSync(join(tmp, 'samples.bin'), new Uint8Array(samples.x.buffer, samples.x.byteOffset, samples.n * sampleSize * 4));
  }, { force: options.force });
  return files;
}

/** Bytes of a written site (for the CLI's summary). */
export function siteBytes(outDir: string, files: readonly string[]): number {
  return files.reduce((a, f) => a + statSync(join(outDir, f)).size, 0);
}

/** Whether `dir` holds a site written by writeDemoSite. */
export function isDemoSite(dir: string): boolean {
  return existsSync(join(dir, 'demo.json')) && existsSync(join(dir, 'app.js')) && existsSync(join(dir, 'index.html'));
}
