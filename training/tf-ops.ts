/**
 * The training network's custom-gradient operations on TensorFlow.js's wasm backend:
 *  - convOp: a convolution whose gradients are convolutions (the backend lacks or is slow at the
 *    backprop kernels); staticDenseOp: a dense layer's product whose gradients avoid the backend's
 *    slow transposed products;
 *  - fusedNeuronOp: a neuron layer's T steps as the generated kernel (training/neuron-kernel.ts), its
 *    backward pass the kernel's reverse loop;
 *  - sparseSynapseNeuronOp: a synaptic layer and the IF/LIF layer it feeds, trained by LocalZO's sparse
 *    backward (training/sparse-backward.ts);
 *  - avgPoolOp, biasAddOp: average pooling and a bias, their gradients as one loop each (the same
 *    values as tf's).
 * The kernels read and write the backend's memory in place (no copies) where the backend allows.
 *
 * Owns the tensor plumbing of these ops; what they compute is the kernels' business.
 */
import type * as TF from '@tensorflow/tfjs';
import type * as L from '../compiler/ir/layers.js';
import type { NeuronKernel } from './neuron-kernel.js';
import { type ConvGeometry, type Membrane, convSparseGradients, denseSparseGradients, localTerms } from './sparse-backward.js';

/**
 * A float32 tensor's values in the wasm backend's memory, without a copy, or undefined on another
 * backend. Valid until the next tensor is allocated (the memory may grow and move): take views after
 * allocating, use them at once.
 */
function view(tf: typeof TF, t: TF.Tensor): Float32Array | undefined {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: TF.Tensor) => Float32Array };
  return backend.typedArrayFromHeap?.(t);
}

/** A tensor's values: its wasm memory (see `view`) or a copy. */
function read(tf: typeof TF, t: TF.Tensor): Float32Array {
  return view(tf, t) ?? (t.dataSync() as Float32Array);
}

/** Counts LocalZO's active neurons of a backward pass: (active, of how many neuron-steps). */
export type ActivitySink = (active: number, total: number) => void;

/** A learned neuron parameter: the kernel constant's name (`<layer>.<param>`) and its variable (IR neuron order). */
export interface LearnedParam {
  readonly name: string;
  readonly variable: TF.Variable;
}

/**
 * A neuron layer over T steps: x is [T·B, …] currents, or [B, …] the same every step (`isStatic`);
 * returns the outputs [T·B, …]. `learned` parameters take their variables' values and get gradients.
 */
export function fusedNeuronOp(tf: typeof TF, kernel: NeuronKernel, x: TF.Tensor, isStatic: boolean, T: number, seed: number, onActive: ActivitySink, learned: readonly LearnedParam[] = []): TF.Tensor {
  const xShape = x.shape;
  const B = xShape[0] / (isStatic ? 1 : T);
  for (const p of learned) kernel.setConst(p.name, p.variable.dataSync() as Float32Array);
  const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const xIn = args[0] as TF.Tensor;
    const save = args[args.length - 1] as TF.GradSaveFunc;
    save([xIn]);
    const value = tf.zeros([T * B, ...xShape.slice(1)]);
    const saved = kernel.forward(read(tf, xIn), isStatic, T, B, view(tf, value));
    return {
      value: view(tf, value) ? value : tf.tensor(saved.out, value.shape),
      gradFunc: (dy: TF.Tensor, kept: TF.Tensor[]) => {
        const dx = tf.zeros(xShape);
        const into = view(tf, dx);
        const r = kernel.backward(read(tf, kept[0]), isStatic, T, B, saved, read(tf, dy), seed, into);
        if (r.active !== undefined) onActive(r.active, value.size); // not saved.out.length: a view the backend's memory growth may have detached
        const dxT = into ? dx : tf.tensor(r.dx, xShape);
        return learned.length ? [dxT, ...learned.map((p) => tf.tensor(r.params!.get(p.name)!, p.variable.shape))] : dxT;
      },
    };
  });
  return op(x, ...learned.map((p) => p.variable));
}

export interface SparseSynapseNeuron {
  readonly synapse: L.Dense | L.Conv2d;
  /** The synaptic layer's input (padded for a conv): [T·B, …] or static [B, …]. */
  readonly x: TF.Tensor;
  readonly isStatic: boolean;
  /** x depends on no variable (the network input, or pools and flattenings of it): it gets no gradient. */
  readonly constantInput: boolean;
  readonly weight: TF.Tensor;
  readonly bias: TF.Tensor;
  readonly kernel: NeuronKernel;
  readonly membrane: Membrane;
  readonly T: number;
  readonly seed: number;
  readonly onActive: ActivitySink;
}

/**
 * A dense or conv layer and the IF/LIF neurons it feeds: the currents by tf, the neurons by the fused
 * kernel; backwards, the weight, bias and input gradients from the neurons with a non-zero LocalZO
 * estimate only. Returns the spikes [T·B, …].
 */
