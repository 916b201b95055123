/**
 * `snnc demo` in a real browser: Debian's headless Chromium (installed by .ci/run) driven with
 * puppeteer-core loads the written site from `serveSite`, and the page's runs are compared with
 * `snnc run` on the same input: the MNIST CNN on a digit drawn with the mouse, and the NIR-imported
 * Braille recurrent network on an uploaded event file (its state must carry across steps). Screenshots
 * go to test-artifacts/. Without Chromium the suite is reported as skipped, not passed.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import { readArray } from '../../compiler/io/datasets.js';
import { encodeSteps } from '../../runtime/step-session.js';
import { readDemoFolder } from '../../tools/demo/site.js';
import { serveSite } from '../../tools/demo/serve.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const MNIST = '../shared/fixtures/data/mnist';
const BRAILLE = '../shared/fixtures/nir/paper/03_rnn/braille_noDelay_bias_zero.nir';
const ARTIFACTS = 'test-artifacts';

interface LastRun {
  input: number[];
  output: number[];
  prediction: number;
  spikes: Record<string, number>;
  stepMs: number[];
}

/** `snnc run` of `site` on `input` (one sample of `shape`): its decoded output row. */
function snncRun(dir: string, site: string, input: number[], shape: number[]): number[] {
  const x = join(dir, `${Date.now()}-x.npy`);
  const y = join(dir, `${Date.now()}-y.npy`);
  writeFileSync(x, encodeNpyFloat32(Float32Array.from(input), [1, ...shape]));
  const r = snnc(['run', site, '--input', x, '--output', y, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return [...readArray(y).data];
}

/** Loads the page, collecting console errors; resolves when the model is loaded. */
async function open(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 60_000 });
  return page;
}

async function runAndWait(page: Page): Promise<LastRun> {
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 60_000 });
  expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
  return page.evaluate(() => (window as unknown as { snncDemo: { lastRun: LastRun } }).snncDemo.lastRun);
}

/** Dark (drawn) pixels on the raster canvas of `layer`. */
const rasterInk = (page: Page, layer: string) =>
  page.evaluate((name) => {
    const c = document.querySelector<HTMLCanvasElement>(`canvas.raster[data-layer="${name}"]`)!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 384) ink++;
    return ink;
  }, layer);

