/**
 * The site's demo.json (written by `snnc demo`) and loading the files it names: the model, the
 * manifest and the bundled test samples.
 */
import type { GpuManifest } from '../../../targets/gpu/manifest.js';
import type { DemoConfig } from '../demo-config.js';

export type { DemoConfig };

/** The bundled samples, each `sampleSize` raw values. */
export interface Samples {
  readonly values: Float32Array;
  readonly sampleSize: number;
  readonly labels: readonly number[];
}

async function get(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${r.statusText}`);
  return r;
}

export async function loadJson<T>(url: string): Promise<T> {
  const r = await get(url);
  try {
    return (await r.json()) as T;
  } catch (e) {
    throw new Error(`${url}: not valid JSON (${(e as Error).message})`);
  }
}

export async function loadBytes(url: string): Promise<Uint8Array> {
  return new Uint8Array(await (await get(url)).arrayBuffer());
}

/** The bundled samples, checked against the model's sample size. */
export async function loadSamples(config: DemoConfig, sampleSize: number): Promise<Samples | undefined> {
  const s = config.samples;
  if (!s || s.labels.length === 0) return undefined;
  if (s.sampleSize !== sampleSize) throw new Error(`demo.json: samples have ${s.sampleSize} values each, the model takes ${sampleSize}`);
  const bytes = await loadBytes(s.file);
  const count = s.labels.length * sampleSize;
  if (bytes.byteLength !== count * 4) throw new Error(`${s.file}: ${bytes.byteLength} bytes, expected ${s.labels.length} float32 samples × ${sampleSize} = ${count * 4}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
  return { values, sampleSize, labels: s.labels };
}

/** Checks that demo.json's input description fits the model. */
export function checkConfig(config: DemoConfig, manifest: GpuManifest, sampleSize: number): void {
  const input = config.input;
  if (input.kind !== 'image') return;
  if (input.height * input.width !== sampleSize) throw new Error(`demo.json: an image input of ${input.height}×${input.width} does not fit the model's input [${manifest.inputShape.join(', ')}] (${sampleSize} values)`);
  if (!(input.max > 0)) throw new Error(`demo.json: input.max must be positive, got ${input.max}`);
}

/** A class's display name: its name from demo.json, else its index. */
export function className(config: DemoConfig, k: number): string {
  return config.classNames?.[k] ?? String(k);
}
