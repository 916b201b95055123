/**
 * Hand-built ONNX ANNs for importer and conversion tests (seeded weights), written with the gpu
 * target's graph builder. Each exercises the constructs real exporters emit.
 */
import { GraphBuilder, encodeModel, float, int, ints, str } from '../../targets/common/onnx-builder.js';
import { randomTensor, rng } from './models.js';

const encode = (b: GraphBuilder, opset: number, irVersion = 8) => encodeModel(b.graph('ann', true), { opset, irVersion, producerVersion: 'test', docString: '', metadata: {} });

/**
 * Input normalisation (Sub, Div) → Conv (auto_pad SAME_UPPER, bias as Add [C,1,1]) → BatchNormalization → Relu →
 * MaxPool → Conv (pads, group 2) → Clip(0, 6) → GlobalAveragePool → Flatten → Gemm(transB, alpha, beta) → Softmax.
 */
export function convAnn(opset = 13, seed = 21): Uint8Array {
  const r = rng(seed);
  const b = new GraphBuilder();
  const t = (shape: number[], scale: number, offset = 0) => randomTensor(r, shape, scale, offset).data;
  const x = b.input('image', [2, 2, 10, 10]);
  const centred = b.node('Sub', [x, b.constFloat('mean', Float32Array.of(0.5, 0.25), [2, 1, 1])], 'centred');
  const scaled = b.node('Div', [centred, b.constScalar('std', 0.5)], 'scaled');
  const c1 = b.node('Conv', [scaled, b.constFloat('w1', t([6, 2, 3, 3], 0.5), [6, 2, 3, 3])], 'conv1', { kernel_shape: ints([3, 3]), auto_pad: str('SAME_UPPER') });
  const biased = b.node('Add', [c1, b.constFloat('b1', t([6], 0.2), [6, 1, 1])], 'conv1_bias');
  const bnArgs = [t([6], 0.3, 1), t([6], 0.1), t([6], 0.1), t([6], 0.2, 0.5)].map((d, k) => b.constFloat(`bn${k}`, d.map(Math.abs), [6]));
  const bn = b.node('BatchNormalization', [biased, ...bnArgs], 'bn1', { epsilon: float(1e-3) });
  const a1 = b.node('Relu', [bn], 'relu1');
  const p1 = b.node('MaxPool', [a1], 'pool1', { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
  const c2 = b.node('Conv', [p1, b.constFloat('w2', t([8, 3, 3, 3], 0.4), [8, 3, 3, 3]), b.constFloat('b2', t([8], 0.1), [8])], 'conv2', {
    kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(2),
  });
  const a2 = b.node('Clip', [c2, b.constScalar('zero', 0), b.constScalar('six', 6)], 'clip2');
  const gap = b.node('GlobalAveragePool', [a2], 'gap');
  const flat = b.node('Flatten', [gap], 'flat', { axis: int(1) });
  const logits = b.node('Gemm', [flat, b.constFloat('w3', t([5, 8], 0.8), [5, 8]), b.constFloat('b3', t([5], 0.1), [5])], 'fc', { transB: int(1), alpha: float(0.9), beta: float(1.5) });
  b.output(b.node('Softmax', [logits], 'probs', { axis: int(1) }), [2, 5], 'probs_out');
  return encode(b, opset);
}

/** Residual MLP: MatMul + Add bias, BN, Relu, a skip Add, Concat, and the PyTorch flatten idiom (Shape/Gather/Reshape). */
export function residualAnn(opset = 11, seed = 22): Uint8Array {
  const r = rng(seed);
  const b = new GraphBuilder();
  const t = (shape: number[], scale: number, offset = 0) => randomTensor(r, shape, scale, offset).data;
  const x = b.input('x', [3, 4, 2, 2]);
  const shape = b.node('Shape', [x], 'x_shape');
  const batch = b.node('Gather', [shape, b.constInt64('zero_idx', [0])], 'batch_dim', { axis: int(0) });
  const target = b.node('Concat', [batch, b.constInt64('minus_one', [-1])], 'flat_shape', { axis: int(0) });
  const flat = b.node('Reshape', [x, target], 'flat');
  const dense = (inp: string, n: number, k: number, name: string) => {
    const mm = b.node('MatMul', [inp, b.constFloat(`${name}_w`, t([n, k], 0.5, 0.05), [n, k])], `${name}_mm`);
    return b.node('Add', [mm, b.constFloat(`${name}_b`, t([k], 0.1), [k])], name);
  };
  const h1 = b.node('Relu', [dense(flat, 16, 12, 'fc1')], 'h1');
  const bnArgs = [t([12], 0.3, 1), t([12], 0.1), t([12], 0.1), t([12], 0.2, 0.5)].map((d, k) => b.constFloat(`bn${k}`, d.map(Math.abs), [12]));
  const h2 = b.node('BatchNormalization', [dense(h1, 12, 12, 'fc2'), ...bnArgs], 'bn2');
  const res = b.node('Relu', [b.node('Add', [h2, h1], 'skip')], 'h3');
  const cat = b.node('Concat', [res, h1], 'cat', { axis: int(1) });
  b.output(dense(cat, 24, 4, 'out'), [3, 4], 'logits');
  return encode(b, opset);
}

/** An ANN with an op snnc cannot convert. */
export function unsupportedAnn(): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('x', [1, 4]);
  const h = b.node('Gemm', [x, b.constFloat('w', new Float32Array(16).fill(0.1), [4, 4])], 'fc', { transB: int(1) });
  b.output(b.node('Tanh', [h], 'squash'), [1, 4], 'y');
  return encode(b, 13);
}