describe.skipIf(!CHROMIUM)('snnc demo in headless Chromium (onnxruntime-web)', () => {
  const dir = tempDir();
  let browser: Browser;
  const servers: Server[] = [];
  const serve = async (site: string) => {
    const s = await serveSite(site);
    servers.push(s.server);
    return s.url;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
  });

  it('MNIST CNN: a digit drawn with the mouse gives the prediction and output spike counts of snnc run; every layer\'s raster shows spikes', async () => {
    const site = join(dir, 'mnist-site');
    const w = snnc(['demo', 'examples/mnist-cnn/model.json', '-o', site, '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--labels', `${MNIST}/t10k-labels-idx1-ubyte.gz`, '--range', '0:10']);
    expect(w.code, w.stderr).toBe(0);
    const url = await serve(site);
    const errors: string[] = [];
    // Without ?backend the page picks WebGPU when the browser has an adapter, and says which it runs.
    const auto = await open(browser, url, errors);
    const hasGpu = await auto.evaluate(async () => Boolean(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
    expect(await auto.evaluate(() => document.body.dataset.backend)).toBe(hasGpu ? 'webgpu' : 'wasm');
    expect(await auto.$eval('#backend', (e) => e.textContent)).toMatch(hasGpu ? /WebGPU/i : /wasm/);
    await auto.close();

    const page = await open(browser, `${url}?backend=wasm`, errors);
    const box = (await (await page.$('#draw'))!.boundingBox())!;
    const at = (u: number, v: number) => [box.x + u * box.width, box.y + v * box.height] as const;
    const stroke = async (points: (readonly [number, number])[]) => {
      await page.mouse.move(...at(...points[0]));
      await page.mouse.down();
      for (const p of points.slice(1)) await page.mouse.move(...at(...p), { steps: 12 });
      await page.mouse.up();
    };
    await stroke([[0.3, 0.25], [0.7, 0.25], [0.45, 0.8]]); // a 7
    const run = await runAndWait(page);
    expect(run.input.length).toBe(28 * 28);
    expect(run.input.filter((v) => v > 0).length).toBeGreaterThan(40); // the stroke reached the input
    const reference = snncRun(dir, site, run.input, [1, 28, 28]);
    expect(run.output).toEqual(reference); // the output layer's spike counts, exactly
    expect(run.prediction).toBe(reference.indexOf(Math.max(...reference)));
    expect(await page.$eval('#prediction', (e) => e.textContent)).toContain(String(run.prediction));
    const layers = readDemoFolder(site).manifest.io.probes.map((p) => p.layer);
    for (const layer of layers) {
      expect(run.spikes[layer], layer).toBeGreaterThan(0);
      expect(await rasterInk(page, layer), layer).toBeGreaterThan(0);
    }
    expect(run.stepMs.length).toBe(readDemoFolder(site).manifest.timesteps);

    // A bundled test image runs too, and matches snnc run on the same sample.
    await page.select('#sample', '0');
    const sample = await runAndWait(page);
    expect(sample.output).toEqual(snncRun(dir, site, sample.input, [1, 28, 28]));
    await page.screenshot({ path: join(ARTIFACTS, 'demo-mnist-cnn.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 180_000);

  it('Braille (NIR, recurrent CUBA-LIF): an uploaded event file gives snnc run\'s output; the state carries across steps', async () => {
    const site = join(dir, 'braille-site');
    const w = snnc(['demo', BRAILLE, '-T', '30', '-o', site]);
    expect(w.code, w.stderr).toBe(0);
    const { manifest, onnx } = readDemoFolder(site);
    const channels = manifest.inputShape.reduce((a, b) => a * b, 1);
    let seed = 11;
    const events = Float32Array.from({ length: 30 * channels }, () => ((seed = (seed * 16807) % 2147483647) % 100 < 30 ? 1 : 0));
    const file = join(dir, 'braille-events.npy');
    writeFileSync(file, encodeNpyFloat32(events, [1, 30, channels]));

    const errors: string[] = [];
    const page = await open(browser, `${await serve(site)}?backend=wasm`, errors);
    await (await page.$('input#upload') as ElementHandle<HTMLInputElement> | null)!.uploadFile(file);
    const run = await runAndWait(page);
    expect(run.input).toEqual([...events]);
    const reference = snncRun(dir, site, run.input, [30, channels]);
    expect(run.output).toEqual(reference);
    for (const layer of manifest.io.probes.map((p) => p.layer)) expect(run.spikes[layer], layer).toBeGreaterThan(0);

    // Not vacuous: the same steps with every state reset to its initial value before each step give another output.
    const session = await ort.InferenceSession.create(onnx);
    const x = encodeSteps(manifest, events, 0)!;
    const stateless = new Array<number>(manifest.classes).fill(0);
    for (let t = 0; t < manifest.timesteps; t++) {
      const feeds: Record<string, ort.Tensor> = { [manifest.io.input.name]: new ort.Tensor('float32', x.slice(t * channels, (t + 1) * channels), manifest.io.input.dims) };
      for (const st of manifest.io.states) {
        const size = st.dims.reduce((a, b) => a * b, 1);
        const init = typeof st.init === 'number' ? new Float32Array(size).fill(st.init) : Float32Array.from({ length: size }, (_, i) => (st.init as number[])[i % (st.init as number[]).length]);
        feeds[st.input] = new ort.Tensor('float32', init, st.dims);
      }
      const y = (await session.run(feeds))[manifest.io.output.name].data as Float32Array;
      y.forEach((v, k) => (stateless[k] = Math.fround(stateless[k] + v)));
    }
    await session.release();
    expect(stateless).not.toEqual(reference);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-braille.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 180_000);
});

