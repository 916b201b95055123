/**
 * The spinnaker target end to end at MNIST scale and through the command line (the arithmetic, the §8
 * test vectors, routing and named errors are in tests/unit/spinnaker.test.ts): the MNIST CNN within 1 pp
 * of the float simulator on 500 test images, and `snnc compile`, `check`, `run`, `diff`, the PyNN
 * script and the ANN → IF_curr_exp conversion path.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/frontends/index.js';
import { parseNpy } from '../../compiler/io/npy.js';
import { loadDataset } from '../../compiler/io/datasets.js';
import { accuracy, predictions } from '../../compiler/reference/predictions.js';
import { simulate } from '../../compiler/reference/simulator.js';
import { SpinnakerEmulator } from '../../targets/spinnaker/emulator.js';
import { compileSpinnaker } from '../../targets/spinnaker/index.js';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const MNIST = '../shared/fixtures/data/mnist';
const SPINNAKER_MODEL = 'examples/mnist-cnn/model-spinnaker.json';

describe('MNIST CNN on SpiNNaker', () => {
  it('emulated accuracy on 500 test images is within 1 pp of the float simulator', async () => {
    const model = await loadModel(SPINNAKER_MODEL);
    const c = compileSpinnaker(model);
    const data = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, { start: 0, end: 500 });
    const emu = new SpinnakerEmulator(c).run(data.x, data.n);
    const ref = simulate(model, data.x, data.n);
    const accEmu = accuracy(predictions(emu.output, data.n, emu.classes), data.labels!);
    const accRef = accuracy(predictions(ref.output, data.n, ref.classes), data.labels!);
    expect(accRef).toBeGreaterThan(90); // percent: measured 95.4 (float), 95.6 (emulated)
    expect(Math.abs(accEmu - accRef)).toBeLessThanOrEqual(1);
    expect(emu.saturations).toBe(0);
  }, 120_000);
});

describe('command line', () => {
  const dir = tempDir('snnc-spinnaker-');
  it('compile is deterministic; check, run and diff work', () => {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const out of [a, b]) expect(snnc(['compile', SPINNAKER_MODEL, '--target', 'spinnaker', '-o', out]).code).toBe(0);
    for (const f of ['spinnaker.json', 'spinnaker.bin', 'manifest.json']) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f)))).toBe(true);
    const d = JSON.parse(readFileSync(join(a, 'spinnaker.json'), 'utf8'));
    expect(d.routing.every((t: { after: number }) => t.after <= 1023)).toBe(true);

    const run = snnc(['run', a, '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--labels', `${MNIST}/t10k-labels-idx1-ubyte.gz`, '--range', '0:16', '--json']);
    expect(run.code).toBe(0);
    const sim = snnc(['simulate', SPINNAKER_MODEL, '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--labels', `${MNIST}/t10k-labels-idx1-ubyte.gz`, '--range', '0:16', '--json']);
    const agree = JSON.parse(run.stdout).predictions.filter((p: number, i: number) => p === JSON.parse(sim.stdout).predictions[i]).length;
    expect(agree).toBeGreaterThanOrEqual(15);

    const diff = snnc(['diff', SPINNAKER_MODEL, '--target', 'spinnaker', '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--range', '0:4', '--json']);
    expect(diff.code).toBe(0);
    const layers = JSON.parse(diff.stdout).layers;
    expect(layers.map((l: { layer: string }) => l.layer)).toEqual(['if1', 'pool1', 'if2', 'pool2']);
    // The host-fed first layer differs from the float model only by the membrane's 2⁻¹⁴ drift and rounding.
    expect(layers[0].mismatches / layers[0].floatSpikes).toBeLessThan(0.002);

    const check = snnc(['check', SPINNAKER_MODEL, '--target', 'spinnaker', '--machine', 'spinn3']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/47 cores on 3 chip\(s\) of spinn3/);
    expect(check.stdout).toMatch(/routes after/);
    // The PyNN script: valid Python, and its connection lists hold exactly the descriptor's synapses with the same weights.
    const py = join(dir, 'pynn');
    const pynn = snnc(['compile', SPINNAKER_MODEL, '--target', 'pynn', '-o', py, '--json']);
    expect(pynn.code).toBe(0);
    expect(JSON.parse(pynn.stdout).synapses).toBe(d.totals.synapses);
    const script = readFileSync(join(py, 'network.py'), 'utf8');
    expect(script).toMatch(/sim\.IF_curr_exp\(tau_m=32768, cm=2, v_rest=0, v_reset=0, v_thresh=0\.49951171875/);
    const fc = parseNpy(readFileSync(join(py, 'fc.excitatory.npy')), 'fc');
    const shift = d.populations.find((p: { name: string }) => p.name === 'fc').shift[0];
    for (let i = 0; i < fc.data.length; i += 4) expect(Number.isInteger(fc.data[i + 2] * 2 ** (15 - shift))).toBe(true);
    const compiled = spawnSync('python3', ['-m', 'py_compile', join(py, 'network.py')]);
    if (!compiled.error) expect(compiled.status).toBe(0);

    // The path a user takes from an ANN: convert for IF_curr_exp (reset zero, spike max-pools), then check.
    const converted = join(dir, 'converted.json');
    const conv = snnc(['convert', '../shared/fixtures/models/onnx_mnist_cnn_cntk/mnist.onnx', '--calib', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--calib-range', '5000:5500', '--maxpool', 'spike-or', '--reset', 'zero', '-o', converted]);
    expect(conv.code, conv.stderr).toBe(0);
    expect(JSON.parse(readFileSync(converted, 'utf8')).layers.filter((l: { type: string }) => l.type === 'if').map((l: { reset: string }) => l.reset)).toEqual(['zero', 'zero']);
    expect(snnc(['check', converted, '--target', 'spinnaker']).code).toBe(0);

    const refused = snnc(['check', 'examples/mnist-cnn/model.json', '--target', 'spinnaker']);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/reset "subtract"/);
  }, 120_000);
});
