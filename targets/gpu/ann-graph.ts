/**
 * An ANN (an IR model of stateless layers, relu activations, T = 1) as one ONNX graph on [B, ...]:
 * input `x` (raw values; the model's preprocessing is in the graph), and as outputs the layers asked
 * for, each [B, ...shape]. It is what calibration and ANN evaluation run on onnxruntime; the nodes are
 * the gpu lowering's own (lower.ts), so the ANN and its SNN compute each layer with the same ops.
 */
import { badInput } from '../../compiler/errors.js';
import { type SynapticLayer, isStateful } from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { verifyModel } from '../../compiler/ir/verify.js';
import { GraphBuilder, encodeModel } from '../common/onnx-builder.js';
import { SNNC_VERSION } from '../../compiler/version.js';
import { emitPreprocess, emitSynaptic, loweringContext } from './lower.js';

export const ANN_INPUT = 'x';
const OPSET = 17;
const IR_VERSION = 8;

export function annGraph(model: SnnModel, batch: number, outputs: readonly string[]): Uint8Array {
  const shapes = verifyModel(model);
  const stateful = model.layers.find((l) => isStateful(l) || l.op === 'delay');
  if (stateful) throw badInput(`layer "${stateful.name}" (${stateful.op}) has state over time: only an ANN (stateless layers, T = 1) runs as one ONNX graph`);
  const ctx = loweringContext(model, shapes, batch, 1);
  const b = new GraphBuilder();
  const values = new Map([[INPUT, emitPreprocess(b, ctx, b.input(ANN_INPUT, [batch, ...model.input.shape]))]]);
  for (const layer of model.layers as readonly SynapticLayer[]) values.set(layer.name, emitSynaptic(b, ctx, layer, layer.inputs.map((i) => values.get(i)!)));
  for (const name of outputs) {
    if (!values.has(name)) throw badInput(`"${name}" is not a layer of model "${model.name}"`);
    b.output(values.get(name)!, [batch, ...shapes.get(name)!], annOutput(name));
  }
  return encodeModel(b.graph(model.name, true), { opset: OPSET, irVersion: IR_VERSION, producerVersion: SNNC_VERSION, docString: `ANN of ${model.name}`, metadata: {} });
}

/** The graph output that carries layer `name`. */
export const annOutput = (name: string) => `out:${name}`;
