/**
 * The ONNX frontend at MNIST scale: the CNTK MNIST CNN scores 98.91 % on the full MNIST test set (10 000
 * images) through snnc (import → ONNX → onnxruntime) and as the original file, run by onnxruntime.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import { foldBatchNorm } from '../../compiler/passes/fold-batchnorm.js';
import { runPasses } from '../../compiler/passes/pipeline.js';
import { loadDataset } from '../../compiler/io/datasets.js';
import { accuracyVsT, annAccuracyOrt } from '../../tools/evaluate.js';

const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk';
const MNIST = '../shared/fixtures/data/mnist';

describe('ONNX import vs onnxruntime', () => {
  it('the CNTK ANN scores 98.91 % on the full MNIST test set, both through snnc (import → ONNX → onnxruntime) and as the original file', async () => {
    const model = parseOnnx(readFileSync(`${CNTK}/mnist.onnx`), 'mnist.onnx');
    const data = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`);
    const acc = await accuracyVsT(runPasses(model, [foldBatchNorm]), data, [1], { batch: 500 });
    expect(acc.get(1)).toBeCloseTo(98.91, 2); // 9891 / 10000
    expect(await annAccuracyOrt(`${CNTK}/mnist.onnx`, data)).toBeCloseTo(98.91, 2);
  });
});