export function sparseSynapseNeuronOp(tf: typeof TF, a: SparseSynapseNeuron): TF.Tensor {
  const { synapse: syn, isStatic, T } = a;
  const B = a.x.shape[0] / (isStatic ? 1 : T);
  const needDx = !a.constantInput;
  const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const [xIn, w, b, save] = args as [TF.Tensor, TF.Tensor, TF.Tensor, TF.GradSaveFunc];
    const currents = syn.op === 'dense' ? tf.add(tf.matMul(xIn as TF.Tensor2D, w as TF.Tensor2D), b) : tf.add(tf.conv2d(xIn as TF.Tensor4D, w as TF.Tensor4D, [...syn.stride] as [number, number], 'valid'), b);
    save([xIn, w]);
    const value = tf.zeros([T * B, ...currents.shape.slice(1)]);
    const saved = a.kernel.forward(read(tf, currents), isStatic, T, B, view(tf, value), a.seed);
    return {
      value: view(tf, value) ? value : tf.tensor(saved.out, value.shape),
      gradFunc: (dy: TF.Tensor, kept: TF.Tensor[]) => {
        const [xs, ws] = kept;
        const e = localTerms(saved.estimates!, read(tf, dy));
        a.onActive(e.active, value.size); // not saved.out.length (see fusedNeuronOp)
        const g =
          syn.op === 'dense'
            ? denseSparseGradients(e, read(tf, xs), isStatic, read(tf, ws), T, B, xs.shape[1]!, currents.shape[1]!, a.membrane, needDx)
            : convSparseGradients(e, read(tf, xs), isStatic, read(tf, ws), T, B, convGeometry(xs.shape, ws.shape, syn.stride, currents.shape), a.membrane, needDx);
        return [g.dx ? tf.tensor(g.dx, xs.shape) : tf.zerosLike(xs), tf.tensor(g.dW, ws.shape), tf.tensor(g.db, b.shape)];
      },
    };
  });
  return op(a.x, a.weight, a.bias);
}

/** The NHWC geometry of a valid convolution from tensor shapes. */
function convGeometry(x: readonly number[], w: readonly number[], stride: L.Pair, y: readonly number[]): ConvGeometry {
  return { H: x[1], W: x[2], C: x[3], kh: w[0], kw: w[1], O: w[3], sh: stride[0], sw: stride[1], Ho: y[1], Wo: y[2] };
}

/**
 * A dense layer's product x·W for an input that is the same at every step (x [B, inputs], computed once
 * per sample), with its gradients as explicit transposes and plain products, xᵀ·dy and dy·Wᵀ: the wasm
 * backend runs a transposed matMul several times slower (42 against 9 ms for Fashion-MNIST's
 * 128 × 784 × 400). Layers reading per-step values keep tf's own gradient, the arithmetic the shipped
 * models were trained with. `constantInput`: x depends on no variable (the network input), and gets no
 * gradient.
 */
export function staticDenseOp(tf: typeof TF, x: TF.Tensor2D, w: TF.Tensor2D, constantInput: boolean): TF.Tensor2D {
  const weightGradient = (xs: TF.Tensor2D, dy: TF.Tensor) => tf.matMul(tf.transpose(xs), dy as TF.Tensor2D);
  if (constantInput) {
    const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
      const [wIn, save] = args as [TF.Tensor2D, TF.GradSaveFunc];
      save([x]);
      return { value: tf.matMul(x, wIn), gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => [weightGradient(saved[0] as TF.Tensor2D, dy)] };
    });
    return op(w) as TF.Tensor2D;
  }
  const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const [xIn, wIn, save] = args as [TF.Tensor2D, TF.Tensor2D, TF.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: tf.matMul(xIn, wIn),
      gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
        const [xs, ws] = saved as [TF.Tensor2D, TF.Tensor2D];
        return [tf.matMul(dy as TF.Tensor2D, tf.transpose(ws)), weightGradient(xs, dy)];
      },
    };
  });
  return op(x, w) as TF.Tensor2D;
}

/**
 * 2-D convolution (NHWC) with zero padding [top, left, bottom, right], its gradients written as
 * convolutions (the wasm backend has no Conv2DBackpropFilter kernel, and its Conv2DBackpropInput is
 * several times slower than Conv2D):
 *   dW[u, v, c, o] = Σ_{b,i,j} xpad[b, i·s+u, j·s+v, c]·dy[b, i, j, o]: a conv of x (channels as batch,
 *     padded as the forward) with dy (batch as channels), dilated by the stride;
 *   dx (stride 1, padding ≤ k − 1) = dy padded by k − 1 − p convolved with W rotated by 180° (in and
 *     out swapped); otherwise x is padded first and dx is the transposed convolution's.
 * The padding is the convolution's own (no Pad/Slice pair over the whole tensor, each a copy).
 * `constantInput`: x needs no gradient (it is the network input), so none is computed.
 */
