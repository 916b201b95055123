/** `snnc demo`: a static site that runs a compiled SNN live in the browser (tools/demo/), and `--serve` to open it. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { badInput } from '../compiler/errors.js';
import { loadModel } from '../compiler/frontends/index.js';
import { checkOutputDir, safeFileName } from '../compiler/io/atomic-write.js';
import { loadDataset, parseRange } from '../compiler/io/datasets.js';
import { compileForDemo, isDemoSite, readDemoFolder, siteBytes, writeDemoSite } from '../tools/demo/site.js';
import { serveSite } from '../tools/demo/serve.js';
import { addNirOptions, intInRange, nirLoadOptions, timestepsArg } from './options.js';

interface DemoCliOptions {
  out?: string;
  data?: string;
  labels?: string;
  range: string;
  classNames?: string;
  timesteps?: number;
  serve?: boolean;
  port: number;
  force?: boolean;
  dt?: number;
  reset?: 'zero' | 'subtract';
  semantics?: 'nir' | 'snntorch';
}

const isFolder = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;

/** Serves `dir` until the process is stopped (Ctrl-C). */
async function serveForever(dir: string, port: number): Promise<void> {
  const { url } = await serveSite(dir, port).catch((e: NodeJS.ErrnoException) => {
    throw badInput(`--port ${port}: cannot listen on it (${e.code ?? e.message})`);
  });
  process.stdout.write(`serving ${dir} at ${url} (cross-origin isolated, for wasm threads; Ctrl-C to stop)\n`);
  await new Promise(() => {}); // until interrupted
}

export function registerDemoCommand(program: Command): void {
  addNirOptions(
    program
      .command('demo')
      .description('write a static, offline site that runs the model live in the browser with onnxruntime-web (WebGPU, else wasm): draw a digit or pick a test sample, watch each layer spike step by step')
      .argument('<source>', 'a model file (compiled with the step schedule and every spiking layer probed), a folder from `snnc compile --target gpu --schedule step --probe all`, or, with --serve, a site written before')
      .option('-o, --out <dir>', 'site folder (default: <model name>.demo)')
      .option('--data <file>', 'test samples to offer on the page (MNIST idx or .npy, raw values as for snnc run)')
      .option('--labels <file>', 'their labels')
      .option('--range <start:end>', 'which samples of --data', '0:20')
      .option('--class-names <names>', 'comma-separated class names for the output chart, e.g. T-shirt,Trouser,…')
      .option('-T, --timesteps <T>', 'time steps (a model file; default: the model\'s)', timestepsArg)
      .option('--serve', 'then serve the site on localhost (cross-origin isolated) until Ctrl-C')
      .option('--port <n>', 'port for --serve (0: any free one)', intInRange(0, 65535), 8080)
      .option('--force', 'replace an existing output folder even if snnc did not write it'),
  ).action(async (source: string, o: DemoCliOptions) => {
    if (!existsSync(source)) throw badInput(`${source}: no such file or folder`);
    if (o.serve && isFolder(source) && isDemoSite(source)) return serveForever(resolve(source), o.port);
    if (isFolder(source) && o.timesteps !== undefined) throw badInput(`${source}: a compiled folder has its T; -T is for a model file`);
    const demo = isFolder(source) ? readDemoFolder(source) : compileForDemo(await loadModel(source, nirLoadOptions(o)), o.timesteps);
    const out = resolve(o.out ?? `${safeFileName(demo.manifest.model)}.demo`);
    checkOutputDir(out, { force: o.force });
    if (o.labels && !o.data) throw badInput('--labels goes with --data');
    const samples = o.data ? loadDataset(o.data, o.labels, parseRange(o.range)) : undefined;
    const classNames = o.classNames?.split(',').map((n) => n.trim());
    const files = await writeDemoSite(demo, out, { samples, classNames, force: o.force });
    process.stdout.write(`wrote ${out} (${files.length} files, ${(siteBytes(out, files) / 2 ** 20).toFixed(1)} MiB; ${demo.manifest.io.probes.length} spiking layers, T=${demo.manifest.timesteps}${samples ? `, ${samples.n} samples` : ''})\n`);
    if (o.serve) return serveForever(out, o.port);
    process.stdout.write(`open it with: snnc demo --serve ${out}\n`);
  });
}
