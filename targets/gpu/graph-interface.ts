/**
 * The tensors a gpu folder's graph takes and gives, with dims and element types, from its manifest alone.
 * It imports no values (only types), so the browser demo's bundle can use it without the ONNX parser.
 */
import type { GpuManifest } from './manifest.js';

export type Elem = 'float' | 'uint8' | 'int32';

/** The graph's inputs and outputs the runner feeds and reads, each with its dims and element type (from the manifest). */
export function graphInterface(m: GpuManifest): { inputs: Map<string, { dims: readonly number[]; elem: Elem }>; outputs: Map<string, { dims: readonly number[]; elem: Elem }> } {
  const io = m.io;
  const f = (dims: readonly number[], elem: Elem = 'float') => ({ dims, elem });
  if (m.numerics) {
    const dims = (layer: string) => io.probes.find((p) => p.layer === layer)!.dims;
    return {
      inputs: new Map([[io.input.name, f(io.input.dims, m.numerics.host ? 'int32' : 'uint8')]]),
      outputs: new Map([[io.output.name, f(io.output.dims, 'int32')], ...io.probes.map((p) => [p.name, f(p.dims, 'uint8')] as const), ...m.numerics.states.flatMap((s) => [[s.u, f(dims(s.layer), 'int32')] as const, [s.v, f(dims(s.layer), 'int32')] as const])]),
    };
  }
  return {
    inputs: new Map([[io.input.name, f(io.input.dims)], ...io.states.map((s) => [s.input, f(s.dims)] as const)]),
    outputs: new Map([
      [io.output.name, f(io.output.dims)],
      ...io.states.map((s) => [s.output, f(s.dims)] as const),
      ...io.probes.map((p) => [p.name, f(p.dims)] as const),
      ...(io.outputSteps ? [[io.outputSteps.name, f(io.outputSteps.dims)] as const] : []),
    ]),
  };
}