export function convOp(tf: typeof TF, x: TF.Tensor4D, w: TF.Tensor4D, stride: L.Pair, padding: L.Padding4, constantInput: boolean): TF.Tensor4D {
  const [kh, kw] = w.shape;
  const [top, left, bottom, right] = padding;
  const strides = [...stride] as [number, number];
  const unit = stride[0] === 1 && stride[1] === 1;
  if (!unit && padding.some((p) => p > 0)) return convOp(tf, tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) as TF.Tensor4D, w, stride, [0, 0, 0, 0], constantInput);
  if (top > kh - 1 || bottom > kh - 1 || left > kw - 1 || right > kw - 1) return convOp(tf, tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) as TF.Tensor4D, w, stride, [0, 0, 0, 0], constantInput);
  type Pads = [[number, number], [number, number], [number, number], [number, number]];
  const pad: Pads = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const forward = (xs: TF.Tensor4D, ws: TF.Tensor4D) => tf.conv2d(xs, ws, strides, pad);
  const filterGradient = (xs: TF.Tensor4D, dy: TF.Tensor4D) => {
    const xt = tf.transpose(xs, [3, 1, 2, 0]) as TF.Tensor4D; // [C, H, W, B]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as TF.Tensor4D; // [H', W', B, O]
    const full = tf.conv2d(xt, dyt, 1, pad, 'NHWC', strides); // [C, ≥kh, ≥kw, O]
    return tf.transpose(tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]), [1, 2, 0, 3]);
  };
  const inputGradient = (xs: TF.Tensor4D, ws: TF.Tensor4D, dy: TF.Tensor4D) => {
    if (!unit) return tf.conv2dTranspose(dy, ws, xs.shape, strides, 'valid');
    const rotated = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as TF.Tensor4D;
    return tf.conv2d(dy, rotated, 1, [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]]);
  };
  if (constantInput) {
    const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
      const [wIn, save] = args as [TF.Tensor4D, TF.GradSaveFunc];
      save([x]);
      return { value: forward(x, wIn), gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => [filterGradient(saved[0] as TF.Tensor4D, dy as TF.Tensor4D)] };
    });
    return op(w) as TF.Tensor4D;
  }
  const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const [xIn, wIn, save] = args as [TF.Tensor4D, TF.Tensor4D, TF.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: forward(xIn, wIn),
      gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
        const [xs, ws] = saved as [TF.Tensor4D, TF.Tensor4D];
        return [inputGradient(xs, ws, dy as TF.Tensor4D), filterGradient(xs, dy as TF.Tensor4D)];
      },
    };
  });
  return op(x, w) as TF.Tensor4D;
}

/**
 * Average pooling (NHWC, valid windows) with its gradient as one JS loop into the backend's memory:
 * dx[b, i·sh+u, j·sw+v, c] += dy[b, i, j, c]/(kh·kw) (the wasm backend's AvgPoolGrad kernel takes
 * several times as long as the forward pooling).
 */
export function avgPoolOp(tf: typeof TF, x: TF.Tensor4D, kernel: L.Pair, stride: L.Pair): TF.Tensor4D {
  const [kh, kw] = kernel;
  const [sh, sw] = stride;
  const [B, H, W, C] = x.shape;
  const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const value = tf.avgPool(args[0] as TF.Tensor4D, [kh, kw], [sh, sw], 'valid');
    const [, Ho, Wo] = value.shape;
    return {
      value,
      gradFunc: (dy: TF.Tensor) => {
        const dx = tf.zeros([B, H, W, C]);
        const g = read(tf, dy);
        const into = view(tf, dx) ?? new Float32Array(B * H * W * C);
        const share = 1 / (kh * kw);
        for (let b = 0, o = 0; b < B; b++) {
          for (let i = 0; i < Ho; i++) {
            for (let j = 0; j < Wo; j++, o += C) {
              for (let u = 0; u < kh; u++) {
                for (let v = 0; v < kw; v++) {
                  const at = ((b * H + i * sh + u) * W + j * sw + v) * C;
                  for (let c = 0; c < C; c++) into[at + c] += g[o + c] * share;
                }
              }
            }
          }
        }
        return view(tf, dx) ? dx : tf.tensor(into, dx.shape);
      },
    };
  });
  return op(x) as TF.Tensor4D;
}

/**
 * y + bias over y's last axis, the bias's gradient summed by one JS loop into float32 in index order:
 * the same sums as tf's broadcast-add gradient (a float32 sum in the same order, checked bit for bit),
 * which the wasm backend computes by a transpose and a strided reduction at many times the cost.
 */
export function biasAddOp(tf: typeof TF, y: TF.Tensor, bias: TF.Tensor): TF.Tensor {
  const C = bias.shape[0]!;
  const op = tf.customGrad((...args: Array<TF.Tensor | TF.GradSaveFunc>) => ({
    value: tf.add(args[0] as TF.Tensor, args[1] as TF.Tensor),
    gradFunc: (dy: TF.Tensor) => {
      const g = read(tf, dy);
      const db = new Float32Array(C); // each += rounds to float32, as tf's sum does
      for (let i = 0; i < g.length; i += C) for (let c = 0; c < C; c++) db[c] += g[i + c];
      return [tf.reshape(dy, dy.shape), tf.tensor1d(db)];
    },
  }));
  return op(y, bias);
}
