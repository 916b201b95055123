/**
 * The ONNX frontend against onnxruntime running the same file (an independent reference): imported
 * networks give the same outputs in snnc's simulator; the CNTK fixture matches its recorded logits; bad
 * files get clear errors; mutated bytes never crash it. Its 98.91 % on the full MNIST test set is in
 * tests/acceptance/onnx-import-mnist.test.ts.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import { parseOnnx } from '../../compiler/frontends/onnx/read.js';
import { sizeOf } from '../../compiler/ir/tensor.js';
import { foldBatchNorm } from '../../compiler/passes/fold-batchnorm.js';
import { runPasses } from '../../compiler/passes/pipeline.js';
import { loadDataset, readArray } from '../../compiler/io/datasets.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { relativeDiff } from '../helpers/compare.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { randomInput } from '../helpers/models.js';
import { convAnn, residualAnn, unsupportedAnn } from '../helpers/onnx-ann.js';

const CNTK = '../shared/fixtures/models/onnx_mnist_cnn_cntk';
const MNIST = '../shared/fixtures/data/mnist';

/** The ONNX file's own output, computed by onnxruntime. */
async function ortLogits(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  await s.release();
  return r[s.outputNames[0]].data as Float32Array;
}

function softmaxRows(y: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i += classes) {
    const row = y.subarray(i, i + classes);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    for (let k = 0; k < classes; k++) out[i + k] = e[k] / z;
  }
  return out;
}

describe('ONNX import vs onnxruntime', () => {
  for (const opset of [7, 9, 11, 13, 17, 21]) {
    it(`conv ANN (input normalisation, SAME_UPPER, bias Add, BatchNorm, MaxPool, groups, Clip, GAP, Gemm, Softmax), opset ${opset}`, async () => {
      // Clip takes min/max as inputs from opset 11; before, as attributes: build only where valid.
      if (opset < 11) return expect(() => parseOnnx(convAnn(opset), 'ann.onnx')).toThrow(/Clip min must be a constant|only Clip with min 0/);
      const bytes = convAnn(opset);
      const model = parseOnnx(bytes, 'ann.onnx');
      expect(model.metadata.source).toMatchObject({ softmaxAtOutputDropped: true, opset });
      expect(model.input.preprocess).toEqual({ scale: 1, mean: [0.5, 0.25], std: [0.5, 0.5] });
      const x = randomInput(3, 2 * 200);
      const ours = simulate(runPasses(model, [foldBatchNorm]), x, 2, { timesteps: 1 }).output;
      const theirs = await ortLogits(bytes, x, [2, 2, 10, 10]);
      expect(relativeDiff(softmaxRows(ours, 5), theirs)).toBeLessThan(1e-5);
    });
  }

  it('residual MLP (Shape/Gather/Concat flatten, MatMul + Add, BatchNorm, skip Add, Concat), before and after BN folding', async () => {
    const bytes = residualAnn();
    const model = parseOnnx(bytes, 'res.onnx');
    const folded = runPasses(model, [foldBatchNorm]);
    expect(folded.layers.filter((l) => l.op === 'batchnorm')).toEqual([]); // fc2's bias Add and BN folded into it
    expect(folded.layers.map((l) => l.op)).toEqual(['flatten', 'dense', 'relu', 'dense', 'add', 'relu', 'concat', 'dense']);
    const x = randomInput(4, 3 * 16);
    const theirs = await ortLogits(bytes, x, [3, 4, 2, 2]);
    expect(relativeDiff(simulate(model, x, 3, { timesteps: 1 }).output, theirs)).toBeLessThan(1e-5);
    expect(relativeDiff(simulate(folded, x, 3, { timesteps: 1 }).output, theirs)).toBeLessThan(1e-5);
  });

  it('the CNTK MNIST CNN (IR 3, opset 7) matches its recorded onnxruntime logits', () => {
    const model = parseOnnx(readFileSync(`${CNTK}/mnist.onnx`), 'mnist.onnx');
    const data = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, undefined, { start: 0, end: 100 });
    const ref = readArray(`${CNTK}/DERIVED_ref_output_first100.npy`);
    const out = simulate(model, data.x, 100, { timesteps: 1 }).output;
    expect(relativeDiff(out, ref.data)).toBeLessThan(1e-6); // logits up to 8.6e3; float32 summation order
  });
});

describe('bad ONNX input', () => {

  it('truncated, non-ONNX and unsupported-op files', () => {
    const bytes = readFileSync(`${CNTK}/mnist.onnx`);
    expect(snncErrorMessage(() => parseOnnx(bytes.subarray(0, 5000), 'cut.onnx'))).toMatch(/cut\.onnx: not an ONNX model/);
    expect(snncErrorMessage(() => parseOnnx(new TextEncoder().encode('hello, not a model'), 'text.onnx'))).toMatch(/text\.onnx: not an ONNX model/);
    expect(snncErrorMessage(() => parseOnnx(unsupportedAnn(), 'tanh.onnx'))).toMatch(/tanh\.onnx: node "Tanh_squash" has op type Tanh \(opset 13\), which snnc cannot convert/);
  });

  it('fast-check: mutated bytes of the fixture never crash the importer with anything but an SnncError', () => {
    const bytes = new Uint8Array(readFileSync(`${CNTK}/mnist.onnx`));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.option(fc.nat(bytes.length)), (edits, cut) => {
        const m = bytes.slice(0, cut ?? bytes.length);
        for (const [pos, v] of edits) if (pos < m.length) m[pos] = v;
        try {
          const model = parseOnnx(m, 'mutated.onnx');
          expect(sizeOf(model.input.shape)).toBeGreaterThan(0);
        } catch (e) {
          if (!(e instanceof SnncError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});
