/**
 * A content hash of an IR model (sha256 over every field and tensor byte, in a fixed order), recorded in
 * compiled artifacts so a deployment can tell which model it runs. Independent of file layout: the same
 * network read from inline or sidecar tensors hashes the same.
 */
import { createHash } from 'node:crypto';
import { classicNeuron } from './classic-neurons.js';
import type { SnnModel } from './model.js';

export function modelHash(model: SnnModel): string {
  const h = createHash('sha256');
  const { layers, ...rest } = model;
  h.update(JSON.stringify(rest));
  for (const layer of layers) {
    // A classic neuron (IR version 1's if/lif/cuba_lif) hashes as it always has; other neuron layers'
    // parameters count as fields of their own ("params.beta").
    const record = (layer.op === 'neuron' && classicNeuron(layer)) || layer;
    const { params, ...own } = record as typeof record & { params?: Record<string, unknown> };
    const entries = [...Object.entries(own), ...Object.entries(params ?? {}).map(([k, v]) => [`params.${k}`, v] as const)];
    // Absent optional fields (undefined) are skipped: `{bias: undefined}` and `{}` are the same layer.
    const fields = entries.filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
    for (const [key, value] of fields) {
      h.update(key);
      if (value && typeof value === 'object' && 'data' in value && (value as { data: unknown }).data instanceof Float32Array) {
        const t = value as { shape: number[]; data: Float32Array };
        h.update(JSON.stringify(t.shape));
        h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      } else {
        h.update(JSON.stringify(value));
      }
    }
  }
  return h.digest('hex');
}
