/**
 * One onnxruntime call as both the batch runner and the step loop make it (the step loop runs in the
 * browser too, so this imports nothing from Node): its failure named in one line, then each output the
 * manifest says the runner reads checked to be there with its element type and size.
 */
import { badInput } from '../compiler/errors.js';
import { sizeOf } from '../compiler/ir/tensor.js';
import { graphInterface } from '../targets/gpu/graph-interface.js';
import type { GpuManifest } from '../targets/gpu/manifest.js';

/** The typed array onnxruntime returns for each element type the interface uses. */
const ARRAY_OF = { float: Float32Array, int32: Int32Array, uint8: Uint8Array } as const;

/** Throws a bad-input error naming `source` and the output unless every output the runner reads is as the manifest says. */
export function checkOutputs(m: GpuManifest, r: Readonly<Record<string, { readonly data: unknown; readonly type: string } | undefined>>, source: string): void {
  for (const [name, { dims, elem }] of graphInterface(m).outputs) {
    const v = r[name];
    const size = sizeOf(dims);
    const data = v?.data as { length: number } | undefined;
    if (!v || !(v.data instanceof ARRAY_OF[elem]) || data!.length !== size) throw badInput(`${source}: graph output "${name}" ${v ? `has ${data?.length ?? 0} ${v.type} values` : 'is missing'}; manifest.json expects ${size} ${elem} values`);
  }
}

/** An error's message, first line only (onnxruntime's may carry a native stack). */
export const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** An onnxruntime session (node or web), as far as one call needs it. */
export interface RunsGraph<V> {
  run(feeds: Record<string, unknown>): Promise<Record<string, V>>;
}

/** `session.run(feeds)`, its failure a bad-input error naming `source`, its outputs checked (checkOutputs). */
export async function runChecked<V extends { readonly data: unknown; readonly type: string }>(session: RunsGraph<V>, feeds: Record<string, unknown>, m: GpuManifest, source: string): Promise<Record<string, V>> {
  let r: Record<string, V>;
  try {
    r = await session.run(feeds);
  } catch (e) {
    throw badInput(`${source}: onnxruntime failed to run the graph: ${firstLine(e)}`);
  }
  checkOutputs(m, r, source);
  return r;
}
