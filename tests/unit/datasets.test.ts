/** Dataset readers against the fixtures: MNIST idx (.gz) equals the independently exported .npy copy. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import { loadDataset, parseRange, readArray } from '../../compiler/io/datasets.js';
import { tempDir } from '../helpers/tmp.js';

const MNIST = '../shared/fixtures/data/mnist';
const dir = tempDir();

describe('datasets', () => {
  it('MNIST idx.gz images and labels equal the fixture .npy exports (first 100)', () => {
    const d = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, parseRange('0:100'));
    expect(d.n).toBe(100);
    expect(d.sampleShape).toEqual([28, 28]);
    const images = readArray(`${MNIST}/DERIVED_t10k_first100_images_u8.npy`);
    const labels = readArray(`${MNIST}/DERIVED_t10k_first100_labels_u8.npy`);
    expect(images.shape).toEqual([100, 28, 28]);
    expect([...d.x]).toEqual([...images.data]);
    expect([...d.labels!]).toEqual([...labels.data]);
  });

  it('--range selects samples and records the offset', () => {
    const all = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`);
    expect(all.n).toBe(10_000);
    const part = loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/t10k-labels-idx1-ubyte.gz`, parseRange('9990:'));
    expect(part.n).toBe(10);
    expect(part.offset).toBe(9990);
    expect([...part.labels!]).toEqual([...all.labels!.subarray(9990)]);
    expect([...part.x.subarray(0, 784)]).toEqual([...all.x.subarray(9990 * 784, 9991 * 784)]);
  });

  it('clear errors for truncated, foreign and mismatched files', () => {
    const truncated = join(dir, 'trunc.idx');
    writeFileSync(truncated, Buffer.from([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]));
    expect(() => readArray(truncated)).toThrow(/truncated idx file/);
    const foreign = join(dir, 'foreign.bin');
    writeFileSync(foreign, 'hello world');
    expect(() => readArray(foreign)).toThrow(SnncError);
    expect(() => loadDataset(`${MNIST}/t10k-images-idx3-ubyte.gz`, `${MNIST}/DERIVED_t10k_first100_labels_u8.npy`)).toThrow(/has 100 labels but .* has 10000 samples/);
    expect(() => parseRange('a:b')).toThrow(/--range must be START:END/);
  });
});

describe('.npy in Fortran order (as NumPy saves transposed arrays, e.g. the lava-dl fixtures)', () => {
  const dir = tempDir(); // here, not inside the test: an afterAll registered in a test never runs
  it('is read back in C order', () => {
    // A 2×3 float32 array [[1, 2, 3], [4, 5, 6]] stored column-major: 1, 4, 2, 5, 3, 6.
    let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
    header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
    const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, header.length & 255, header.length >> 8]), Buffer.from(header, 'latin1')]);
    const file = join(dir, 'f.npy');
    writeFileSync(file, Buffer.concat([head, Buffer.from(new Float32Array([1, 4, 2, 5, 3, 6]).buffer)]));
    const a = readArray(file);
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
