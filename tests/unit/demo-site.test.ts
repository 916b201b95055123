/**
 * `snnc demo`'s Node side (the page itself runs in tests/acceptance/demo-browser.test.ts): which
 * compiled folders the page can step through, what demo.json tells it, byte-identical sites for the same
 * input, and a server that sends the isolation headers and nothing outside the site.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { encodeNpyFloat32 } from '../../compiler/io/npy.js';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../compiler/io/datasets.js';
import { writeModelJson } from '../../compiler/ir/serialize/write.js';
import { gpuTarget } from '../../targets/gpu/index.js';
import type { DemoConfig } from '../../tools/demo/demo-config.js';
import { compileForDemo, readDemoFolder, writeDemoSite } from '../../tools/demo/site.js';
import { serveSite } from '../../tools/demo/serve.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { mlp, randomTensor, rng } from '../helpers/models.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { tempDir } from '../helpers/tmp.js';
import { snnc } from '../helpers/cli.js';

const dir = tempDir();

/** Every file of a folder, recursively, by relative path. */
function files(root: string, sub = ''): Map<string, Buffer> {
  return new Map(readdirSync(join(root, sub)).flatMap((name) => {
    const rel = join(sub, name);
    return statSync(join(root, rel)).isDirectory() ? [...files(root, rel)] : [[rel, readFileSync(join(root, rel))] as [string, Buffer]];
  }));
}

describe('the demo site', () => {
  it('takes step folders with probes only, naming the command that makes one', async () => {
    const model = mlp();
    await gpuTarget.emit(model, join(dir, 'layerwise'), { schedule: 'layerwise' });
    expect(snncErrorMessage(() => readDemoFolder(join(dir, 'layerwise')))).toMatch(/compiled with the layerwise schedule; .*--schedule step --probe all/);
    await gpuTarget.emit(model, join(dir, 'step-no-probes'), { schedule: 'step' });
    expect(snncErrorMessage(() => readDemoFolder(join(dir, 'step-no-probes')))).toMatch(/no spiking layer is probed/);
    await gpuTarget.emit(model, join(dir, 'step'), { schedule: 'step', probes: 'all' });
    expect(readDemoFolder(join(dir, 'step')).manifest.io.probes.map((p) => p.layer)).toEqual(['if1', 'if2']);
  });

  it('demo.json: a one-channel picture is drawable (max from the samples), anything else is not; the same input gives the same bytes', async () => {
    const r = rng(5);
    const picture: SnnModel = {
      ...mlp(),
      name: 'picture',
      input: { shape: [1, 12, 12], encoding: { type: 'rate', seed: 3 }, preprocess: { scale: 1 / 255, mean: [0], std: [1] } },
      layers: [
        L.conv2d({ name: 'c1', inputs: [INPUT], weight: randomTensor(r, [4, 1, 3, 3], 0.5), stride: [2, 2], padding: [1, 1, 1, 1], groups: 1 }),
        L.ifNeuron({ name: 'n1', inputs: ['c1'], threshold: 1, reset: 'subtract', v0: 0 }),
        L.flatten({ name: 'fl', inputs: ['n1'] }),
        L.dense({ name: 'fc', inputs: ['fl'], weight: randomTensor(r, [5, 144], 0.3) }),
        L.ifNeuron({ name: 'out', inputs: ['fc'], threshold: 1, reset: 'subtract', v0: 0 }),
      ],
      output: { layer: 'out', decoding: 'spike_count' },
    };
    const samples: Dataset = { x: Float32Array.from({ length: 3 * 144 }, (_, i) => i % 200), n: 3, sampleShape: [1, 12, 12], labels: Int32Array.of(4, 0, 2), offset: 0 };
    for (const out of ['a', 'b']) await writeDemoSite(compileForDemo(picture), join(dir, out), { samples, classNames: ['a', 'b', 'c', 'd', 'e'] });
    const config = JSON.parse(readFileSync(join(dir, 'a', 'demo.json'), 'utf8')) as DemoConfig;
    expect(config.input).toEqual({ kind: 'image', height: 12, width: 12, max: 199 });
    expect(config.samples).toEqual({ file: 'samples.bin', sampleSize: 144, labels: [4, 0, 2] });
    const bin = readFileSync(join(dir, 'a', 'samples.bin'));
    expect(new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length))).toEqual(samples.x);
    const [a, b] = [files(join(dir, 'a')), files(join(dir, 'b'))];
    expect([...a.keys()].sort()).toEqual(['app.js', 'demo.json', 'index.html', 'manifest.json', 'model.onnx', 'ort/ort-wasm-simd-threaded.asyncify.wasm', 'samples.bin', 'style.css'].map((f) => join(f)).sort());
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);

    await writeDemoSite(compileForDemo(mlp()), join(dir, 'vector'));
    expect((JSON.parse(readFileSync(join(dir, 'vector', 'demo.json'), 'utf8')) as DemoConfig).input).toEqual({ kind: 'other' });
    await expect(writeDemoSite(compileForDemo(mlp()), join(dir, 'names'), { classNames: ['x'] })).rejects.toThrow(/--class-names: 1 names for 10 classes/);
  });

  it('snnc demo: bad input is one line and exit 2', () => {
    const model = join(dir, 'mlp.json');
    writeModelJson(mlp(), model);
    const missing = snnc(['demo', join(dir, 'nope.json'), '-o', join(dir, 'site-missing')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const tOnFolder = snnc(['demo', join(dir, 'step'), '-T', '4', '-o', join(dir, 'site-t')]);
    expect(tOnFolder.code).toBe(2);
    expect(tOnFolder.stderr).toMatch(/a compiled folder has its T/);
    const ok = snnc(['demo', model, '-o', join(dir, 'site-ok')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/2 spiking layers, T=12/);
    // The HTML report links to the demo, relative to the report.
    const x = join(dir, 'x.npy');
    writeFileSync(x, encodeNpyFloat32(new Float32Array(4 * 20).fill(0.5), [4, 20]));
    const report = snnc(['report', model, '--data', x, '-o', join(dir, 'reports', 'r.html'), '--demo', join(dir, 'site-ok')]);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(join(dir, 'reports', 'r.html'), 'utf8')).toContain('href="../site-ok/index.html"');
    expect(snnc(['report', model, '--data', x, '-o', join(dir, 'r2.html'), '--demo', join(dir, 'step')]).stderr).toMatch(/not a site written by snnc demo/);
  });
});

describe('serveSite', () => {
  const get = (url: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
      request(url, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }).on('error', fail).end();
    });
  let close = () => {};
  afterAll(() => close());

  it('serves the site with cross-origin isolation and the right types, and nothing outside it', async () => {
    const { server, url } = await serveSite(join(dir, 'a'));
    close = () => server.close();
    const index = await get(url);
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(index.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect((await get(`${url}ort/ort-wasm-simd-threaded.asyncify.wasm`)).headers['content-type']).toBe('application/wasm');
    for (const path of ['../mlp.json', '%2e%2e/mlp.json', '..%2fmlp.json', 'nope.js', 'ort']) expect((await get(`${url}${path}`)).status, path).toBe(404);
  });
});
