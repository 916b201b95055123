/**
 * `--target gpu --numerics loihi|spinnaker` from the command line at MNIST scale: `snnc run` of the
 * integer-ONNX folder prints and writes exactly what `snnc run` of the chip target's folder does (its
 * emulator), on the MNIST CNN examples, and `snnc diff --target gpu --numerics <chip>` compares the two
 * population by population. The arithmetic itself is tested in tests/unit/chip-numerics.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snnc } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const MNIST = '../shared/fixtures/data/mnist';
const CASES = [
  { chip: 'loihi', model: 'examples/mnist-cnn/model.json', images: 500, engine: /loihi2 integer arithmetic/ },
  { chip: 'spinnaker', model: 'examples/mnist-cnn/model-spinnaker.json', images: 200, engine: /spinnaker1 integer arithmetic/ },
];

describe('--target gpu --numerics <chip> from the command line', () => {
  const dir = tempDir();
  for (const { chip, model, images, engine } of CASES) {
    it(`${chip}: snnc run of the integer-ONNX folder prints and writes exactly what snnc run of the ${chip} folder does (${images} test images)`, () => {
      const [onnx, folder] = [join(dir, `${chip}-onnx`), join(dir, chip)];
      expect(snnc(['compile', model, '--target', 'gpu', '--numerics', chip, '-o', onnx]).code).toBe(0);
      expect(snnc(['compile', model, '--target', chip, '-o', folder]).code).toBe(0);
      const data = ['--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--labels', `${MNIST}/t10k-labels-idx1-ubyte.gz`, '--range', `0:${images}`];
      const [a, b] = [onnx, folder].map((d) => snnc(['run', d, ...data, '--output', `${d}.npy`, '--json']));
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(readFileSync(`${onnx}.npy`).equals(readFileSync(`${folder}.npy`))).toBe(true);
      const [ja, jb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
      expect(ja.predictions).toEqual(jb.predictions);
      expect(ja.accuracy).toBe(jb.accuracy);
      expect(ja.engine).toMatch(engine);
    }, 180_000);

    it(`${chip}: snnc diff --target gpu --numerics ${chip} finds 0 mismatches in every population (and the spiking ones spike)`, () => {
      const d = snnc(['diff', model, '--target', 'gpu', '--numerics', chip, '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--range', '0:8', '--json']);
      expect(d.code, d.stderr).toBe(0);
      const diff = JSON.parse(d.stdout);
      expect(diff).toMatchObject({ target: `${chip} integer ONNX`, reference: `${chip} emulator`, samples: 8, agreeing: 8 });
      for (const l of diff.layers) expect({ layer: l.layer, mismatches: l.mismatches, same: l.floatSpikes === l.emulatorSpikes }).toEqual({ layer: l.layer, mismatches: 0, same: true });
      expect(diff.layers.filter((l: { floatSpikes: number }) => l.floatSpikes > 0).length).toBeGreaterThanOrEqual(2);
    }, 120_000);
  }

  it('snnc diff --target gpu without chip numerics is refused with the reason', () => {
    const d = snnc(['diff', 'examples/mnist-cnn/model.json', '--target', 'gpu', '--data', `${MNIST}/t10k-images-idx3-ubyte.gz`, '--range', '0:2']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/compares the integer ONNX of --numerics loihi or --numerics spinnaker/);
  });
});
